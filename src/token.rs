//! Access tokens: their format, where they are stored, and the expiry and IP-binding rules a
//! stored token record obeys.

use crate::client::{Client, Expiry};
use crate::secret::{random_string, AccessToken, Random, SecretHash, SECRET_BYTES};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Each client's tokens are spread over this many Durable Objects (`{client_id}/{shard}`),
/// chosen by the token's hash: no object sits on every token's path, and a client-wide change
/// (delete, disable, rotate) reaches all of a client's tokens by visiting a fixed, small set.
pub const SHARDS: u8 = 8;

/// A new token: `{client_id}.{256 random bits, base64url}`. The client id is a routing hint
/// (ids are public); the 43 random characters are the secret.
pub fn generate(client_id: &str, rng: &mut dyn Random) -> AccessToken {
    AccessToken::new(format!("{client_id}.{}", random_string(rng, SECRET_BYTES)))
}

/// Where a presented token would be stored, if it has our shape at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub client_id: String,
    pub shard: u8,
    pub hash: SecretHash,
}

pub fn route(token: &AccessToken) -> Option<Route> {
    let (client_id, secret) = token.expose().split_once('.')?;
    let b64url = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if client_id.is_empty() || client_id.len() > 64 || !b64url(client_id) || secret.len() != 43 || !b64url(secret) {
        return None;
    }
    let hash = token.hash();
    Some(Route { client_id: client_id.to_string(), shard: hash.first_byte() % SHARDS, hash })
}

/// What is stored for a live token (under its hash; the token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub client_id: String,
    pub scope: Vec<String>,
    /// The `CF-Connecting-IP` that obtained the token, or `None` when the client has
    /// `ip_binding: false`. An absent header binds to the empty string, so such a token is
    /// usable only by requests that also lack it.
    pub ip: Option<String>,
    pub issued_ms: u64,
    pub last_used_ms: u64,
    pub ttl_s: u32,
    pub max_lifetime_s: u32,
    pub expiry: Expiry,
    /// The generation of the client secret the token was obtained with.
    pub generation: u32,
}

impl TokenRecord {
    pub fn new(client: &Client, generation: u32, scope: Vec<String>, ip: Option<&str>, now_ms: u64) -> Self {
        let s = &client.settings;
        TokenRecord {
            client_id: client.client_id.clone(),
            scope,
            ip: s.ip_binding.then(|| ip.unwrap_or("").to_string()),
            issued_ms: now_ms,
            last_used_ms: now_ms,
            ttl_s: s.token_ttl,
            max_lifetime_s: s.max_lifetime,
            expiry: s.expiry,
            generation,
        }
    }

    /// Sliding: `token_ttl` after the latest use, capped at `max_lifetime` after issue.
    /// Fixed: `token_ttl` after issue.
    pub fn expires_at_ms(&self) -> u64 {
        let ttl = u64::from(self.ttl_s) * 1000;
        match self.expiry {
            Expiry::Fixed => self.issued_ms + ttl,
            Expiry::Sliding => {
                (self.last_used_ms + ttl).min(self.issued_ms + u64::from(self.max_lifetime_s) * 1000)
            }
        }
    }

    pub fn is_live(&self, now_ms: u64) -> bool {
        now_ms < self.expires_at_ms()
    }

    /// Seed 003: "Tokens are tied to IP addresses and are only valid if used from the same IP
    /// address used to obtain them."
    pub fn ip_allows(&self, ip: Option<&str>) -> bool {
        match &self.ip {
            None => true,
            Some(bound) => bound == ip.unwrap_or(""),
        }
    }

    /// A successful use. Never moves the expiry backwards, whatever order uses arrive in.
    pub fn touch(&mut self, now_ms: u64) {
        if self.expiry == Expiry::Sliding {
            self.last_used_ms = self.last_used_ms.max(now_ms);
        }
    }

    pub fn has_scopes(&self, required: &[String]) -> bool {
        required.iter().all(|r| self.scope.contains(r))
    }

