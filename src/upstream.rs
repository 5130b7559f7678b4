//! Signing in with an upstream identity provider: the pure protocol core. Time and randomness
//! are passed in; the endpoint (`endpoints::upstream`) does the I/O.
//!
//! - The sign-in starts with a [`Pending`] kept in the browser's state cookie (`HttpOnly`,
//!   `SameSite=Lax`, `Secure` except on plain-http loopback): `state`, the PKCE verifier, the
//!   OIDC `nonce`, where to return. The callback's `state` must equal the cookie's
//!   ([`check_callback`]): a callback in another browser, or forged by another site, fails
//!   (RFC 9700 §4.7, OpenID Connect Core §3.1.2.7). The endpoint makes each `state` single-use.
//! - [`authorization_url`]: `response_type=code`, `state`, PKCE `S256`, and (OIDC) `nonce`.
//! - [`token_request`]: the code exchange, `client_secret_basic` unless the provider only
//!   accepts `client_secret_post`, with `Accept: application/json` and a `User-Agent`.
//! - [`id_token_identity`]: an ID token's claims (`iss`, `aud` = `client_id`, `exp`, `nonce`;
//!   OpenID Connect Core §3.1.3.7; the signature is checked before, with the provider's JWKS).
//! - [`userinfo_identity`]: an `oauth2` provider's userinfo response through its `claims`
//!   (subjects are exact strings; a numeric id `123` is `"123"`); [`merge_userinfo`] for OIDC.
//! - [`username_candidates`]: free valid usernames derived from the provider's.
//! - [`local_return`]: `return_to` is a path on this server, else `/console`.

use crate::auth::jwt::{self, JwtError};
use crate::auth::pkce;
use crate::form::encode_component;
use crate::provider::{ClaimMap, Kind, Provider};
use crate::secret::{random_string, Random, SECRET_BYTES};
use crate::store::{Fetched, Outbound};
use crate::user::{valid_username, MAX_NAME, MAX_USERNAME};
use base64::prelude::{Engine as _, BASE64_STANDARD as B64, BASE64_URL_SAFE_NO_PAD as B64URL};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;

/// How long a started sign-in may take (the state cookie's life).
pub const PENDING_MS: u64 = 600_000;
/// Where a sign-in with no usable `return_to` ends.
pub const DEFAULT_RETURN: &str = "/console";
/// Longest `return_to` kept (it travels in the state cookie).
pub const MAX_RETURN: usize = 2048;
/// What this server calls itself to providers (GitHub refuses requests without a User-Agent).
pub const USER_AGENT: &str = "edge-oauth";
/// How long to wait for a provider, and the largest answer read.
pub const TIMEOUT_MS: u64 = 10_000;
pub const MAX_ANSWER: usize = 64 * 1024;

/// `return_to` when it is a path on this server (`/x`), else [`DEFAULT_RETURN`]: never
/// another host (`//host`, `/\host`, `http:host`, `https://host`), nothing a browser could
/// read as one (backslashes, whitespace, control characters).
pub fn local_return(to: Option<&str>) -> String {
    let local = |t: &str| {
        t.starts_with('/') && !t.starts_with("//") && t.len() <= MAX_RETURN && !t.contains('\\') && !t.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    match to {
        Some(t) if local(t) => t.to_string(),
        _ => DEFAULT_RETURN.to_string(),
    }
}

/// A started sign-in, as the state cookie carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    #[serde(rename = "p")]
    pub provider_id: String,
    #[serde(rename = "s")]
    pub state: String,
    #[serde(rename = "v")]
    pub verifier: String,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(rename = "r")]
    pub return_to: String,
    #[serde(rename = "t")]
    pub started_ms: u64,
}

impl Pending {
    /// A new sign-in through `p`: fresh `state`, verifier and (OIDC) `nonce`.
    pub fn start(p: &Provider, return_to: String, rng: &mut dyn Random, now_ms: u64) -> Pending {
        let state = random_string(rng, SECRET_BYTES);
        let verifier = random_string(rng, SECRET_BYTES);
        let nonce = (p.kind == Kind::Oidc).then(|| random_string(rng, SECRET_BYTES));
        Pending { provider_id: p.provider_id.clone(), state, verifier, nonce, return_to, started_ms: now_ms }
    }

