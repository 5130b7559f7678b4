//! Signing in with an upstream identity provider: `GET /login/{provider_id}?return_to=…` sends
//! the browser to the provider; `GET /login/{provider_id}/callback` brings it back, identifies
//! the person and starts a session. The protocol rules are [`crate::upstream`]'s; this is the
//! I/O around them.
//!
//! Each `state` is used once: the callback counts it (a counter of limit 1 in the object
//! `upstream:{sha256(state)}`, kept as long as a started sign-in lives) before the code is
//! exchanged, so a replayed callback never signs in again. Any failure is an error page
//! (`400`, or `403` for a person refused) that names no secret, and creates nothing.

use super::Outcome;
use crate::app::{App, Cx};
use crate::auth::{jwt, keyset, session};
use crate::error::OAuthError;
use crate::form::encode_component;
use crate::form::Params;
use crate::http::{HttpRequest, HttpResponse};
use crate::pages::{self, ProviderButton};
use crate::provider::{self, jwks_key, Kind, Provider};
use crate::secret::{generate_client_id, random_string, SecretHash};
use crate::shard::names::{Claim, Release, Resolve};
use crate::shard::users::identities::{Identity as Link, Linked, StartLinkedSession, Started};
use crate::shard::users::CreateUser;
use crate::store::{Fetch, Platform};
use crate::upstream::{self as core, Identity, Pending, Refusal, MAX_ANSWER, PENDING_MS, TIMEOUT_MS};
use crate::user::{self, User};

/// The counter that makes a `state` single-use.
const STATE_USES: &str = "upstream_state";

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    let rest = req.path.strip_prefix("/login/").unwrap_or_default();
    let (id, callback) = match rest.split('/').collect::<Vec<_>>().as_slice() {
        [id] => (id.to_string(), false),
        [id, "callback"] => (id.to_string(), true),
        _ => return Err(OAuthError::NotFound),
    };
    if !matches!(req.method.as_str(), "GET" | "HEAD") {
        return Err(OAuthError::MethodNotAllowed("GET"));
    }
    // Read fresh, not from the isolate's list: a deleted provider stops at once.
    let Some(p) = provider::get(&app.kv, &id).await? else { return Err(OAuthError::NotFound) };
    let query = Params::parse(req.query.as_bytes()).unwrap_or_default();
    let one = |name: &str| query.single(name).ok().flatten();
    if !callback {
        let pending = Pending::start(&p, core::local_return(one("return_to")), cx.rng, cx.now_ms);
        let to = core::authorization_url(&p, &core::redirect_uri(&app.issuer(req), &p.provider_id), &pending);
        let cookie = session::set_upstream(req, &pending.encode(), PENDING_MS / 1000);
        return Ok(HttpResponse::new(302).with_header("location", to).with_header("set-cookie", cookie).no_store());
    }
    let pending = session::upstream(req).and_then(Pending::decode);
    match finish(app, req, cx, &p, pending.as_ref(), one("state"), one("code"), one("error")).await? {
        Ok(resp) => Ok(resp),
        Err(refusal) => Ok(refused(req, &p, &refusal)),
    }
}

/// The error page of a refused sign-in (page headers: no framing, `no-store`), ending the
/// state cookie.
fn refused(req: &HttpRequest, p: &Provider, r: &Refusal) -> HttpResponse {
    let title = format!("Signing in with {} failed", p.name);
    pages::error(r.status(), &title, &r.detail()).with_header("set-cookie", session::clear_upstream(req))
}

