//! The edge shell: the only code that touches JavaScript. `src/edge/entry.mjs` (the Worker's
//! entry module) hands each request here as plain values, [`handle`] runs the route table, and
//! the answer goes back as plain values; the Durable Object classes there forward their RPC
//! calls to `objects::TokenShardCore` and `objects::UserObjectCore`. This module also provides the platform:
//! KV ([`kv`]), Durable Objects ([`objects`]), WebCrypto ([`crypto`]), outbound `fetch`
//! ([`fetch`]); [`futures`] runs the core's futures as promises (wasm-bindgen's executor) and
//! recovers from a panic.
//!
//! Every step here is on the path of every request, so it is kept to few calls between
//! JavaScript and the wasm (each one a copy and a trip through the runtime): the request's head
//! comes as one string, and a reply the Durable Object has in memory comes back without a
//! promise.

mod clock;
mod crypto;
mod fetch;
mod futures;
mod kv;
mod objects;
mod outbox;

use crate::app::{App, Cx};
use crate::cache::IsolateCache;
use crate::config::{Cimd, Config, Limits, Registration};
use crate::endpoints::validate;
use crate::http::{normalise_ip, parse_head, Body, HttpRequest};
use crate::notify::{self, Message};
use crate::routes;
use crate::secret::{AccessToken, AdminToken, Random};
use crate::store::Platform;
use clock::now_ms;
use js_sys::{Array, Promise, Reflect, Uint8Array};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The heap: talc, growing wasm memory as needed (a worker is single-threaded).
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The Workers platform.
struct Edge;

impl Platform for Edge {
    type Kv = kv::KvStore;
    type Objects = objects::DoObjects;
    type Crypto = crypto::WebCrypto;
    type Fetch = fetch::WebFetch;
    type Outbox = outbox::QueueOutbox;
}

/// `crypto.getRandomValues` through `getrandom`. A failure here means the platform has no
/// CSPRNG; nothing can be issued safely, so it aborts the request (a 500, logged).
struct Csprng;

impl Random for Csprng {
    fn fill(&mut self, buf: &mut [u8]) {
        getrandom::fill(buf).expect("crypto.getRandomValues is available in Workers");
    }
}

thread_local! {
    /// Lives as long as the isolate: client records and seen blocks, shared by its requests.
    static CACHE: Rc<IsolateCache> = Rc::new(IsolateCache::default());
    /// The configuration and bindings, read once per isolate (see [`app`]).
    static APP: std::cell::RefCell<Option<Rc<App<Edge>>>> = const { std::cell::RefCell::new(None) };
}

/// A Worker variable or secret (both are strings on `env`).
fn var(env: &JsValue, name: &str) -> Option<String> {
    Reflect::get(env, &JsValue::from_str(name)).ok()?.as_string()
}

