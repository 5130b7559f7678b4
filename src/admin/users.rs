//! `/admin/users`: people who sign in. Disabling or deleting a user, or revoking one of its
//! grants, takes effect before the call answers: the user's object ends its sessions and raises
//! its epoch in one step, then the kill reaches the one shard of each client holding tokens for
//! the user (`{client}/{hash(user) mod 8}`), which kills those families and tokens at once.
//! Every step is idempotent: a call that failed part way (503) is completed by repeating it.
//! A person's projects follow them (invariant 10): disabling closes every project's gates
//! (purging their tokens), enabling reopens them for new tokens, deleting deletes them.

use super::{authorize, body, identities, segments};
use crate::app::{App, Cx};
use crate::auth::password;
use crate::client::lifecycle;
use crate::endpoints::Outcome;
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::shard::families::KillUser;
use crate::shard::names::Release;
use crate::shard::route::{shard_name, user_shard};
use crate::shard::users::grants::{ForgetGrant, Grants, RevokeGrant};
use crate::shard::users::{DeleteUser, GetUser, Kill, PurgeUser, UpdateUser};
use crate::store::Platform;
use crate::user::{self, User};
use serde_json::json;

pub const PATH: &str = "/admin/users";

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    authorize(app, req)?;
    match (req.method.as_str(), segments(req, PATH).as_slice()) {
        ("GET", []) => Ok(HttpResponse::json(200, &json!({ "users": user::store::list(&app.kv).await? })).no_store()),
        ("POST", []) => create(app, body(req)?, cx).await,
        (_, []) => Err(OAuthError::MethodNotAllowed("GET, POST")),
        ("GET", [id]) => Ok(HttpResponse::json(200, &identities::with_identities(app, id, load(app, id).await?.view()).await?).no_store()),
        ("PATCH", [id]) => patch(app, id, body(req)?, cx).await,
        ("DELETE", [id]) => delete(app, id, cx.now_ms).await,
        (_, [_]) => Err(OAuthError::MethodNotAllowed("GET, PATCH, DELETE")),
        ("GET", [id, "grants"]) => grants(app, id).await,
        (_, [_, "grants"]) => Err(OAuthError::MethodNotAllowed("GET")),
        ("DELETE", [id, "grants", client_id]) => revoke_grant(app, id, client_id).await,
        (_, [_, "grants", _]) => Err(OAuthError::MethodNotAllowed("DELETE")),
        ("POST", [id, "identities"]) => identities::link(app, object(id).map(|_| *id)?, body(req)?, cx.now_ms).await,
        (_, [_, "identities"]) => Err(OAuthError::MethodNotAllowed("POST")),
        ("DELETE", [id, "identities", provider_id]) => identities::unlink(app, object(id).map(|_| *id)?, provider_id).await,
        (_, [_, "identities", _]) => Err(OAuthError::MethodNotAllowed("DELETE")),
        _ => Err(OAuthError::NotFound),
    }
}

/// Ids are ours (22 base64url characters); anything else names no user, and no object.
fn object(id: &str) -> Result<String, OAuthError> {
    let ours = id.len() == 22 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ours.then(|| user::object_name(id)).ok_or(OAuthError::NotFound)
}

async fn load<P: Platform>(app: &App<P>, id: &str) -> Result<User, OAuthError> {
    app.call(&object(id)?, GetUser {}).await?.ok_or(OAuthError::NotFound)
}

async fn create<P: Platform>(app: &App<P>, body: &[u8], cx: &mut Cx<'_>) -> Outcome {
    let new = user::parse_new(body)?;
    let user = user::lifecycle::create(app, &new, cx.now_ms, cx.rng).await?;
    Ok(HttpResponse::json(201, &user.view()).no_store())
}

