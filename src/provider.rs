//! Upstream identity providers (`/admin/providers`): the OpenID Providers and OAuth 2 servers
//! people may sign in with instead of a password kept here. Kept in KV (`provider:{provider_id}`),
//! read-mostly, cached per isolate for a few seconds (like trusted issuers).
//!
//! The record holds the provider's `client_secret` **readable**: this server presents it at the
//! provider's token endpoint, so it cannot keep only a hash. It is never returned by the API
//! ([`Provider::view`] leaves it out, and its type prints `[redacted]`); whoever can read the
//! Worker's `KV` namespace (the Worker itself, and Cloudflare account members with Workers KV
//! read access, e.g. `wrangler kv key get provider:{id}`) can read it.

use crate::client::settings::json_object;
use crate::error::{OAuthError, StoreError};
use crate::issuer::web_url;
use crate::secret::ProviderSecret;
use crate::store::Kv;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};

pub const PREFIX: &str = "provider:";
/// The OIDC Discovery document's place below the issuer (OpenID Connect Discovery §4).
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
pub const MAX_NAME: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// OpenID Connect: endpoints and keys from the discovery document, the person from the ID token.
    Oidc,
    /// OAuth 2 (GitHub-style): explicit endpoints, the person from the userinfo response.
    Oauth2,
}

/// Which userinfo fields name the person (`oauth2`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimMap {
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    pub provider_id: String,
    pub name: String,
    pub kind: Kind,
    pub client_id: String,
    #[serde(serialize_with = "expose", deserialize_with = "secret")]
    pub client_secret: ProviderSecret,
    pub scopes: String,
    pub auto_create: bool,
    /// `oidc`: the configured issuer (equal to the discovery document's).
    #[serde(default)]
    pub issuer: Option<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// `oidc`: where the ID token's keys are.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// `oauth2`: which userinfo fields to use.
    #[serde(default)]
    pub claims: Option<ClaimMap>,
    /// The provider accepts only `client_secret_post` at its token endpoint (its discovery
    /// document says so); otherwise `client_secret_basic`.
    #[serde(default)]
    pub secret_post: bool,
    pub created_at: u64,
    pub updated_at: u64,
}

fn expose<S: Serializer>(s: &ProviderSecret, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.expose())
}

fn secret<'de, D: Deserializer<'de>>(de: D) -> Result<ProviderSecret, D::Error> {
    String::deserialize(de).map(ProviderSecret::new)
}

impl Provider {
    /// The admin API's view: never `client_secret`.
    pub fn view(&self) -> Value {
        let mut v = json!({
            "provider_id": self.provider_id,
            "name": self.name,
            "kind": self.kind,
            "client_id": self.client_id,
            "scopes": self.scopes,
            "auto_create": self.auto_create,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "userinfo_endpoint": self.userinfo_endpoint,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        });
        match self.kind {
            Kind::Oidc => {
                v["issuer"] = json!(self.issuer);
                v["jwks_uri"] = json!(self.jwks_uri);
            }
            Kind::Oauth2 => v["claims"] = json!(self.claims),
        }
        v
    }

    /// What an operator gave (the secret included): a PATCH is this with the changes applied,
    /// checked again as a whole.
    fn input(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("kind".into(), json!(self.kind));
        m.insert("client_id".into(), json!(self.client_id));
        m.insert("client_secret".into(), json!(self.client_secret.expose()));
        m.insert("scopes".into(), json!(self.scopes));
        m.insert("auto_create".into(), json!(self.auto_create));
        match self.kind {
            Kind::Oidc => {
                m.insert("issuer".into(), json!(self.issuer));
            }
            Kind::Oauth2 => {
                m.insert("authorization_endpoint".into(), json!(self.authorization_endpoint));
                m.insert("token_endpoint".into(), json!(self.token_endpoint));
                m.insert("userinfo_endpoint".into(), json!(self.userinfo_endpoint));
                m.insert("claims".into(), json!(self.claims));
            }
        }
        m
    }
}

const COMMON: [&str; 6] = ["name", "kind", "client_id", "client_secret", "scopes", "auto_create"];
const OIDC: [&str; 1] = ["issuer"];
const OAUTH2: [&str; 4] = ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "claims"];

fn text(obj: &Map<String, Value>, field: &str, max: usize) -> Result<Option<String>, OAuthError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(OAuthError::field(field, format!("{field} must be a non-empty string of at most {max} characters"))),
    }
}

fn required(obj: &Map<String, Value>, field: &str, max: usize) -> Result<String, OAuthError> {
    text(obj, field, max)?.ok_or_else(|| OAuthError::field(field, format!("{field} is required")))
}

