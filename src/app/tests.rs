//! Handler tests against the in-memory stores: every endpoint, every error, and the
//! consistency rules, natively and fast.

use super::*;
use crate::limits::Limits;
use crate::block_on;
use crate::http::Body;
use crate::secret::testing::CounterRng;
use crate::store::memory::{MemClients, MemShards};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const ADMIN: &str = "admin-secret";
const T0: u64 = 1_700_000_000_000;

struct Harness {
    app: App<MemClients, MemShards>,
    rng: CounterRng,
    now: u64,
}

struct Req {
    method: &'static str,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Body,
    ip: Option<String>,
}

impl Req {
    fn new(method: &'static str, path: &str) -> Req {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        Req { method, path: path.into(), query: query.into(), headers: vec![], body: Body::Bytes(vec![]), ip: Some("10.0.0.1".into()) }
    }
    fn header(mut self, n: &str, v: &str) -> Req {
        self.headers.push((n.to_ascii_lowercase(), v.to_string()));
        self
    }
    fn form(self, body: &str) -> Req {
        self.header("content-type", "application/x-www-form-urlencoded").body(body)
    }
    fn body(mut self, body: &str) -> Req {
        self.body = Body::Bytes(body.as_bytes().to_vec());
        self
    }
    fn basic(self, id: &str, secret: &str) -> Req {
        let v = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
        self.header("authorization", &v)
    }
    fn bearer(self, t: &str) -> Req {
        self.header("authorization", &format!("Bearer {t}"))
    }
    fn ip(mut self, ip: Option<&str>) -> Req {
        self.ip = ip.map(str::to_string);
        self
    }
}

impl Harness {
    fn new() -> Harness {
        // No isolate cache by default, so that tests which plant a stale KV record see it.
        let config = Config { admin_token: Some(AdminToken::new(ADMIN)), client_cache_ms: 0, ..Config::default() };
        let app = App::new(MemClients::default(), MemShards::default(), config, Default::default());
        let h = Harness { app, rng: CounterRng(0), now: T0 };
        h.app.shards.now_ms.set(T0);
        h
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.app.shards.now_ms.set(self.now);
    }

    fn send(&mut self, r: Req) -> HttpResponse {
        let req = HttpRequest {
            method: r.method.into(),
            path: r.path,
            query: r.query,
            headers: r.headers,
            body: r.body,
            client_ip: r.ip,
            origin: "https://auth.test".into(),
        };
        block_on(self.app.handle(&req, self.now, &mut self.rng))
    }

    fn create(&mut self, json: &str) -> (String, String) {
        let r = self.send(Req::new("POST", "/admin/clients").bearer(ADMIN).body(json));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let v = r.body_json();
        (v["client_id"].as_str().unwrap().into(), v["client_secret"].as_str().unwrap().into())
    }

    fn token(&mut self, id: &str, secret: &str) -> String {
        let r = self.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(id, secret));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.body_json()["access_token"].as_str().unwrap().to_string()
    }

    fn validate(&mut self, token: &str, ip: &str) -> HttpResponse {
        self.send(Req::new("GET", "/validate").bearer(token).ip(Some(ip)))
    }
}

fn err(r: &HttpResponse) -> String {
    r.body_json()["error"].as_str().unwrap_or("").to_string()
}

#[test]
fn token_with_basic_and_post() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","scopes":["read","write"]}"#);
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.body_json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 300);
    assert_eq!(v["issued_at"], T0);
    assert_eq!(v["scope"], "read write");
    assert!(v.get("refresh_token").is_none());
    assert!(v["access_token"].as_str().unwrap().len() >= 43);

    let body = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=read");
    let r = h.send(Req::new("POST", "/token").form(&body));
    assert_eq!(r.status, 200);
    assert_eq!(r.body_json()["scope"], "read");
    assert_eq!(h.app.shards.stored_tokens(), 2);
}

