//! What an operator sets on a client, and the admin API's JSON rules for it: every field is
//! checked, and an invalid one is a `400` naming it.

use super::redirect::{check_registrable, MAX_REDIRECT_URIS};
use crate::error::OAuthError;
use crate::scope::{is_scope_token, MAX_SCOPES};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const DEFAULT_TOKEN_TTL: u32 = 300;
pub const DEFAULT_MAX_LIFETIME: u32 = 86_400;
/// Upper bounds that keep arithmetic and storage sane: 30 days of ttl, a year of lifetime.
pub const MAX_TOKEN_TTL: u64 = 30 * 86_400;
pub const MAX_MAX_LIFETIME: u64 = 365 * 86_400;
pub const MAX_GRACE: u64 = 30 * 86_400;
pub const MAX_RATE_LIMIT: u64 = 1_000_000;
pub const MAX_NAME_LEN: usize = 200;
pub const DEFAULT_REFRESH_TOKEN_TTL: u32 = 2_592_000;
pub const MAX_REFRESH_TOKEN_TTL: u64 = 31_536_000;

/// RFC 6749 §2.1: a confidential client can keep a secret; a public one (a browser app, a
/// native app, a device) cannot, and authenticates by `client_id` alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientType {
    #[default]
    Confidential,
    Public,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "confidential",
            ClientType::Public => "public",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expiry {
    /// Seed 003: the token expires `token_ttl` after its most recent use.
    Sliding,
    /// RFC 6749's reading: `token_ttl` after issue.
    Fixed,
}

impl Expiry {
    pub fn as_str(self) -> &'static str {
        match self {
            Expiry::Sliding => "sliding",
            Expiry::Fixed => "fixed",
        }
    }
}

/// The grant types a client may be allowed. An empty list makes an API-key-only client (its
/// token requests get `unauthorized_client`).
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const GRANT_TYPES: [&str; 5] = [GRANT_CLIENT_CREDENTIALS, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, GRANT_DEVICE_CODE, GRANT_TOKEN_EXCHANGE];
/// What a public client may use: grants that act for a person, never for the client itself.
pub const PUBLIC_GRANT_TYPES: [&str; 3] = [GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, GRANT_DEVICE_CODE];

/// What an operator sets on a client through the admin API. Fields added later default when
/// an older record is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub name: String,
    /// Fixed at creation.
    pub client_type: ClientType,
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
    pub token_ttl: u32,
    pub max_lifetime: u32,
    pub expiry: Expiry,
    pub ip_binding: bool,
    pub api_key: bool,
    pub introspect: bool,
    /// Requests per minute on `/validate`; `None` is unlimited.
    pub rate_limit: Option<u32>,
    pub disabled: bool,
    /// Matched exactly (loopback http on any port); see [`super::redirect`].
    pub redirect_uris: Vec<String>,
    /// Seconds a refresh-token family lives after the authorization (absolute).
    pub refresh_token_ttl: u32,
    /// A first-party client: the consent page is not shown.
    pub skip_consent: bool,
}

impl Settings {
    pub fn allows(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            name: String::new(),
            scopes: Vec::new(),
            grant_types: vec![GRANT_CLIENT_CREDENTIALS.to_string()],
            token_ttl: DEFAULT_TOKEN_TTL,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            expiry: Expiry::Sliding,
            ip_binding: true,
            api_key: false,
            introspect: false,
            rate_limit: None,
            disabled: false,
            client_type: ClientType::Confidential,
            redirect_uris: Vec::new(),
            refresh_token_ttl: DEFAULT_REFRESH_TOKEN_TTL,
            skip_consent: false,
        }
    }
}

/// Parse a JSON body that must be an object; an empty body is an empty object when allowed.
pub fn json_object(body: &[u8], empty_ok: bool) -> Result<Map<String, Value>, OAuthError> {
    if empty_ok && body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    // As text: the one JSON parser in the wasm reads `&str` (see `json::from_json`).
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(OAuthError::field("body", "invalid JSON: not UTF-8"));
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(OAuthError::field("body", "the body must be a JSON object")),
        Err(e) => Err(OAuthError::field("body", format!("invalid JSON: {e}"))),
    }
}