/// Settings from Worker variables and secrets; anything absent or unparsable keeps its default.
fn config(env: &JsValue) -> Config {
    let number = |name: &str, default: u64| var(env, name).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(default);
    let words = |name: &str| var(env, name).map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>()).unwrap_or_default();
    let d = Config::default();
    let l = d.limits;
    Config {
        admin_token: var(env, "ADMIN_TOKEN").filter(|t| !t.is_empty()).map(AdminToken::new),
        issuer: var(env, "ISSUER").filter(|t| !t.is_empty()),
        limits: Limits {
            failures_per_ip: number("AUTH_FAILURES_PER_IP", l.failures_per_ip).max(1),
            failures_per_client: number("AUTH_FAILURES_PER_CLIENT", l.failures_per_client).max(1),
            failure_window_ms: number("AUTH_FAILURE_WINDOW_SECONDS", l.failure_window_ms / 1000).max(1) * 1000,
            rate_window_ms: l.rate_window_ms,
        },
        client_cache_ms: number("CLIENT_CACHE_SECONDS", d.client_cache_ms / 1000) * 1000,
        pbkdf2_iterations: number("PBKDF2_ITERATIONS", u64::from(d.pbkdf2_iterations)).clamp(1, u64::from(d.pbkdf2_iterations)) as u32,
        session_ms: number("SESSION_SECONDS", d.session_ms / 1000).max(60) * 1000,
        scope_descriptions: var(env, "SCOPE_DESCRIPTIONS").map(|j| crate::scope::parse_descriptions(&j)).unwrap_or_default(),
        device_code_ms: number("DEVICE_CODE_SECONDS", d.device_code_ms / 1000).clamp(1, d.device_code_ms / 1000) * 1000,
        resources: words("RESOURCES").into_iter().filter(|r| crate::resource::check(r).is_ok()).collect(),
        cimd: var(env, "CIMD").map_or(Cimd::Off, |v| Cimd::parse(&v)),
        registration: var(env, "REGISTRATION").map_or(Registration::Off, |v| Registration::parse(&v)),
        registration_scopes: words("REGISTRATION_SCOPES").into_iter().filter(|s| crate::scope::is_scope_token(s)).collect(),
        max_projects: number("MAX_PROJECTS", u64::from(d.max_projects)).clamp(1, 1000) as u32,
        signup: var(env, "SIGNUP").is_some_and(|v| v.trim() == "open"),
        alert_webhook: outbox::operator_webhook(var(env, "ALERT_WEBHOOK_URL"), var(env, "ALERT_WEBHOOK_SECRET")),
        alert_backoff: var(env, "ALERT_BACKOFF").map_or(d.alert_backoff, |v| crate::config::parse_backoff(&v)),
    }
}

/// The isolate's [`App`], made on its first request. An isolate runs one deployment: its
/// variables and bindings do not change while it lives, so reading the ~15 variables and the
/// three bindings again on every request (each a call into JavaScript) would only cost time.
fn app(env: &JsValue) -> Result<Rc<App<Edge>>, JsValue> {
    if let Some(app) = APP.with(|a| a.borrow().clone()) {
        return Ok(app);
    }
    let cache = CACHE.with(Rc::clone);
    let app = Rc::new(App::new(
        config(env),
        kv::KvStore::new(env, "CLIENTS")?,
        objects::DoObjects::new(env)?,
        crypto::WebCrypto,
        fetch::WebFetch,
        outbox::QueueOutbox::new(env),
        cache,
    ));
    APP.with(|a| *a.borrow_mut() = Some(Rc::clone(&app)));
    Ok(app)
}

/// One HTTP request, as `entry.mjs` read it: its head as one string (the method, the URL,
/// then each header as `name: value`, lines separated by `\n`; names lower-case), and the
/// body (`null` when the entry found it over the limit). One string, not a list of them:
/// each string handed to the wasm is a call out of it and a copy, and a request carries a
/// dozen headers. A line break cannot occur inside any of these (the runtime refuses it in a
/// header value, and a parsed URL has it percent-encoded). Resolves to
/// `[status, [name, value, …], body bytes, log line or null]`.
#[wasm_bindgen]
pub fn handle(env: JsValue, head: String, body: Option<Vec<u8>>) -> Promise {
    futures::promise(async move {
        let (method, origin, path, query, headers) = parse_head(&head);
        let client_ip = headers.iter().find(|(n, _)| n == "cf-connecting-ip").map(|(_, v)| normalise_ip(v));
        let body = match body {
            Some(b) => Body::Bytes(b),
            None => Body::TooLarge,
        };
        let request = HttpRequest { method, path, query, headers, body, client_ip, origin };
        let app = app(&env)?;
        let mut cx = Cx { now_ms: now_ms(), rng: &mut Csprng };
        let response = routes::handle(&app, &request, &mut cx).await;
        Ok(answer(response, Some(&request)).into())
    })
}

/// Validation for other Workers over service-binding RPC: what `/validate` answers for a bearer
/// token used from `ip`, needing `scope` (space-separated, may be empty), at `resource`
/// (RFC 8707; may be null). Resolves like
/// [`handle`].
#[wasm_bindgen]
pub fn validate_rpc(env: JsValue, token: String, ip: Option<String>, scope: Option<String>, resource: Option<String>) -> Promise {
    futures::promise(async move {
        let app = app(&env)?;
        let response = validate::rpc(&app, &AccessToken::new(token), ip.as_deref().map(normalise_ip), scope.as_deref(), resource.as_deref(), now_ms()).await;
        Ok(answer(response, None).into())
    })
}

