//! [`App`]: the configuration and the stores, the context every handler borrows; and [`Cx`],
//! what one request brings (its time and a source of randomness). The configuration itself is
//! [`crate::config`].

use crate::cache::IsolateCache;
use crate::client::metadata_document::{self, resolve, Problem};
use crate::client::{self, Client};
use crate::config::Config;
use crate::error::OAuthError;
use crate::http::HttpRequest;
use crate::secret::Random;
use crate::shard::counters::{Count, Decision, Peek, UsageOf};
use crate::shard::{self, Addressed};
use crate::store::Platform;
use std::rc::Rc;

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
    /// Alerts to deliver (the Queue `ALERTS`).
    pub outbox: P::Outbox,
    /// What this isolate remembers between requests.
    pub cache: Rc<IsolateCache>,
}

impl<P: Platform> App<P> {
    pub fn new(config: Config, kv: P::Kv, objects: P::Objects, crypto: P::Crypto, fetch: P::Fetch, outbox: P::Outbox, cache: Rc<IsolateCache>) -> Self {
        App { config, kv, objects, crypto, fetch, outbox, cache }
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
        self.count_usage(owner, name, window_ms, limit, count_refused, None).await
    }

    /// [`App::count`] on a project's counter, counting the event in its usage too.
    pub async fn count_usage(
        &self,
        owner: &str,
        name: &str,
        window_ms: u64,
        limit: u64,
        count_refused: bool,
        usage: Option<UsageOf>,
    ) -> Result<Decision, OAuthError> {
        let op = Count { name: name.to_string(), window_ms, limit, count_refused, usage };
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
        if metadata_document::is_document_url(id, self.config.cimd) {
            return Ok(self.document_client(id, now_ms).await?.ok());
        }
        if let Some(hit) = self.cache.client(id, now_ms) {
            return Ok(hit);
        }
        let client = client::store::get(&self.kv, id).await?;
        self.remember(id, client.as_ref(), now_ms);
        Ok(client)
    }

    /// The client the metadata document at `url` describes, or why there is none (the host
    /// blocklist, this isolate's copy, else a fetch: [`resolve::document_client`]).
    pub async fn document_client(&self, url: &str, now_ms: u64) -> Result<Result<Client, Problem>, OAuthError> {
        resolve::document_client(&self.objects, &self.fetch, &self.cache, &self.config, url, now_ms).await
    }

    /// Cache what KV holds for `id` (a record, or its absence) in this isolate; after an admin
    /// write, this isolate then serves the new state at once.
    pub fn remember(&self, id: &str, client: Option<&Client>, now_ms: u64) {
        if self.config.client_cache_ms > 0 {
            self.cache.put_client(id, client.cloned(), now_ms + self.config.client_cache_ms);
        }
    }
}
