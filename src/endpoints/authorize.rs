//! `GET /authorize` and the consent form's `POST /authorize` (RFC 6749 §4.1.1, RFC 7636,
//! RFC 9207). Validation and the next step are pure decisions; the handler only reads the
//! client and the session, and carries out the step.

use super::{page_form, Outcome};
use crate::app::{App, Cx};
use crate::auth::{pkce, session};
use crate::client::metadata_document::{document_host, is_document_url};
use crate::client::redirect::{self, RedirectProblem, VerifiedRedirect};
use crate::client::{Client, Origin, GRANT_AUTHORIZATION_CODE};
use crate::error::OAuthError;
use crate::form::{encode_component, Params};
use crate::http::{HttpRequest, HttpResponse};
use crate::pages::{self, ClientInfo, Csrf, Person, ScopeInfo};
use crate::shard::codes::{CodeRecord, IssueCode, Stored};
use crate::shard::route::{generate_in, shard_name, user_shard};
use crate::shard::users::grants::Authorize;
use crate::shard::users::sessions::{CheckSession, SessionUser};
use crate::store::Platform;
use crate::user;
use crate::{resource, scope};

/// A valid authorization request.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client: Client,
    pub redirect: VerifiedRedirect,
    /// Whether `redirect_uri` was in the request (then `/token` must repeat it).
    pub redirect_sent: bool,
    pub scope: Vec<String>,
    /// The resources authorized (RFC 8707): those named, or all of the client's.
    pub resources: Vec<String>,
    pub state: Option<String>,
    pub challenge: String,
}

/// An authorization error, by where it may go. Only a [`VerifiedRedirect`] can be redirected
/// to, and only [`redirect::verify`] makes one: an unverified URI is never a redirect target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or its redirect URI cannot be trusted: an HTML page, status 400.
    Page { title: &'static str, detail: String },
    /// Everything else: back to the client (§4.1.2.1), with `error`, `state` and `iss`.
    Redirect { to: VerifiedRedirect, error: &'static str, description: String, state: Option<String> },
}

/// RFC 6749 §4.1.2.1, RFC 7636 §4.4.1 and RFC 8707 §2: validate an authorization request.
/// Pure; `configured` is the worker's `RESOURCES` (for clients the admin API did not make).
pub fn validate(params: &Params, client: Option<Client>, configured: &[String]) -> Result<AuthRequest, AuthorizeError> {
    let page = |title, detail: &str| AuthorizeError::Page { title, detail: detail.to_string() };
    // Until the client and its redirect URI are known good, nothing may redirect.
    let client_id = params.single("client_id").map_err(|_| page("Invalid request", "The request names client_id more than once."))?;
    let client = match (client_id, client) {
        (None, _) => return Err(page("Invalid request", "The request does not say which application is asking (client_id is missing).")),
        (Some(_), Some(c)) if !c.settings.disabled => c,
        (Some(_), _) => return Err(page("Unknown application", "The application that sent you here is not registered, or is disabled.")),
    };
    let presented = params.single("redirect_uri").map_err(|_| page("Invalid request", "The request names redirect_uri more than once."))?;
    let to = redirect::verify(&client.settings.redirect_uris, presented).map_err(|p| match p {
        RedirectProblem::Missing => page("Invalid request", "The request does not say where to send you back (redirect_uri is missing)."),
        RedirectProblem::NotRegistered => page("Invalid redirect", "The address this request would send you back to is not registered for this application."),
    })?;

    // From here on, errors go back to the client. `state` is returned unchanged, even when
    // something else is wrong (a repeated state cannot be returned: it is left out).
    let state = params.single("state").ok().flatten().map(str::to_string);
    let back =
        |error: &'static str, description: &str| AuthorizeError::Redirect { to: to.clone(), error, description: description.to_string(), state: state.clone() };
    let single = |name: &str| params.single(name).map_err(|_| back("invalid_request", &format!("{name} is repeated")));
    single("state")?;
    match single("response_type")? {
        None => return Err(back("invalid_request", "response_type is missing")),
        Some("code") => {}
        Some(_) => return Err(back("unsupported_response_type", "only response_type=code is supported")),
    }
    if !client.settings.allows(GRANT_AUTHORIZATION_CODE) {
        return Err(back("unauthorized_client", "this client may not use the authorization code grant"));
    }
    let scope = scope::grant(single("scope")?, &client.settings.scopes).map_err(|e| back("invalid_scope", &e.description()))?;
    let resources = resource::select(&params.all("resource"), client.resources(configured)).map_err(|e| back("invalid_target", &e.description()))?;
    // PKCE is required for every client, S256 only (RFC 9700 §2.1.1).
    let challenge = match single("code_challenge")? {
        None => return Err(back("invalid_request", "code_challenge is required (PKCE, S256)")),
        Some(c) if !pkce::well_formed(c) => {
            return Err(back("invalid_request", "code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~"));
        }
        Some(c) => c.to_string(),
    };
    match single("code_challenge_method")? {
        Some("S256") => {}
        None => return Err(back("invalid_request", "code_challenge_method is required and must be S256")),
        Some(_) => return Err(back("invalid_request", "only code_challenge_method=S256 is supported")),
    }
    Ok(AuthRequest { client, redirect: to, redirect_sent: presented.is_some(), scope, resources, state, challenge })
}

/// What happens next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nobody is signed in.
    Login,
    /// Ask the person.
    Consent,
    /// Issue the code: a first-party client, or scopes this person already granted it.
    Approve,
}

