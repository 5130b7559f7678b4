//! The crypto seam. Password hashing (PBKDF2-HMAC-SHA256) and JWS signature verification
//! (RS256, ES256) run on WebCrypto at the edge (`edge::crypto`): native code for them would
//! be slower in wasm and would add hundreds of kilobytes. Native tests use RustCrypto through
//! `testing::NativeCrypto`, checked against published known-answer vectors.

/// A public signing key: the public members of a JWK (RFC 7517, RFC 7518 §6), base64url.
/// Read from a JWKS by [`super::jwks::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// `"kty": "RSA"`.
    Rsa { n: String, e: String },
    /// `"kty": "EC"`; only P-256 is accepted (ES256).
    Ec { crv: String, x: String, y: String },
}

/// The JWS algorithms edge-oauth verifies (RFC 7518 §3.3, §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    Rs256,
    Es256,
}

impl SigAlg {
    /// Which key an algorithm needs: an algorithm never chooses its own key type.
    pub fn fits(self, key: &PublicKey) -> bool {
        match (self, key) {
            (SigAlg::Rs256, PublicKey::Rsa { .. }) => true,
            (SigAlg::Es256, PublicKey::Ec { crv, .. }) => crv == "P-256",
            _ => false,
        }
    }
}

/// The platform could not do the operation (an unusable key, an engine failure). Not a
/// verdict on a signature: a bad signature is `Ok(false)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoError(pub String);

#[allow(async_fn_in_trait)]
pub trait Crypto {
    /// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) with a 32-byte output.
    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> Result<[u8; 32], CryptoError>;

    /// Is `signature` a valid `alg` signature of `message` under `key`? A key that does not
    /// fit the algorithm is an error, never a success.
    async fn verify(&self, alg: SigAlg, key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<bool, CryptoError>;

    /// HMAC-SHA256 (RFC 2104) of `message` under `key`: webhook signatures.
    async fn hmac_sha256(&self, key: &[u8], message: &[u8]) -> Result<[u8; 32], CryptoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_fit_only_their_keys() {
        let rsa = PublicKey::Rsa { n: "AQAB".into(), e: "AQAB".into() };
        let p256 = PublicKey::Ec { crv: "P-256".into(), x: "x".into(), y: "y".into() };
        let p384 = PublicKey::Ec { crv: "P-384".into(), x: "x".into(), y: "y".into() };
        assert!(SigAlg::Rs256.fits(&rsa) && !SigAlg::Rs256.fits(&p256));
        assert!(SigAlg::Es256.fits(&p256) && !SigAlg::Es256.fits(&rsa) && !SigAlg::Es256.fits(&p384));
    }
}
