//! Resource indicators (RFC 8707): which protected resources a token is for.
//!
//! A client may be given resources (absolute `https` URIs, or `http` on loopback, without a
//! fragment); a request names some of them with `resource` (repeatable), and the token is bound
//! to what was named: `/validate` and `/introspect` show them as `aud`, and
//! `/validate?resource=` refuses a token meant for another resource. Values are compared as
//! strings, after removing one trailing `/` from a bare origin on both sides, so
//! `https://api.example.com/` and `https://api.example.com` are one resource (MCP clients send
//! either).

use crate::client::redirect::web_uri;
use crate::error::OAuthError;

/// Most resources per client (and per request).
pub const MAX_RESOURCES: usize = 20;

/// The comparison form of a resource: one trailing `/` removed from a bare origin.
pub fn normalize(uri: &str) -> &str {
    match uri.strip_suffix('/') {
        Some(origin) if origin.find("://").is_some_and(|i| !origin[i + 3..].contains(['/', '?'])) => origin,
        _ => uri,
    }
}

/// Are `a` and `b` the same resource?
pub fn same(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

/// May `uri` be registered as a resource? `Err` says why not.
pub fn check(uri: &str) -> Result<(), String> {
    // RFC 8707 §2: an absolute URI without a fragment.
    match web_uri(uri) {
        Some(_) => Ok(()),
        None if uri.contains('#') => Err("a resource has no fragment (RFC 8707 §2)".into()),
        None => Err("a resource is an absolute https URI (or http on 127.0.0.1, [::1], localhost)".into()),
    }
}

/// The resources a request names, each among `allowed`, in their registered form (duplicates
/// once). None named: every one of `allowed`. One not among them: `invalid_target`
/// (RFC 8707 §2).
pub fn select<S: AsRef<str>>(requested: &[S], allowed: &[String]) -> Result<Vec<String>, OAuthError> {
    if requested.is_empty() {
        return Ok(allowed.to_vec());
    }
    let mut out: Vec<String> = Vec::with_capacity(requested.len());
    for r in requested.iter().map(AsRef::as_ref) {
        let Some(found) = allowed.iter().find(|a| same(a, r)) else {
            return Err(OAuthError::InvalidTarget(format!("the resource {} is not one this client may ask for", short(r))));
        };
        if !out.contains(found) {
            out.push(found.clone());
        }
    }
    Ok(out)
}

/// A resource as quoted in an error description: printable and bounded.
fn short(s: &str) -> String {
    let s: String = s.chars().filter(|c| !c.is_control()).take(80).collect();
    format!("\"{s}\"")
}

/// The host a resource names, for the consent page.
pub fn host(uri: &str) -> &str {
    web_uri(uri).map_or(uri, |u| u.host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_slash_of_a_bare_origin_is_ignored_on_both_sides() {
        let table = [
            ("https://api.example.com/", "https://api.example.com", true),
            ("https://api.example.com", "https://api.example.com/", true),
            ("https://api.example.com:8443/", "https://api.example.com:8443", true),
            ("https://api.example.com/mcp/", "https://api.example.com/mcp", false),
            ("https://api.example.com/mcp", "https://api.example.com/mcp", true),
            ("https://api.example.com//", "https://api.example.com", false),
            ("https://api.example.com/?", "https://api.example.com", false),
            ("https://api.example.com", "https://API.example.com", false),
            ("https://a.example.com", "https://b.example.com", false),
        ];
        for (a, b, want) in table {
            assert_eq!(same(a, b), want, "{a} vs {b}");
        }
        assert_eq!(normalize("https://x.example/"), "https://x.example");
        assert_eq!(normalize("https://x.example/p/"), "https://x.example/p/");
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("https://a.b/c/"), "https://a.b/c/", "a short URI with a path keeps its slash");
    }

    #[test]
    fn registrable() {
        for ok in ["https://api.example.com", "https://api.example.com/mcp", "http://127.0.0.1:8787/mcp", "http://localhost/", "http://[::1]:3000"] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for bad in ["http://api.example.com/", "https://api.example.com/#x", "api.example.com", "ftp://x.example/", "https://", "https://a b/", "urn:x:y", ""] {
            assert!(check(bad).is_err(), "{bad}");
        }
        assert!(check("https://a.example/#f").unwrap_err().contains("fragment"));
        assert!(!check("http://a.example/").unwrap_err().contains("fragment"));
    }

    #[test]
    fn select_names_registered_forms_and_refuses_others() {
        let allowed = vec!["https://api.example.com".to_string(), "https://mcp.example.com/mcp".to_string()];
        assert_eq!(select::<&str>(&[], &allowed).unwrap(), allowed, "none named: all");
        assert_eq!(select(&["https://api.example.com/"], &allowed).unwrap(), vec!["https://api.example.com"]);
        assert_eq!(
            select(&["https://mcp.example.com/mcp", "https://api.example.com", "https://api.example.com/"], &allowed).unwrap(),
            vec!["https://mcp.example.com/mcp", "https://api.example.com"]
        );
        let err = select(&["https://api.example.com", "https://evil.example\n"], &allowed).unwrap_err();
        assert_eq!(err.code(), "invalid_target");
        assert!(err.description().contains("\"https://evil.example\""), "names the resource, printable: {}", err.description());
        assert_eq!(select(&["https://mcp.example.com/mcp/"], &allowed).unwrap_err().code(), "invalid_target", "only a bare origin loses its slash");
        assert_eq!(select(&["https://x.example"], &[]).unwrap_err().code(), "invalid_target");
        assert!(select::<&str>(&[], &[]).unwrap().is_empty());
    }

    #[test]
    fn hosts_for_the_consent_page() {
        assert_eq!(host("https://api.example.com:8443/mcp"), "api.example.com");
        assert_eq!(host("http://127.0.0.1:8787"), "127.0.0.1");
    }
}
