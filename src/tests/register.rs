//! Dynamic client registration (RFC 7591) through the handlers: the three modes, initial
//! access tokens and their uses, the rate limit, and registered clients living like admin-made
//! ones (a code flow, the admin list, disable, delete).

use super::browser::*;
use super::*;
use crate::config::Registration;

const REG: &str = r#"{"redirect_uris":["https://app.example/cb"],"client_name":"Reg App","scope":"read"}"#;

fn harness(mode: Registration) -> Harness {
    let mut h = Harness::new();
    h.app.config.registration = mode;
    h.app.config.registration_scopes = vec!["read".into(), "write".into()];
    h
}

fn register(h: &mut Harness, body: &str, ip: &str) -> HttpResponse {
    h.send(Req::new("POST", "/register").header("content-type", "application/json").body(body).ip(Some(ip)))
}

fn register_with(h: &mut Harness, token: &str, body: &str) -> HttpResponse {
    h.send(Req::new("POST", "/register").bearer(token).body(body))
}

fn new_token(h: &mut Harness, body: &str) -> (String, String) {
    let r = h.send(Req::new("POST", "/admin/registration-tokens").bearer(ADMIN).body(body));
    assert_eq!(r.status, 201, "{}", text(&r));
    let v = r.body_json();
    (v["id"].as_str().unwrap().into(), v["token"].as_str().unwrap().into())
}

fn tokens(h: &mut Harness) -> serde_json::Value {
    let r = h.send(Req::new("GET", "/admin/registration-tokens").bearer(ADMIN));
    assert_eq!(r.status, 200);
    r.body_json()["registration_tokens"].clone()
}

fn metadata(h: &mut Harness) -> serde_json::Value {
    h.send(Req::new("GET", "/.well-known/oauth-authorization-server")).body_json()
}

#[test]
fn off_is_not_found_and_not_advertised() {
    let mut h = harness(Registration::Off);
    for method in ["POST", "GET", "PUT"] {
        let r = h.send(Req::new(method, "/register").body(REG));
        assert_eq!((r.status, err(&r).as_str()), (404, "not_found"), "{method}");
    }
    assert!(metadata(&mut h).get("registration_endpoint").is_none());
    assert!(h.app.kv.map.borrow().is_empty());
    for mode in [Registration::Open, Registration::Token] {
        let mut h = harness(mode);
        assert_eq!(metadata(&mut h)["registration_endpoint"], "https://auth.test/register");
        let r = h.send(Req::new("GET", "/register"));
        assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    }
}

#[test]
fn open_registration_makes_a_public_client_that_completes_a_code_flow() {
    let mut h = harness(Registration::Open);
    let r = register(&mut h, REG, "10.0.0.1");
    assert_eq!(r.status, 201, "{}", text(&r));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = r.body_json();
    let cid = v["client_id"].as_str().unwrap().to_string();
    assert_eq!(v["client_id_issued_at"].as_u64(), Some(T0 / 1000));
    assert!(v.get("client_secret").is_none() && v.get("client_secret_expires_at").is_none());
    assert_eq!((v["token_endpoint_auth_method"].as_str(), v["scope"].as_str(), v["client_name"].as_str()), (Some("none"), Some("read"), Some("Reg App")));

    let listed = h.send(Req::new("GET", &format!("/admin/clients/{cid}")).bearer(ADMIN)).body_json();
    assert_eq!((listed["registered"].as_bool(), listed["client_type"].as_str()), (Some(true), Some("public")));
    let all = h.send(Req::new("GET", "/admin/clients").bearer(ADMIN)).body_json();
    assert_eq!(all["clients"][0]["registered"], true);

    h.user("rita", "correct horse");
    let mut b = Browser::new();
    let code = code_for(&mut h, &mut b, &cid, ("rita", "correct horse"));
    let t = redeem(&mut h, &cid, &code);
    assert_eq!(t.status, 200, "{}", text(&t));
    let t = t.body_json();
    assert_eq!(t["scope"], "read", "only the registered scope");
    assert!(t["refresh_token"].is_string());
}

