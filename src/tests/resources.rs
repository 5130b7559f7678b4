//! Resource indicators (RFC 8707) through the handlers: `/authorize` → consent → code →
//! `/token` → refresh, client credentials, the device grant, and `/validate?resource=` and
//! `/introspect` showing `aud`.

use super::browser::*;
use super::*;
use crate::form::encode_component;

const API: &str = "https://api.example.com";
const MCP: &str = "https://mcp.example.com/mcp";

fn res(r: &str) -> String {
    format!("&resource={}", encode_component(r))
}

/// A client credentials token from 10.0.0.1, named no resource.
fn cc_token(h: &mut Harness, id: &str, secret: &str) -> String {
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(id, secret).ip(Some("10.0.0.1")));
    r.body_json()["access_token"].as_str().unwrap().to_string()
}

fn at(h: &mut Harness, token: &str, resource: &str) -> HttpResponse {
    h.send(Req::new("GET", &format!("/validate?resource={}", encode_component(resource))).bearer(token).ip(Some("10.0.0.1")))
}

#[test]
fn a_code_flow_binds_tokens_to_the_resources_named() {
    let mut h = Harness::new();
    h.user("alice", "correct horse");
    let client = h.web_client(&format!(r#","resources":["{API}/","{MCP}"]"#));
    let mut b = Browser::new();
    let url = authorize_url(&client.0, &res(API));
    sign_in(&mut h, &mut b, &url, "alice", "correct horse");
    let consent = b.send(&mut h, Req::new("GET", &url));
    assert!(text(&consent).contains("api.example.com") && !text(&consent).contains("mcp.example.com"), "the consent page names the resource's host");
    let r = approve(&mut h, &mut b, &url, "approve");
    let code = redirect_query(&r)["code"].clone();

    // A resource not authorized at /authorize: invalid_target, and the code stays good.
    let body = |extra: &str| format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}{extra}");
    let refused = h.send(Req::new("POST", "/token").form(&body(&res(MCP))).basic(&client.0, &client.1));
    assert_eq!((refused.status, err(&refused)), (400, "invalid_target".into()));
    let t = h.send(Req::new("POST", "/token").form(&body(&res(API))).basic(&client.0, &client.1));
    assert_eq!(t.status, 200, "{}", text(&t));
    let v = t.body_json();
    let access = v["access_token"].as_str().unwrap().to_string();

    // /validate shows aud in the registered form, and refuses the token elsewhere.
    let ok = at(&mut h, &access, API);
    assert_eq!((ok.status, ok.body_json()["aud"].clone()), (200, json!([format!("{API}/")])));
    assert_eq!(at(&mut h, &access, &format!("{API}/")).status, 200);
    let elsewhere = at(&mut h, &access, MCP);
    assert_eq!((elsewhere.status, err(&elsewhere)), (401, "invalid_token".into()));
    let own = h.send(Req::new("POST", "/introspect").form(&format!("token={access}")).basic(&client.0, &client.1));
    assert_eq!(own.body_json()["aud"], json!([format!("{API}/")]));

    // Refresh: within what /authorize named, never beyond.
    let rt = v["refresh_token"].as_str().unwrap().to_string();
    let wider = h.send(Req::new("POST", "/token").form(&format!("grant_type=refresh_token&refresh_token={rt}{}", res(MCP))).basic(&client.0, &client.1));
    assert_eq!((wider.status, err(&wider)), (400, "invalid_target".into()));
    let r2 = h.send(Req::new("POST", "/token").form(&format!("grant_type=refresh_token&refresh_token={rt}")).basic(&client.0, &client.1));
    assert_eq!(r2.status, 200, "the refused refresh used nothing up: {}", text(&r2));
    let a2 = r2.body_json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(at(&mut h, &a2, API).body_json()["aud"], json!([format!("{API}/")]));

    // Without `resource`, /authorize authorizes all of the client's resources.
    let all = code_for(&mut h, &mut b, &client.0, ("alice", "correct horse"));
    let t = redeem_basic(&mut h, &client, &all);
    let who = at(&mut h, t["access_token"].as_str().unwrap(), MCP).body_json();
    assert_eq!(who["aud"], json!([format!("{API}/"), MCP]));

    // A resource the client does not have: back to the client with invalid_target.
    let bad = b.send(&mut h, Req::new("GET", &authorize_url(&client.0, &res("https://evil.example"))));
    assert_eq!((bad.status, redirect_query(&bad)["error"].as_str()), (302, "invalid_target"));
}

#[test]
fn client_credentials_and_the_device_grant_name_resources_too() {
    let mut h = Harness::new();
    let (id, secret) = h.create(&format!(r#"{{"name":"m2m","scopes":["read"],"resources":["{API}"]}}"#));
    let token = |h: &mut Harness, extra: &str| {
        h.send(Req::new("POST", "/token").form(&format!("grant_type=client_credentials{extra}")).basic(&id, &secret).ip(Some("10.0.0.1")))
    };
    let bound = token(&mut h, &res(&format!("{API}/"))).body_json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(at(&mut h, &bound, API).body_json()["aud"], json!([API]));
    assert_eq!(at(&mut h, &bound, MCP).status, 401);
    // None named: not bound, so good only at its client's own resources.
    let unbound = token(&mut h, "").body_json()["access_token"].as_str().unwrap().to_string();
    let plain = h.validate(&unbound, "10.0.0.1");
    assert_eq!((plain.status, plain.body_json().get("aud").is_none()), (200, true));
    assert_eq!(at(&mut h, &unbound, API).status, 200);
    assert_eq!(at(&mut h, &unbound, MCP).status, 401);
    let refused = token(&mut h, &res(MCP));
    assert_eq!((refused.status, err(&refused)), (400, "invalid_target".into()));

    let (device, _) = h.web_client(&format!(
        r#","client_type":"public","grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"redirect_uris":[],"resources":["{API}"]"#
    ));
    let r = h.send(Req::new("POST", "/device_authorization").form(&format!("client_id={device}{}", res(MCP))));
    assert_eq!((r.status, err(&r)), (400, "invalid_target".into()));
    let r = h.send(Req::new("POST", "/device_authorization").form(&format!("client_id={device}{}", res(API))));
    assert_eq!(r.status, 200, "{}", text(&r));
}

/// A refused `/validate?resource=` is not a use: an unbound token asked about another resource
/// does not slide (RFC 8707 refusals change nothing).
#[test]
fn a_refused_resource_does_not_slide_an_unbound_token() {
    let mut h = Harness::new();
    let (id, secret) = h.create(&format!(r#"{{"name":"m2m","token_ttl":10,"resources":["{API}"]}}"#));
    let token = cc_token(&mut h, &id, &secret);
    for _ in 0..3 {
        h.advance(6_000);
        assert_eq!(at(&mut h, &token, MCP).status, 401);
    }
    assert_eq!(h.validate(&token, "10.0.0.1").status, 401, "18 s after issue, with only refused uses, a 10 s token is dead");
}

/// An API key is like an unbound token: at a resource, only at its client's own.
#[test]
fn an_api_key_serves_only_its_clients_resources() {
    let mut h = Harness::new();
    let (id, _) = h.create(&format!(r#"{{"name":"key","api_key":true,"resources":["{API}"]}}"#));
    let key = |h: &mut Harness, r: &str| h.send(Req::new("GET", &format!("/validate?key={id}&resource={}", encode_component(r))));
    assert_eq!(key(&mut h, &format!("{API}/")).status, 200);
    assert_eq!(key(&mut h, MCP).status, 401);
    assert_eq!(h.send(Req::new("GET", &format!("/validate?key={id}"))).status, 200, "no resource asked: as before");
}

/// The record read for the resource check also serves the rate limit: it still counts.
#[test]
fn validations_at_a_resource_count_against_the_rate_limit() {
    let mut h = Harness::new();
    let (id, secret) = h.create(&format!(r#"{{"name":"m2m","rate_limit":1,"resources":["{API}"]}}"#));
    let token = cc_token(&mut h, &id, &secret);
    assert_eq!(at(&mut h, &token, API).status, 200);
    assert_eq!(at(&mut h, &token, API).status, 429);
}

/// …and is read once: with no isolate cache (the harness has none), a second KV read for the
/// rate limit would be a second round trip on every validation at a resource.
#[test]
fn a_validation_at_a_resource_reads_the_client_once() {
    let mut h = Harness::new();
    let (id, secret) = h.create(&format!(r#"{{"name":"m2m","rate_limit":100,"resources":["{API}"]}}"#));
    let token = cc_token(&mut h, &id, &secret);
    h.app.kv.faults.fail_nth(2);
    assert_eq!(at(&mut h, &token, API).status, 200, "a second KV read happened (and failed)");
    h.app.kv.faults.fail_nth(1);
    assert_eq!(at(&mut h, &token, API).status, 503, "the one read is the resource check's (a failed store answers 503)");
}
