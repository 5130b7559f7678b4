//! Redirect URIs: which ones a client may register (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700
//! §2.1), and how a presented one is matched against them. A [`VerifiedRedirect`] can only be
//! made here, by matching: so "never redirect to an unverified URI" is a type rule.

use crate::form::encode_component;

/// Longest redirect URI accepted.
pub const MAX_REDIRECT_URI: usize = 2000;
/// Most redirect URIs per client.
pub const MAX_REDIRECT_URIS: usize = 20;

const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

/// A URI split at its first `://` (or `:` for private-use schemes).
struct Parts<'a> {
    scheme: &'a str,
    /// `host[:port]`, empty for URIs without an authority.
    authority: &'a str,
    /// Everything after the authority: path and query.
    rest: &'a str,
}

fn split(uri: &str) -> Option<Parts<'_>> {
    let colon = uri.find(':')?;
    let scheme = &uri[..colon];
    let after = &uri[colon + 1..];
    match after.strip_prefix("//") {
        Some(hier) => {
            let end = hier.find(['/', '?']).unwrap_or(hier.len());
            Some(Parts { scheme, authority: &hier[..end], rest: &hier[end..] })
        }
        None => Some(Parts { scheme, authority: "", rest: after }),
    }
}

/// `host` and optional port, checked strictly: a DNS name, an IPv4 address or a bracketed
/// IPv6 literal; no userinfo, no percent-escapes.
fn host_and_port(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (h, rest) = authority.split_at(close + 1);
        let ok = h[1..h.len() - 1].bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !ok || h.len() < 4 {
            return None;
        }
        match rest {
            "" => (h, None),
            r => (h, Some(r.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let name_ok = !host.is_empty() && (host.starts_with('[') || host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    let port_ok = port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok());
    (name_ok && port_ok).then_some((host, port))
}

fn is_loopback(host: &str) -> bool {
    LOOPBACK_HOSTS.iter().any(|l| l.eq_ignore_ascii_case(host))
}

/// May a client register `uri`? `Err` says why not, for a `400` naming `redirect_uris`.
pub fn check_registrable(uri: &str) -> Result<(), String> {
    if uri.is_empty() || uri.len() > MAX_REDIRECT_URI {
        return Err(format!("a redirect URI has 1 to {MAX_REDIRECT_URI} characters"));
    }
    // Whitespace and control characters are how `javascript:` and friends hide (" javascript:",
    // "java\tscript:"); a backslash is read as a slash by browsers.
    if uri.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\') {
        return Err("a redirect URI has no spaces, control characters or backslashes".into());
    }
    if uri.contains('#') {
        return Err("a redirect URI has no fragment (RFC 6749 §3.1.2)".into());
    }
    if uri.contains('*') {
        return Err("a redirect URI has no wildcards: it is matched exactly".into());
    }
    let parts = split(uri).ok_or("a redirect URI is absolute (it has a scheme)")?;
    let scheme_ok = parts.scheme.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && parts.scheme.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+.-".contains(&b));
    if !scheme_ok {
        return Err("a redirect URI's scheme is lower-case letters, digits, '+', '.' or '-'".into());
    }
    match parts.scheme {
        "https" | "http" => {
            let (host, _) = host_and_port(parts.authority).ok_or("a redirect URI's host is a plain host name or IP address (no user info, no escapes)")?;
            if !parts.rest.is_empty() && !parts.rest.starts_with('/') && !parts.rest.starts_with('?') {
                return Err("a redirect URI's path starts with '/'".into());
            }
            if parts.scheme == "http" && !is_loopback(host) {
                return Err("http redirect URIs are for loopback only (127.0.0.1, [::1], localhost); use https".into());
            }
            Ok(())
        }
        // RFC 8252 §7.1: private-use schemes are reverse domain names, so they contain a '.';
        // that also keeps out javascript:, data:, vbscript:, file: and every other browser
        // scheme, in any letter case.
        s if s.contains('.') => {
            if parts.rest.is_empty() && parts.authority.is_empty() {
                return Err("a private-use redirect URI has a path".into());
            }
            Ok(())
        }
        _ => Err("a redirect URI is https, http on loopback, or a private-use scheme such as com.example.app:/callback".into()),
    }
}

/// An absolute `https` URI, or `http` on a loopback host: the shape redirect URIs of web
/// apps, resource indicators (RFC 8707) and metadata-document URLs share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebUri<'a> {
    pub https: bool,
    pub host: &'a str,
    pub port: Option<&'a str>,
    /// Path and query, possibly empty.
    pub rest: &'a str,
    pub loopback: bool,
}

/// Split `uri` if it is `https://host[:port][/…]` or `http://` on loopback; no user info,
/// escapes in the host, whitespace, control characters, backslashes or fragment.
pub fn web_uri(uri: &str) -> Option<WebUri<'_>> {
    if uri.len() > MAX_REDIRECT_URI || uri.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\' || c == '#') {
        return None;
    }
    let parts = split(uri)?;
    let https = match parts.scheme {
        "https" => true,
        "http" => false,
        _ => return None,
    };
    if !uri[parts.scheme.len()..].starts_with("://") || !(parts.rest.is_empty() || parts.rest.starts_with('/') || parts.rest.starts_with('?')) {
        return None;
    }
    let (host, port) = host_and_port(parts.authority)?;
    let loopback = is_loopback(host);
    (https || loopback).then_some(WebUri { https, host, port, rest: parts.rest, loopback })
}