#[test]
fn a_confidential_registration_gets_a_secret_that_authenticates_until_disabled_or_deleted() {
    let mut h = harness(Registration::Open);
    let body = r#"{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"client_secret_basic","grant_types":["authorization_code"]}"#;
    let v = register(&mut h, body, "10.0.0.1").body_json();
    let (cid, secret) = (v["client_id"].as_str().unwrap().to_string(), v["client_secret"].as_str().unwrap().to_string());
    assert_eq!(secret.len(), 43);
    assert_eq!(v["client_secret_expires_at"], 0);
    assert_eq!(v["grant_types"], json!(["authorization_code"]));
    let introspect = |h: &mut Harness, s: &str| h.send(Req::new("POST", "/introspect").form("token=nothing").basic(&cid, s));
    assert_eq!(introspect(&mut h, &secret).body_json(), json!({"active": false}));
    assert_eq!(err(&introspect(&mut h, "wrong")), "invalid_client");
    // The code flow with Basic, and no refresh token (not registered).
    h.user("carl", "correct horse");
    let mut b = Browser::new();
    let code = code_for(&mut h, &mut b, &cid, ("carl", "correct horse"));
    let t = redeem_basic(&mut h, &(cid.clone(), secret.clone()), &code);
    assert!(t.get("refresh_token").is_none());

    let r = h.send(Req::new("PATCH", &format!("/admin/clients/{cid}")).bearer(ADMIN).body(r#"{"disabled":true}"#));
    assert_eq!((r.status, r.body_json()["registered"].as_bool()), (200, Some(true)));
    assert_eq!(introspect(&mut h, &secret).status, 401);
    assert_eq!(h.validate(t["access_token"].as_str().unwrap(), "10.0.0.1").status, 401);
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/clients/{cid}")).bearer(ADMIN)).status, 204);
    assert_eq!(h.send(Req::new("GET", &format!("/admin/clients/{cid}")).bearer(ADMIN)).status, 404);
}

#[test]
fn a_refused_registration_stores_nothing() {
    let mut h = harness(Registration::Open);
    for (body, code) in [
        (r#"{"redirect_uris":["http://evil.example/cb"]}"#, "invalid_redirect_uri"),
        (r#"{"redirect_uris":["https://app.example/cb"],"scope":"admin"}"#, "invalid_client_metadata"),
        ("nope", "invalid_client_metadata"),
    ] {
        let r = register(&mut h, body, "10.0.0.1");
        assert_eq!((r.status, err(&r).as_str()), (400, code), "{body}");
        assert!(r.body_json()["error_description"].is_string());
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    let r = h.send(Req::new("POST", "/register").body(vec![b' '; 9000]));
    assert_eq!(r.status, 400);
    let mut r = Req::new("POST", "/register");
    r.0.body = Body::TooLarge;
    assert_eq!(err(&h.send(r)), "invalid_client_metadata");
    assert!(h.app.kv.map.borrow().is_empty());
    assert_eq!(h.app.objects.shards.borrow().len(), 0, "no counter, no object");
}

#[test]
fn the_eleventh_registration_from_one_address_in_a_minute_is_429() {
    let mut h = harness(Registration::Open);
    // Refused requests are not counted.
    for _ in 0..5 {
        assert_eq!(register(&mut h, "{}", "10.9.9.9").status, 400);
    }
    for i in 0..10 {
        assert_eq!(register(&mut h, REG, "10.9.9.9").status, 201, "registration {}", i + 1);
    }
    let r = register(&mut h, REG, "10.9.9.9");
    assert_eq!(r.status, 429);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=120).contains(&retry), "{retry}");
    assert_eq!(register(&mut h, REG, "10.8.8.8").status, 201, "another address");
    h.advance(retry * 1000);
    assert_eq!(register(&mut h, REG, "10.9.9.9").status, 201, "after Retry-After");
    assert_eq!(h.app.kv.map.borrow().len(), 12);
}

#[test]
fn token_mode_needs_a_live_initial_access_token() {
    let mut h = harness(Registration::Token);
    let r = h.send(Req::new("POST", "/register").body(REG));
    assert_eq!((r.status, r.header("www-authenticate")), (401, Some("Bearer realm=\"edge-oauth\"")));
    let r = h.send(Req::new("POST", "/register").basic("a", "b").body(REG));
    assert_eq!((r.status, r.header("www-authenticate")), (401, Some("Bearer realm=\"edge-oauth\"")));
    let invalid = Some("Bearer realm=\"edge-oauth\", error=\"invalid_token\"");
    for bad in ["unknown-token", "a b"] {
        let r = h.send(Req::new("POST", "/register").header("authorization", &format!("Bearer {bad}")).body(REG));
        assert_eq!((r.status, r.header("www-authenticate")), (401, invalid), "{bad}");
    }

    let (id, token) = new_token(&mut h, "");
    assert_eq!(tokens(&mut h), json!([{"id": id, "created_at": T0, "expires_at": T0 + 86_400_000, "max_uses": 1, "uses": 0}]));
    // A 400 uses nothing; nor does a missing or wrong token.
    assert_eq!(register_with(&mut h, &token, r#"{"redirect_uris":["ftp://x"]}"#).status, 400);
    assert_eq!(tokens(&mut h)[0]["uses"], 0);
    let r = register_with(&mut h, &token, REG);
    assert_eq!(r.status, 201, "{}", text(&r));
    assert_eq!(tokens(&mut h)[0]["uses"], 1);
    let r = register_with(&mut h, &token, REG);
    assert_eq!((r.status, r.header("www-authenticate")), (401, invalid), "used up");
    assert_eq!(h.app.kv.map.borrow().len(), 1);

    // Several uses, then expiry.
    let (_, three) = new_token(&mut h, r#"{"max_uses":3,"expires_in":60}"#);
    for _ in 0..3 {
        assert_eq!(register_with(&mut h, &three, REG).status, 201);
    }
    assert_eq!(register_with(&mut h, &three, REG).status, 401);
    let (_, short) = new_token(&mut h, r#"{"max_uses":5,"expires_in":60}"#);
    h.advance(59_999);
    assert_eq!(register_with(&mut h, &short, REG).status, 201);
    h.advance(1);
    assert_eq!(register_with(&mut h, &short, REG).status, 401, "expired");
    // The expired ones are gone from the list; the used-up first one is still listed.
    let listed = tokens(&mut h);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!((listed[0]["id"].as_str(), listed[0]["uses"].as_u64()), (Some(id.as_str()), Some(1)));
}

#[test]
fn initial_access_tokens_are_stored_by_hash_and_can_be_deleted() {
    let mut h = harness(Registration::Token);
    let (id, token) = new_token(&mut h, r#"{"max_uses":2}"#);
    let stored: String = h.app.objects.shard("registration-tokens").storage().entries.borrow().iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert!(!stored.contains(&token), "the value is never stored");
    assert!(stored.contains(crate::secret::SecretHash::of(&token).as_str()));
    let listed = h.send(Req::new("GET", "/admin/registration-tokens").bearer(ADMIN));
    assert!(!text(&listed).contains(&token));

    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/registration-tokens/{id}")).bearer(ADMIN)).status, 204);
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/registration-tokens/{id}")).bearer(ADMIN)).status, 404);
    assert_eq!(register_with(&mut h, &token, REG).status, 401, "a deleted token is unknown");
    assert_eq!(tokens(&mut h), json!([]));

    // Oldest first, as every admin list.
    let (b, _) = new_token(&mut h, "");
    h.advance(1);
    let (c, _) = new_token(&mut h, "");
    let ids: Vec<String> = tokens(&mut h).as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, [b, c]);

    // The admin API's conventions.
    assert_eq!(h.send(Req::new("GET", "/admin/registration-tokens")).status, 401);
    let r = h.send(Req::new("POST", "/admin/registration-tokens").bearer(ADMIN).body(r#"{"max_uses":0}"#));
    assert_eq!((r.status, r.body_json()["field"].as_str()), (400, Some("max_uses")));
    assert_eq!(h.send(Req::new("GET", &format!("/admin/registration-tokens/{id}")).bearer(ADMIN)).status, 405);
    h.app.config.admin_token = None;
    assert_eq!(h.send(Req::new("GET", "/admin/registration-tokens")).status, 404);
}

#[test]
fn a_store_failure_gives_the_use_back() {
    let mut h = harness(Registration::Token);
    let (_, token) = new_token(&mut h, "");
    h.app.kv.faults.fail_next(1);
    let r = register_with(&mut h, &token, REG);
    assert_eq!(r.status, 503);
    assert_eq!(tokens(&mut h)[0]["uses"], 0);
    assert_eq!(register_with(&mut h, &token, REG).status, 201);
}

#[test]
fn a_client_registered_without_a_name_is_shown_by_its_redirect_host() {
    let mut h = harness(Registration::Open);
    let v = register(&mut h, r#"{"redirect_uris":["https://app.example/cb"],"scope":"read"}"#, "10.0.0.1").body_json();
    assert!(v.get("client_name").is_none(), "nothing registered, nothing echoed");
    let cid = v["client_id"].as_str().unwrap().to_string();
    h.user("nina", "correct horse");
    let mut b = Browser::new();
    let url = authorize_url(&cid, "&scope=read");
    sign_in(&mut h, &mut b, &url, "nina", "correct horse");
    let consent = text(&b.send(&mut h, Req::new("GET", &url)));
    assert!(consent.contains("<b>app.example</b> wants to access your account"), "{consent}");
}

/// RFC 8707 for a registered client: its resources are the worker's `RESOURCES`, and the
/// admin API cannot give it others.
#[test]
fn a_registered_client_may_name_the_workers_resources_only() {
    let mut h = harness(Registration::Open);
    h.app.config.resources = vec!["https://mcp.example/mcp".into()];
    let cid = register(&mut h, REG, "10.0.0.1").body_json()["client_id"].as_str().unwrap().to_string();
    let res = |r: &str| format!("&resource={}", crate::form::encode_component(r));
    h.user("rita", "correct horse");
    let mut b = Browser::new();
    sign_in(&mut h, &mut b, &authorize_url(&cid, ""), "rita", "correct horse");
    let bad = b.send(&mut h, Req::new("GET", &authorize_url(&cid, &res("https://other.example"))));
    assert_eq!((bad.status, redirect_query(&bad)["error"].as_str()), (302, "invalid_target"));
    let good = approve(&mut h, &mut b, &authorize_url(&cid, &res("https://mcp.example/mcp")), "approve");
    assert_eq!(good.status, 302, "{}", text(&good));
    let patch = h.send(Req::new("PATCH", &format!("/admin/clients/{cid}")).bearer(ADMIN).body(r#"{"resources":["https://other.example"]}"#));
    assert_eq!((patch.status, patch.body_json()["field"].as_str()), (400, Some("resources")), "{}", text(&patch));
}

#[test]
fn a_repeated_key_is_invalid_client_metadata_and_registers_nothing() {
    let mut h = harness(Registration::Open);
    let body = r#"{"redirect_uris":["https://app.example/cb"],"client_name":"A","client_name":"B"}"#;
    let r = register(&mut h, body, "10.0.0.9");
    assert_eq!((r.status, err(&r).as_str()), (400, "invalid_client_metadata"), "{}", text(&r));
    assert!(r.body_json()["error_description"].as_str().unwrap().contains("\"client_name\" appears twice"), "{}", text(&r));
    assert!(h.app.kv.map.borrow().keys().all(|k| !k.starts_with("client:")), "nothing registered");
}
