//! Native micro-benchmarks of the core's hot paths (issue: under 20 µs each on the 2-core
//! dev machine). Run with `cargo bench --bench core`. No framework: each case runs a warm-up,
//! then times single iterations and reports mean, p50 and p99.
//!
//! The token and validation cases go through the whole `App::handle`, with the in-memory
//! stores standing in for KV and the Durable Object; the fakes round-trip every shard
//! command through JSON as the edge does, so serialisation is in the measurement.

use edge_oauth::block_on;
use edge_oauth::client::{self, Client, Settings};
use edge_oauth::config::Config;
use edge_oauth::secret::{AdminToken, ClientSecret};
use edge_oauth::shard::keys::TOKEN_PREFIX;
use edge_oauth::shard::tokens::TokenRecord;
use edge_oauth::shard::ShardStorage;
use edge_oauth::testing::{mem_app, Req, SeqRng};
use std::hint::black_box;
use std::time::Instant;

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

fn main() {
    // `cargo bench` passes --bench; under `cargo test --benches` this runs as a quick smoke test.
    let benching = std::env::args().any(|a| a == "--bench");
    let default_n = if benching { 20_000 } else { 200 };
    let n: usize = std::env::var("BENCH_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(default_n);
    let now = 1_700_000_000_000u64;
    let config = Config { admin_token: Some(AdminToken::new("x")), ..Config::default() };
    let app = mem_app(config, now);
    let secret = ClientSecret::new("f3G8w2n5Qd7yK1pZrT6vX9bC4mJ0hL2sA8eU5iO3wE1");
    let settings = Settings { name: "bench".into(), scopes: vec!["read".into(), "write".into()], ..Settings::default() };
    let client = Client::new("Vn3kQ8pL2xR7tY5wZ1cB9d".into(), settings, &secret, 0);
    block_on(client::store::put(&app.kv, &client)).unwrap();
    let mut rng = SeqRng(0x9E37_79B9_7F4A_7C15);
    let from = |r: Req| r.ip(Some("203.0.113.5")).0;
    let token_req = from(Req::new("POST", "/token").basic(&client.client_id, secret.expose()).form("grant_type=client_credentials&scope=read"));
    let r = block_on(app.handle(&token_req, now, &mut rng));
    assert_eq!(r.status, 200);
    let token = r.body_json()["access_token"].as_str().unwrap().to_string();
    let validate_req = from(Req::new("GET", "/validate?scope=read").bearer(&token));
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
    app.objects.shards.borrow().values().for_each(|s| s.storage().entries.borrow_mut().retain(|k, _| !k.starts_with(TOKEN_PREFIX)));
    app.objects.evict_all(); // and forget them in the objects' memory
    let r = block_on(app.handle(&token_req, now, &mut rng));
    let token = r.body_json()["access_token"].as_str().unwrap().to_string();
    let validate_req = from(Req::new("GET", "/validate?scope=read").bearer(&token));
    // Each validation comes 1 ms after the one before, on the worker's clock and the shard's,
    // so each one slides the expiry (in the object's memory; storage gets it every 10 s).
    let mut t = now;
    let validate = report(
        "GET /validate: parse, check, slide, respond",
        time(n, || {
            t += 1;
            app.objects.now_ms.set(t);
            let r = block_on(app.handle(black_box(&validate_req), t, &mut rng));
            assert_eq!(r.status, 200);
        }),
    );
    let stored: Vec<TokenRecord> = app
        .objects
        .shards
        .borrow()
        .values()
        .flat_map(|s| block_on(s.list(TOKEN_PREFIX)).unwrap().into_iter().map(|(_, v)| serde_json::from_str(&v).unwrap()).collect::<Vec<_>>())
        .collect();
    assert_eq!(stored.iter().map(|r| r.last_used_ms).max(), Some(t), "every validation slid the token");
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