#[test]
fn no_plaintext_token_is_stored() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc"}"#);
    let t = h.token(&id, &secret);
    let secret_part = t.split_once('.').unwrap().1;
    let mut stored = 0;
    for s in h.app.shards.shards.borrow().values() {
        let dump = format!("{:?}", s.entries.borrow());
        assert!(!dump.contains(secret_part));
        assert!(!dump.contains(&t));
        stored += s.token_count();
    }
    assert_eq!(stored, 1);
    let kv = format!("{:?}", h.app.clients.map.borrow());
    assert!(!kv.contains(&secret), "the client secret is not in KV");
}

#[test]
fn token_errors() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","scopes":["read"]}"#);
    let ok = "grant_type=client_credentials";
    let cases: Vec<(Req, u16, &str)> = vec![
        (Req::new("GET", "/token").basic(&id, &secret), 405, "method_not_allowed"),
        (Req::new("POST", "/token").basic(&id, &secret).body(ok), 400, "invalid_request"),
        (Req::new("POST", "/token").basic(&id, &secret).header("content-type", "application/json").body(ok), 400, "invalid_request"),
        (Req::new("POST", "/token").basic(&id, &secret).form(""), 400, "invalid_request"),
        (Req::new("POST", "/token").basic(&id, &secret).form("grant_type="), 400, "invalid_request"),
        (Req::new("POST", "/token").basic(&id, &secret).form("grant_type=client_credentials&grant_type=client_credentials"), 400, "invalid_request"),
        (Req::new("POST", "/token").basic(&id, &secret).form("grant_type=password"), 400, "unsupported_grant_type"),
        (Req::new("POST", "/token").basic(&id, &secret).form("grant_type=client_credentials&scope=write"), 400, "invalid_scope"),
        (Req::new("POST", "/token").basic(&id, &secret).form("grant_type=client_credentials&scope=a&scope=b"), 400, "invalid_request"),
        (Req::new("POST", "/token").basic(&id, "wrong").form(ok), 401, "invalid_client"),
        (Req::new("POST", "/token").basic("nobody", "wrong").form(ok), 401, "invalid_client"),
        (Req::new("POST", "/token").form(ok), 401, "invalid_client"),
        (Req::new("POST", &format!("/token?client_secret={secret}")).basic(&id, &secret).form(ok), 400, "invalid_request"),
        (Req::new("POST", "/token").basic(&id, &secret).form(&format!("{ok}&client_secret={secret}")), 400, "invalid_request"),
        (Req::new("POST", "/token").basic(&id, &secret).header("content-type", "application/x-www-form-urlencoded").body(ok).header("content-type", "x"), 200, ""),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let r = h.send(req);
        assert_eq!((r.status, err(&r).as_str()), (status, code), "case {i}: {}", String::from_utf8_lossy(&r.body));
        if status != 200 {
            assert_eq!(r.header("cache-control"), Some("no-store"), "case {i}");
        }
    }
    // A body over the limit.
    let mut req = Req::new("POST", "/token").basic(&id, &secret).form(ok);
    req.body = Body::TooLarge;
    assert_eq!(err(&h.send(req)), "invalid_request");
    // Charset is allowed, others are not.
    let r = h.send(Req::new("POST", "/token").basic(&id, &secret).header("content-type", "application/x-www-form-urlencoded; charset=UTF-8").body(ok));
    assert_eq!(r.status, 200);
    let r = h.send(Req::new("POST", "/token").basic(&id, &secret).header("content-type", "application/x-www-form-urlencoded; charset=latin1").body(ok));
    assert_eq!(r.status, 400);
    assert_eq!(h.app.shards.stored_tokens(), 2, "only the successful requests stored a token");
}

#[test]
fn unknown_client_and_wrong_secret_are_identical() {
    let mut h = Harness::new();
    let (id, _) = h.create(r#"{"name":"svc"}"#);
    let a = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, "wrong"));
    let b = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic("nobody", "wrong"));
    assert_eq!(a, b);
    assert_eq!(a.header("www-authenticate"), Some("Basic realm=\"edge-oauth\""));
    let a = h.send(Req::new("POST", "/token").form(&format!("grant_type=client_credentials&client_id={id}&client_secret=x")));
    let b = h.send(Req::new("POST", "/token").form("grant_type=client_credentials&client_id=nobody&client_secret=x"));
    assert_eq!(a, b);
    assert_eq!(a.status, 401);
    assert_eq!(a.header("www-authenticate"), None, "post authentication gets no Basic challenge");
}

