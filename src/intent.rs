//! Changes that span objects and KV, made to converge by themselves (DESIGN.md, invariant 12).
//!
//! Rotating a secret, disabling or deleting a client, changing or deleting a person: each is
//! several steps in several places (eight shard gates and KV; a person's object, the shards
//! holding their tokens, their projects' gates and KV). A call cut part way (the worker
//! killed, a step failing) used to leave the change half done until someone repeated it. Now
//! each is an [`Intent`]: recorded first in one object ([`shard::intents`]: a client's shard
//! 0, a person's own object) with an alarm a few seconds later; then every step is done, each
//! idempotent, and the record is forgotten. If the call is cut, the object's alarm
//! ([`resume`]) does the steps again until they succeed, and any later change or admin read of
//! the same client or person completes what is pending first ([`settle`]): nothing shows a
//! state that is not in force, and changes to one client or person apply in order.
//!
//! A rotation whose caller was cut converges forward: the new secret is in force though its
//! answer was lost, so the operator rotates again (as after any lost answer).

use crate::alerts::EventType;
use crate::app::App;
use crate::client::{lifecycle, Client};
use crate::error::OAuthError;
use crate::notify;
use crate::secret::{generate_client_id, ClientSecret, Random};
use crate::shard::gate::GateChange;
use crate::shard::intents::{Done, Intend, Pending, Recorded, UserDone, UserIntend, UserPending, INTENT_DELAY_MS};
use crate::shard::route::shard_name;
use crate::shard::ShardStorage;
use crate::store::Platform;
use crate::user;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// An alert to raise once the change is in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventType,
    pub data: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Externally tagged (serde's default): an internally tagged enum would pull serde's buffering
// deserializer into the wasm (about 30 KB gzipped) for this one type.
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// A client's new record (a rotation, a disable, any change): every shard's gate first
    /// when `gate` is set, then KV, then the alert.
    SaveClient { client: Client, gate: Option<GateChange>, event: Option<Event> },
    /// Delete a client: [`lifecycle::delete`].
    DeleteClient { client: Client },
    /// A person changed: [`user::lifecycle::propagate`].
    ChangePerson { user_id: String, disabled_named: bool },
    /// Delete a person: [`user::lifecycle::delete`].
    DeletePerson { user_id: String },
    /// A person's grant to a client revoked: [`user::lifecycle::revoke_grant`].
    RevokeGrant { user_id: String, client_id: String },
}

/// Where an intent is kept: one object per client (its shard 0) or per person (their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Client(String),
    Person(String),
}

impl Intent {
    pub fn place(&self) -> Place {
        match self {
            Intent::SaveClient { client, .. } | Intent::DeleteClient { client } => Place::Client(client.client_id.clone()),
            Intent::ChangePerson { user_id, .. } | Intent::DeletePerson { user_id } | Intent::RevokeGrant { user_id, .. } => Place::Person(user_id.clone()),
        }
    }

    /// Every step, in order; each idempotent, so doing them again is right.
    pub async fn complete<P: Platform>(&self, app: &App<P>, now_ms: u64) -> Result<(), OAuthError> {
        match self {
            Intent::SaveClient { client, gate, event } => {
                if let Some(change) = gate {
                    lifecycle::update_gates(app, &client.client_id, change.clone()).await?;
                }
                lifecycle::save(app, client, now_ms).await?;
                if let Some(e) = event {
                    notify::event(app, &client.client_id, e.kind, e.data.clone(), now_ms).await;
                }
            }
            Intent::DeleteClient { client } => lifecycle::delete(app, client, now_ms).await?,
            Intent::ChangePerson { user_id, disabled_named } => user::lifecycle::propagate(app, user_id, *disabled_named).await?,
            Intent::DeletePerson { user_id } => user::lifecycle::delete(app, user_id, now_ms).await?,
            Intent::RevokeGrant { user_id, client_id } => user::lifecycle::revoke_grant(app, user_id, client_id).await?,
        }
        Ok(())
    }
}

