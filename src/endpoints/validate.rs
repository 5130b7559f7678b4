//! `/validate`, for other Workers (any method): is this bearer token or API key good, and for
//! whom? RFC 6750 semantics: 401 with a challenge, 403 `insufficient_scope`.

use super::Outcome;
use crate::alerts::EventType;
use crate::app::{App, Cx, RATE};
use crate::auth::credentials::{parse_authorization, Authorization};
use crate::error::OAuthError;
use crate::form::Params;
use crate::http::{HttpRequest, HttpResponse};
use crate::notify;
use crate::scope;
use crate::secret::AccessToken;
use crate::shard::counters::UsageOf;
use crate::shard::gate::Check;
use crate::shard::route::{route, shard_name};
use crate::shard::tokens::{TokenView, Validate, Validation};
use crate::store::Platform;
use serde_json::{json, Value};

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    let query = Params::parse(req.query.as_bytes())?;
    let required = match query.single("scope")? {
        Some(raw) => scope::parse_scope(raw).map_err(OAuthError::invalid_request)?,
        None => Vec::new(),
    };
    let resource = query.single("resource")?;
    let bearer = match parse_authorization(req.header("authorization"))? {
        Some(Authorization::Bearer(t)) => Some(t),
        _ => None,
    };
    // Seed 002: an API key may come as header `key` or query parameter `key`.
    let key = match (req.header("key").filter(|k| !k.is_empty()), query.single("key")?) {
        (Some(h), Some(q)) if h != q => return Err(OAuthError::invalid_request("two different API keys")),
        (h, q) => h.or(q),
    };
    let view = match (bearer, key) {
        // RFC 6750 §3.1: more than one method of presenting credentials.
        (Some(_), Some(_)) => return Err(OAuthError::invalid_request("present either a Bearer token or an API key, not both")),
        (Some(token), None) => View::Token(bearer_token(app, &token, req.client_ip.as_deref(), required, resource, cx.now_ms).await?),
        (None, Some(key)) => View::Key(api_key(app, key, &required, resource, cx.now_ms).await?),
        (None, None) => return Err(OAuthError::MissingToken),
    };
    Ok(HttpResponse::json_text(200, crate::shard::to_json(&view)).no_store())
}

/// What a good token or key answers: the token's view is written as it came from the shard
/// (not through a JSON tree first: this is the hottest answer there is).
#[derive(serde::Serialize)]
#[serde(untagged)]
enum View {
    Token(TokenView),
    Key(Value),
}

/// Validation over service-binding RPC (`env.AUTH.validate(token, ip, scope, resource)`):
/// exactly what `/validate` answers for `Authorization: Bearer <token>` from `ip` with
/// `?scope=…&resource=…`.
pub async fn rpc<P: Platform>(app: &App<P>, token: &AccessToken, ip: Option<String>, scope: Option<&str>, resource: Option<&str>, now_ms: u64) -> HttpResponse {
    let view = async {
        let required = match scope.filter(|s| !s.is_empty()) {
            Some(raw) => scope::parse_scope(raw).map_err(OAuthError::invalid_request)?,
            None => Vec::new(),
        };
        bearer_token(app, token, ip.as_deref(), required, resource.filter(|r| !r.is_empty()), now_ms).await
    };
    match view.await {
        Ok(view) => HttpResponse::json_text(200, crate::shard::to_json(&view)).no_store(),
        Err(e) => e.to_response(crate::error::Surface::Resource),
    }
}

/// The bearer token of a request validated as `/validate` validates it (a use), needing the
/// `required` scopes: for endpoints of ours that take a token (the Account API). No token
/// (or another scheme): [`OAuthError::MissingToken`].
pub async fn bearer<P: Platform>(app: &App<P>, req: &HttpRequest, required: Vec<String>, now_ms: u64) -> Result<TokenView, OAuthError> {
    match parse_authorization(req.header("authorization"))? {
        Some(Authorization::Bearer(token)) => bearer_token(app, &token, req.client_ip.as_deref(), required, None, now_ms).await,
        _ => Err(OAuthError::MissingToken),
    }
}

