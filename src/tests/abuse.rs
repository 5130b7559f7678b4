//! Brute-force protection and rate limits.

use super::*;

#[test]
fn brute_force_blocks_the_address_not_the_client() {
    let mut h = Harness::new();
    h.app.config.limits = Limits { failures_per_ip: 3, failures_per_client: 1000, failure_window_ms: 60_000, rate_window_ms: 60_000 };
    let (id, secret) = h.create(r#"{"name":"svc"}"#);
    let attempt =
        |h: &mut Harness, secret: &str, ip: &str| h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, secret).ip(Some(ip)));
    for _ in 0..3 {
        assert_eq!(attempt(&mut h, "wrong", "192.0.2.1").status, 401);
    }
    let r = attempt(&mut h, "wrong", "192.0.2.1");
    assert_eq!(r.status, 429);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=120).contains(&retry), "{retry}");
    // Even the right secret is refused from the blocked address...
    assert_eq!(attempt(&mut h, &secret, "192.0.2.1").status, 429);
    // ...but works from another one.
    assert_eq!(attempt(&mut h, &secret, "192.0.2.2").status, 200);
    // Introspection and revocation share the block.
    let r = h.send(Req::new("POST", "/revoke").form("token=x").basic(&id, &secret).ip(Some("192.0.2.1")));
    assert_eq!(r.status, 429);
    // Never for good: after the window (and the one after it) the address is free again.
    h.advance(120_000);
    assert_eq!(attempt(&mut h, &secret, "192.0.2.1").status, 200);
}

#[test]
fn brute_force_per_client_id_refuses_failures_but_not_the_right_secret() {
    let mut h = Harness::new();
    h.app.config.limits = Limits { failures_per_ip: 1000, failures_per_client: 5, failure_window_ms: 60_000, rate_window_ms: 60_000 };
    let (id, secret) = h.create(r#"{"name":"svc"}"#);
    let statuses: Vec<u16> = (0..7)
        .map(|i| {
            let ip = format!("198.51.100.{i}");
            h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, "wrong").ip(Some(&ip))).status
        })
        .collect();
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429, 429], "distributed guessing is throttled");
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret).ip(Some("198.51.100.99")));
    assert_eq!(r.status, 200, "the client itself is never locked out");
    // Unknown ids get no counter (and no Durable Object).
    h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic("no-such-id", "x"));
    assert!(!h.app.objects.shards.borrow().contains_key("no-such-id/0"));
}

#[test]
fn rate_limit_on_validate() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","rate_limit":5,"api_key":true}"#);
    let t = h.token(&id, &secret);
    let statuses: Vec<u16> = (0..7).map(|_| h.validate(&t, "10.0.0.1").status).collect();
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 429]);
    let r = h.validate(&t, "10.0.0.1");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(err(&r), "too_many_requests");
    // Forged tokens and wrong addresses do not use up the limit (the id is public).
    h.advance(120_000);
    for _ in 0..10 {
        assert_eq!(h.validate(&format!("{id}.{}", "A".repeat(43)), "10.0.0.1").status, 401);
        assert_eq!(h.validate(&t, "10.9.9.9").status, 401);
    }
    assert_eq!(h.validate(&t, "10.0.0.1").status, 200);
    for _ in 0..4 {
        h.validate(&t, "10.0.0.1");
    }
    // API keys share the client's limit.
    assert_eq!(h.send(Req::new("GET", &format!("/validate?key={id}"))).status, 429);
    h.advance(120_000);
    assert_eq!(h.validate(&t, "10.0.0.1").status, 200);
    // Lifting the limit applies at once (the admin write refreshes this isolate's cache).
    let r = h.send(Req::new("PATCH", &format!("/admin/clients/{id}")).bearer(ADMIN).body(r#"{"rate_limit":null}"#));
    assert_eq!(r.status, 200);
    assert!((0..20).all(|_| h.validate(&t, "10.0.0.1").status == 200));
}
