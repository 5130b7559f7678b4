//! Refresh tokens through the handlers: rotation, the retry window, reuse detection, narrowing,
//! the family's lifetime, revocation, and the kills that reach families.

use super::browser::{code_for, Browser};
use super::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

struct Family {
    client: (String, String),
    user_id: String,
    access: String,
    refresh: String,
}

fn family(h: &mut Harness, extra: &str) -> Family {
    let user_id = h.user("rita", "12345678");
    let client = h.web_client(extra);
    let mut b = Browser::new();
    let code = code_for(h, &mut b, &client.0, ("rita", "12345678"));
    let body = format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}");
    let r = match client.1.as_str() {
        "" => h.send(Req::new("POST", "/token").form(&format!("{body}&client_id={}", client.0))),
        secret => h.send(Req::new("POST", "/token").basic(&client.0, secret).form(&body)),
    };
    let v = r.body_json();
    Family { client, user_id, access: v["access_token"].as_str().unwrap().into(), refresh: v["refresh_token"].as_str().unwrap().into() }
}

fn refresh(h: &mut Harness, f: &Family, token: &str, extra: &str) -> HttpResponse {
    h.send(Req::new("POST", "/token").basic(&f.client.0, &f.client.1).form(&format!("grant_type=refresh_token&refresh_token={token}{extra}")))
}

fn tokens(r: &HttpResponse) -> (String, String) {
    let v = r.body_json();
    (v["access_token"].as_str().unwrap().into(), v["refresh_token"].as_str().unwrap().into())
}

#[test]
fn every_refresh_rotates() {
    let mut h = Harness::new();
    let f = family(&mut h, "");
    let r = refresh(&mut h, &f, &f.refresh, "");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let (a2, r2) = tokens(&r);
    assert_ne!(r2, f.refresh);
    assert_eq!(r.body_json()["scope"], "read write");
    assert_eq!((r.body_json()["expires_in"].as_u64(), r.body_json()["issued_at"].as_u64()), (Some(300), Some(h.now)), "the client's token_ttl");
    let who = h.validate(&a2, "10.0.0.1").body_json();
    assert_eq!((who["sub"].as_str(), who["username"].as_str()), (Some(f.user_id.as_str()), Some("rita")));
    assert_eq!(h.validate(&f.access, "10.0.0.1").status, 200, "earlier access tokens stay valid");
    let (_, r3) = tokens(&refresh(&mut h, &f, &r2, ""));
    assert_ne!(r3, r2);
}

#[test]
fn a_retry_within_30_s_gets_the_same_successor() {
    let mut h = Harness::new();
    let f = family(&mut h, "");
    let (a2, r2) = tokens(&refresh(&mut h, &f, &f.refresh, ""));
    h.advance(29_000);
    let again = refresh(&mut h, &f, &f.refresh, "");
    assert_eq!(again.status, 200);
    let (a2b, r2b) = tokens(&again);
    assert_eq!(r2b, r2, "the same successor");
    assert_ne!(a2b, a2, "with a fresh access token");
    for t in [&f.access, &a2, &a2b] {
        assert_eq!(h.validate(t, "10.0.0.1").status, 200);
    }
    // The successor is usable, and once used the old token is plain reuse.
    let (a3, _) = tokens(&refresh(&mut h, &f, &r2, ""));
    let reuse = refresh(&mut h, &f, &f.refresh, "");
    assert_eq!((reuse.status, err(&reuse).as_str()), (400, "invalid_grant"));
    for t in [&f.access, &a2, &a3] {
        assert_eq!(h.validate(t, "10.0.0.1").status, 401, "reuse killed the whole family at once");
    }
}

