//! A project's webhook and its alerts' state, in the project's shard 0 (`{client_id}/0`): the
//! webhook (`webhook`, with its secret), each event type's cooldown (`al:{type}`), and the
//! delivery log (`deliveries`, the last [`MAX_DELIVERIES`], newest first). One small record
//! each: nothing grows with use.

use super::{Effects, Loaded, Op};
use crate::alerts::{Cooldown, EventType};
use crate::error::StoreError;
use serde::{Deserialize, Serialize};

pub const WEBHOOK_KEY: &str = "webhook";
pub const DELIVERIES_KEY: &str = "deliveries";
pub const ALERT_PREFIX: &str = "al:";
pub const MAX_DELIVERIES: usize = 100;

fn alert_key(t: EventType) -> String {
    format!("{ALERT_PREFIX}{}", t.name())
}

/// A project's webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: String,
    pub events: Vec<EventType>,
    /// `whsec_…`.
    pub secret: String,
    pub created_ms: u64,
    /// Turned off by a `410 Gone` from the receiver.
    #[serde(default)]
    pub off: bool,
}

/// One delivery of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub webhook_id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub last_status: Option<u16>,
    /// Unix seconds.
    pub created_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetWebhook {
    pub webhook: Webhook,
}

impl Op for SetWebhook {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        Vec::new()
    }
    fn decide(self, _loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        fx.put(WEBHOOK_KEY.into(), &self.webhook);
        Ok(((), fx))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetWebhook {}

impl Op for GetWebhook {
    type Reply = Option<Webhook>;
    fn keys(&self) -> Vec<String> {
        vec![WEBHOOK_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Option<Webhook>, Effects), StoreError> {
        Ok((loaded.get(WEBHOOK_KEY)?, Effects::default()))
    }
}

/// Delete the webhook (and its log); `true` when there was one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteWebhook {}

impl Op for DeleteWebhook {
    type Reply = bool;
    fn keys(&self) -> Vec<String> {
        vec![WEBHOOK_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(bool, Effects), StoreError> {
        let mut fx = Effects::default();
        let had = loaded.get::<Webhook>(WEBHOOK_KEY)?.is_some();
        if had {
            fx.delete(WEBHOOK_KEY.into());
            fx.delete(DELIVERIES_KEY.into());
        }
        Ok((had, fx))
    }
}

/// An event happened: apply the type's cooldown. The reply is `Some(count)` when one is to be
/// sent now (`data.count`); the caller then sends it to the project's webhook (when it has
/// one that takes the type: then `webhook_id` enters the log as `pending`) and the operator's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Raise {
    pub event: EventType,
    pub webhook_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Raised {
    pub count: u64,
    /// The project's webhook, when it is on and takes this type.
    pub webhook: Option<Webhook>,
}

impl Op for Raise {
    type Reply = Option<Raised>;
    fn keys(&self) -> Vec<String> {
        vec![alert_key(self.event), WEBHOOK_KEY.into(), DELIVERIES_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Option<Raised>, Effects), StoreError> {
        let mut fx = Effects::default();
        let key = alert_key(self.event);
        let mut c: Cooldown = loaded.get(&key)?.unwrap_or_default();
        let sent = c.note(now_ms);
        fx.put(key, &c);
        let Some(count) = sent else { return Ok((None, fx)) };
        let webhook = loaded.get::<Webhook>(WEBHOOK_KEY)?.filter(|w| !w.off && w.events.contains(&self.event));
        if webhook.is_some() {
            let mut log: Vec<Delivery> = loaded.get(DELIVERIES_KEY)?.unwrap_or_default();
            log.insert(
                0,
                Delivery { webhook_id: self.webhook_id, kind: self.event, status: "pending".into(), attempts: 0, last_status: None, created_at: now_ms / 1000 },
            );
            log.truncate(MAX_DELIVERIES);
            fx.put(DELIVERIES_KEY.into(), &log);
        }
        Ok((Some(Raised { count, webhook }), fx))
    }
}

/// A delivery attempt's outcome: `status` (`None`: a timeout or network error); `last` when no
/// retry is left. A `410` turns the webhook off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempted {
    pub webhook_id: String,
    pub status: Option<u16>,
    pub last: bool,
}

impl Op for Attempted {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![WEBHOOK_KEY.into(), DELIVERIES_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        let ok = self.status.is_some_and(|s| (200..300).contains(&s));
        let gone = self.status == Some(410);
        let mut log: Vec<Delivery> = loaded.get(DELIVERIES_KEY)?.unwrap_or_default();
        if let Some(d) = log.iter_mut().find(|d| d.webhook_id == self.webhook_id) {
            d.attempts += 1;
            d.last_status = self.status;
            d.status = if ok {
                "delivered"
            } else if self.last || gone {
                "failed"
            } else {
                "pending"
            }
            .into();
            fx.put(DELIVERIES_KEY.into(), &log);
        }
        if gone {
            if let Some(mut w) = loaded.get::<Webhook>(WEBHOOK_KEY)? {
                w.off = true;
                fx.put(WEBHOOK_KEY.into(), &w);
            }
        }
        Ok(((), fx))
    }
}

/// The log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliveries {}

impl Op for Deliveries {
    type Reply = Vec<Delivery>;
    fn keys(&self) -> Vec<String> {
        vec![DELIVERIES_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Vec<Delivery>, Effects), StoreError> {
        Ok((loaded.get(DELIVERIES_KEY)?.unwrap_or_default(), Effects::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Checked;

    fn hook(events: Vec<EventType>) -> Webhook {
        Webhook { url: "https://h.example/".into(), events, secret: "whsec_AAAA".into(), created_ms: 0, off: false }
    }

    fn raise(loaded: &Loaded, id: &str, now: u64) -> (Option<Raised>, Loaded) {
        let (r, fx) = Raise { event: EventType::TokenWrongIp, webhook_id: id.into() }.checked(loaded, now).unwrap();
        let mut next = loaded.clone();
        for (k, v) in fx.puts {
            next = next.with(k, &serde_json::from_str::<serde_json::Value>(&v).unwrap());
        }
        (r, next)
    }

    #[test]
    fn raising_applies_the_cooldown_and_logs_what_goes_to_the_webhook() {
        let loaded = Loaded::default().with(WEBHOOK_KEY, &hook(vec![EventType::TokenWrongIp]));
        let (r, loaded) = raise(&loaded, "msg_1", 0);
        assert_eq!(r.as_ref().map(|r| (r.count, r.webhook.is_some())), Some((1, true)));
        let (r, loaded) = raise(&loaded, "msg_2", 60_000);
        assert_eq!(r, None, "within 15 minutes");
        let (r, loaded) = raise(&loaded, "msg_3", crate::alerts::COOLDOWN_MS);
        assert_eq!(r.map(|r| r.count), Some(2));
        let log = Deliveries {}.checked(&loaded, 0).unwrap().0;
        assert_eq!(log.iter().map(|d| d.webhook_id.as_str()).collect::<Vec<_>>(), vec!["msg_3", "msg_1"], "newest first");
        let d = &log[0];
        assert_eq!((d.status.as_str(), d.attempts, d.last_status, d.created_at), ("pending", 0, None, crate::alerts::COOLDOWN_MS / 1000), "unix seconds");
        // A type the webhook does not take: counted and sent to the operator only.
        let other = Loaded::default().with(WEBHOOK_KEY, &hook(vec![EventType::KeyCreated]));
        let (r, after) = raise(&other, "m", 0);
        assert_eq!(r.map(|r| r.webhook.is_none()), Some(true));
        assert!(Deliveries {}.checked(&after, 0).unwrap().0.is_empty());
    }

    #[test]
    fn attempts_update_the_log_and_410_turns_the_webhook_off() {
        let loaded = Loaded::default().with(WEBHOOK_KEY, &hook(vec![EventType::TokenWrongIp]));
        let (_, loaded) = raise(&loaded, "m1", 0);
        let apply = |loaded: &Loaded, status, last| {
            let ((), fx) = Attempted { webhook_id: "m1".into(), status, last }.checked(loaded, 0).unwrap();
            let mut next = loaded.clone();
            for (k, v) in fx.puts {
                next = next.with(k, &serde_json::from_str::<serde_json::Value>(&v).unwrap());
            }
            next
        };
        let l = apply(&loaded, Some(500), false);
        let d = &Deliveries {}.checked(&l, 0).unwrap().0[0];
        assert_eq!((d.status.as_str(), d.attempts, d.last_status), ("pending", 1, Some(500)));
        let l = apply(&l, Some(204), false);
        assert_eq!(Deliveries {}.checked(&l, 0).unwrap().0[0].status, "delivered");
        let l = apply(&loaded, None, true);
        assert_eq!(Deliveries {}.checked(&l, 0).unwrap().0[0].status, "failed");
        let l = apply(&loaded, Some(410), false);
        assert_eq!(Deliveries {}.checked(&l, 0).unwrap().0[0].status, "failed");
        assert!(GetWebhook {}.checked(&l, 0).unwrap().0.unwrap().off, "410: off");
    }

    #[test]
    fn the_log_keeps_the_last_100() {
        let mut loaded = Loaded::default().with(WEBHOOK_KEY, &hook(vec![EventType::TokenWrongIp]));
        for i in 0..105u64 {
            loaded = raise(&loaded, &format!("m{i}"), i * crate::alerts::COOLDOWN_MS).1;
        }
        let log = Deliveries {}.checked(&loaded, 0).unwrap().0;
        assert_eq!((log.len(), log[0].webhook_id.as_str(), log[99].webhook_id.as_str()), (100, "m104", "m5"));
    }
}
