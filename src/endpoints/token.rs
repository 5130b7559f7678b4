//! `POST /token` (RFC 6749 §3.2): authenticate the client, then hand the request to its grant.

use super::{form_body, require_post, Outcome};
use crate::app::{App, Cx};
use crate::auth::client_auth::authenticate;
use crate::auth::credentials::client_credentials;
use crate::client::GRANT_CLIENT_CREDENTIALS;
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
    if grant_type != GRANT_CLIENT_CREDENTIALS {
        return Err(OAuthError::UnsupportedGrantType);
    }
    if !client.client.settings.grant_types.iter().any(|g| g == grant_type) {
        return Err(OAuthError::UnauthorizedClient);
    }
    let response = grants::client_credentials::grant(app, req, &params, &client, creds.via_header, cx).await?;
    Ok(response.into_response())
}
