//! The client credentials grant (RFC 6749 §4.4): a client asks for a token for itself.

use super::TokenResponse;
use crate::app::{App, Cx};
use crate::auth::client_auth::Authenticated;
use crate::error::OAuthError;
use crate::form::Params;
use crate::http::HttpRequest;
use crate::scope;
use crate::shard::route::{generate, route};
use crate::shard::tokens::{Issue, Issued, TokenRecord};
use crate::store::Platform;

pub async fn grant<P: Platform>(
    app: &App<P>,
    req: &HttpRequest,
    params: &Params,
    auth: &Authenticated,
    via_header: bool,
    cx: &mut Cx<'_>,
) -> Result<TokenResponse, OAuthError> {
    let client = &auth.client;
    // RFC 6749 §3.3: absent, the client's scopes; present, a subset of them.
    let scopes = scope::grant(params.single("scope")?, &client.settings.scopes)?;
    // RFC 8707 §2: the token is for the resources named, each one of the client's; none named,
    // it is not bound to any (`/validate?resource=` then admits only the client's resources).
    let requested = super::req_resources(params);
    let aud = match requested.is_empty() {
        true => Vec::new(),
        false => crate::resource::select(&requested, auth.client.resources(&app.config.resources))?,
    };

    let access_token = generate(&client.client_id, cx.rng);
    let at = route(&access_token).ok_or_else(|| OAuthError::ServerError("generated token does not route".into()))?;
    let record = TokenRecord { aud, ..TokenRecord::new(client, auth.generation, scopes, req.client_ip.as_deref(), cx.now_ms) };
    let response = TokenResponse::new(access_token, None, record.scope.clone(), record.expires_at_ms(), cx.now_ms);
    match app.call(&at.shard_name(), Issue { hash: at.hash, record }).await? {
        Issued::Issued => Ok(response),
        // KV said the client was fine, but the shard's gate (the authority) says it is
        // deleted, disabled or rotated away.
        Issued::ClientGone => Err(OAuthError::InvalidClient { challenge: via_header }),
    }
}
