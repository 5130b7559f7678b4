//! `/admin/users/{id}/identities`: the links between a person and upstream identity providers.
//! A pair (provider, subject) belongs to at most one person: its claim object
//! ([`provider::link_object`]) is claimed first, then the person's side is written.

use crate::app::App;
use crate::endpoints::Outcome;
use crate::error::OAuthError;
use crate::http::HttpResponse;
use crate::provider;
use crate::shard::names::{Claim, Release};
use crate::shard::users::identities::{Identities, Identity, Link, Linked, Unlink};
use crate::store::Platform;
use crate::user;
use serde_json::{json, Value};

fn view(i: &Identity) -> Value {
    json!({"provider_id": i.provider_id, "subject": i.subject})
}

/// The person's view with its `identities`.
pub async fn with_identities<P: Platform>(app: &App<P>, user_id: &str, mut view: Value) -> Result<Value, OAuthError> {
    let all = app.call(&user::object_name(user_id), Identities {}).await?.unwrap_or_default();
    view["identities"] = Value::Array(all.iter().map(self::view).collect());
    Ok(view)
}

/// `POST /admin/users/{id}/identities {"provider_id", "subject"}`.
pub async fn link<P: Platform>(app: &App<P>, user_id: &str, body: &[u8], now_ms: u64) -> Outcome {
    let obj = crate::client::settings::json_object(body, false)?;
    if let Some(k) = obj.keys().find(|k| !["provider_id", "subject"].contains(&k.as_str())) {
        return Err(OAuthError::field(k, "unknown field"));
    }
    let provider_id = obj.get("provider_id").and_then(Value::as_str).ok_or_else(|| OAuthError::field("provider_id", "provider_id is required"))?;
    let subject = match obj.get("subject") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => s.clone(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        _ => return Err(OAuthError::field("subject", "subject must be a non-empty string (the provider's subject, compared exactly)")),
    };
    if provider::get(&app.kv, provider_id).await?.is_none() {
        return Err(OAuthError::field("provider_id", format!("unknown provider_id {provider_id}")));
    }
    let object = user::object_name(user_id);
    app.call(&object, crate::shard::users::GetUser {}).await?.ok_or(OAuthError::NotFound)?;
    let claim = provider::link_object(provider_id, &subject);
    if app.call(&claim, Claim { user_id: user_id.to_string() }).await?.is_some() {
        return Err(OAuthError::Conflict { field: "subject", description: "this identity is linked to another person".into() });
    }
    let identity = Identity { provider_id: provider_id.to_string(), subject: subject.clone(), created_at: now_ms };
    match app.call(&object, Link { identity: identity.clone() }).await? {
        Linked::Linked => Ok(HttpResponse::json(201, &view(&identity)).no_store()),
        other => {
            app.call(&claim, Release { user_id: user_id.to_string() }).await?;
            match other {
                Linked::OtherSubject => Err(OAuthError::Conflict {
                    field: "provider_id",
                    description: "this person is linked to another identity of that provider; unlink it first".into(),
                }),
                _ => Err(OAuthError::NotFound),
            }
        }
    }
}

/// `DELETE /admin/users/{id}/identities/{provider_id}`.
pub async fn unlink<P: Platform>(app: &App<P>, user_id: &str, provider_id: &str) -> Outcome {
    let had = app.call(&user::object_name(user_id), Unlink { provider_id: provider_id.to_string() }).await?.ok_or(OAuthError::NotFound)?;
    app.call(&provider::link_object(&had.provider_id, &had.subject), Release { user_id: user_id.to_string() }).await?;
    Ok(HttpResponse::new(204))
}
