//! `/signup` (`SIGNUP=open`; otherwise `404`): a person creates their own account, with the
//! rules of `POST /admin/users` (the same parser and the same creation path), is signed in,
//! and lands on the console (`303 /console`). A taken username shows the form again with
//! `409`, a bad field with `400`; at most [`SIGNUPS_PER_IP`] sign-ups per address per hour
//! (`429` page with `Retry-After`), counted on the shards' per-address counters.

use crate::app::{App, Cx, SIGNUPS, SIGNUPS_PER_IP, SIGNUP_WINDOW_MS};
use crate::auth::session;
use crate::endpoints::authorize::with_cookie;
use crate::endpoints::{page_form, Outcome};
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::pages::console as page;
use crate::pages::Csrf;
use crate::shard::users::sessions::StartSession;
use crate::store::Platform;
use crate::user;

pub const PATH: &str = "/signup";

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    if !app.config.signup {
        return Err(OAuthError::NotFound);
    }
    match req.method.as_str() {
        "GET" | "HEAD" => {
            let (csrf, set) = session::csrf(req, cx.rng);
            Ok(with_cookie(page::signup(200, Csrf(&csrf), "", "", None), set))
        }
        "POST" => sign_up(app, req, cx).await,
        _ => Err(OAuthError::MethodNotAllowed("GET, POST")),
    }
}

/// Where a person goes whose account was made but whose session did not start.
pub const SIGN_IN_AFTER: &str = "/login?return_to=%2Fconsole";

async fn sign_up<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    let form = page_form(req)?;
    let field = |n: &str| form.single(n).ok().flatten().unwrap_or("").to_string();
    let (username, name, password) = (field("username").trim().to_string(), field("name"), field("password"));
    let ip_owner = format!("ip:{}", req.client_ip.as_deref().unwrap_or("unknown"));
    let limit = app.peek(&ip_owner, SIGNUPS, SIGNUP_WINDOW_MS, SIGNUPS_PER_IP).await?;
    if !limit.allowed {
        return Ok(page::too_many_signups(limit.retry_after_s));
    }
    let (csrf, set) = session::csrf(req, cx.rng);
    let again = |status: u16, problem: &str| with_cookie(page::signup(status, Csrf(&csrf), &username, &name, Some(problem)), set.clone());
    // The admin API's rules, by its own parser.
    let body = serde_json::json!({ "username": username, "password": password, "name": name }).to_string();
    let new = match user::parse_new(body.as_bytes()) {
        Ok(new) => new,
        Err(OAuthError::InvalidField { field, .. }) => {
            let problem = match field.as_str() {
                "username" => "The username must be 1 to 64 of A-Z a-z 0-9 . _ @ -.",
                "password" => "The password must have 8 to 1024 characters.",
                _ => "Your name must be at most 200 characters.",
            };
            return Ok(again(400, problem));
        }
        Err(e) => return Err(e),
    };
    let person = match user::lifecycle::create(app, &new, cx.now_ms, cx.rng).await {
        Ok(u) => u,
        Err(OAuthError::Conflict { .. }) => return Ok(again(409, "This username is taken. Choose another one.")),
        Err(e) => return Err(e),
    };
    // The person exists from here on: an error now would send them to repeat the sign-up,
    // which finds the name taken. So the count is best effort, and a session that does not
    // start sends them to sign in instead (with the password they just chose).
    let _ = app.count(&ip_owner, SIGNUPS, SIGNUP_WINDOW_MS, SIGNUPS_PER_IP, false).await;
    // Signed in, as `/login` does it.
    let (secret, cookie) = session::new_session(req, &person.user_id, app.config.session_ms / 1000, cx.rng);
    let op = StartSession { hash: secret.hash(), expires_ms: cx.now_ms + app.config.session_ms, password: person.password.clone() };
    match app.call(&user::object_name(&person.user_id), op).await {
        Ok(true) => Ok(HttpResponse::new(303).with_header("location", "/console").with_header("set-cookie", cookie).no_store()),
        _ => Ok(HttpResponse::new(303).with_header("location", SIGN_IN_AFTER).no_store()),
    }
}
