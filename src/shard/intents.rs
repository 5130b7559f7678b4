//! Durable intents: an operation that spans several objects and KV (rotating a secret reaches
//! a client's eight shards and then KV; disabling a person reaches their user object, the
//! shards holding their tokens, their projects' gates and KV) first records what it is about
//! to do in one object, as `intent:{id}`, with an alarm [`INTENT_DELAY_MS`] later. The caller then
//! does every step (each idempotent) and clears the record. If the caller is cut off part way
//! (a crash, a lost connection, a failed step), the record stays and the object's alarm does
//! the steps again, retrying until they all succeed; a read of the changed state completes
//! what is pending before it answers. So a cut call converges by itself, and nothing shows a
//! state that is not in force.
//!
//! What an intent means is its caller's business: here it is only text (`crate::intent` reads
//! it), so that this layer names nothing above it. The operations exist once for each class of
//! object ([`Intend`], [`Done`], [`Pending`] in token shards; the `User…` wrappers in user
//! objects).

use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use serde::{Deserialize, Serialize};

pub const INTENT_PREFIX: &str = "intent:";

/// How long the caller has to finish before the alarm does it instead. A call normally
/// finishes in milliseconds; doing the steps twice is harmless, only wasted.
pub const INTENT_DELAY_MS: u64 = 5_000;

/// How long after a failed attempt the alarm tries again.
pub const INTENT_RETRY_MS: u64 = 5_000;

fn key(id: &str) -> String {
    format!("{INTENT_PREFIX}{id}")
}

/// A recorded intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub body: String,
    pub recorded_ms: u64,
}

/// Record an intent, and an alarm to complete it if its caller does not. Ids sort in the
/// order intents were recorded (the caller makes them from the time, then randomness), and
/// pending intents are completed in that order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intend {
    pub id: String,
    pub body: String,
}

impl Op for Intend {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![]
    }
    fn decide(self, _loaded: &Loaded, now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        fx.put(key(&self.id), &Recorded { body: self.body, recorded_ms: now_ms });
        fx.alarm(now_ms + INTENT_DELAY_MS);
        Ok(((), fx))
    }
}

/// Every step of the intent `id` is done: forget it. (Idempotent: the alarm and the caller
/// may both finish it.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub id: String,
}

impl Op for Done {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![]
    }
    fn decide(self, _loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        fx.delete(key(&self.id));
        Ok(((), fx))
    }
}

/// The intents not yet done, oldest first, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {}

impl Op for Pending {
    type Reply = Vec<(String, Recorded)>;
    fn keys(&self) -> Vec<String> {
        vec![]
    }
    fn prefixes(&self) -> Vec<String> {
        vec![INTENT_PREFIX.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Self::Reply, Effects), StoreError> {
        let pending = loaded.under::<Recorded>(INTENT_PREFIX)?;
        Ok((pending.into_iter().map(|(k, r)| (k[INTENT_PREFIX.len()..].to_string(), r)).collect(), Effects::default()))
    }
}

/// The same three operations for user objects (an operation type travels to one class).
macro_rules! for_users {
    ($($name:ident($inner:ty)),*) => {$(
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name(pub $inner);

        impl Op for $name {
            type Reply = <$inner as Op>::Reply;
            fn keys(&self) -> Vec<String> {
                self.0.keys()
            }
            fn prefixes(&self) -> Vec<String> {
                self.0.prefixes()
            }
            fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Self::Reply, Effects), StoreError> {
                self.0.decide(loaded, now_ms)
            }
        }
    )*};
}

for_users!(UserIntend(Intend), UserDone(Done), UserPending(Pending));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Checked;

    #[test]
    fn an_intent_is_recorded_with_an_alarm_and_forgotten_when_done() {
        let ((), fx) = Intend { id: "0001-a".into(), body: "{}".into() }.checked(&Loaded::default(), 1_000).unwrap();
        assert_eq!(fx.puts, vec![("intent:0001-a".to_string(), r#"{"body":"{}","recorded_ms":1000}"#.to_string())]);
        assert_eq!(fx.alarm_by, Some(1_000 + INTENT_DELAY_MS), "the alarm completes it if the caller does not");
        let ((), fx) = Done { id: "0001-a".into() }.checked(&Loaded::default(), 2_000).unwrap();
        assert_eq!(fx.deletes, vec!["intent:0001-a".to_string()]);
        assert!(fx.puts.is_empty() && fx.alarm_by.is_none());
    }

    #[test]
    fn pending_intents_come_oldest_first() {
        let r = |b: &str, at: u64| Recorded { body: b.into(), recorded_ms: at };
        let loaded = Loaded::default().with("intent:0002-x", &r("second", 2)).with("intent:0001-y", &r("first", 1)).with("gate", &0).with("t:abc", &1);
        let (pending, fx) = Pending {}.checked(&loaded, 0).unwrap();
        assert_eq!(pending, vec![("0001-y".to_string(), r("first", 1)), ("0002-x".to_string(), r("second", 2))]);
        assert_eq!(fx, Effects::default());
        let (wrapped, _) = UserPending(Pending {}).checked(&loaded, 0).unwrap();
        assert_eq!(wrapped, pending, "the user objects' operation is the same");
    }
}
