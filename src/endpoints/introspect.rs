//! `POST /introspect` (RFC 7662): is a token live, and what is it? Not a use.

use super::{form_body, require_post, Outcome};
use crate::app::{App, Cx};
use crate::auth::client_auth::{authenticate, Authenticated};
use crate::auth::credentials::client_credentials;
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::secret::AccessToken;
use crate::shard::route::route;
use crate::shard::tokens::Introspect;
use crate::store::Platform;
use serde_json::json;

/// The request shape RFC 7662 §2.1 and RFC 7009 §2.1 share: a POSTed form with `token` (and an
/// optional, unneeded `token_type_hint`), from an authenticated client.
pub async fn token_about<P: Platform>(app: &App<P>, req: &HttpRequest, now_ms: u64) -> Result<(Authenticated, AccessToken), OAuthError> {
    require_post(req)?;
    let params = form_body(req)?;
    let creds = client_credentials(req.header("authorization"), &params)?;
    let token = AccessToken::new(params.required("token")?);
    params.single("token_type_hint")?;
    let caller = authenticate(app, &creds, req, now_ms).await?;
    Ok((caller, token))
}

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    let (caller, token) = token_about(app, req, cx.now_ms).await?;
    // A public client proves nothing about itself: it may not introspect (RFC 7662 §2.1).
    if caller.client.is_public() {
        return Err(OAuthError::InvalidClient { challenge: false });
    }
    let inactive = || Ok(HttpResponse::json(200, &json!({"active": false})).no_store());
    let Some(at) = route(&token) else { return inactive() };
    // A client sees its own tokens; only an `introspect: true` client sees others'.
    if !at.is_of(&caller.client.client_id) && !caller.client.settings.introspect {
        return inactive();
    }
    match app.call(&at.shard_name(), Introspect { hash: at.hash.clone() }).await? {
        Some(view) => Ok(HttpResponse::json(200, &serde_json::to_value(view).unwrap_or_default()).no_store()),
        None => inactive(),
    }
}
