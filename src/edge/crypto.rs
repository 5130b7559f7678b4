//! The crypto seam on WebCrypto (`crypto.subtle`), called directly through js-sys.
//! Workers cap PBKDF2 at 100,000 iterations.

use crate::auth::crypto::{Crypto, CryptoError, PublicKey, SigAlg};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::JsValue;

pub struct WebCrypto;

fn err(what: &'static str) -> impl Fn(JsValue) -> CryptoError {
    move |e| CryptoError(format!("webcrypto {what}: {e:?}"))
}

/// A plain JS object from name/value pairs.
fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

/// `crypto.subtle[method](...args)`, awaited.
async fn subtle(method: &'static str, args: &[JsValue]) -> Result<JsValue, CryptoError> {
    let crypto = Reflect::get(&js_sys::global(), &s("crypto")).map_err(err("crypto"))?;
    let subtle = Reflect::get(&crypto, &s("subtle")).map_err(err("subtle"))?;
    super::futures::invoke(&subtle, method, args).await.map_err(err(method))
}

fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

impl Crypto for WebCrypto {
    async fn hmac_sha256(&self, key: &[u8], message: &[u8]) -> Result<[u8; 32], CryptoError> {
        let usages: Array = [s("sign")].iter().collect();
        let alg = object(&[("name", s("HMAC")), ("hash", s("SHA-256"))]);
        let key = subtle("importKey", &[s("raw"), bytes(key), alg, JsValue::FALSE, usages.into()]).await?;
        let mac = subtle("sign", &[s("HMAC"), key, bytes(message)]).await?;
        Uint8Array::new(&mac).to_vec().try_into().map_err(|_| CryptoError("sign returned the wrong length".into()))
    }

    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> Result<[u8; 32], CryptoError> {
        let usages: Array = [s("deriveBits")].iter().collect();
        let key = subtle("importKey", &[s("raw"), bytes(password), object(&[("name", s("PBKDF2"))]), JsValue::FALSE, usages.into()]).await?;
        let params = object(&[("name", s("PBKDF2")), ("hash", s("SHA-256")), ("salt", bytes(salt)), ("iterations", JsValue::from_f64(f64::from(iterations)))]);
        let bits = subtle("deriveBits", &[params, key, JsValue::from_f64(256.0)]).await?;
        let out = Uint8Array::new(&bits).to_vec();
        out.try_into().map_err(|_| CryptoError("deriveBits returned the wrong length".into()))
    }

    async fn verify(&self, alg: SigAlg, key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<bool, CryptoError> {
        if !alg.fits(key) {
            return Err(CryptoError("the key does not fit the algorithm".into()));
        }
        // The import names the algorithm the key will serve: WebCrypto then refuses to use it
        // for any other.
        let (jwk, import, verify) = match key {
            PublicKey::Rsa { n, e } => (
                object(&[("kty", s("RSA")), ("n", s(n)), ("e", s(e))]),
                object(&[("name", s("RSASSA-PKCS1-v1_5")), ("hash", s("SHA-256"))]),
                object(&[("name", s("RSASSA-PKCS1-v1_5"))]),
            ),
            PublicKey::Ec { crv, x, y } => (
                object(&[("kty", s("EC")), ("crv", s(crv)), ("x", s(x)), ("y", s(y))]),
                object(&[("name", s("ECDSA")), ("namedCurve", s("P-256"))]),
                object(&[("name", s("ECDSA")), ("hash", s("SHA-256"))]),
            ),
        };
        let usages: Array = [s("verify")].iter().collect();
        let key = subtle("importKey", &[s("jwk"), jwk, import, JsValue::FALSE, usages.into()]).await?;
        let ok = subtle("verify", &[verify, key, bytes(signature), bytes(message)]).await?;
        Ok(ok.as_bool().unwrap_or(false))
    }
}