#[test]
fn unauthorized_client_when_grant_not_allowed() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"keys-only","grant_types":[],"api_key":true}"#);
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!((r.status, err(&r).as_str()), (400, "unauthorized_client"));
}

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
    assert_eq!(h.app.shards.stored_tokens(), 0, "an expired token is deleted when read");
}

#[test]
fn unused_sliding_token_dies_and_alarm_deletes_it() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","token_ttl":5}"#);
    let t = h.token(&id, &secret);
    h.advance(4_999);
    assert_eq!(h.app.shards.stored_tokens(), 1);
    assert_eq!(block_on(h.app.shards.fire_alarms()), 0);
    h.advance(1);
    assert_eq!(block_on(h.app.shards.fire_alarms()), 1);
    assert_eq!(h.app.shards.stored_tokens(), 0);
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
    assert_eq!(block_on(h.app.shards.fire_alarms()), 0, "the early alarm finds the slid token live");
    h.advance(2_999);
    assert_eq!(h.validate(&t, "10.0.0.1").status, 200);
    h.advance(5_000);
    block_on(h.app.shards.fire_alarms());
    assert_eq!(h.app.shards.stored_tokens(), 0);
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
    let stale = h.app.clients.map.borrow().clone();
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 204);
    *h.app.clients.map.borrow_mut() = stale;
    assert_eq!(h.send(Req::new("GET", &format!("/validate?key={id}"))).status, 401);
}

