//! `/admin/clients`: create, list, read, change, delete clients and rotate their secrets.
//! Changes that must take effect at once (disable, delete, rotate) reach every shard's gate
//! before KV, and before the call answers.

use super::{authorize, body, segments};
use crate::app::{App, Cx};
use crate::client::settings::{grace_for_rotation, settings_for_create, settings_for_patch};
use crate::client::{self, Client};
use crate::endpoints::Outcome;
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::secret;
use crate::shard::gate::{ChangeGate, GateChange};
use crate::shard::route::{shard_name, SHARDS};
use crate::store::Platform;
use serde_json::{json, Value};

pub const PATH: &str = "/admin/clients";

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    authorize(app, req)?;
    match (req.method.as_str(), segments(req, PATH).as_slice()) {
        ("GET", []) => list(app).await,
        ("POST", []) => create(app, body(req)?, cx).await,
        (_, []) => Err(OAuthError::MethodNotAllowed("GET, POST")),
        ("GET", [id]) => Ok(HttpResponse::json(200, &load(app, id).await?.view()).no_store()),
        ("PATCH", [id]) => patch(app, id, body(req)?, cx.now_ms).await,
        ("DELETE", [id]) => delete(app, id, cx.now_ms).await,
        (_, [_]) => Err(OAuthError::MethodNotAllowed("GET, PATCH, DELETE")),
        ("POST", [id, "secret"]) => rotate(app, id, body(req)?, cx).await,
        (_, [_, "secret"]) => Err(OAuthError::MethodNotAllowed("POST")),
        _ => Err(OAuthError::NotFound),
    }
}

/// The admin API always reads KV itself, never the isolate cache.
async fn load<P: Platform>(app: &App<P>, id: &str) -> Result<Client, OAuthError> {
    client::store::get(&app.kv, id).await?.ok_or(OAuthError::NotFound)
}

async fn list<P: Platform>(app: &App<P>) -> Outcome {
    let mut clients = client::store::list(&app.kv).await?;
    clients.sort_unstable_by(|a, b| (a.created_at, &a.client_id).cmp(&(b.created_at, &b.client_id)));
    let views: Vec<Value> = clients.iter().map(Client::view).collect();
    Ok(HttpResponse::json(200, &json!({ "clients": views })).no_store())
}

async fn create<P: Platform>(app: &App<P>, body: &[u8], cx: &mut Cx<'_>) -> Outcome {
    let settings = settings_for_create(body)?;
    let client_id = secret::generate_client_id(cx.rng);
    let client_secret = secret::generate_client_secret(cx.rng);
    let client = Client::new(client_id, settings, &client_secret, cx.now_ms);
    client::store::put(&app.kv, &client).await?;
    app.remember(&client.client_id, Some(&client), cx.now_ms);
    let mut view = client.view();
    view["client_secret"] = Value::String(client_secret.expose().to_string());
    Ok(HttpResponse::json(201, &view).no_store())
}

async fn patch<P: Platform>(app: &App<P>, id: &str, body: &[u8], now_ms: u64) -> Outcome {
    let mut client = load(app, id).await?;
    let (settings, sets_disabled) = settings_for_patch(&client.settings, body)?;
    // The shards' gates first: once they say "disabled", no stale KV read helps a token.
    // Told whenever the body names `disabled`: the KV record we compared with may be stale.
    if sets_disabled {
        let change = if settings.disabled { GateChange::Disable } else { GateChange::Enable };
        update_gates(app, id, change).await?;
    }
    client.settings = settings;
    client.updated_at = now_ms;
    client::store::put(&app.kv, &client).await?;
    app.remember(&client.client_id, Some(&client), now_ms);
    Ok(HttpResponse::json(200, &client.view()).no_store())
}

async fn delete<P: Platform>(app: &App<P>, id: &str, now_ms: u64) -> Outcome {
    load(app, id).await?;
    update_gates(app, id, GateChange::Delete).await?;
    app.cache.forget_client(id);
    client::store::delete(&app.kv, id).await?;
    app.remember(id, None, now_ms);
    Ok(HttpResponse::new(204))
}

async fn rotate<P: Platform>(app: &App<P>, id: &str, body: &[u8], cx: &mut Cx<'_>) -> Outcome {
    let mut client = load(app, id).await?;
    let grace = grace_for_rotation(body)?;
    let new_secret = secret::generate_client_secret(cx.rng);
    client.rotate(&new_secret, grace, cx.now_ms);
    let grace_until_ms = client.previous_secret.as_ref().and_then(|p| p.valid_until_ms).unwrap_or(0);
    let change = GateChange::Rotate { generation: client.secret.generation, grace_until_ms };
    update_gates(app, id, change).await?;
    client::store::put(&app.kv, &client).await?;
    app.remember(&client.client_id, Some(&client), cx.now_ms);
    let body = json!({
        "client_id": client.client_id,
        "client_secret": new_secret.expose(),
        "grace": grace,
        "previous_secret_valid_until": (grace > 0).then_some(grace_until_ms),
    });
    Ok(HttpResponse::json(201, &body).no_store())
}

/// Apply a client-wide change to every shard of the client. Idempotent, so a failure part way
/// (answered 503) is repaired by repeating the admin call.
async fn update_gates<P: Platform>(app: &App<P>, client_id: &str, change: GateChange) -> Result<(), OAuthError> {
    for shard in 0..SHARDS {
        app.shard(&shard_name(client_id, shard), ChangeGate { change: change.clone() }).await?;
    }
    Ok(())
}
