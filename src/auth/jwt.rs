//! Verifying a JWT from a trusted issuer (RFC 7519, RFC 7515, RFC 8725): the subject token of a
//! token exchange. Only RS256 and ES256; the key comes from the issuer's JWKS, and the
//! algorithm must fit the key: never `none`, never HMAC, never an algorithm the token chooses
//! for a key of another type.

use super::crypto::{Crypto, PublicKey, SigAlg};
use super::jwks::Jwk;
use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD as B64URL};
use serde::Deserialize;
use serde_json::Value;

/// Longest JWT accepted: refused before any parsing.
pub const MAX_JWT: usize = 8 * 1024;
/// Clock skew allowed for `exp` and `nbf`.
pub const SKEW_S: u64 = 60;
/// Latest `exp` accepted: 9999-12-31T23:59:59Z, the last second a four-digit year (RFC 3339)
/// can write. A fixed bound, not one relative to the clock: a subject token's `exp` only caps
/// the new token's lifetime (which its client's `token_ttl` bounds anyway), so any date is
/// harmless, but a number past all dates is a broken or hostile token. In milliseconds it stays
/// below 2^53, so it is exact as a JavaScript number and `exp * 1000` cannot wrap.
pub const MAX_EXP: u64 = 253_402_300_799;

/// Why a JWT is refused (every one of them is `invalid_grant` to the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    Malformed(&'static str),
    /// `alg` is not RS256 or ES256.
    Algorithm,
    /// No key of the issuer fits the token (unknown `kid`, or no key for the algorithm).
    NoKey,
    BadSignature,
    WrongIssuer,
    Expired,
    NotYetValid,
    WrongAudience,
    /// The platform could not verify (an unusable key).
    Crypto(String),
}

/// A JWT split and decoded, before its signature is checked.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub alg: SigAlg,
    pub kid: Option<String>,
    pub claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// `crit` names extensions we would have to understand (RFC 7515 §4.1.11): we understand none,
    /// so a `crit` of any value, `null` included, is `Some` and refused.
    #[serde(default, deserialize_with = "present")]
    crit: Option<Value>,
}

/// A member that is there, whatever its value (`Option<Value>` alone reads `null` as absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// JSON bytes into a type; a repeated header parameter or claim is refused (RFC 7515 §4).
fn json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    crate::json::decode(std::str::from_utf8(bytes).ok()?).ok()
}

fn b64(part: &str) -> Result<Vec<u8>, JwtError> {
    B64URL.decode(part).map_err(|_| JwtError::Malformed("a part is not base64url"))
}

pub fn parse(token: &str) -> Result<Parsed, JwtError> {
    if token.len() > MAX_JWT {
        return Err(JwtError::Malformed("too long"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwtError::Malformed("not three parts"));
    };
    let header: Header = json(&b64(h)?).ok_or(JwtError::Malformed("header"))?;
    let alg = match header.alg.as_str() {
        "RS256" => SigAlg::Rs256,
        "ES256" => SigAlg::Es256,
        _ => return Err(JwtError::Algorithm),
    };
    if header.crit.is_some() {
        return Err(JwtError::Malformed("crit"));
    }
    let claims: Value = json(&b64(p)?).ok_or(JwtError::Malformed("claims"))?;
    if !claims.is_object() {
        return Err(JwtError::Malformed("claims"));
    }
    Ok(Parsed { alg, kid: header.kid, claims, signing_input: format!("{h}.{p}"), signature: b64(s)? })
}

/// The key to check `token` with: the one named by `kid`, or with no `kid` the only key that
/// fits. The key decides: its type must fit the token's algorithm, and if it names an `alg`,
/// that must be the token's.
pub fn select<'a>(token: &Parsed, keys: &'a [Jwk]) -> Option<&'a PublicKey> {
    let fits = |k: &&Jwk| token.alg.fits(&k.key) && k.alg.as_deref().is_none_or(|a| a == alg_name(token.alg));
    match &token.kid {
        Some(kid) => keys.iter().filter(|k| k.kid.as_deref() == Some(kid)).find(fits).map(|k| &k.key),
        None => {
            let mut candidates = keys.iter().filter(fits);
            match (candidates.next(), candidates.next()) {
                (Some(only), None) => Some(&only.key),
                _ => None,
            }
        }
    }
}

fn alg_name(alg: SigAlg) -> &'static str {
    match alg {
        SigAlg::Rs256 => "RS256",
        SigAlg::Es256 => "ES256",
    }
}

pub async fn verify_signature<C: Crypto>(crypto: &C, token: &Parsed, key: &PublicKey) -> Result<(), JwtError> {
    match crypto.verify(token.alg, key, token.signing_input.as_bytes(), &token.signature).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(JwtError::BadSignature),
        Err(e) => Err(JwtError::Crypto(e.0)),
    }
}

/// What a verified subject token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub sub: String,
    /// `exp`, in seconds.
    pub exp: u64,
}

/// RFC 7519 §4.1: `iss` must be the issuer's, `exp` in the future (and no later than
/// [`MAX_EXP`]) and `nbf` (if any) in the past (each with [`SKEW_S`] of slack), `aud` must name
/// `audience` (RFC 8725 §3.9: every trusted issuer has one), and `sub` must be there.
pub fn check_claims(claims: &Value, issuer: &str, audience: &str, now_s: u64) -> Result<Subject, JwtError> {
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(JwtError::WrongIssuer);
    }
    // NumericDate (RFC 7519 §2): seconds, maybe fractional, maybe negative. Read as f64; `as`
    // drops the fraction and saturates (a negative date is 0, long past; 1e300 is u64::MAX).
    let number = |name: &str| claims.get(name).and_then(Value::as_f64).map(|n| n as u64);
    let exp = number("exp").ok_or(JwtError::Malformed("exp is required"))?;
    if exp > MAX_EXP {
        return Err(JwtError::Malformed("exp is out of range"));
    }
    if now_s >= exp.saturating_add(SKEW_S) {
        return Err(JwtError::Expired);
    }
    if claims.get("nbf").is_some() {
        let nbf = number("nbf").ok_or(JwtError::Malformed("nbf"))?;
        if now_s.saturating_add(SKEW_S) < nbf {
            return Err(JwtError::NotYetValid);
        }
    }
    let ok = match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !ok {
        return Err(JwtError::WrongAudience);
    }
    let sub = claims.get("sub").and_then(Value::as_str).filter(|s| !s.is_empty() && s.len() <= 255);
    let sub = sub.ok_or(JwtError::Malformed("sub is required"))?;
    Ok(Subject { sub: sub.to_string(), exp })
}

#[cfg(test)]
mod tests;
