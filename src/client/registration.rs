//! The client metadata of a dynamic registration request (RFC 7591 §2) and the response that
//! echoes it (§3.2.1): pure rules, from the JSON body to the settings of a new client.
//!
//! What a registered client may be is narrower than what the admin API can make: it acts for
//! people only (`authorization_code`, optionally `refresh_token`), its scopes come from
//! `REGISTRATION_SCOPES`, and its redirect URIs follow the admin API's rules.

use super::redirect::{check_registrable, MAX_REDIRECT_URIS};
use super::settings::{distinct_strings, shorten, shown_name, ClientType, ListProblem, Settings, MAX_NAME_LEN};
use super::{Client, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN};
use crate::error::OAuthError;
use crate::scope::is_scope_token;
use serde_json::{json, Map, Value};

/// RFC 7591 §2 `token_endpoint_auth_method`: how the client will authenticate at `/token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A public client (the default, RFC 7591 §2): no secret.
    None,
    ClientSecretBasic,
    ClientSecretPost,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
        }
    }

    fn parse(s: &str) -> Option<AuthMethod> {
        [AuthMethod::None, AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost].into_iter().find(|m| m.as_str() == s)
    }
}

/// A valid registration request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The new client's settings: every field the request does not set has the admin API's
    /// default.
    pub settings: Settings,
    pub auth_method: AuthMethod,
    /// Whether the request named a `client_name` (the response then echoes it).
    pub named: bool,
}

fn bad(description: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClientMetadata(description.into())
}

/// A field that is absent or JSON `null` is not set (clients often send `null`).
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

/// Parse a registration request body. `allowed_scopes` is `REGISTRATION_SCOPES`. Unknown
/// fields are ignored (RFC 7591 §2: "MUST ignore any client metadata ... that it does not
/// understand").
pub fn parse(body: &[u8], allowed_scopes: &[String]) -> Result<Metadata, OAuthError> {
    let obj = match crate::json::parse_object(body) {
        Ok(m) => m,
        Err(e) if e.field.is_some() => return Err(bad(e.to_string())),
        Err(_) => return Err(bad("the body must be a JSON object of client metadata (RFC 7591 §2)")),
    };
    let mut s = Settings { grant_types: vec![GRANT_AUTHORIZATION_CODE.into(), GRANT_REFRESH_TOKEN.into()], ..Settings::default() };
    s.redirect_uris = redirect_uris(field(&obj, "redirect_uris"))?;
    let named = match field(&obj, "client_name") {
        Some(v) => {
            s.name = client_name(v)?;
            true
        }
        None => false,
    };
    if let Some(v) = field(&obj, "grant_types") {
        s.grant_types = grant_types(v)?;
    }
    if let Some(v) = field(&obj, "response_types") {
        // §2.1: response types must agree with the grant types; ours give `code` only.
        let ok = v.as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|r| r.as_str() == Some("code")));
        if !ok {
            return Err(bad("response_types must be [\"code\"]"));
        }
    }
    let auth_method = match field(&obj, "token_endpoint_auth_method") {
        None => AuthMethod::None,
        Some(v) => {
            v.as_str().and_then(AuthMethod::parse).ok_or_else(|| bad("token_endpoint_auth_method must be none, client_secret_basic or client_secret_post"))?
        }
    };
    s.client_type = if auth_method == AuthMethod::None { ClientType::Public } else { ClientType::Confidential };
    if let Some(v) = field(&obj, "scope") {
        s.scopes = scope(v, allowed_scopes)?;
    }
    Ok(Metadata { settings: s, auth_method, named })
}

/// Required, and every URI as the admin API has it: a problem with any is `invalid_redirect_uri`.
fn redirect_uris(v: Option<&Value>) -> Result<Vec<String>, OAuthError> {
    let err = |d: String| OAuthError::InvalidRedirectUri(d);
    let Some(v) = v else { return Err(err("redirect_uris is required".into())) };
    distinct_strings(v, (1, MAX_REDIRECT_URIS), check_registrable, |a, b| a == b).map_err(|p| match p {
        ListProblem::NotStrings => err("redirect_uris must be an array of strings".into()),
        ListProblem::Count => err(format!("redirect_uris has 1 to {MAX_REDIRECT_URIS} URIs")),
        ListProblem::Item(uri, why) => err(format!("{why}: {}", shorten(uri))),
    })
}

fn client_name(v: &Value) -> Result<String, OAuthError> {
    shown_name(v).ok_or_else(|| bad(format!("client_name must be a non-empty string of at most {MAX_NAME_LEN} characters")))
}

/// `authorization_code` and `refresh_token` only; a refresh token comes from a code, so the
/// code grant must be among them.
fn grant_types(v: &Value) -> Result<Vec<String>, OAuthError> {
    let err = || bad("grant_types must be [\"authorization_code\"] or [\"authorization_code\", \"refresh_token\"]");
    let ours = |g: &str| if g == GRANT_AUTHORIZATION_CODE || g == GRANT_REFRESH_TOKEN { Ok(()) } else { Err(String::new()) };
    let out = distinct_strings(v, (0, usize::MAX), ours, |a, b| a == b).map_err(|_| err())?;
    if !out.iter().any(|g| g == GRANT_AUTHORIZATION_CODE) {
        return Err(err());
    }
    Ok(out)
}

/// RFC 7591 §2 `scope`: space-separated, each within `REGISTRATION_SCOPES`.
fn scope(v: &Value, allowed: &[String]) -> Result<Vec<String>, OAuthError> {
    let raw = v.as_str().ok_or_else(|| bad("scope must be a string of space-separated scopes"))?;
    let mut out: Vec<String> = Vec::new();
    for tok in raw.split(' ').filter(|t| !t.is_empty()) {
        if !is_scope_token(tok) || !allowed.iter().any(|a| a == tok) {
            let offered = if allowed.is_empty() { "none".to_string() } else { allowed.join(" ") };
            return Err(bad(format!("scope {} may not be registered; registrable scopes: {offered}", shorten(tok))));
        }
        if !out.iter().any(|x| x == tok) {
            out.push(tok.to_string());
        }
    }
    Ok(out)
}

/// The client information response (RFC 7591 §3.2.1): the id, when it was issued (seconds),
/// the secret of a confidential client (which never expires: `client_secret_expires_at` 0),
/// and the registered metadata.
pub fn response(client: &Client, meta: &Metadata, secret: Option<&str>) -> Value {
    let s = &client.settings;
    let mut v = json!({
        "client_id": client.client_id,
        "client_id_issued_at": client.created_at / 1000,
        "redirect_uris": s.redirect_uris,
        "grant_types": s.grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": meta.auth_method.as_str(),
    });
    if let Some(secret) = secret {
        v["client_secret"] = json!(secret);
        v["client_secret_expires_at"] = json!(0);
    }
    if meta.named {
        v["client_name"] = json!(s.name);
    }
    if !s.scopes.is_empty() {
        v["scope"] = json!(s.scopes.join(" "));
    }
    v
}

#[cfg(test)]
mod tests;
