//! Native crypto behind the crypto seam (RustCrypto), and JWS signing for tests of JWT checks.

use crate::auth::crypto::{Crypto, CryptoError, PublicKey, SigAlg};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// PBKDF2 and JWS verification natively, with RustCrypto.
#[derive(Default)]
pub struct NativeCrypto;

fn b64url(s: &str) -> Result<Vec<u8>, CryptoError> {
    URL_SAFE_NO_PAD.decode(s).map_err(|_| CryptoError("key member is not base64url".into()))
}

impl Crypto for NativeCrypto {
    async fn hmac_sha256(&self, key: &[u8], message: &[u8]) -> Result<[u8; 32], CryptoError> {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).map_err(|_| CryptoError("bad HMAC key".into()))?;
        mac.update(message);
        Ok(mac.finalize().into_bytes().into())
    }

    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> Result<[u8; 32], CryptoError> {
        if iterations == 0 {
            return Err(CryptoError("zero iterations".into()));
        }
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out);
        Ok(out)
    }

    async fn verify(&self, alg: SigAlg, key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<bool, CryptoError> {
        if !alg.fits(key) {
            return Err(CryptoError("the key does not fit the algorithm".into()));
        }
        match key {
            PublicKey::Rsa { n, e } => {
                use rsa::signature::Verifier;
                let key = rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(&b64url(n)?), rsa::BigUint::from_bytes_be(&b64url(e)?))
                    .map_err(|e| CryptoError(format!("unusable RSA key: {e}")))?;
                let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature) else {
                    return Ok(false);
                };
                Ok(rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key).verify(message, &sig).is_ok())
            }
            PublicKey::Ec { x, y, .. } => {
                use p256::ecdsa::signature::Verifier;
                let (x, y) = (b64url(x)?, b64url(y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(CryptoError("P-256 coordinates are 32 bytes".into()));
                }
                let point = p256::EncodedPoint::from_affine_coordinates(x.as_slice().into(), y.as_slice().into(), false);
                let key = p256::ecdsa::VerifyingKey::from_encoded_point(&point).map_err(|_| CryptoError("not a P-256 point".into()))?;
                let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else {
                    return Ok(false);
                };
                Ok(key.verify(message, &sig).is_ok())
            }
        }
    }
}

/// RFC 7515 Appendix A.3's P-256 key: its public half as a JWK.
pub const ES256_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
pub const ES256_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const ES256_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";

/// A compact JWS (ES256, RFC 6979 deterministic) of `header` and `claims`, signed with RFC
/// 7515 A.3's key: for tests of JWT checking.
pub fn sign_es256(header: &serde_json::Value, claims: &serde_json::Value) -> String {
    use p256::ecdsa::signature::Signer;
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let key = p256::ecdsa::SigningKey::from_slice(&URL_SAFE_NO_PAD.decode(ES256_D).unwrap()).unwrap();
    let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}
