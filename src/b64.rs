//! Base64 (RFC 4648), the two forms the server needs: the URL-safe alphabet without padding
//! (§5) for everything it makes and reads back (tokens, hashes, salts, JWTs, PKCE), and the
//! standard alphabet with optional padding (§4) for HTTP Basic credentials. Decoding is strict:
//! a character outside the alphabet, an impossible length or non-zero trailing bits is refused,
//! so every value has one spelling. (Written here rather than taken from the `base64` crate,
//! which is 3.0 KB of the gzipped wasm more than these forty lines; the tests check this
//! against that crate.)

const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    let bytes = bytes.as_ref();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(URL_SAFE[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// Base64url without padding; `None` unless `text` is exactly that.
pub fn decode(text: impl AsRef<[u8]>) -> Option<Vec<u8>> {
    decode_with(text.as_ref(), true)
}

/// Standard base64, padded or not (some clients drop the padding).
pub fn decode_standard(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let unpadded = text.trim_end_matches('=').as_bytes();
    let padding = bytes.len() - unpadded.len();
    if padding > 0 && (padding > 2 || !bytes.len().is_multiple_of(4)) {
        return None;
    }
    decode_with(unpadded, false)
}

fn decode_with(text: &[u8], url_safe: bool) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let sextet = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' if url_safe => 62,
            b'_' if url_safe => 63,
            b'+' if !url_safe => 62,
            b'/' if !url_safe => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // What is left over (2 or 4 bits) pads the last byte: zero in the one canonical spelling.
    (acc == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use base64::Engine;

    #[test]
    fn rfc_4648_vectors() {
        for (plain, encoded) in [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(encode(plain), encoded);
            assert_eq!(decode(encoded).as_deref(), Some(plain.as_bytes()));
            assert_eq!(decode_standard(&STANDARD.encode(plain)).as_deref(), Some(plain.as_bytes()));
        }
    }

    #[test]
    fn agrees_with_the_base64_crate() {
        let mut rng = crate::testing::SeqRng(7);
        for len in 0..200 {
            let mut bytes = vec![0u8; len % 70];
            crate::secret::Random::fill(&mut rng, &mut bytes);
            let url = URL_SAFE_NO_PAD.encode(&bytes);
            assert_eq!(encode(&bytes), url);
            assert_eq!(decode(&url), Some(bytes.clone()));
            assert_eq!(decode_standard(&STANDARD.encode(&bytes)), Some(bytes.clone()), "padded");
            assert_eq!(decode_standard(&STANDARD_NO_PAD.encode(&bytes)), Some(bytes.clone()), "unpadded");
        }
    }

    #[test]
    fn refuses_every_other_spelling() {
        for bad in ["Zg=", "Zg==", "Z", "Zh", "Zm9=", "Zm+v", "Zm/v", "Zm 9v", "Zm9v\n", "é"] {
            assert_eq!(decode(bad), None, "{bad}");
            assert_eq!(URL_SAFE_NO_PAD.decode(bad).ok(), None, "the crate agrees: {bad}");
        }
        for bad in ["Zg=", "Zg===", "Z===", "Zh==", "Zm-v", "Zm_v", "=Zg=", "Zg=a", "Zm9v=", "Z"] {
            assert_eq!(decode_standard(bad), None, "{bad}");
        }
        assert_eq!(decode_standard("Zm+v").as_deref(), Some(&b"fo\xaf"[..]));
    }
}
