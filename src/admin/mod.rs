//! The admin API, behind `Authorization: Bearer <ADMIN_TOKEN>`. Absent without an
//! `ADMIN_TOKEN` (404). Every collection shares the statuses and the error shape: `400` naming
//! the field, `401` without the admin token, `404` for an unknown id.
//!
//! - [`apis`]: `/admin/apis`, the catalogue projects pick from.
//! - [`clients`]: `/admin/clients`, registered applications.
//! - [`users`]: `/admin/users`, their grants.
//! - [`issuers`]: `/admin/issuers`, trusted identity providers for token exchange.
//! - [`providers`]: `/admin/providers`, upstream identity providers people sign in with;
//!   [`identities`]: a person's links to them (`/admin/users/{id}/identities`).
//! - [`cimd_blocklist`]: `/admin/cimd-blocklist`, hosts whose metadata documents are refused.
//! - [`registration_tokens`]: `/admin/registration-tokens`, initial access tokens for RFC 7591.

pub mod apis;
pub mod cimd_blocklist;
pub mod clients;
pub mod identities;
pub mod issuers;
pub mod providers;
pub mod registration_tokens;
pub mod users;

use crate::app::App;
use crate::auth::credentials::{parse_authorization, Authorization};
use crate::error::OAuthError;
use crate::http::{Body, HttpRequest};
use crate::secret;
use crate::store::Platform;

/// The admin token is required before anything else is looked at.
pub fn authorize<P: Platform>(app: &App<P>, req: &HttpRequest) -> Result<(), OAuthError> {
    let Some(admin_token) = &app.config.admin_token else { return Err(OAuthError::NotFound) };
    let presented = match parse_authorization(req.header("authorization")) {
        Ok(Some(Authorization::Bearer(t))) => Some(t),
        _ => None,
    };
    if presented.is_some_and(|t| secret::admin_token_matches(admin_token, t.expose())) {
        Ok(())
    } else {
        Err(OAuthError::AdminUnauthorized)
    }
}

/// The path below a collection, as segments: `/admin/clients/x/secret` → `["x", "secret"]`.
pub fn segments<'a>(req: &'a HttpRequest, collection: &str) -> Vec<&'a str> {
    req.path[collection.len()..].split('/').filter(|s| !s.is_empty()).collect()
}

/// The JSON body of an admin request (at most 8 KiB).
pub fn body(req: &HttpRequest) -> Result<&[u8], OAuthError> {
    match &req.body {
        Body::Bytes(b) => Ok(b.as_slice()),
        Body::TooLarge => Err(OAuthError::field("body", "the body exceeds 8 KiB")),
    }
}
