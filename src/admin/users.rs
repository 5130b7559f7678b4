//! `/admin/users`: people who sign in. Disabling or deleting a user, or revoking one of its
//! grants, takes effect before the call answers: the user's object ends its sessions and raises
//! its epoch in one step, then the kill reaches the one shard of each client holding tokens for
//! the user (`{client}/{hash(user) mod 8}`), which kills those families and tokens at once.
//! A person's projects follow them (invariant 10): disabling closes every project's gates
//! (purging their tokens), enabling reopens them for new tokens, deleting deletes them.
//! Changes and deletions are intents (`crate::intent`): recorded in the person's object first,
//! so a call cut part way is completed by itself (the object's alarm), and a read completes
//! what is pending before answering. Revoking a grant is an intent too.

use super::{authorize, body, identities, segments};
use crate::app::{App, Cx};
use crate::auth::password;
use crate::endpoints::Outcome;
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::intent::{self, Intent};
use crate::shard::users::grants::Grants;
use crate::shard::users::{GetUser, UpdateUser};
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
        ("GET", [id]) => Ok(HttpResponse::json(200, &identities::with_identities(app, id, load(app, id, cx.now_ms).await?.view()).await?).no_store()),
        ("PATCH", [id]) => patch(app, id, body(req)?, cx).await,
        ("DELETE", [id]) => delete(app, id, cx).await,
        (_, [_]) => Err(OAuthError::MethodNotAllowed("GET, PATCH, DELETE")),
        ("GET", [id, "grants"]) => grants(app, id, cx.now_ms).await,
        (_, [_, "grants"]) => Err(OAuthError::MethodNotAllowed("GET")),
        ("DELETE", [id, "grants", client_id]) => revoke_grant(app, id, client_id, cx).await,
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

/// The person, once what is pending for them is done (a read shows only what is in force).
async fn load<P: Platform>(app: &App<P>, id: &str, now_ms: u64) -> Result<User, OAuthError> {
    let object = object(id)?;
    intent::settle_person(app, id, now_ms).await?;
    app.call(&object, GetUser {}).await?.ok_or(OAuthError::NotFound)
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
    // The intent first: once the object has changed, the rest (the kill, the projects'
    // gates, invariant 10; the KV copy) follows even if this call is cut.
    app.call(&object, GetUser {}).await?.ok_or(OAuthError::NotFound)?;
    let intent = Intent::ChangePerson { user_id: id.to_string(), disabled_named: patch.disabled.is_some() };
    let recording = intent::record(app, intent, cx.now_ms, cx.rng).await?;
    let op = UpdateUser { name: patch.name, password: hash, disabled: patch.disabled };
    let updated = app.call(&object, op).await?.ok_or(OAuthError::NotFound)?;
    intent::finish(app, recording, cx.now_ms).await?;
    // `key.disabled` for each of their projects, when this call disabled the person.
    if updated.newly_disabled {
        for p in crate::client::lifecycle::owned(app, id).await? {
            crate::notify::event(app, &p, crate::alerts::EventType::KeyDisabled, json!({ "by": "operator", "owner_disabled": true }), cx.now_ms).await;
        }
    }
    Ok(HttpResponse::json(200, &updated.user.view()).no_store())
}

/// Deleting a person deletes their projects (their keys stop first, all of them).
async fn delete<P: Platform>(app: &App<P>, id: &str, cx: &mut Cx<'_>) -> Outcome {
    load(app, id, cx.now_ms).await?;
    intent::run(app, Intent::DeletePerson { user_id: id.to_string() }, cx.now_ms, cx.rng).await?;
    Ok(HttpResponse::new(204))
}

async fn grants<P: Platform>(app: &App<P>, id: &str, now_ms: u64) -> Outcome {
    let object = object(id)?;
    intent::settle_person(app, id, now_ms).await?;
    let grants = app.call(&object, Grants {}).await?.ok_or(OAuthError::NotFound)?;
    let views: Vec<_> = grants.iter().map(|g| json!({"client_id": g.client_id, "scope": g.scope.join(" "), "created_at": g.created_at})).collect();
    Ok(HttpResponse::json(200, &json!({ "grants": views })).no_store())
}

/// Revoking a grant kills the person's tokens of that client: an intent, like a disable.
async fn revoke_grant<P: Platform>(app: &App<P>, id: &str, client_id: &str, cx: &mut Cx<'_>) -> Outcome {
    let object = object(id)?;
    // Percent-decoded: a metadata-document client's id is a URL (`https%3A%2F%2F…`).
    let client_id = crate::form::decode_component(client_id.as_bytes()).map_err(|_| OAuthError::NotFound)?;
    intent::settle_person(app, id, cx.now_ms).await?;
    let grants = app.call(&object, Grants {}).await?.ok_or(OAuthError::NotFound)?;
    if !grants.iter().any(|g| g.client_id == client_id) {
        return Err(OAuthError::NotFound);
    }
    intent::run(app, Intent::RevokeGrant { user_id: id.to_string(), client_id }, cx.now_ms, cx.rng).await?;
    Ok(HttpResponse::new(204))
}
