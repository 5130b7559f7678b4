//! Alerts on a Cloudflare Queue (binding `ALERTS`): the producer ([`QueueOutbox`]). The
//! consumer's two steps are `alert_attempt` and `alert_outcome` in [`super`].

use super::futures;
use crate::error::StoreError;
use crate::store::Outbox;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;

/// `env.ALERTS`; without the binding, alerts go nowhere.
pub struct QueueOutbox(JsValue);

impl QueueOutbox {
    pub fn new(env: &JsValue) -> Self {
        QueueOutbox(Reflect::get(env, &JsValue::from_str("ALERTS")).unwrap_or(JsValue::UNDEFINED))
    }
}

impl Outbox for QueueOutbox {
    async fn send(&self, message: &str) -> Result<(), StoreError> {
        if self.0.is_undefined() {
            return Ok(());
        }
        futures::invoke(&self.0, "send", &[JsValue::from_str(message)]).await.map(|_| ()).map_err(|e| StoreError(format!("queue send: {e:?}")))
    }
}

/// `ALERT_WEBHOOK_URL` with `ALERT_WEBHOOK_SECRET`, both set and the URL by the rules.
pub fn operator_webhook(url: Option<String>, secret: Option<String>) -> Option<(String, String)> {
    match (url, secret) {
        (Some(u), Some(s)) if !s.is_empty() && crate::alerts::check_url(&u).is_ok() => Some((u, s)),
        _ => None,
    }
}