#[test]
fn revocation_and_client_changes_take_effect_at_once_even_with_stale_kv() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc"}"#);
    let (other, other_secret) = h.create(r#"{"name":"other"}"#);
    let t1 = h.token(&id, &secret);
    let t2 = h.token(&id, &secret);

    // Another client cannot revoke it (and gets the same 200).
    let r = h.send(Req::new("POST", "/revoke").form(&format!("token={t1}")).basic(&other, &other_secret));
    assert_eq!(r.status, 200);
    assert_eq!(h.validate(&t1, "10.0.0.1").status, 200);
    // Its owner can.
    let r = h.send(Req::new("POST", "/revoke").form(&format!("token={t1}")).basic(&id, &secret));
    assert_eq!(r.status, 200);
    assert_eq!(h.validate(&t1, "10.0.0.1").status, 401);
    // Unknown tokens: 200 as well (RFC 7009 §2.2).
    assert_eq!(h.send(Req::new("POST", "/revoke").form("token=zzz").basic(&id, &secret)).status, 200);

    // Disable with a stale KV: the token dies, and no new token is minted from the stale record.
    let stale = h.app.clients.map.borrow().clone();
    let r = h.send(Req::new("PATCH", &format!("/admin/clients/{id}")).bearer(ADMIN).body(r#"{"disabled":true}"#));
    assert_eq!(r.status, 200);
    assert_eq!(r.body_json()["disabled"], true);
    assert_eq!(h.validate(&t2, "10.0.0.1").status, 401);
    *h.app.clients.map.borrow_mut() = stale.clone();
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!((r.status, err(&r).as_str()), (401, "invalid_client"));

    // Re-enable: new tokens work; the old one stays dead.
    let r = h.send(Req::new("PATCH", &format!("/admin/clients/{id}")).bearer(ADMIN).body(r#"{"disabled":false}"#));
    assert_eq!(r.status, 200);
    let t3 = h.token(&id, &secret);
    assert_eq!(h.validate(&t3, "10.0.0.1").status, 200);
    assert_eq!(h.validate(&t2, "10.0.0.1").status, 401);

    // Delete with a stale KV.
    let stale = h.app.clients.map.borrow().clone();
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 204);
    assert_eq!(h.validate(&t3, "10.0.0.1").status, 401);
    *h.app.clients.map.borrow_mut() = stale;
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!(r.status, 401);
    assert_eq!(h.app.shards.stored_tokens(), 0);
}

#[test]
fn rotation_with_and_without_grace() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","token_ttl":3600}"#);
    let old_token = h.token(&id, &secret);
    let r = h.send(Req::new("POST", &format!("/admin/clients/{id}/secret")).bearer(ADMIN).body(r#"{"grace":60}"#));
    assert_eq!(r.status, 201);
    let new_secret = r.body_json()["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    // During grace: old secret and its tokens work, so does the new one.
    assert_eq!(h.validate(&old_token, "10.0.0.1").status, 200);
    let during = h.token(&id, &secret);
    let fresh = h.token(&id, &new_secret);
    h.advance(60_000);
    assert_eq!(h.validate(&old_token, "10.0.0.1").status, 401, "grace over");
    assert_eq!(h.validate(&during, "10.0.0.1").status, 401);
    assert_eq!(h.validate(&fresh, "10.0.0.1").status, 200);
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!(r.status, 401);

    // No grace, with a stale KV that still has the old secret: nothing old works.
    let stale = h.app.clients.map.borrow().clone();
    let r = h.send(Req::new("POST", &format!("/admin/clients/{id}/secret")).bearer(ADMIN));
    assert_eq!(r.status, 201);
    let newest = r.body_json()["client_secret"].as_str().unwrap().to_string();
    assert_eq!(h.validate(&fresh, "10.0.0.1").status, 401);
    *h.app.clients.map.borrow_mut() = stale;
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &new_secret));
    assert_eq!(r.status, 401, "a stale KV read cannot mint a token with the rotated-away secret");
    h.app.clients.map.borrow_mut().clear();
    let _ = newest;
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
fn metadata() {
    let mut h = Harness::new();
    let r = h.send(Req::new("GET", "/.well-known/oauth-authorization-server"));
    assert_eq!(r.status, 200);
    let v = r.body_json();
    assert_eq!(v["issuer"], "https://auth.test");
    assert_eq!(v["token_endpoint"], "https://auth.test/token");
    assert_eq!(v["grant_types_supported"], json!(["client_credentials"]));
    assert_eq!(v["token_endpoint_auth_methods_supported"], json!(["client_secret_basic", "client_secret_post"]));
    assert_eq!(h.send(Req::new("POST", "/.well-known/oauth-authorization-server")).status, 405);
}

#[test]
fn admin_api() {
    let mut h = Harness::new();
    assert_eq!(h.send(Req::new("GET", "/admin/clients")).status, 401);
    assert_eq!(h.send(Req::new("GET", "/admin/clients").bearer("wrong")).status, 401);
    let (id, secret) = h.create(r#"{"name":"svc","scopes":["a"]}"#);
    let r = h.send(Req::new("GET", "/admin/clients").bearer(ADMIN));
    assert_eq!(r.status, 200);
    let text = String::from_utf8_lossy(&r.body).to_string();
    assert!(text.contains(&id) && !text.contains(&secret) && !text.contains("secret"));
    let r = h.send(Req::new("GET", &format!("/admin/clients/{id}")).bearer(ADMIN));
    assert_eq!(r.body_json()["scopes"], json!(["a"]));
    assert!(!String::from_utf8_lossy(&r.body).contains("secret"));
    let r = h.send(Req::new("PATCH", &format!("/admin/clients/{id}")).bearer(ADMIN).body(r#"{"token_ttl":"x"}"#));
    assert_eq!((r.status, r.body_json()["field"].clone()), (400, json!("token_ttl")));
    let before = h.app.clients.map.borrow().clone();
    let r = h.send(Req::new("PATCH", &format!("/admin/clients/{id}")).bearer(ADMIN).body(r#"{"token_ttl":60,"bogus":1}"#));
    assert_eq!(r.status, 400);
    assert_eq!(*h.app.clients.map.borrow(), before, "a rejected patch changes nothing");
    let r = h.send(Req::new("PATCH", &format!("/admin/clients/{id}")).bearer(ADMIN).body(r#"{"token_ttl":60}"#));
    assert_eq!(r.body_json()["token_ttl"], 60);
    assert_eq!(h.send(Req::new("GET", "/admin/clients/nope").bearer(ADMIN)).status, 404);
    assert_eq!(h.send(Req::new("PATCH", "/admin/clients/nope").bearer(ADMIN).body("{}")).status, 404);
    assert_eq!(h.send(Req::new("DELETE", "/admin/clients/nope").bearer(ADMIN)).status, 404);
    assert_eq!(h.send(Req::new("POST", "/admin/clients/nope/secret").bearer(ADMIN)).status, 404);
    assert_eq!(h.send(Req::new("PUT", "/admin/clients").bearer(ADMIN)).status, 405);
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 204);
    assert_eq!(h.send(Req::new("GET", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 404);
}

#[test]
fn admin_absent_without_admin_token() {
    let mut h = Harness::new();
    h.app.config.admin_token = None;
    let r = h.send(Req::new("GET", "/admin/clients").bearer(ADMIN));
    assert_eq!(r.status, 404);
}

#[test]
fn storage_faults_give_503_and_change_nothing() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc"}"#);
    h.app.clients.faults.fail_next(1);
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!((r.status, err(&r).as_str()), (503, "temporarily_unavailable"));
    assert!(r.log.is_some() && !String::from_utf8_lossy(&r.body).contains("injected"));
    h.app.shards.faults.fail_next(1);
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!(r.status, 503);
    assert_eq!(h.app.shards.stored_tokens(), 0);
    let t = h.token(&id, &secret);
    h.app.shards.faults.fail_next(1);
    assert_eq!(h.validate(&t, "10.0.0.1").status, 503);
    assert_eq!(h.validate(&t, "10.0.0.1").status, 200, "the token survived the fault");
    // A failed delete (shard fault) leaves the KV record in place, and a retry completes it.
    h.app.shards.faults.fail_next(1);
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 503);
    assert_eq!(h.send(Req::new("GET", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 200);
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 204);
    // A failed create stores nothing.
    let n = h.app.clients.map.borrow().len();
    h.app.clients.faults.fail_next(1);
    assert_eq!(h.send(Req::new("POST", "/admin/clients").bearer(ADMIN).body(r#"{"name":"x"}"#)).status, 503);
    assert_eq!(h.app.clients.map.borrow().len(), n);
}

#[test]
fn unknown_paths() {
    let mut h = Harness::new();
    assert_eq!(h.send(Req::new("GET", "/nope")).status, 404);
    assert_eq!(h.send(Req::new("POST", "/token/").form("grant_type=client_credentials")).status, 401, "/token/ is /token");
}

#[test]
fn brute_force_blocks_the_address_not_the_client() {
    let mut h = Harness::new();
    h.app.config.limits = Limits { failures_per_ip: 3, failures_per_client: 1000, failure_window_ms: 60_000, rate_window_ms: 60_000 };
    let (id, secret) = h.create(r#"{"name":"svc"}"#);
    let attempt = |h: &mut Harness, secret: &str, ip: &str| {
        h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, secret).ip(Some(ip)))
    };
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
    assert!(!h.app.shards.shards.borrow().contains_key("no-such-id/0"));
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

#[test]
fn isolate_cache_saves_kv_reads_and_gates_still_decide() {
    let mut h = Harness::new();
    h.app.config.client_cache_ms = 5_000;
    let (id, secret) = h.create(r#"{"name":"svc"}"#);
    h.token(&id, &secret);
    // With the record cached, a KV outage does not stop issuance...
    h.app.clients.faults.fail_next(1);
    assert_eq!(h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret)).status, 200);
    h.app.clients.faults.fail_next(0);
    // ...and a deletion made elsewhere (KV and gates changed behind this isolate's back) is
    // still enforced by the gates although the cache holds the old record.
    let t = h.token(&id, &secret);
    block_on(h.app.shards.call(&id, 0, &Command::Gate { change: GateChange::Delete })).unwrap();
    for shard in 1..SHARDS {
        block_on(h.app.shards.call(&id, shard, &Command::Gate { change: GateChange::Delete })).unwrap();
    }
    h.app.clients.map.borrow_mut().clear();
    assert_eq!(h.validate(&t, "10.0.0.1").status, 401);
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!(r.status, 401);
}
