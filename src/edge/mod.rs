//! The edge shell: the only code that touches `worker::` types. It turns a `worker::Request`
//! into the core's [`HttpRequest`], runs the route table, and turns the answer back; and it
//! provides the platform: KV ([`kv`]), Durable Objects ([`objects`]), WebCrypto ([`crypto`]),
//! outbound `fetch` ([`fetch`]).

mod crypto;
mod fetch;
mod kv;
mod objects;

use crate::app::{App, Config, Cx, Limits};
use crate::cache::IsolateCache;
use crate::http::{normalise_ip, Body, HttpRequest, HttpResponse, MAX_BODY};
use crate::routes;
use crate::secret::{AdminToken, Random};
use crate::store::Platform;
use js_sys::futures::JsFuture;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use worker::{event, Context, Env, Headers, Request, Response, Result};

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
}

/// Settings from Worker variables and secrets; anything absent or unparsable keeps its default.
fn config(env: &Env) -> Config {
    let text = |name: &str| env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok();
    let number = |name: &str, default: u64| text(name).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(default);
    let d = Config::default();
    let l = d.limits;
    Config {
        admin_token: text("ADMIN_TOKEN").filter(|t| !t.is_empty()).map(AdminToken::new),
        issuer: text("ISSUER").filter(|t| !t.is_empty()),
        limits: Limits {
            failures_per_ip: number("AUTH_FAILURES_PER_IP", l.failures_per_ip).max(1),
            failures_per_client: number("AUTH_FAILURES_PER_CLIENT", l.failures_per_client).max(1),
            failure_window_ms: number("AUTH_FAILURE_WINDOW_SECONDS", l.failure_window_ms / 1000).max(1) * 1000,
            rate_window_ms: l.rate_window_ms,
        },
        client_cache_ms: number("CLIENT_CACHE_SECONDS", d.client_cache_ms / 1000) * 1000,
        pbkdf2_iterations: number("PBKDF2_ITERATIONS", u64::from(d.pbkdf2_iterations)).clamp(1, u64::from(d.pbkdf2_iterations)) as u32,
        session_ms: number("SESSION_SECONDS", d.session_ms / 1000).max(60) * 1000,
        scope_descriptions: text("SCOPE_DESCRIPTIONS").map(|j| crate::scope::parse_descriptions(&j)).unwrap_or_default(),
        device_code_ms: number("DEVICE_CODE_SECONDS", d.device_code_ms / 1000).clamp(1, d.device_code_ms / 1000) * 1000,
    }
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let cache = CACHE.with(Rc::clone);
    let app: App<Edge> = App::new(config(&env), kv::KvStore::new(&env, "CLIENTS")?, objects::DoObjects::new(&env)?, crypto::WebCrypto, fetch::WebFetch, cache);
    let request = to_core(&mut req).await?;
    let mut cx = Cx { now_ms: worker::Date::now().as_millis(), rng: &mut Csprng };
    let response = routes::handle(&app, &request, &mut cx).await;
    if let Some(line) = &response.log {
        worker::console_error!("{} {}: {}", request.method, request.path, line);
    }
    from_core(response)
}

async fn to_core(req: &mut Request) -> Result<HttpRequest> {
    // The runtime hands us a URL it has already parsed and serialised (WHATWG), so splitting
    // it is enough; `Request::url()` would re-parse it with the `url` crate, whose IDNA tables
    // are a third of the wasm.
    let (origin, path, query) = split_url(&req.inner().url());
    let headers: Vec<(String, String)> = req.headers().entries().collect();
    let method = req.method().to_string().to_ascii_uppercase();
    let body = read_body(req, &headers, &method).await?;
    Ok(HttpRequest { method, path, query, client_ip: req.headers().get("cf-connecting-ip")?.map(|ip| normalise_ip(&ip)), headers, body, origin })
}

/// `scheme://host[:port]/path?query#fragment` into origin, path and query.
fn split_url(url: &str) -> (String, String, String) {
    let url = url.split('#').next().unwrap_or("");
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[after_scheme..].find('/').map_or(url.len(), |i| after_scheme + i);
    let (origin, rest) = url.split_at(path_start);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = if path.is_empty() { "/" } else { path };
    (origin.to_string(), path.to_string(), query.to_string())
}

/// Past this many bytes an oversized body is not even drained: the connection may be reset.
const MAX_DRAIN: usize = 1024 * 1024;

/// Keep at most [`MAX_BODY`] bytes. A larger body is refused without being buffered: a
/// declared length over the limit skips reading altogether, and anything else is counted
/// and dropped chunk by chunk. Up to [`MAX_DRAIN`] bytes are drained before answering,
/// because answering while the client is still sending makes some proxies (wrangler's local
/// one among them) fail the request instead of delivering our 400.
async fn read_body(req: &mut Request, headers: &[(String, String)], method: &str) -> Result<Body> {
    if method == "GET" || method == "HEAD" {
        return Ok(Body::Bytes(Vec::new()));
    }
    let declared = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.trim().parse::<u64>().ok());
    // The common case, a small body of declared length: one read. (The runtime enforces
    // Content-Length, so the body cannot be longer than declared.)
    if declared.is_some_and(|n| n <= MAX_BODY as u64) {
        let bytes = req.bytes().await?;
        return Ok(if bytes.len() > MAX_BODY { Body::TooLarge } else { Body::Bytes(bytes) });
    }
    if declared.is_some_and(|n| n > MAX_DRAIN as u64) {
        return Ok(Body::TooLarge);
    }
    // From here the length is either undeclared (keep up to the limit) or declared over the
    // limit (drain only).
    let keep = declared.is_none();
    // The body stream is read raw, one promise per chunk: worker's `ByteStream` would bring
    // wasm-streams (and its futures plumbing) into the wasm for this one loop.
    let Some(stream) = req.inner().body() else { return Ok(Body::Bytes(Vec::new())) };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut buf = Vec::new();
    let mut seen = 0usize;
    loop {
        let read: web_sys::ReadableStreamReadResult = JsFuture::from(reader.read()).await?.unchecked_into();
        if read.get_done().unwrap_or(true) {
            break;
        }
        let chunk = js_sys::Uint8Array::new(&read.get_value());
        seen += chunk.length() as usize;
        if seen > MAX_DRAIN {
            return Ok(Body::TooLarge);
        }
        if keep && seen <= MAX_BODY {
            buf.extend_from_slice(&chunk.to_vec());
        }
    }
    Ok(if !keep || seen > MAX_BODY { Body::TooLarge } else { Body::Bytes(buf) })
}

fn from_core(resp: HttpResponse) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in &resp.headers {
        headers.append(name, value)?;
    }
    let response = if resp.body.is_empty() { Response::empty()? } else { Response::from_bytes(resp.body)? };
    Ok(response.with_status(resp.status).with_headers(headers))
}
