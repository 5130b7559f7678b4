//! Token exchange (RFC 8693), delegation as in seed 004: a client (the actor) gets a token to
//! act for a subject. The subject is a JWT of a trusted issuer, or a live edge-oauth user token;
//! the actor token must be a live access token of the client itself. The interface:
//! `docs/http.md#token-exchange`.

use super::TokenResponse;
use crate::app::{App, Cx};
use crate::auth::client_auth::Authenticated;
use crate::auth::jwks;
use crate::auth::jwt::{self, JwtError};
use crate::auth::keyset;
use crate::error::OAuthError;
use crate::form::Params;
use crate::http::{HttpRequest, HttpResponse};
use crate::issuer::{self, Issuer};
use crate::scope;
use crate::secret::{random_string, AccessToken};
use crate::shard::route::{generate, generate_in, has_token_shape, route, shard_name, user_shard};
use crate::shard::start::{IssueExchanged, NewTokens, Redeemed};
use crate::shard::tokens::{Introspect, Issue, Issued, Principal, TokenRecord, TokenView};
use crate::shard::users::grants::AddClient;
use crate::store::Platform;
use crate::user;
use serde_json::Value;

pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// A token exchange's response also says what it issued (RFC 8693 §2.2.1).
pub fn with_issued_token_type(mut r: HttpResponse) -> HttpResponse {
    let mut body = r.body_json();
    body["issued_token_type"] = Value::String(ACCESS_TOKEN.into());
    r.body = serde_json::to_vec(&body).unwrap_or_default();
    r
}

/// Who the new token is for.
struct Subject {
    sub: String,
    username: Option<String>,
    issuer: String,
    /// When the subject token ends: the new token never outlives it.
    exp_ms: u64,
    /// An edge-oauth user (its tokens must die with it).
    user_id: Option<String>,
}

fn invalid(why: &str) -> OAuthError {
    OAuthError::InvalidGrant(why.into())
}

/// `token` is the client's own token when it authenticated with one (seed 004;
/// `docs/http.md#token-exchange`).
pub async fn grant<P: Platform>(
    app: &App<P>,
    req: &HttpRequest,
    params: &Params,
    auth: &Authenticated,
    auth_token: Option<&AccessToken>,
    cx: &mut Cx<'_>,
) -> Result<TokenResponse, OAuthError> {
    // RFC 8693 §2.1: what this server issues, and for whom.
    if params.single("audience")?.is_some() || params.single("resource")?.is_some() {
        return Err(OAuthError::InvalidTarget("audience and resource are not supported in a token exchange".into()));
    }
    match params.single("requested_token_type")? {
        None | Some(ACCESS_TOKEN) => {}
        Some(_) => return Err(OAuthError::invalid_request("only requested_token_type access_token is issued")),
    }
    let subject_token = params.required("subject_token")?;
    let subject_type = params.required("subject_token_type")?;
    let actor_token = AccessToken::new(params.required("actor_token")?);
    if params.required("actor_token_type")? != ACCESS_TOKEN {
        return Err(OAuthError::invalid_request("actor_token_type must be urn:ietf:params:oauth:token-type:access_token"));
    }
    if subject_type != JWT && subject_type != ACCESS_TOKEN {
        return Err(OAuthError::invalid_request("subject_token_type must be the jwt or access_token type"));
    }
    let client = &auth.client;
    let scope = scope::grant(params.single("scope")?, &client.settings.scopes)?;

    // The actor: a live access token of this client (usually the very token it authenticated with).
    if auth_token != Some(&actor_token) {
        let actor = live_view(app, &actor_token).await?;
        if actor.is_none_or(|v| v.client_id != client.client_id) {
            return Err(invalid("actor_token is not a live access token of this client"));
        }
    }
    let subject = if has_token_shape(subject_token) {
        our_user(app, req, &AccessToken::new(subject_token)).await?
    } else {
        external(app, subject_token, cx.now_ms).await?
    };
    if subject.exp_ms <= cx.now_ms {
        return Err(invalid("the subject token has expired"));
    }
    issue(app, req, auth, subject, scope, cx).await
}

async fn live_view<P: Platform>(app: &App<P>, token: &AccessToken) -> Result<Option<TokenView>, OAuthError> {
    match route(token) {
        Some(at) => app.call(&at.shard_name(), Introspect { hash: at.hash.clone() }).await,
        None => Ok(None),
    }
}

/// A live edge-oauth token issued for one of our users.
async fn our_user<P: Platform>(app: &App<P>, req: &HttpRequest, token: &AccessToken) -> Result<Subject, OAuthError> {
    let view = live_view(app, token).await?.ok_or_else(|| invalid("the subject token is not live"))?;
    let (Some(sub), Some(username)) = (view.sub, view.username) else {
        return Err(invalid("the subject token is not a user's token"));
    };
    Ok(Subject { user_id: Some(sub.clone()), sub, username: Some(username), issuer: app.issuer(req), exp_ms: view.exp.saturating_mul(1000) })
}

