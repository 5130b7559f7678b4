//! `application/x-www-form-urlencoded` parsing (RFC 6749 Appendix B), for request bodies, query
//! strings and the id/secret inside a Basic header. Strict: bad percent-escapes and non-UTF-8
//! are errors, not replacement characters.

use crate::error::OAuthError;

/// Decode one form-urlencoded component: `+` is a space, `%XX` a byte; the result must be UTF-8.
pub fn decode_component(raw: &[u8]) -> Result<String, &'static str> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3).ok_or("truncated percent-escape")?;
                let hi = hex_val(hex[0]).ok_or("bad percent-escape")?;
                let lo = hex_val(hex[1]).ok_or("bad percent-escape")?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "not valid UTF-8")
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Encode a component for a form body or a Basic header (used by tests and the demo).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Parsed form parameters, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: &[u8]) -> Result<Params, OAuthError> {
        let mut params = Vec::new();
        for pair in raw.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            let name = decode_component(name).map_err(|e| OAuthError::invalid_request(format!("malformed form parameter name: {e}")))?;
            let value = decode_component(value).map_err(|e| OAuthError::invalid_request(format!("malformed value of parameter {}: {e}", printable(&name))))?;
            params.push((name, value));
        }
        Ok(Params(params))
    }

    /// A parameter that may appear at most once (RFC 6749 §3.2). An empty value counts as
    /// absent (RFC 6749 §3.1), but an empty value repeated is still a repeat.
    pub fn single(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut found = self.0.iter().filter(|(n, _)| n == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(OAuthError::invalid_request(format!("parameter {name} is repeated")));
        }
        Ok(first.map(|(_, v)| v.as_str()).filter(|v| !v.is_empty()))
    }

    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.single(name)?.ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {name}")))
    }

    /// Every non-empty value of a repeatable parameter (RFC 8707's `resource`), in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(n, v)| n == name && !v.is_empty()).map(|(_, v)| v.as_str()).collect()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }
}

/// A name made safe to echo in an error description.
fn printable(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic()).take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        assert_eq!(decode_component(b"a+b%3Ac%2B").unwrap(), "a b:c+");
        assert_eq!(decode_component(b"%C3%A9").unwrap(), "é");
        assert!(decode_component(b"%zz").is_err());
        assert!(decode_component(b"%4").is_err());
        assert!(decode_component(b"%").is_err());
        assert!(decode_component(b"%FF").is_err());
        assert!(decode_component(&[0xff]).is_err());
    }

    #[test]
    fn encode_roundtrip() {
        for s in ["a b:c+d%", "é/?&=", ""] {
            assert_eq!(decode_component(encode_component(s).as_bytes()).unwrap(), s);
        }
    }

    #[test]
    fn params_single_rules() {
        let p = Params::parse(b"grant_type=client_credentials&scope=&x=1&x=2&&flag").unwrap();
        assert_eq!(p.single("grant_type").unwrap(), Some("client_credentials"));
        assert_eq!(p.single("scope").unwrap(), None, "empty means absent");
        assert_eq!(p.single("missing").unwrap(), None);
        assert!(p.single("x").is_err(), "repeated");
        assert_eq!(p.single("flag").unwrap(), None);
        assert!(p.required("missing").is_err());
        let p = Params::parse(b"a=&a=").unwrap();
        assert!(p.single("a").is_err(), "an empty value repeated is still repeated");
    }

    #[test]
    fn params_reject_bad_bytes() {
        assert!(Params::parse(b"a=%G1").is_err());
        assert!(Params::parse(b"a=\xff").is_err());
        assert!(Params::parse(b"\xfe=1").is_err());
    }
}
