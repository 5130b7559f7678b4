//! Who is asking: the credentials a request carries and how they are checked.
//!
//! - [`credentials`]: parsing `Authorization` (Basic, Bearer) and `client_secret_post`.
//! - [`client_auth`]: client authentication with brute-force protection.
//! - [`crypto`]: the crypto seam (PBKDF2, RS256/ES256 verification).
//! - [`password`]: password hashing policy (PBKDF2-HMAC-SHA256).
//! - [`pkce`]: RFC 7636 S256.
//! - [`session`]: the session and CSRF cookies.

pub mod client_auth;
pub mod credentials;
pub mod crypto;
pub mod password;
pub mod pkce;
pub mod session;
