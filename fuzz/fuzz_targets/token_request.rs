//! `token_request`: end to end through `App::handle` with the in-memory fakes (no faults).
//!
//! Input: up to 6 requests separated by 0x1E. Each request is split on 0x00 into
//! `method \0 path[?query] \0 headers \0 body \0 client-ip`; headers are `name: value` lines
//! separated by '\n'; a missing ip field means no `CF-Connecting-IP`; a body over 8 KiB, or
//! exactly `$HUGE`, is `Body::TooLarge`, as the edge shell reports it. Placeholders are
//! substituted everywhere so that the fuzzer reaches the paths behind authentication:
//!   $ID / $SECRET / $BASIC  the pre-registered client `cid` (Basic = base64 "cid:csecret")
//!   $ADMIN                  the admin token
//!   $TOKEN                  the last access token issued in this input
//!   $NEW / $NEWSECRET       the last client created through the admin API in this input
//! Set FUZZ_TRACE=1 to print each request and response (e.g. when running one input).
//! Invariants: no panic; never a 5xx (the fakes inject no faults); every error is JSON with an
//! `error` code and `Cache-Control: no-store`.
#![no_main]

use base64::Engine;
use edge_oauth::app::App;
use edge_oauth::config::{Config, Limits};
use edge_oauth::block_on;
use edge_oauth::client::{self, Client, Expiry, Settings};
use edge_oauth::http::{normalise_ip, Body, HttpRequest, HttpResponse, MAX_BODY};
use edge_oauth::secret::{AdminToken, ClientSecret};
use edge_oauth::testing::{mem_app, MemPlatform, SeqRng};
use libfuzzer_sys::fuzz_target;

const T0: u64 = 1_700_000_000_000;
const ADMIN: &str = "admin-secret";
const MAX_REQUESTS: usize = 6;

fn app() -> App<MemPlatform> {
    let limits = Limits { failures_per_ip: 4, failures_per_client: 6, failure_window_ms: 60_000, rate_window_ms: 10_000 };
    let config = Config { admin_token: Some(AdminToken::new(ADMIN)), limits, client_cache_ms: 2_000, pbkdf2_iterations: 10, ..Config::default() };
    let app = mem_app(config, T0);
    let clients = [
        Client::new(
            "cid".into(),
            Settings {
                name: "svc".into(),
                scopes: vec!["read".into(), "write".into()],
                token_ttl: 10,
                max_lifetime: 30,
                api_key: true,
                introspect: true,
                rate_limit: Some(3),
                ..Settings::default()
            },
            &ClientSecret::new("csecret"),
            T0,
        ),
        Client::new(
            "fixed".into(),
            Settings {
                name: "keys".into(),
                grant_types: vec![],
                expiry: Expiry::Fixed,
                ip_binding: false,
                api_key: true,
                ..Settings::default()
            },
            &ClientSecret::new("fsecret"),
            T0,
        ),
    ];
    for c in &clients {
        block_on(client::store::put(&app.kv, c)).expect("memory put");
    }
    app
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

struct Vars {
    basic: String,
    token: String,
    new_id: String,
    new_secret: String,
}

impl Vars {
    fn apply(&self, raw: &[u8]) -> Vec<u8> {
        if !raw.contains(&b'$') {
            return raw.to_vec();
        }
        // Longest names first ($NEWSECRET before $NEW).
        let mut v = replace(raw, b"$NEWSECRET", self.new_secret.as_bytes());
        v = replace(&v, b"$NEW", self.new_id.as_bytes());
        v = replace(&v, b"$SECRET", b"csecret");
        v = replace(&v, b"$ID", b"cid");
        v = replace(&v, b"$BASIC", self.basic.as_bytes());
        v = replace(&v, b"$ADMIN", ADMIN.as_bytes());
        replace(&v, b"$TOKEN", self.token.as_bytes())
    }

    fn text(&self, raw: &[u8]) -> String {
        String::from_utf8_lossy(&self.apply(raw)).into_owned()
    }
}

fn build(raw: &[u8], vars: &Vars) -> HttpRequest {
    let mut fields = raw.splitn(5, |&b| b == 0);
    let method = vars.text(fields.next().unwrap_or(b""));
    let target = vars.text(fields.next().unwrap_or(b""));
    let headers_raw = fields.next().unwrap_or(b"");
    let body = vars.apply(fields.next().unwrap_or(b""));
    let ip = fields.next().map(|ip| normalise_ip(&vars.text(ip)));

    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let headers = headers_raw
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|line| {
            let line = vars.text(line);
            let (n, v) = line.split_once(':').unwrap_or((&line, ""));
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let body = if body.len() > MAX_BODY || body == b"$HUGE" { Body::TooLarge } else { Body::Bytes(body) };
    HttpRequest { method, path, query, headers, body, client_ip: ip, origin: "https://auth.test".into() }
}

fn check(req: &HttpRequest, r: &HttpResponse) {
    let show = || format!("{req:?} -> {} {:?} log={:?}", r.status, String::from_utf8_lossy(&r.body), r.log);
    assert_ne!(r.status, 500, "internal error: {}", show());
    assert!(r.status < 500, "5xx without injected faults: {}", show());
    assert!(matches!(r.status, 200 | 201 | 204 | 302 | 303 | 400 | 401 | 403 | 404 | 405 | 409 | 429), "odd status: {}", show());
    let page = r.header("content-type").is_some_and(|c| c.starts_with("text/html"));
    if r.status >= 400 {
        assert_eq!(r.header("cache-control"), Some("no-store"), "{}", show());
        if !page {
            let v = r.body_json();
            assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "error body: {}", show());
        }
    }
    if page {
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{}", show());
    }
    if r.status == 429 {
        assert!(r.header("retry-after").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| s >= 1), "{}", show());
    }
    assert!(r.log.is_none(), "a log line means an internal/unavailable error: {}", show());
}

fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

fuzz_target!(|data: &[u8]| {
    let app = app();
    let mut rng = SeqRng(42);
    let mut vars = Vars {
        basic: format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("cid:csecret")),
        token: String::new(),
        new_id: String::new(),
        new_secret: String::new(),
    };
    let mut now = T0;
    for raw in data.split(|&b| b == 0x1E).take(MAX_REQUESTS) {
        let req = build(raw, &vars);
        let r = block_on(app.handle(&req, now, &mut rng));
        if trace() {
            eprintln!("{} {}?{} {:?} ip={:?} -> {} {}", req.method, req.path, req.query, req.headers, req.client_ip, r.status, String::from_utf8_lossy(&r.body));
        }
        check(&req, &r);
        let v = r.body_json();
        if r.status == 200 {
            if let Some(t) = v["access_token"].as_str() {
                assert_eq!(v["token_type"], "Bearer");
                assert!(v["expires_in"].as_u64().is_some_and(|e| e >= 1));
                vars.token = t.to_string();
            }
        }
        if r.status == 201 {
            if let (Some(id), Some(secret)) = (v["client_id"].as_str(), v["client_secret"].as_str()) {
                vars.new_id = id.to_string();
                vars.new_secret = secret.to_string();
            }
        }
        // Time moves on; alarms fire as the runtime would fire them.
        now += 4_000;
        app.objects.now_ms.set(now);
        block_on(app.objects.fire_alarms());
    }
});
