//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a `client_id`
//! that is an `https` URL names a JSON document describing the client, fetched by us. The
//! rules here are pure: which ids are such URLs, what a document must say, and how long its
//! copy may be kept. Fetching and caching are in [`resolve`].
//!
//! The URL is chosen by whoever sends a request, so fetching it is a server-side request risk:
//! only `https` (loopback `http` only with `CIMD=dev`), no redirects, at most
//! [`MAX_DOCUMENT_BYTES`] within [`FETCH_TIMEOUT_MS`].

pub mod resolve;

use super::redirect::{check_registrable, web_uri, MAX_REDIRECT_URIS};
use super::settings::{distinct_strings, ListProblem, MAX_NAME_LEN};
use super::{Client, ClientType, Origin, Settings, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN};
use crate::config::{Cimd, Config};
use crate::http::HttpResponse;
use crate::pages;
use serde_json::Value;

/// Largest document read (the draft suggests 5 KB).
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// A document not fully read within this is unreachable.
pub const FETCH_TIMEOUT_MS: u64 = 5_000;
/// A fetched document is kept at least this long (whatever its `Cache-Control` says), so that
/// one client cannot make us fetch on every request...
pub const MIN_CACHE_MS: u64 = 60_000;
/// ...and at most this long, so that a changed document takes effect within a day.
pub const MAX_CACHE_MS: u64 = 24 * 3_600_000;

/// The grant types a document may name (a public client acting for a person).
const DOCUMENT_GRANT_TYPES: [&str; 2] = [GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN];

/// Is `id` a metadata-document URL under `mode`? See [`document_host`].
pub fn is_document_url(id: &str, mode: Cimd) -> bool {
    document_host(id, mode).is_some()
}

/// The lower-cased host of a metadata-document URL, or `None` when `id` is not one under
/// `mode`: CIMD on (or dev), an `https` URL (loopback hosts, and `http` on them, only with
/// `dev`), no user info, no fragment, and a path other than `/` without `.` or `..` segments
/// (draft §3).
pub fn document_host(id: &str, mode: Cimd) -> Option<String> {
    if mode == Cimd::Off {
        return None;
    }
    let uri = web_uri(id)?;
    // One spelling per host: `app.example.` (the DNS root's dot) or an empty label would name
    // the same host as a blocked `app.example`, or `localhost.` dodge the loopback rule.
    if uri.host.ends_with('.') || uri.host.starts_with('.') || uri.host.contains("..") {
        return None;
    }
    // Loopback is for development only: on the edge it could reach nothing of ours, but a
    // `CIMD=on` deployment has no reason to ask it.
    if uri.loopback && mode != Cimd::Dev {
        return None;
    }
    let path = uri.rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == "/" || path.split('/').any(|s| s == "." || s == "..") {
        return None;
    }
    Some(uri.host.to_ascii_lowercase())
}

/// The client a fetched document describes, or why the document is bad. `url` is the
/// `client_id` the document was fetched from (and must name exactly); `body` its bytes.
/// Unknown fields are ignored (draft §4.1: other RFC 7591 metadata may appear).
pub fn parse(url: &str, body: &[u8], now_ms: u64, config: &Config) -> Result<Client, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the document is not UTF-8".to_string())?;
    // A key named twice (two `client_id`s, say) makes the document bad, not last-wins.
    let obj = match crate::json::parse(text) {
        Ok(Value::Object(obj)) => obj,
        Ok(_) => return Err("the document is not a JSON object".into()),
        Err(e) if e.field.is_some() => return Err(format!("the document is not valid JSON: {e}")),
        Err(_) => return Err("the document is not JSON".into()),
    };
    // Draft §4.1: the document names its own URL, compared as strings (no normalisation).
    if obj.get("client_id").and_then(Value::as_str) != Some(url) {
        return Err("the document's client_id is not exactly its own URL".into());
    }
    let host = web_uri(url).map(|u| u.host.to_string()).ok_or("the client_id is not an https URL")?;
    let name = match obj.get("client_name") {
        None | Some(Value::Null) => host,
        Some(Value::String(s)) if s.trim().is_empty() => host,
        Some(Value::String(s)) if s.trim().chars().count() <= MAX_NAME_LEN && !s.chars().any(char::is_control) => s.trim().to_string(),
        Some(_) => return Err(format!("client_name must be a string of at most {MAX_NAME_LEN} characters")),
    };
    let redirect_uris = redirect_uris(obj.get("redirect_uris"))?;
    let grant_types = match obj.get("grant_types") {
        None => vec![GRANT_AUTHORIZATION_CODE.to_string()],
        Some(v) => grant_types(v)?,
    };
    // A document cannot hold a secret: the client is public (draft §4.1).
    match obj.get("token_endpoint_auth_method") {
        None => {}
        Some(Value::String(m)) if m == "none" => {}
        Some(_) => return Err("token_endpoint_auth_method must be \"none\" (or absent)".into()),
    }
    let settings =
        Settings { name, client_type: ClientType::Public, scopes: config.registration_scopes.clone(), grant_types, redirect_uris, ..Settings::default() };
    let mut client = Client::public(url.to_string(), settings, now_ms);
    client.origin = Origin::MetadataDocument;
    Ok(client)
}

