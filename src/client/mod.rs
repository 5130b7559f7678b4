//! Registered clients: the record kept in KV (settings, the hashes of their secrets), and
//! client authentication against it.
//!
//! - [`settings`]: what an operator sets, and the admin API's JSON rules for it.
//! - [`store`]: the records in Workers KV.
//! - [`metadata_document`]: clients whose id is the URL of their own metadata document.
//! - [`registration`]: the metadata of RFC 7591 registration requests.

pub mod lifecycle;
pub mod metadata_document;
pub mod redirect;
pub mod registration;
pub mod settings;
pub mod store;

pub use settings::{
    ClientType, Expiry, Settings, GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN, GRANT_TOKEN_EXCHANGE, GRANT_TYPES,
};

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
    /// `None` for a public client, which has no secret.
    #[serde(default)]
    pub secret: Option<StoredSecret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<StoredSecret>,
    pub created_at: u64,
    pub updated_at: u64,
    /// Who made it: the admin API, RFC 7591 registration, or its own metadata document.
    #[serde(default, skip_serializing_if = "Origin::is_admin")]
    pub origin: Origin,
    /// A project (the console, the Account API): the person who owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// A project's APIs (catalogue ids): its scopes and resources come from them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apis: Vec<String>,
    /// When the secret was last rotated (ms), if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<u64>,
}

/// Where a client comes from. Only admin-made clients have their own `resources`; the others
/// may name any of the worker's `RESOURCES`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    #[default]
    Admin,
    /// `POST /register` (RFC 7591).
    Registered,
    /// A Client ID Metadata Document: the client id is the document's URL.
    MetadataDocument,
}

impl Origin {
    pub fn is_admin(&self) -> bool {
        *self == Origin::Admin
    }
}

impl Client {
    /// A confidential client with its first secret.
    pub fn new(client_id: String, settings: Settings, secret: &ClientSecret, now_ms: u64) -> Client {
        Client { secret: Some(StoredSecret { hash: secret.hash(), generation: 0, valid_until_ms: None }), ..Client::public(client_id, settings, now_ms) }
    }

    /// A public client: no secret at all.
    pub fn public(client_id: String, settings: Settings, now_ms: u64) -> Client {
        Client {
            client_id,
            settings,
            secret: None,
            previous_secret: None,
            created_at: now_ms,
            updated_at: now_ms,
            origin: Origin::Admin,
            owner: None,
            apis: Vec::new(),
            rotated_at: None,
        }
    }

    /// The resources this client's tokens may be for (RFC 8707): its own when the admin API
    /// made it, else the worker's `RESOURCES` (`configured`).
    pub fn resources<'a>(&'a self, configured: &'a [String]) -> &'a [String] {
        match self.origin {
            Origin::Admin => &self.settings.resources,
            Origin::Registered | Origin::MetadataDocument => configured,
        }
    }

    pub fn is_public(&self) -> bool {
        self.settings.client_type == ClientType::Public
    }

    /// Client authentication. A public client proves nothing and presents no secret (RFC 6749
    /// §2.1, `token_endpoint_auth_method` `none`); a confidential one presents its secret,
    /// checked against the current one and, during a grace period, the previous one (both
    /// comparisons always run, in constant time). Returns the generation of the secret that
    /// matched (0 for public clients).
    /// Is `presented` the previous secret, after its grace ended (`key.old_secret_used`)?
    pub fn is_old_secret(&self, presented: &ClientSecret, now_ms: u64) -> bool {
        self.previous_secret.as_ref().is_some_and(|p| p.hash.ct_eq(&presented.hash()) && p.valid_until_ms.is_none_or(|until| now_ms >= until))
    }

    pub fn authenticate(&self, presented: Option<&ClientSecret>, now_ms: u64) -> Option<u32> {
        let (stored, presented) = match (&self.secret, presented) {
            (None, None) if self.is_public() => return Some(0),
            (Some(stored), Some(presented)) => (stored, presented),
            (_, presented) => {
                if let Some(p) = presented {
                    authenticate_nobody(p);
                }
                return None;
            }
        };
        let h = presented.hash();
        let current = stored.hash.ct_eq(&h);
        let previous = self.previous_secret.as_ref().is_some_and(|p| {
            let matches = p.hash.ct_eq(&h);
            matches && p.valid_until_ms.is_some_and(|until| now_ms < until)
        });
        if current {
            Some(stored.generation)
        } else if previous {
            self.previous_secret.as_ref().map(|p| p.generation)
        } else {
            None
        }
    }

