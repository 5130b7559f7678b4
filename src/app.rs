//! The authorization server's request handling: routing, and one handler per endpoint, each
//! written as the RFC reads (parse, decide, respond). Storage comes in through the traits of
//! [`crate::store`]; time and randomness are passed in.

use crate::cache::IsolateCache;
use crate::client::{self, Client, GRANT_CLIENT_CREDENTIALS};
use crate::credentials::{client_credentials, parse_authorization, Authorization, ClientCredentials};
use crate::error::{OAuthError, Surface};
use crate::form::Params;
use crate::http::{Body, HttpRequest, HttpResponse};
use crate::limits::{Decision, Limits};
use crate::scope;
use crate::secret::{self, AccessToken, AdminToken, Random};
use crate::shard::{Command, GateChange, Reply};
use crate::store::{ClientStore, Shards};
use crate::token::{self, TokenRecord, SHARDS};
use serde_json::{json, Value};
use std::rc::Rc;

#[derive(Debug, Clone)]
pub struct Config {
    /// `ADMIN_TOKEN`; without it the admin API does not exist (404).
    pub admin_token: Option<AdminToken>,
    /// `ISSUER`; defaults to the origin of each request.
    pub issuer: Option<String>,
    pub limits: Limits,
    /// How long an isolate may reuse a client record read from KV (`CLIENT_CACHE_SECONDS`).
    /// Safe because KV is itself eventually consistent and the shard gates, not KV, decide
    /// whether a deleted, disabled or rotated client's tokens live.
    pub client_cache_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config { admin_token: None, issuer: None, limits: Limits::default(), client_cache_ms: 5_000 }
    }
}

pub struct App<C, S> {
    pub clients: C,
    pub shards: S,
    pub config: Config,
    pub cache: Rc<IsolateCache>,
}

/// Names of the counters kept in Durable Objects.
const FAILURES: &str = "auth_failures";
const RATE: &str = "rate";

type Outcome = Result<HttpResponse, OAuthError>;

impl<C: ClientStore, S: Shards> App<C, S> {
    pub fn new(clients: C, shards: S, config: Config, cache: Rc<IsolateCache>) -> Self {
        App { clients, shards, config, cache }
    }

    /// Handle one request. Never fails: every error becomes its RFC-shaped response.
    pub async fn handle(&self, req: &HttpRequest, now_ms: u64, rng: &mut dyn Random) -> HttpResponse {
        let path = req.path.as_str();
        let (surface, outcome) = match path {
            "/token" | "/token/" => (Surface::TokenEndpoint, self.token(req, now_ms, rng).await),
            "/validate" | "/validate/" => (Surface::Resource, self.validate(req, now_ms).await),
            "/introspect" | "/introspect/" => (Surface::TokenEndpoint, self.introspect(req, now_ms).await),
            "/revoke" | "/revoke/" => (Surface::TokenEndpoint, self.revoke(req, now_ms).await),
            "/.well-known/oauth-authorization-server" => (Surface::TokenEndpoint, self.metadata(req)),
            p if p == "/admin/clients" || p.starts_with("/admin/clients/") => {
                (Surface::Admin, self.admin(req, now_ms, rng).await)
            }
            _ => (Surface::TokenEndpoint, Err(OAuthError::NotFound)),
        };
        outcome.unwrap_or_else(|e| e.to_response(surface))
    }

    // ---- POST /token (RFC 6749 §4.4 client credentials) -------------------------------------

    async fn token(&self, req: &HttpRequest, now_ms: u64, rng: &mut dyn Random) -> Outcome {
        require_post(req)?;
        let params = form_body(req)?;
        let creds = client_credentials(req.header("authorization"), &params)?;
        let grant_type = params.required("grant_type")?;
        let requested_scope = params.single("scope")?;
        let (client, generation) = self.authenticate(&creds, req, now_ms).await?;

        if grant_type != GRANT_CLIENT_CREDENTIALS {
            return Err(OAuthError::UnsupportedGrantType);
        }
        if !client.settings.grant_types.iter().any(|g| g == GRANT_CLIENT_CREDENTIALS) {
            return Err(OAuthError::UnauthorizedClient);
        }
        let scopes = scope::grant(requested_scope, &client.settings.scopes)?;

        let access_token = token::generate(&client.client_id, rng);
        let route = token::route(&access_token).ok_or_else(|| OAuthError::ServerError("generated token does not route".into()))?;
        let record = TokenRecord::new(&client, generation, scopes, req.client_ip.as_deref(), now_ms);
        let expires_in = (record.expires_at_ms() - now_ms) / 1000;
        let scope = record.scope.join(" ");
        match self.shards.call(&route.client_id, route.shard, &Command::Issue { hash: route.hash, record }).await? {
            Reply::Ok => {}
            // KV said the client was fine, but the shard's gate (the authority) says it is
            // deleted, disabled or rotated away: a stale KV read must not mint a token.
            Reply::ClientGone => return Err(OAuthError::InvalidClient { challenge: creds.via_header }),
            _ => return Err(OAuthError::ServerError("unexpected shard reply to issue".into())),
        }

        // RFC 6749 §5.1, with seed 000's `issued_at` (milliseconds).
        let mut body = json!({
            "access_token": access_token.expose(),
            "token_type": "Bearer",
            "expires_in": expires_in,
            "issued_at": now_ms,
        });
        if !scope.is_empty() {
            body["scope"] = Value::String(scope);
        }
        Ok(HttpResponse::json(200, &body).no_store())
    }

