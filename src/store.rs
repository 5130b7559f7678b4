//! The storage seams. The edge gives the core two raw capabilities, Workers KV (text values by
//! key) and Durable Objects (a JSON request to a named object, its JSON reply), and the core
//! keeps every encoding and rule on its side of them. [`Platform`] bundles the seams one
//! deployment provides: the Workers edge, or the in-memory fakes of [`crate::testing`].

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
}

/// Outbound HTTP (a trusted issuer's JWKS): a GET with a deadline and a size cap, no
/// redirects followed. `Err` says why nothing usable came back.
#[allow(async_fn_in_trait)]
pub trait Fetch {
    async fn get(&self, url: &str, timeout_ms: u64, max_bytes: usize) -> Result<Fetched, String>;
}

/// What one deployment provides.
pub trait Platform {
    type Kv: Kv;
    type Objects: Objects;
    type Crypto: Crypto;
    type Fetch: Fetch;
}

/// Decode a reply of a known type; a reply of another shape is our bug or a version skew
/// between the worker and its objects, so it is a (logged) storage failure.
pub fn decode_reply<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    from_json(text).map_err(|e| StoreError(format!("unexpected reply from a durable object: {e}")))
}

/// Decode JSON text into one of our types: every typed decode goes through here. The text is
/// parsed into a [`serde_json::Value`] first and the type is read from that: serde_json's text
/// parser then exists once in the wasm (for `Value`) rather than once per type, which keeps
/// about 9 KB (gzipped) out of the worker. Our records are small; the extra tree costs little.
/// (Errors carry no line and column: our own records are one line anyway.)
pub fn from_json<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_str::<serde_json::Value>(text).and_then(serde_json::from_value)
}
