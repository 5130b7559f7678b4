//! `/admin/cimd-blocklist`: hosts whose metadata documents are refused. The list lives in one
//! Durable Object ([`crate::shard::blocklist`]), not KV, so that a block refuses the host at
//! `/authorize` and `/token` at once, cached documents included.

use super::{authorize, body, segments};
use crate::app::{App, Cx};
use crate::client::settings::json_object;
use crate::endpoints::Outcome;
use crate::error::OAuthError;
use crate::form::decode_component;
use crate::http::{HttpRequest, HttpResponse};
use crate::shard::blocklist::{Block, ListBlocked, Unblock, OBJECT};
use crate::store::Platform;
use serde_json::json;

pub const PATH: &str = "/admin/cimd-blocklist";

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, _cx: &mut Cx<'_>) -> Outcome {
    authorize(app, req)?;
    match (req.method.as_str(), segments(req, PATH).as_slice()) {
        ("GET", []) => {
            let hosts = app.call(OBJECT, ListBlocked {}).await?;
            Ok(HttpResponse::json(200, &json!({ "hosts": hosts })).no_store())
        }
        ("POST", []) => {
            let obj = json_object(body(req)?, false)?;
            let host = match obj.get("host").and_then(|v| v.as_str()) {
                Some(h) => check_host(h).map_err(|d| OAuthError::field("host", d))?,
                None => return Err(OAuthError::field("host", "host is required: a host name, as in the client_id URL")),
            };
            let host = app.call(OBJECT, Block { host }).await?;
            Ok(HttpResponse::json(201, &json!({ "host": host })).no_store())
        }
        (_, []) => Err(OAuthError::MethodNotAllowed("GET, POST")),
        ("DELETE", [raw]) => {
            let host = decode_component(raw.as_bytes()).ok().and_then(|h| check_host(&h).ok()).ok_or(OAuthError::NotFound)?;
            if app.call(OBJECT, Unblock { host }).await? {
                Ok(HttpResponse::new(204))
            } else {
                Err(OAuthError::NotFound)
            }
        }
        (_, [_]) => Err(OAuthError::MethodNotAllowed("DELETE")),
        _ => Err(OAuthError::NotFound),
    }
}

/// A host as a metadata-document URL names it, lower-cased: a DNS name or IPv4 address, or a
/// bracketed IPv6 literal; no scheme, port or path.
pub fn check_host(raw: &str) -> Result<String, String> {
    let host = raw.trim().to_ascii_lowercase();
    let dns = |h: &str| h.split('.').all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let ipv6 = |h: &str| {
        h.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|inner| inner.len() >= 2 && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.'))
    };
    if host.is_empty() || host.len() > 253 || !(dns(&host) || ipv6(&host)) {
        return Err("host must be a host name such as app.example.com (no scheme, port or path)".into());
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::check_host;

    #[test]
    fn hosts() {
        for (raw, want) in [
            ("app.example.com", "app.example.com"),
            (" App.Example.COM ", "app.example.com"),
            ("127.0.0.1", "127.0.0.1"),
            ("[::1]", "[::1]"),
            ("localhost", "localhost"),
        ] {
            assert_eq!(check_host(raw).as_deref(), Ok(want), "{raw}");
        }
        for raw in [
            "",
            "https://app.example.com",
            "app.example.com:443",
            "app.example.com/x",
            "a..b",
            ".a",
            "a.",
            "a b",
            "[zz]",
            "[]",
            &"a".repeat(254),
            "ex\u{e4}mple.com",
        ] {
            assert!(check_host(raw).is_err(), "{raw}");
        }
    }
}