    /// RFC 6749 §2.3.1 client authentication. Unknown client, wrong secret and disabled client
    /// give one answer. Returns the client and the generation of the secret that matched.
    ///
    /// Brute-force protection (RFC 6749 §2.3.1, §10.10): failures are counted per IP address
    /// and per client id. An address over its limit is refused outright (429) until its window
    /// passes; a client id over its limit has further *failures* answered 429, while its
    /// correct secret keeps working from any address that is not itself blocked.
    async fn authenticate(&self, creds: &ClientCredentials, req: &HttpRequest, now_ms: u64) -> Result<(Client, u32), OAuthError> {
        let ip_key = format!("ip:{}", req.client_ip.as_deref().unwrap_or("unknown"));
        if let Some(retry_after) = self.cache.blocked(&ip_key, now_ms) {
            return Err(OAuthError::TooManyRequests { retry_after });
        }
        let client = self.client(&creds.client_id, now_ms).await?;
        let generation = match &client {
            Some(c) => c.authenticate(&creds.secret, now_ms).filter(|_| !c.settings.disabled),
            None => {
                client::authenticate_nobody(&creds.secret);
                None
            }
        };
        if let (Some(client), Some(generation)) = (&client, generation) {
            return Ok((client.clone(), generation));
        }

        let limits = self.config.limits;
        let mut retry_after = None;
        let d = self.count(&ip_key, FAILURES, limits.failure_window_ms, limits.failures_per_ip, true).await?;
        if !d.allowed {
            self.cache.block(&ip_key, now_ms + d.retry_after_s * 1000);
            retry_after = Some(d.retry_after_s);
        }
        // Only ids that exist get a counter: arbitrary ids must not create Durable Objects.
        if client.is_some() {
            let d = self.count(&creds.client_id, FAILURES, limits.failure_window_ms, limits.failures_per_client, true).await?;
            if !d.allowed {
                retry_after = Some(retry_after.unwrap_or(0).max(d.retry_after_s));
            }
        }
        Err(match retry_after {
            Some(retry_after) => OAuthError::TooManyRequests { retry_after },
            None => OAuthError::InvalidClient { challenge: creds.via_header },
        })
    }

    /// Count one event on a counter kept in shard 0 of `owner` (a client id, or `ip:{addr}`).
    async fn count(&self, owner: &str, name: &str, window_ms: u64, limit: u64, count_refused: bool) -> Result<Decision, OAuthError> {
        let cmd = Command::Count { name: name.to_string(), window_ms, limit, count_refused };
        match self.shards.call(owner, 0, &cmd).await? {
            Reply::Counted { decision } => Ok(decision),
            _ => Err(OAuthError::ServerError("unexpected shard reply to count".into())),
        }
    }

    /// A client record: from this isolate's cache when fresh, else from KV.
    async fn client(&self, id: &str, now_ms: u64) -> Result<Option<Client>, OAuthError> {
        if let Some(hit) = self.cache.client(id, now_ms) {
            return Ok(hit);
        }
        let client = self.clients.get(id).await?;
        self.remember(id, client.as_ref(), now_ms);
        Ok(client)
    }

    /// Seed 002's rate-limiting policy: a client with `rate_limit` gets that many successful
    /// `/validate` calls per minute (sliding window), then 429 with `Retry-After`.
    async fn rate_limit(&self, client: Option<&Client>) -> Result<(), OAuthError> {
        let Some((client, limit)) = client.and_then(|c| c.settings.rate_limit.map(|l| (c, l))) else { return Ok(()) };
        let d = self.count(&client.client_id, RATE, self.config.limits.rate_window_ms, u64::from(limit), false).await?;
        if d.allowed {
            Ok(())
        } else {
            Err(OAuthError::TooManyRequests { retry_after: d.retry_after_s })
        }
    }