/// The next step of an authorization request: pure.
pub fn next_step(req: &AuthRequest, session: Option<&SessionUser>) -> Step {
    match session {
        None => Step::Login,
        // Anyone can publish a document: its client is always shown to the person.
        Some(_) if req.client.origin == Origin::MetadataDocument => Step::Consent,
        Some(_) if req.client.settings.skip_consent => Step::Approve,
        Some(s) if s.granted.as_deref().is_some_and(|g| scope::covers(g, &req.scope)) => Step::Approve,
        Some(_) => Step::Consent,
    }
}

impl AuthorizeError {
    fn into_response(self, iss: &str) -> HttpResponse {
        match self {
            AuthorizeError::Page { title, detail } => pages::error(400, title, &detail),
            AuthorizeError::Redirect { to, error, description, state } => {
                let params = [("error", Some(error)), ("error_description", Some(description.as_str())), ("state", state.as_deref()), ("iss", Some(iss))];
                redirect_to(&to.with(&params))
            }
        }
    }
}

fn redirect_to(location: &str) -> HttpResponse {
    HttpResponse::new(302).with_header("location", location).no_store().with_header("referrer-policy", "no-referrer")
}

/// The request's parameters as the consent form carries them: everything the client sent.
const CARRIED: [&str; 7] = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"];

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    let (params, decision) = match req.method.as_str() {
        "GET" | "HEAD" => (Params::parse(req.query.as_bytes()).map_err(|_| bad_query())?, None),
        // The consent form: the CSRF check comes before anything else.
        "POST" => {
            let form = page_form(req)?;
            let decision = form.single("decision").ok().flatten().map(str::to_string);
            (form, Some(decision))
        }
        _ => return Err(OAuthError::MethodNotAllowed("GET, POST")),
    };
    let iss = app.issuer(req);
    let client = match params.single("client_id") {
        // A metadata document that cannot be used is a page, never a redirect (its redirect
        // URIs are unknown or untrusted).
        Ok(Some(id)) if is_document_url(id, app.config.cimd) => match app.document_client(id, cx.now_ms).await? {
            Ok(c) => Some(c),
            Err(problem) => return Ok(problem.page(id)),
        },
        Ok(Some(id)) => app.client(id, cx.now_ms).await?,
        _ => None,
    };
    let auth = match validate(&params, client, &app.config.resources) {
        Ok(a) => a,
        Err(e) => return Ok(e.into_response(&iss)),
    };
    let cookie = session::session(req);
    let who = match &cookie {
        Some((user_id, secret)) => {
            let op = CheckSession { hash: secret.hash(), client_id: Some(auth.client.client_id.clone()) };
            app.call(&user::object_name(user_id), op).await?
        }
        None => None,
    };
    let step = match (decision, next_step(&auth, who.as_ref())) {
        (_, Step::Login) => Step::Login,
        (Some(Some(d)), _) if d == "approve" => Step::Approve,
        (Some(Some(d)), _) if d == "deny" => {
            let denied =
                AuthorizeError::Redirect { to: auth.redirect, error: "access_denied", description: "the person denied the request".into(), state: auth.state };
            return Ok(denied.into_response(&iss));
        }
        (Some(_), _) => return Err(OAuthError::invalid_request("choose approve or deny")),
        (None, step) => step,
    };
    let mut carried: Vec<(&str, &str)> = CARRIED.iter().filter_map(|&n| Some((n, params.single(n).ok().flatten()?))).collect();
    carried.extend(params.all("resource").into_iter().map(|r| ("resource", r)));
    let host = redirect::host_of(auth.redirect.as_str());
    // A registered client need not have a name (RFC 7591 §2): then it is shown by the host the
    // person will be sent back to.
    let name = if auth.client.settings.name.is_empty() { host.as_str() } else { auth.client.settings.name.as_str() };
    match (step, cookie, who) {
        (Step::Approve, Some((user_id, secret)), Some(_)) => approve(app, req, cx, &iss, auth, &user_id, secret.hash()).await,
        (Step::Consent, _, Some(who)) => {
            let (token, set_cookie) = session::csrf(req, cx.rng);
            let descriptions: Vec<String> = auth.scope.iter().map(|s| scope::describe(s, &app.config.scope_descriptions)).collect();
            let scopes: Vec<ScopeInfo> = auth.scope.iter().zip(&descriptions).map(|(name, d)| ScopeInfo { name, description: d }).collect();
            let hosts = resource_hosts(&auth.resources);
            let client = ClientInfo { name, redirect_host: Some(&host), resource_hosts: &hosts };
            let person = Person { username: &who.username, name: &who.name };
            let document_host = document_host(&auth.client.client_id, app.config.cimd).filter(|_| auth.client.origin == Origin::MetadataDocument);
            Ok(with_cookie(pages::consent_with_host(Csrf(&token), person, client, document_host.as_deref(), &scopes, "/authorize", &carried), set_cookie))
        }
        _ => {
            let return_to = format!("/authorize?{}", query_of(&carried));
            let (token, set_cookie) = session::csrf(req, cx.rng);
            // A client that named itself (registered, or by its document) is shown with the
            // host it sends the person back to, so a borrowed name does not stand alone.
            let redirect_host = (!auth.client.origin.is_admin()).then_some(host.as_str());
            let client = ClientInfo { name, redirect_host, resource_hosts: &[] };
            let buttons = super::upstream::buttons(app, &return_to, cx.now_ms).await?;
            Ok(with_cookie(pages::login_with_providers(Csrf(&token), &return_to, "", None, Some(client), &buttons), set_cookie))
        }
    }
}