impl Place {
    async fn pending<P: Platform>(&self, app: &App<P>) -> Result<Vec<(String, Recorded)>, OAuthError> {
        match self {
            Place::Client(id) => app.call(&shard_name(id, 0), Pending {}).await,
            Place::Person(id) => app.call(&user::object_name(id), UserPending(Pending {})).await,
        }
    }

    async fn intend<P: Platform>(&self, app: &App<P>, op: Intend) -> Result<(), OAuthError> {
        match self {
            Place::Client(id) => app.call(&shard_name(id, 0), op).await,
            Place::Person(id) => app.call(&user::object_name(id), UserIntend(op)).await,
        }
    }

    async fn done<P: Platform>(&self, app: &App<P>, op: Done) -> Result<(), OAuthError> {
        match self {
            Place::Client(id) => app.call(&shard_name(id, 0), op).await,
            Place::Person(id) => app.call(&user::object_name(id), UserDone(op)).await,
        }
    }
}

/// A recorded intent: its id, to forget it once done.
#[must_use = "an intent is finished with `finish`"]
pub struct Recording {
    id: String,
    intent: Intent,
}

/// Record `intent` (after completing what is pending in the same place, so that changes apply
/// in order). Its steps may start once this returns.
pub async fn record<P: Platform>(app: &App<P>, intent: Intent, now_ms: u64, rng: &mut dyn Random) -> Result<Recording, OAuthError> {
    let place = intent.place();
    settle(app, &place, now_ms).await?;
    // Ids sort in the order of recording: the time, then randomness.
    let id = format!("{now_ms:013}-{}", generate_client_id(rng));
    let body = serde_json::to_string(&intent).map_err(|e| OAuthError::ServerError(format!("intent: {e}")))?;
    place.intend(app, Intend { id: id.clone(), body }).await?;
    Ok(Recording { id, intent })
}

/// Do every step of a recorded intent, then forget it.
pub async fn finish<P: Platform>(app: &App<P>, recording: Recording, now_ms: u64) -> Result<(), OAuthError> {
    recording.intent.complete(app, now_ms).await?;
    recording.intent.place().done(app, Done { id: recording.id }).await
}

/// [`record`] then [`finish`]: a change with no step of its own between.
pub async fn run<P: Platform>(app: &App<P>, intent: Intent, now_ms: u64, rng: &mut dyn Random) -> Result<(), OAuthError> {
    let recording = record(app, intent, now_ms, rng).await?;
    finish(app, recording, now_ms).await
}

/// Complete every intent pending in `place`, oldest first: before a change or an admin read
/// of that client or person.
pub async fn settle<P: Platform>(app: &App<P>, place: &Place, now_ms: u64) -> Result<(), OAuthError> {
    for (id, recorded) in place.pending(app).await? {
        complete_recorded(app, &recorded, now_ms).await?;
        place.done(app, Done { id }).await?;
    }
    Ok(())
}

fn parse(recorded: &Recorded) -> Result<Intent, OAuthError> {
    serde_json::from_str(&recorded.body).map_err(|e| OAuthError::ServerError(format!("corrupt intent: {e}")))
}

async fn complete_recorded<P: Platform>(app: &App<P>, recorded: &Recorded, now_ms: u64) -> Result<(), OAuthError> {
    parse(recorded)?.complete(app, now_ms).await
}

/// What an alarm's [`resume`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resumed {
    pub completed: usize,
    /// When the alarm must fire again: for an intent not yet due, or one whose steps failed.
    pub again: Option<u64>,
    /// Why an intent could not be completed (to log; it is retried).
    pub failure: Option<String>,
}

