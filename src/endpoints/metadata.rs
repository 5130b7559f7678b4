//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use super::Outcome;
use crate::app::{App, Cx};
use crate::client::GRANT_CLIENT_CREDENTIALS;
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::store::Platform;
use serde_json::json;

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, _cx: &mut Cx<'_>) -> Outcome {
    if req.method != "GET" && req.method != "HEAD" {
        return Err(OAuthError::MethodNotAllowed("GET, HEAD"));
    }
    let issuer = app.issuer(req);
    let methods = json!(["client_secret_basic", "client_secret_post"]);
    let body = json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/token"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "grant_types_supported": [GRANT_CLIENT_CREDENTIALS],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
    });
    Ok(HttpResponse::json(200, &body).with_header("cache-control", "public, max-age=300"))
}
