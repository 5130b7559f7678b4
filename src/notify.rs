//! Raising and delivering alerts ([`crate::alerts`]): an event found where its facts are goes
//! through its project's cooldown (shard 0, [`crate::shard::webhooks::Raise`]) and, when one is
//! due, onto the Queue ([`crate::store::Outbox`]) once for the project's webhook and once for
//! the operator's. The Queue's consumer signs each attempt afresh (Standard Webhooks: the
//! same `webhook-id` on every retry, the timestamp of the attempt), records its outcome, and
//! retries after `ALERT_BACKOFF`; a `410` turns the project's webhook off.

use crate::alerts::{self, EventType};
use crate::app::App;
use crate::error::OAuthError;
use crate::secret::SecretHash;
use crate::shard::route::shard_name;
use crate::shard::webhooks::{Attempted, GetWebhook, Raise};
use crate::store::{Outbox, Platform};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One delivery on the Queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub client_id: String,
    pub webhook_id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub body: String,
    /// For the operator's webhook (`ALERT_WEBHOOK_URL`), not the project's.
    #[serde(default)]
    pub operator: bool,
}

/// An event of `client_id`'s. Never fails the request it happened in: a failure to raise it
/// is returned for the caller to log, and ignored.
pub async fn raise<P: Platform>(app: &App<P>, client_id: &str, event: EventType, extra: Value, now_ms: u64) -> Result<(), OAuthError> {
    // One event per type, project and 15 minutes: unique, and the same on every retry.
    let webhook_id = format!("msg_{}", &SecretHash::of(&format!("{client_id}\n{}\n{now_ms}", event.name())).as_str()[..24]);
    let Some(raised) = app.call(&shard_name(client_id, 0), Raise { event, webhook_id: webhook_id.clone() }).await? else {
        return Ok(());
    };
    let body = alerts::body(event, client_id, raised.count, now_ms, extra);
    let message = |operator: bool| Message { client_id: client_id.to_string(), webhook_id: webhook_id.clone(), kind: event, body: body.clone(), operator };
    if raised.webhook.is_some() {
        app.outbox.send(&crate::shard::to_json(&message(false))).await?;
    }
    if app.config.alert_webhook.is_some() {
        app.outbox.send(&crate::shard::to_json(&message(true))).await?;
    }
    Ok(())
}

/// [`raise`], its failure ignored (an alert never fails the request it is about).
pub async fn event<P: Platform>(app: &App<P>, client_id: &str, event: EventType, extra: Value, now_ms: u64) {
    let _ = raise(app, client_id, event, extra, now_ms).await;
}

/// One attempt's request: the URL, the Standard Webhooks headers, the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// The consumer's side: what to send for `message` now, or `None` when there is nowhere to
/// send it any more (the webhook was deleted or turned off).
pub async fn attempt<P: Platform>(app: &App<P>, message: &Message, now_ms: u64) -> Result<Option<Attempt>, OAuthError> {
    let (url, secret) = if message.operator {
        match &app.config.alert_webhook {
            Some((url, secret)) => (url.clone(), secret.clone()),
            None => return Ok(None),
        }
    } else {
        match app.call(&shard_name(&message.client_id, 0), GetWebhook {}).await? {
            Some(w) if !w.off && w.events.contains(&message.kind) => (w.url, w.secret),
            _ => return Ok(None),
        }
    };
    let timestamp = now_ms / 1000;
    let signature = alerts::sign(&app.crypto, &secret, &message.webhook_id, timestamp, &message.body).await.map_err(|e| OAuthError::ServerError(e.0))?;
    let headers = vec![
        ("content-type", "application/json".to_string()),
        ("webhook-id", message.webhook_id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
        ("user-agent", "edge-oauth-alerts".to_string()),
    ];
    Ok(Some(Attempt { url, headers, body: message.body.clone() }))
}

/// After attempt number `attempts` (1 for the first) answered `status` (`None`: a timeout or
/// network error): the delay before the next, or `None` when done (delivered, gone, or out of
/// retries). The project's delivery log records it.
pub async fn outcome<P: Platform>(app: &App<P>, message: &Message, status: Option<u16>, attempts: u32) -> Result<Option<u64>, OAuthError> {
    let next = retry_after(&app.config.alert_backoff, status, attempts);
    if !message.operator {
        let last = next.is_none();
        app.call(&shard_name(&message.client_id, 0), Attempted { webhook_id: message.webhook_id.clone(), status, last }).await?;
    }
    Ok(next)
}

/// Pure: `Some(delay)` to retry, `None` when done.
pub fn retry_after(backoff: &[u64], status: Option<u16>, attempts: u32) -> Option<u64> {
    match status {
        Some(s) if (200..300).contains(&s) || s == 410 => None,
        _ => backoff.get(attempts.saturating_sub(1) as usize).copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_backoff_until_it_runs_out() {
        let b = [5, 300];
        assert_eq!(retry_after(&b, Some(200), 1), None);
        assert_eq!(retry_after(&b, Some(299), 1), None);
        assert_eq!(retry_after(&b, Some(410), 1), None, "gone: no retry");
        assert_eq!(retry_after(&b, Some(500), 1), Some(5));
        assert_eq!(retry_after(&b, None, 2), Some(300), "a timeout is retried too");
        assert_eq!(retry_after(&b, Some(300), 3), None, "out of retries: failed");
        assert_eq!(retry_after(&b, Some(199), 1), Some(5));
    }
}