/// `POST /admin/clients`: every field optional but `name`.
pub fn settings_for_create(body: &[u8]) -> Result<Settings, OAuthError> {
    let obj = json_object(body, false)?;
    if !obj.contains_key("name") {
        return Err(OAuthError::field("name", "name is required"));
    }
    let mut s = Settings::default();
    if let Some(v) = obj.get("client_type") {
        s.client_type = client_type(v)?;
    }
    apply_fields(s, &obj, false)
}

/// `PATCH /admin/clients/{id}`: any settings, plus `disabled`. Also says whether the body
/// set `disabled` at all, since the gates must then be told even if KV (possibly stale)
/// already shows that value.
pub fn settings_for_patch(current: &Settings, body: &[u8]) -> Result<(Settings, bool), OAuthError> {
    let obj = json_object(body, false)?;
    Ok((apply_fields(current.clone(), &obj, true)?, obj.contains_key("disabled")))
}

/// `POST /admin/clients/{id}/secret`: `{"grace": N}`, the body optional.
pub fn grace_for_rotation(body: &[u8]) -> Result<u64, OAuthError> {
    let obj = json_object(body, true)?;
    if let Some(k) = obj.keys().find(|k| *k != "grace") {
        return Err(OAuthError::field(k, format!("unknown field {}", shorten(k))));
    }
    match obj.get("grace") {
        None => Ok(0),
        Some(v) => int_in(v, "grace", 0, MAX_GRACE),
    }
}

fn apply_fields(mut s: Settings, obj: &Map<String, Value>, allow_disabled: bool) -> Result<Settings, OAuthError> {
    for (key, v) in obj {
        match key.as_str() {
            "name" => s.name = name(v)?,
            "scopes" => s.scopes = scopes(v)?,
            "grant_types" => s.grant_types = grant_types(v)?,
            "token_ttl" => s.token_ttl = int_in(v, "token_ttl", 1, MAX_TOKEN_TTL)? as u32,
            "max_lifetime" => s.max_lifetime = int_in(v, "max_lifetime", 1, MAX_MAX_LIFETIME)? as u32,
            "expiry" => {
                s.expiry = match v.as_str() {
                    Some("sliding") => Expiry::Sliding,
                    Some("fixed") => Expiry::Fixed,
                    _ => return Err(OAuthError::field("expiry", "expiry must be \"sliding\" or \"fixed\"")),
                }
            }
            "ip_binding" => s.ip_binding = boolean(v, "ip_binding")?,
            "api_key" => s.api_key = boolean(v, "api_key")?,
            "introspect" => s.introspect = boolean(v, "introspect")?,
            "rate_limit" => {
                s.rate_limit = match v {
                    Value::Null => None,
                    v => Some(int_in(v, "rate_limit", 1, MAX_RATE_LIMIT)? as u32),
                }
            }
            "disabled" if allow_disabled => s.disabled = boolean(v, "disabled")?,
            // Set by `settings_for_create`; a PATCH may repeat it but not change it.
            "client_type" if client_type(v)? == s.client_type => {}
            "client_type" => return Err(OAuthError::field("client_type", "client_type is fixed when the client is created")),
            "redirect_uris" => s.redirect_uris = redirect_uris(v)?,
            "refresh_token_ttl" => s.refresh_token_ttl = int_in(v, "refresh_token_ttl", 1, MAX_REFRESH_TOKEN_TTL)? as u32,
            "skip_consent" => s.skip_consent = boolean(v, "skip_consent")?,
            other => return Err(OAuthError::field(other, format!("unknown field {}", shorten(other)))),
        }
    }
    if s.max_lifetime < s.token_ttl {
        return Err(OAuthError::field("max_lifetime", "max_lifetime must be at least token_ttl"));
    }
    if s.client_type == ClientType::Public {
        if let Some(g) = s.grant_types.iter().find(|g| !PUBLIC_GRANT_TYPES.contains(&g.as_str())) {
            return Err(OAuthError::field(
                "grant_types",
                format!("a public client has no secret, so it cannot use {g}; give grant_types from authorization_code, refresh_token and the device grant"),
            ));
        }
    }
    if s.allows(GRANT_AUTHORIZATION_CODE) && s.redirect_uris.is_empty() {
        return Err(OAuthError::field("redirect_uris", "the authorization_code grant needs at least one redirect URI"));
    }
    Ok(s)
}

