//! A trusted issuer's keys (RFC 7517 JWK Sets): which keys are usable, and when to fetch the
//! set again. Keys are cached per isolate; an unknown `kid` (a key rotation) refetches, but at
//! most once a minute per issuer, so unknown `kid`s cannot make us hammer an issuer.

use super::crypto::PublicKey;
use serde_json::Value;

/// Largest JWKS document read.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Most keys kept from one set.
pub const MAX_KEYS: usize = 32;
/// How long to wait for an issuer's JWKS.
pub const FETCH_TIMEOUT_MS: u64 = 5_000;
/// A cached set is used this long without asking again...
pub const MAX_AGE_MS: u64 = 10 * 60_000;
/// ...and an unknown `kid` refetches no more often than this.
pub const REFETCH_MS: u64 = 60_000;
/// Keys no successful fetch has confirmed for this long are dropped: while an issuer's JWKS is
/// unreachable its last keys stay usable, but a key removed upstream (a leaked one) must not stay
/// trusted for as long as the outage lasts.
pub const MAX_UNCONFIRMED_MS: u64 = 24 * 60 * 60_000;

/// One usable verification key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    pub kid: Option<String>,
    /// The algorithm the key is for, when the set says.
    pub alg: Option<String>,
    pub key: PublicKey,
}

/// The usable keys of a JWKS document: RSA and P-256 public keys meant for signatures. Keys of
/// other types, for encryption, or malformed are skipped; a document that is not a JWKS is
/// `None`.
pub fn parse(body: &[u8]) -> Option<Vec<Jwk>> {
    let doc = crate::json::parse(std::str::from_utf8(body).ok()?).ok()?;
    let keys = doc.get("keys")?.as_array()?;
    let usable = keys.iter().filter_map(|k| {
        if k.get("use").is_some_and(|u| u != "sig") {
            return None;
        }
        let text = |name: &str| k.get(name).and_then(Value::as_str).map(str::to_string);
        // Symmetric (`oct`) and other key types are not for verifying someone else's tokens.
        let key = match k.get("kty")?.as_str()? {
            "RSA" => PublicKey::Rsa { n: text("n")?, e: text("e")? },
            "EC" if k.get("crv")? == "P-256" => PublicKey::Ec { crv: text("crv")?, x: text("x")?, y: text("y")? },
            _ => return None,
        };
        Some(Jwk { kid: text("kid"), alg: text("alg"), key })
    });
    Some(usable.take(MAX_KEYS).collect())
}

/// An issuer's keys as this isolate last fetched them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cached {
    pub keys: Vec<Jwk>,
    /// The last attempt to fetch, successful or not: paces the next one ([`should_fetch`]).
    pub fetched_ms: u64,
    /// The last successful fetch, which vouches for `keys`; `None` if none succeeded yet.
    pub confirmed_ms: Option<u64>,
}

impl Cached {
    /// The cache after a fetch at `now_ms` that gave `fetched` (`None`: unreachable, an error
    /// status, or not a JWKS). A fetched set replaces the keys and confirms them; a failed fetch
    /// keeps the previous keys and their confirmation time, and only counts as an attempt.
    pub fn after_fetch(previous: Option<Cached>, fetched: Option<Vec<Jwk>>, now_ms: u64) -> Cached {
        match fetched {
            Some(keys) => Cached { keys, fetched_ms: now_ms, confirmed_ms: Some(now_ms) },
            None => {
                let Cached { keys, confirmed_ms, .. } = previous.unwrap_or_default();
                Cached { keys, fetched_ms: now_ms, confirmed_ms }
            }
        }
    }

    /// The keys to trust at `now_ms`: `None` when no fetch ever succeeded, or when the last
    /// success is [`MAX_UNCONFIRMED_MS`] old or more.
    pub fn usable(&self, now_ms: u64) -> Option<&[Jwk]> {
        let confirmed = self.confirmed_ms?;
        (now_ms.saturating_sub(confirmed) < MAX_UNCONFIRMED_MS).then_some(&self.keys[..])
    }
}

