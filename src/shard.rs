//! The token shard: the logic of the Durable Object that holds a share of one client's live
//! tokens, together with that client's authoritative liveness (its "gate"), and named
//! counters. Each command is one read of the keys it needs, a pure decision ([`decide`]),
//! and one batched write: the Durable Object's input and output gates make that atomic, so
//! concurrent uses of a token are applied one after another and never lost. Storage sits
//! behind [`ShardStorage`] (string keys, JSON values); the Durable Object and the in-memory
//! fake both implement it.

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
#[serde(rename_all = "snake_case")]
pub enum GateChange {
    Disable,
    Enable,
    Delete,
    /// The secret is now `generation`; the one before it works until `grace_until_ms` (or not
    /// at all when that is 0).
    Rotate { generation: u32, grace_until_ms: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[serde(rename_all = "snake_case")]
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

/// Storage of one shard: string keys, JSON text values.
#[allow(async_fn_in_trait)]
pub trait ShardStorage {
    /// The values of those `keys` that exist.
    async fn get(&self, keys: &[String]) -> Result<Vec<(String, String)>, StoreError>;
    /// Every entry whose key starts with `prefix` (full keys).
    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Apply writes and deletions as one atomic batch.
    async fn commit(&self, puts: &[(String, String)], deletes: &[String]) -> Result<(), StoreError>;
    async fn alarm(&self) -> Result<Option<u64>, StoreError>;
    async fn set_alarm(&self, at_ms: u64) -> Result<(), StoreError>;
}

pub const GATE_KEY: &str = "gate";
pub const TOKEN_PREFIX: &str = "t:";
pub const COUNTER_PREFIX: &str = "c:";

pub fn token_key(hash: &SecretHash) -> String {
    format!("{TOKEN_PREFIX}{}", hash.as_str())
}

fn counter_key(name: &str) -> String {
    format!("{COUNTER_PREFIX}{name}")
}

/// What a command read.
#[derive(Debug, Default)]
pub struct Loaded {
    pub gate: Gate,
    pub token: Option<TokenRecord>,
    pub counter: Option<Counter>,
}

/// What a command writes.
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    pub puts: Vec<(String, String)>,
    pub deletes: Vec<String>,
    /// Delete every token of the shard.
    pub purge_tokens: bool,
    /// An alarm must fire no later than this.
    pub alarm_by: Option<u64>,
}

impl Effects {
    fn put<T: Serialize>(&mut self, key: String, value: &T) {
        // Our own types always serialise.
        self.puts.push((key, serde_json::to_string(value).unwrap_or_default()));
    }
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError(format!("corrupt record {key}: {e}")))
}

/// Carry out one command: read, decide, write.
pub async fn handle<S: ShardStorage>(s: &S, cmd: Command, now_ms: u64) -> Result<Reply, StoreError> {
    // Issue writes a fresh key: it needs only the gate.
    let token = match &cmd {
        Command::Validate { hash, .. } | Command::Introspect { hash } | Command::Revoke { hash, .. } => Some(token_key(hash)),
        _ => None,
    };
    let counter = match &cmd {
        Command::Count { name, .. } => Some(counter_key(name)),
        _ => None,
    };
    let keys: Vec<String> = std::iter::once(GATE_KEY.to_string()).chain(token.clone()).chain(counter.clone()).collect();
    let mut loaded = Loaded::default();
    for (key, text) in s.get(&keys).await? {
        if key == GATE_KEY {
            loaded.gate = decode(&key, &text)?;
        } else if Some(&key) == token.as_ref() {
            loaded.token = Some(decode(&key, &text)?);
        } else if Some(&key) == counter.as_ref() {
            loaded.counter = Some(decode(&key, &text)?);
        }
    }
    let (reply, mut effects) = decide(cmd, loaded, now_ms);
    if effects.purge_tokens {
        effects.deletes.extend(s.list(TOKEN_PREFIX).await?.into_iter().map(|(k, _)| k));
    }
    if !effects.puts.is_empty() || !effects.deletes.is_empty() {
        s.commit(&effects.puts, &effects.deletes).await?;
    }
    if let Some(at) = effects.alarm_by {
        match s.alarm().await? {
            Some(current) if current <= at => {}
            _ => s.set_alarm(at).await?,
        }
    }
    Ok(reply)
}