fn client_type(v: &Value) -> Result<ClientType, OAuthError> {
    match v.as_str() {
        Some("confidential") => Ok(ClientType::Confidential),
        Some("public") => Ok(ClientType::Public),
        _ => Err(OAuthError::field("client_type", "client_type must be \"confidential\" or \"public\"")),
    }
}

fn redirect_uris(v: &Value) -> Result<Vec<String>, OAuthError> {
    let err = |d: String| OAuthError::field("redirect_uris", d);
    let arr = v.as_array().ok_or_else(|| err("redirect_uris must be an array of strings".into()))?;
    if arr.len() > MAX_REDIRECT_URIS {
        return Err(err(format!("at most {MAX_REDIRECT_URIS} redirect URIs")));
    }
    let mut out: Vec<String> = Vec::with_capacity(arr.len());
    for item in arr {
        let uri = item.as_str().ok_or_else(|| err("redirect_uris must be an array of strings".into()))?;
        check_registrable(uri).map_err(|why| err(format!("{why}: {}", shorten(uri))))?;
        if !out.iter().any(|x| x == uri) {
            out.push(uri.to_string());
        }
    }
    Ok(out)
}

fn shorten(s: &str) -> String {
    let short: String = s.chars().filter(|c| !c.is_control()).take(40).collect();
    format!("\"{short}\"")
}

fn name(v: &Value) -> Result<String, OAuthError> {
    let err = || OAuthError::field("name", format!("name must be a non-empty string of at most {MAX_NAME_LEN} characters"));
    let s = v.as_str().ok_or_else(err)?.trim();
    if s.is_empty() || s.chars().count() > MAX_NAME_LEN || s.chars().any(char::is_control) {
        return Err(err());
    }
    Ok(s.to_string())
}