#[allow(clippy::too_many_arguments)]
async fn finish<P: Platform>(
    app: &App<P>,
    req: &HttpRequest,
    cx: &mut Cx<'_>,
    p: &Provider,
    pending: Option<&Pending>,
    state: Option<&str>,
    code: Option<&str>,
    error: Option<&str>,
) -> Result<Result<HttpResponse, Refusal>, OAuthError> {
    let code = match core::check_callback(pending, &p.provider_id, state, code, error, cx.now_ms) {
        Ok(c) => c,
        Err(r) => return Ok(Err(r)),
    };
    let Some(pending) = pending else { return Ok(Err(Refusal::State)) };
    // The state is used up before anything else happens: a replay never gets further.
    let owner = format!("upstream:{}", SecretHash::of(&pending.state).as_str());
    if !app.count(&owner, STATE_USES, PENDING_MS, 1, true).await?.allowed {
        return Ok(Err(Refusal::Replayed));
    }
    let identity = match identify(app, req, p, pending, code, cx.now_ms).await {
        Ok(i) => i,
        Err(r) => return Ok(Err(r)),
    };
    let user_id = match person(app, p, &identity, cx).await? {
        Some(u) => u,
        None => return Ok(Err(Refusal::NotLinked)),
    };
    // A new session id (never one the browser brought: no fixation).
    let (secret, cookie) = session::new_session(req, &user_id, app.config.session_ms / 1000, cx.rng);
    let op = StartLinkedSession {
        hash: secret.hash(),
        expires_ms: cx.now_ms + app.config.session_ms,
        provider_id: p.provider_id.clone(),
        subject: identity.subject.clone(),
    };
    match app.call(&user::object_name(&user_id), op).await? {
        Started::Started => {}
        Started::Disabled => return Ok(Err(Refusal::Disabled)),
        Started::NotLinked => return Ok(Err(Refusal::NotLinked)),
    }
    let resp = HttpResponse::new(303)
        .with_header("location", pending.return_to.clone())
        .with_header("set-cookie", cookie)
        .with_header("set-cookie", session::clear_upstream(req))
        .no_store();
    Ok(Ok(resp))
}

/// The code exchanged, and the person the provider vouches for.
async fn identify<P: Platform>(app: &App<P>, req: &HttpRequest, p: &Provider, pending: &Pending, code: &str, now_ms: u64) -> Result<Identity, Refusal> {
    let redirect_uri = core::redirect_uri(&app.issuer(req), &p.provider_id);
    let answer = app.fetch.send(&core::token_request(p, &redirect_uri, code, &pending.verifier), TIMEOUT_MS, MAX_ANSWER).await;
    let tokens = core::token_response(answer, p.kind)?;
    match p.kind {
        Kind::Oidc => {
            let token = tokens.id_token.as_deref().unwrap_or_default();
            let parsed = jwt::parse(token).map_err(Refusal::IdToken)?;
            let jwks_uri = p.jwks_uri.as_deref().unwrap_or_default();
            let keys = keyset::keys(&app.fetch, &app.cache, &jwks_key(&p.provider_id), jwks_uri, parsed.kid.as_deref(), now_ms).await.unwrap_or_default();
            let key = jwt::select(&parsed, &keys).ok_or(Refusal::IdToken(jwt::JwtError::NoKey))?;
            jwt::verify_signature(&app.crypto, &parsed, key).await.map_err(Refusal::IdToken)?;
            let id = core::id_token_identity(&parsed.claims, p, pending.nonce.as_deref(), now_ms / 1000)?;
            match (&p.userinfo_endpoint, &tokens.access_token) {
                // What the ID token leaves out (a username, a name) may be in the userinfo
                // response; a response about someone else is ignored.
                (Some(url), Some(at)) if id.username.is_none() || id.name.is_none() => {
                    let answer = app.fetch.send(&core::userinfo_request(url, at), TIMEOUT_MS, MAX_ANSWER).await;
                    Ok(core::merge_userinfo(id.clone(), answer).unwrap_or(id))
                }
                _ => Ok(id),
            }
        }
        Kind::Oauth2 => {
            let url = p.userinfo_endpoint.as_deref().unwrap_or_default();
            let at = tokens.access_token.as_deref().unwrap_or_default();
            let answer = app.fetch.send(&core::userinfo_request(url, at), TIMEOUT_MS, MAX_ANSWER).await;
            let claims = p.claims.clone().ok_or(Refusal::Unusable("the provider has no claims mapping"))?;
            core::userinfo_identity(answer, &claims)
        }
    }
}

