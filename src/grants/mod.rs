//! One module per grant type. Each turns a token request from an authenticated client into a
//! [`TokenResponse`], the one response shape every grant uses (RFC 6749 §5.1).

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod exchange;
pub mod refresh_token;

use crate::app::Cx;
use crate::auth::client_auth::Authenticated;
use crate::client::GRANT_REFRESH_TOKEN;
use crate::error::OAuthError;
use crate::form::Params;
use crate::http::{HttpRequest, HttpResponse};
use crate::secret::{random_string, AccessToken, RefreshToken};
use crate::shard::route::generate_in;
use crate::shard::start::{NewTokens, Redeemed};
use crate::shard::tokens::TokenRecord;
use serde_json::{json, Value};

/// A successful token response.
#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: AccessToken,
    pub expires_in: u64,
    /// When it was issued, in milliseconds (seed 000's `issued_at`; `docs/http.md#token-endpoint`).
    pub issued_at_ms: u64,
    /// The granted scopes; absent from the response when there are none.
    pub scope: Vec<String>,
    pub refresh_token: Option<RefreshToken>,
}

impl TokenResponse {
    /// Tokens issued at `now_ms` whose access token expires at `expires_at_ms`.
    pub fn new(access_token: AccessToken, refresh_token: Option<RefreshToken>, scope: Vec<String>, expires_at_ms: u64, now_ms: u64) -> TokenResponse {
        TokenResponse { access_token, expires_in: expires_at_ms.saturating_sub(now_ms) / 1000, issued_at_ms: now_ms, scope, refresh_token }
    }

    /// The shard's answer to redeeming a person's approval (a code, a device code): the tokens
    /// made for it, `invalid` when the approval is not there to redeem, or `invalid_client`
    /// when the client's gate has closed meanwhile.
    pub fn redeemed(
        answer: Redeemed,
        (access_token, refresh_token): (AccessToken, Option<RefreshToken>),
        now_ms: u64,
        invalid: impl FnOnce() -> OAuthError,
        via_header: bool,
    ) -> Result<TokenResponse, OAuthError> {
        match answer {
            Redeemed::Issued(issued) => Ok(TokenResponse::new(access_token, refresh_token, issued.scope, issued.expires_at_ms, now_ms)),
            Redeemed::InvalidGrant => Err(invalid()),
            Redeemed::ClientGone => Err(OAuthError::InvalidClient { challenge: via_header }),
            Redeemed::InvalidTarget => Err(not_authorized_resource()),
        }
    }

    pub fn into_response(self) -> HttpResponse {
        let mut body = json!({
            "access_token": self.access_token.expose(),
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "issued_at": self.issued_at_ms,
        });
        if !self.scope.is_empty() {
            body["scope"] = Value::String(self.scope.join(" "));
        }
        if let Some(r) = &self.refresh_token {
            body["refresh_token"] = Value::String(r.expose().to_string());
        }
        // RFC 6749 §5.1: token responses are never cached.
        HttpResponse::json(200, &body).no_store()
    }
}

/// RFC 8707 §2.2: a `resource` at `/token` must be among those the person authorized.
pub fn not_authorized_resource() -> OAuthError {
    OAuthError::InvalidTarget("a resource was named that this authorization does not cover".into())
}

/// Tokens for a person's grant, made to live in `shard` of the client (the shard of that
/// client and user): an access token, a refresh token when the client has that grant, and the
/// client's token settings. The plaintext stays here; the shard gets hashes.
pub fn new_tokens(auth: &Authenticated, req: &HttpRequest, params: &Params, shard: u8, cx: &mut Cx<'_>) -> (AccessToken, Option<RefreshToken>, NewTokens) {
    let client = &auth.client;
    let access = generate_in(&client.client_id, shard, cx.rng);
    let refresh = client.settings.allows(GRANT_REFRESH_TOKEN).then(|| RefreshToken::new(generate_in(&client.client_id, shard, cx.rng).expose()));
    let tokens = NewTokens {
        family_id: random_string(cx.rng, 16),
        access: access.hash(),
        refresh: refresh.as_ref().map(|r| r.hash()),
        template: TokenRecord::new(client, auth.generation, Vec::new(), req.client_ip.as_deref(), cx.now_ms),
        refresh_ttl_s: client.settings.refresh_token_ttl,
        resources: req_resources(params),
    };
    (access, refresh, tokens)
}

/// The `resource` values of a token request (RFC 8707 §2: repeatable).
pub fn req_resources(params: &Params) -> Vec<String> {
    params.all("resource").into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_shape() {
        let r = TokenResponse { access_token: AccessToken::new("t"), expires_in: 300, issued_at_ms: 5, scope: vec![], refresh_token: None };
        let r = r.into_response();
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("pragma"), Some("no-cache"));
        assert_eq!(r.body_json(), json!({"access_token": "t", "token_type": "Bearer", "expires_in": 300, "issued_at": 5}));
        let r = TokenResponse {
            access_token: AccessToken::new("t"),
            expires_in: 1,
            issued_at_ms: 5,
            scope: vec!["a".into(), "b".into()],
            refresh_token: Some(RefreshToken::new("r")),
        };
        let v = r.into_response().body_json();
        assert_eq!((v["scope"].as_str(), v["refresh_token"].as_str()), (Some("a b"), Some("r")));
    }
}
