//! What an operator sets on a client, and the admin API's JSON rules for it: every field is
//! checked, and an invalid one is a `400` naming it.

use super::redirect::{check_registrable, MAX_REDIRECT_URIS};
use crate::error::OAuthError;
use crate::resource::{self, MAX_RESOURCES};
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
    /// The protected resources its tokens may be bound to (RFC 8707); see [`crate::resource`].
    pub resources: Vec<String>,
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
            resources: Vec::new(),
        }
    }
}

/// Parse a JSON body that must be an object; an empty body is an empty object when allowed.
pub fn json_object(body: &[u8], empty_ok: bool) -> Result<Map<String, Value>, OAuthError> {
    if empty_ok && body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    // A key given twice is refused, naming it: the body has one meaning (see `crate::json`).
    crate::json::parse_object(body).map_err(|e| OAuthError::field(e.field.as_deref().unwrap_or("body"), e.to_string()))
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
            "resources" => s.resources = resources(v)?,
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
    distinct_strings(v, (0, MAX_REDIRECT_URIS), check_registrable, |a, b| a == b).map_err(|p| match p {
        ListProblem::NotStrings => err("redirect_uris must be an array of strings".into()),
        ListProblem::Count => err(format!("at most {MAX_REDIRECT_URIS} redirect URIs")),
        ListProblem::Item(uri, why) => err(format!("{why}: {}", shorten(uri))),
    })
}

fn resources(v: &Value) -> Result<Vec<String>, OAuthError> {
    let err = |d: String| OAuthError::field("resources", d);
    distinct_strings(v, (0, MAX_RESOURCES), resource::check, resource::same).map_err(|p| match p {
        ListProblem::NotStrings => err("resources must be an array of strings".into()),
        ListProblem::Count => err(format!("at most {MAX_RESOURCES} resources")),
        ListProblem::Item(uri, why) => err(format!("{why}: {}", shorten(uri))),
    })
}

/// Why a JSON list of strings was refused (each caller words it for its field and API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListProblem<'a> {
    /// Not an array, or an item that is not a string.
    NotStrings,
    /// Fewer or more items than allowed.
    Count,
    /// This item failed the check, for this reason.
    Item(&'a str, String),
}

/// A JSON array of `min..=max` strings, each passing `check`, each kept once (`same` says
/// which two are one; the first spelling stays): the one loop behind every list a client is
/// given (redirect URIs, resources, scopes, grant types), by the admin API, by registration
/// or by a metadata document. The count is checked before any item.
pub(crate) fn distinct_strings<'a>(
    v: &'a Value,
    (min, max): (usize, usize),
    check: impl Fn(&str) -> Result<(), String>,
    same: impl Fn(&str, &str) -> bool,
) -> Result<Vec<String>, ListProblem<'a>> {
    let arr = v.as_array().ok_or(ListProblem::NotStrings)?;
    if arr.len() < min || arr.len() > max {
        return Err(ListProblem::Count);
    }
    let mut out: Vec<String> = Vec::with_capacity(arr.len());
    for item in arr {
        let s = item.as_str().ok_or(ListProblem::NotStrings)?;
        check(s).map_err(|why| ListProblem::Item(s, why))?;
        if !out.iter().any(|x| same(x, s)) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

/// A value as quoted in an error description: printable, at most 40 characters.
pub(crate) fn shorten(s: &str) -> String {
    let short: String = s.chars().filter(|c| !c.is_control()).take(40).collect();
    format!("\"{short}\"")
}

fn name(v: &Value) -> Result<String, OAuthError> {
    shown_name(v).ok_or_else(|| OAuthError::field("name", format!("name must be a non-empty string of at most {MAX_NAME_LEN} characters")))
}

/// A client's name as people will see it: a string, trimmed, 1 to [`MAX_NAME_LEN`]
/// characters, no control characters (the admin API's `name`, RFC 7591's `client_name`).
pub(crate) fn shown_name(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    let ok = !s.is_empty() && s.chars().count() <= MAX_NAME_LEN && !s.chars().any(char::is_control);
    ok.then(|| s.to_string())
}

fn scopes(v: &Value) -> Result<Vec<String>, OAuthError> {
    let err = |d: String| OAuthError::field("scopes", d);
    let token = |s: &str| if is_scope_token(s) { Ok(()) } else { Err(String::new()) };
    distinct_strings(v, (0, MAX_SCOPES), token, |a, b| a == b).map_err(|p| match p {
        ListProblem::NotStrings => err("scopes must be an array of strings".into()),
        ListProblem::Count => err(format!("at most {MAX_SCOPES} scopes")),
        ListProblem::Item(..) => err("each scope must be 1-128 printable ASCII characters without spaces, '\"' or '\\' (RFC 6749 §3.3)".into()),
    })
}

fn grant_types(v: &Value) -> Result<Vec<String>, OAuthError> {
    let known = |g: &str| if GRANT_TYPES.contains(&g) { Ok(()) } else { Err(String::new()) };
    distinct_strings(v, (0, usize::MAX), known, |a, b| a == b)
        .map_err(|_| OAuthError::field("grant_types", format!("grant_types must be an array of: {}", GRANT_TYPES.join(", "))))
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
mod tests;
