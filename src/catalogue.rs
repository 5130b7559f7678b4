//! The APIs catalogue (`/admin/apis`): what an operator offers, and what a project picks from
//! (seeds 002 and 003: "API keys … give access to one or more APIs"). An API names the scopes
//! a project's key gets and, optionally, the resource (RFC 8707) its tokens may be bound to.
//!
//! Storage: the authoritative record lives in the API's own Durable Object `api:{api_id}`
//! (class `UserObject`, see [`crate::shard::apis`]), together with the index of the projects
//! that use it, so that "delete unless in use" and "attach unless deleted" are one
//! compare-and-set each. A copy of each view sits in KV `CLIENTS` under `api:{api_id}` for
//! listing (eventually consistent, like the users' copies). Bound: [`MAX_APIS`] per worker.

use crate::client::settings::{json_object, shown_name};
use crate::error::{OAuthError, StoreError};
use crate::scope::is_scope_token;
use crate::store::Kv;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

const PREFIX: &str = "api:";
/// Most APIs in the catalogue.
pub const MAX_APIS: usize = 100;
/// Scopes per API: 1 to this many.
pub const MAX_API_SCOPES: usize = 20;
pub const MAX_DESCRIPTION: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Api {
    pub api_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub resource: Option<String>,
    /// Milliseconds; shown in seconds.
    pub created_at: u64,
}

impl Api {
    /// The view of the admin API and the Account API (times in unix seconds).
    pub fn view(&self) -> Value {
        json!({
            "api_id": self.api_id,
            "name": self.name,
            "description": self.description,
            "scopes": self.scopes,
            "resource": self.resource,
            "created_at": self.created_at / 1000,
        })
    }
}

/// The object that holds an API and the index of the projects using it.
pub fn object_name(api_id: &str) -> String {
    format!("api:{api_id}")
}