    /// The generation of the current secret (0 for a public client).
    pub fn generation(&self) -> u32 {
        self.secret.as_ref().map_or(0, |s| s.generation)
    }

    /// Replace the secret of a confidential client. The old one keeps working for `grace_s`
    /// seconds (0: not at all).
    pub fn rotate(&mut self, new_secret: &ClientSecret, grace_s: u64, now_ms: u64) {
        let old = self.secret.clone();
        // Kept after its grace too (`None`: none at all), so a late use is recognised
        // (`key.old_secret_used`); it never authenticates once its grace is over.
        self.previous_secret = old.as_ref().map(|old| StoredSecret { valid_until_ms: (grace_s > 0).then(|| now_ms + grace_s * 1000), ..old.clone() });
        let generation = old.map_or(0, |o| o.generation + 1);
        self.secret = Some(StoredSecret { hash: new_secret.hash(), generation, valid_until_ms: None });
        self.updated_at = now_ms;
        self.rotated_at = Some(now_ms);
    }

    /// The view the admin API returns: everything but secrets and their hashes; a project's
    /// also names its `owner` and `apis`.
    pub fn view(&self) -> Value {
        let mut v = self.settings_view();
        if let Some(owner) = &self.owner {
            v["owner"] = json!(owner);
            v["apis"] = json!(self.apis);
        }
        v
    }

    fn settings_view(&self) -> Value {
        let s = &self.settings;
        json!({
            "client_id": self.client_id,
            "name": s.name,
            "client_type": s.client_type.as_str(),
            "scopes": s.scopes,
            "grant_types": s.grant_types,
            "redirect_uris": s.redirect_uris,
            "refresh_token_ttl": s.refresh_token_ttl,
            "skip_consent": s.skip_consent,
            "resources": s.resources,
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
            "registered": self.origin == Origin::Registered,
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
        assert_eq!(c.authenticate(Some(&s1), 1_000), Some(0));
        assert_eq!(c.authenticate(Some(&s2), 1_000), None);
        assert_eq!(c.authenticate(None, 1_000), None, "a confidential client must present its secret");
        c.rotate(&s2, 10, 2_000);
        assert_eq!(c.authenticate(Some(&s2), 2_000), Some(1));
        assert_eq!(c.authenticate(Some(&s1), 11_999), Some(0), "old secret works during grace");
        assert_eq!(c.authenticate(Some(&s1), 12_000), None, "and not after");
        let s3 = ClientSecret::new("three");
        c.rotate(&s3, 0, 3_000);
        assert_eq!(c.authenticate(Some(&s2), 3_000), None, "no grace: the old secret dies at once");
        assert_eq!(c.authenticate(Some(&s1), 3_000), None);
        assert_eq!(c.authenticate(Some(&s3), 3_000), Some(2));
        assert_eq!(c.generation(), 2);
    }

    #[test]
    fn public_clients_present_no_secret() {
        let settings = Settings { client_type: ClientType::Public, ..Settings::default() };
        let c = Client::public("pub".into(), settings, 0);
        assert_eq!(c.authenticate(None, 0), Some(0));
        assert_eq!(c.authenticate(Some(&ClientSecret::new("")), 0), None, "a public client has no secret to present");
        assert_eq!(c.authenticate(Some(&ClientSecret::new("x")), 0), None);
        assert!(!c.view().to_string().contains("secret"));
        // A confidential record with no secret (never made, but never trusted either).
        let broken = Client { secret: None, ..Client::new("c".into(), Settings::default(), &ClientSecret::new("s"), 0) };
        assert_eq!(broken.authenticate(None, 0), None);
    }

    #[test]
    fn view_has_no_secret() {
        let c = Client::new("id".into(), Settings::default(), &ClientSecret::new("s"), 0);
        let text = c.view().to_string();
        assert!(!text.contains(c.secret.as_ref().unwrap().hash.as_str()));
        assert!(!text.contains("secret"));
        assert!(c.view().get("owner").is_none(), "only projects have an owner");
        let p = Client { owner: Some("u1".into()), apis: vec!["a1".into()], ..c };
        assert_eq!((p.view()["owner"].as_str(), p.view()["apis"][0].as_str()), (Some("u1"), Some("a1")));
    }

    #[test]
    fn stored_json_roundtrip() {
        let c = Client::new("id".into(), Settings::default(), &ClientSecret::new("s"), 0);
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Client>(&text).unwrap(), c);
    }
}