    // ---- /validate (for other Workers; RFC 6750 semantics) -----------------------------------

    async fn validate(&self, req: &HttpRequest, now_ms: u64) -> Outcome {
        let query = Params::parse(req.query.as_bytes())?;
        let required = match query.single("scope")? {
            Some(raw) => scope::parse_scope(raw).map_err(OAuthError::invalid_request)?,
            None => Vec::new(),
        };
        let bearer = match parse_authorization(req.header("authorization"))? {
            Some(Authorization::Bearer(t)) => Some(t),
            _ => None,
        };
        // Seed 002: an API key may come as header `key` or query parameter `key`.
        let key = match (req.header("key").filter(|k| !k.is_empty()), query.single("key")?) {
            (Some(h), Some(q)) if h != q => return Err(OAuthError::invalid_request("two different API keys")),
            (h, q) => h.or(q),
        };
        let view = match (bearer, key) {
            (Some(_), Some(_)) => {
                // RFC 6750 §3.1: more than one method of presenting credentials.
                return Err(OAuthError::invalid_request("present either a Bearer token or an API key, not both"));
            }
            (Some(token), None) => self.validate_bearer(&token, req.client_ip.as_deref(), required, now_ms).await?,
            (None, Some(key)) => self.validate_api_key(key, &required, now_ms).await?,
            (None, None) => return Err(OAuthError::MissingToken),
        };
        Ok(HttpResponse::json(200, &view).no_store())
    }

    async fn validate_bearer(&self, token: &AccessToken, ip: Option<&str>, required: Vec<String>, now_ms: u64) -> Result<Value, OAuthError> {
        let Some(route) = token::route(token) else { return Err(OAuthError::InvalidToken) };
        let needed = scope::join(&required);
        let cmd = Command::Validate { hash: route.hash, ip: ip.map(str::to_string), required };
        let view = match self.shards.call(&route.client_id, route.shard, &cmd).await? {
            Reply::Valid { view } => view,
            Reply::InsufficientScope => return Err(OAuthError::InsufficientScope(needed)),
            _ => return Err(OAuthError::InvalidToken),
        };
        // Only valid tokens count against the client's rate limit: the client id is public
        // (it starts every token), so counting failures would let anyone exhaust the limit.
        // The limit is the client's current setting (from the cached record).
        self.rate_limit(self.client(&route.client_id, now_ms).await?.as_ref()).await?;
        Ok(view)
    }

    async fn validate_api_key(&self, key: &str, required: &[String], now_ms: u64) -> Result<Value, OAuthError> {
        let client = match self.client(key, now_ms).await? {
            Some(c) if c.settings.api_key && !c.settings.disabled => c,
            _ => return Err(OAuthError::InvalidToken),
        };
        // KV may be stale: the shard gate is the authority on deletion and disabling.
        if self.shards.call(&client.client_id, 0, &Command::Check).await? != Reply::Ok {
            return Err(OAuthError::InvalidToken);
        }
        if !required.iter().all(|r| client.settings.scopes.contains(r)) {
            return Err(OAuthError::InsufficientScope(scope::join(required)));
        }
        self.rate_limit(Some(&client)).await?;
        Ok(json!({
            "active": true,
            "client_id": client.client_id,
            "scope": scope::join(&client.settings.scopes),
            "auth": "api_key",
        }))
    }

    // ---- POST /introspect (RFC 7662) and POST /revoke (RFC 7009) -----------------------------

    /// The request shape RFC 7662 §2.1 and RFC 7009 §2.1 share: a POSTed form with `token`
    /// (and an optional, unneeded `token_type_hint`), from an authenticated client.
    async fn token_about(&self, req: &HttpRequest, now_ms: u64) -> Result<(Client, AccessToken), OAuthError> {
        require_post(req)?;
        let params = form_body(req)?;
        let creds = client_credentials(req.header("authorization"), &params)?;
        let token = AccessToken::new(params.required("token")?);
        params.single("token_type_hint")?;
        let (caller, _) = self.authenticate(&creds, req, now_ms).await?;
        Ok((caller, token))
    }

    async fn introspect(&self, req: &HttpRequest, now_ms: u64) -> Outcome {
        let (caller, token) = self.token_about(req, now_ms).await?;

        let inactive = || Ok(HttpResponse::json(200, &json!({"active": false})).no_store());
        let Some(route) = token::route(&token) else { return inactive() };
        // A client sees its own tokens; only an `introspect: true` client sees others'.
        if route.client_id != caller.client_id && !caller.settings.introspect {
            return inactive();
        }
        match self.shards.call(&route.client_id, route.shard, &Command::Introspect { hash: route.hash }).await? {
            Reply::Valid { view } => Ok(HttpResponse::json(200, &view).no_store()),
            _ => inactive(),
        }
    }

