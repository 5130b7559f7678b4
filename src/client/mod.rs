//! Registered clients: the record kept in KV (settings, the hashes of their secrets), and
//! client authentication against it.
//!
//! - [`settings`]: what an operator sets, and the admin API's JSON rules for it.
//! - [`store`]: the records in Workers KV.

pub mod settings;
pub mod store;

pub use settings::{Expiry, Settings, GRANT_CLIENT_CREDENTIALS};

use crate::secret::{ClientSecret, SecretHash};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One stored secret: its hash and its generation. Every rotation adds one to the generation,
/// and each token records the generation it was obtained with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSecret {
    pub hash: SecretHash,
    pub generation: u32,
    /// For the previous secret during a rotation's grace period: when it stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<u64>,
}

/// A client as stored in KV under `client:{client_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub settings: Settings,
    pub secret: StoredSecret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<StoredSecret>,
    pub created_at: u64,
    pub updated_at: u64,
}

impl Client {
    pub fn new(client_id: String, settings: Settings, secret: &ClientSecret, now_ms: u64) -> Client {
        Client {
            client_id,
            settings,
            secret: StoredSecret { hash: secret.hash(), generation: 0, valid_until_ms: None },
            previous_secret: None,
            created_at: now_ms,
            updated_at: now_ms,
        }
    }

    /// Check a presented secret against the current one and, during a grace period, the
    /// previous one. Both comparisons always run, in constant time. Returns the generation of
    /// the secret that matched.
    pub fn authenticate(&self, presented: &ClientSecret, now_ms: u64) -> Option<u32> {
        let h = presented.hash();
        let current = self.secret.hash.ct_eq(&h);
        let previous = self.previous_secret.as_ref().is_some_and(|p| {
            let matches = p.hash.ct_eq(&h);
            matches && p.valid_until_ms.is_some_and(|until| now_ms < until)
        });
        if current {
            Some(self.secret.generation)
        } else if previous {
            self.previous_secret.as_ref().map(|p| p.generation)
        } else {
            None
        }
    }

    /// Replace the secret. The old one keeps working for `grace_s` seconds (0: not at all).
    pub fn rotate(&mut self, new_secret: &ClientSecret, grace_s: u64, now_ms: u64) {
        let old = self.secret.clone();
        self.previous_secret = (grace_s > 0).then(|| StoredSecret {
            valid_until_ms: Some(now_ms + grace_s * 1000),
            ..old.clone()
        });
        self.secret = StoredSecret { hash: new_secret.hash(), generation: old.generation + 1, valid_until_ms: None };
        self.updated_at = now_ms;
    }

    /// The view the admin API returns: everything but secrets and their hashes.
    pub fn view(&self) -> Value {
        let s = &self.settings;
        json!({
            "client_id": self.client_id,
            "name": s.name,
            "scopes": s.scopes,
            "grant_types": s.grant_types,
            "token_ttl": s.token_ttl,
            "max_lifetime": s.max_lifetime,
            "expiry": s.expiry.as_str(),
            "ip_binding": s.ip_binding,
            "api_key": s.api_key,
            "introspect": s.introspect,
            "rate_limit": s.rate_limit,
            "disabled": s.disabled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

/// Hash work done for an unknown client id, so that "unknown client" and "wrong secret" take
/// the same time as well as giving the same answer.
pub fn authenticate_nobody(presented: &ClientSecret) {
    let h = presented.hash();
    let _ = SecretHash::of("").ct_eq(&h);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticate_and_rotate_with_grace() {
        let s1 = ClientSecret::new("one");
        let s2 = ClientSecret::new("two");
        let mut c = Client::new("id".into(), Settings::default(), &s1, 1_000);
        assert_eq!(c.authenticate(&s1, 1_000), Some(0));
        assert_eq!(c.authenticate(&s2, 1_000), None);
        c.rotate(&s2, 10, 2_000);
        assert_eq!(c.authenticate(&s2, 2_000), Some(1));
        assert_eq!(c.authenticate(&s1, 11_999), Some(0), "old secret works during grace");
        assert_eq!(c.authenticate(&s1, 12_000), None, "and not after");
        let s3 = ClientSecret::new("three");
        c.rotate(&s3, 0, 3_000);
        assert_eq!(c.authenticate(&s2, 3_000), None, "no grace: the old secret dies at once");
        assert_eq!(c.authenticate(&s1, 3_000), None);
        assert_eq!(c.authenticate(&s3, 3_000), Some(2));
    }

    #[test]
    fn view_has_no_secret() {
        let c = Client::new("id".into(), Settings::default(), &ClientSecret::new("s"), 0);
        let text = c.view().to_string();
        assert!(!text.contains(c.secret.hash.as_str()));
        assert!(!text.contains("secret"));
    }

    #[test]
    fn stored_json_roundtrip() {
        let c = Client::new("id".into(), Settings::default(), &ClientSecret::new("s"), 0);
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Client>(&text).unwrap(), c);
    }
}
