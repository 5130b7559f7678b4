//! The storage seams. The edge gives the core two raw capabilities, Workers KV (text values by
//! key) and Durable Objects (a JSON request to a named object, its JSON reply), and the core
//! keeps every encoding and rule on its side of them. [`Platform`] bundles the seams one
//! deployment provides: the Workers edge, or the in-memory fakes of `testing`.

use crate::auth::crypto::Crypto;
use crate::error::StoreError;
use serde::de::DeserializeOwned;

/// Workers KV: eventually consistent text values.
#[allow(async_fn_in_trait)]
pub trait Kv {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Every key that starts with `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
}

/// The Durable Object namespaces edge-oauth binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// `TOKENS`: token shards ([`crate::shard`]).
    Tokens,
    /// `USERS`: user objects and username claims ([`crate::shard::users`], [`crate::shard::names`]).
    Users,
}

/// Durable Objects: deliver one JSON request to the object `name` and return its JSON reply.
/// Each object handles its requests one at a time (its input gate), which is what makes the
/// read → decide → commit of [`crate::shard`] atomic.
#[allow(async_fn_in_trait)]
pub trait Objects {
    async fn send(&self, ns: Namespace, name: &str, request: &str) -> Result<String, StoreError>;
}

/// An answer from another server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
    /// The response's `Cache-Control` (how long a metadata document may be kept).
    pub cache_control: Option<String>,
}

/// An outbound request with headers and maybe a body (an identity provider's discovery
/// document, token and userinfo endpoints). Its headers and body may carry a client secret or
/// an access token: `Debug` shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct Outbound {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    /// A form (`application/x-www-form-urlencoded`), when there is a body.
    pub body: Option<String>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| *n).collect();
        write!(f, "Outbound({} {}, headers {names:?}, body [redacted])", self.method, self.url)
    }
}

/// Outbound HTTP (a trusted issuer's JWKS, a client's metadata document, an identity
/// provider's endpoints): a request with a deadline and a size cap, no redirects followed.
/// `Err` says why nothing usable came back.
#[allow(async_fn_in_trait)]
pub trait Fetch {
    /// A plain GET.
    async fn get(&self, url: &str, timeout_ms: u64, max_bytes: usize) -> Result<Fetched, String>;
    /// Any [`Outbound`] request.
    async fn send(&self, req: &Outbound, timeout_ms: u64, max_bytes: usize) -> Result<Fetched, String>;
}

/// What one deployment provides.
pub trait Platform {
    type Kv: Kv;
    type Objects: Objects;
    type Crypto: Crypto;
    type Fetch: Fetch;
    type Outbox: Outbox;
}

/// Messages that leave the request for later work (a Cloudflare Queue): alerts to deliver.
#[allow(async_fn_in_trait)]
pub trait Outbox {
    async fn send(&self, message: &str) -> Result<(), StoreError>;
}

/// Decode a reply of a known type; a reply of another shape is our bug or a version skew
/// between the worker and its objects, so it is a (logged) storage failure.
pub fn decode_reply<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(unexpected_reply)
}

/// (Apart from the generic [`decode_reply`]: one copy in the wasm.)
fn unexpected_reply(e: serde_json::Error) -> StoreError {
    StoreError(format!("unexpected reply from a durable object: {e}"))
}

/// Listed records, oldest first: by creation time, then by id (ids break ties, so the order
/// is the same on every call). Every list the API returns is in this order; one sort serves
/// them all.
pub fn oldest_first<T>(items: Vec<T>, key: impl Fn(&T) -> (u64, &str)) -> Vec<T> {
    let mut order: Vec<(u64, String, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let (at, id) = key(x);
            (at, id.to_string(), i)
        })
        .collect();
    order.sort_unstable();
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.into_iter().filter_map(|(_, _, i)| slots[i].take()).collect()
}