    /// The cookie value: base64url JSON.
    pub fn encode(&self) -> String {
        B64URL.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(cookie: &str) -> Option<Pending> {
        let bytes = B64URL.decode(cookie).ok()?;
        crate::json::decode(std::str::from_utf8(&bytes).ok()?).ok()
    }
}

/// The redirect URI registered at the provider.
pub fn redirect_uri(issuer: &str, provider_id: &str) -> String {
    format!("{issuer}/login/{provider_id}/callback")
}

/// Where the browser goes to sign in at the provider.
pub fn authorization_url(p: &Provider, redirect_uri: &str, pending: &Pending) -> String {
    let mut params = vec![
        ("response_type", "code".to_string()),
        ("client_id", p.client_id.clone()),
        ("redirect_uri", redirect_uri.to_string()),
        ("state", pending.state.clone()),
        ("code_challenge", pkce::s256(&pending.verifier)),
        ("code_challenge_method", "S256".to_string()),
    ];
    if !p.scopes.is_empty() {
        params.push(("scope", p.scopes.clone()));
    }
    if let Some(n) = &pending.nonce {
        params.push(("nonce", n.clone()));
    }
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", encode_component(v))).collect();
    let sep = if p.authorization_endpoint.contains('?') { '&' } else { '?' };
    format!("{}{sep}{}", p.authorization_endpoint, query.join("&"))
}

/// Why a sign-in through a provider failed. Each says what happened in words a person can
/// read, and none names a secret, a code or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No state cookie, another provider's, an expired one, or a `state` that is not its.
    State,
    /// This `state` was used already.
    Replayed,
    /// The provider sent the person back with an error (its code, checked to be plain).
    Provider(String),
    /// The callback had no code.
    NoCode,
    /// The provider could not be reached, or its answer was not usable.
    Unusable(&'static str),
    /// The ID token failed a check.
    IdToken(JwtError),
    /// The ID token's `nonce` is not this sign-in's.
    Nonce,
    /// No person is linked to this identity, and the provider does not create people.
    NotLinked,
    /// The person is disabled.
    Disabled,
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::NotLinked | Refusal::Disabled => 403,
            _ => 400,
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Refusal::State => "This sign-in was not started in this browser, or it took too long. Please start again.".into(),
            Refusal::Replayed => "This sign-in was already used. Please start again.".into(),
            Refusal::Provider(code) => format!("The identity provider did not sign you in ({code})."),
            Refusal::NoCode => "The identity provider sent no authorization code.".into(),
            Refusal::Unusable(what) => format!("The identity provider's answer could not be used ({what})."),
            Refusal::IdToken(e) => format!("The identity provider's ID token was refused ({}).", id_token_problem(e)),
            Refusal::Nonce => "The identity provider's ID token was refused (it is not for this sign-in).".into(),
            Refusal::NotLinked => "No account here is linked to that identity. Ask an administrator to link it.".into(),
            Refusal::Disabled => "This account is disabled.".into(),
        }
    }
}

fn id_token_problem(e: &JwtError) -> &'static str {
    match e {
        JwtError::Malformed(_) => "malformed",
        JwtError::Algorithm => "not RS256 or ES256",
        JwtError::NoKey => "no key of the provider fits it",
        JwtError::BadSignature => "bad signature",
        JwtError::WrongIssuer => "wrong issuer",
        JwtError::Expired => "expired",
        JwtError::NotYetValid => "not valid yet",
        JwtError::WrongAudience => "not meant for this server",
        JwtError::Crypto(_) => "the provider's key cannot be used",
    }
}