fn scopes(v: &Value) -> Result<Vec<String>, OAuthError> {
    let err = |d: String| OAuthError::field("scopes", d);
    let arr = v.as_array().ok_or_else(|| err("scopes must be an array of strings".into()))?;
    if arr.len() > MAX_SCOPES {
        return Err(err(format!("at most {MAX_SCOPES} scopes")));
    }
    let mut out: Vec<String> = Vec::with_capacity(arr.len());
    for item in arr {
        let s = item.as_str().ok_or_else(|| err("scopes must be an array of strings".into()))?;
        if !is_scope_token(s) {
            return Err(err("each scope must be 1-128 printable ASCII characters without spaces, '\"' or '\\' (RFC 6749 §3.3)".into()));
        }
        if !out.iter().any(|x| x == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

fn grant_types(v: &Value) -> Result<Vec<String>, OAuthError> {
    let err = || OAuthError::field("grant_types", format!("grant_types must be an array of: {}", GRANT_TYPES.join(", ")));
    let arr = v.as_array().ok_or_else(err)?;
    let mut out: Vec<String> = Vec::new();
    for item in arr {
        match item.as_str() {
            Some(g) if GRANT_TYPES.contains(&g) => {
                if !out.iter().any(|x| x == g) {
                    out.push(g.to_string())
                }
            }
            _ => return Err(err()),
        }
    }
    Ok(out)
}

fn boolean(v: &Value, field: &str) -> Result<bool, OAuthError> {
    v.as_bool().ok_or_else(|| OAuthError::field(field, format!("{field} must be true or false")))
}

fn int_in(v: &Value, field: &str, min: u64, max: u64) -> Result<u64, OAuthError> {
    match v.as_u64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(OAuthError::field(field, format!("{field} must be an integer from {min} to {max}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_defaults() {
        let s = settings_for_create(br#"{"name":"svc"}"#).unwrap();
        assert_eq!(s.token_ttl, 300);
        assert_eq!(s.max_lifetime, 86_400);
        assert_eq!(s.expiry, Expiry::Sliding);
        assert!(s.ip_binding && !s.api_key && !s.introspect && !s.disabled);
        assert_eq!(s.grant_types, vec!["client_credentials"]);
    }

    #[test]
    fn create_full_and_errors_name_the_field() {
        let s = settings_for_create(
            br#"{"name":" a ","scopes":["read","write","read"],"token_ttl":5,"max_lifetime":60,
                "expiry":"fixed","ip_binding":false,"api_key":true,"introspect":true,"rate_limit":100}"#,
        )
        .unwrap();
        assert_eq!((s.name.as_str(), s.scopes.len(), s.token_ttl, s.expiry), ("a", 2, 5, Expiry::Fixed));
        let cases: &[(&[u8], &str)] = &[
            (b"{", "body"),
            (b"[]", "body"),
            (b"{}", "name"),
            (br#"{"name":""}"#, "name"),
            (br#"{"name":5}"#, "name"),
            (br#"{"name":"a","token_ttl":"300"}"#, "token_ttl"),
            (br#"{"name":"a","token_ttl":0}"#, "token_ttl"),
            (br#"{"name":"a","token_ttl":1e30}"#, "token_ttl"),
            (br#"{"name":"a","token_ttl":99999999999999999999999}"#, "token_ttl"),
            (br#"{"name":"a","token_ttl":-1}"#, "token_ttl"),
            (br#"{"name":"a","token_ttl":1.5}"#, "token_ttl"),
            (br#"{"name":"a","token_ttl":600,"max_lifetime":60}"#, "max_lifetime"),
            (br#"{"name":"a","expiry":"forever"}"#, "expiry"),
            (br#"{"name":"a","scopes":"read"}"#, "scopes"),
            (br#"{"name":"a","scopes":["a b"]}"#, "scopes"),
            (br#"{"name":"a","ip_binding":"yes"}"#, "ip_binding"),
            (br#"{"name":"a","colour":"red"}"#, "colour"),
            (br#"{"name":"a","disabled":true}"#, "disabled"),
            (br#"{"name":"a","grant_types":["password"]}"#, "grant_types"),
            (br#"{"name":"a","rate_limit":0}"#, "rate_limit"),
            (br#"{"name":"a","client_type":"secret"}"#, "client_type"),
            (br#"{"name":"a","client_type":"public"}"#, "grant_types"),
            (
                br#"{"name":"a","client_type":"public","grant_types":["authorization_code","client_credentials"],"redirect_uris":["https://a.example/cb"]}"#,
                "grant_types",
            ),
            (br#"{"name":"a","client_type":"public","grant_types":["urn:ietf:params:oauth:grant-type:token-exchange"]}"#, "grant_types"),
            (br#"{"name":"a","grant_types":["authorization_code"]}"#, "redirect_uris"),
            (br#"{"name":"a","grant_types":["authorization_code"],"redirect_uris":[]}"#, "redirect_uris"),
            (br#"{"name":"a","redirect_uris":["javascript:alert(1)"]}"#, "redirect_uris"),
            (br#"{"name":"a","redirect_uris":"https://a.example/cb"}"#, "redirect_uris"),
            (br#"{"name":"a","redirect_uris":[1]}"#, "redirect_uris"),
            (br#"{"name":"a","refresh_token_ttl":0}"#, "refresh_token_ttl"),
            (br#"{"name":"a","refresh_token_ttl":31536001}"#, "refresh_token_ttl"),
            (br#"{"name":"a","skip_consent":"yes"}"#, "skip_consent"),
        ];
        for (body, field) in cases {
            let e = settings_for_create(body).unwrap_err();
            match e {
                OAuthError::InvalidField { field: f, .. } => {
                    assert_eq!(&f, field, "{}", String::from_utf8_lossy(body))
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn person_side_settings() {
        let s = settings_for_create(
            br#"{"name":"spa","client_type":"public","grant_types":["authorization_code","refresh_token","authorization_code"],
                "redirect_uris":["https://app.example/cb","http://127.0.0.1/cb","https://app.example/cb"],"refresh_token_ttl":60,"skip_consent":true}"#,
        )
        .unwrap();
        assert_eq!(s.client_type, ClientType::Public);
        assert_eq!(s.grant_types, vec!["authorization_code", "refresh_token"]);
        assert_eq!(s.redirect_uris, vec!["https://app.example/cb", "http://127.0.0.1/cb"]);
        assert_eq!((s.refresh_token_ttl, s.skip_consent), (60, true));
        assert!(s.allows(GRANT_REFRESH_TOKEN) && !s.allows(GRANT_CLIENT_CREDENTIALS));
        let d = settings_for_create(br#"{"name":"x"}"#).unwrap();
        assert_eq!((d.client_type, d.refresh_token_ttl, d.skip_consent), (ClientType::Confidential, 2_592_000, false));
        assert!(d.redirect_uris.is_empty());
        // Every grant type is accepted by a confidential client.
        let all = format!(r#"{{"name":"x","grant_types":{},"redirect_uris":["https://a.example/cb"]}}"#, serde_json::to_string(&GRANT_TYPES).unwrap());
        assert_eq!(settings_for_create(all.as_bytes()).unwrap().grant_types.len(), 5);
    }

    #[test]
    fn client_type_is_fixed() {
        let public = settings_for_create(br#"{"name":"p","client_type":"public","grant_types":["urn:ietf:params:oauth:grant-type:device_code"]}"#).unwrap();
        let e = settings_for_patch(&public, br#"{"client_type":"confidential"}"#).unwrap_err();
        assert!(matches!(e, OAuthError::InvalidField { ref field, .. } if field == "client_type"), "{e:?}");
        assert!(settings_for_patch(&public, br#"{"client_type":"public","name":"q"}"#).is_ok(), "repeating it is fine");
        // A PATCH cannot sneak a public client into client_credentials, nor drop redirect URIs
        // that authorization_code needs.
        let e = settings_for_patch(&public, br#"{"grant_types":["client_credentials"]}"#).unwrap_err();
        assert!(matches!(e, OAuthError::InvalidField { ref field, .. } if field == "grant_types"));
        let web = settings_for_create(br#"{"name":"w","grant_types":["authorization_code"],"redirect_uris":["https://a.example/cb"]}"#).unwrap();
        let e = settings_for_patch(&web, br#"{"redirect_uris":[]}"#).unwrap_err();
        assert!(matches!(e, OAuthError::InvalidField { ref field, .. } if field == "redirect_uris"));
    }

    #[test]
    fn older_records_read_with_defaults() {
        let old = r#"{"name":"svc","scopes":[],"grant_types":["client_credentials"],"token_ttl":300,"max_lifetime":86400,
            "expiry":"sliding","ip_binding":true,"api_key":false,"introspect":false,"rate_limit":null,"disabled":false}"#;
        let s: Settings = serde_json::from_str(old).unwrap();
        assert_eq!(s.client_type, ClientType::Confidential);
        assert_eq!(s.refresh_token_ttl, DEFAULT_REFRESH_TOKEN_TTL);
    }

    #[test]
    fn patch_keeps_other_fields() {
        let base = settings_for_create(br#"{"name":"a","scopes":["x"]}"#).unwrap();
        let (p, touched) = settings_for_patch(&base, br#"{"disabled":true,"rate_limit":null}"#).unwrap();
        assert!(p.disabled && touched);
        assert!(!settings_for_patch(&base, br#"{"name":"b"}"#).unwrap().1);
        assert_eq!(p.scopes, vec!["x"]);
        assert!(settings_for_patch(&base, br#"{"client_id":"x"}"#).is_err());
    }

    #[test]
    fn grace_body() {
        assert_eq!(grace_for_rotation(b"").unwrap(), 0);
        assert_eq!(grace_for_rotation(br#"{"grace":60}"#).unwrap(), 60);
        assert!(grace_for_rotation(br#"{"grace":-1}"#).is_err());
        assert!(grace_for_rotation(br#"{"grace":60,"x":1}"#).is_err());
    }
}
