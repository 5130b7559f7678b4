//! Native micro-benchmarks of the core's hot paths (issue: under 20 µs each on the 2-core
//! dev machine). Run with `cargo bench --bench core`. No framework: each case runs a warm-up,
//! then times single iterations and reports mean, p50 and p99.
//!
//! The token and validation cases go through the whole `App::handle`, with the in-memory
//! stores standing in for KV and the Durable Object; the fakes round-trip every shard
//! command through JSON as the edge does, so serialisation is in the measurement.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use edge_oauth::app::{App, Config};
use edge_oauth::block_on;
use edge_oauth::client::{Client, Settings};
use edge_oauth::http::{Body, HttpRequest};
use edge_oauth::secret::{AdminToken, ClientSecret, Random};
use edge_oauth::store::memory::{MemClients, MemShards};
use edge_oauth::store::ClientStore;
use edge_oauth::token::TokenRecord;
use std::hint::black_box;
use std::time::Instant;

/// xorshift64*: fast, deterministic, not for production.
struct Xorshift(u64);

impl Random for Xorshift {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf.iter_mut() {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
    }
}

fn report(name: &str, mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    println!("| {name:<52} | {:>8.2} | {:>8.2} | {:>8.2} | {:>7} |", mean, p(0.5), p(0.99), samples.len());
    p(0.5)
}

fn time<F: FnMut()>(iterations: usize, mut f: F) -> Vec<f64> {
    for _ in 0..iterations / 10 {
        f();
    }
    (0..iterations)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_nanos() as f64 / 1000.0
        })
        .collect()
}

fn request(method: &str, path: &str, query: &str, headers: Vec<(String, String)>, body: &[u8]) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers,
        body: Body::Bytes(body.to_vec()),
        client_ip: Some("203.0.113.5".into()),
        origin: "https://auth.example".into(),
    }
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --benches` this runs as a quick smoke test.
    let benching = std::env::args().any(|a| a == "--bench");
    let default_n = if benching { 20_000 } else { 200 };
    let n: usize = std::env::var("BENCH_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(default_n);
    let config = Config { admin_token: Some(AdminToken::new("x")), ..Config::default() };
    let app = App::new(MemClients::default(), MemShards::default(), config, Default::default());
    app.shards.now_ms.set(1_700_000_000_000);
    let secret = ClientSecret::new("f3G8w2n5Qd7yK1pZrT6vX9bC4mJ0hL2sA8eU5iO3wE1");
    let settings = Settings { name: "bench".into(), scopes: vec!["read".into(), "write".into()], ..Settings::default() };
    let client = Client::new("Vn3kQ8pL2xR7tY5wZ1cB9d".into(), settings, &secret, 0);
    block_on(app.clients.put(&client)).unwrap();
    let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15);
    let now = 1_700_000_000_000u64;

    let basic = format!("Basic {}", STANDARD.encode(format!("{}:{}", client.client_id, secret.expose())));
    let token_req = request(
        "POST",
        "/token",
        "",
        vec![
            ("authorization".into(), basic),
            ("content-type".into(), "application/x-www-form-urlencoded".into()),
        ],
        b"grant_type=client_credentials&scope=read",
    );
    let r = block_on(app.handle(&token_req, now, &mut rng));
    assert_eq!(r.status, 200);
    let token = r.body_json()["access_token"].as_str().unwrap().to_string();
    let validate_req =
        request("GET", "/validate", "scope=read", vec![("authorization".into(), format!("Bearer {token}"))], b"");
    assert_eq!(block_on(app.handle(&validate_req, now, &mut rng)).status, 200);

    println!("| {:<52} | mean µs  | p50 µs   | p99 µs   | samples |", format!("case (native, {n} iterations each)"));
    println!("|{:-<54}|{:-<10}|{:-<10}|{:-<10}|{:-<9}|", "", "", "", "", "");
    // Every issued token stays in the fake shard; clear them between cases so memory stays flat.
    let issue = report(
        "POST /token: parse, authenticate, issue, respond",
        time(n, || {
            let r = block_on(app.handle(black_box(&token_req), now, &mut rng));
            assert_eq!(r.status, 200);
        }),
    );
    app.shards.shards.borrow().values().for_each(|s| s.entries.borrow_mut().retain(|k, _| !k.starts_with("t:")));
    let r = block_on(app.handle(&token_req, now, &mut rng));
    let token = r.body_json()["access_token"].as_str().unwrap().to_string();
    let validate_req =
        request("GET", "/validate", "scope=read", vec![("authorization".into(), format!("Bearer {token}"))], b"");
    let mut t = now;
    let validate = report(
        "GET /validate: parse, check, slide, respond",
        time(n, || {
            t += 1;
            let r = block_on(app.handle(black_box(&validate_req), t, &mut rng));
            assert_eq!(r.status, 200);
        }),
    );
    let mut record = TokenRecord::new(&client, 0, vec!["read".into()], Some("203.0.113.5"), now);
    let mut t = now;
    let slide = report(
        "token record: expiry + IP + scope check, slide",
        time(n, || {
            t += 1;
            let live = record.is_live(t) && record.ip_allows(Some("203.0.113.5")) && record.has_scopes(&[]);
            record.touch(t);
            black_box(live);
        }),
    );
    if !benching {
        println!("\n(smoke run of an unoptimised test build: no verdict; use `cargo bench --bench core`)");
        return;
    }
    let verdict = |p50: f64| if p50 < 20.0 { "ok" } else { "OVER" };
    println!(
        "\ntarget p50 < 20 µs: token {} ({issue:.2}), validate {} ({validate:.2}), record {} ({slide:.2})",
        verdict(issue),
        verdict(validate),
        verdict(slide)
    );
}