/// The callback's query, checked against the sign-in this browser started: the code, or why not.
pub fn check_callback<'a>(
    pending: Option<&Pending>,
    provider_id: &str,
    state: Option<&str>,
    code: Option<&'a str>,
    error: Option<&str>,
    now_ms: u64,
) -> Result<&'a str, Refusal> {
    let pending = pending.filter(|p| p.provider_id == provider_id && now_ms < p.started_ms.saturating_add(PENDING_MS)).ok_or(Refusal::State)?;
    let same = state.is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.as_bytes())));
    if !same {
        return Err(Refusal::State);
    }
    if let Some(e) = error {
        let plain = !e.is_empty() && e.len() <= 64 && e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        return Err(Refusal::Provider(if plain { e.to_string() } else { "error".into() }));
    }
    code.filter(|c| !c.is_empty()).ok_or(Refusal::NoCode)
}

fn headers(extra: Option<(&'static str, String)>) -> Vec<(&'static str, String)> {
    let mut h = vec![("accept", "application/json".to_string()), ("user-agent", USER_AGENT.to_string())];
    h.extend(extra);
    h
}

/// The code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5).
pub fn token_request(p: &Provider, redirect_uri: &str, code: &str, verifier: &str) -> Outbound {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri), ("code_verifier", verifier)];
    let mut h = headers(Some(("content-type", "application/x-www-form-urlencoded".to_string())));
    if p.secret_post {
        form.push(("client_id", &p.client_id));
        form.push(("client_secret", p.client_secret.expose()));
    } else {
        // RFC 6749 §2.3.1: each part form-encoded, then Basic.
        let pair = format!("{}:{}", encode_component(&p.client_id), encode_component(p.client_secret.expose()));
        h.push(("authorization", format!("Basic {}", B64.encode(pair))));
    }
    let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={}", encode_component(v))).collect();
    Outbound { method: "POST", url: p.token_endpoint.clone(), headers: h, body: Some(body.join("&")) }
}

/// The userinfo request with the provider's access token.
pub fn userinfo_request(url: &str, access_token: &str) -> Outbound {
    Outbound { method: "GET", url: url.to_string(), headers: headers(Some(("authorization", format!("Bearer {access_token}")))), body: None }
}

/// What the token endpoint gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access_token: Option<String>,
    pub id_token: Option<String>,
}

fn json_answer(answer: Result<Fetched, String>) -> Result<(u16, serde_json::Map<String, Value>), Refusal> {
    let f = answer.map_err(|_| Refusal::Unusable("it could not be reached"))?;
    let text = std::str::from_utf8(&f.body).map_err(|_| Refusal::Unusable("not JSON"))?;
    match crate::json::parse(text) {
        Ok(Value::Object(m)) => Ok((f.status, m)),
        _ => Err(Refusal::Unusable("not JSON")),
    }
}

/// The token endpoint's answer: `200` with tokens (GitHub answers its errors with `200` and an
/// `error` member).
pub fn token_response(answer: Result<Fetched, String>, kind: Kind) -> Result<Tokens, Refusal> {
    let (status, m) = json_answer(answer)?;
    let text = |k: &str| m.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    if status != 200 || m.contains_key("error") {
        return Err(Refusal::Unusable("the code was refused"));
    }
    let tokens = Tokens { access_token: text("access_token"), id_token: text("id_token") };
    match kind {
        Kind::Oidc if tokens.id_token.is_none() => Err(Refusal::Unusable("no ID token")),
        Kind::Oauth2 if tokens.access_token.is_none() => Err(Refusal::Unusable("no access token")),
        _ => Ok(tokens),
    }
}

/// Who the provider says the person is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Compared as an exact string.
    pub subject: String,
    pub username: Option<String>,
    pub name: Option<String>,
}

fn short_text(v: Option<&Value>, max: usize) -> Option<String> {
    v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty() && s.chars().count() <= max).map(str::to_string)
}

