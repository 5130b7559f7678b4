//! The shared fakes and the native crypto, checked against published known-answer vectors.

use super::*;
use crate::auth::crypto::{Crypto, PublicKey, SigAlg};
use crate::block_on;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// PBKDF2-HMAC-SHA256 known answers: RFC 7914 §11 (its first 32 bytes) and the widely
/// published vectors for "password"/"salt".
#[test]
fn pbkdf2_known_answers() {
    let cases: [(&[u8], &[u8], u32, &str); 4] = [
        (b"passwd", b"salt", 1, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"),
        (b"password", b"salt", 1, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"),
        (b"password", b"salt", 2, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"),
        (b"password", b"salt", 4096, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"),
    ];
    for (password, salt, iterations, want) in cases {
        let got = block_on(NativeCrypto.pbkdf2_sha256(password, salt, iterations)).unwrap();
        assert_eq!(hex(&got), want, "{iterations}");
    }
    assert!(block_on(NativeCrypto.pbkdf2_sha256(b"p", b"s", 0)).is_err());
}

/// RFC 7515 Appendix A.2 (RS256) and A.3 (ES256): the published keys and signatures.
pub const A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
pub const A2_SIG: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
pub const PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
pub const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
pub const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
pub const A3_SIG: &str = "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

#[test]
fn rs256_known_answer() {
    let key = PublicKey::Rsa { n: A2_N.into(), e: "AQAB".into() };
    let input = format!("eyJhbGciOiJSUzI1NiJ9.{PAYLOAD}");
    let sig = URL_SAFE_NO_PAD.decode(A2_SIG).unwrap();
    assert!(block_on(NativeCrypto.verify(SigAlg::Rs256, &key, input.as_bytes(), &sig)).unwrap());
    let mut bad = sig.clone();
    bad[10] ^= 1;
    assert!(!block_on(NativeCrypto.verify(SigAlg::Rs256, &key, input.as_bytes(), &bad)).unwrap());
    assert!(!block_on(NativeCrypto.verify(SigAlg::Rs256, &key, b"other", &sig)).unwrap());
    assert!(!block_on(NativeCrypto.verify(SigAlg::Rs256, &key, input.as_bytes(), &sig[1..])).unwrap());
    assert!(block_on(NativeCrypto.verify(SigAlg::Es256, &key, input.as_bytes(), &sig)).is_err(), "alg must fit the key");
}

#[test]
fn es256_known_answer() {
    let key = PublicKey::Ec { crv: "P-256".into(), x: A3_X.into(), y: A3_Y.into() };
    let input = format!("eyJhbGciOiJFUzI1NiJ9.{PAYLOAD}");
    let sig = URL_SAFE_NO_PAD.decode(A3_SIG).unwrap();
    assert!(block_on(NativeCrypto.verify(SigAlg::Es256, &key, input.as_bytes(), &sig)).unwrap());
    let mut bad = sig.clone();
    bad[40] ^= 1;
    assert!(!block_on(NativeCrypto.verify(SigAlg::Es256, &key, input.as_bytes(), &bad)).unwrap());
    assert!(!block_on(NativeCrypto.verify(SigAlg::Es256, &key, input.as_bytes(), &sig[..63])).unwrap());
    assert!(block_on(NativeCrypto.verify(SigAlg::Rs256, &key, input.as_bytes(), &sig)).is_err());
    let off_curve = PublicKey::Ec { crv: "P-256".into(), x: A3_X.into(), y: A3_X.into() };
    assert!(block_on(NativeCrypto.verify(SigAlg::Es256, &off_curve, input.as_bytes(), &sig)).is_err());
}