    /// The body of a successful `/validate` (and of `/introspect` for a live token).
    pub fn view(&self, now_ms: u64) -> Value {
        let exp_ms = self.expires_at_ms();
        json!({
            "active": true,
            "client_id": self.client_id,
            "scope": self.scope.join(" "),
            "exp": exp_ms / 1000,
            "iat": self.issued_ms / 1000,
            "expires_in": exp_ms.saturating_sub(now_ms) / 1000,
            "auth": "bearer",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Settings;
    use crate::secret::testing::CounterRng;
    use crate::secret::ClientSecret;

    fn client(settings: Settings) -> Client {
        Client::new("cid".into(), settings, &ClientSecret::new("s"), 0)
    }

    #[test]
    fn token_shape_and_route() {
        let mut rng = CounterRng(7);
        let t = generate("cid", &mut rng);
        assert!(t.expose().starts_with("cid."));
        let r = route(&t).unwrap();
        assert_eq!(r.client_id, "cid");
        assert!(r.shard < SHARDS);
        assert_eq!(r.hash, t.hash());
        for bad in ["nodot", ".x", "cid.short", "c d.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] {
            assert!(route(&AccessToken::new(bad)).is_none(), "{bad}");
        }
    }

    #[test]
    fn shards_spread() {
        let mut rng = CounterRng(0);
        let mut seen = [0u32; SHARDS as usize];
        for _ in 0..800 {
            seen[route(&generate("c", &mut rng)).unwrap().shard as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
    }

    #[test]
    fn sliding_expiry_slides_and_is_capped() {
        let c = client(Settings { token_ttl: 10, max_lifetime: 25, ..Settings::default() });
        let mut r = TokenRecord::new(&c, 0, vec![], Some("1.1.1.1"), 1_000);
        assert_eq!(r.expires_at_ms(), 11_000);
        assert!(r.is_live(10_999) && !r.is_live(11_000));
        r.touch(9_000);
        assert_eq!(r.expires_at_ms(), 19_000);
        r.touch(5_000); // a late-arriving older use must not move expiry back
        assert_eq!(r.expires_at_ms(), 19_000);
        r.touch(20_000);
        assert_eq!(r.expires_at_ms(), 26_000, "capped at issue + max_lifetime");
    }

    #[test]
    fn fixed_expiry_ignores_use() {
        let c = client(Settings { token_ttl: 10, expiry: Expiry::Fixed, ..Settings::default() });
        let mut r = TokenRecord::new(&c, 0, vec![], None, 0);
        r.touch(9_000);
        assert_eq!(r.expires_at_ms(), 10_000);
    }

    #[test]
    fn ip_binding() {
        let c = client(Settings::default());
        let r = TokenRecord::new(&c, 0, vec![], Some("1.1.1.1"), 0);
        assert!(r.ip_allows(Some("1.1.1.1")));
        assert!(!r.ip_allows(Some("2.2.2.2")));
        assert!(!r.ip_allows(None));
        let r = TokenRecord::new(&c, 0, vec![], None, 0);
        assert!(r.ip_allows(None) && !r.ip_allows(Some("1.1.1.1")));
        let unbound = client(Settings { ip_binding: false, ..Settings::default() });
        let r = TokenRecord::new(&unbound, 0, vec![], Some("1.1.1.1"), 0);
        assert!(r.ip_allows(Some("9.9.9.9")));
    }

    #[test]
    fn view_fields() {
        let c = client(Settings { token_ttl: 300, ..Settings::default() });
        let r = TokenRecord::new(&c, 0, vec!["a".into(), "b".into()], None, 1_700_000_000_000);
        let v = r.view(1_700_000_000_000);
        assert_eq!(v["scope"], "a b");
        assert_eq!(v["exp"], 1_700_000_300u64);
        assert_eq!(v["iat"], 1_700_000_000u64);
        assert_eq!(v["expires_in"], 300);
        assert_eq!(v["auth"], "bearer");
    }
}