/// An object's alarm: complete the intents it holds whose callers had their time
/// ([`INTENT_DELAY_MS`]), oldest first; `storage` is the object's own (`users`: a user object).
/// An intent whose steps fail is retried `retry_ms` later, and the ones after it wait.
pub async fn resume<P: Platform, S: ShardStorage>(app: &App<P>, storage: &S, users: bool, now_ms: u64, retry_ms: u64) -> Result<Resumed, OAuthError> {
    let pending: Vec<(String, Recorded)> =
        if users { crate::shard::local(storage, UserPending(Pending {}), now_ms).await? } else { crate::shard::local(storage, Pending {}, now_ms).await? };
    let mut out = Resumed::default();
    for (id, recorded) in pending {
        let due = recorded.recorded_ms + INTENT_DELAY_MS;
        // Not yet due: its caller may still be at work (and the later ones wait for it).
        let outcome = if due > now_ms {
            Err(due)
        } else {
            complete_recorded(app, &recorded, now_ms).await.map_err(|e| {
                out.failure = Some(format!("intent {id}: {}", e.description()));
                now_ms + retry_ms
            })
        };
        match outcome {
            Ok(()) => {
                if users {
                    crate::shard::local(storage, UserDone(Done { id }), now_ms).await?;
                } else {
                    crate::shard::local(storage, Done { id }, now_ms).await?;
                }
                out.completed += 1;
            }
            // Changes to one client or person apply in order: the later intents wait.
            Err(at) => {
                out.again = Some(at);
                break;
            }
        }
    }
    Ok(out)
}

/// Rotate a confidential client's secret (see [`lifecycle::rotation`]); the alert
/// `key.rotated` once it is in force. Returns the new secret and when the old one stops
/// working (0 without grace).
pub async fn rotate<P: Platform>(
    app: &App<P>,
    client: &mut Client,
    grace_s: u64,
    now_ms: u64,
    rng: &mut dyn Random,
) -> Result<(ClientSecret, u64), OAuthError> {
    let (secret, grace_until_ms, change) = lifecycle::rotation(client, grace_s, now_ms, rng)?;
    let until = (grace_until_ms > 0).then_some(grace_until_ms / 1000);
    let event = Event { kind: EventType::KeyRotated, data: json!({ "old_secret_expires_at": until }) };
    run(app, Intent::SaveClient { client: client.clone(), gate: Some(change), event: Some(event) }, now_ms, rng).await?;
    Ok((secret, grace_until_ms))
}

/// Save a changed client; `disabled` when the change names the client's own switch (its
/// gates hear it first; told whenever named, since the record compared with may be stale).
/// Disabling an enabled client raises `key.disabled`, saying `by` whom ("operator", "owner").
#[allow(clippy::too_many_arguments)]
pub async fn save_client<P: Platform>(
    app: &App<P>,
    client: &Client,
    disabled: Option<bool>,
    was_disabled: bool,
    by: &str,
    now_ms: u64,
    rng: &mut dyn Random,
) -> Result<(), OAuthError> {
    let event = (disabled == Some(true) && !was_disabled).then(|| Event { kind: EventType::KeyDisabled, data: json!({ "by": by }) });
    run(app, Intent::SaveClient { client: client.clone(), gate: disabled.map(lifecycle::switch), event }, now_ms, rng).await
}

/// Delete a client: its gates, its APIs' and owner's indexes, KV; `key.deleted`.
pub async fn delete_client<P: Platform>(app: &App<P>, client: &Client, now_ms: u64, rng: &mut dyn Random) -> Result<(), OAuthError> {
    run(app, Intent::DeleteClient { client: client.clone() }, now_ms, rng).await
}

/// Before reading a client to change or show it: what is pending for it is done first.
pub async fn settle_client<P: Platform>(app: &App<P>, client_id: &str, now_ms: u64) -> Result<(), OAuthError> {
    settle(app, &Place::Client(client_id.to_string()), now_ms).await
}

/// The same for a person.
pub async fn settle_person<P: Platform>(app: &App<P>, user_id: &str, now_ms: u64) -> Result<(), OAuthError> {
    settle(app, &Place::Person(user_id.to_string()), now_ms).await
}
