//! The person-facing HTML pages: pure functions from what a page shows to a complete
//! [`HttpResponse`]. Pages own no storage and make no decisions; handlers decide which page to
//! show. Templates (askama, compiled in, HTML escaping on by default) live in `templates/`;
//! one small inline stylesheet; no JavaScript; every form posts with a CSRF token.
//!
//! Every page response carries: `Content-Type: text/html; charset=utf-8`, `Cache-Control:
//! no-store`, `Pragma: no-cache`, `X-Frame-Options: DENY`, `Content-Security-Policy:
//! default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none';
//! base-uri 'none'` (deliberately no `form-action`: it would block redirects to loopback
//! clients), `Referrer-Policy: no-referrer` and `X-Content-Type-Options: nosniff`.

use askama::Template;

use crate::http::HttpResponse;

pub mod chart;
pub mod console;
mod templates;
#[cfg(test)]
mod tests;

use templates::*;
pub use templates::{ClientInfo, Person, ProviderButton, ScopeInfo};

/// The CSRF form token of this browser (goes in a hidden input named `csrf_token`).
#[derive(Debug, Clone, Copy)]
pub struct Csrf<'a>(pub &'a str);

/// Why a login attempt failed (all three look the same to the person).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginProblem {
    /// Wrong password, unknown user and disabled user alike.
    WrongCredentials,
}

/// The login page (status 200, or 401 after a failed attempt). The form posts to `/login`
/// with inputs `username`, `password`, hidden `csrf_token` and hidden `return_to`.
pub fn login(csrf: Csrf, return_to: &str, username: &str, problem: Option<LoginProblem>, client: Option<ClientInfo>) -> HttpResponse {
    login_with_providers(csrf, return_to, username, problem, client, &[])
}

/// [`login`] with a "Continue with {name}" link per upstream identity provider, below the
/// password form.
pub fn login_with_providers(
    csrf: Csrf,
    return_to: &str,
    username: &str,
    problem: Option<LoginProblem>,
    client: Option<ClientInfo>,
    providers: &[ProviderButton],
) -> HttpResponse {
    let failed = matches!(problem, Some(LoginProblem::WrongCredentials));
    let page = LoginPage { csrf: csrf.0, return_to, username, failed, client, providers };
    respond(if failed { 401 } else { 200 }, &page)
}

/// 429 page: too many failed sign-ins; `Retry-After: retry_after` seconds.
pub fn too_many_attempts(retry_after: u64) -> HttpResponse {
    let detail = format!("For your security, signing in is paused for a while. Please try again in {}.", wait_in_words(retry_after));
    let mut r = message(429, "Too many attempts", &detail, None, None);
    r.headers.push(("retry-after", retry_after.to_string()));
    r
}

/// The consent page (200). The form posts to `action` with every `(name, value)` of `hidden`
/// as hidden inputs, plus `csrf_token`, and two submit buttons named `decision` with values
/// `approve` and `deny`. Names the client, the host it will send the person back to, the
/// signed-in person (with a link to `/logout`), and each scope in words.
pub fn consent(csrf: Csrf, person: Person, client: ClientInfo, scopes: &[ScopeInfo], action: &str, hidden: &[(&str, &str)]) -> HttpResponse {
    consent_with_host(csrf, person, client, None, scopes, action, hidden)
}

/// [`consent`] for a client that identifies itself by a metadata document at `client_host`:
/// that host is shown prominently, since the client's name is whatever its document says.
pub fn consent_with_host(
    csrf: Csrf,
    person: Person,
    client: ClientInfo,
    client_host: Option<&str>,
    scopes: &[ScopeInfo],
    action: &str,
    hidden: &[(&str, &str)],
) -> HttpResponse {
    respond(200, &ConsentPage { csrf: csrf.0, person, client, client_host, scopes, action, hidden })
}

/// An error page that must not redirect (status as given, 400 usually): a title and a plain
/// explanation. Used for an unknown client or an unregistered redirect URI at `/authorize`,
/// and for a refused CSRF check (403).
pub fn error(status: u16, title: &str, detail: &str) -> HttpResponse {
    message(status, title, detail, None, None)
}