    async fn revoke(&self, req: &HttpRequest, now_ms: u64) -> Outcome {
        let (caller, token) = self.token_about(req, now_ms).await?;

        // RFC 7009 §2.2: 200 whether or not the token existed. Another client's token is left
        // alone, with the same answer, so revocation reveals nothing.
        if let Some(route) = token::route(&token).filter(|r| r.client_id == caller.client_id) {
            let cmd = Command::Revoke { hash: route.hash, client_id: caller.client_id };
            self.shards.call(&route.client_id, route.shard, &cmd).await?;
        }
        Ok(HttpResponse::new(200).no_store())
    }

    // ---- GET /.well-known/oauth-authorization-server (RFC 8414) ------------------------------

    fn metadata(&self, req: &HttpRequest) -> Outcome {
        if req.method != "GET" && req.method != "HEAD" {
            return Err(OAuthError::MethodNotAllowed("GET, HEAD"));
        }
        let issuer = self.config.issuer.clone().unwrap_or_else(|| req.origin.clone());
        let issuer = issuer.trim_end_matches('/');
        let methods = json!(["client_secret_basic", "client_secret_post"]);
        let body = json!({
            "issuer": issuer,
            "token_endpoint": format!("{issuer}/token"),
            "introspection_endpoint": format!("{issuer}/introspect"),
            "revocation_endpoint": format!("{issuer}/revoke"),
            "grant_types_supported": [GRANT_CLIENT_CREDENTIALS],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": methods,
            "introspection_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_methods_supported": methods,
        });
        Ok(HttpResponse::json(200, &body).with_header("cache-control", "public, max-age=300"))
    }

    // ---- /admin/clients ----------------------------------------------------------------------

    async fn admin(&self, req: &HttpRequest, now_ms: u64, rng: &mut dyn Random) -> Outcome {
        let Some(admin_token) = &self.config.admin_token else { return Err(OAuthError::NotFound) };
        let presented = match parse_authorization(req.header("authorization")) {
            Ok(Some(Authorization::Bearer(t))) => Some(t),
            _ => None,
        };
        if !presented.is_some_and(|t| secret::admin_token_matches(admin_token, t.expose())) {
            return Err(OAuthError::AdminUnauthorized);
        }
        let rest = req.path["/admin/clients".len()..].trim_start_matches('/');
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let body = || match &req.body {
            Body::Bytes(b) => Ok(b.as_slice()),
            Body::TooLarge => Err(OAuthError::field("body", "the body exceeds 8 KiB")),
        };
        match (req.method.as_str(), segments.as_slice()) {
            ("GET", []) => self.admin_list().await,
            ("POST", []) => self.admin_create(body()?, now_ms, rng).await,
            (_, []) => Err(OAuthError::MethodNotAllowed("GET, POST")),
            ("GET", [id]) => Ok(HttpResponse::json(200, &self.admin_load(id).await?.view()).no_store()),
            ("PATCH", [id]) => self.admin_patch(id, body()?, now_ms).await,
            ("DELETE", [id]) => self.admin_delete(id, now_ms).await,
            (_, [_]) => Err(OAuthError::MethodNotAllowed("GET, PATCH, DELETE")),
            ("POST", [id, "secret"]) => self.admin_rotate(id, body()?, now_ms, rng).await,
            (_, [_, "secret"]) => Err(OAuthError::MethodNotAllowed("POST")),
            _ => Err(OAuthError::NotFound),
        }
    }

    /// The admin API always reads KV itself, never the isolate cache.
    async fn admin_load(&self, id: &str) -> Result<Client, OAuthError> {
        self.clients.get(id).await?.ok_or(OAuthError::NotFound)
    }

    /// Cache what KV holds for `id` (a record, or its absence) in this isolate; after an admin
    /// write, this isolate then serves the new state at once.
    fn remember(&self, id: &str, client: Option<&Client>, now_ms: u64) {
        if self.config.client_cache_ms > 0 {
            self.cache.put_client(id, client.cloned(), now_ms + self.config.client_cache_ms);
        }
    }

    async fn admin_list(&self) -> Outcome {
        let mut clients = self.clients.list().await?;
        clients.sort_unstable_by(|a, b| (a.created_at, &a.client_id).cmp(&(b.created_at, &b.client_id)));
        let views: Vec<Value> = clients.iter().map(Client::view).collect();
        Ok(HttpResponse::json(200, &json!({ "clients": views })).no_store())
    }

