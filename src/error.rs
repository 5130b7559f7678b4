//! The one error model: every failure a client can see, mapped to status, JSON body and
//! `WWW-Authenticate` in one place (RFC 6749 §5.2, RFC 6750 §3, RFC 7009, RFC 7662).

use crate::http::HttpResponse;
use serde_json::json;

/// A storage backend (KV, a Durable Object) failed; the message is for the log only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        OAuthError::Unavailable(e.0)
    }
}

/// The realm named in every challenge.
pub const REALM: &str = "edge-oauth";

/// Which protocol's conventions an error follows: the token-style endpoints (RFC 6749 §5.2:
/// `/token`, `/introspect`, `/revoke`), or a protected resource (RFC 6750 §3: `/validate`), or
/// the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    TokenEndpoint,
    Resource,
    Admin,
    /// A page a person sees (`/authorize`, `/login`, `/logout`, `/device`): errors are HTML.
    Page,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthError {
    /// Malformed request: missing or repeated parameter, wrong content type, bad header syntax.
    InvalidRequest(String),
    /// Client authentication failed. `challenge` is true when the client used (or should use)
    /// the `Authorization` header, which RFC 6749 §5.2 answers with 401 and a Basic challenge.
    InvalidClient {
        challenge: bool,
    },
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope(String),
    /// RFC 6749 §5.2: the code, refresh token, device code or subject is invalid, expired,
    /// revoked, or was issued to another client.
    InvalidGrant(String),
    /// RFC 8693 §2.2.2: `audience` or `resource` names a target we do not serve.
    InvalidTarget(String),
    /// A client authenticated with its own access token (RFC 8693, seed 004,
    /// `docs/http.md#token-exchange`), and the token is not a live client-credentials token of
    /// a live client: 401 with a Bearer challenge.
    InvalidClientToken,
    /// RFC 8628 §3.5: the person has not decided yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: polled faster than the interval; the interval grew by 5 s.
    SlowDown,
    /// The person denied the request.
    AccessDenied,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
    /// RFC 6750 §3.1: unknown, expired, revoked or wrong-IP token; deliberately one shape.
    InvalidToken,
    /// RFC 6750 §3: no credential at all: a bare challenge, no error code.
    MissingToken,
    /// RFC 6750 §3.1: the token lacks the scope the resource needs.
    InsufficientScope(String),
    MethodNotAllowed(&'static str),
    NotFound,
    /// Too many failed attempts or requests; `retry_after` in seconds.
    TooManyRequests {
        retry_after: u64,
    },
    /// Admin API: a field of the JSON body is invalid (or the JSON itself, field = "body").
    InvalidField {
        field: String,
        description: String,
    },
    /// Admin API: missing or wrong admin token.
    AdminUnauthorized,
    /// Admin API: the value of `field` is taken (a username).
    Conflict {
        field: &'static str,
        description: String,
    },
    /// A `409` with its own error code: `api_in_use`, `too_many_projects`.
    Refused {
        error: &'static str,
        description: String,
    },
    /// A form posted without a valid CSRF token.
    Forbidden(String),
    /// RFC 7591 §3.2.2: a redirect URI of a registration request is missing or invalid.
    InvalidRedirectUri(String),
    /// RFC 7591 §3.2.2: other client metadata of a registration request is invalid.
    InvalidClientMetadata(String),
    /// An internal failure. The detail is logged, never sent.
    ServerError(String),
    /// A storage backend failed or timed out; the client may retry. Logged, never sent.
    Unavailable(String),
}

impl OAuthError {
    pub fn invalid_request(description: impl Into<String>) -> Self {
        OAuthError::InvalidRequest(description.into())
    }

    pub fn field(field: &str, description: impl Into<String>) -> Self {
        OAuthError::InvalidField { field: field.to_string(), description: description.into() }
    }

    /// The RFC error code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) | OAuthError::InvalidField { .. } => "invalid_request",
            OAuthError::InvalidClient { .. } => "invalid_client",
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::InvalidTarget(_) => "invalid_target",
            OAuthError::InvalidClientToken => "invalid_client",
            OAuthError::AuthorizationPending => "authorization_pending",
            OAuthError::SlowDown => "slow_down",
            OAuthError::AccessDenied => "access_denied",
            OAuthError::ExpiredToken => "expired_token",
            OAuthError::Conflict { .. } => "conflict",
            OAuthError::Refused { error, .. } => error,
            OAuthError::Forbidden(_) => "forbidden",
            // RFC 6750 §3.1: a request with no credential at all is missing a required part.
            OAuthError::MissingToken => "invalid_request",
            OAuthError::InvalidToken | OAuthError::AdminUnauthorized => "invalid_token",
            OAuthError::InsufficientScope(_) => "insufficient_scope",
            OAuthError::MethodNotAllowed(_) => "method_not_allowed",
            OAuthError::NotFound => "not_found",
            OAuthError::TooManyRequests { .. } => "too_many_requests",
            OAuthError::InvalidRedirectUri(_) => "invalid_redirect_uri",
            OAuthError::InvalidClientMetadata(_) => "invalid_client_metadata",
            OAuthError::ServerError(_) => "server_error",
            OAuthError::Unavailable(_) => "temporarily_unavailable",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            OAuthError::InvalidRequest(_)
            | OAuthError::InvalidField { .. }
            | OAuthError::UnauthorizedClient
            | OAuthError::UnsupportedGrantType
            | OAuthError::InvalidScope(_)
            | OAuthError::InvalidGrant(_)
            | OAuthError::InvalidTarget(_)
            | OAuthError::AuthorizationPending
            | OAuthError::SlowDown
            | OAuthError::AccessDenied
            | OAuthError::ExpiredToken
            | OAuthError::InvalidRedirectUri(_)
            | OAuthError::InvalidClientMetadata(_) => 400,
            OAuthError::InvalidClient { .. }
            | OAuthError::InvalidClientToken
            | OAuthError::InvalidToken
            | OAuthError::MissingToken
            | OAuthError::AdminUnauthorized => 401,
            OAuthError::InsufficientScope(_) | OAuthError::Forbidden(_) => 403,
            OAuthError::Conflict { .. } | OAuthError::Refused { .. } => 409,
            OAuthError::NotFound => 404,
            OAuthError::MethodNotAllowed(_) => 405,
            OAuthError::TooManyRequests { .. } => 429,
            OAuthError::ServerError(_) => 500,
            OAuthError::Unavailable(_) => 503,
        }
    }

    pub fn description(&self) -> String {
        match self {
            OAuthError::InvalidRequest(d)
            | OAuthError::InvalidScope(d)
            | OAuthError::InvalidGrant(d)
            | OAuthError::InvalidTarget(d)
            | OAuthError::Forbidden(d)
            | OAuthError::InvalidRedirectUri(d)
            | OAuthError::InvalidClientMetadata(d) => d.clone(),
            OAuthError::InvalidClientToken => "client authentication failed: the access token is not a live token of a client".into(),
            OAuthError::Conflict { description, .. } | OAuthError::Refused { description, .. } => description.clone(),
            OAuthError::InvalidField { description, .. } => description.clone(),
            OAuthError::InvalidClient { .. } => "client authentication failed".into(),
            OAuthError::UnauthorizedClient => "the client is not allowed to use this grant type".into(),
            OAuthError::UnsupportedGrantType => "the grant type is not supported".into(),
            OAuthError::AuthorizationPending => "the person has not approved or denied the request yet".into(),
            OAuthError::SlowDown => "polled too fast: wait 5 seconds longer between polls".into(),
            OAuthError::AccessDenied => "the person denied the request".into(),
            OAuthError::ExpiredToken => "the device code has expired; start again".into(),
            OAuthError::InvalidToken => "the access token is invalid".into(),
            OAuthError::MissingToken => "no access token was presented".into(),
            OAuthError::InsufficientScope(_) => "the access token lacks the required scope".into(),
            OAuthError::MethodNotAllowed(allow) => format!("method not allowed; use {allow}"),
            OAuthError::NotFound => "not found".into(),
            OAuthError::TooManyRequests { .. } => "too many requests; retry later".into(),
            OAuthError::AdminUnauthorized => "missing or wrong admin token".into(),
            OAuthError::ServerError(_) => "internal server error".into(),
            OAuthError::Unavailable(_) => "storage is temporarily unavailable; retry".into(),
        }
    }

    /// The one mapping from error to HTTP response.
    pub fn to_response(&self, surface: Surface) -> HttpResponse {
        let code = self.code();
        let description = self.description();
        let body = match self {
            OAuthError::InvalidField { field, .. } => {
                json!({"error": code, "error_description": description, "field": field})
            }
            OAuthError::Conflict { field, .. } => json!({"error": code, "error_description": description, "field": field}),
            _ => json!({"error": code, "error_description": description}),
        };
        let mut resp = match surface {
            Surface::Page => self.page(&description),
            _ => HttpResponse::json(self.status(), &body).no_store(),
        };

        let bearer = |error: Option<&str>, scope: Option<&str>| {
            let mut v = format!("Bearer realm=\"{REALM}\"");
            if let Some(e) = error {
                v.push_str(&format!(", error=\"{e}\""));
            }
            if let Some(s) = scope {
                v.push_str(&format!(", scope=\"{s}\""));
            }
            v
        };
        match (self, surface) {
            (OAuthError::InvalidClient { challenge: true }, _) => {
                resp.headers.push(("www-authenticate", format!("Basic realm=\"{REALM}\"")));
            }
            (OAuthError::InvalidToken | OAuthError::InvalidClientToken, _) => {
                resp.headers.push(("www-authenticate", bearer(Some("invalid_token"), None)));
            }
            (OAuthError::MissingToken, _) => {
                resp.headers.push(("www-authenticate", bearer(None, None)));
            }
            (OAuthError::InsufficientScope(scope), _) => {
                resp.headers.push(("www-authenticate", bearer(Some("insufficient_scope"), Some(scope))));
            }
            (OAuthError::InvalidRequest(_), Surface::Resource) => {
                resp.headers.push(("www-authenticate", bearer(Some("invalid_request"), None)));
            }
            (OAuthError::AdminUnauthorized, _) => {
                resp.headers.push(("www-authenticate", format!("Bearer realm=\"{REALM}-admin\"")));
            }
            (OAuthError::MethodNotAllowed(allow), _) => {
                resp.headers.push(("allow", (*allow).to_string()));
            }
            (OAuthError::TooManyRequests { retry_after }, _) => {
                resp.headers.push(("retry-after", retry_after.max(&1).to_string()));
            }
            (OAuthError::Unavailable(_), _) => {
                resp.headers.push(("retry-after", "1".into()));
            }
            _ => {}
        }
        if let OAuthError::ServerError(detail) | OAuthError::Unavailable(detail) = self {
            resp.log = Some(format!("{code}: {detail}"));
        }
        resp
    }

    /// The same error as a page for a person.
    fn page(&self, description: &str) -> HttpResponse {
        let title = match self {
            OAuthError::Forbidden(_) => "This form has expired",
            OAuthError::TooManyRequests { .. } => "Too many attempts",
            OAuthError::ServerError(_) => "Something went wrong",
            OAuthError::Unavailable(_) => "Please try again",
            OAuthError::NotFound => "Page not found",
            OAuthError::MethodNotAllowed(_) => "This page cannot do that",
            _ => "This request cannot be completed",
        };
        let detail = match self {
            OAuthError::Forbidden(_) => "Please go back, reload the page and try again.".to_string(),
            _ => description.to_string(),
        };
        crate::pages::error(self.status(), title, &detail)
    }
}

