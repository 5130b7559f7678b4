//! The device authorization grant (RFC 8628): `POST /device_authorization` starts a flow for
//! a device, and the `/device` page lets a person enter its code, sign in, and approve or deny.
//! Polling is the `device_code` grant at `/token` ([`crate::grants::device_code`]).

use super::authorize::with_cookie;
use super::login::signed_in;
use super::{authenticated_form, page_form, Outcome};
use crate::app::{App, Cx, USER_CODE_FAILURES, USER_CODE_FAILURES_PER_IP};
use crate::auth::session;
use crate::auth::user_code::{self, UserCode};
use crate::client::GRANT_DEVICE_CODE;
use crate::error::OAuthError;
use crate::form::Params;
use crate::http::{HttpRequest, HttpResponse};
use crate::pages::{self, ClientInfo, Csrf, Person, ScopeInfo};
use crate::scope;
use crate::secret::{random_string, SECRET_BYTES};
use crate::shard::codes::Stored;
use crate::shard::devices::{CreateDevice, DecideDevice, DeviceGrant, DeviceRecord, DeviceStatus, LookupDevice, StoreDeviceGrant};
use crate::shard::route::{shard_name, user_shard};
use crate::shard::users::grants::Authorize;
use crate::store::Platform;
use crate::user;
use serde_json::json;

/// RFC 8628 §3.2: the minimum seconds between polls.
pub const INTERVAL_S: u32 = 5;

/// `POST /device_authorization` (RFC 8628 §3.1, §3.2).
pub async fn authorization<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    let (params, auth) = authenticated_form(app, req, cx.now_ms).await?;
    let client = auth.client;
    if !client.settings.allows(GRANT_DEVICE_CODE) {
        return Err(OAuthError::UnauthorizedClient);
    }
    let scope = scope::grant(params.single("scope")?, &client.settings.scopes)?;
    // RFC 8707 §2: `resource` as at `/authorize`; none named, all of the client's.
    let resources = crate::resource::select(&params.all("resource"), client.resources(&app.config.resources))?;
    // A fresh user code; on the rare collision with a live flow, draw another.
    for _ in 0..5 {
        let code = user_code::generate(cx.rng);
        let device_code = format!("{}.{}", code.as_str(), random_string(cx.rng, SECRET_BYTES));
        let record = DeviceRecord {
            client_id: client.client_id.clone(),
            scope: scope.clone(),
            resources: resources.clone(),
            device_code: crate::secret::SecretHash::of(&device_code),
            created_ms: cx.now_ms,
            expires_ms: cx.now_ms + app.config.device_code_ms,
            interval_s: INTERVAL_S,
            last_poll_ms: None,
            status: DeviceStatus::Pending,
        };
        if app.call(&code.object(), CreateDevice { record }).await? {
            let uri = format!("{}/device", app.issuer(req));
            let body = json!({
                "device_code": device_code,
                "user_code": code.display(),
                "verification_uri": uri,
                "verification_uri_complete": format!("{uri}?user_code={}", code.display()),
                "expires_in": app.config.device_code_ms / 1000,
                "interval": INTERVAL_S,
            });
            return Ok(HttpResponse::json(200, &body).no_store());
        }
    }
    Err(OAuthError::ServerError("no free user code after 5 draws".into()))
}

/// `GET /device` (the code-entry page, or with `user_code` the consent for that flow) and
/// `POST /device` (the entry form, or the decision).
pub async fn page<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    match req.method.as_str() {
        "GET" | "HEAD" => {
            let query = Params::parse(req.query.as_bytes()).unwrap_or_default();
            match query.single("user_code").ok().flatten() {
                None => entry(req, cx, "", None),
                Some(raw) => show(app, req, cx, raw).await,
            }
        }
        "POST" => {
            let form = page_form(req)?;
            let raw = form.single("user_code").ok().flatten().unwrap_or("");
            match form.single("decision").ok().flatten() {
                // The entry form: on to the flow's own page (which checks the code).
                None => Ok(HttpResponse::new(303).with_header("location", format!("/device?user_code={}", crate::form::encode_component(raw))).no_store()),
                Some("approve") => decide(app, req, cx, raw, true).await,
                Some("deny") => decide(app, req, cx, raw, false).await,
                Some(_) => Err(OAuthError::invalid_request("choose approve or deny")),
            }
        }
        _ => Err(OAuthError::MethodNotAllowed("GET, POST")),
    }
}

fn entry(req: &HttpRequest, cx: &mut Cx<'_>, prefill: &str, problem: Option<&str>) -> Outcome {
    let (token, set) = session::csrf(req, cx.rng);
    Ok(with_cookie(pages::device_entry(Csrf(&token), prefill, problem), set))
}

/// What a code entered by a person names.
enum Lookup {
    Found(UserCode, DeviceRecord),
    /// Not a live flow waiting for a decision (counted as a wrong code).
    Unknown,
    /// Too many wrong codes from this address: the 429 page.
    Refused(HttpResponse),
}