async fn bearer_token<P: Platform>(
    app: &App<P>,
    token: &AccessToken,
    ip: Option<&str>,
    required: Vec<String>,
    resource: Option<&str>,
    now_ms: u64,
) -> Result<TokenView, OAuthError> {
    let Some(at) = route(token) else {
        return Err(OAuthError::InvalidToken);
    };
    let needed = scope::join(&required);
    // RFC 8707: asked about a resource, the shard refuses a token bound to others, and an
    // unbound one unless the resource is its client's, before anything slides. The client's
    // resources are looked up only then (a metadata-document client's prefix is no id in KV:
    // its resources are the worker's).
    let known = match resource {
        Some(_) => Some(app.client(&at.prefix, now_ms).await?),
        None => None,
    };
    let unbound = match &known {
        None => Vec::new(),
        Some(Some(c)) => c.resources(&app.config.resources).to_vec(),
        Some(None) => app.config.resources.clone(),
    };
    let op = Validate { hash: at.hash.clone(), ip: ip.map(str::to_string), required, resource: resource.map(str::to_string), unbound };
    let view = match app.call(&at.shard_name(), op).await? {
        Validation::Valid(view) => view,
        Validation::InsufficientScope => return Err(OAuthError::InsufficientScope(needed)),
        Validation::Invalid => return Err(OAuthError::InvalidToken),
        Validation::WrongIp => {
            notify::event(app, &at.prefix, EventType::TokenWrongIp, json!({ "ip": ip }), now_ms).await;
            return Err(OAuthError::InvalidToken);
        }
    };
    // Only valid tokens count against the client's rate limit: the client id is public (it
    // starts every token), so counting failures would let anyone exhaust the limit. The limit
    // is the client's current setting (from the cached record).
    // Metadata-document clients (a URL for an id) have no rate limit and no record: no lookup
    // (no fetch) for them here. The record read for the resource check above serves again.
    if !view.client_id.contains("://") {
        let limit = match known.flatten().filter(|c| c.client_id == view.client_id) {
            Some(c) => c.settings.rate_limit,
            // From the isolate's cache, no copy of the record made: this runs on every
            // validation.
            None => match app.cache.client_with(&view.client_id, now_ms, |c| c.and_then(|c| c.settings.rate_limit)) {
                Some(limit) => limit,
                None => app.client(&view.client_id, now_ms).await?.and_then(|c| c.settings.rate_limit),
            },
        };
        rate_limit(app, &view.client_id, limit, now_ms).await?;
    }
    Ok(view)
}

async fn api_key<P: Platform>(app: &App<P>, key: &str, required: &[String], resource: Option<&str>, now_ms: u64) -> Result<Value, OAuthError> {
    let client = match app.client(key, now_ms).await? {
        Some(c) if c.settings.api_key && !c.settings.disabled => c,
        _ => return Err(OAuthError::InvalidToken),
    };
    // Like an unbound token: good only at its client's own resources (RFC 8707).
    if resource.is_some_and(|r| !client.resources(&app.config.resources).iter().any(|a| crate::resource::same(a, r))) {
        return Err(OAuthError::InvalidToken);
    }
    // KV may be stale: the shard gate is the authority on deletion and disabling.
    let scope_ok = required.iter().all(|r| client.settings.scopes.contains(r));
    if !app.call(&shard_name(&client.client_id, 0), Check { scope_ok: Some(scope_ok) }).await? {
        return Err(OAuthError::InvalidToken);
    }
    if !scope_ok {
        return Err(OAuthError::InsufficientScope(scope::join(required)));
    }
    rate_limit(app, &client.client_id, client.settings.rate_limit, now_ms).await?;
    Ok(json!({
        "active": true,
        "client_id": client.client_id,
        "scope": scope::join(&client.settings.scopes),
        "auth": "api_key",
    }))
}

/// Seed 002's rate-limiting policy: a client with `rate_limit` gets that many successful
/// `/validate` calls per minute (sliding window), then 429 with `Retry-After`.
async fn rate_limit<P: Platform>(app: &App<P>, client_id: &str, limit: Option<u32>, now_ms: u64) -> Result<(), OAuthError> {
    let Some(limit) = limit else {
        return Ok(());
    };
    let d = app.count_usage(client_id, RATE, app.config.limits.rate_window_ms, u64::from(limit), false, Some(UsageOf::Rate)).await?;
    if d.allowed {
        Ok(())
    } else {
        notify::event(app, client_id, EventType::RateLimitExceeded, json!({ "endpoint": "validate" }), now_ms).await;
        Err(OAuthError::TooManyRequests { retry_after: d.retry_after_s })
    }
}
