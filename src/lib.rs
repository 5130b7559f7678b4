//! edge-oauth: an OAuth 2.0 authorization server for Cloudflare Workers.
//!
//! Everything but `edge` is a pure core that runs natively: protocol parsing, client
//! authentication, the error model, token rules and storage logic behind traits. `edge` is
//! the thin shell that binds it to Workers KV, Durable Objects and the fetch entry point.

pub mod app;
pub mod cache;
pub mod client;
pub mod credentials;
pub mod error;
pub mod form;
pub mod http;
pub mod limits;
pub mod scope;
pub mod secret;
pub mod shard;
pub mod store;
pub mod token;

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
