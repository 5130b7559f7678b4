//! A person's life across objects. Making one: the one path `POST /admin/users` and `/signup`
//! share. The name first (one object per lower-cased name makes the check and the claim one
//! step), then the person's object, then the KV copy; a failure takes the KV copy away and
//! gives the name back (any step may have landed though its answer was lost: the claim, the
//! copy). Changing and deleting one: [`propagate`] and [`delete`], the steps of
//! `crate::intent`'s person intents, which make a cut call converge by itself.

use super::{name_object, object_name, store, NewUser, User};
use crate::app::App;
use crate::auth::password;
use crate::client;
use crate::error::OAuthError;
use crate::provider;
use crate::secret::{generate_client_id, Random};
use crate::shard::families::KillUser;
use crate::shard::names::{Claim, Release};
use crate::shard::route::{shard_name, user_shard};
use crate::shard::users::grants::{ForgetGrant, RevokeGrant};
use crate::shard::users::identities::Identities;
use crate::shard::users::{CreateUser, DeleteUser, GetUser, Kill, PurgeUser};
use crate::store::Platform;

pub async fn create<P: Platform>(app: &App<P>, new: &NewUser, now_ms: u64, rng: &mut dyn Random) -> Result<User, OAuthError> {
    let user_id = generate_client_id(rng);
    let claim = name_object(&new.username);
    let created = async {
        if app.call(&claim, Claim { user_id: user_id.clone() }).await?.is_some() {
            return Err(OAuthError::Conflict { field: "username", description: "this username is taken (usernames are compared ignoring case)".into() });
        }
        let hash = password::hash(&app.crypto, &new.password, app.config.pbkdf2_iterations, rng)
            .await
            .map_err(|e| OAuthError::ServerError(format!("password hashing: {}", e.0)))?;
        let user = User {
            user_id: user_id.clone(),
            username: new.username.clone(),
            name: new.name.clone(),
            created_at: now_ms,
            updated_at: now_ms,
            disabled: false,
            password: hash,
            epoch: 0,
            clients: Vec::new(),
            deleted: false,
        };
        if !app.call(&object_name(&user_id), CreateUser { user: user.clone() }).await? {
            return Err(OAuthError::ServerError("a fresh user id was taken".into()));
        }
        store::put(&app.kv, &user).await?;
        Ok(user)
    }
    .await;
    if created.as_ref().is_err_and(|e| !matches!(e, OAuthError::Conflict { .. })) {
        // Undo what may have landed, the copy first (so that no listed person lacks their
        // name), then give the name back (only if this id holds it), so that a retry can have
        // it. Best effort: the error is what the caller needs to see. (The person's object,
        // if it was made, is named by nothing and never read.)
        let _ = store::delete(&app.kv, &user_id).await;
        let _ = app.call(&claim, Release { user_id }).await;
    }
    created
}

/// A change of the person `user_id` (a `PATCH /admin/users`) reaching the rest of the system,
/// from the state their object holds now (so it is right to repeat, and right after a cut):
/// when the change named `disabled`, a disabled person's tokens are killed in every shard
/// that holds some and their projects' gates close (invariant 10), or reopen for new tokens
/// when enabled; then the KV copy for listing. A person deleted meanwhile is left to their
/// deletion.
pub async fn propagate<P: Platform>(app: &App<P>, user_id: &str, disabled_named: bool) -> Result<(), OAuthError> {
    let Some(user) = app.call(&object_name(user_id), GetUser {}).await? else {
        return Ok(());
    };
    if disabled_named {
        if user.disabled {
            kill_everywhere(app, user_id, &Kill { epoch: user.epoch, clients: user.clients.clone() }).await?;
        }
        client::lifecycle::owner_changed(app, user_id, user.disabled).await?;
    }
    store::put(&app.kv, &user).await?;
    Ok(())
}

/// `DELETE /admin/users/{id}`, every step, each idempotent: mark the person deleted (their
/// sessions end, their epoch rises once), kill their tokens, delete their projects (their
/// keys stop first), free their identities and their username, forget the KV copy, and last
/// forget everything their object holds.
pub async fn delete<P: Platform>(app: &App<P>, user_id: &str, now_ms: u64) -> Result<(), OAuthError> {
    let object = object_name(user_id);
    let Some((user, kill)) = app.call(&object, DeleteUser {}).await? else {
        return Ok(());
    };
    kill_everywhere(app, user_id, &kill).await?;
    client::lifecycle::delete_owned(app, user_id, now_ms).await?;
    release_identities(app, user_id).await?;
    app.call(&name_object(&user.username), Release { user_id: user.user_id.clone() }).await?;
    store::delete(&app.kv, user_id).await?;
    app.call(&object, PurgeUser {}).await?;
    Ok(())
}

/// A person's grant to `client_id` revoked, every step: the grant marked revoked with a new
/// epoch (no longer a grant), the kill in the shard holding the person's tokens of that client,
/// then the grant forgotten. Nothing to do when it is gone already.
pub async fn revoke_grant<P: Platform>(app: &App<P>, user_id: &str, client_id: &str) -> Result<(), OAuthError> {
    let object = object_name(user_id);
    let Some(epoch) = app.call(&object, RevokeGrant { client_id: client_id.to_string() }).await? else {
        return Ok(());
    };
    kill_in(app, user_id, client_id, epoch).await?;
    app.call(&object, ForgetGrant { client_id: client_id.to_string() }).await
}

/// A deleted person's identities become free again (before their object forgets them).
async fn release_identities<P: Platform>(app: &App<P>, user_id: &str) -> Result<(), OAuthError> {
    for i in app.call(&object_name(user_id), Identities {}).await?.unwrap_or_default() {
        app.call(&provider::link_object(&i.provider_id, &i.subject), Release { user_id: user_id.to_string() }).await?;
    }
    Ok(())
}

/// The kill reaches the one shard of each client that holds tokens for the user.
pub async fn kill_everywhere<P: Platform>(app: &App<P>, user_id: &str, kill: &Kill) -> Result<(), OAuthError> {
    for client_id in &kill.clients {
        kill_in(app, user_id, client_id, kill.epoch).await?;
    }
    Ok(())
}

/// The kill in the one shard of `client_id` that holds the user's tokens
/// (`{client}/{hash(user) mod 8}`), which kills those families and tokens at once.
pub async fn kill_in<P: Platform>(app: &App<P>, user_id: &str, client_id: &str, epoch: u32) -> Result<(), OAuthError> {
    let shard = shard_name(client_id, user_shard(user_id));
    app.call(&shard, KillUser { user_id: user_id.to_string(), epoch }).await
}