/// A loopback `http` URI without its port, for RFC 8252 §7.3 matching (any port).
fn without_loopback_port(uri: &str) -> Option<String> {
    let parts = split(uri)?;
    if parts.scheme != "http" {
        return None;
    }
    let (host, _) = host_and_port(parts.authority)?;
    is_loopback(host).then(|| format!("http://{host}{}", parts.rest))
}

/// A redirect URI that matched one the client registered: the only kind edge-oauth redirects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRedirect(String);

impl VerifiedRedirect {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URI with `params` added to its query (RFC 6749 §4.1.2: form-encoded, keeping any
    /// query it already has). `None` values are left out.
    pub fn with(&self, params: &[(&str, Option<&str>)]) -> String {
        let mut out = self.0.clone();
        let mut sep = if out.contains('?') { '&' } else { '?' };
        for (name, value) in params {
            if let Some(v) = value {
                out.push(sep);
                out.push_str(name);
                out.push('=');
                out.push_str(&encode_component(v));
                sep = '&';
            }
        }
        out
    }
}

/// Why a presented redirect URI cannot be used. Both are shown as a page, never redirected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectProblem {
    /// None was given and the client registered several (or none).
    Missing,
    /// The given one is not among the client's.
    NotRegistered,
}

/// Match a presented `redirect_uri` against the registered ones: string equality, except that a
/// loopback `http` URI matches on any port (RFC 8252 §7.3). Absent, it defaults to the only
/// registered one.
pub fn verify(registered: &[String], presented: Option<&str>) -> Result<VerifiedRedirect, RedirectProblem> {
    let Some(presented) = presented else {
        return match registered {
            [only] => Ok(VerifiedRedirect(only.clone())),
            _ => Err(RedirectProblem::Missing),
        };
    };
    if registered.iter().any(|r| r == presented) {
        return Ok(VerifiedRedirect(presented.to_string()));
    }
    match without_loopback_port(presented) {
        Some(p) if registered.iter().any(|r| without_loopback_port(r).as_deref() == Some(p.as_str())) => Ok(VerifiedRedirect(presented.to_string())),
        _ => Err(RedirectProblem::NotRegistered),
    }
}