    async fn admin_create(&self, body: &[u8], now_ms: u64, rng: &mut dyn Random) -> Outcome {
        let settings = client::settings_for_create(body)?;
        let client_id = secret::generate_client_id(rng);
        let client_secret = secret::generate_client_secret(rng);
        let client = Client::new(client_id, settings, &client_secret, now_ms);
        self.clients.put(&client).await?;
        self.remember(&client.client_id, Some(&client), now_ms);
        let mut view = client.view();
        view["client_secret"] = Value::String(client_secret.expose().to_string());
        Ok(HttpResponse::json(201, &view).no_store())
    }

    async fn admin_patch(&self, id: &str, body: &[u8], now_ms: u64) -> Outcome {
        let mut client = self.admin_load(id).await?;
        let (settings, sets_disabled) = client::settings_for_patch(&client.settings, body)?;
        // The shards' gates first: once they say "disabled", no stale KV read helps a token.
        // Told whenever the body names `disabled`: the KV record we compared with may be stale.
        if sets_disabled {
            let change = if settings.disabled { GateChange::Disable } else { GateChange::Enable };
            self.update_gates(id, change).await?;
        }
        client.settings = settings;
        client.updated_at = now_ms;
        self.clients.put(&client).await?;
        self.remember(&client.client_id, Some(&client), now_ms);
        Ok(HttpResponse::json(200, &client.view()).no_store())
    }

    async fn admin_delete(&self, id: &str, now_ms: u64) -> Outcome {
        self.admin_load(id).await?;
        self.update_gates(id, GateChange::Delete).await?;
        self.cache.forget_client(id);
        self.clients.delete(id).await?;
        self.remember(id, None, now_ms);
        Ok(HttpResponse::new(204))
    }

    async fn admin_rotate(&self, id: &str, body: &[u8], now_ms: u64, rng: &mut dyn Random) -> Outcome {
        let mut client = self.admin_load(id).await?;
        let grace = client::grace_for_rotation(body)?;
        let new_secret = secret::generate_client_secret(rng);
        client.rotate(&new_secret, grace, now_ms);
        let grace_until_ms = client.previous_secret.as_ref().and_then(|p| p.valid_until_ms).unwrap_or(0);
        let change = GateChange::Rotate { generation: client.secret.generation, grace_until_ms };
        self.update_gates(id, change).await?;
        self.clients.put(&client).await?;
        self.remember(&client.client_id, Some(&client), now_ms);
        let body = json!({
            "client_id": client.client_id,
            "client_secret": new_secret.expose(),
            "grace": grace,
            "previous_secret_valid_until": (grace > 0).then_some(grace_until_ms),
        });
        Ok(HttpResponse::json(201, &body).no_store())
    }

    /// Apply a client-wide change to every shard of the client. Idempotent, so a failure part
    /// way (answered 503) is repaired by repeating the admin call.
    async fn update_gates(&self, client_id: &str, change: GateChange) -> Result<(), OAuthError> {
        let cmd = Command::Gate { change };
        for shard in 0..SHARDS {
            self.shards.call(client_id, shard, &cmd).await?;
        }
        Ok(())
    }
}

fn require_post(req: &HttpRequest) -> Result<(), OAuthError> {
    if req.method == "POST" {
        Ok(())
    } else {
        Err(OAuthError::MethodNotAllowed("POST"))
    }
}

/// The body of a token-style request: `application/x-www-form-urlencoded` (optionally with a
/// UTF-8 charset), at most 8 KiB, and no credentials in the URL (RFC 6749 §2.3.1).
fn form_body(req: &HttpRequest) -> Result<Params, OAuthError> {
    let ctype = req.header("content-type").ok_or_else(|| OAuthError::invalid_request("missing Content-Type"))?;
    let mut parts = ctype.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request("Content-Type must be application/x-www-form-urlencoded"));
    }
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        let value = value.trim().trim_matches('"');
        if !name.trim().eq_ignore_ascii_case("charset") || !value.eq_ignore_ascii_case("utf-8") {
            return Err(OAuthError::invalid_request("unsupported Content-Type parameter (only charset=utf-8)"));
        }
    }
    let query = Params::parse(req.query.as_bytes())?;
    if query.contains("client_secret") || query.contains("client_id") {
        return Err(OAuthError::invalid_request("client credentials must not be sent in the URL"));
    }
    let body = req.body_bytes().ok_or_else(|| OAuthError::invalid_request("request body exceeds 8 KiB"))?;
    Params::parse(body)
}

#[cfg(test)]
mod tests;
