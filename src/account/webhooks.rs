//! A project's webhook, shared by the Account API (JSON) and the console (a form): the same
//! URL rules ([`alerts::check_url`]), the same event names, a new signing secret each time it
//! is set (shown only then). The caller has already checked that the project is the person's.

use crate::alerts::{self, EventType};
use crate::app::App;
use crate::error::OAuthError;
use crate::secret::Random;
use crate::shard::route::shard_name;
use crate::shard::webhooks::{DeleteWebhook, GetWebhook, SetWebhook, Webhook};
use crate::store::Platform;

/// Event names as given (duplicates dropped, in order); at least one, each a contract type.
pub fn events_named<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Vec<EventType>, OAuthError> {
    let mut out = Vec::new();
    for name in names {
        let t = EventType::parse(name).ok_or_else(|| OAuthError::field("events", "events names the contract's event types"))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.is_empty() {
        return Err(OAuthError::field("events", "events is a non-empty list of event types"));
    }
    Ok(out)
}

/// Set (or replace) the webhook of `client_id`: the URL checked first, then a new secret.
pub async fn set<P: Platform>(
    app: &App<P>,
    client_id: &str,
    url: &str,
    events: Vec<EventType>,
    now_ms: u64,
    rng: &mut dyn Random,
) -> Result<Webhook, OAuthError> {
    alerts::check_url(url)?;
    let webhook = Webhook { url: url.to_string(), events, secret: alerts::new_secret(rng), created_ms: now_ms, off: false };
    app.call(&shard_name(client_id, 0), SetWebhook { webhook: webhook.clone() }).await?;
    Ok(webhook)
}

pub async fn get<P: Platform>(app: &App<P>, client_id: &str) -> Result<Option<Webhook>, OAuthError> {
    app.call(&shard_name(client_id, 0), GetWebhook {}).await
}

/// `true` when there was one.
pub async fn delete<P: Platform>(app: &App<P>, client_id: &str) -> Result<bool, OAuthError> {
    app.call(&shard_name(client_id, 0), DeleteWebhook {}).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_the_contracts_at_least_one_without_duplicates() {
        assert_eq!(events_named(["key.rotated", "token.wrong_ip", "key.rotated"]).unwrap(), vec![EventType::KeyRotated, EventType::TokenWrongIp]);
        assert!(matches!(events_named([]), Err(OAuthError::InvalidField { field, .. }) if field == "events"));
        assert!(matches!(events_named(["key.rotated", "key.stolen"]), Err(OAuthError::InvalidField { field, .. }) if field == "events"));
    }
}
