//! One module per grant type. Each turns a token request from an authenticated client into a
//! [`TokenResponse`], the one response shape every grant uses (RFC 6749 §5.1).

pub mod client_credentials;

use crate::http::HttpResponse;
use crate::secret::AccessToken;
use serde_json::{json, Value};

/// A successful token response.
#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: AccessToken,
    pub expires_in: u64,
    /// When it was issued, in milliseconds (seed 000's `issued_at`).
    pub issued_at_ms: u64,
    /// The granted scopes; absent from the response when there are none.
    pub scope: Vec<String>,
}

impl TokenResponse {
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
        // RFC 6749 §5.1: token responses are never cached.
        HttpResponse::json(200, &body).no_store()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_shape() {
        let r = TokenResponse { access_token: AccessToken::new("t"), expires_in: 300, issued_at_ms: 5, scope: vec![] };
        let r = r.into_response();
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("pragma"), Some("no-cache"));
        assert_eq!(r.body_json(), json!({"access_token": "t", "token_type": "Bearer", "expires_in": 300, "issued_at": 5}));
        let r = TokenResponse { access_token: AccessToken::new("t"), expires_in: 1, issued_at_ms: 5, scope: vec!["a".into(), "b".into()] };
        assert_eq!(r.into_response().body_json()["scope"], "a b");
    }
}