/// `[status, [name, value, …], body bytes, log line or null]`.
fn answer(response: crate::http::HttpResponse, context: Option<&HttpRequest>) -> Array {
    let headers: Array = response.headers.iter().flat_map(|(n, v)| [JsValue::from_str(n), JsValue::from_str(v)]).collect();
    let log = match (response.log, context) {
        (Some(line), Some(req)) => JsValue::from_str(&format!("{} {}: {line}", req.method, req.path)),
        (Some(line), None) => JsValue::from_str(&format!("validate: {line}")),
        (None, _) => JsValue::NULL,
    };
    Array::of4(&JsValue::from(response.status), &headers, &Uint8Array::from(response.body.as_slice()), &log)
}

// An object's alarm, second half (after its sweep): the intents it keeps, whose callers were
// cut (`crate::intent`).

/// A token shard's intents (a client's shard 0 keeps them). Resolves to a line to log (an
/// intent that could not be completed yet: the alarm is set again) or null; a storage failure
/// rejects (the runtime retries the alarm).
#[wasm_bindgen]
pub fn resume_token_intents(env: JsValue, core: &objects::TokenShardCore) -> Promise {
    let memo = core.memo();
    futures::promise(async move { resume(&env, &*memo, false).await })
}

/// A user object's intents.
#[wasm_bindgen]
pub fn resume_user_intents(env: JsValue, core: &objects::UserObjectCore) -> Promise {
    let memo = core.memo();
    futures::promise(async move { resume(&env, &*memo, true).await })
}

async fn resume(env: &JsValue, memo: &crate::shard::memo::Memo<objects::DoStorage>, users: bool) -> Result<JsValue, JsValue> {
    use crate::shard::{earlier_alarm, ShardStorage};
    let app = app(env)?;
    let now = now_ms();
    let store = |e: crate::error::StoreError| JsValue::from_str(&e.0);
    let done = crate::intent::resume(&app, memo, users, now, crate::shard::intents::INTENT_RETRY_MS).await.map_err(|e| JsValue::from_str(&e.description()))?;
    if let Some(at) = done.again {
        if let Some(at) = earlier_alarm(memo.alarm().await.map_err(store)?, at) {
            memo.set_alarm(at).await.map_err(store)?;
        }
    }
    Ok(done.failure.map_or(JsValue::NULL, |f| JsValue::from_str(&f)))
}

// The alerts Queue's consumer (`queue()` in entry.mjs): for each message, what to send, then
// how it went (`crate::notify`).

fn message(text: &str) -> Result<Message, JsValue> {
    serde_json::from_str(text).map_err(|e| JsValue::from_str(&format!("alert message: {e}")))
}

/// Resolves to `[url, [name, value, …], body]`, or `null` when there is nowhere to send.
#[wasm_bindgen]
pub fn alert_attempt(env: JsValue, text: String) -> Promise {
    futures::promise(async move {
        let app = app(&env)?;
        let m = message(&text)?;
        let attempt = notify::attempt(&app, &m, now_ms()).await.map_err(|e| JsValue::from_str(&e.description()))?;
        Ok(match attempt {
            None => JsValue::NULL,
            Some(a) => {
                let headers: Array = a.headers.iter().flat_map(|(n, v)| [JsValue::from_str(n), JsValue::from_str(v)]).collect();
                Array::of3(&JsValue::from_str(&a.url), &headers, &JsValue::from_str(&a.body)).into()
            }
        })
    })
}

/// Resolves to the delay (seconds) before the next attempt, or `null` when done.
#[wasm_bindgen]
pub fn alert_outcome(env: JsValue, text: String, status: Option<u16>, attempts: u32) -> Promise {
    futures::promise(async move {
        let app = app(&env)?;
        let m = message(&text)?;
        let next = notify::outcome(&app, &m, status, attempts).await.map_err(|e| JsValue::from_str(&e.description()))?;
        Ok(next.map_or(JsValue::NULL, |d| JsValue::from_f64(d as f64)))
    })
}
