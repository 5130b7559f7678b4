//! `/admin/providers`: the upstream identity providers people may sign in with
//! ([`crate::provider`]). An `oidc` provider's endpoints come from its issuer's discovery
//! document, read when it is created (and again when its issuer changes).

use super::{authorize, body, segments};
use crate::app::{App, Cx};
use crate::endpoints::Outcome;
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::provider::{self, jwks_key, Kind, Provider};
use crate::secret::generate_client_id;
use crate::store::{Fetch, Outbound, Platform};
use crate::upstream::{MAX_ANSWER, TIMEOUT_MS, USER_AGENT};
use serde_json::{json, Value};

pub const PATH: &str = "/admin/providers";

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    authorize(app, req)?;
    match (req.method.as_str(), segments(req, PATH).as_slice()) {
        ("GET", []) => {
            let views: Vec<Value> = provider::list(&app.kv).await?.iter().map(Provider::view).collect();
            Ok(HttpResponse::json(200, &json!({ "providers": views })).no_store())
        }
        ("POST", []) => {
            let mut new = provider::parse_new(body(req)?, generate_client_id(cx.rng), cx.now_ms)?;
            discover(app, &mut new).await?;
            provider::put(&app.kv, &new).await?;
            app.cache.put_providers(None, 0);
            Ok(HttpResponse::json(201, &new.view()).no_store())
        }
        (_, []) => Err(OAuthError::MethodNotAllowed("GET, POST")),
        ("GET", [id]) => Ok(HttpResponse::json(200, &load(app, id).await?.view()).no_store()),
        ("PATCH", [id]) => {
            let old = load(app, id).await?;
            let mut p = provider::parse_patch(&old, body(req)?, cx.now_ms)?;
            if p.kind == Kind::Oidc && p.issuer != old.issuer {
                discover(app, &mut p).await?;
                app.cache.forget_jwks(&jwks_key(id));
            }
            provider::put(&app.kv, &p).await?;
            app.cache.put_providers(None, 0);
            Ok(HttpResponse::json(200, &p.view()).no_store())
        }
        ("DELETE", [id]) => {
            load(app, id).await?;
            provider::delete(&app.kv, id).await?;
            app.cache.put_providers(None, 0);
            app.cache.forget_jwks(&jwks_key(id));
            Ok(HttpResponse::new(204))
        }
        (_, [_]) => Err(OAuthError::MethodNotAllowed("GET, PATCH, DELETE")),
        _ => Err(OAuthError::NotFound),
    }
}

async fn load<P: Platform>(app: &App<P>, id: &str) -> Result<Provider, OAuthError> {
    provider::get(&app.kv, id).await?.ok_or(OAuthError::NotFound)
}

/// An `oidc` provider's endpoints, from its issuer's discovery document (whose `issuer` must
/// be the configured one). Problems are the `issuer` field's.
async fn discover<P: Platform>(app: &App<P>, p: &mut Provider) -> Result<(), OAuthError> {
    let Some(issuer) = p.issuer.clone().filter(|_| p.kind == Kind::Oidc) else { return Ok(()) };
    let url = provider::discovery_url(&issuer);
    let req = Outbound { method: "GET", url: url.clone(), headers: vec![("accept", "application/json".into()), ("user-agent", USER_AGENT.into())], body: None };
    let fetched = app.fetch.send(&req, TIMEOUT_MS, MAX_ANSWER).await;
    let doc = match fetched {
        Ok(f) if f.status == 200 => f.body,
        Ok(f) => return Err(OAuthError::field("issuer", format!("the discovery document {url} answered {}", f.status))),
        Err(e) => return Err(OAuthError::field("issuer", format!("the discovery document {url} could not be read: {e}"))),
    };
    provider::apply_discovery(p, &doc).map_err(|e| OAuthError::field("issuer", e))
}
