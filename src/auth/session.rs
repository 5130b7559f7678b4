//! Browser state: the session cookie and the CSRF cookie.
//!
//! - The session cookie is `{user_id}.{256 random bits}`: the user id names the user's object,
//!   which stores only the SHA-256 of the whole value. `HttpOnly`, `SameSite=Lax`, `Path=/`,
//!   and `Secure` (with the `__Host-` name prefix) except on plain-http loopback, where a
//!   browser would not send a Secure cookie back.
//! - CSRF: a random cookie, and in every form its SHA-256 ("signed double submit"). A site
//!   that cannot read or set our cookies cannot produce the form value; nothing is stored.

use crate::form::Params;
use crate::http::HttpRequest;
use crate::secret::{random_string, CsrfSecret, Random, SecretHash, SessionSecret, SECRET_BYTES};
use subtle::ConstantTimeEq;

const SESSION: &str = "eo_session";
const CSRF: &str = "eo_csrf";
/// A sign-in started at an upstream identity provider (see [`crate::upstream`]).
const UPSTREAM: &str = "eo_upstream";

/// Must cookies be `Secure`? Everywhere but plain-http loopback.
pub fn secure(req: &HttpRequest) -> bool {
    let Some(host_port) = req.origin.strip_prefix("http://") else { return true };
    let host =
        if host_port.starts_with('[') { host_port.split_inclusive(']').next().unwrap_or(host_port) } else { host_port.split(':').next().unwrap_or(host_port) };
    !matches!(host.to_ascii_lowercase().as_str(), "127.0.0.1" | "localhost" | "[::1]")
}

fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// The value of cookie `name` in the request's `Cookie` header.
fn cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.header("cookie")?.split(';').filter_map(|c| c.trim().split_once('=')).find(|(n, _)| *n == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value. `max_age` `None` makes a browser-session cookie; `Some(0)` clears it.
fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<u64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

/// The session cookie of a request, if it has our shape: `(user_id, secret)`.
pub fn session(req: &HttpRequest) -> Option<(String, SessionSecret)> {
    let value = cookie(req, &name(SESSION, secure(req)))?;
    let (user_id, secret) = value.split_once('.')?;
    let b64url = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (user_id.len() == 22 && secret.len() == 43 && b64url(user_id) && b64url(secret)).then(|| (user_id.to_string(), SessionSecret::new(value)))
}

/// A new session for `user_id`: the secret, and the `Set-Cookie` that hands it to the browser.
pub fn new_session(req: &HttpRequest, user_id: &str, max_age_s: u64, rng: &mut dyn Random) -> (SessionSecret, String) {
    let value = format!("{user_id}.{}", random_string(rng, SECRET_BYTES));
    let secure = secure(req);
    let header = set_cookie(&name(SESSION, secure), &value, secure, Some(max_age_s));
    (SessionSecret::new(value), header)
}

/// The `Set-Cookie` that ends the session cookie.
pub fn clear_session(req: &HttpRequest) -> String {
    let secure = secure(req);
    set_cookie(&name(SESSION, secure), "", secure, Some(0))
}

/// The state cookie of a sign-in through an identity provider, if the browser sent one.
pub fn upstream(req: &HttpRequest) -> Option<&str> {
    cookie(req, &name(UPSTREAM, secure(req)))
}

/// The `Set-Cookie` that hands the browser a started sign-in's state for `max_age_s` (a
/// `SameSite=Lax` cookie: the provider sends the browser back with a cross-site navigation).
pub fn set_upstream(req: &HttpRequest, value: &str, max_age_s: u64) -> String {
    let secure = secure(req);
    set_cookie(&name(UPSTREAM, secure), value, secure, Some(max_age_s))
}

/// The `Set-Cookie` that ends the state cookie.
pub fn clear_upstream(req: &HttpRequest) -> String {
    let secure = secure(req);
    set_cookie(&name(UPSTREAM, secure), "", secure, Some(0))
}

/// The CSRF token for this browser's forms, and a `Set-Cookie` when the browser has no CSRF
/// cookie yet.
pub fn csrf(req: &HttpRequest, rng: &mut dyn Random) -> (String, Option<String>) {
    let secure = secure(req);
    let cookie_name = name(CSRF, secure);
    match cookie(req, &cookie_name) {
        Some(v) if v.len() == 43 => (form_token(&CsrfSecret::new(v)), None),
        _ => {
            let secret = CsrfSecret::new(random_string(rng, SECRET_BYTES));
            let header = set_cookie(&cookie_name, secret.expose(), secure, None);
            (form_token(&secret), Some(header))
        }
    }
}

fn form_token(secret: &CsrfSecret) -> String {
    SecretHash::of(&format!("edge-oauth csrf {}", secret.expose())).as_str().to_string()
}

/// Does the posted form carry this browser's CSRF token? Checked before anything else.
pub fn csrf_ok(req: &HttpRequest, form: &Params) -> bool {
    let (Some(cookie), Ok(Some(token))) = (cookie(req, &name(CSRF, secure(req))), form.single("csrf_token")) else { return false };
    let want = form_token(&CsrfSecret::new(cookie));
    want.as_bytes().ct_eq(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Req, SeqRng};

    #[test]
    fn secure_except_on_plain_http_loopback() {
        for (origin, want) in [
            ("https://auth.example.com", true),
            ("https://127.0.0.1:8443", true),
            ("http://127.0.0.1:8787", false),
            ("http://localhost:8787", false),
            ("http://LOCALHOST", false),
            ("http://[::1]:8787", false),
            ("http://auth.example.com", true),
            ("http://127.0.0.1.evil.example", true),
        ] {
            assert_eq!(secure(&Req::new("GET", "/").origin(origin).0), want, "{origin}");
        }
    }

    #[test]
    fn session_cookie_roundtrip_and_attributes() {
        let mut rng = SeqRng(3);
        let https = Req::new("GET", "/").0;
        let uid = "AAAAAAAAAAAAAAAAAAAAAA";
        let (secret, header) = new_session(&https, uid, 3600, &mut rng);
        assert!(header.starts_with("__Host-eo_session="), "{header}");
        for attr in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure", "Max-Age=3600"] {
            assert!(header.contains(attr), "{header} lacks {attr}");
        }
        let back = Req::new("GET", "/").header("cookie", &format!("a=b; __Host-eo_session={}; c=d", secret.expose())).0;
        assert_eq!(session(&back), Some((uid.to_string(), secret.clone())));
        // Over plain-http loopback: no Secure, no prefix, and the prefixed cookie is not read.
        let local = Req::new("GET", "/").origin("http://127.0.0.1:8787").0;
        let (_, header) = new_session(&local, uid, 60, &mut rng);
        assert!(header.starts_with("eo_session=") && !header.contains("Secure"), "{header}");
        let wrong = Req::new("GET", "/").origin("http://127.0.0.1:8787").header("cookie", &format!("__Host-eo_session={}", secret.expose())).0;
        assert_eq!(session(&wrong), None);
        assert!(clear_session(&https).contains("Max-Age=0"));
        for bad in ["x", "short.short", &format!("{uid}.{}", "!".repeat(43))] {
            let r = Req::new("GET", "/").header("cookie", &format!("__Host-eo_session={bad}")).0;
            assert_eq!(session(&r), None, "{bad}");
        }
    }

    #[test]
    fn csrf_double_submit() {
        let mut rng = SeqRng(9);
        let first = Req::new("GET", "/login").0;
        let (token, set) = csrf(&first, &mut rng);
        let set = set.expect("a browser without the cookie gets one");
        let cookie_value = set.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
        assert!(!token.contains(&cookie_value), "the form carries a hash, not the cookie");
        let with_cookie = |form: &str| {
            let req = Req::new("POST", "/login").header("cookie", &format!("__Host-eo_csrf={cookie_value}")).0;
            csrf_ok(&req, &Params::parse(form.as_bytes()).unwrap())
        };
        assert!(with_cookie(&format!("csrf_token={token}")));
        assert!(!with_cookie("csrf_token=x"));
        assert!(!with_cookie(""));
        assert!(!with_cookie(&format!("csrf_token={token}&csrf_token={token}")));
        let no_cookie = Req::new("POST", "/login").0;
        assert!(!csrf_ok(&no_cookie, &Params::parse(format!("csrf_token={token}").as_bytes()).unwrap()));
        // A second page for the same browser reuses its cookie.
        let again = Req::new("GET", "/login").header("cookie", &format!("__Host-eo_csrf={cookie_value}")).0;
        assert_eq!(csrf(&again, &mut rng), (token, None));
    }
}
