//! Alerts (the contract's "Alerts (Standard Webhooks)"): the event types, a webhook URL's
//! rules, its secret, the Standard Webhooks signature, and the cooldown (at most one event of a
//! type per project per 15 minutes, `data.count` the number since the last one sent). Pure,
//! except the signature, which goes through the [`Crypto`] seam (WebCrypto at the edge).

use crate::auth::crypto::{Crypto, CryptoError};
use crate::error::OAuthError;
use crate::secret::Random;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// 15 minutes.
pub const COOLDOWN_MS: u64 = 15 * 60_000;
/// `auth.failure_burst`: this many failed client authentications within [`BURST_WINDOW_MS`].
pub const BURST_FAILURES: u64 = 10;
pub const BURST_WINDOW_MS: u64 = 5 * 60_000;
pub const SECRET_PREFIX: &str = "whsec_";

/// The contract's nine event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "key.created")]
    KeyCreated,
    #[serde(rename = "key.rotated")]
    KeyRotated,
    #[serde(rename = "key.disabled")]
    KeyDisabled,
    #[serde(rename = "key.deleted")]
    KeyDeleted,
    #[serde(rename = "key.old_secret_used")]
    KeyOldSecretUsed,
    #[serde(rename = "auth.failure_burst")]
    AuthFailureBurst,
    #[serde(rename = "token.wrong_ip")]
    TokenWrongIp,
    #[serde(rename = "refresh.reuse_detected")]
    RefreshReuseDetected,
    #[serde(rename = "rate_limit.exceeded")]
    RateLimitExceeded,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::KeyCreated,
        EventType::KeyRotated,
        EventType::KeyDisabled,
        EventType::KeyDeleted,
        EventType::KeyOldSecretUsed,
        EventType::AuthFailureBurst,
        EventType::TokenWrongIp,
        EventType::RefreshReuseDetected,
        EventType::RateLimitExceeded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventType::KeyCreated => "key.created",
            EventType::KeyRotated => "key.rotated",
            EventType::KeyDisabled => "key.disabled",
            EventType::KeyDeleted => "key.deleted",
            EventType::KeyOldSecretUsed => "key.old_secret_used",
            EventType::AuthFailureBurst => "auth.failure_burst",
            EventType::TokenWrongIp => "token.wrong_ip",
            EventType::RefreshReuseDetected => "refresh.reuse_detected",
            EventType::RateLimitExceeded => "rate_limit.exceeded",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// A webhook URL's rules: `https`, or `http` on loopback; no IP literal of a private,
/// link-local or loopback range, except loopback itself; no credentials, no fragment.
pub fn check_url(raw: &str) -> Result<(), OAuthError> {
    let bad = |why: &str| OAuthError::field("url", format!("the webhook URL {why}"));
    if raw.len() > 2048 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("is not a URL"));
    }
    let (scheme, rest) = raw.split_once("://").ok_or_else(|| bad("is not a URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if rest.contains('#') {
        return Err(bad("has a fragment"));
    }
    if authority.contains('@') {
        return Err(bad("carries credentials"));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(h, _)| h).ok_or_else(|| bad("is not a URL"))?,
        None => authority.rsplit_once(':').map_or(authority, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { authority }),
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let host = host.to_ascii_lowercase();
    let ip: Option<std::net::IpAddr> = host.parse().ok();
    let loopback = ip.is_some_and(|ip| ip.is_loopback()) || host == "localhost";
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(bad("must use https (http only on loopback)")),
        _ => return Err(bad("must use https")),
    }
    if let Some(ip) = ip {
        if !loopback && !public(ip) {
            return Err(bad("names a private, link-local or reserved address"));
        }
    }
    Ok(())
}

fn public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 0
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public(std::net::IpAddr::V4(v4)) && !v4.is_loopback();
            }
            // fc00::/7 unique local, fe80::/10 link-local, :: unspecified.
            !((s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80 || v6.is_unspecified())
        }
    }
}

/// A new signing secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret(rng: &mut dyn Random) -> String {
    let mut key = [0u8; 24];
    rng.fill(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed
/// with the base64-decoded part of `secret` after `whsec_`.
pub async fn sign<C: Crypto>(crypto: &C, secret: &str, id: &str, timestamp: u64, body: &str) -> Result<String, CryptoError> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret)).map_err(|_| CryptoError("the webhook secret is not base64".into()))?;
    let mac = crypto.hmac_sha256(&key, format!("{id}.{timestamp}.{body}").as_bytes()).await?;
    Ok(format!("v1,{}", STANDARD.encode(mac)))
}

/// Where an event type of a project stands: when one was last sent, and how many happened
/// since (not sent, by the cooldown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cooldown {
    pub last_sent_ms: Option<u64>,
    pub since: u64,
}