async fn patch<P: Platform>(app: &App<P>, id: &str, body: &[u8], cx: &mut Cx<'_>) -> Outcome {
    let object = object(id)?;
    let patch = user::parse_patch(body)?;
    let hash = match &patch.password {
        Some(p) => Some(
            password::hash(&app.crypto, p, app.config.pbkdf2_iterations, cx.rng)
                .await
                .map_err(|e| OAuthError::ServerError(format!("password hashing: {}", e.0)))?,
        ),
        None => None,
    };
    let op = UpdateUser { name: patch.name, password: hash, disabled: patch.disabled };
    let updated = app.call(&object, op).await?.ok_or(OAuthError::NotFound)?;
    if let Some(kill) = &updated.kill {
        kill_everywhere(app, id, kill).await?;
    }
    // Invariant 10: the person's projects follow them, before this call answers. Told
    // whenever the body names `disabled` (a repeat repairs a fan-out that failed part way).
    if let Some(disabled) = patch.disabled {
        lifecycle::owner_changed(app, id, disabled).await?;
    }
    // `key.disabled` for each of their projects, when this call disabled the person.
    if updated.newly_disabled {
        for p in lifecycle::owned(app, id).await? {
            crate::notify::event(app, &p, crate::alerts::EventType::KeyDisabled, json!({ "by": "operator", "owner_disabled": true }), cx.now_ms).await;
        }
    }
    user::store::put(&app.kv, &updated.user).await?;
    Ok(HttpResponse::json(200, &updated.user.view()).no_store())
}

async fn delete<P: Platform>(app: &App<P>, id: &str, now_ms: u64) -> Outcome {
    let object = object(id)?;
    let (user, kill) = app.call(&object, DeleteUser {}).await?.ok_or(OAuthError::NotFound)?;
    kill_everywhere(app, id, &kill).await?;
    // Deleting a person deletes their projects (their keys stop first, all of them).
    lifecycle::delete_owned(app, id, now_ms).await?;
    identities::release_all(app, id).await?;
    app.call(&user::name_object(&user.username), Release { user_id: user.user_id.clone() }).await?;
    user::store::delete(&app.kv, id).await?;
    app.call(&object, PurgeUser {}).await?;
    Ok(HttpResponse::new(204))
}

async fn grants<P: Platform>(app: &App<P>, id: &str) -> Outcome {
    let grants = app.call(&object(id)?, Grants {}).await?.ok_or(OAuthError::NotFound)?;
    let views: Vec<_> = grants.iter().map(|g| json!({"client_id": g.client_id, "scope": g.scope.join(" "), "created_at": g.created_at})).collect();
    Ok(HttpResponse::json(200, &json!({ "grants": views })).no_store())
}

async fn revoke_grant<P: Platform>(app: &App<P>, id: &str, client_id: &str) -> Outcome {
    let object = object(id)?;
    // Percent-decoded: a metadata-document client's id is a URL (`https%3A%2F%2F…`).
    let client_id = &crate::form::decode_component(client_id.as_bytes()).map_err(|_| OAuthError::NotFound)?;
    let epoch = app.call(&object, RevokeGrant { client_id: client_id.to_string() }).await?.ok_or(OAuthError::NotFound)?;
    kill_in(app, id, client_id, epoch).await?;
    app.call(&object, ForgetGrant { client_id: client_id.to_string() }).await?;
    Ok(HttpResponse::new(204))
}

/// The kill reaches the one shard of each client that holds tokens for the user.
async fn kill_everywhere<P: Platform>(app: &App<P>, user_id: &str, kill: &Kill) -> Result<(), OAuthError> {
    for client_id in &kill.clients {
        kill_in(app, user_id, client_id, kill.epoch).await?;
    }
    Ok(())
}

async fn kill_in<P: Platform>(app: &App<P>, user_id: &str, client_id: &str, epoch: u32) -> Result<(), OAuthError> {
    let shard = shard_name(client_id, user_shard(user_id));
    app.call(&shard, KillUser { user_id: user_id.to_string(), epoch }).await
}
