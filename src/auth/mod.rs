//! Who is asking: the credentials a request carries and how they are checked.
//!
//! - [`credentials`]: parsing `Authorization` (Basic, Bearer) and `client_secret_post`.
//! - [`client_auth`]: client authentication with brute-force protection.
//! - [`crypto`]: the crypto seam (PBKDF2, RS256/ES256 verification).

pub mod client_auth;
pub mod credentials;
pub mod crypto;
