//! `/admin/apis`: the catalogue of APIs that projects pick from ([`crate::catalogue`]). The
//! API's own object is the authority (create, change, and "delete unless a project has it",
//! `409 api_in_use`); KV holds a copy of each view for listing.

use super::{authorize, body, segments};
use crate::app::{App, Cx};
use crate::catalogue::{self, is_api_id, Api, MAX_APIS};
use crate::endpoints::Outcome;
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::secret::generate_client_id;
use crate::shard::apis::{CreateApi, GetApi, RetireApi, Retired, UpdateApi};
use crate::store::Platform;
use serde_json::{json, Value};

pub const PATH: &str = "/admin/apis";

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    authorize(app, req)?;
    match (req.method.as_str(), segments(req, PATH).as_slice()) {
        ("GET", []) => list(app).await,
        ("POST", []) => create(app, body(req)?, cx).await,
        (_, []) => Err(OAuthError::MethodNotAllowed("GET, POST")),
        ("GET", [id]) => Ok(HttpResponse::json(200, &load(app, id).await?.view()).no_store()),
        ("PATCH", [id]) => patch(app, id, body(req)?).await,
        ("DELETE", [id]) => delete(app, id).await,
        (_, [_]) => Err(OAuthError::MethodNotAllowed("GET, PATCH, DELETE")),
        _ => Err(OAuthError::NotFound),
    }
}

fn object(id: &str) -> Result<String, OAuthError> {
    is_api_id(id).then(|| catalogue::object_name(id)).ok_or(OAuthError::NotFound)
}

async fn load<P: Platform>(app: &App<P>, id: &str) -> Result<Api, OAuthError> {
    app.call(&object(id)?, GetApi {}).await?.ok_or(OAuthError::NotFound)
}

/// `{"apis": [...]}`, oldest first.
pub async fn list<P: Platform>(app: &App<P>) -> Outcome {
    let views: Vec<Value> = catalogue::list(&app.kv).await?.iter().map(Api::view).collect();
    Ok(HttpResponse::json(200, &json!({ "apis": views })).no_store())
}

async fn create<P: Platform>(app: &App<P>, body: &[u8], cx: &mut Cx<'_>) -> Outcome {
    let api = catalogue::parse_new(body, generate_client_id(cx.rng), cx.now_ms)?;
    // The bound is checked against KV's listing: only an operator creates APIs, so a race
    // between two creations overshoots by one at most, never without bound.
    if catalogue::list(&app.kv).await?.len() >= MAX_APIS {
        return Err(OAuthError::Refused { error: "too_many_apis", description: format!("the catalogue holds at most {MAX_APIS} APIs") });
    }
    if !app.call(&catalogue::object_name(&api.api_id), CreateApi { api: api.clone() }).await? {
        return Err(OAuthError::ServerError("a fresh api id was taken".into()));
    }
    catalogue::put(&app.kv, &api).await?;
    Ok(HttpResponse::json(201, &api.view()).no_store())
}

async fn patch<P: Platform>(app: &App<P>, id: &str, body: &[u8]) -> Outcome {
    let object = object(id)?;
    let patch = catalogue::parse_patch(body)?;
    let api = app.call(&object, UpdateApi { patch }).await?.ok_or(OAuthError::NotFound)?;
    catalogue::put(&app.kv, &api).await?;
    Ok(HttpResponse::json(200, &api.view()).no_store())
}

async fn delete<P: Platform>(app: &App<P>, id: &str) -> Outcome {
    match app.call(&object(id)?, RetireApi {}).await? {
        Retired::Unknown => Err(OAuthError::NotFound),
        Retired::InUse => Err(OAuthError::Refused { error: "api_in_use", description: "a project has this API; remove it from every project first".into() }),
        Retired::Retired => {
            catalogue::delete(&app.kv, id).await?;
            Ok(HttpResponse::new(204))
        }
    }
}
