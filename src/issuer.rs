//! Trusted issuers (`/admin/issuers`): external identity providers whose JWTs a token exchange
//! accepts as subject tokens. Kept in KV (`issuer:{issuer_id}`), read-mostly, and cached per
//! isolate: a deleted issuer may be trusted for a few more seconds at other locations (KV's
//! propagation and the isolate cache), never longer.

use crate::client::settings::json_object;
use crate::error::{OAuthError, StoreError};
use crate::store::Kv;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const PREFIX: &str = "issuer:";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer {
    pub issuer_id: String,
    /// The exact `iss` of its tokens.
    pub issuer: String,
    pub jwks_uri: String,
    /// Tokens must name it in `aud` (RFC 8725 §3.9). Required since issue 21; a record stored
    /// before then has none, and its tokens are refused (see `grants::exchange`).
    #[serde(default)]
    pub audience: Option<String>,
    pub created_at: u64,
}

impl Issuer {
    pub fn view(&self) -> Value {
        json!({
            "issuer_id": self.issuer_id,
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "audience": self.audience,
            "created_at": self.created_at,
        })
    }
}

/// `https://host/...`, or `http` on loopback (local development).
pub fn web_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("https://") {
        r
    } else if let Some(r) = lower.strip_prefix("http://") {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        let host = if host.starts_with('[') { host.split_inclusive(']').next().unwrap_or("") } else { host.split(':').next().unwrap_or("") };
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return false;
        }
        r
    } else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    !authority.is_empty() && !authority.contains('@') && s.len() <= 2000 && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `POST /admin/issuers`: `{"issuer", "jwks_uri", "audience"}`. The audience is required (RFC
/// 8725 §3.9): without it, any JWT of the issuer, an ID token meant for another app included,
/// would pass.
pub fn parse_new(body: &[u8], issuer_id: String, now_ms: u64) -> Result<Issuer, OAuthError> {
    let obj = json_object(body, false)?;
    if let Some(k) = obj.keys().find(|k| !["issuer", "jwks_uri", "audience"].contains(&k.as_str())) {
        return Err(OAuthError::field(k, "unknown field"));
    }
    let url = |name: &str| -> Result<String, OAuthError> {
        match obj.get(name).and_then(Value::as_str) {
            Some(u) if web_url(u) => Ok(u.to_string()),
            _ => Err(OAuthError::field(name, format!("{name} must be an https URL (http only on loopback, for local development)"))),
        }
    };
    let issuer = url("issuer")?;
    let jwks_uri = url("jwks_uri")?;
    let audience = match obj.get("audience") {
        Some(Value::String(a)) if !a.is_empty() && a.len() <= 2000 => Some(a.clone()),
        _ => return Err(OAuthError::field("audience", "audience is required: the value the issuer's tokens carry in aud for this server")),
    };
    Ok(Issuer { issuer_id, issuer, jwks_uri, audience, created_at: now_ms })
}

pub async fn put<K: Kv>(kv: &K, i: &Issuer) -> Result<(), StoreError> {
    kv.put(&format!("{PREFIX}{}", i.issuer_id), &serde_json::to_string(i).unwrap_or_default()).await
}

pub async fn get<K: Kv>(kv: &K, id: &str) -> Result<Option<Issuer>, StoreError> {
    match kv.get(&format!("{PREFIX}{id}")).await? {
        Some(t) => serde_json::from_str(&t).map(Some).map_err(|e| StoreError(format!("corrupt issuer record: {e}"))),
        None => Ok(None),
    }
}

pub async fn delete<K: Kv>(kv: &K, id: &str) -> Result<(), StoreError> {
    kv.delete(&format!("{PREFIX}{id}")).await
}

/// Every trusted issuer, oldest first.
pub async fn list<K: Kv>(kv: &K) -> Result<Vec<Issuer>, StoreError> {
    let mut all = Vec::new();
    for key in kv.list(PREFIX).await? {
        if let Some(i) = get(kv, key.trim_start_matches(PREFIX)).await? {
            all.push(i);
        }
    }
    Ok(crate::store::oldest_first(all, |i| (i.created_at, &i.issuer_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for ok in ["https://idp.example", "https://idp.example/tenant/x", "http://127.0.0.1:9000/jwks.json", "http://localhost/k", "http://[::1]:1/k"] {
            assert!(web_url(ok), "{ok}");
        }
        for bad in ["http://idp.example/jwks", "ftp://x", "https://", "https://a@evil.example/", "javascript:x", "https://a b", "idp.example"] {
            assert!(!web_url(bad), "{bad}");
        }
    }

    #[test]
    fn creation_rules() {
        let i = parse_new(br#"{"issuer":"https://idp.example","jwks_uri":"https://idp.example/jwks","audience":"edge"}"#, "id".into(), 5).unwrap();
        assert_eq!((i.issuer.as_str(), i.audience.as_deref(), i.created_at), ("https://idp.example", Some("edge"), 5));
        for (body, field) in [
            (&br#"{"jwks_uri":"https://idp.example/jwks","audience":"edge"}"#[..], "issuer"),
            (br#"{"issuer":"https://idp.example","jwks_uri":"https://idp.example/jwks"}"#, "audience"),
            (br#"{"issuer":"https://idp.example","jwks_uri":"https://idp.example/jwks","audience":null}"#, "audience"),
            (br#"{"issuer":"https://idp.example","jwks_uri":"https://idp.example/jwks","audience":""}"#, "audience"),
            (br#"{"issuer":"https://idp.example","jwks_uri":"https://idp.example/jwks","audience":["edge"]}"#, "audience"),
            (br#"{"issuer":"http://idp.example","jwks_uri":"https://idp.example/jwks"}"#, "issuer"),
            (br#"{"issuer":"https://idp.example","jwks_uri":"http://idp.example/jwks"}"#, "jwks_uri"),
            (br#"{"issuer":"https://idp.example","jwks_uri":"https://idp.example/jwks","audience":5}"#, "audience"),
            (br#"{"issuer":"https://idp.example","jwks_uri":"https://idp.example/jwks","x":1}"#, "x"),
        ] {
            match parse_new(body, "id".into(), 0).unwrap_err() {
                OAuthError::InvalidField { field: f, .. } => assert_eq!(f, field),
                e => panic!("{e:?}"),
            }
        }
    }
}