/// The flow a code names, with wrong codes counted per address (RFC 8628 §5.1): over the limit,
/// no code is even looked up.
/// `approved_by`: also a flow this person approved already (see [`LookupDevice`]).
async fn lookup<P: Platform>(app: &App<P>, req: &HttpRequest, raw: &str, approved_by: Option<String>) -> Result<Lookup, OAuthError> {
    let limits = app.config.limits;
    let owner = format!("ip:{}", req.client_ip.as_deref().unwrap_or("unknown"));
    let d = app.peek(&owner, USER_CODE_FAILURES, limits.failure_window_ms, USER_CODE_FAILURES_PER_IP).await?;
    if !d.allowed {
        return Ok(Lookup::Refused(pages::too_many_attempts(d.retry_after_s)));
    }
    if let Some(code) = UserCode::parse(raw) {
        if let Some(flow) = app.call(&code.object(), LookupDevice { approved_by }).await? {
            return Ok(Lookup::Found(code, flow));
        }
    }
    let d = app.count(&owner, USER_CODE_FAILURES, limits.failure_window_ms, USER_CODE_FAILURES_PER_IP, true).await?;
    Ok(if d.allowed { Lookup::Unknown } else { Lookup::Refused(pages::too_many_attempts(d.retry_after_s)) })
}

const BAD_CODE: &str = "That code is not valid, or it has expired. Check the code on your device and try again.";

/// The entry page again, saying the code was wrong (400).
fn wrong_code(req: &HttpRequest, cx: &mut Cx<'_>, raw: &str) -> Outcome {
    let (token, set) = session::csrf(req, cx.rng);
    let mut page = pages::device_entry(Csrf(&token), raw, Some(BAD_CODE));
    page.status = 400;
    Ok(with_cookie(page, set))
}

/// The consent page for the flow a code names (never an automatic approval: RFC 8628 §5.4).
async fn show<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>, raw: &str) -> Outcome {
    let (code, flow) = match lookup(app, req, raw, None).await? {
        Lookup::Found(code, flow) => (code, flow),
        Lookup::Unknown => return wrong_code(req, cx, raw),
        Lookup::Refused(page) => return Ok(page),
    };
    let Some(who) = signed_in(app, req).await? else {
        let (token, set) = session::csrf(req, cx.rng);
        let return_to = format!("/device?user_code={}", code.display());
        let buttons = super::upstream::buttons(app, &return_to, cx.now_ms).await?;
        return Ok(with_cookie(pages::login_with_providers(Csrf(&token), &return_to, "", None, None, &buttons), set));
    };
    let client = app.client(&flow.client_id, cx.now_ms).await?;
    let name = client.as_ref().map_or(flow.client_id.as_str(), |c| c.settings.name.as_str());
    let descriptions: Vec<String> = flow.scope.iter().map(|s| scope::describe(s, &app.config.scope_descriptions)).collect();
    let scopes: Vec<ScopeInfo> = flow.scope.iter().zip(&descriptions).map(|(name, d)| ScopeInfo { name, description: d }).collect();
    let (token, set) = session::csrf(req, cx.rng);
    let person = Person { username: &who.username, name: &who.name };
    let hosts = super::authorize::resource_hosts(&flow.resources);
    let client = ClientInfo { name, redirect_host: None, resource_hosts: &hosts };
    let page = pages::device_consent(Csrf(&token), person, client, &scopes, &code.display());
    Ok(with_cookie(page, set))
}

/// Approve or deny. Approval is stored first where the tokens will live, then the flow is
/// marked approved: a failure between the two leaves the device waiting, and repeating the
/// approval completes it. A repeat after the flow was marked (the answer was lost) finds it
/// approved by this person and answers as the first time, changing nothing (the approval
/// may have been redeemed already: it is not stored again).
async fn decide<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>, raw: &str, approve: bool) -> Outcome {
    let me = session::session(req).map(|(user_id, _)| user_id).filter(|_| approve);
    let (code, flow) = match lookup(app, req, raw, me).await? {
        Lookup::Found(code, flow) => (code, flow),
        Lookup::Unknown => return wrong_code(req, cx, raw),
        Lookup::Refused(page) => return Ok(page),
    };
    let Some((user_id, secret)) = session::session(req) else {
        return Err(OAuthError::Forbidden("sign in first".into()));
    };
    let name = app.client(&flow.client_id, cx.now_ms).await?.map(|c| c.settings.name).unwrap_or_else(|| flow.client_id.clone());
    if let DeviceStatus::Approved { user_id: by } = &flow.status {
        // Approved by this person already: only their live session may learn it.
        return match signed_in(app, req).await? {
            Some(who) if &who.user_id == by => Ok(pages::device_done(true, &name)),
            _ => wrong_code(req, cx, raw),
        };
    }
    if !approve {
        app.call(&code.object(), DecideDevice { approved_by: None }).await?;
        return Ok(pages::device_done(false, &name));
    }
    let op = Authorize { session: secret.hash(), client_id: flow.client_id.clone(), scope: flow.scope.clone() };
    let Some(who) = app.call(&user::object_name(&user_id), op).await? else {
        return Err(OAuthError::Forbidden("the sign-in ended; start again".into()));
    };
    let grant = DeviceGrant {
        client_id: flow.client_id.clone(),
        user_id: who.user_id.clone(),
        username: who.username.clone(),
        scope: flow.scope.clone(),
        resources: flow.resources.clone(),
        epoch: who.epoch,
        expires_ms: flow.expires_ms,
    };
    let shard = shard_name(&flow.client_id, user_shard(&who.user_id));
    match app.call(&shard, StoreDeviceGrant { device_code: flow.device_code.clone(), grant }).await? {
        Stored::Stored => {}
        Stored::ClientGone => return Ok(pages::error(400, "Unknown application", "The application that asked is not registered, or is disabled.")),
        Stored::UserGone => return Err(OAuthError::Forbidden("the sign-in ended; start again".into())),
    }
    app.call(&code.object(), DecideDevice { approved_by: Some(who.user_id) }).await?;
    Ok(pages::device_done(true, &name))
}
