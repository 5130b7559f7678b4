//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use super::Outcome;
use crate::app::{App, Cx};
use crate::client::GRANT_TYPES;
use crate::config::{Cimd, Registration};
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::store::Platform;
use serde_json::json;

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, _cx: &mut Cx<'_>) -> Outcome {
    if req.method != "GET" && req.method != "HEAD" {
        return Err(OAuthError::MethodNotAllowed("GET, HEAD"));
    }
    let issuer = app.issuer(req);
    // Public clients authenticate by client_id alone (`none`) at the token and revocation
    // endpoints; introspection needs a client that can really authenticate (RFC 7662 §2.1).
    let confidential = json!(["client_secret_basic", "client_secret_post"]);
    let any = json!(["client_secret_basic", "client_secret_post", "none"]);
    let mut body = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "device_authorization_endpoint": format!("{issuer}/device_authorization"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "grant_types_supported": GRANT_TYPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": any,
        "introspection_endpoint_auth_methods_supported": confidential,
        "revocation_endpoint_auth_methods_supported": any,
        // RFC 9207: the authorization response names the issuer.
        "authorization_response_iss_parameter_supported": true,
    });
    if app.config.cimd != Cimd::Off {
        body["client_id_metadata_document_supported"] = json!(true);
    }
    // RFC 7591 §3 / RFC 8414 §2: advertised only when `/register` exists.
    if app.config.registration != Registration::Off {
        body["registration_endpoint"] = json!(format!("{issuer}/register"));
    }
    Ok(HttpResponse::json(200, &body).with_header("cache-control", "public, max-age=300"))
}
