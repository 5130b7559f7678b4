//! `POST /token` (RFC 6749 §3.2): authenticate the client, then hand the request to its grant.

use super::{form_body, require_post, Outcome};
use crate::app::{App, Cx};
use crate::auth::client_auth::authenticate;
use crate::auth::credentials::client_credentials;
use crate::client::{GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_REFRESH_TOKEN, GRANT_TYPES};
use crate::error::OAuthError;
use crate::grants;
use crate::http::HttpRequest;
use crate::store::Platform;

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    require_post(req)?;
    let params = form_body(req)?;
    let creds = client_credentials(req.header("authorization"), &params)?;
    let grant_type = params.required("grant_type")?;
    // A repeated parameter makes the request malformed (§3.2), whoever sends it.
    params.single("scope")?;
    let client = authenticate(app, &creds, req, cx.now_ms).await?;

    // RFC 6749 §5.2: a grant we do not know is `unsupported_grant_type`; one this client may
    // not use is `unauthorized_client`.
    if !GRANT_TYPES.contains(&grant_type) {
        return Err(OAuthError::UnsupportedGrantType);
    }
    if !client.client.settings.allows(grant_type) {
        return Err(OAuthError::UnauthorizedClient);
    }
    let via_header = creds.via_header;
    let response = match grant_type {
        GRANT_CLIENT_CREDENTIALS => grants::client_credentials::grant(app, req, &params, &client, via_header, cx).await?,
        GRANT_AUTHORIZATION_CODE => grants::authorization_code::grant(app, req, &params, &client, via_header, cx).await?,
        GRANT_REFRESH_TOKEN => grants::refresh_token::grant(app, req, &params, &client, via_header, cx).await?,
        _ => return Err(OAuthError::UnsupportedGrantType),
    };
    Ok(response.into_response())
}