/// Tests: the field a `400` names (panics on any other error).
#[cfg(test)]
pub fn field_of(e: OAuthError) -> String {
    match e {
        OAuthError::InvalidField { field, .. } => field,
        other => panic!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_with_and_without_challenge() {
        let r = OAuthError::InvalidClient { challenge: true }.to_response(Surface::TokenEndpoint);
        assert_eq!(r.status, 401);
        assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"edge-oauth\""));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("pragma"), Some("no-cache"));
        assert_eq!(r.body_json()["error"], "invalid_client");
        let r = OAuthError::InvalidClient { challenge: false }.to_response(Surface::TokenEndpoint);
        assert_eq!(r.status, 401);
        assert_eq!(r.header("www-authenticate"), None);
    }

    #[test]
    fn bearer_challenges() {
        let r = OAuthError::InvalidToken.to_response(Surface::Resource);
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"edge-oauth\", error=\"invalid_token\""));
        let r = OAuthError::MissingToken.to_response(Surface::Resource);
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"edge-oauth\""));
        assert_eq!((r.status, r.body_json()["error"].as_str()), (401, Some("invalid_request")));
        let r = OAuthError::InsufficientScope("write".into()).to_response(Surface::Resource);
        assert_eq!(r.status, 403);
        assert_eq!(r.body_json()["error"], "insufficient_scope");
        let r = OAuthError::invalid_request("x").to_response(Surface::Resource);
        assert_eq!(r.status, 400);
        assert!(r.header("www-authenticate").unwrap().contains("invalid_request"));
        let r = OAuthError::invalid_request("x").to_response(Surface::TokenEndpoint);
        assert_eq!(r.header("www-authenticate"), None);
    }

    #[test]
    fn internal_detail_is_logged_not_sent() {
        let r = OAuthError::ServerError("kv exploded: secret-ish detail".into()).to_response(Surface::TokenEndpoint);
        assert_eq!(r.status, 500);
        assert!(!String::from_utf8_lossy(&r.body).contains("exploded"));
        assert!(r.log.unwrap().contains("exploded"));
    }

    #[test]
    fn field_errors_name_the_field() {
        let r = OAuthError::field("token_ttl", "must be a positive integer").to_response(Surface::Admin);
        assert_eq!(r.status, 400);
        assert_eq!(r.body_json()["field"], "token_ttl");
    }

    #[test]
    fn the_body_carries_the_code() {
        let all = [
            OAuthError::invalid_request("x"),
            OAuthError::InvalidClient { challenge: true },
            OAuthError::UnauthorizedClient,
            OAuthError::UnsupportedGrantType,
            OAuthError::InvalidScope("x".into()),
            OAuthError::InvalidToken,
            OAuthError::MissingToken,
            OAuthError::InsufficientScope("x".into()),
            OAuthError::MethodNotAllowed("POST"),
            OAuthError::NotFound,
            OAuthError::TooManyRequests { retry_after: 1 },
            OAuthError::field("f", "x"),
            OAuthError::AdminUnauthorized,
            OAuthError::ServerError("x".into()),
            OAuthError::Unavailable("x".into()),
            OAuthError::InvalidGrant("x".into()),
            OAuthError::Conflict { field: "username", description: "x".into() },
            OAuthError::Refused { error: "api_in_use", description: "x".into() },
            OAuthError::Forbidden("x".into()),
            OAuthError::InvalidTarget("x".into()),
            OAuthError::InvalidClientToken,
            OAuthError::AuthorizationPending,
            OAuthError::SlowDown,
            OAuthError::AccessDenied,
            OAuthError::ExpiredToken,
            OAuthError::InvalidRedirectUri("x".into()),
            OAuthError::InvalidClientMetadata("x".into()),
        ];
        for e in all {
            let r = e.to_response(Surface::Resource);
            assert_eq!(r.body_json()["error"], e.code(), "{e:?}");
            assert_eq!(r.status, e.status(), "{e:?}");
        }
    }

    #[test]
    fn rate_limit_and_method() {
        let r = OAuthError::TooManyRequests { retry_after: 30 }.to_response(Surface::TokenEndpoint);
        assert_eq!((r.status, r.header("retry-after")), (429, Some("30")));
        let r = OAuthError::MethodNotAllowed("POST").to_response(Surface::TokenEndpoint);
        assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    }
}
