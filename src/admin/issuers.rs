//! `/admin/issuers`: the identity providers whose JWTs a token exchange trusts.

use super::{authorize, body, segments};
use crate::app::{App, Cx};
use crate::endpoints::Outcome;
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::issuer::{self, Issuer};
use crate::secret::generate_client_id;
use crate::store::Platform;
use serde_json::{json, Value};

pub const PATH: &str = "/admin/issuers";

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    authorize(app, req)?;
    match (req.method.as_str(), segments(req, PATH).as_slice()) {
        ("GET", []) => {
            let views: Vec<Value> = issuer::list(&app.kv).await?.iter().map(Issuer::view).collect();
            Ok(HttpResponse::json(200, &json!({ "issuers": views })).no_store())
        }
        ("POST", []) => {
            let new = issuer::parse_new(body(req)?, generate_client_id(cx.rng), cx.now_ms)?;
            // One record per `iss`: two would make the choice of keys ambiguous.
            if issuer::list(&app.kv).await?.iter().any(|i| i.issuer == new.issuer) {
                return Err(OAuthError::Conflict { field: "issuer", description: "this issuer is already trusted".into() });
            }
            issuer::put(&app.kv, &new).await?;
            app.cache.put_issuers(None, 0);
            Ok(HttpResponse::json(201, &new.view()).no_store())
        }
        (_, []) => Err(OAuthError::MethodNotAllowed("GET, POST")),
        ("GET", [id]) => Ok(HttpResponse::json(200, &issuer::get(&app.kv, id).await?.ok_or(OAuthError::NotFound)?.view()).no_store()),
        ("DELETE", [id]) => {
            issuer::get(&app.kv, id).await?.ok_or(OAuthError::NotFound)?;
            issuer::delete(&app.kv, id).await?;
            app.cache.put_issuers(None, 0);
            app.cache.forget_jwks(id);
            Ok(HttpResponse::new(204))
        }
        (_, [_]) => Err(OAuthError::MethodNotAllowed("GET, DELETE")),
        _ => Err(OAuthError::NotFound),
    }
}
