//! A plain HTTP request/response model, so that every handler runs natively in tests; the edge
//! shell (`src/edge`) converts the runtime's requests and responses to and from these.

/// Largest request body the server reads (RFC 6749 requests are tiny; anything bigger is abuse).
pub const MAX_BODY: usize = 8 * 1024;

/// Largest `Authorization` header value accepted before parsing.
pub const MAX_AUTHORIZATION: usize = 4 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Bytes(Vec<u8>),
    /// The body was longer than [`MAX_BODY`]; it was not read to the end.
    TooLarge,
}

#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Upper-case method name.
    pub method: String,
    pub path: String,
    /// The raw query string, without the `?`.
    pub query: String,
    /// Header names lower-cased; values as the runtime gave them.
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// `CF-Connecting-IP`, normalised; never taken from any other header.
    pub client_ip: Option<String>,
    /// Scheme and host of the request URL, e.g. `https://auth.example.com` (for the issuer).
    pub origin: String,
}

impl HttpRequest {
    /// The single value of a header. A runtime joins repeated headers with ", ", so one value
    /// is what we normally see.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn body_bytes(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Bytes(b) => Some(b),
            Body::TooLarge => None,
        }
    }
}

/// Normalise a `CF-Connecting-IP` value so that `::ffff:1.2.3.4` binds like `1.2.3.4` and
/// letter case does not matter. Cloudflare sends addresses in canonical form, so this is
/// textual (and keeps the address parser and printer out of the wasm).
pub fn normalise_ip(raw: &str) -> String {
    let ip = raw.trim().to_ascii_lowercase();
    match ip.strip_prefix("::ffff:") {
        Some(v4) if v4.bytes().all(|b| b.is_ascii_digit() || b == b'.') && v4.split('.').count() == 4 => v4.to_string(),
        _ => ip,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// A line for the operator's log (never sent to the client).
    pub log: Option<String>,
}

impl HttpResponse {
    pub fn new(status: u16) -> Self {
        HttpResponse { status, headers: Vec::new(), body: Vec::new(), log: None }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        let mut r = HttpResponse::new(status);
        r.body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        r.headers.push(("content-type", "application/json".into()));
        r
    }

    /// RFC 6749 §5.1: token and error responses must not be cached.
    pub fn no_store(mut self) -> Self {
        self.headers.push(("cache-control", "no-store".into()));
        self.headers.push(("pragma", "no-cache".into()));
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn body_json(&self) -> serde_json::Value {
        std::str::from_utf8(&self.body).ok().and_then(|t| serde_json::from_str(t).ok()).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_normalisation() {
        assert_eq!(normalise_ip("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(normalise_ip("::FFFF:10.0.0.1"), "10.0.0.1");
        assert_eq!(normalise_ip("2001:DB8::1"), "2001:db8::1");
        assert_eq!(normalise_ip("::ffff:abcd"), "::ffff:abcd");
        assert_eq!(normalise_ip(" 1.2.3.4 "), "1.2.3.4");
        assert_eq!(normalise_ip("not-an-ip"), "not-an-ip");
    }
}
