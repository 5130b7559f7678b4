//! [`App`]: the configuration and the stores, the context every handler borrows; and [`Cx`],
//! what one request brings (its time and a source of randomness).

use crate::cache::IsolateCache;
use crate::client::{self, Client};
use crate::error::OAuthError;
use crate::http::HttpRequest;
use crate::secret::{AdminToken, Random};
use crate::shard::counters::{Count, Decision, Peek};
use crate::shard::{self, Addressed};
use crate::store::Platform;
use std::rc::Rc;

/// Abuse-control settings (Worker variables; see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failed client authentications allowed per IP address per window.
    pub failures_per_ip: u64,
    /// Failed client authentications allowed per client id per window, from all addresses.
    pub failures_per_client: u64,
    pub failure_window_ms: u64,
    /// Window of the per-client `rate_limit` (requests per minute).
    pub rate_window_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { failures_per_ip: 20, failures_per_client: 100, failure_window_ms: 300_000, rate_window_ms: 60_000 }
    }
}

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
    /// PBKDF2 iterations for new password hashes (`PBKDF2_ITERATIONS`, at most 100,000).
    pub pbkdf2_iterations: u32,
    /// How long a sign-in lasts (`SESSION_SECONDS`), absolute.
    pub session_ms: u64,
    /// Descriptions of scopes for the consent page (`SCOPE_DESCRIPTIONS`, a JSON object).
    pub scope_descriptions: Vec<(String, String)>,
    /// How long a device code lives: 600 s (RFC 8628 §3.2); `DEVICE_CODE_SECONDS` lowers it
    /// for tests only.
    pub device_code_ms: u64,
    /// `RESOURCES`: what registered and metadata-document clients may name (RFC 8707).
    pub resources: Vec<String>,
    /// `CIMD`: Client ID Metadata Documents.
    pub cimd: Cimd,
    /// `REGISTRATION`: RFC 7591 dynamic client registration.
    pub registration: Registration,
    /// `REGISTRATION_SCOPES`: the scopes registered and metadata-document clients may ask for.
    pub registration_scopes: Vec<String>,
    /// `MAX_PROJECTS`: projects per person (the console, the Account API); 1 to 1000.
    pub max_projects: u32,
    /// `SIGNUP=open`: anyone may create an account at `/signup` (else it is 404).
    pub signup: bool,
}

/// `CIMD`: off (default), `on` (`https` documents only) or `dev` (also `http` on loopback).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Cimd {
    #[default]
    Off,
    On,
    Dev,
}

impl Cimd {
    pub fn parse(v: &str) -> Cimd {
        match v.trim() {
            "on" => Cimd::On,
            "dev" => Cimd::Dev,
            _ => Cimd::Off,
        }
    }
}

/// `REGISTRATION`: off (default; `/register` is 404), `open`, or `token` (an initial access
/// token is required).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Registration {
    #[default]
    Off,
    Open,
    Token,
}

impl Registration {
    pub fn parse(v: &str) -> Registration {
        match v.trim() {
            "open" => Registration::Open,
            "token" => Registration::Token,
            _ => Registration::Off,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            admin_token: None,
            issuer: None,
            limits: Limits::default(),
            client_cache_ms: 5_000,
            pbkdf2_iterations: crate::auth::password::MAX_ITERATIONS,
            session_ms: 12 * 3_600_000,
            scope_descriptions: Vec::new(),
            device_code_ms: 600_000,
            resources: Vec::new(),
            cimd: Cimd::Off,
            registration: Registration::Off,
            registration_scopes: Vec::new(),
            max_projects: 20,
            signup: false,
        }
    }
}

/// Names of the counters kept in shards.
pub const FAILURES: &str = "auth_failures";
pub const RATE: &str = "rate";
/// Wrong user codes entered at `/device`, per address.
pub const USER_CODE_FAILURES: &str = "user_code_failures";
/// At most this many wrong user codes per address per failure window (then 429).
pub const USER_CODE_FAILURES_PER_IP: u64 = 20;
/// Sign-ups, per address (`/signup`).
pub const SIGNUPS: &str = "signups";
/// At most this many sign-ups per address per [`SIGNUP_WINDOW_MS`] (then 429).
pub const SIGNUPS_PER_IP: u64 = 5;
pub const SIGNUP_WINDOW_MS: u64 = 3_600_000;

/// What one request brings besides itself: the time, and randomness.
pub struct Cx<'a> {
    pub now_ms: u64,
    pub rng: &'a mut dyn Random,
}

pub struct App<P: Platform> {
    pub config: Config,
    pub kv: P::Kv,
    pub objects: P::Objects,
    pub crypto: P::Crypto,
    pub fetch: P::Fetch,
    /// What this isolate remembers between requests.
    pub cache: Rc<IsolateCache>,
}

impl<P: Platform> App<P> {
    pub fn new(config: Config, kv: P::Kv, objects: P::Objects, crypto: P::Crypto, fetch: P::Fetch, cache: Rc<IsolateCache>) -> Self {
        App { config, kv, objects, crypto, fetch, cache }
    }

    /// The issuer identifier (RFC 8414 §2): `ISSUER`, else the request's origin.
    pub fn issuer(&self, req: &HttpRequest) -> String {
        let issuer = self.config.issuer.as_deref().unwrap_or(&req.origin);
        issuer.trim_end_matches('/').to_string()
    }

    /// Run one operation in the Durable Object `name` (of the class the operation belongs to).
    pub async fn call<O: Addressed>(&self, name: &str, op: O) -> Result<O::Reply, OAuthError> {
        Ok(shard::call(&self.objects, name, op).await?)
    }

    /// Count one event on a counter kept in shard 0 of `owner` (a client id, or `ip:{addr}`).
    pub async fn count(&self, owner: &str, name: &str, window_ms: u64, limit: u64, count_refused: bool) -> Result<Decision, OAuthError> {
        let op = Count { name: name.to_string(), window_ms, limit, count_refused };
        self.call(&shard::shard_name(owner, 0), op).await
    }

    /// Would one more event on that counter be allowed? (Reads only.)
    pub async fn peek(&self, owner: &str, name: &str, window_ms: u64, limit: u64) -> Result<Decision, OAuthError> {
        let op = Peek { name: name.to_string(), window_ms, limit };
        self.call(&shard::shard_name(owner, 0), op).await
    }

    /// A client record: from this isolate's cache when fresh, else from KV. With `CIMD` on, a
    /// metadata-document URL is resolved from its document instead (`None` when it cannot be
    /// used; see [`App::document_client`] for why).
    pub async fn client(&self, id: &str, now_ms: u64) -> Result<Option<Client>, OAuthError> {
        if client::metadata_document::is_document_url(id, self.config.cimd) {
            return Ok(self.document_client(id, now_ms).await?.ok());
        }
        if let Some(hit) = self.cache.client(id, now_ms) {
            return Ok(hit);
        }
        let client = client::store::get(&self.kv, id).await?;
        self.remember(id, client.as_ref(), now_ms);
        Ok(client)
    }

    /// Cache what KV holds for `id` (a record, or its absence) in this isolate; after an admin
    /// write, this isolate then serves the new state at once.
    pub fn remember(&self, id: &str, client: Option<&Client>, now_ms: u64) {
        if self.config.client_cache_ms > 0 {
            self.cache.put_client(id, client.cloned(), now_ms + self.config.client_cache_ms);
        }
    }
}