fn url(obj: &Map<String, Value>, field: &str) -> Result<String, OAuthError> {
    match obj.get(field).and_then(Value::as_str) {
        Some(u) if web_url(u) => Ok(u.to_string()),
        _ => Err(OAuthError::field(field, format!("{field} must be an https URL (http only on loopback, for local development)"))),
    }
}

fn claim_map(v: Option<&Value>) -> Result<ClaimMap, OAuthError> {
    let bad = || OAuthError::field("claims", "claims must be an object naming the userinfo fields: {\"subject\", \"username\"?, \"name\"?}");
    let obj = v.and_then(Value::as_object).ok_or_else(bad)?;
    if obj.keys().any(|k| !["subject", "username", "name"].contains(&k.as_str())) {
        return Err(bad());
    }
    let field = |k: &str| match obj.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 100 => Ok(Some(s.clone())),
        Some(_) => Err(bad()),
    };
    Ok(ClaimMap { subject: field("subject")?.ok_or_else(bad)?, username: field("username")?, name: field("name")? })
}

/// Check a provider as a whole, from the operator's JSON object. An `oidc` provider comes back
/// with its endpoints empty: [`apply_discovery`] fills them from the issuer's document.
fn from_input(obj: &Map<String, Value>, provider_id: String, created_at: u64, now_ms: u64) -> Result<Provider, OAuthError> {
    let kind = match obj.get("kind").and_then(Value::as_str) {
        Some("oidc") => Kind::Oidc,
        Some("oauth2") => Kind::Oauth2,
        _ => return Err(OAuthError::field("kind", "kind must be \"oidc\" or \"oauth2\"")),
    };
    let allowed: &[&str] = if kind == Kind::Oidc { &OIDC } else { &OAUTH2 };
    if let Some(k) = obj.keys().find(|k| !COMMON.contains(&k.as_str()) && !allowed.contains(&k.as_str())) {
        return Err(OAuthError::field(k, format!("unknown field for a provider of kind {}", if kind == Kind::Oidc { "oidc" } else { "oauth2" })));
    }
    let name = required(obj, "name", MAX_NAME)?;
    let client_id = required(obj, "client_id", 500)?;
    let client_secret = ProviderSecret::new(required(obj, "client_secret", 1000)?);
    let default_scopes = if kind == Kind::Oidc { "openid email profile" } else { "" };
    let scopes = match obj.get("scopes") {
        None | Some(Value::Null) => default_scopes.to_string(),
        Some(Value::String(s)) if s.len() <= 1000 && s.bytes().all(|b| b == b' ' || b.is_ascii_graphic() && b != b'"' && b != b'\\') => {
            s.split(' ').filter(|x| !x.is_empty()).collect::<Vec<_>>().join(" ")
        }
        Some(_) => return Err(OAuthError::field("scopes", "scopes must be a string of space-separated scopes")),
    };
    if kind == Kind::Oidc && !scopes.split(' ').any(|s| s == "openid") {
        return Err(OAuthError::field("scopes", "an oidc provider's scopes must include openid"));
    }
    let auto_create = match obj.get("auto_create") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(OAuthError::field("auto_create", "auto_create must be true or false")),
    };
    let mut p = Provider {
        provider_id,
        name,
        kind,
        client_id,
        client_secret,
        scopes,
        auto_create,
        issuer: None,
        authorization_endpoint: String::new(),
        token_endpoint: String::new(),
        userinfo_endpoint: None,
        jwks_uri: None,
        claims: None,
        secret_post: false,
        created_at,
        updated_at: now_ms,
    };
    match kind {
        // The issuer exactly as configured (a trailing slash is part of it): only the
        // discovery URL is built without one.
        Kind::Oidc => p.issuer = Some(url(obj, "issuer")?),
        Kind::Oauth2 => {
            p.authorization_endpoint = url(obj, "authorization_endpoint")?;
            p.token_endpoint = url(obj, "token_endpoint")?;
            p.userinfo_endpoint = Some(url(obj, "userinfo_endpoint")?);
            p.claims = Some(claim_map(obj.get("claims"))?);
        }
    }
    Ok(p)
}

/// `POST /admin/providers`.
pub fn parse_new(body: &[u8], provider_id: String, now_ms: u64) -> Result<Provider, OAuthError> {
    from_input(&json_object(body, false)?, provider_id, now_ms, now_ms)
}

