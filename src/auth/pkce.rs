//! PKCE (RFC 7636), S256 only: `plain` gives no protection against a stolen code.

use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD as B64URL};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// RFC 7636 §4.1/§4.2: 43–128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
/// A code challenge must have the same form (an S256 challenge is 43 characters).
pub fn well_formed(s: &str) -> bool {
    (43..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2).
pub fn s256(verifier: &str) -> String {
    B64URL.encode(Sha256::digest(verifier.as_bytes()))
}

/// Does `verifier` answer `challenge`? A malformed verifier never does.
pub fn verifies(verifier: &str, challenge: &str) -> bool {
    well_formed(verifier) && s256(verifier).as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    #[test]
    fn appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(s256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(verifies(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!verifies("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    }

    #[test]
    fn form() {
        assert!(well_formed(&"a".repeat(43)) && well_formed(&"~._-".repeat(32)));
        assert!(!well_formed(&"a".repeat(42)) && !well_formed(&"a".repeat(129)));
        assert!(!well_formed(&format!("{}+", "a".repeat(43))) && !well_formed(&format!("{}=", "a".repeat(43))));
        // A short verifier cannot verify even if its hash matched.
        assert!(!verifies("short", &s256("short")));
    }
}
