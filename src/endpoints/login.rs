//! Signing in and out: `GET`/`POST /login`, `GET`/`POST /logout`.
//!
//! A wrong password, an unknown user and a disabled user get the same page with the same
//! status, after the same work (PBKDF2 runs for an unknown user too, against a fixed salt, and
//! the same objects are asked). Failures count per IP address and per username, with the
//! limits and window of failed client authentication; over either, sign-in is refused (429)
//! before any password is checked, whatever the password.

use super::authorize::with_cookie;
use super::{page_form, Outcome};
use crate::app::{App, Cx, FAILURES};
use crate::auth::password::{self, Password};
use crate::auth::session;
use crate::error::OAuthError;
use crate::form::Params;
use crate::http::{HttpRequest, HttpResponse};
use crate::pages::{self, Csrf, LoginProblem, Person};
use crate::shard::names::Resolve;
use crate::shard::users::sessions::{CheckSession, EndSession, SessionUser, StartSession};
use crate::shard::users::GetUser;
use crate::store::Platform;
use crate::user::{self, valid_username, User};

/// Where a sign-in may send the person afterwards: one of our own pages, never another site.
pub fn safe_return(to: Option<&str>) -> Option<&str> {
    let to = to?;
    let console = to == "/console" || to.starts_with("/console/") || to.starts_with("/console?");
    let ours = to.starts_with("/authorize?") || to == "/device" || to.starts_with("/device?") || console;
    let plain = !to.contains(['\\', '\r', '\n', '\t']) && !to.starts_with("//");
    (ours && plain).then_some(to)
}

/// Who is signed in, if anyone.
pub async fn signed_in<P: Platform>(app: &App<P>, req: &HttpRequest) -> Result<Option<SessionUser>, OAuthError> {
    match session::session(req) {
        Some((user_id, secret)) => app.call(&user::object_name(&user_id), CheckSession { hash: secret.hash(), client_id: None }).await,
        None => Ok(None),
    }
}

pub async fn login<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    match req.method.as_str() {
        "GET" | "HEAD" => {
            let query = Params::parse(req.query.as_bytes()).unwrap_or_default();
            let return_to = safe_return(query.single("return_to").ok().flatten());
            if return_to.is_none() {
                if let Some(who) = signed_in(app, req).await? {
                    return Ok(pages::signed_in(Person { username: &who.username, name: &who.name }));
                }
            }
            let (token, set) = session::csrf(req, cx.rng);
            let buttons = super::upstream::buttons(app, return_to.unwrap_or(""), cx.now_ms).await?;
            Ok(with_cookie(pages::login_with_providers(Csrf(&token), return_to.unwrap_or(""), "", None, None, &buttons), set))
        }
        "POST" => sign_in(app, req, cx).await,
        _ => Err(OAuthError::MethodNotAllowed("GET, POST")),
    }
}

async fn sign_in<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    let form = page_form(req)?;
    let username = form.single("username").ok().flatten().unwrap_or("").trim().to_string();
    let password = Password::new(form.single("password").ok().flatten().unwrap_or(""));
    let return_to = safe_return(form.single("return_to").ok().flatten()).map(str::to_string);
    let limits = app.config.limits;
    let ip_owner = format!("ip:{}", req.client_ip.as_deref().unwrap_or("unknown"));
    let name_owner = format!("login:{}", username.to_ascii_lowercase());
    let known_name = valid_username(&username);

    // Over the limit for this address or this name: refused before any password is checked.
    let ip = app.peek(&ip_owner, FAILURES, limits.failure_window_ms, limits.failures_per_ip).await?;
    let name = match known_name {
        true => Some(app.peek(&name_owner, FAILURES, limits.failure_window_ms, limits.failures_per_client).await?),
        false => None,
    };
    if let Some(d) = std::iter::once(ip).chain(name).find(|d| !d.allowed) {
        return Ok(pages::too_many_attempts(d.retry_after_s));
    }

    // The same objects are asked, and the same PBKDF2 work done, whether or not the user exists.
    let user_id = match known_name {
        true => app.call(&user::name_object(&username), Resolve {}).await?,
        false => None,
    };
    let object = user::object_name(user_id.as_deref().unwrap_or("nobody"));
    let user: Option<User> = app.call(&object, GetUser {}).await?;
    // A person with no password (linked to an identity provider) signs in only through it.
    let verified = match &user {
        Some(u) if !u.password.is_none() => password::verify(&app.crypto, &password, &u.password).await,
        _ => password::verify_nobody(&app.crypto, &password, app.config.pbkdf2_iterations).await,
    }
    .map_err(|e| OAuthError::ServerError(format!("password check: {}", e.0)))?;

    if let Some(u) = user.filter(|u| verified && !u.disabled) {
        let (secret, cookie) = session::new_session(req, &u.user_id, app.config.session_ms / 1000, cx.rng);
        let op = StartSession { hash: secret.hash(), expires_ms: cx.now_ms + app.config.session_ms, password: u.password.clone() };
        if app.call(&object, op).await? {
            let to = return_to.as_deref().unwrap_or("/login");
            return Ok(HttpResponse::new(303).with_header("location", to).with_header("set-cookie", cookie).no_store());
        }
    }

    // A failure: counted for the address and the name.
    let ip = app.count(&ip_owner, FAILURES, limits.failure_window_ms, limits.failures_per_ip, true).await?;
    let name = match known_name {
        true => Some(app.count(&name_owner, FAILURES, limits.failure_window_ms, limits.failures_per_client, true).await?),
        false => None,
    };
    if let Some(d) = std::iter::once(ip).chain(name).find(|d| !d.allowed) {
        return Ok(pages::too_many_attempts(d.retry_after_s));
    }
    let (token, set) = session::csrf(req, cx.rng);
    let buttons = super::upstream::buttons(app, return_to.as_deref().unwrap_or(""), cx.now_ms).await?;
    let page = pages::login_with_providers(Csrf(&token), return_to.as_deref().unwrap_or(""), &username, Some(LoginProblem::WrongCredentials), None, &buttons);
    Ok(with_cookie(page, set))
}

pub async fn logout<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    match req.method.as_str() {
        "GET" | "HEAD" => {
            let who = signed_in(app, req).await?;
            let (token, set) = session::csrf(req, cx.rng);
            let person = who.as_ref().map(|w| Person { username: &w.username, name: &w.name });
            Ok(with_cookie(pages::logout(Csrf(&token), person), set))
        }
        "POST" => {
            page_form(req)?;
            if let Some((user_id, secret)) = session::session(req) {
                app.call(&user::object_name(&user_id), EndSession { hash: secret.hash() }).await?;
            }
            Ok(pages::signed_out().with_header("set-cookie", session::clear_session(req)))
        }
        _ => Err(OAuthError::MethodNotAllowed("GET, POST")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_pages_are_return_targets() {
        for ok in ["/authorize?client_id=x", "/device", "/device?user_code=ABCD-EFGH", "/console", "/console/projects/x"] {
            assert_eq!(safe_return(Some(ok)), Some(ok));
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/authorize?",
            "/authorize",
            "/\\evil.example",
            "/authorize?\r\nx",
            "/admin/clients",
            "",
            "/devices",
            "/consoles",
        ] {
            assert_eq!(safe_return(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(safe_return(None), None);
    }
}
