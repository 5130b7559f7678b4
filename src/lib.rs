//! edge-oauth: an OAuth 2.0 authorization server for Cloudflare Workers.
//!
//! Everything but [`edge`](crate#edge) is a pure core that runs natively: protocol parsing,
//! client authentication, the error model, token rules and the Durable Objects' logic, with
//! time and randomness passed in and storage behind small traits. `edge` is the thin shell
//! that binds it to Workers KV, Durable Objects, WebCrypto and the entry module
//! (`src/edge/entry.mjs`); it is the only code that touches JavaScript.
//!
//! # Module map
//!
//! A request flows `edge` → [`routes`] → one of [`endpoints`] (or [`admin`]) → a grant in
//! [`grants`] → the objects in [`shard`], through the seams in [`store`].
//!
//! | module | what it holds |
//! |---|---|
//! | [`routes`] | the route table, and nothing else |
//! | [`app`] | [`app::App`]: configuration and stores, the context every handler borrows |
//! | [`config`] | [`config::Config`]: the deployment's settings (Worker variables), plain data |
//! | [`endpoints`] | one file per endpoint: token, authorize, device, login, upstream (sign-in with a provider), validate, introspect, revoke, metadata, register |
//! | [`grants`] | one file per grant type, and the one token response they all return |
//! | [`admin`] | the admin API, one file per collection: clients, users (and their identities), issuers, identity providers, registration tokens, the CIMD blocklist |
//! | [`auth`] | who is asking: credentials, client authentication, passwords, sessions, PKCE, JWTs and JWKS, the crypto seam |
//! | [`client`], [`user`], [`issuer`], [`provider`] | client, user, trusted-issuer and identity-provider records, their JSON rules, their storage; RFC 7591 registration metadata and Client ID Metadata Documents |
//! | [`upstream`] | signing in with an upstream identity provider: the pure protocol core (authorization URL, state cookie, ID token and userinfo claims, usernames) |
//! | [`resource`] | RFC 8707 resource indicators: which resources a token is for |
//! | [`intent`] | changes that span objects and KV (rotations, disables, deletions of clients and people), recorded first and completed by an alarm if their call is cut |
//! | [`shard`] | the Durable Objects' logic (tokens, codes, families, devices, users, registration tokens, blocked hosts): read → pure decide → commit |
//! | [`pages`] | the HTML pages: pure functions from values to a response, compile-time templates |
//! | [`store`] | the storage seams (KV, Durable Objects, fetch) and the [`store::Platform`] bundle |
//! | [`error`] | the one error model, mapped to HTTP in one place |
//! | [`http`], [`form`], [`json`], [`scope`], [`secret`], [`cache`] | plumbing: requests, forms, external JSON without repeated keys, scopes, secret newtypes, the isolate cache |
//! | `testing` | fakes, deterministic randomness and native crypto, shared by tests, benches and fuzz targets |
//! | `edge` | the shell (wasm32 only): the entry module, KV, Durable Objects, WebCrypto, fetch, and the executor that runs the core's futures as promises |

pub mod account;
pub mod admin;
pub mod alerts;
pub mod app;
pub mod auth;
pub mod cache;
pub mod catalogue;
pub mod client;
pub mod config;
pub mod endpoints;
pub mod error;
pub mod form;
pub mod grants;
pub mod http;
pub mod intent;
pub mod issuer;
pub mod json;
pub mod notify;
pub mod pages;
pub mod provider;
pub mod resource;
pub mod routes;
pub mod scope;
pub mod secret;
pub mod shard;
pub mod store;
pub mod time;
pub mod upstream;
pub mod usage;
pub mod user;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod tests;

#[cfg(target_arch = "wasm32")]
mod edge;

/// Drive a future whose I/O never waits (the in-memory fakes) to completion, without an
/// async runtime: enough for native tests and benchmarks.
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
