//! The device code grant at `/token` (RFC 8628 §3.4): the device polls; once the person
//! approved, the approval waiting in the user's shard is redeemed, once.

use super::{new_tokens, TokenResponse};
use crate::app::{App, Cx};
use crate::auth::client_auth::Authenticated;
use crate::auth::user_code::UserCode;
use crate::error::OAuthError;
use crate::form::Params;
use crate::http::HttpRequest;
use crate::secret::SecretHash;
use crate::shard::devices::{PollDevice, Polled, RedeemDevice};
use crate::shard::route::{shard_name, user_shard};
use crate::store::Platform;

pub async fn grant<P: Platform>(
    app: &App<P>,
    req: &HttpRequest,
    params: &Params,
    auth: &Authenticated,
    via_header: bool,
    cx: &mut Cx<'_>,
) -> Result<TokenResponse, OAuthError> {
    let device_code = params.required("device_code")?;
    let invalid = || OAuthError::InvalidGrant("the device code is invalid, was issued to another client, or was used".into());
    // A device code names its flow's object: `{user code}.{secret}`.
    let code = device_code.split_once('.').and_then(|(c, _)| UserCode::parse(c)).ok_or_else(invalid)?;
    let hash = SecretHash::of(device_code);
    let client = &auth.client;
    let op = PollDevice { device_code: hash.clone(), client_id: client.client_id.clone(), resources: super::req_resources(params) };
    let user_id = match app.call(&code.object(), op).await? {
        Polled::Approved { user_id } => user_id,
        Polled::Pending => return Err(OAuthError::AuthorizationPending),
        Polled::SlowDown => return Err(OAuthError::SlowDown),
        Polled::Denied => return Err(OAuthError::AccessDenied),
        Polled::Expired => return Err(OAuthError::ExpiredToken),
        Polled::Invalid => return Err(invalid()),
        Polled::InvalidTarget => return Err(super::not_authorized_resource()),
    };
    let shard = user_shard(&user_id);
    let (access_token, refresh_token, tokens) = new_tokens(auth, req, params, shard, cx);
    let op = RedeemDevice { device_code: hash, client_id: client.client_id.clone(), generation: auth.generation, tokens };
    let answer = app.call(&shard_name(&client.client_id, shard), op).await?;
    TokenResponse::redeemed(answer, (access_token, refresh_token), cx.now_ms, invalid, via_header)
}
