//! The customer side of projects (seeds 002 and 003): a person's own API keys. A project is a
//! client owned by a person: its `client_id` is the Key ID, its secret the Project API Secret;
//! a confidential `client_credentials` client whose scopes are the union of its APIs' scopes
//! and whose resources are its APIs' resources, with `api_key` on unless turned off.
//!
//! - this file: the pure rules (the JSON bodies, the view, the settings a project's APIs give).
//! - [`projects`]: the operations (create, list, read, change, rotate, delete), shared by
//!   the Account API and the console.
//! - [`api`]: the Account API (`/account/...`, JSON, a person's bearer token with scope
//!   `account`).
//! - [`console`]: the console pages (`/console...`, the session of the sign-in pages) and
//!   the home page.
//! - [`signup`]: `/signup` (`SIGNUP=open`).
//!
//! This module sits above `client`, `shard`, `user` and `catalogue`; nothing below imports it.

pub mod api;
pub mod console;
pub mod projects;
pub mod signup;
pub mod webhooks;

use crate::catalogue::{is_api_id, Api};
use crate::client::settings::{json_object, shorten, Settings};
use crate::client::Client;
use crate::error::OAuthError;
use serde_json::{json, Map, Value};

/// The scope a person's token needs for the Account API.
pub const ACCOUNT_SCOPE: &str = "account";
/// A project's name: 1 to this many characters.
pub const MAX_PROJECT_NAME: usize = 100;
/// APIs per project: 1 to this many.
pub const MAX_PROJECT_APIS: usize = 10;
/// The grace periods a rotation may give the old secret: none, 1 hour, 24 hours, 7 days.
pub const GRACE_CHOICES: [u64; 4] = [0, 3_600, 86_400, 604_800];

/// `POST /account/projects`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProject {
    pub name: String,
    pub apis: Vec<String>,
    pub api_key: bool,
}

/// `PATCH /account/projects/{id}`: what to change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub apis: Option<Vec<String>>,
    pub api_key: Option<bool>,
    pub disabled: Option<bool>,
}

/// A project's name: trimmed, 1 to [`MAX_PROJECT_NAME`] characters, no control characters.
pub fn project_name(s: &str) -> Result<String, OAuthError> {
    let t = s.trim();
    let ok = !t.is_empty() && t.chars().count() <= MAX_PROJECT_NAME && !t.chars().any(char::is_control);
    ok.then(|| t.to_string()).ok_or_else(|| OAuthError::field("name", format!("name must be 1 to {MAX_PROJECT_NAME} characters")))
}

/// A project's APIs: 1 to [`MAX_PROJECT_APIS`] ids of the catalogue's shape, each once.
/// (Whether each exists is for the API's object to say.)
pub fn api_ids<S: AsRef<str>>(ids: &[S]) -> Result<Vec<String>, OAuthError> {
    let err = |d: String| OAuthError::field("apis", d);
    if ids.is_empty() || ids.len() > MAX_PROJECT_APIS {
        return Err(err(format!("apis must name 1 to {MAX_PROJECT_APIS} APIs of the catalogue (GET /account/apis)")));
    }
    let mut out: Vec<String> = Vec::new();
    for id in ids.iter().map(AsRef::as_ref) {
        if !is_api_id(id) {
            return Err(unknown_api(id));
        }
        if !out.iter().any(|x| x == id) {
            out.push(id.to_string());
        }
    }
    Ok(out)
}

/// `400` naming `apis`: an id that names no API of the catalogue.
pub fn unknown_api(id: &str) -> OAuthError {
    OAuthError::field("apis", format!("unknown API id {}", shorten(id)))
}

/// A `400` grace not among [`GRACE_CHOICES`].
pub fn grace(n: u64) -> Result<u64, OAuthError> {
    GRACE_CHOICES.contains(&n).then_some(n).ok_or_else(|| OAuthError::field("grace", "grace must be one of 0, 3600, 86400, 604800 (seconds)"))
}

fn strings(v: &Value) -> Result<Vec<&str>, OAuthError> {
    let bad = || OAuthError::field("apis", "apis must be an array of API ids");
    v.as_array().ok_or_else(bad)?.iter().map(|s| s.as_str().ok_or_else(bad)).collect()
}