/// `GET /logout`: a form posting to `/logout` (hidden `csrf_token`, one submit button). With
/// no one signed in it says so, and shows no form.
pub fn logout(csrf: Csrf, person: Option<Person>) -> HttpResponse {
    respond(200, &LogoutPage { csrf: csrf.0, person })
}

/// After `POST /logout` (200): "You are signed out."
pub fn signed_out() -> HttpResponse {
    message(200, "Signed out", "You are signed out.", Some("You can close this window."), Some(("/login", "Sign in again")))
}

/// `GET /login` with nobody to return to, when signed in (200): who is signed in, and a link
/// to `/logout`.
pub fn signed_in(person: Person) -> HttpResponse {
    respond(200, &SignedInPage { person })
}

/// The device page, step 1 (RFC 8628 §3.3): a form posting to `/device` with input
/// `user_code` (prefilled with `prefill`), hidden `csrf_token`, one submit button. `problem`
/// is shown above the form (e.g. "That code is not valid or has expired."); status 200, or 400
/// when `problem` is set.
pub fn device_entry(csrf: Csrf, prefill: &str, problem: Option<&str>) -> HttpResponse {
    respond(if problem.is_some() { 400 } else { 200 }, &DeviceEntryPage { csrf: csrf.0, prefill, problem })
}

/// The device consent page (200): names the client and each scope, shows `user_code` large
/// (as `XXXX-XXXX`) and tells the person plainly to approve only a device they are holding
/// whose screen shows this same code (RFC 8628 §5.4). Form posts to `/device` with hidden
/// `user_code`, hidden `csrf_token`, buttons `decision` = `approve` / `deny`.
pub fn device_consent(csrf: Csrf, person: Person, client: ClientInfo, scopes: &[ScopeInfo], user_code: &str) -> HttpResponse {
    let code = display_code(user_code);
    respond(200, &DeviceConsentPage { csrf: csrf.0, person, client, scopes, user_code, code: &code })
}

/// After a device decision (200): approved ("You can return to your device") or denied.
pub fn device_done(approved: bool, client_name: &str) -> HttpResponse {
    let close = Some("You can close this window.");
    if approved {
        let detail = format!("{client_name} now has access. You can return to your device.");
        message(200, "Device connected", &detail, close, None)
    } else {
        let detail = format!("{client_name} was not given access. Your device will show that the request was denied.");
        message(200, "Request denied", &detail, close, None)
    }
}

/// The headers every page carries (see the module docs).
const PAGE_HEADERS: [(&str, &str); 7] = [
    ("content-type", "text/html; charset=utf-8"),
    ("cache-control", "no-store"),
    ("pragma", "no-cache"),
    ("x-frame-options", "DENY"),
    ("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
];

/// Renders a page into a response with every header of [`PAGE_HEADERS`]; the only way pages
/// build responses.
fn respond(status: u16, page: &impl Template) -> HttpResponse {
    let mut r = HttpResponse::new(status);
    r.headers.extend(PAGE_HEADERS.iter().map(|&(n, v)| (n, v.to_string())));
    match page.render() {
        Ok(html) => r.body = html.into_bytes(),
        // Rendering writes into a String and cannot fail in practice; never send half a page.
        Err(e) => {
            r.status = 500;
            r.body = b"<!doctype html><title>Error</title><p>Something went wrong.</p>".to_vec();
            r.log = Some(format!("page render failed: {e}"));
        }
    }
    r
}

/// A page with a title, a sentence or two, and no form.
fn message(status: u16, title: &str, detail: &str, note: Option<&str>, link: Option<(&str, &str)>) -> HttpResponse {
    respond(status, &MessagePage { bad: status >= 400, title, detail, note, link })
}

/// "30 seconds", "1 minute", "15 minutes" (rounded up), "2 hours".
fn wait_in_words(secs: u64) -> String {
    let (n, unit) = match secs {
        0..=59 => (secs.max(1), "second"),
        60..=5399 => (secs.div_ceil(60), "minute"),
        _ => (secs.div_ceil(3600), "hour"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A user code as people read it: upper case, `XXXX-XXXX` when it has eight characters.
fn display_code(user_code: &str) -> String {
    let chars: Vec<char> = user_code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    if chars.len() == 8 {
        let (a, b) = chars.split_at(4);
        format!("{}-{}", a.iter().collect::<String>(), b.iter().collect::<String>())
    } else {
        user_code.to_string()
    }
}