/// The person linked to `identity`; a new one when the provider creates people and nobody is
/// linked yet. `None`: nobody, and none may be created.
async fn person<P: Platform>(app: &App<P>, p: &Provider, identity: &Identity, cx: &mut Cx<'_>) -> Result<Option<String>, OAuthError> {
    let claim = provider::link_object(&p.provider_id, &identity.subject);
    if !p.auto_create {
        return app.call(&claim, Resolve {}).await;
    }
    // Looking the pair up and claiming it for a new person is one compare-and-set: of two
    // first sign-ins at once, one claims it and the other signs in as the person it makes.
    let user_id = generate_client_id(cx.rng);
    if let Some(owner) = app.call(&claim, Claim { user_id: user_id.clone() }).await? {
        return Ok(Some(owner));
    }
    match create(app, p, identity, &user_id, cx).await {
        Ok(()) => Ok(Some(user_id)),
        Err(e) => {
            let _ = app.call(&claim, Release { user_id }).await;
            Err(e)
        }
    }
}

/// A new person with no password, a free username derived from the provider's, and the link.
async fn create<P: Platform>(app: &App<P>, p: &Provider, identity: &Identity, user_id: &str, cx: &mut Cx<'_>) -> Result<(), OAuthError> {
    let mut username = None;
    for candidate in core::username_candidates(identity, &random_string(cx.rng, 4)) {
        if app.call(&user::name_object(&candidate), Claim { user_id: user_id.to_string() }).await?.is_none() {
            username = Some(candidate);
            break;
        }
    }
    let username = username.ok_or_else(|| OAuthError::ServerError("no free username".into()))?;
    let made = async {
        let user = User {
            user_id: user_id.to_string(),
            username: username.clone(),
            name: identity.name.clone().unwrap_or_default(),
            created_at: cx.now_ms,
            updated_at: cx.now_ms,
            disabled: false,
            password: crate::auth::password::PasswordHash::none(),
            epoch: 0,
            clients: Vec::new(),
            deleted: false,
        };
        if !app.call(&user::object_name(user_id), CreateUser { user: user.clone() }).await? {
            return Err(OAuthError::ServerError("a fresh user id was taken".into()));
        }
        let link = Link { provider_id: p.provider_id.clone(), subject: identity.subject.clone(), created_at: cx.now_ms };
        if app.call(&user::object_name(user_id), crate::shard::users::identities::Link { identity: link }).await? != Linked::Linked {
            return Err(OAuthError::ServerError("the new person could not be linked".into()));
        }
        user::store::put(&app.kv, &user).await?;
        Ok(())
    }
    .await;
    if made.is_err() {
        let _ = app.call(&user::name_object(&username), Release { user_id: user_id.to_string() }).await;
    }
    made
}

/// The sign-in page's "Continue with {name}" buttons, each returning to `return_to` (when set).
pub async fn buttons<P: Platform>(app: &App<P>, return_to: &str, now_ms: u64) -> Result<Vec<ProviderButton>, OAuthError> {
    let query = if return_to.is_empty() { String::new() } else { format!("?return_to={}", encode_component(return_to)) };
    let all = listed(app, now_ms).await?;
    Ok(all.into_iter().map(|p| ProviderButton { href: format!("/login/{}{query}", p.provider_id), name: p.name }).collect())
}

/// Every provider, for the sign-in pages' buttons (this isolate's copy for a few seconds).
pub async fn listed<P: Platform>(app: &App<P>, now_ms: u64) -> Result<Vec<Provider>, OAuthError> {
    if let Some(all) = app.cache.providers(now_ms) {
        return Ok(all);
    }
    let all = provider::list(&app.kv).await?;
    app.cache.put_providers(Some(all.clone()), now_ms + app.config.client_cache_ms);
    Ok(all)
}