fn boolean(obj: &Map<String, Value>, field: &str) -> Result<Option<bool>, OAuthError> {
    obj.get(field).map(|v| v.as_bool().ok_or_else(|| OAuthError::field(field, format!("{field} must be true or false")))).transpose()
}

fn only(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), OAuthError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(OAuthError::field(k, format!("unknown field {}", shorten(k)))),
        None => Ok(()),
    }
}

fn name_field(v: &Value) -> Result<String, OAuthError> {
    project_name(v.as_str().ok_or_else(|| OAuthError::field("name", "name must be a string"))?)
}

pub fn parse_new(body: &[u8]) -> Result<NewProject, OAuthError> {
    let obj = json_object(body, false)?;
    only(&obj, &["name", "apis", "api_key"])?;
    let name = name_field(obj.get("name").ok_or_else(|| OAuthError::field("name", "name is required"))?)?;
    let apis = api_ids(&strings(obj.get("apis").ok_or_else(|| OAuthError::field("apis", "apis is required"))?)?)?;
    Ok(NewProject { name, apis, api_key: boolean(&obj, "api_key")?.unwrap_or(true) })
}

pub fn parse_patch(body: &[u8]) -> Result<ProjectPatch, OAuthError> {
    let obj = json_object(body, false)?;
    only(&obj, &["name", "apis", "api_key", "disabled"])?;
    Ok(ProjectPatch {
        name: obj.get("name").map(name_field).transpose()?,
        apis: obj.get("apis").map(|v| api_ids(&strings(v)?)).transpose()?,
        api_key: boolean(&obj, "api_key")?,
        disabled: boolean(&obj, "disabled")?,
    })
}

/// `POST /account/projects/{id}/rotate`: `{"grace": N}`, the body optional.
pub fn parse_rotate(body: &[u8]) -> Result<u64, OAuthError> {
    let obj = json_object(body, true)?;
    only(&obj, &["grace"])?;
    match obj.get("grace") {
        None => Ok(0),
        Some(v) => grace(v.as_u64().ok_or_else(|| OAuthError::field("grace", "grace must be one of 0, 3600, 86400, 604800 (seconds)"))?),
    }
}

/// What a project's APIs give its key: the union of their scopes and their resources.
pub fn apply_apis(settings: &mut Settings, apis: &[Api]) {
    let mut scopes: Vec<String> = Vec::new();
    let mut resources: Vec<String> = Vec::new();
    for api in apis {
        for s in &api.scopes {
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        if let Some(r) = &api.resource {
            if !resources.iter().any(|x| crate::resource::same(x, r)) {
                resources.push(r.clone());
            }
        }
    }
    settings.scopes = scopes;
    settings.resources = resources;
}

/// The settings of a new project.
pub fn new_settings(new: &NewProject, apis: &[Api]) -> Settings {
    let mut s = Settings { name: new.name.clone(), api_key: new.api_key, ..Settings::default() };
    apply_apis(&mut s, apis);
    s
}

/// A project as the Account API shows it (times in unix seconds). `catalogue` names the APIs;
/// an API missing from it (KV not yet caught up) is shown by its id. `last_used` (unix
/// seconds) comes from the project's shards ([`crate::usage::last_used`]).
pub fn view(c: &Client, catalogue: &[Api], last_used: Option<u64>) -> Value {
    let apis: Vec<Value> = c
        .apis
        .iter()
        .map(|id| {
            let name = catalogue.iter().find(|a| a.api_id == *id).map_or(id.as_str(), |a| a.name.as_str());
            json!({"api_id": id, "name": name})
        })
        .collect();
    json!({
        "client_id": c.client_id,
        "name": c.settings.name,
        "apis": apis,
        "scope": crate::scope::join(&c.settings.scopes),
        "api_key": c.settings.api_key,
        "disabled": c.settings.disabled,
        "created_at": c.created_at / 1000,
        "secret_rotated_at": c.rotated_at.map(|t| t / 1000),
        "last_used_at": last_used,
    })
}

#[cfg(test)]
mod tests;