/// The host a person is sent back to, to show on the consent page.
pub fn host_of(uri: &str) -> String {
    match split(uri) {
        Some(p) if !p.authority.is_empty() => host_and_port(p.authority).map_or(p.authority, |(h, _)| h).to_string(),
        Some(p) => format!("{}:", p.scheme),
        None => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable() {
        let good = [
            "https://app.example.com/callback",
            "https://app.example.com:8443/cb?x=1",
            "https://app.example.com",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]:3000/cb",
            "http://localhost/cb",
            "http://LOCALHOST/cb",
            "com.example.app:/oauth/callback",
            "com.example.app://callback",
        ];
        for u in good {
            assert_eq!(check_registrable(u), Ok(()), "{u}");
        }
        let bad = [
            "",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "JAVASCRIPT:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "javascript\n:alert(1)",
            "\u{0}javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "about:blank",
            "blob:https://app.example.com/x",
            "https://good.example@evil.example/cb",
            "https://good.example%40evil.example/cb",
            "https://user:pass@app.example.com/cb",
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb#",
            "https://*.example.com/cb",
            "https://app.example.com/*",
            "http://app.example.com/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://localhost.evil.example/cb",
            "https:///cb",
            "https://app.example.com:99999/cb",
            "https://app.example.com:/cb",
            "https://app.example.com\\@evil.example/cb",
            "HTTPS://app.example.com/cb",
            "/relative/cb",
            "cb",
            "https://app.example.com/ cb",
            "com.example.app:",
        ];
        for u in bad {
            assert!(check_registrable(u).is_err(), "{u:?} was accepted");
        }
        assert!(check_registrable(&format!("https://a.example/{}", "x".repeat(2000))).is_err());
    }

    fn reg(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn matching() {
        let r = reg(&["https://app.example.com/cb", "http://127.0.0.1/loop", "http://localhost:9000/x"]);
        assert_eq!(verify(&r, Some("https://app.example.com/cb")).unwrap().as_str(), "https://app.example.com/cb");
        for p in ["https://app.example.com/cb/", "https://app.example.com/CB", "https://app.example.com/cb?x", "https://APP.example.com/cb"] {
            assert_eq!(verify(&r, Some(p)), Err(RedirectProblem::NotRegistered), "{p}");
        }
        // Loopback: any port, but the same host, path and query.
        assert_eq!(verify(&r, Some("http://127.0.0.1:54321/loop")).unwrap().as_str(), "http://127.0.0.1:54321/loop");
        assert_eq!(verify(&r, Some("http://localhost:1/x")).unwrap().as_str(), "http://localhost:1/x");
        assert!(verify(&r, Some("http://localhost/x")).is_ok());
        assert!(verify(&r, Some("http://127.0.0.1:5/other")).is_err());
        assert!(verify(&r, Some("http://[::1]:5/loop")).is_err(), "another loopback host is another URI");
        assert!(verify(&r, Some("https://127.0.0.1:5/loop")).is_err());
        // Absent: only when exactly one is registered.
        assert_eq!(verify(&r, None), Err(RedirectProblem::Missing));
        assert_eq!(verify(&reg(&["https://a.example/cb"]), None).unwrap().as_str(), "https://a.example/cb");
        assert_eq!(verify(&[], None), Err(RedirectProblem::Missing));
    }

    #[test]
    fn parameters_are_added_encoded() {
        let r = verify(&reg(&["https://a.example/cb", "https://a.example/cb?x=1"]), Some("https://a.example/cb")).unwrap();
        assert_eq!(r.with(&[("code", Some("c")), ("state", Some("a b&c=é")), ("none", None)]), "https://a.example/cb?code=c&state=a+b%26c%3D%C3%A9");
        let q = verify(&reg(&["https://a.example/cb?x=1"]), None).unwrap();
        assert_eq!(q.with(&[("code", Some("c"))]), "https://a.example/cb?x=1&code=c");
    }

    #[test]
    fn hosts() {
        assert_eq!(host_of("https://app.example.com:8443/cb"), "app.example.com");
        assert_eq!(host_of("http://[::1]:3/cb"), "[::1]");
        assert_eq!(host_of("com.example.app:/cb"), "com.example.app:");
    }
}
