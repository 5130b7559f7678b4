//! [`Config`]: the deployment's settings (the Worker's variables), plain data that the
//! context `App` carries and the pure rules read.

use crate::secret::AdminToken;

/// Abuse-control settings (Worker variables; see `docs/configuration.md`).
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
    /// `ALERT_WEBHOOK_URL` and `ALERT_WEBHOOK_SECRET`: the operator's webhook, sent every
    /// project's alerts.
    pub alert_webhook: Option<(String, String)>,
    /// `ALERT_BACKOFF`: the delays (seconds) before each retry of a delivery.
    pub alert_backoff: Vec<u64>,
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
            alert_webhook: None,
            alert_backoff: DEFAULT_ALERT_BACKOFF.to_vec(),
        }
    }
}

/// `ALERT_BACKOFF`'s default.
pub const DEFAULT_ALERT_BACKOFF: [u64; 6] = [5, 300, 1800, 7200, 18000, 36000];

/// `ALERT_BACKOFF`: comma-separated seconds; anything unparsable keeps the default.
pub fn parse_backoff(raw: &str) -> Vec<u64> {
    let parsed: Option<Vec<u64>> = raw.split(',').map(|s| s.trim().parse::<u64>().ok()).collect();
    match parsed {
        Some(v) if !v.is_empty() && v.len() <= 20 => v,
        _ => DEFAULT_ALERT_BACKOFF.to_vec(),
    }
}
