//! `/validate` and `/introspect`: sliding and fixed expiry, IP binding, scopes, API keys, alarms.

use super::*;

#[test]
fn validate_slides_binds_ip_and_checks_scope() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","scopes":["read","write"],"token_ttl":10,"max_lifetime":30}"#);
    let t = h.token(&id, &secret);
    let r = h.validate(&t, "10.0.0.1");
    assert_eq!(r.status, 200);
    let v = r.body_json();
    assert_eq!((v["active"].clone(), v["client_id"].clone(), v["auth"].clone()), (json!(true), json!(id), json!("bearer")));
    assert_eq!(v["expires_in"], 10);

    // Wrong IP: the same 401 as an unknown token; X-Forwarded-For does not help.
    let wrong = h.send(Req::new("GET", "/validate").bearer(&t).ip(Some("10.0.0.2")).header("x-forwarded-for", "10.0.0.1"));
    let unknown = h.validate(&format!("{id}.{}", "A".repeat(43)), "10.0.0.1");
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer realm=\"edge-oauth\", error=\"invalid_token\""));

    // Use every 6 s: alive at 18 s (past the first 10 s expiry).
    for _ in 0..3 {
        h.advance(6_000);
        assert_eq!(h.validate(&t, "10.0.0.1").status, 200);
    }
    // Scope: 403 and no slide.
    let r = h.send(Req::new("GET", "/validate?scope=admin").bearer(&t));
    assert_eq!((r.status, err(&r).as_str()), (403, "insufficient_scope"));
    assert!(r.header("www-authenticate").unwrap().contains("insufficient_scope"));
    assert_eq!(h.send(Req::new("GET", "/validate?scope=read%20write").bearer(&t)).status, 200);
    // max_lifetime (30 s) caps it even while used.
    h.advance(6_000);
    assert_eq!(h.validate(&t, "10.0.0.1").body_json()["expires_in"], 6);
    h.advance(6_000);
    assert_eq!(h.validate(&t, "10.0.0.1").status, 401);
    assert_eq!(h.app.objects.stored_tokens(), 0, "an expired token is deleted when read");
}

#[test]
fn unused_sliding_token_dies_and_alarm_deletes_it() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","token_ttl":5}"#);
    let t = h.token(&id, &secret);
    h.advance(4_999);
    assert_eq!(h.app.objects.stored_tokens(), 1);
    assert_eq!(block_on(h.app.objects.fire_alarms()), 0);
    h.advance(1);
    assert_eq!(block_on(h.app.objects.fire_alarms()), 1);
    assert_eq!(h.app.objects.stored_tokens(), 0);
    assert_eq!(h.validate(&t, "10.0.0.1").status, 401);
}

#[test]
fn alarm_rearms_after_sliding() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","token_ttl":5}"#);
    let t = h.token(&id, &secret);
    h.advance(3_000);
    assert_eq!(h.validate(&t, "10.0.0.1").status, 200);
    h.advance(2_000);
    assert_eq!(block_on(h.app.objects.fire_alarms()), 0, "the early alarm finds the slid token live");
    h.advance(2_999);
    assert_eq!(h.validate(&t, "10.0.0.1").status, 200);
    h.advance(5_000);
    block_on(h.app.objects.fire_alarms());
    assert_eq!(h.app.objects.stored_tokens(), 0);
}

#[test]
fn fixed_expiry_dies_on_time_while_used() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","token_ttl":5,"expiry":"fixed"}"#);
    let t = h.token(&id, &secret);
    for _ in 0..4 {
        h.advance(1_000);
        assert_eq!(h.validate(&t, "10.0.0.1").status, 200);
    }
    h.advance(1_000);
    assert_eq!(h.validate(&t, "10.0.0.1").status, 401);
}

#[test]
fn ip_binding_off() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","ip_binding":false}"#);
    let t = h.token(&id, &secret);
    assert_eq!(h.validate(&t, "192.0.2.77").status, 200);
}

#[test]
fn validate_request_errors() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","api_key":true}"#);
    let t = h.token(&id, &secret);
    let r = h.send(Req::new("GET", "/validate"));
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"edge-oauth\""));
    let r = h.send(Req::new("GET", "/validate").header("authorization", "Bearer a b"));
    assert_eq!((r.status, err(&r).as_str()), (400, "invalid_request"));
    let r = h.send(Req::new("GET", &format!("/validate?key={id}")).bearer(&t));
    assert_eq!(r.status, 400);
    let r = h.send(Req::new("GET", "/validate?scope=a&scope=b").bearer(&t));
    assert_eq!(r.status, 400);
    let r = h.send(Req::new("POST", "/validate").bearer("not-our-shape"));
    assert_eq!(r.status, 401);
}

