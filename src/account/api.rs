//! The Account API (`/account/...`): a person's projects, as JSON, for scripts. The caller
//! presents `Authorization: Bearer <access token>` issued to the person with scope `account`;
//! it is validated exactly as `/validate` does (`401`/`403` alike; a use of the token). A
//! token that acts for no person of ours (a client's own token, an exchanged token) is `403
//! insufficient_scope`. Errors follow the admin API (`400` naming the field).

use super::{parse_new, parse_patch, parse_rotate, projects, view, webhooks, ACCOUNT_SCOPE};
use crate::alerts::{self, EventType};
use crate::app::{App, Cx};
use crate::catalogue::{self, Api};
use crate::endpoints::validate;
use crate::endpoints::Outcome;
use crate::error::OAuthError;
use crate::form::Params;
use crate::http::{Body, HttpRequest, HttpResponse};
use crate::shard::route::shard_name;
use crate::shard::webhooks::{Deliveries, Webhook};
use crate::store::Platform;
use crate::usage;
use serde_json::{json, Value};

pub const PATH: &str = "/account";

/// The person a request's token acts for.
pub async fn person<P: Platform>(app: &App<P>, req: &HttpRequest, now_ms: u64) -> Result<String, OAuthError> {
    let view = validate::bearer(app, req, vec![ACCOUNT_SCOPE.to_string()], now_ms).await?;
    match (view.sub, view.username, view.subject_issuer) {
        (Some(sub), Some(_), None) => Ok(sub),
        _ => Err(OAuthError::InsufficientScope(ACCOUNT_SCOPE.into())),
    }
}

fn body(req: &HttpRequest) -> Result<&[u8], OAuthError> {
    match &req.body {
        Body::Bytes(b) => Ok(b.as_slice()),
        Body::TooLarge => Err(OAuthError::field("body", "the body exceeds 8 KiB")),
    }
}

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    let segments: Vec<&str> = req.path[PATH.len()..].split('/').filter(|s| !s.is_empty()).collect();
    // Unknown paths are 404 before any token is looked at; known ones need the token first.
    let allow = match segments.as_slice() {
        ["apis"] => "GET",
        ["projects"] => "GET, POST",
        ["projects", _] => "GET, PATCH, DELETE",
        ["projects", _, "rotate"] => "POST",
        ["projects", _, "usage"] => "GET",
        ["projects", _, "webhook"] => "GET, PUT, DELETE",
        ["projects", _, "webhook", "deliveries"] => "GET",
        _ => return Err(OAuthError::NotFound),
    };
    let user_id = person(app, req, cx.now_ms).await?;
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["apis"]) => ok(200, json!({ "apis": catalogue(app).await?.iter().map(Api::view).collect::<Vec<_>>() })),
        ("GET", ["projects"]) => {
            let cat = catalogue(app).await?;
            let mut list: Vec<Value> = Vec::new();
            for c in projects::list(app, &user_id).await? {
                list.push(view(&c, &cat, usage::last_used(app, &c.client_id).await?));
            }
            ok(200, json!({ "projects": list }))
        }
        ("POST", ["projects"]) => {
            let new = parse_new(body(req)?)?;
            let (client, secret) = projects::create(app, &user_id, &new, None, cx.now_ms, cx.rng).await?;
            let mut v = view(&client, &catalogue(app).await?, None);
            v["client_secret"] = json!(secret.expose());
            ok(201, v)
        }
        ("GET", ["projects", id]) => {
            let client = projects::load(app, &user_id, id, cx.now_ms).await?;
            ok(200, view(&client, &catalogue(app).await?, usage::last_used(app, id).await?))
        }
        ("PUT", ["projects", id, "webhook"]) => {
            projects::load(app, &user_id, id, cx.now_ms).await?;
            let (url, events) = parse_webhook(body(req)?)?;
            let webhook = webhooks::set(app, id, &url, events, cx.now_ms, cx.rng).await?;
            let mut v = webhook_view(&webhook);
            v["secret"] = json!(webhook.secret);
            ok(201, v)
        }
        ("GET", ["projects", id, "webhook"]) => {
            projects::load(app, &user_id, id, cx.now_ms).await?;
            match webhooks::get(app, id).await? {
                Some(w) => ok(200, webhook_view(&w)),
                None => Err(OAuthError::NotFound),
            }
        }
        ("DELETE", ["projects", id, "webhook"]) => {
            projects::load(app, &user_id, id, cx.now_ms).await?;
            match webhooks::delete(app, id).await? {
                true => Ok(HttpResponse::new(204)),
                false => Err(OAuthError::NotFound),
            }
        }
        ("GET", ["projects", id, "webhook", "deliveries"]) => {
            projects::load(app, &user_id, id, cx.now_ms).await?;
            ok(200, json!({ "deliveries": app.call(&shard_name(id, 0), Deliveries {}).await? }))
        }
        ("GET", ["projects", id, "usage"]) => {
            projects::load(app, &user_id, id, cx.now_ms).await?;
            let days = usage::parse_days(Params::parse(req.query.as_bytes())?.single("days")?)?;
            ok(200, usage::report(app, id, days, cx.now_ms).await?)
        }
        ("PATCH", ["projects", id]) => {
            // Whose it is first: someone else's project is 404 whatever the body says.
            projects::load(app, &user_id, id, cx.now_ms).await?;
            let patch = parse_patch(body(req)?)?;
            let client = projects::patch(app, &user_id, id, &patch, cx.now_ms, cx.rng).await?;
            ok(200, view(&client, &catalogue(app).await?, usage::last_used(app, id).await?))
        }
        ("DELETE", ["projects", id]) => {
            projects::delete(app, &user_id, id, cx.now_ms, cx.rng).await?;
            Ok(HttpResponse::new(204))
        }
        ("POST", ["projects", id, "rotate"]) => {
            projects::load(app, &user_id, id, cx.now_ms).await?;
            let grace = parse_rotate(body(req)?)?;
            let (secret, until) = projects::rotate(app, &user_id, id, grace, cx.now_ms, cx.rng).await?;
            ok(201, json!({ "client_secret": secret.expose(), "old_secret_expires_at": until.map(|t| t / 1000) }))
        }
        _ => Err(OAuthError::MethodNotAllowed(allow)),
    }
}

/// `{"url", "events": [...]}` (every type when `events` is absent).
fn parse_webhook(body: &[u8]) -> Result<(String, Vec<EventType>), OAuthError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| OAuthError::field("body", "the body is not a JSON object"))?;
    let url = v.get("url").and_then(Value::as_str).ok_or_else(|| OAuthError::field("url", "url is required"))?;
    alerts::check_url(url)?;
    let events = match v.get("events") {
        None | Some(Value::Null) => EventType::ALL.to_vec(),
        Some(Value::Array(a)) if !a.is_empty() => {
            let names: Option<Vec<&str>> = a.iter().map(Value::as_str).collect();
            webhooks::events_named(names.ok_or_else(|| OAuthError::field("events", "events names the contract's event types"))?)?
        }
        _ => return Err(OAuthError::field("events", "events is a non-empty list of event types")),
    };
    Ok((url.to_string(), events))
}

fn webhook_view(w: &Webhook) -> Value {
    json!({ "url": w.url, "events": w.events, "active": !w.off })
}

async fn catalogue<P: Platform>(app: &App<P>) -> Result<Vec<Api>, OAuthError> {
    Ok(catalogue::list(&app.kv).await?)
}

fn ok(status: u16, v: Value) -> Outcome {
    Ok(HttpResponse::json(status, &v).no_store())
}
