//! Client authentication at the token-style endpoints (RFC 6749 §2.3.1): the credentials a
//! request carries, checked against the client record, with brute-force protection.

use super::credentials::ClientCredentials;
use crate::alerts::{self, EventType};
use crate::app::{App, FAILURES};
use crate::notify;
use serde_json::json;

/// The counter of failures that raises `auth.failure_burst`.
const BURST: &str = "failure_burst";
use crate::client::{self, Client};
use crate::error::OAuthError;
use crate::http::HttpRequest;
use crate::secret::AccessToken;
use crate::shard::counters::UsageOf;
use crate::shard::route::route;
use crate::shard::tokens::{Validate, Validation};
use crate::store::Platform;

/// A client that proved who it is, and the generation of the secret it proved it with.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub client: Client,
    pub generation: u32,
}

/// Unknown client, wrong secret and disabled client give one answer.
///
/// Brute-force protection (RFC 6749 §2.3.1, §10.10): failures are counted per IP address and
/// per client id. An address over its limit is refused outright (429) until its window passes;
/// a client id over its limit has further *failures* answered 429, while its correct secret
/// keeps working from any address that is not itself blocked.
pub async fn authenticate<P: Platform>(app: &App<P>, creds: &ClientCredentials, req: &HttpRequest, now_ms: u64) -> Result<Authenticated, OAuthError> {
    let ip_key = format!("ip:{}", req.client_ip.as_deref().unwrap_or("unknown"));
    if let Some(retry_after) = app.cache.blocked(&ip_key, now_ms) {
        return Err(OAuthError::TooManyRequests { retry_after });
    }
    let client = app.client(&creds.client_id, now_ms).await?;
    let generation = match &client {
        Some(c) => c.authenticate(creds.secret.as_ref(), now_ms).filter(|_| !c.settings.disabled),
        None => {
            if let Some(secret) = &creds.secret {
                client::authenticate_nobody(secret);
            }
            None
        }
    };
    if let (Some(client), Some(generation)) = (&client, generation) {
        return Ok(Authenticated { client: client.clone(), generation });
    }

    let limits = app.config.limits;
    let mut retry_after = None;
    let d = app.count(&ip_key, FAILURES, limits.failure_window_ms, limits.failures_per_ip, true).await?;
    if !d.allowed {
        app.cache.block(&ip_key, now_ms + d.retry_after_s * 1000);
        retry_after = Some(d.retry_after_s);
    }
    // Only ids that exist get a counter: arbitrary ids must not create Durable Objects.
    if let Some(c) = &client {
        let d = app.count_usage(&creds.client_id, FAILURES, limits.failure_window_ms, limits.failures_per_client, true, Some(UsageOf::Failure)).await?;
        let id = &creds.client_id;
        if !d.allowed {
            retry_after = Some(retry_after.unwrap_or(0).max(d.retry_after_s));
            notify::event(app, id, EventType::RateLimitExceeded, json!({ "endpoint": "token" }), now_ms).await;
        }
        // `auth.failure_burst`: the 10th failure within 5 minutes (a counter of its own).
        let burst = app.count(id, BURST, alerts::BURST_WINDOW_MS, alerts::BURST_FAILURES - 1, true).await?;
        if !burst.allowed {
            notify::event(app, id, EventType::AuthFailureBurst, json!({ "ip": req.client_ip }), now_ms).await;
        }
        if creds.secret.as_ref().is_some_and(|s| c.is_old_secret(s, now_ms)) {
            notify::event(app, id, EventType::KeyOldSecretUsed, json!({ "ip": req.client_ip }), now_ms).await;
        }
    }
    Err(match retry_after {
        Some(retry_after) => OAuthError::TooManyRequests { retry_after },
        None => OAuthError::InvalidClient { challenge: creds.via_header },
    })
}

/// RFC 8693 delegation as seed 004 writes it (`docs/http.md#token-exchange`): a client
/// authenticates with its own live client-credentials access token (`Bearer`, or bare). Using
/// it is a use, checked like `/validate` (its IP binding included); a user's token cannot
/// authenticate a client.
pub async fn by_token<P: Platform>(app: &App<P>, token: &AccessToken, req: &HttpRequest, now_ms: u64) -> Result<Authenticated, OAuthError> {
    let at = route(token).ok_or(OAuthError::InvalidClientToken)?;
    let op = Validate { hash: at.hash.clone(), ip: req.client_ip.clone(), required: Vec::new(), resource: None, unbound: Vec::new() };
    let view = match app.call(&at.shard_name(), op).await? {
        Validation::Valid(v) if v.sub.is_none() => v,
        _ => return Err(OAuthError::InvalidClientToken),
    };
    let client = app.client(&view.client_id, now_ms).await?.filter(|c| !c.settings.disabled).ok_or(OAuthError::InvalidClientToken)?;
    Ok(Authenticated { generation: client.generation(), client })
}
