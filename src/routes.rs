//! The route table: which handler answers which path, and which error conventions it follows.
//! Handlers never see this table.

use crate::account;
use crate::admin;
use crate::app::{App, Cx};
use crate::endpoints::register;
use crate::endpoints::{authorize, device, introspect, login, metadata, revoke, token, upstream, validate};
use crate::error::{OAuthError, Surface};
use crate::http::{HttpRequest, HttpResponse};
use crate::secret::Random;
use crate::store::Platform;

/// Answer one request. Never fails: every error becomes its RFC-shaped response.
pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> HttpResponse {
    let path = req.path.as_str();
    let (surface, outcome) = match path {
        "/token" | "/token/" => (Surface::TokenEndpoint, token::handle(app, req, cx).await),
        "/validate" | "/validate/" => (Surface::Resource, validate::handle(app, req, cx).await),
        "/introspect" | "/introspect/" => (Surface::TokenEndpoint, introspect::handle(app, req, cx).await),
        "/revoke" | "/revoke/" => (Surface::TokenEndpoint, revoke::handle(app, req, cx).await),
        "/.well-known/oauth-authorization-server" => (Surface::TokenEndpoint, metadata::handle(app, req, cx).await),
        "/authorize" => (Surface::Page, authorize::handle(app, req, cx).await),
        "/login" => (Surface::Page, login::login(app, req, cx).await),
        "/logout" => (Surface::Page, login::logout(app, req, cx).await),
        p if p.starts_with("/login/") => (Surface::Page, upstream::handle(app, req, cx).await),
        "/device_authorization" | "/device_authorization/" => (Surface::TokenEndpoint, device::authorization(app, req, cx).await),
        "/device" => (Surface::Page, device::page(app, req, cx).await),
        "/register" | "/register/" => (Surface::TokenEndpoint, register::handle(app, req, cx).await),
        "/" => (Surface::Page, account::console::home(app, req).await),
        p if under(p, account::console::PATH) => (Surface::Page, account::console::handle(app, req, cx).await),
        account::signup::PATH => (Surface::Page, account::signup::handle(app, req, cx).await),
        p if under(p, account::api::PATH) => (Surface::Resource, account::api::handle(app, req, cx).await),
        p if under(p, admin::clients::PATH) => (Surface::Admin, admin::clients::handle(app, req, cx).await),
        p if under(p, admin::users::PATH) => (Surface::Admin, admin::users::handle(app, req, cx).await),
        p if under(p, admin::apis::PATH) => (Surface::Admin, admin::apis::handle(app, req, cx).await),
        p if under(p, admin::providers::PATH) => (Surface::Admin, admin::providers::handle(app, req, cx).await),
        p if under(p, admin::issuers::PATH) => (Surface::Admin, admin::issuers::handle(app, req, cx).await),
        p if under(p, admin::cimd_blocklist::PATH) => (Surface::Admin, admin::cimd_blocklist::handle(app, req, cx).await),
        p if under(p, admin::registration_tokens::PATH) => (Surface::Admin, admin::registration_tokens::handle(app, req, cx).await),
        _ => (Surface::TokenEndpoint, Err(OAuthError::NotFound)),
    };
    outcome.unwrap_or_else(|e| e.to_response(surface))
}

/// `path` is `collection` or below it.
fn under(path: &str, collection: &str) -> bool {
    path.strip_prefix(collection).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl<P: Platform> App<P> {
    /// [`handle`], for callers that hold the time and randomness apart.
    pub async fn handle(&self, req: &HttpRequest, now_ms: u64, rng: &mut dyn Random) -> HttpResponse {
        handle(self, req, &mut Cx { now_ms, rng }).await
    }
}