#[test]
fn reuse_after_the_window_kills_the_family() {
    let mut h = Harness::new();
    let f = family(&mut h, r#","token_ttl":3600,"max_lifetime":7200"#);
    let (a2, r2) = tokens(&refresh(&mut h, &f, &f.refresh, ""));
    h.advance(30_000);
    assert_eq!(err(&refresh(&mut h, &f, &f.refresh, "")), "invalid_grant");
    assert_eq!(h.validate(&a2, "10.0.0.1").status, 401, "including its newest access token");
    assert_eq!(err(&refresh(&mut h, &f, &r2, "")), "invalid_grant", "and its current refresh token");
}

#[test]
fn reuse_raises_refresh_reuse_detected_once_and_a_retry_or_a_bad_token_none() {
    use crate::notify::Message;
    let mut h = Harness::new();
    h.app.config.alert_webhook = Some(("https://ops.example/alerts".into(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()));
    let f = family(&mut h, "");
    let queued = |h: &Harness| -> Vec<Message> { h.app.outbox.sent.borrow().iter().map(|m| serde_json::from_str(m).unwrap()).collect() };
    let (_, r2) = tokens(&refresh(&mut h, &f, &f.refresh, ""));
    assert_eq!(refresh(&mut h, &f, &f.refresh, "").status, 200, "a retry within the window");
    assert_eq!(err(&refresh(&mut h, &f, "not-a-token", "")), "invalid_grant");
    assert!(queued(&h).is_empty(), "a retry or an unknown token is no reuse");
    tokens(&refresh(&mut h, &f, &r2, ""));
    let reuse = h.send(
        Req::new("POST", "/token").basic(&f.client.0, &f.client.1).ip(Some("192.0.2.9")).form(&format!("grant_type=refresh_token&refresh_token={}", f.refresh)),
    );
    assert_eq!((reuse.status, err(&reuse).as_str()), (400, "invalid_grant"), "the client hears only invalid_grant");
    let q = queued(&h);
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(q[0].operator && q[0].client_id == f.client.0);
    let body: serde_json::Value = serde_json::from_str(&q[0].body).unwrap();
    assert_eq!(
        (body["type"].as_str(), body["data"]["client_id"].as_str(), body["data"]["ip"].as_str()),
        (Some("refresh.reuse_detected"), Some(f.client.0.as_str()), Some("192.0.2.9"))
    );
    // The family is dead now: its tokens are unknown, not reused.
    assert_eq!(err(&refresh(&mut h, &f, &r2, "")), "invalid_grant");
    assert_eq!(queued(&h).len(), 1);
}

#[test]
fn scope_narrows_never_widens() {
    let mut h = Harness::new();
    let f = family(&mut h, "");
    let narrow = refresh(&mut h, &f, &f.refresh, "&scope=read");
    assert_eq!(narrow.body_json()["scope"], "read");
    let (_, r2) = tokens(&narrow);
    let wide = refresh(&mut h, &f, &r2, "&scope=read%20admin");
    assert_eq!((wide.status, err(&wide).as_str()), (400, "invalid_scope"));
    // The refused request changed nothing: the family keeps its full grant.
    let back = refresh(&mut h, &f, &r2, "");
    assert_eq!(back.body_json()["scope"], "read write");
}

#[test]
fn a_refresh_token_works_only_for_its_client_and_dies_with_its_family() {
    let mut h = Harness::new();
    let f = family(&mut h, r#","refresh_token_ttl":100"#);
    let other = h.web_client("");
    let r = h.send(Req::new("POST", "/token").basic(&other.0, &other.1).form(&format!("grant_type=refresh_token&refresh_token={}", f.refresh)));
    assert_eq!(err(&r), "invalid_grant");
    assert_eq!(refresh(&mut h, &f, &f.refresh, "").status, 200, "the other client's try used nothing up");
    h.advance(100_000);
    let late = h.send(Req::new("POST", "/token").basic(&f.client.0, &f.client.1).form("grant_type=refresh_token&refresh_token=x"));
    assert_eq!(err(&late), "invalid_grant");
}

#[test]
fn the_family_ends_refresh_token_ttl_after_the_authorization() {
    let mut h = Harness::new();
    let f = family(&mut h, r#","refresh_token_ttl":100,"token_ttl":300"#);
    // Access tokens of the family never outlive it.
    assert_eq!(h.validate(&f.access, "10.0.0.1").body_json()["expires_in"], 100);
    h.advance(60_000);
    let (a2, r2) = tokens(&refresh(&mut h, &f, &f.refresh, ""));
    h.advance(40_000);
    assert_eq!(err(&refresh(&mut h, &f, &r2, "")), "invalid_grant");
    assert_eq!(h.validate(&a2, "10.0.0.1").status, 401);
}

#[test]
fn revoking_a_refresh_token_kills_its_family() {
    let mut h = Harness::new();
    let f = family(&mut h, "");
    let r = h.send(Req::new("POST", "/revoke").basic(&f.client.0, &f.client.1).form(&format!("token={}&token_type_hint=refresh_token", f.refresh)));
    assert_eq!(r.status, 200);
    assert_eq!(h.validate(&f.access, "10.0.0.1").status, 401);
    assert_eq!(err(&refresh(&mut h, &f, &f.refresh, "")), "invalid_grant");
}

#[test]
fn a_public_client_revokes_with_its_client_id() {
    let mut h = Harness::new();
    let f = family(&mut h, r#","client_type":"public""#);
    let r = h.send(Req::new("POST", "/revoke").form(&format!("client_id={}&token={}", f.client.0, f.refresh)));
    assert_eq!(r.status, 200);
    assert_eq!(h.validate(&f.access, "10.0.0.1").status, 401);
    // But it may not introspect: it cannot prove who it is.
    let r = h.send(Req::new("POST", "/introspect").form(&format!("client_id={}&token={}", f.client.0, f.access)));
    assert_eq!(r.status, 401);
}

#[test]
fn kills_reach_refresh_families() {
    for action in ["disable", "delete", "revoke grant", "disable client"] {
        let mut h = Harness::new();
        let f = family(&mut h, "");
        let (status, path, body) = match action {
            "disable" => (200, format!("/admin/users/{}", f.user_id), r#"{"disabled":true}"#),
            "delete" => (204, format!("/admin/users/{}", f.user_id), ""),
            "revoke grant" => (204, format!("/admin/users/{}/grants/{}", f.user_id, f.client.0), ""),
            _ => (200, format!("/admin/clients/{}", f.client.0), r#"{"disabled":true}"#),
        };
        let method = if body.is_empty() { "DELETE" } else { "PATCH" };
        assert_eq!(h.send(Req::new(method, &path).bearer(ADMIN).body(body)).status, status, "{action}");
        assert_eq!(h.validate(&f.access, "10.0.0.1").status, 401, "{action}");
        if action == "disable client" {
            h.send(Req::new("PATCH", &path).bearer(ADMIN).body(r#"{"disabled":false}"#));
        }
        assert_eq!(err(&refresh(&mut h, &f, &f.refresh, "")), "invalid_grant", "{action}: the refresh token died too");
    }
}

#[test]
fn concurrent_refreshes_with_one_token_get_one_successor() {
    // The shard runs requests one at a time; here ten in a row stand for ten at once: the
    // first rotates, the other nine are retries within the window.
    let mut h = Harness::new();
    let f = family(&mut h, "");
    let successors: Vec<String> = (0..10).map(|_| tokens(&refresh(&mut h, &f, &f.refresh, "")).1).collect();
    assert!(successors.iter().all(|s| *s == successors[0]));
    assert_eq!(refresh(&mut h, &f, &successors[0], "").status, 200, "the family lives");
}

/// Issue 24, finding 1: a family's record does not grow with its refreshes (it listed every
/// access token until `max_lifetime`, and at ~35,000 refreshes it no longer fit), so the
/// 500th refresh writes what the first did; a reuse still kills every access token it issued,
/// and the sweep takes the rows once the family has ended.
#[test]
fn a_refresh_costs_the_same_whatever_the_familys_age() {
    let mut h = Harness::new();
    let f = family(&mut h, "");
    let family_bytes = |h: &Harness| -> usize {
        let shards = h.app.objects.shards.borrow();
        shards.values().flat_map(|s| s.storage().entries.borrow().iter().filter(|(k, _)| k.starts_with("f:")).map(|(_, v)| v.len()).collect::<Vec<_>>()).sum()
    };
    let (mut access, mut current) = (vec![f.access.clone()], f.refresh.clone());
    let mut sizes = Vec::new();
    for _ in 0..500 {
        let r = refresh(&mut h, &f, &current, "");
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let (a, next) = tokens(&r);
        access.push(a);
        current = next;
        sizes.push(family_bytes(&h));
        h.advance(100);
    }
    assert_eq!(sizes[0], sizes[499], "the family record's size after the 1st and the 500th refresh");
    for t in [&access[0], &access[250], &access[500]] {
        assert_eq!(h.validate(t, "10.0.0.1").status, 200);
    }
    // Reuse of the first refresh token: all 501 access tokens die at once.
    let reuse = refresh(&mut h, &f, &f.refresh, "");
    assert_eq!((reuse.status, err(&reuse).as_str()), (400, "invalid_grant"));
    assert!(access.iter().all(|t| h.validate(t, "10.0.0.1").status == 401), "every access token of the family is dead");
    assert_eq!(h.app.objects.stored_tokens(), 0);
    let rows = |h: &Harness| h.app.objects.shards.borrow().values().map(|s| s.storage().count("m:")).sum::<usize>();
    assert_eq!(rows(&h), 0, "the kill took the rows with the tokens");
}

/// Issue 24's soak: an object's memory follows what is live, not what happened. A refresh
/// keeps the new access token and refresh token in memory, not the family's member row nor
/// the rotated token's record, and the sweep's deletions leave nothing behind.
#[test]
fn a_familys_history_does_not_stay_in_memory() {
    let mut h = Harness::new();
    let f = family(&mut h, "");
    let memory = |h: &Harness| h.app.objects.shards.borrow().values().map(|s| s.memory().0).sum::<usize>();
    let base = memory(&h);
    let mut current = f.refresh.clone();
    for _ in 0..500 {
        let r = refresh(&mut h, &f, &current, "");
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        current = tokens(&r).1;
        h.advance(100);
    }
    // 500 live access tokens (hot: each may be validated next) and the current refresh
    // token; before, also 500 member rows and 500 rotated refresh records.
    let after = memory(&h);
    assert!(after <= base + 500 + 2, "{after} keys in memory after 500 refreshes (from {base})");
    // Once the access tokens have expired and the alarm has swept them, memory is back
    // where it started.
    h.advance(3_600_000);
    block_on(h.app.objects.fire_alarms());
    let swept = memory(&h);
    assert!(swept <= base + 2, "{swept} keys in memory after the sweep (from {base})");
    assert_eq!(refresh(&mut h, &f, &current, "").status, 200, "the family lives on");
}