/// A JWT of a trusted issuer: the issuer named by its (as yet unverified) `iss`, then the key
/// from that issuer's JWKS, then the signature, then the claims.
async fn external<P: Platform>(app: &App<P>, token: &str, now_ms: u64) -> Result<Subject, OAuthError> {
    let parsed = jwt::parse(token).map_err(refusal)?;
    let iss = parsed.claims.get("iss").and_then(|v| v.as_str()).ok_or_else(|| invalid("the subject token has no iss"))?;
    let issuer = trusted(app, iss, now_ms).await?.ok_or_else(|| invalid("the subject token's issuer is not trusted"))?;
    // An issuer stored before the audience was required has none: fail closed (RFC 8725 §3.9).
    let audience = issuer.audience.as_deref().filter(|a| !a.is_empty()).ok_or_else(|| invalid("the subject token's issuer has no audience configured"))?;
    let keys = keys_for(app, &issuer, parsed.kid.as_deref(), now_ms).await?;
    let key = jwt::select(&parsed, &keys).ok_or(JwtError::NoKey).map_err(refusal)?;
    jwt::verify_signature(&app.crypto, &parsed, key).await.map_err(refusal)?;
    let s = jwt::check_claims(&parsed.claims, &issuer.issuer, audience, now_ms / 1000).map_err(refusal)?;
    // `exp` is at most jwt::MAX_EXP, so this cannot saturate; saturating all the same.
    Ok(Subject { sub: s.sub, username: None, issuer: issuer.issuer, exp_ms: s.exp.saturating_mul(1000), user_id: None })
}

fn refusal(e: JwtError) -> OAuthError {
    let why = match e {
        JwtError::Malformed(_) => "the subject token is not a well-formed JWT",
        JwtError::Algorithm => "the subject token's algorithm is not RS256 or ES256",
        JwtError::NoKey => "no key of the issuer fits the subject token",
        JwtError::BadSignature => "the subject token's signature is invalid",
        JwtError::WrongIssuer => "the subject token's issuer is not trusted",
        JwtError::Expired => "the subject token has expired",
        JwtError::NotYetValid => "the subject token is not valid yet",
        JwtError::WrongAudience => "the subject token is not meant for this server",
        JwtError::Crypto(_) => "the issuer's key cannot be used",
    };
    invalid(why)
}

/// The trusted issuer whose `issuer` is `iss` (the list cached in this isolate for a few seconds).
async fn trusted<P: Platform>(app: &App<P>, iss: &str, now_ms: u64) -> Result<Option<Issuer>, OAuthError> {
    let all = match app.cache.issuers(now_ms) {
        Some(all) => all,
        None => {
            let all = issuer::list(&app.kv).await?;
            app.cache.put_issuers(Some(all.clone()), now_ms + app.config.client_cache_ms);
            all
        }
    };
    Ok(all.into_iter().find(|i| i.issuer == iss))
}

/// The issuer's keys: cached, or fetched (then cached) under the refetch rules of
/// [`crate::auth::keyset`].
async fn keys_for<P: Platform>(app: &App<P>, issuer: &Issuer, kid: Option<&str>, now_ms: u64) -> Result<Vec<jwks::Jwk>, OAuthError> {
    keyset::keys(&app.fetch, &app.cache, &issuer.issuer_id, &issuer.jwks_uri, kid, now_ms)
        .await
        .ok_or_else(|| invalid("the issuer's keys could not be fetched"))
}

async fn issue<P: Platform>(
    app: &App<P>,
    req: &HttpRequest,
    auth: &Authenticated,
    subject: Subject,
    scope: Vec<String>,
    cx: &mut Cx<'_>,
) -> Result<TokenResponse, OAuthError> {
    let client = &auth.client;
    let principal =
        Principal { sub: subject.sub.clone(), username: subject.username.clone(), subject_issuer: Some(subject.issuer), act: Some(client.client_id.clone()) };
    let mut record = TokenRecord::new(client, auth.generation, scope.clone(), req.client_ip.as_deref(), cx.now_ms);
    let (access_token, expires_at_ms) = match &subject.user_id {
        // One of our users: remember this client as holding tokens for them, then issue into a
        // family in the user's shard, where kills reach it.
        Some(user_id) => {
            let epoch = app
                .call(&user::object_name(user_id), AddClient { client_id: client.client_id.clone() })
                .await?
                .ok_or_else(|| invalid("the subject's user is disabled"))?;
            let shard = user_shard(user_id);
            let access = generate_in(&client.client_id, shard, cx.rng);
            let tokens = NewTokens {
                resources: Vec::new(),
                family_id: random_string(cx.rng, 16),
                access: access.hash(),
                refresh: None,
                template: record,
                refresh_ttl_s: client.settings.refresh_token_ttl,
            };
            let op = IssueExchanged {
                user_id: user_id.clone(),
                username: subject.username.clone().unwrap_or_default(),
                epoch,
                principal,
                not_after_ms: subject.exp_ms,
                scope: scope.clone(),
                tokens,
            };
            match app.call(&shard_name(&client.client_id, shard), op).await? {
                Redeemed::Issued(issued) => (access, issued.expires_at_ms),
                Redeemed::InvalidGrant => return Err(invalid("the subject's user is disabled")),
                Redeemed::ClientGone => return Err(OAuthError::InvalidClient { challenge: true }),
                Redeemed::InvalidTarget => return Err(super::not_authorized_resource()),
            }
        }
        None => {
            record.principal = Some(principal);
            record.not_after_ms = Some(subject.exp_ms);
            let expires_at_ms = record.expires_at_ms();
            let access = generate(&client.client_id, cx.rng);
            let at = route(&access).ok_or_else(|| OAuthError::ServerError("generated token does not route".into()))?;
            match app.call(&at.shard_name(), Issue { hash: at.hash.clone(), record }).await? {
                Issued::Issued => (access, expires_at_ms),
                Issued::ClientGone => return Err(OAuthError::InvalidClient { challenge: true }),
            }
        }
    };
    Ok(TokenResponse::new(access_token, None, scope, expires_at_ms, cx.now_ms))
}
