//! A person's projects: the operations the Account API and the console share. Whose project
//! it is comes from the owner index in the person's object (consistent), never from KV alone;
//! another person's project and an unknown id are the same `404`.

use super::{apply_apis, new_settings, unknown_api, NewProject, ProjectPatch};
use crate::alerts::EventType;
use crate::app::App;
use crate::catalogue::{self, Api};
use crate::client::lifecycle::{owned, save};
use crate::client::{store, Client};
use crate::error::OAuthError;
use crate::intent::{self, Intent};
use crate::notify;
use crate::secret::{generate_client_id, generate_client_secret, ClientSecret, Random};
use crate::shard::apis::{Attach, Detach};
use crate::shard::users::projects::{AddProject, Added, RemoveProject};
use crate::store::Platform;
use crate::user;
use serde_json::json;

/// The person's projects, oldest first (a project whose record KV does not show yet, or no
/// longer, is left out).
pub async fn list<P: Platform>(app: &App<P>, user_id: &str) -> Result<Vec<Client>, OAuthError> {
    let mut out = Vec::new();
    for id in owned(app, user_id).await? {
        if let Some(c) = store::get(&app.kv, &id).await? {
            out.push(c);
        }
    }
    Ok(out)
}

/// One of the person's projects; anything else is `404`. What is pending for it is done
/// first (`crate::intent`): the record shown or changed is the one in force.
pub async fn load<P: Platform>(app: &App<P>, user_id: &str, client_id: &str, now_ms: u64) -> Result<Client, OAuthError> {
    if !owned(app, user_id).await?.iter().any(|id| id == client_id) {
        return Err(OAuthError::NotFound);
    }
    intent::settle_client(app, client_id, now_ms).await?;
    match store::get(&app.kv, client_id).await? {
        Some(c) if c.owner.as_deref() == Some(user_id) => Ok(c),
        _ => Err(OAuthError::NotFound),
    }
}

/// Attach the project to each of `ids` (in order). On an unknown id, undo the attachments
/// this call made (not those in `keep`, which the project already had) and say which id. On a
/// failed call, the same, and undo that attachment too: it may have landed though its answer
/// was lost (detaching what is not attached changes nothing).
async fn attach<P: Platform>(app: &App<P>, client_id: &str, ids: &[String], keep: &[String]) -> Result<Vec<Api>, OAuthError> {
    let mut apis = Vec::with_capacity(ids.len());
    for id in ids {
        let attached = app.call(&catalogue::object_name(id), Attach { client_id: client_id.to_string() }).await;
        let (failed, lost) = match attached {
            Ok(Some(api)) => {
                apis.push(api);
                continue;
            }
            Ok(None) => (unknown_api(id), None),
            Err(e) => (e, Some(id.as_str())),
        };
        let done = apis.iter().map(|a: &Api| a.api_id.as_str()).chain(lost);
        detach(app, client_id, done.filter(|a| !keep.iter().any(|k| k == a))).await?;
        return Err(failed);
    }
    Ok(apis)
}

/// Take the project out of these APIs' indexes.
async fn detach<'a, P: Platform>(app: &App<P>, client_id: &str, ids: impl Iterator<Item = &'a str>) -> Result<(), OAuthError> {
    for id in ids {
        app.call(&catalogue::object_name(id), Detach { client_id: client_id.to_string() }).await?;
    }
    Ok(())
}

