//! `POST /token` (RFC 6749 §3.2): authenticate the client, then hand the request to its grant.

use super::{form_body, require_post, Outcome};
use crate::app::{App, Cx};
use crate::auth::client_auth::{authenticate, by_token};
use crate::auth::credentials::{client_credentials, parse_authorization, Authorization};
use crate::client::{GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN, GRANT_TOKEN_EXCHANGE, GRANT_TYPES};
use crate::error::OAuthError;
use crate::grants;
use crate::http::HttpRequest;
use crate::store::Platform;

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    require_post(req)?;
    let params = form_body(req)?;
    // Seed 004: in a token exchange a client may authenticate with its own access token.
    let own_token = match parse_authorization(req.header("authorization"))? {
        Some(Authorization::Bearer(t)) if params.single("grant_type")? == Some(GRANT_TOKEN_EXCHANGE) => Some(t),
        _ => None,
    };
    let (client, via_header) = match &own_token {
        Some(token) => {
            if params.contains("client_secret") {
                return Err(OAuthError::invalid_request("use one client authentication method: the access token or client_secret, not both"));
            }
            params.single("scope")?;
            let client = by_token(app, token, req, cx.now_ms).await?;
            if params.single("client_id")?.is_some_and(|id| id != client.client.client_id) {
                return Err(OAuthError::invalid_request("client_id differs from the client the access token belongs to"));
            }
            (client, true)
        }
        None => {
            let creds = client_credentials(req.header("authorization"), &params)?;
            params.required("grant_type")?;
            // A repeated parameter makes the request malformed (§3.2), whoever sends it.
            params.single("scope")?;
            (authenticate(app, &creds, req, cx.now_ms).await?, creds.via_header)
        }
    };
    let grant_type = params.required("grant_type")?;

    // RFC 6749 §5.2: a grant we do not know is `unsupported_grant_type`; one this client may
    // not use is `unauthorized_client`.
    if !GRANT_TYPES.contains(&grant_type) {
        return Err(OAuthError::UnsupportedGrantType);
    }
    if !client.client.settings.allows(grant_type) {
        return Err(OAuthError::UnauthorizedClient);
    }
    let response = match grant_type {
        GRANT_CLIENT_CREDENTIALS => grants::client_credentials::grant(app, req, &params, &client, via_header, cx).await?,
        GRANT_AUTHORIZATION_CODE => grants::authorization_code::grant(app, req, &params, &client, via_header, cx).await?,
        GRANT_REFRESH_TOKEN => grants::refresh_token::grant(app, req, &params, &client, via_header, cx).await?,
        GRANT_DEVICE_CODE => grants::device_code::grant(app, req, &params, &client, via_header, cx).await?,
        GRANT_TOKEN_EXCHANGE => {
            let r = grants::exchange::grant(app, req, &params, &client, own_token.as_ref(), cx).await?;
            return Ok(grants::exchange::with_issued_token_type(r.into_response()));
        }
        _ => return Err(OAuthError::UnsupportedGrantType),
    };
    Ok(response.into_response())
}
