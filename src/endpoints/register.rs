//! `POST /register`: dynamic client registration (RFC 7591), when `REGISTRATION` is `open` or
//! `token`; with it off the path does not exist (404).
//!
//! The order of the steps is what makes a refused request change nothing:
//! 1. with `token`, an `Authorization: Bearer` credential must be present (RFC 7591 §3, RFC
//!    6750 §3: `401` with a bare challenge when it is missing);
//! 2. the metadata is validated in full (`400 invalid_redirect_uri` / `invalid_client_metadata`);
//! 3. the per-address rate limit counts the attempt (`429` with `Retry-After`);
//! 4. with `token`, one use of the initial access token is taken, atomically, in its object
//!    (`401 invalid_token` for an unknown, expired or used-up token);
//! 5. the client is stored in KV like one the admin API makes, marked `Origin::Registered`. A
//!    failure there gives the use back.

use super::{require_post, Outcome};
use crate::app::{App, Cx};
use crate::auth::credentials::{parse_authorization, Authorization};
use crate::client::registration::{parse, response};
use crate::client::{self, Client, ClientType, Origin};
use crate::config::Registration;
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::secret::{self, InitialAccessToken};
use crate::shard::registration::{ReturnUse, Use, UseToken, OBJECT};
use crate::store::Platform;
use serde_json::Value;

/// The counter of registrations per address, kept with the address's failure counters.
pub const REGISTRATIONS: &str = "registrations";
/// At most this many registrations per address per [`REGISTRATION_WINDOW_MS`]; then 429.
pub const REGISTRATIONS_PER_IP: u64 = 10;
pub const REGISTRATION_WINDOW_MS: u64 = 60_000;

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    let mode = app.config.registration;
    if mode == Registration::Off {
        return Err(OAuthError::NotFound);
    }
    require_post(req)?;
    let token = match mode {
        Registration::Token => Some(initial_access_token(req)?),
        _ => None,
    };
    let body = req.body_bytes().ok_or_else(|| OAuthError::InvalidClientMetadata("the body exceeds 8 KiB".into()))?;
    let meta = parse(body, &app.config.registration_scopes)?;

    let owner = format!("ip:{}", req.client_ip.as_deref().unwrap_or("unknown"));
    let d = app.count(&owner, REGISTRATIONS, REGISTRATION_WINDOW_MS, REGISTRATIONS_PER_IP, false).await?;
    if !d.allowed {
        return Err(OAuthError::TooManyRequests { retry_after: d.retry_after_s });
    }
    let hash = token.map(|t| t.hash());
    if let Some(hash) = &hash {
        match app.call(OBJECT, UseToken { hash: hash.clone() }).await? {
            Use::Used => {}
            Use::Unknown | Use::Expired | Use::UsedUp => return Err(OAuthError::InvalidToken),
        }
    }

    let client_id = secret::generate_client_id(cx.rng);
    let (mut client, client_secret) = match meta.settings.client_type {
        ClientType::Public => (Client::public(client_id, meta.settings.clone(), cx.now_ms), None),
        ClientType::Confidential => {
            let s = secret::generate_client_secret(cx.rng);
            (Client::new(client_id, meta.settings.clone(), &s, cx.now_ms), Some(s))
        }
    };
    client.origin = Origin::Registered;
    if let Err(e) = client::store::put(&app.kv, &client).await {
        if let Some(hash) = hash {
            // Best effort: if this fails too, the use is lost, never a client gained.
            let _ = app.call(OBJECT, ReturnUse { hash }).await;
        }
        return Err(e.into());
    }
    app.remember(&client.client_id, Some(&client), cx.now_ms);
    let body: Value = response(&client, &meta, client_secret.as_ref().map(|s| s.expose()));
    Ok(HttpResponse::json(201, &body).no_store())
}

/// The initial access token of a `token`-mode request: `Bearer` only. None at all (or another
/// scheme) is a missing credential; a malformed one is an invalid one.
fn initial_access_token(req: &HttpRequest) -> Result<InitialAccessToken, OAuthError> {
    match parse_authorization(req.header("authorization")) {
        Ok(Some(Authorization::Bearer(t))) => Ok(InitialAccessToken::new(t.expose())),
        Ok(None | Some(Authorization::Basic { .. } | Authorization::Other(_))) => Err(OAuthError::MissingToken),
        Err(_) => Err(OAuthError::InvalidToken),
    }
}
