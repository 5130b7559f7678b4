//! The authorization code grant at `/token` (RFC 6749 §4.1.3, RFC 7636 §4.5): redeem a code for
//! the family's first tokens, in one step in the shard that holds the code.

use super::{new_tokens, TokenResponse};
use crate::app::{App, Cx};
use crate::auth::client_auth::Authenticated;
use crate::auth::pkce;
use crate::error::OAuthError;
use crate::form::Params;
use crate::http::HttpRequest;
use crate::secret::AuthCode;
use crate::shard::codes::RedeemCode;
use crate::shard::route::route;
use crate::store::Platform;

pub async fn grant<P: Platform>(
    app: &App<P>,
    req: &HttpRequest,
    params: &Params,
    auth: &Authenticated,
    via_header: bool,
    cx: &mut Cx<'_>,
) -> Result<TokenResponse, OAuthError> {
    let code = AuthCode::new(params.required("code")?);
    let redirect_uri = params.single("redirect_uri")?.map(str::to_string);
    let verifier = params.single("code_verifier")?;
    let invalid = || OAuthError::InvalidGrant("the code is invalid, expired, used, or was issued to another client".into());
    // A code names the shard it lives in; one of another client never reaches this client's.
    let at = route(&crate::secret::AccessToken::new(code.expose())).filter(|r| r.is_of(&auth.client.client_id)).ok_or_else(invalid)?;
    // RFC 7636 §4.6: S256 of the verifier against the stored challenge (a malformed verifier
    // cannot match; a missing one neither).
    let challenge = verifier.filter(|v| pkce::well_formed(v)).map(pkce::s256).unwrap_or_default();
    let (access_token, refresh_token, tokens) = new_tokens(auth, req, params, at.shard, cx);
    let op = RedeemCode { hash: code.hash(), client_id: auth.client.client_id.clone(), generation: auth.generation, redirect_uri, challenge, tokens };
    let answer = app.call(&at.shard_name(), op).await?;
    TokenResponse::redeemed(answer, (access_token, refresh_token), cx.now_ms, invalid, via_header)
}