impl Cooldown {
    /// One more event at `now_ms`: `Some(count)` to send now (`data.count`, this one
    /// included), or `None` while the last one sent is under 15 minutes old.
    pub fn note(&mut self, now_ms: u64) -> Option<u64> {
        self.since += 1;
        match self.last_sent_ms {
            Some(last) if now_ms < last + COOLDOWN_MS => None,
            _ => {
                let count = self.since;
                *self = Cooldown { last_sent_ms: Some(now_ms), since: 0 };
                Some(count)
            }
        }
    }
}

/// The event's body: `{"type", "timestamp": RFC 3339, "data": {"client_id", "count", …}}`.
pub fn body(event: EventType, client_id: &str, count: u64, now_ms: u64, extra: serde_json::Value) -> String {
    let mut data = serde_json::json!({ "client_id": client_id, "count": count });
    if let (Some(d), serde_json::Value::Object(x)) = (data.as_object_mut(), extra) {
        d.extend(x);
    }
    serde_json::json!({ "type": event.name(), "timestamp": crate::time::rfc3339(now_ms / 1000), "data": data }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{NativeCrypto, SeqRng};

    #[test]
    fn the_signature_matches_the_standard_webhooks_example() {
        // The Standard Webhooks specification's example (and its libraries' tests).
        let sig = crate::block_on(sign(
            &NativeCrypto,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        ));
        assert_eq!(sig.unwrap(), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(crate::block_on(sign(&NativeCrypto, "whsec_!!", "m", 1, "{}")).is_err());
    }

    #[test]
    fn webhook_urls_follow_the_rules() {
        for ok in [
            "https://hooks.example.com/x",
            "https://hooks.example.com:8443/x?y=1",
            "http://127.0.0.1:9000/hook",
            "http://localhost/hook",
            "http://[::1]:8080/",
            "https://8.8.8.8/",
            "https://[2001:db8::1]/",
            "https://[::ffff:8.8.8.8]/",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "https://10.0.0.1/",
            "https://172.16.5.4/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://user:pw@hooks.example.com/",
            "https://hooks.example.com/#x",
            "https:///x",
            "hooks.example.com",
            "https://a b/",
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(matches!(&e, OAuthError::InvalidField { field, .. } if field == "url"), "{bad}: {e:?}");
        }
        // The reason, as the console shows it: plain http is for loopback only.
        assert!(check_url("http://hooks.example.com/").unwrap_err().description().contains("http only on loopback"));
    }

    #[test]
    fn the_windows_are_the_contracts() {
        assert_eq!((COOLDOWN_MS, BURST_WINDOW_MS, BURST_FAILURES), (900_000, 300_000, 10));
        let long = |n: usize| format!("https://h.example/{}", "a".repeat(n - "https://h.example/".len()));
        assert!(check_url(&long(2048)).is_ok());
        assert!(check_url(&long(2049)).is_err());
        for bad in ["https://255.255.255.255/", "https://0.1.2.3/", "https://100.127.255.255/", "https://10.0.0.1:443/", "https://[::]/"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        for ok in ["https://100.128.0.1/", "https://99.64.0.1/", "https://11.0.0.1/", "https://[fec0::1]/", "https://[fbff::1]/"] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn secrets_are_whsec_and_24_bytes() {
        let s = new_secret(&mut SeqRng(7));
        let key = STANDARD.decode(s.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(key.len(), 24);
        assert_ne!(s, new_secret(&mut SeqRng(8)));
    }

    #[test]
    fn one_event_per_type_per_15_minutes_with_the_count_since() {
        let mut c = Cooldown::default();
        assert_eq!(c.note(0), Some(1), "the first is sent at once");
        assert_eq!(c.note(1_000), None);
        assert_eq!(c.note(COOLDOWN_MS - 1), None);
        assert_eq!(c.note(COOLDOWN_MS), Some(3), "15 minutes on: sent, counting the two held back");
        assert_eq!(c.note(COOLDOWN_MS + 1), None);
        assert_eq!(c.note(10 * COOLDOWN_MS), Some(2));
    }

    #[test]
    fn event_types_by_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.name()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.name());
        }
        assert_eq!(EventType::parse("key.exploded"), None);
        let b: serde_json::Value =
            serde_json::from_str(&body(EventType::TokenWrongIp, "k", 3, 1_614_265_330_000, serde_json::json!({"ip": "192.0.2.1"}))).unwrap();
        assert_eq!(
            b,
            serde_json::json!({"type": "token.wrong_ip", "timestamp": "2021-02-25T15:02:10Z", "data": {"client_id": "k", "count": 3, "ip": "192.0.2.1"}})
        );
    }
}
