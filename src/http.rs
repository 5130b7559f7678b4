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
        HttpResponse::json_text(status, serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()))
    }

    /// A body already written as JSON.
    pub fn json_text(status: u16, json: impl Into<Vec<u8>>) -> Self {
        let mut r = HttpResponse::new(status);
        r.body = json.into();
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

/// A request's head as the edge hands it over: the method, the URL, then each header as
/// `name: value`, one per line (`\n`). Gives the method (upper case), origin, path, query and
/// headers.
pub fn parse_head(head: &str) -> (String, String, String, String, Vec<(String, String)>) {
    let mut lines = head.split('\n');
    let method = lines.next().unwrap_or_default().to_ascii_uppercase();
    let (origin, path, query) = split_url(lines.next().unwrap_or_default());
    let headers = lines
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.to_string(), value.strip_prefix(' ').unwrap_or(value).to_string()))
        })
        .collect();
    (method, origin, path, query, headers)
}

/// `scheme://host[:port]/path?query#fragment` into origin, path and query. The runtime hands
/// us a URL it has already parsed and serialised (WHATWG), so splitting it is enough.
fn split_url(url: &str) -> (String, String, String) {
    let url = url.split('#').next().unwrap_or("");
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[after_scheme..].find('/').map_or(url.len(), |i| after_scheme + i);
    let (origin, rest) = url.split_at(path_start);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = if path.is_empty() { "/" } else { path };
    (origin.to_string(), path.to_string(), query.to_string())
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

    fn strings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn request_heads() {
        let (method, origin, path, query, headers) =
            parse_head("get\nhttps://auth.example:8443/validate?scope=a%20b#x\nauthorization: Bearer c.t\nx-colon: a: b\nempty: \nbare:v");
        assert_eq!((method.as_str(), origin.as_str(), path.as_str(), query.as_str()), ("GET", "https://auth.example:8443", "/validate", "scope=a%20b"));
        // A value keeps its own colons; only the one space after the name's colon goes.
        assert_eq!(headers, strings(&[("authorization", "Bearer c.t"), ("x-colon", "a: b"), ("empty", ""), ("bare", "v")]));
        // No headers, no path: the path is "/".
        let (method, origin, path, query, headers) = parse_head("POST\nhttp://127.0.0.1:8787");
        assert_eq!((method.as_str(), origin.as_str(), path.as_str(), query.as_str()), ("POST", "http://127.0.0.1:8787", "/", ""));
        assert!(headers.is_empty());
        // A line without a colon is no header.
        assert!(parse_head("GET\nhttp://h/\nnonsense").4.is_empty());
        assert_eq!(parse_head("GET\nhttp://h/a/b?").2, "/a/b");
        assert_eq!(parse_head("GET\nhttp://h/?q=1?2").3, "q=1?2");
    }
}