#[test]
fn api_keys() {
    let mut h = Harness::new();
    let (id, _) = h.create(r#"{"name":"k","api_key":true,"scopes":["maps"]}"#);
    let (plain, _) = h.create(r#"{"name":"p"}"#);
    let r = h.send(Req::new("GET", "/validate").header("key", &id));
    assert_eq!(r.status, 200);
    assert_eq!(r.body_json()["auth"], "api_key");
    assert_eq!(r.body_json()["scope"], "maps");
    assert_eq!(h.send(Req::new("GET", &format!("/validate?key={id}&scope=maps"))).status, 200);
    assert_eq!(h.send(Req::new("GET", &format!("/validate?key={id}&scope=other"))).status, 403);
    assert_eq!(h.send(Req::new("GET", &format!("/validate?key={plain}"))).status, 401);
    assert_eq!(h.send(Req::new("GET", "/validate?key=nobody")).status, 401);
    // Deleting the client kills the key even if KV still has the record (stale read).
    let stale = h.app.kv.map.borrow().clone();
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 204);
    *h.app.kv.map.borrow_mut() = stale;
    assert_eq!(h.send(Req::new("GET", &format!("/validate?key={id}"))).status, 401);
}

#[test]
fn introspection() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","token_ttl":10}"#);
    let (other, other_secret) = h.create(r#"{"name":"other"}"#);
    let (rs, rs_secret) = h.create(r#"{"name":"resource-server","introspect":true}"#);
    let t = h.token(&id, &secret);
    h.advance(5_000);
    let own = h.send(Req::new("POST", "/introspect").form(&format!("token={t}")).basic(&id, &secret).ip(Some("203.0.113.9")));
    assert_eq!(own.status, 200);
    assert_eq!(own.body_json()["active"], true);
    assert_eq!(own.body_json()["expires_in"], 5, "introspection is not a use");
    let foreign = h.send(Req::new("POST", "/introspect").form(&format!("token={t}")).basic(&other, &other_secret));
    assert_eq!(foreign.body_json(), json!({"active": false}));
    let privileged = h.send(Req::new("POST", "/introspect").form(&format!("token={t}")).basic(&rs, &rs_secret));
    assert_eq!(privileged.body_json()["client_id"], id);
    let junk = h.send(Req::new("POST", "/introspect").form("token=junk").basic(&id, &secret));
    assert_eq!(junk.body_json(), json!({"active": false}));
    let missing = h.send(Req::new("POST", "/introspect").form("").basic(&id, &secret));
    assert_eq!(missing.status, 400);
    let unauth = h.send(Req::new("POST", "/introspect").form(&format!("token={t}")).basic(&id, "bad"));
    assert_eq!(unauth.status, 401);
    h.advance(5_000);
    let expired = h.send(Req::new("POST", "/introspect").form(&format!("token={t}")).basic(&id, &secret));
    assert_eq!(expired.body_json(), json!({"active": false}));
}

#[test]
fn slides_are_coalesced_and_an_eviction_only_ever_shortens_a_token() {
    use crate::shard::memo::LAG_MS;
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","token_ttl":60}"#);
    let t = h.token(&id, &secret);
    let exp = |h: &mut Harness| {
        let r = h.send(Req::new("POST", "/introspect").form(&format!("token={t}")).basic(&id, &secret));
        r.body_json()["exp"].as_u64().unwrap()
    };
    // A burst of uses, 100 ms apart for 15 s: each slides in memory, and the alarm the first
    // asked for (by LAG_MS after it) writes them, as the runtime fires it.
    for _ in 0..150 {
        h.advance(100);
        assert_eq!(h.validate(&t, "10.0.0.1").status, 200);
        block_on(h.app.objects.fire_alarms());
    }
    let true_exp = exp(&mut h);
    assert_eq!(true_exp, (h.now + 60_000) / 1000, "memory has the latest use");
    // The object is evicted: storage's last use lags by less than LAG_MS (it would lag 15 s
    // had the alarm written nothing).
    h.app.objects.evict_all();
    let after = exp(&mut h);
    assert!(after <= true_exp, "never later than the contract");
    assert!(after * 1000 + LAG_MS >= true_exp * 1000, "and at most LAG_MS earlier: {after} vs {true_exp}");
    // A lone use, and no other after it: its alarm writes it, and it survives an eviction.
    assert_eq!(h.validate(&t, "10.0.0.1").status, 200);
    let used = h.now;
    h.advance(LAG_MS);
    block_on(h.app.objects.fire_alarms());
    h.app.objects.evict_all();
    assert_eq!(exp(&mut h), (used + 60_000) / 1000, "the alarm wrote the lone use");
}

/// A scheme-less `Authorization` value is a bare token only in edge-oauth's token shape;
/// anything else is malformed: `400 invalid_request`, not the `401` of a missing token.
#[test]
fn a_scheme_less_value_that_is_not_a_token_is_400() {
    let mut h = Harness::new();
    for value in ["%%%%not-a-token%%%%", "abc", "x.y"] {
        let r = h.send(Req::new("GET", "/validate").header("authorization", value));
        assert_eq!((r.status, err(&r).as_str()), (400, "invalid_request"), "{value}");
    }
    // A lone value of the token shape is a token (unknown here: 401 invalid_token).
    let shaped = format!("abc.{}", "A".repeat(43));
    let r = h.send(Req::new("GET", "/validate").header("authorization", &shaped));
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().contains("invalid_token"));
}