/// Fetch the set again? When none is cached, when the cached one is old, or when the token
/// names a `kid` the cache lacks and the last fetch was a minute ago or more.
pub fn should_fetch(cached: Option<&Cached>, kid: Option<&str>, now_ms: u64) -> bool {
    let Some(c) = cached else { return true };
    let age = now_ms.saturating_sub(c.fetched_ms);
    let unknown_kid = kid.is_some_and(|kid| !c.keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
    age >= MAX_AGE_MS || (unknown_kid && age >= REFETCH_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_keys_only() {
        let doc = br#"{"keys":[
            {"kty":"RSA","kid":"r1","alg":"RS256","use":"sig","n":"AQAB","e":"AQAB"},
            {"kty":"EC","kid":"e1","crv":"P-256","x":"eA","y":"eQ"},
            {"kty":"EC","kid":"e2","crv":"P-384","x":"eA","y":"eQ"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"oct","kid":"h1","k":"c2VjcmV0"},
            {"kty":"RSA","kid":"broken"}
        ]}"#;
        let keys = parse(doc).unwrap();
        assert_eq!(keys.iter().map(|k| k.kid.clone().unwrap()).collect::<Vec<_>>(), vec!["r1", "e1"]);
        assert_eq!(keys[0].alg.as_deref(), Some("RS256"));
        assert_eq!(keys[0].key, PublicKey::Rsa { n: "AQAB".into(), e: "AQAB".into() });
        assert_eq!(keys[1].key, PublicKey::Ec { crv: "P-256".into(), x: "eA".into(), y: "eQ".into() });
        assert_eq!(parse(br#"{"keys":[{"kty":"EC","crv":"P-256","x":1,"y":"b"},{"kty":"RSA","n":"AQAB","e":null}]}"#), Some(vec![]), "members are strings");
        assert_eq!(parse(b"{}"), None);
        assert_eq!(parse(b"[]"), None);
        assert_eq!(parse(br#"{"keys":[]}"#), Some(vec![]));
        let many = format!(r#"{{"keys":[{}]}}"#, vec![r#"{"kty":"EC","crv":"P-256","x":"a","y":"b"}"#; 40].join(","));
        assert_eq!(parse(many.as_bytes()).unwrap().len(), MAX_KEYS);
    }

    fn key(kid: &str) -> Jwk {
        Jwk { kid: Some(kid.into()), alg: None, key: PublicKey::Rsa { n: "n".into(), e: "e".into() } }
    }

    #[test]
    fn a_failed_fetch_keeps_the_keys_but_does_not_confirm_them() {
        const DAY: u64 = MAX_UNCONFIRMED_MS;
        let first = Cached::after_fetch(None, Some(vec![key("k1")]), 1_000);
        assert_eq!(first, Cached { keys: vec![key("k1")], fetched_ms: 1_000, confirmed_ms: Some(1_000) });
        let failed = Cached::after_fetch(Some(first.clone()), None, 5_000);
        assert_eq!(failed, Cached { keys: vec![key("k1")], fetched_ms: 5_000, confirmed_ms: Some(1_000) });
        assert_eq!(failed.usable(1_000 + DAY - 1), Some(&[key("k1")][..]), "a millisecond short of a day");
        assert_eq!(failed.usable(1_000 + DAY), None, "a day unconfirmed");
        assert_eq!(Cached::after_fetch(Some(failed.clone()), None, 2 * DAY).usable(2 * DAY), None, "failing again changes nothing");
        let back = Cached::after_fetch(Some(failed), Some(vec![key("k2")]), 3 * DAY);
        assert_eq!(back.usable(3 * DAY), Some(&[key("k2")][..]), "a success replaces and confirms");
        // Nothing ever fetched: nothing to trust, and the failed attempt still paces the next.
        let never = Cached::after_fetch(None, None, 7_000);
        assert_eq!((never.usable(7_000), never.fetched_ms), (None, 7_000));
        assert_eq!(Cached::after_fetch(None, Some(vec![]), 7_000).usable(7_000), Some(&[][..]), "an empty set is a confirmed set");
        // A clock that steps back is no reason to drop keys.
        assert_eq!(back.usable(DAY), Some(&[key("k2")][..]));
    }

    #[test]
    fn refetch_rules() {
        let c = Cached { keys: vec![key("k1")], fetched_ms: 1_000, confirmed_ms: Some(1_000) };
        let cases = [
            ("nothing cached", None, Some("k1"), 1_000, true),
            ("fresh, known kid", Some(&c), Some("k1"), 2_000, false),
            ("fresh, no kid", Some(&c), None, 2_000, false),
            ("unknown kid, within a minute", Some(&c), Some("k2"), 60_999, false),
            ("unknown kid, a minute on", Some(&c), Some("k2"), 61_000, true),
            ("a millisecond short of ten minutes", Some(&c), Some("k1"), 600_999, false),
            ("old", Some(&c), Some("k1"), 601_000, true),
        ];
        for (name, cached, kid, now, want) in cases {
            assert_eq!(should_fetch(cached, kid, now), want, "{name}");
        }
    }
}
