//! Who is asking: the credentials a request carries and how they are checked.
//!
//! - [`credentials`]: parsing `Authorization` (Basic, Bearer) and `client_secret_post`.
//! - [`client_auth`]: client authentication with brute-force protection.
//! - [`crypto`]: the crypto seam (PBKDF2, RS256/ES256 verification).
//! - [`jwt`], [`jwks`], [`keyset`]: verifying someone else's JWTs (a trusted issuer's, an
//!   identity provider's ID tokens), their key sets, and the cached keys with their refetch rules.
//! - [`password`]: password hashing policy (PBKDF2-HMAC-SHA256).
//! - [`pkce`]: RFC 7636 S256.
//! - [`session`]: the session and CSRF cookies.
//! - [`user_code`]: RFC 8628 user codes.

pub mod client_auth;
pub mod credentials;
pub mod crypto;
pub mod jwks;
pub mod jwt;
pub mod keyset;
pub mod password;
pub mod pkce;
pub mod session;
pub mod user_code;