/// A new project and its secret (shown once). The owner's index first (the bound, and the
/// disable fan-out, see it before the key exists), then the APIs' indexes, then KV.
///
/// `nonce`: the console's form nonce, from which the id is derived, so that a replayed form
/// finds its project made already (`409`, nothing changes); `None` (the Account API): a
/// random id.
pub async fn create<P: Platform>(
    app: &App<P>,
    user_id: &str,
    new: &NewProject,
    nonce: Option<&str>,
    now_ms: u64,
    rng: &mut dyn Random,
) -> Result<(Client, ClientSecret), OAuthError> {
    let client_id = match nonce {
        Some(n) => form_project_id(user_id, n),
        None => generate_client_id(rng),
    };
    let owner = user::object_name(user_id);
    match app.call(&owner, AddProject { client_id: client_id.clone(), max: app.config.max_projects }).await? {
        Added::Added => {}
        Added::Exists => {
            return Err(OAuthError::Conflict { field: "nonce", description: "this form was already sent: the project exists".into() });
        }
        Added::TooMany => {
            let n = app.config.max_projects;
            return Err(OAuthError::Refused { error: "too_many_projects", description: format!("a person may have at most {n} projects") });
        }
        Added::NoOwner => return Err(OAuthError::InvalidToken),
    }
    let apis = match attach(app, &client_id, &new.apis, &[]).await {
        Ok(apis) => apis,
        Err(e) => {
            app.call(&owner, RemoveProject { client_id }).await?;
            return Err(e);
        }
    };
    let secret = generate_client_secret(rng);
    let mut client = Client::new(client_id, new_settings(new, &apis), &secret, now_ms);
    client.owner = Some(user_id.to_string());
    client.apis = new.apis.clone();
    if let Err(e) = save(app, &client, now_ms).await {
        // Undo in the reverse order, best effort (the error is what the caller needs to see):
        // the record may have landed though its answer was lost, then the APIs' indexes and
        // the owner's, so that nothing is left of a project whose secret nobody got.
        let _ = store::delete(&app.kv, &client.client_id).await;
        let _ = detach(app, &client.client_id, new.apis.iter().map(String::as_str)).await;
        let _ = app.call(&owner, RemoveProject { client_id: client.client_id.clone() }).await;
        return Err(e);
    }
    notify::event(app, &client.client_id, EventType::KeyCreated, json!({ "name": client.settings.name }), now_ms).await;
    Ok((client, secret))
}

/// The id of the project a console form with this nonce makes: 22 base64url characters (132
/// bits) of SHA-256 over the person and the nonce.
pub fn form_project_id(user_id: &str, nonce: &str) -> String {
    crate::secret::SecretHash::of(&format!("edge-oauth project {user_id} {nonce}")).as_str()[..22].to_string()
}

/// Change a project. New APIs are attached before the record changes, and dropped ones
/// detached after, so the API indexes never miss a project that has the API. A change of
/// `apis` governs tokens issued afterwards; disabling cuts every token at once.
pub async fn patch<P: Platform>(
    app: &App<P>,
    user_id: &str,
    client_id: &str,
    patch: &ProjectPatch,
    now_ms: u64,
    rng: &mut dyn Random,
) -> Result<Client, OAuthError> {
    let mut client = load(app, user_id, client_id, now_ms).await?;
    let before = client.apis.clone();
    if let Some(ids) = &patch.apis {
        let apis = attach(app, client_id, ids, &before).await?;
        apply_apis(&mut client.settings, &apis);
        client.apis = ids.clone();
    }
    if let Some(name) = &patch.name {
        client.settings.name = name.clone();
    }
    if let Some(k) = patch.api_key {
        client.settings.api_key = k;
    }
    let was_disabled = client.settings.disabled;
    if let Some(d) = patch.disabled {
        client.settings.disabled = d;
    }
    client.updated_at = now_ms;
    intent::save_client(app, &client, patch.disabled, was_disabled, "owner", now_ms, rng).await?;
    for gone in before.iter().filter(|a| !client.apis.contains(a)) {
        app.call(&catalogue::object_name(gone), Detach { client_id: client_id.to_string() }).await?;
    }
    Ok(client)
}

/// A new secret; the old one works `grace_s` more seconds (a value of [`super::GRACE_CHOICES`]).
/// Returns the secret and when the old one stops (`None` without grace).
pub async fn rotate<P: Platform>(
    app: &App<P>,
    user_id: &str,
    client_id: &str,
    grace_s: u64,
    now_ms: u64,
    rng: &mut dyn Random,
) -> Result<(ClientSecret, Option<u64>), OAuthError> {
    let mut client = load(app, user_id, client_id, now_ms).await?;
    let (secret, until_ms) = intent::rotate(app, &mut client, grace_s, now_ms, rng).await?;
    Ok((secret, (until_ms > 0).then_some(until_ms)))
}

/// Delete a project: every token stops at once.
pub async fn delete<P: Platform>(app: &App<P>, user_id: &str, client_id: &str, now_ms: u64, rng: &mut dyn Random) -> Result<(), OAuthError> {
    if !owned(app, user_id).await?.iter().any(|id| id == client_id) {
        return Err(OAuthError::NotFound);
    }
    intent::settle_client(app, client_id, now_ms).await?;
    match store::get(&app.kv, client_id).await? {
        Some(c) => intent::run(app, Intent::DeleteClient { client: c }, now_ms, rng).await,
        // An earlier attempt got as far as KV: close the gates again and finish.
        None => {
            crate::client::lifecycle::update_gates(app, client_id, crate::shard::gate::GateChange::Delete).await?;
            app.call(&user::object_name(user_id), RemoveProject { client_id: client_id.to_string() }).await?;
            Ok(())
        }
    }
}
