//! The token shard: the logic of the Durable Object that holds a share of one client's live
//! tokens, together with that client's authoritative liveness (its "gate"). Storage sits
//! behind [`ShardStorage`]; the Durable Object and the in-memory fake both implement it.

use crate::limits::{Counter, Decision};
use crate::secret::SecretHash;
use crate::store::StoreError;
use crate::token::TokenRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The client's state as far as its tokens are concerned. KV is eventually consistent, so
/// KV alone cannot make a deletion, a disable or a rotation take effect at once; every shard
/// of the client keeps this gate, the admin API updates all of them before it answers, and
/// every issue and use of a token passes through it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    pub deleted: bool,
    pub disabled: bool,
    /// Tokens obtained with an older secret generation are dead...
    pub min_generation: u32,
    /// ...except this one, until `grace_until_ms` (a rotation's grace period).
    pub grace_generation: Option<u32>,
    pub grace_until_ms: u64,
}

impl Gate {
    pub fn admits(&self, generation: u32, now_ms: u64) -> bool {
        !self.deleted
            && !self.disabled
            && (generation >= self.min_generation
                || (self.grace_generation == Some(generation) && now_ms < self.grace_until_ms))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum GateChange {
    Disable,
    Enable,
    Delete,
    /// The secret is now `generation`; the one before it works until `grace_until_ms` (or not
    /// at all when that is 0).
    Rotate { generation: u32, grace_until_ms: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    Issue { hash: SecretHash, record: TokenRecord },
    /// A use: checks expiry, IP and scope, then slides the expiry.
    Validate { hash: SecretHash, ip: Option<String>, required: Vec<String> },
    /// A look that is not a use (RFC 7662).
    Introspect { hash: SecretHash },
    Revoke { hash: SecretHash, client_id: String },
    Gate { change: GateChange },
    /// Is the client alive? (for API-key validation)
    Check,
    /// Count one event on the named counter (failed authentications, request rates).
    Count { name: String, window_ms: u64, limit: u64, count_refused: bool },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Ok,
    /// The token is live; its `/validate` view.
    Valid { view: Value },
    InsufficientScope,
    /// Unknown, expired, revoked, wrong IP: deliberately indistinguishable.
    Invalid,
    /// The client is deleted, disabled or its secret generation is dead.
    ClientGone,
    Counted { decision: Decision },
}

/// Storage of one shard. Keys: the gate, and one record per token hash.
#[allow(async_fn_in_trait)]
pub trait ShardStorage {
    /// The gate (default when never written) and, if asked, one token record, in one read.
    async fn load(&self, hash: Option<&SecretHash>) -> Result<(Gate, Option<TokenRecord>), StoreError>;
    async fn put_gate(&self, gate: &Gate) -> Result<(), StoreError>;
    async fn put_token(&self, hash: &SecretHash, record: &TokenRecord) -> Result<(), StoreError>;
    async fn delete_token(&self, hash: &SecretHash) -> Result<(), StoreError>;
    /// Every stored token, keyed by hash.
    async fn tokens(&self) -> Result<Vec<(SecretHash, TokenRecord)>, StoreError>;
    async fn counter(&self, name: &str) -> Result<Option<Counter>, StoreError>;
    async fn put_counter(&self, name: &str, counter: &Counter) -> Result<(), StoreError>;
    async fn delete_counter(&self, name: &str) -> Result<(), StoreError>;
    /// Every stored counter, by name.
    async fn counters(&self) -> Result<Vec<(String, Counter)>, StoreError>;
    async fn alarm(&self) -> Result<Option<u64>, StoreError>;
    async fn set_alarm(&self, at_ms: u64) -> Result<(), StoreError>;
}

/// Carry out one command. Each command reads and writes without awaiting anything but this
/// shard's own storage, so the Durable Object's input gate makes it atomic: concurrent uses of
/// one token are applied one after another.
pub async fn handle<S: ShardStorage>(s: &S, cmd: Command, now_ms: u64) -> Result<Reply, StoreError> {
    match cmd {
        Command::Issue { hash, record } => {
            let (gate, _) = s.load(None).await?;
            if !gate.admits(record.generation, now_ms) {
                return Ok(Reply::ClientGone);
            }
            s.put_token(&hash, &record).await?;
            schedule(s, record.expires_at_ms()).await?;
            Ok(Reply::Ok)
        }
        Command::Validate { hash, ip, required } => {
            let Some((mut record, _)) = live(s, &hash, now_ms).await? else { return Ok(Reply::Invalid) };
            if !record.ip_allows(ip.as_deref()) {
                return Ok(Reply::Invalid);
            }
            if !record.has_scopes(&required) {
                return Ok(Reply::InsufficientScope);
            }
            let before = record.expires_at_ms();
            record.touch(now_ms);
            if record.expires_at_ms() != before {
                // Sliding moves the expiry later only, so the alarm (set for an earlier time)
                // fires early at worst; the sweep then re-arms it.
                s.put_token(&hash, &record).await?;
            }
            Ok(Reply::Valid { view: record.view(now_ms) })
        }
        Command::Introspect { hash } => Ok(match live(s, &hash, now_ms).await? {
            Some((record, _)) => Reply::Valid { view: record.view(now_ms) },
            None => Reply::Invalid,
        }),
        Command::Revoke { hash, client_id } => {
            let (_, record) = s.load(Some(&hash)).await?;
            if record.is_some_and(|r| r.client_id == client_id) {
                s.delete_token(&hash).await?;
            }
            Ok(Reply::Ok)
        }
        Command::Gate { change } => {
            let (mut gate, _) = s.load(None).await?;
            let purge = match change {
                GateChange::Disable => {
                    gate.disabled = true;
                    true
                }
                GateChange::Enable => {
                    gate.disabled = false;
                    false
                }
                GateChange::Delete => {
                    gate.deleted = true;
                    true
                }
                GateChange::Rotate { generation, grace_until_ms } => {
                    // Idempotent: a retried rotation (same generation) changes nothing.
                    if generation > gate.min_generation {
                        gate.min_generation = generation;
                        gate.grace_generation = (grace_until_ms > now_ms).then(|| generation - 1);
                        gate.grace_until_ms = grace_until_ms;
                        if grace_until_ms > now_ms {
                            schedule(s, grace_until_ms).await?;
                        }
                    }
                    false
                }
            };
            // The gate is written first: if the purge below fails half-way, the gate already
            // refuses every token that remains.
            s.put_gate(&gate).await?;
            if purge {
                for (hash, _) in s.tokens().await? {
                    s.delete_token(&hash).await?;
                }
            }
            Ok(Reply::Ok)
        }
        Command::Check => {
            let (gate, _) = s.load(None).await?;
            Ok(if gate.deleted || gate.disabled { Reply::ClientGone } else { Reply::Ok })
        }
        Command::Count { name, window_ms, limit, count_refused } => {
            let mut counter = s.counter(&name).await?.unwrap_or_default();
            let decision = counter.hit(now_ms, window_ms, limit, count_refused);
            s.put_counter(&name, &counter).await?;
            // The sweep deletes the counter once it no longer matters.
            schedule(s, counter.stale_at_ms()).await?;
            Ok(Reply::Counted { decision })
        }
    }
}

/// The token under `hash` if it is live and its client admits it. A dead one is deleted on
/// sight, so a read never reports a token past its expiry, whether or not its alarm has fired.
async fn live<S: ShardStorage>(s: &S, hash: &SecretHash, now_ms: u64) -> Result<Option<(TokenRecord, Gate)>, StoreError> {
    let (gate, record) = s.load(Some(hash)).await?;
    let Some(record) = record else { return Ok(None) };
    if record.is_live(now_ms) && gate.admits(record.generation, now_ms) {
        Ok(Some((record, gate)))
    } else {
        s.delete_token(hash).await?;
        Ok(None)
    }
}

/// Make sure an alarm will fire no later than `at_ms`.
async fn schedule<S: ShardStorage>(s: &S, at_ms: u64) -> Result<(), StoreError> {
    match s.alarm().await? {
        Some(current) if current <= at_ms => Ok(()),
        _ => s.set_alarm(at_ms).await,
    }
}

/// The alarm: delete every token that has expired or whose client no longer admits it, and
/// re-arm for the earliest remaining expiry. Returns how many were deleted.
pub async fn sweep<S: ShardStorage>(s: &S, now_ms: u64) -> Result<usize, StoreError> {
    let (gate, _) = s.load(None).await?;
    let mut deleted = 0;
    let mut next: Option<u64> = None;
    for (hash, record) in s.tokens().await? {
        if record.is_live(now_ms) && gate.admits(record.generation, now_ms) {
            let at = record.expires_at_ms();
            // During a grace period the token dies when the grace ends, if that is sooner.
            let at = if record.generation < gate.min_generation { at.min(gate.grace_until_ms) } else { at };
            next = Some(next.map_or(at, |n| n.min(at)));
        } else {
            s.delete_token(&hash).await?;
            deleted += 1;
        }
    }
    for (name, counter) in s.counters().await? {
        let at = counter.stale_at_ms();
        if now_ms >= at {
            s.delete_counter(&name).await?;
        } else {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    if let Some(at) = next {
        s.set_alarm(at).await?;
    }
    Ok(deleted)
}
