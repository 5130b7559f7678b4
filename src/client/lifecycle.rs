//! The steps of changes to a client that must take effect at once, shared by the admin API
//! (`/admin/clients`, `/admin/users`) and the Account API and console (projects): every
//! shard's gate hears of a disable, delete or rotation before KV, and before the call answers.
//! Every step is idempotent: `crate::intent` records each change before its steps, and does
//! them again (an alarm) when a call is cut part way.
//!
//! Projects (clients with an `owner`) add two indexes: the owner's (`o:{client_id}` in the
//! person's object) and each API's (`p:{client_id}` in `api:{api_id}`). Deleting a project
//! closes its gates first, then forgets it in the API indexes, then in KV, and last in the
//! owner's index: a retry finds it in the owner's index until everything else is done.

use super::{store, Client};
use crate::alerts::EventType;
use crate::app::App;
use crate::catalogue;
use crate::error::OAuthError;
use crate::notify;
use crate::secret::{self, ClientSecret, Random};
use crate::shard::apis::Detach;
use crate::shard::gate::{ChangeGate, GateChange};
use crate::shard::route::{shard_name, SHARDS};
use crate::shard::users::projects::{Projects, RemoveProject};
use crate::store::Platform;
use crate::user;

/// Apply a client-wide change to every shard of the client.
pub async fn update_gates<P: Platform>(app: &App<P>, client_id: &str, change: GateChange) -> Result<(), OAuthError> {
    for shard in 0..SHARDS {
        app.call(&shard_name(client_id, shard), ChangeGate { change: change.clone() }).await?;
    }
    Ok(())
}

/// Store a changed record in KV and in this isolate's cache.
pub async fn save<P: Platform>(app: &App<P>, client: &Client, now_ms: u64) -> Result<(), OAuthError> {
    store::put(&app.kv, client).await?;
    app.remember(&client.client_id, Some(client), now_ms);
    Ok(())
}

/// A rotation, decided: the new secret is in `client`; the old one works `grace_s` more
/// seconds (0: not at all, and every token obtained with it dies). Returns the secret, when
/// the old one stops working (0 without grace), and the change every gate must hear (before
/// the record is saved).
pub fn rotation(client: &mut Client, grace_s: u64, now_ms: u64, rng: &mut dyn Random) -> Result<(ClientSecret, u64, GateChange), OAuthError> {
    if client.is_public() {
        return Err(OAuthError::field("client_type", "a public client has no secret to rotate"));
    }
    let new_secret = secret::generate_client_secret(rng);
    client.rotate(&new_secret, grace_s, now_ms);
    let grace_until_ms = client.previous_secret.as_ref().and_then(|p| p.valid_until_ms).unwrap_or(0);
    Ok((new_secret, grace_until_ms, GateChange::Rotate { generation: client.generation(), grace_until_ms }))
}

/// The gates' change for a client's own switch (a project's owner has another, see
/// [`owner_changed`]). The gates hear it first: once they say "disabled", no stale KV read
/// helps a token. Re-enabling revives nothing (disabling purged every token).
pub fn switch(disabled: bool) -> GateChange {
    if disabled {
        GateChange::Disable
    } else {
        GateChange::Enable
    }
}

/// Delete a client: its gates, then (a project) its APIs' indexes, then KV, then its owner's
/// index.
pub async fn delete<P: Platform>(app: &App<P>, client: &Client, now_ms: u64) -> Result<(), OAuthError> {
    let id = &client.client_id;
    update_gates(app, id, GateChange::Delete).await?;
    for api_id in &client.apis {
        app.call(&catalogue::object_name(api_id), Detach { client_id: id.clone() }).await?;
    }
    app.cache.forget_client(id);
    store::delete(&app.kv, id).await?;
    app.remember(id, None, now_ms);
    if let Some(owner) = &client.owner {
        app.call(&user::object_name(owner), RemoveProject { client_id: id.clone() }).await?;
    }
    notify::event(app, id, EventType::KeyDeleted, serde_json::json!({}), now_ms).await;
    Ok(())
}

/// The person `user_id` was disabled (`true`) or enabled again: every one of their projects'
/// gates hears it before the admin call answers (invariant 10). Disabling purges the
/// projects' tokens; enabling reopens the gates for new tokens only.
pub async fn owner_changed<P: Platform>(app: &App<P>, user_id: &str, disabled: bool) -> Result<(), OAuthError> {
    let change = if disabled { GateChange::OwnerDisable } else { GateChange::OwnerEnable };
    for client_id in owned(app, user_id).await? {
        update_gates(app, &client_id, change.clone()).await?;
    }
    Ok(())
}

/// The person `user_id` is being deleted: every project of theirs is closed at once, then
/// deleted. A project whose KV record is already gone (an earlier, interrupted attempt) is
/// only forgotten.
pub async fn delete_owned<P: Platform>(app: &App<P>, user_id: &str, now_ms: u64) -> Result<(), OAuthError> {
    let projects = owned(app, user_id).await?;
    // First every key stops (one round over all projects), then the slower clean-up.
    for client_id in &projects {
        update_gates(app, client_id, GateChange::Delete).await?;
    }
    for client_id in &projects {
        match store::get(&app.kv, client_id).await? {
            Some(client) => delete(app, &client, now_ms).await?,
            None => app.call(&user::object_name(user_id), RemoveProject { client_id: client_id.clone() }).await?,
        }
    }
    Ok(())
}

/// The person's projects from their owner index, oldest first (none for an unknown person).
pub async fn owned<P: Platform>(app: &App<P>, user_id: &str) -> Result<Vec<String>, OAuthError> {
    Ok(app.call(&user::object_name(user_id), Projects {}).await?.unwrap_or_default())
}