/// Ids are ours (22 base64url characters); anything else names no API, and no object.
pub fn is_api_id(id: &str) -> bool {
    id.len() == 22 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn name(v: &Value) -> Result<String, OAuthError> {
    shown_name(v).ok_or_else(|| OAuthError::field("name", "name must be a non-empty string of at most 200 characters"))
}

fn description(v: &Value) -> Result<String, OAuthError> {
    match v.as_str() {
        Some(d) if d.chars().count() <= MAX_DESCRIPTION && !d.chars().any(|c| c.is_control() && c != '\n') => Ok(d.trim().to_string()),
        _ => Err(OAuthError::field("description", format!("description must be a string of at most {MAX_DESCRIPTION} characters"))),
    }
}

fn scopes(v: &Value) -> Result<Vec<String>, OAuthError> {
    let err = || OAuthError::field("scopes", format!("scopes must be an array of 1 to {MAX_API_SCOPES} scope tokens (RFC 6749 §3.3)"));
    let arr = v.as_array().ok_or_else(err)?;
    if arr.is_empty() || arr.len() > MAX_API_SCOPES {
        return Err(err());
    }
    let mut out: Vec<String> = Vec::new();
    for s in arr {
        let s = s.as_str().filter(|s| is_scope_token(s)).ok_or_else(err)?;
        if !out.iter().any(|x| x == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

fn resource(v: &Value) -> Result<Option<String>, OAuthError> {
    match v {
        Value::Null => Ok(None),
        Value::String(r) => crate::resource::check(r).map(|()| Some(r.clone())).map_err(|why| OAuthError::field("resource", why)),
        _ => Err(OAuthError::field("resource", "resource must be a string")),
    }
}

fn only(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), OAuthError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(OAuthError::field(k, format!("unknown field {}", crate::client::settings::shorten(k)))),
        None => Ok(()),
    }
}

/// `POST /admin/apis`: `{"name", "description"?, "scopes", "resource"?}`.
pub fn parse_new(body: &[u8], api_id: String, now_ms: u64) -> Result<Api, OAuthError> {
    let obj = json_object(body, false)?;
    only(&obj, &["name", "description", "scopes", "resource"])?;
    let name = name(obj.get("name").ok_or_else(|| OAuthError::field("name", "name is required"))?)?;
    let scopes = scopes(obj.get("scopes").ok_or_else(|| OAuthError::field("scopes", "scopes is required"))?)?;
    let description = obj.get("description").map(description).transpose()?.unwrap_or_default();
    let resource = obj.get("resource").map(resource).transpose()?.flatten();
    Ok(Api { api_id, name, description, scopes, resource, created_at: now_ms })
}

/// `PATCH /admin/apis/{id}`: `name` and `description` only (scopes and resource are what
/// existing keys were given: fixed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

pub fn parse_patch(body: &[u8]) -> Result<ApiPatch, OAuthError> {
    let obj = json_object(body, false)?;
    for fixed in ["scopes", "resource", "api_id"] {
        if obj.contains_key(fixed) {
            return Err(OAuthError::field(fixed, format!("{fixed} cannot be changed: projects' keys were given it")));
        }
    }
    only(&obj, &["name", "description"])?;
    Ok(ApiPatch { name: obj.get("name").map(name).transpose()?, description: obj.get("description").map(description).transpose()? })
}

pub async fn put<K: Kv>(kv: &K, api: &Api) -> Result<(), StoreError> {
    kv.put(&format!("{PREFIX}{}", api.api_id), &serde_json::to_string(api).unwrap_or_default()).await
}

pub async fn delete<K: Kv>(kv: &K, api_id: &str) -> Result<(), StoreError> {
    kv.delete(&format!("{PREFIX}{api_id}")).await
}

/// The whole catalogue (from KV), oldest first.
pub async fn list<K: Kv>(kv: &K) -> Result<Vec<Api>, StoreError> {
    let mut all = Vec::new();
    for key in kv.list(PREFIX).await? {
        if let Some(text) = kv.get(&key).await? {
            all.push(serde_json::from_str::<Api>(&text).map_err(|e| StoreError(format!("corrupt api record: {e}")))?);
        }
    }
    Ok(crate::store::oldest_first(all, |a| (a.created_at, &a.api_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_rules() {
        let a = parse_new(
            br#"{"name":" Maps API ","description":"Tiles","scopes":["maps:read","maps:read","x"],"resource":"https://maps.example/"}"#,
            "id".into(),
            5_000,
        )
        .unwrap();
        assert_eq!((a.name.as_str(), a.description.as_str(), a.scopes.len(), a.resource.as_deref()), ("Maps API", "Tiles", 2, Some("https://maps.example/")));
        assert_eq!(a.view()["created_at"], 5);
        let b = parse_new(br#"{"name":"B","scopes":["b"]}"#, "id".into(), 0).unwrap();
        assert_eq!((b.description.as_str(), b.resource), ("", None));
        let c = parse_new(br#"{"name":"C","scopes":["c"],"description":"two\nlines","resource":null}"#, "id".into(), 0).unwrap();
        assert_eq!((c.description.as_str(), c.resource), ("two\nlines", None), "a newline is allowed, and a null resource is none");
        let twenty: Vec<String> = (0..MAX_API_SCOPES).map(|i| format!("s{i}")).collect();
        let twenty = format!(r#"{{"name":"x","scopes":{}}}"#, serde_json::to_string(&twenty).unwrap());
        assert_eq!(parse_new(twenty.as_bytes(), "id".into(), 0).unwrap().scopes.len(), MAX_API_SCOPES);
        let too_many: Vec<String> = (0..=MAX_API_SCOPES).map(|i| format!("s{i}")).collect();
        let too_many = format!(r#"{{"name":"x","scopes":{}}}"#, serde_json::to_string(&too_many).unwrap());
        let long = format!(r#"{{"name":"x","scopes":["a"],"description":"{}"}}"#, "d".repeat(MAX_DESCRIPTION + 1));
        let cases: &[(&[u8], &str)] = &[
            (b"[]", "body"),
            (br#"{"scopes":["a"]}"#, "name"),
            (br#"{"name":"","scopes":["a"]}"#, "name"),
            (br#"{"name":"x"}"#, "scopes"),
            (br#"{"name":"x","scopes":[]}"#, "scopes"),
            (br#"{"name":"x","scopes":["a b"]}"#, "scopes"),
            (br#"{"name":"x","scopes":[1]}"#, "scopes"),
            (too_many.as_bytes(), "scopes"),
            (long.as_bytes(), "description"),
            (br#"{"name":"x","scopes":["a"],"description":7}"#, "description"),
            (br#"{"name":"x","scopes":["a"],"description":"a\u0007b"}"#, "description"),
            (br#"{"name":"x","scopes":["a"],"resource":"http://maps.example/"}"#, "resource"),
            (br#"{"name":"x","scopes":["a"],"resource":"https://maps.example/#f"}"#, "resource"),
            (br#"{"name":"x","scopes":["a"],"resource":5}"#, "resource"),
            (br#"{"name":"x","scopes":["a"],"owner":"me"}"#, "owner"),
        ];
        for (body, field) in cases {
            assert_eq!(crate::error::field_of(parse_new(body, "id".into(), 0).unwrap_err()), *field, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn patch_rules() {
        assert_eq!(parse_patch(br#"{"name":"N","description":"D"}"#).unwrap(), ApiPatch { name: Some("N".into()), description: Some("D".into()) });
        assert_eq!(parse_patch(br#"{}"#).unwrap(), ApiPatch::default());
        for (body, field) in [(&br#"{"scopes":["a"]}"#[..], "scopes"), (br#"{"resource":null}"#, "resource"), (br#"{"name":""}"#, "name"), (br#"{"x":1}"#, "x")]
        {
            assert_eq!(crate::error::field_of(parse_patch(body).unwrap_err()), field);
        }
    }

    #[test]
    fn ids() {
        assert!(is_api_id("AAAAAAAAAAAAAAAAAAAAA_"));
        for bad in ["", "short", "AAAAAAAAAAAAAAAAAAAAA/", "AAAAAAAAAAAAAAAAAAAAAAA"] {
            assert!(!is_api_id(bad), "{bad}");
        }
    }
}