/// The ID token's claims, after its signature was checked: `iss` is the provider's issuer,
/// `aud` names `client_id` (and with several audiences, `azp` is `client_id`), `exp` is in the
/// future, `nonce` is this sign-in's.
pub fn id_token_identity(claims: &Value, p: &Provider, nonce: Option<&str>, now_s: u64) -> Result<Identity, Refusal> {
    let issuer = p.issuer.as_deref().unwrap_or_default();
    let subject = jwt::check_claims(claims, issuer, &p.client_id, now_s).map_err(Refusal::IdToken)?;
    if let Some(Value::Array(aud)) = claims.get("aud") {
        if aud.len() > 1 && claims.get("azp").and_then(Value::as_str) != Some(p.client_id.as_str()) {
            return Err(Refusal::IdToken(JwtError::WrongAudience));
        }
    }
    let sent = claims.get("nonce").and_then(Value::as_str);
    let same = match (sent, nonce) {
        (Some(a), Some(b)) => bool::from(a.as_bytes().ct_eq(b.as_bytes())),
        _ => false,
    };
    if !same {
        return Err(Refusal::Nonce);
    }
    Ok(Identity { subject: subject.sub, username: short_text(claims.get("preferred_username"), 255), name: short_text(claims.get("name"), MAX_NAME) })
}

/// An OIDC userinfo response fills what the ID token left out; its `sub` must be the ID
/// token's (OpenID Connect Core §5.3.2).
pub fn merge_userinfo(mut id: Identity, answer: Result<Fetched, String>) -> Result<Identity, Refusal> {
    let (status, m) = json_answer(answer)?;
    if status != 200 || m.get("sub").and_then(Value::as_str) != Some(id.subject.as_str()) {
        return Err(Refusal::Unusable("the userinfo response is not about the signed-in person"));
    }
    id.username = id.username.or_else(|| short_text(m.get("preferred_username"), 255));
    id.name = id.name.or_else(|| short_text(m.get("name"), MAX_NAME));
    Ok(id)
}

/// A subject: a non-empty string, or an integer (a numeric GitHub `id` is `"123"`).
fn subject_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() && s.len() <= 255 => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

/// An `oauth2` provider's userinfo response, through its `claims`.
pub fn userinfo_identity(answer: Result<Fetched, String>, claims: &ClaimMap) -> Result<Identity, Refusal> {
    let (status, m) = json_answer(answer)?;
    if status != 200 {
        return Err(Refusal::Unusable("the userinfo request was refused"));
    }
    let subject = subject_text(m.get(&claims.subject)).ok_or(Refusal::Unusable("the userinfo response has no subject"))?;
    let field = |k: &Option<String>, max| k.as_ref().and_then(|k| short_text(m.get(k), max).or_else(|| subject_text(m.get(k))));
    Ok(Identity { subject, username: field(&claims.username, 255), name: field(&claims.name, MAX_NAME) })
}

/// A provider's username made valid here: characters we do not allow become `-` (runs of
/// them one), none at either end, at most `max` characters; `None` when nothing is left.
fn clean(wanted: &str, max: usize) -> Option<String> {
    let mut out = String::new();
    for c in wanted.chars() {
        let ok = c.is_ascii_alphanumeric() || "._@-".contains(c);
        if ok {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(max).collect();
    let out = out.trim_end_matches('-').to_string();
    (!out.is_empty()).then_some(out)
}

/// Usernames to try, in order, for a new person: the provider's username (else the name, else
/// `user`) made valid, then with `-2` … `-9`, then with `-{random}`. Each is valid, and each
/// contains the original where it can.
pub fn username_candidates(id: &Identity, random: &str) -> Vec<String> {
    let wanted = id.username.as_deref().and_then(|u| clean(u, MAX_USERNAME)).or_else(|| id.name.as_deref().and_then(|n| clean(n, MAX_USERNAME)));
    let base = wanted.unwrap_or_else(|| "user".to_string());
    let with = |suffix: &str| {
        let keep = MAX_USERNAME - suffix.len();
        let head: String = base.chars().take(keep).collect();
        format!("{}{suffix}", head.trim_end_matches('-'))
    };
    let mut out = vec![base.clone()];
    out.extend((2..=9).map(|n| with(&format!("-{n}"))));
    out.push(with(&format!("-{random}")));
    out.retain(|u| valid_username(u));
    out
}

#[cfg(test)]
mod tests;
