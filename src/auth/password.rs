//! Passwords: stored only as PBKDF2-HMAC-SHA256 with a per-user random salt (RFC 8018), run on
//! WebCrypto at the edge, where Workers allow at most 100,000 iterations. Each hash records its
//! own iterations, so raising them later affects new passwords without breaking old ones.

use super::crypto::{Crypto, CryptoError};
use crate::secret::{random_bytes, Random};
use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD as B64URL};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// The most Workers' WebCrypto allows, and the default.
pub const MAX_ITERATIONS: u32 = 100_000;
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 1024;

/// A password as presented: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(p: impl Into<String>) -> Password {
        Password(p.into())
    }
    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Is this acceptable as a new password? (Length in characters, as the contract counts.)
pub fn acceptable(p: &str) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&p.chars().count())
}

/// What is stored for a password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordHash {
    pub iterations: u32,
    /// 16 random bytes, base64url.
    pub salt: String,
    /// 32 bytes of PBKDF2 output, base64url.
    pub hash: String,
}

impl PasswordHash {
    /// No password: a person who signs in only through an identity provider. No password
    /// ever matches it.
    pub fn none() -> PasswordHash {
        PasswordHash { iterations: 0, salt: String::new(), hash: String::new() }
    }

    pub fn is_none(&self) -> bool {
        self.iterations == 0 && self.hash.is_empty()
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PasswordHash({} iterations, [redacted])", self.iterations)
    }
}

pub async fn hash<C: Crypto>(crypto: &C, password: &Password, iterations: u32, rng: &mut dyn Random) -> Result<PasswordHash, CryptoError> {
    let salt = random_bytes(rng, 16);
    let out = crypto.pbkdf2_sha256(password.bytes(), &salt, iterations).await?;
    Ok(PasswordHash { iterations, salt: B64URL.encode(salt), hash: B64URL.encode(out) })
}

/// Does `password` match `stored`? Constant-time comparison of the derived bytes.
pub async fn verify<C: Crypto>(crypto: &C, password: &Password, stored: &PasswordHash) -> Result<bool, CryptoError> {
    let salt = B64URL.decode(&stored.salt).map_err(|_| CryptoError("stored salt is not base64url".into()))?;
    let want = B64URL.decode(&stored.hash).map_err(|_| CryptoError("stored hash is not base64url".into()))?;
    let got = crypto.pbkdf2_sha256(password.bytes(), &salt, stored.iterations).await?;
    Ok(got.ct_eq(want.as_slice()).into())
}

/// The same work for a sign-in whose user does not exist, so that "unknown user" takes as
/// long as "wrong password".
pub async fn verify_nobody<C: Crypto>(crypto: &C, password: &Password, iterations: u32) -> Result<bool, CryptoError> {
    crypto.pbkdf2_sha256(password.bytes(), b"edge-oauth: nobody", iterations).await.map(|_| false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on;
    use crate::testing::{NativeCrypto, SeqRng};

    #[test]
    fn hash_and_verify() {
        let mut rng = SeqRng(1);
        let p = Password::new("correct horse");
        let h = block_on(hash(&NativeCrypto, &p, 1_000, &mut rng)).unwrap();
        assert_eq!(h.iterations, 1_000);
        assert!(block_on(verify(&NativeCrypto, &p, &h)).unwrap());
        assert!(!block_on(verify(&NativeCrypto, &Password::new("correct horsf"), &h)).unwrap());
        let again = block_on(hash(&NativeCrypto, &p, 1_000, &mut rng)).unwrap();
        assert_ne!(h.salt, again.salt, "a fresh salt per hash");
        assert_ne!(h.hash, again.hash);
        assert!(!block_on(verify_nobody(&NativeCrypto, &p, 10)).unwrap());
        assert!(!format!("{h:?}{p:?}").contains(&h.hash) && !format!("{p:?}").contains("horse"));
    }

    #[test]
    fn stored_form_is_pbkdf2_sha256() {
        // The stored bytes are exactly PBKDF2-HMAC-SHA256(password, salt, iterations).
        let p = Password::new("password");
        let h = PasswordHash { iterations: 4096, salt: B64URL.encode(b"salt"), hash: B64URL.encode([0u8; 32]) };
        let want = block_on(NativeCrypto.pbkdf2_sha256(b"password", b"salt", 4096)).unwrap();
        assert!(block_on(verify(&NativeCrypto, &p, &PasswordHash { hash: B64URL.encode(want), ..h })).unwrap());
    }

    #[test]
    fn length_rules() {
        assert!(!acceptable("1234567"));
        assert!(acceptable("12345678"));
        assert!(acceptable("éééééééé"), "characters, not bytes");
        assert!(acceptable(&"x".repeat(1024)));
        assert!(!acceptable(&"x".repeat(1025)));
    }
}
