//! The token shard: the logic of the Durable Object `{client_id}/{n}` (n < [`SHARDS`]) that
//! holds a share of one client's live tokens, that client's authoritative liveness (its
//! [`gate`]), and named [`counters`].
//!
//! Every operation is a type implementing [`Op`]: the keys it reads, a pure `decide` from
//! what was read to a typed reply and the [`Effects`] to write, and nothing else. [`execute`]
//! does the read, the decision and one batched commit; the Durable Object's input and output
//! gates make that atomic, so concurrent requests to one shard apply one after another and
//! none is lost. Storage sits behind [`ShardStorage`]; the Durable Object and the in-memory
//! fake of [`crate::testing`] both implement it.
//!
//! - [`route`]: which shard a token lives in, and the token format.
//! - [`tokens`]: issue, validate (a use), introspect (not a use), revoke.
//! - [`gate`]: client-wide changes (disable, enable, delete, rotate) and the liveness check.
//! - [`counters`]: sliding-window counters for brute-force protection and rate limits.
//! - [`sweep`]: the alarm that deletes what has expired.

pub mod counters;
pub mod gate;
pub mod route;
pub mod sweep;
pub mod tokens;

pub use route::{route, shard_name, Route, SHARDS};

use crate::error::StoreError;
use crate::store::{decode_reply, Namespace, Objects};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// One operation on a shard.
pub trait Op: Sized {
    type Reply: Serialize + DeserializeOwned;
    /// The keys to read before deciding.
    fn keys(&self) -> Vec<String>;
    /// The decision, from what was read: pure. Only a corrupt record makes it fail.
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Self::Reply, Effects), StoreError>;
}

/// What an operation read: raw JSON by key, decoded on demand.
#[derive(Debug, Default, Clone)]
pub struct Loaded(BTreeMap<String, String>);

impl Loaded {
    /// The record under `key`, if there is one.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.0.get(key).map(|text| decode(key, text)).transpose()
    }

    /// For tests: a state with `value` stored under `key`.
    pub fn with<T: Serialize>(mut self, key: impl Into<String>, value: &T) -> Self {
        self.0.insert(key.into(), to_json(value));
        self
    }
}

/// What an operation writes.
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    pub puts: Vec<(String, String)>,
    pub deletes: Vec<String>,
    /// Delete every key under these prefixes.
    pub purge: Vec<&'static str>,
    /// An alarm must fire no later than this.
    pub alarm_by: Option<u64>,
}

impl Effects {
    pub fn put<T: Serialize>(&mut self, key: String, value: &T) {
        self.puts.push((key, to_json(value)));
    }

    pub fn delete(&mut self, key: String) {
        self.deletes.push(key);
    }

    /// Ask for an alarm by `at`, keeping the earliest of several asks.
    pub fn alarm(&mut self, at: u64) {
        self.alarm_by = Some(self.alarm_by.map_or(at, |a| a.min(at)));
    }

    async fn apply<S: ShardStorage>(mut self, s: &S) -> Result<(), StoreError> {
        for prefix in &self.purge {
            self.deletes.extend(s.list(prefix).await?.into_iter().map(|(k, _)| k));
        }
        if !self.puts.is_empty() || !self.deletes.is_empty() {
            s.commit(&self.puts, &self.deletes).await?;
        }
        if let Some(at) = self.alarm_by {
            if let Some(at) = earlier_alarm(s.alarm().await?, at) {
                s.set_alarm(at).await?;
            }
        }
        Ok(())
    }
}

/// The alarm to set when `wanted` is asked for and `current` is scheduled: only ever earlier
/// (a later deadline is met by the earlier alarm, whose sweep re-arms for what remains).
pub fn earlier_alarm(current: Option<u64>, wanted: u64) -> Option<u64> {
    match current {
        Some(current) if current <= wanted => None,
        _ => Some(wanted),
    }
}

/// Our own types always serialise.
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

pub(crate) fn decode<T: DeserializeOwned>(key: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError(format!("corrupt record {key}: {e}")))
}

/// Read, decide, commit; the reply as JSON.
pub async fn execute<S: ShardStorage, O: Op>(s: &S, op: O, now_ms: u64) -> Result<String, StoreError> {
    let keys = op.keys();
    let loaded = Loaded(s.get(&keys).await?.into_iter().collect());
    let (reply, effects) = op.decide(&loaded, now_ms)?;
    effects.apply(s).await?;
    Ok(to_json(&reply))
}

macro_rules! requests {
    ($($variant:ident($op:ty)),* $(,)?) => {
        /// Every operation, as it travels to the Durable Object (JSON, tagged by `op`).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Request {
            $($variant($op)),*
        }

        $(impl From<$op> for Request {
            fn from(op: $op) -> Self {
                Request::$variant(op)
            }
        })*

        impl Request {
            async fn execute<S: ShardStorage>(self, s: &S, now_ms: u64) -> Result<String, StoreError> {
                match self {
                    $(Request::$variant(op) => execute(s, op, now_ms).await),*
                }
            }
        }
    };
}

requests! {
    Issue(tokens::Issue),
    Validate(tokens::Validate),
    Introspect(tokens::Introspect),
    Revoke(tokens::Revoke),
    Gate(gate::ChangeGate),
    Check(gate::Check),
    Count(counters::Count),
}

/// The Durable Object's side: one request (JSON) in, its reply (JSON) out.
pub async fn handle<S: ShardStorage>(s: &S, request: &str, now_ms: u64) -> Result<String, StoreError> {
    let request: Request = serde_json::from_str(request).map_err(|e| StoreError(format!("bad shard request: {e}")))?;
    request.execute(s, now_ms).await
}

/// The caller's side: run `op` in the shard named `shard` and return its typed reply.
pub async fn call<O: Objects, R: Op>(objects: &O, shard: &str, op: R) -> Result<R::Reply, StoreError>
where
    Request: From<R>,
{
    let text = objects.send(Namespace::Tokens, shard, &to_json(&Request::from(op))).await?;
    decode_reply(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alarm_only_moves_earlier() {
        assert_eq!(earlier_alarm(None, 50), Some(50));
        assert_eq!(earlier_alarm(Some(100), 50), Some(50));
        assert_eq!(earlier_alarm(Some(100), 100), None);
        assert_eq!(earlier_alarm(Some(100), 200), None);
    }

    #[test]
    fn effects_keep_the_earliest_alarm() {
        let mut fx = Effects::default();
        fx.alarm(300);
        fx.alarm(100);
        fx.alarm(200);
        assert_eq!(fx.alarm_by, Some(100));
    }

    #[test]
    fn requests_travel_as_tagged_json() {
        let r = Request::from(gate::Check {});
        assert_eq!(to_json(&r), r#"{"check":{}}"#);
        assert_eq!(serde_json::from_str::<Request>(r#"{"check":{}}"#).unwrap(), r);
        assert!(serde_json::from_str::<Request>(r#"{"nope":{}}"#).is_err());
    }
}
