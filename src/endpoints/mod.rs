//! One module per endpoint. Each handler reads like its RFC: parse the request, decide, and
//! respond; errors are [`OAuthError`]s, mapped to HTTP in one place ([`crate::error`]).

pub mod authorize;
pub mod device;
pub mod introspect;
pub mod login;
pub mod metadata;
pub mod register;
pub mod revoke;
pub mod token;
pub mod upstream;
pub mod validate;

use crate::app::App;
use crate::auth::client_auth::{authenticate, Authenticated};
use crate::auth::credentials::client_credentials;
use crate::error::OAuthError;
use crate::form::Params;
use crate::http::{HttpRequest, HttpResponse};
use crate::store::Platform;

/// What a handler returns: its response, or the error to answer with.
pub type Outcome = Result<HttpResponse, OAuthError>;

pub fn require_post(req: &HttpRequest) -> Result<(), OAuthError> {
    if req.method == "POST" {
        Ok(())
    } else {
        Err(OAuthError::MethodNotAllowed("POST"))
    }
}

/// The fields of a form one of our pages posted, with its CSRF token checked first: a post
/// without a valid token is refused (`403`) before anything else is looked at, and changes
/// nothing (a body that is not a form has no valid token either).
pub fn page_form(req: &HttpRequest) -> Result<Params, OAuthError> {
    match form_params(req) {
        Ok(form) if crate::auth::session::csrf_ok(req, &form) => Ok(form),
        _ => Err(OAuthError::Forbidden("missing or wrong CSRF token".into())),
    }
}

/// The fields of a form a page posted: `application/x-www-form-urlencoded`, at most 8 KiB.
pub fn form_params(req: &HttpRequest) -> Result<Params, OAuthError> {
    form_content_type(req)?;
    let body = req.body_bytes().ok_or_else(|| OAuthError::invalid_request("request body exceeds 8 KiB"))?;
    Params::parse(body)
}

fn form_content_type(req: &HttpRequest) -> Result<(), OAuthError> {
    let ctype = req.header("content-type").ok_or_else(|| OAuthError::invalid_request("missing Content-Type"))?;
    let mut parts = ctype.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request("Content-Type must be application/x-www-form-urlencoded"));
    }
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        let value = value.trim().trim_matches('"');
        if !name.trim().eq_ignore_ascii_case("charset") || !value.eq_ignore_ascii_case("utf-8") {
            return Err(OAuthError::invalid_request("unsupported Content-Type parameter (only charset=utf-8)"));
        }
    }
    Ok(())
}

/// The body of a token-style request: `application/x-www-form-urlencoded` (optionally with a
/// UTF-8 charset), at most 8 KiB, and no credentials in the URL (RFC 6749 §2.3.1).
pub fn form_body(req: &HttpRequest) -> Result<Params, OAuthError> {
    // An empty body without Content-Type is an empty form, as `curl -u id:secret -X POST` and
    // Python `requests` send it (docs/http.md#form-endpoints); any body with content must say
    // what it is.
    let empty_untyped = req.header("content-type").is_none() && req.body_bytes().is_some_and(<[u8]>::is_empty);
    if !empty_untyped {
        form_content_type(req)?;
    }
    let query = Params::parse(req.query.as_bytes())?;
    if query.contains("client_secret") || query.contains("client_id") {
        return Err(OAuthError::invalid_request("client credentials must not be sent in the URL"));
    }
    let body = req.body_bytes().ok_or_else(|| OAuthError::invalid_request("request body exceeds 8 KiB"))?;
    Params::parse(body)
}

/// A POSTed form from an authenticated client (RFC 6749 §2.3): the form and who sent it.
pub async fn authenticated_form<P: Platform>(app: &App<P>, req: &HttpRequest, now_ms: u64) -> Result<(Params, Authenticated), OAuthError> {
    require_post(req)?;
    let params = form_body(req)?;
    let creds = client_credentials(req.header("authorization"), &params)?;
    let client = authenticate(app, &creds, req, now_ms).await?;
    Ok((params, client))
}