/// `PATCH /admin/providers/{id}`: the stored provider with these fields changed, checked again
/// as a whole (`kind` cannot change; `null` clears an optional field).
pub fn parse_patch(old: &Provider, body: &[u8], now_ms: u64) -> Result<Provider, OAuthError> {
    let patch = json_object(body, false)?;
    if patch.get("kind").is_some_and(|k| k != &json!(old.kind)) {
        return Err(OAuthError::field("kind", "kind cannot be changed"));
    }
    if let Some(k) = ["provider_id", "created_at", "updated_at"].iter().find(|k| patch.contains_key(**k)) {
        return Err(OAuthError::field(k, format!("{k} cannot be changed")));
    }
    let mut merged = old.input();
    merged.extend(patch);
    let mut p = from_input(&merged, old.provider_id.clone(), old.created_at, now_ms)?;
    if p.kind == Kind::Oidc && p.issuer == old.issuer {
        p.authorization_endpoint.clone_from(&old.authorization_endpoint);
        p.token_endpoint.clone_from(&old.token_endpoint);
        p.userinfo_endpoint.clone_from(&old.userinfo_endpoint);
        p.jwks_uri.clone_from(&old.jwks_uri);
        p.secret_post = old.secret_post;
    }
    Ok(p)
}

/// The claim object of the pair (provider, subject) (class `UserObject`): one object per pair
/// makes "one person per identity" a compare-and-set ([`crate::shard::names`]'s operations),
/// so two first sign-ins at once cannot create two people.
pub fn link_object(provider_id: &str, subject: &str) -> String {
    format!("idp:{provider_id}:{subject}")
}

/// Where a provider's ID-token keys are cached in the isolate (apart from trusted issuers').
pub fn jwks_key(provider_id: &str) -> String {
    format!("provider:{provider_id}")
}

/// Where an `oidc` issuer's discovery document is.
pub fn discovery_url(issuer: &str) -> String {
    format!("{}{DISCOVERY_PATH}", issuer.trim_end_matches('/'))
}

/// Fill an `oidc` provider's endpoints from its issuer's discovery document. The document's
/// `issuer` must equal the configured one exactly (OpenID Connect Discovery §4.3); every
/// endpoint must be a web URL. `Err` says what is wrong, for the `issuer` field.
pub fn apply_discovery(p: &mut Provider, document: &[u8]) -> Result<(), String> {
    let doc = std::str::from_utf8(document).ok().and_then(|t| crate::json::parse(t).ok()).filter(Value::is_object);
    let doc = doc.ok_or("the issuer's discovery document is not a JSON object")?;
    let issuer = p.issuer.as_deref().unwrap_or_default();
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(format!("the discovery document's issuer is not {issuer}"));
    }
    let endpoint = |name: &str| -> Result<String, String> {
        match doc.get(name).and_then(Value::as_str) {
            Some(u) if web_url(u) => Ok(u.to_string()),
            _ => Err(format!("the discovery document's {name} is missing or not an https URL")),
        }
    };
    p.authorization_endpoint = endpoint("authorization_endpoint")?;
    p.token_endpoint = endpoint("token_endpoint")?;
    p.jwks_uri = Some(endpoint("jwks_uri")?);
    p.userinfo_endpoint = match doc.get("userinfo_endpoint") {
        None | Some(Value::Null) => None,
        Some(_) => Some(endpoint("userinfo_endpoint")?),
    };
    // Absent, the methods default to client_secret_basic (OpenID Connect Discovery §3).
    let methods: Vec<&str> = match doc.get("token_endpoint_auth_methods_supported").and_then(Value::as_array) {
        Some(list) => list.iter().filter_map(Value::as_str).collect(),
        None => vec!["client_secret_basic"],
    };
    p.secret_post = !methods.contains(&"client_secret_basic") && methods.contains(&"client_secret_post");
    Ok(())
}

pub async fn put<K: Kv>(kv: &K, p: &Provider) -> Result<(), StoreError> {
    kv.put(&format!("{PREFIX}{}", p.provider_id), &serde_json::to_string(p).unwrap_or_default()).await
}

/// Provider ids are ours (22 base64url characters); anything else names no provider and is
/// never looked up (a KV key has a length limit).
pub fn well_formed_id(id: &str) -> bool {
    id.len() == 22 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub async fn get<K: Kv>(kv: &K, id: &str) -> Result<Option<Provider>, StoreError> {
    if !well_formed_id(id) {
        return Ok(None);
    }
    match kv.get(&format!("{PREFIX}{id}")).await? {
        Some(t) => serde_json::from_str(&t).map(Some).map_err(|e| StoreError(format!("corrupt provider record: {e}"))),
        None => Ok(None),
    }
}

pub async fn delete<K: Kv>(kv: &K, id: &str) -> Result<(), StoreError> {
    kv.delete(&format!("{PREFIX}{id}")).await
}

/// Every provider, oldest first.
pub async fn list<K: Kv>(kv: &K) -> Result<Vec<Provider>, StoreError> {
    let mut all = Vec::new();
    for key in kv.list(PREFIX).await? {
        if let Some(p) = get(kv, key.trim_start_matches(PREFIX)).await? {
            all.push(p);
        }
    }
    Ok(crate::store::oldest_first(all, |p| (p.created_at, &p.provider_id)))
}

#[cfg(test)]
mod tests;