/// Issue the code (RFC 6749 §4.1.2) and send the person back with it.
async fn approve<P: Platform>(
    app: &App<P>,
    req: &HttpRequest,
    cx: &mut Cx<'_>,
    iss: &str,
    auth: AuthRequest,
    user_id: &str,
    session: crate::secret::SecretHash,
) -> Outcome {
    let client_id = auth.client.client_id.clone();
    // One step in the user's object: the session is still good, the grant is recorded, and the
    // client is remembered as holding tokens for this user (so a later kill reaches it).
    let op = Authorize { session, client_id: client_id.clone(), scope: auth.scope.clone() };
    let Some(who) = app.call(&user::object_name(user_id), op).await? else {
        // The session ended meanwhile: sign in again.
        return Err(OAuthError::Forbidden("the sign-in ended; start again".into()));
    };
    let shard = user_shard(&who.user_id);
    let code = generate_in(&client_id, shard, cx.rng);
    let record = CodeRecord {
        client_id: client_id.clone(),
        user_id: who.user_id.clone(),
        username: who.username.clone(),
        scope: auth.scope.clone(),
        redirect_uri: auth.redirect.as_str().to_string(),
        redirect_uri_sent: auth.redirect_sent,
        challenge: auth.challenge.clone(),
        resources: auth.resources.clone(),
        created_ms: cx.now_ms,
        epoch: who.epoch,
        used_by: None,
    };
    let _ = req;
    match app.call(&shard_name(&client_id, shard), IssueCode { hash: code.hash(), record }).await? {
        Stored::Stored => {
            let params = [("code", Some(code.expose())), ("state", auth.state.as_deref()), ("iss", Some(iss))];
            Ok(redirect_to(&auth.redirect.with(&params)))
        }
        Stored::ClientGone => Ok(pages::error(400, "Unknown application", "The application that sent you here is not registered, or is disabled.")),
        Stored::UserGone => {
            let e = AuthorizeError::Redirect { to: auth.redirect, error: "access_denied", description: "access was revoked".into(), state: auth.state };
            Ok(e.into_response(iss))
        }
    }
}

/// The hosts of the resources asked for, each once, for the consent page.
pub fn resource_hosts(resources: &[String]) -> Vec<&str> {
    let mut hosts: Vec<&str> = Vec::new();
    for h in resources.iter().map(|r| resource::host(r)) {
        if !hosts.contains(&h) {
            hosts.push(h);
        }
    }
    hosts
}

fn bad_query() -> OAuthError {
    OAuthError::invalid_request("the query string is malformed")
}

fn query_of(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", encode_component(v))).collect::<Vec<_>>().join("&")
}

pub fn with_cookie(mut resp: HttpResponse, set_cookie: Option<String>) -> HttpResponse {
    if let Some(c) = set_cookie {
        resp.headers.push(("set-cookie", c));
    }
    resp
}

#[cfg(test)]
mod tests;