/// The decision for one command, given what it read: pure.
pub fn decide(cmd: Command, loaded: Loaded, now_ms: u64) -> (Reply, Effects) {
    let mut fx = Effects::default();
    let Loaded { mut gate, token, counter } = loaded;
    // A token that is live and admitted by its client's gate; a dead one is deleted on sight,
    // so a read never reports a token past its expiry, whether or not its alarm has fired.
    let live = |hash: &SecretHash, fx: &mut Effects| match &token {
        Some(r) if r.is_live(now_ms) && gate.admits(r.generation, now_ms) => Some(r.clone()),
        Some(_) => {
            fx.deletes.push(token_key(hash));
            None
        }
        None => None,
    };
    let reply = match cmd {
        Command::Issue { hash, record } => {
            if gate.admits(record.generation, now_ms) {
                fx.put(token_key(&hash), &record);
                fx.alarm_by = Some(record.expires_at_ms());
                Reply::Ok
            } else {
                Reply::ClientGone
            }
        }
        Command::Validate { hash, ip, required } => match live(&hash, &mut fx) {
            None => Reply::Invalid,
            Some(r) if !r.ip_allows(ip.as_deref()) => Reply::Invalid,
            Some(r) if !r.has_scopes(&required) => Reply::InsufficientScope,
            Some(mut r) => {
                let before = r.expires_at_ms();
                r.touch(now_ms);
                if r.expires_at_ms() != before {
                    // Sliding only moves the expiry later, so the alarm (set for an earlier
                    // time) fires early at worst; the sweep then re-arms it.
                    fx.put(token_key(&hash), &r);
                }
                Reply::Valid { view: r.view(now_ms) }
            }
        },
        Command::Introspect { hash } => match live(&hash, &mut fx) {
            Some(r) => Reply::Valid { view: r.view(now_ms) },
            None => Reply::Invalid,
        },
        Command::Revoke { hash, client_id } => {
            if token.as_ref().is_some_and(|r| r.client_id == client_id) {
                fx.deletes.push(token_key(&hash));
            }
            Reply::Ok
        }
        Command::Gate { change } => {
            match change {
                GateChange::Disable => {
                    gate.disabled = true;
                    fx.purge_tokens = true;
                }
                GateChange::Enable => gate.disabled = false,
                GateChange::Delete => {
                    gate.deleted = true;
                    fx.purge_tokens = true;
                }
                // Idempotent: a retried rotation (same generation) changes nothing.
                GateChange::Rotate { generation, grace_until_ms } if generation > gate.min_generation => {
                    gate.min_generation = generation;
                    gate.grace_generation = (grace_until_ms > now_ms).then(|| generation - 1);
                    gate.grace_until_ms = grace_until_ms;
                    if grace_until_ms > now_ms {
                        fx.alarm_by = Some(grace_until_ms);
                    }
                }
                GateChange::Rotate { .. } => {}
            }
            // The gate and the purge land in one batch: no token outlives the change.
            fx.put(GATE_KEY.to_string(), &gate);
            Reply::Ok
        }
        Command::Check => {
            if gate.deleted || gate.disabled {
                Reply::ClientGone
            } else {
                Reply::Ok
            }
        }
        Command::Count { name, window_ms, limit, count_refused } => {
            let mut counter = counter.unwrap_or_default();
            let decision = counter.hit(now_ms, window_ms, limit, count_refused);
            fx.put(counter_key(&name), &counter);
            // The sweep deletes the counter once it no longer matters.
            fx.alarm_by = Some(counter.stale_at_ms());
            Reply::Counted { decision }
        }
    };
    (reply, fx)
}

/// The alarm: delete every token that has expired or whose client no longer admits it, and
/// every stale counter; re-arm for the earliest remaining deadline. Returns how many entries
/// were deleted.
pub async fn sweep<S: ShardStorage>(s: &S, now_ms: u64) -> Result<usize, StoreError> {
    let gate: Gate = match s.get(&[GATE_KEY.to_string()]).await?.pop() {
        Some((key, text)) => decode(&key, &text)?,
        None => Gate::default(),
    };
    let tokens = s.list(TOKEN_PREFIX).await?;
    let counters = s.list(COUNTER_PREFIX).await?;
    let (deletes, next) = plan_sweep(&gate, &tokens, &counters, now_ms);
    if !deletes.is_empty() {
        s.commit(&[], &deletes).await?;
    }
    if let Some(at) = next {
        s.set_alarm(at).await?;
    }
    Ok(deletes.len())
}

/// Which entries a sweep deletes, and when the next alarm is due: pure.
pub fn plan_sweep(gate: &Gate, tokens: &[(String, String)], counters: &[(String, String)], now_ms: u64) -> (Vec<String>, Option<u64>) {
    let mut deletes = Vec::new();
    let mut next: Option<u64> = None;
    let mut keep_until = |at: u64| next = Some(next.map_or(at, |n: u64| n.min(at)));
    for (key, text) in tokens {
        // A record that does not parse can never validate: it goes too.
        match serde_json::from_str::<TokenRecord>(text) {
            Ok(r) if r.is_live(now_ms) && gate.admits(r.generation, now_ms) => {
                let at = r.expires_at_ms();
                // During a grace period the token dies when the grace ends, if that is sooner.
                keep_until(if r.generation < gate.min_generation { at.min(gate.grace_until_ms) } else { at });
            }
            _ => deletes.push(key.clone()),
        }
    }
    for (key, text) in counters {
        match serde_json::from_str::<Counter>(text) {
            Ok(c) if now_ms < c.stale_at_ms() => keep_until(c.stale_at_ms()),
            _ => deletes.push(key.clone()),
        }
    }
    (deletes, next)
}