/// Why a metadata-document client cannot be used. `/authorize` shows it (a page, never a
/// redirect: the redirect URIs come from the document); `/token` answers `invalid_client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not a metadata-document URL under the current `CIMD`.
    NotDocument,
    /// An operator blocked the URL's host.
    Blocked,
    /// No answer in time, an answer too large, or no connection.
    Unreachable,
    /// An answer other than 200 (a redirect included), or a document breaking a rule.
    Bad(String),
}

impl Problem {
    /// The `/authorize` page for this problem with the client `url` (400).
    pub fn page(&self, url: &str) -> HttpResponse {
        let host = web_uri(url).map_or("", |u| u.host);
        match self {
            Problem::NotDocument => pages::error(400, "Unknown application", "The application that sent you here is not registered, or is disabled."),
            Problem::Blocked => pages::error(400, "Application blocked", &format!("Applications that identify themselves by a document at {host} are blocked here.")),
            Problem::Unreachable => pages::error(
                400,
                "Application document unreachable",
                &format!("The application identifies itself by a document at {host}, which could not be fetched (no answer within 5 seconds, larger than 5 KiB, or no connection)."),
            ),
            Problem::Bad(why) => {
                pages::error(400, "Bad application document", &format!("The application identifies itself by a document at {host}, which is not valid: {why}."))
            }
        }
    }
}

/// At least one, the admin API's rules for each ([`check_registrable`]).
fn redirect_uris(v: Option<&Value>) -> Result<Vec<String>, String> {
    let strings = || "redirect_uris must be an array of strings".to_string();
    distinct_strings(v.ok_or_else(strings)?, (1, MAX_REDIRECT_URIS), check_registrable, |a, b| a == b).map_err(|p| match p {
        ListProblem::NotStrings => strings(),
        ListProblem::Count => format!("redirect_uris must name 1 to {MAX_REDIRECT_URIS} redirect URIs"),
        ListProblem::Item(_, why) => format!("redirect_uris: {why}"),
    })
}

fn grant_types(v: &Value) -> Result<Vec<String>, String> {
    let err = || format!("grant_types may name only {}", DOCUMENT_GRANT_TYPES.join(" and "));
    let ours = |g: &str| if DOCUMENT_GRANT_TYPES.contains(&g) { Ok(()) } else { Err(String::new()) };
    let out = distinct_strings(v, (0, usize::MAX), ours, |a, b| a == b).map_err(|_| err())?;
    // A refresh token comes only from a code: a document without the code grant could do
    // nothing (the same rule as for registration).
    if !out.iter().any(|g| g == GRANT_AUTHORIZATION_CODE) {
        return Err("grant_types must include authorization_code".into());
    }
    Ok(out)
}

/// How long a fetched document may be used, from its response's `Cache-Control` (RFC 9111
/// §5.2.2): `max-age` seconds; `no-store`, `no-cache` or nothing usable mean the minimum.
/// Always within [[`MIN_CACHE_MS`], [`MAX_CACHE_MS`]].
pub fn cache_ms(cache_control: Option<&str>) -> u64 {
    let mut max_age: Option<u64> = None;
    for directive in cache_control.unwrap_or("").split(',') {
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "no-store" | "no-cache" => return MIN_CACHE_MS,
            "max-age" if max_age.is_none() => max_age = value.trim().trim_matches('"').parse::<u64>().ok(),
            _ => {}
        }
    }
    max_age.map_or(MIN_CACHE_MS, |s| s.saturating_mul(1000).clamp(MIN_CACHE_MS, MAX_CACHE_MS))
}

#[cfg(test)]
mod tests;
