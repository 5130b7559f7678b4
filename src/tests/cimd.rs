//! Client ID Metadata Documents end to end on the in-memory platform: the code flow, refresh
//! and revocation for a URL client id; every refusal at `/authorize` and `/token`; the cache;
//! the blocklist; the admin API's refusal; the metadata flag.

use super::browser::*;
use super::*;
use crate::config::Cimd;
use crate::form::encode_component;
use crate::store::Fetched;

const DOC: &str = "https://app.example/client.json";

fn document(extra: serde_json::Value) -> String {
    let mut d = json!({"client_id": DOC, "client_name": "Doc App", "redirect_uris": [CB], "grant_types": ["authorization_code", "refresh_token"]});
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    d.to_string()
}

fn serve(h: &Harness, url: &str, status: u16, body: &str, cache_control: Option<&str>) {
    let f = Fetched { status, body: body.as_bytes().to_vec(), cache_control: cache_control.map(str::to_string) };
    h.app.fetch.answers.borrow_mut().insert(url.into(), f);
}

fn setup(mode: Cimd) -> Harness {
    let mut h = Harness::new();
    h.app.config.cimd = mode;
    h.app.config.registration_scopes = vec!["read".into()];
    serve(&h, DOC, 200, &document(json!({})), None);
    h.user("ada", "correct horse");
    h
}

fn fetches(h: &Harness) -> u32 {
    h.app.fetch.requests.get()
}

fn id() -> String {
    encode_component(DOC)
}

fn tokens(h: &mut Harness, b: &mut Browser) -> serde_json::Value {
    let code = code_for(h, b, &id(), ("ada", "correct horse"));
    let r = redeem(h, &id(), &code);
    assert_eq!(r.status, 200, "{}", text(&r));
    r.body_json()
}

fn refresh(h: &mut Harness, token: &str) -> HttpResponse {
    h.send(Req::new("POST", "/token").form(&format!("grant_type=refresh_token&refresh_token={token}&client_id={}", id())))
}

#[test]
fn code_flow_refresh_and_revocation_for_a_document_client() {
    let mut h = setup(Cimd::On);
    let mut b = Browser::new();
    let url = authorize_url(&id(), "");
    let login = b.send(&mut h, Req::new("GET", &url));
    assert!(text(&login).contains("name=\"password\""), "login first");
    assert!(text(&login).contains("Doc App</b> <span class=\"small\">(app.example)</span>"), "the login page shows the host beside the chosen name");
    assert_eq!(sign_in(&mut h, &mut b, &url, "ada", "correct horse").status, 303);
    let consent = b.send(&mut h, Req::new("GET", &url));
    let page = text(&consent);
    assert!(page.contains("Doc App") && page.contains("<b class=\"host\">app.example</b>") && page.contains("which chose its name"), "{page}");
    let t = tokens(&mut h, &mut b);
    let access = t["access_token"].as_str().unwrap().to_string();
    assert!(access.starts_with('m') && !access.contains(':'), "a Bearer-safe prefix: {access}");
    assert_eq!(t["scope"], "read", "REGISTRATION_SCOPES");
    let v = h.validate(&access, "10.0.0.1");
    assert_eq!(v.status, 200, "{}", text(&v));
    assert_eq!(v.body_json()["client_id"], DOC);
    let r = refresh(&mut h, t["refresh_token"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", text(&r));
    let refreshed = r.body_json();
    let r = h.send(Req::new("POST", "/revoke").form(&format!("client_id={}&token={}", id(), refreshed["refresh_token"].as_str().unwrap())));
    assert_eq!(r.status, 200);
    assert_eq!(h.validate(refreshed["access_token"].as_str().unwrap(), "10.0.0.1").status, 401, "revoked with its family");
    assert_eq!(fetches(&h), 1, "one fetch: the rest came from the isolate's copy");
}

#[test]
fn consent_always_shows_for_a_document_client() {
    let mut h = setup(Cimd::On);
    let mut b = Browser::new();
    tokens(&mut h, &mut b);
    // A grant exists now; an admin client would go straight back with a code.
    let again = b.send(&mut h, Req::new("GET", &authorize_url(&id(), "")));
    assert_eq!(again.status, 200, "the consent page again, not a redirect");
    assert!(text(&again).contains("app.example"));
}

#[test]
fn unusable_documents_are_a_page_at_authorize_and_invalid_client_at_token() {
    let big = document(json!({"logo_uri": format!("https://app.example/{}", "x".repeat(6000))}));
    // `client_id` twice (here both the URL): serde_json alone would take the document; a
    // repeated key makes it bad, whatever the values.
    let twice = document(json!({})).replacen('{', &format!(r#"{{"client_id":"{DOC}","#), 1);
    let cases: [(&str, u16, String, &str); 9] = [
        ("repeated key", 200, twice, "appears twice"),
        ("redirect", 302, String::new(), "status 302"),
        ("not found", 404, String::new(), "status 404"),
        ("too large", 200, big, "could not be fetched"),
        ("not JSON", 200, "<html>".into(), "not JSON"),
        ("client_id mismatch", 200, document(json!({"client_id": "https://app.example/other.json"})), "client_id"),
        ("bad redirect_uris", 200, document(json!({"redirect_uris": ["http://app.example/cb"]})), "redirect_uris"),
        ("client_credentials", 200, document(json!({"grant_types": ["authorization_code", "client_credentials"]})), "grant_types"),
        ("client_secret_basic", 200, document(json!({"token_endpoint_auth_method": "client_secret_basic"})), "token_endpoint_auth_method"),
    ];
    for (name, status, body, says) in cases {
        let mut h = setup(Cimd::On);
        serve(&h, DOC, status, &body, None);
        let r = h.send(Req::new("GET", &authorize_url(&id(), "")));
        assert_eq!(r.status, 400, "{name}");
        assert!(r.header("location").is_none(), "{name}: never a redirect");
        assert!(text(&r).contains(says) && text(&r).contains("app.example"), "{name}: {}", text(&r));
        let r = refresh(&mut h, "m.x");
        assert_eq!((r.status, err(&r)), (401, "invalid_client".to_string()), "{name}");
    }
    let mut h = setup(Cimd::On);
    h.app.fetch.down.set(true);
    let r = h.send(Req::new("GET", &authorize_url(&id(), "")));
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("could not be fetched"));
}

#[test]
fn urls_that_are_not_document_urls_are_unknown_clients() {
    for (mode, url) in [
        (Cimd::Off, DOC),
        (Cimd::On, "http://127.0.0.1:9/client.json"),
        (Cimd::On, "http://app.example/client.json"),
        (Cimd::On, "https://app.example/"),
        (Cimd::Dev, "https://app.example/"),
    ] {
        let mut h = setup(mode);
        serve(&h, url, 200, &document(json!({"client_id": url})), None);
        let r = h.send(Req::new("GET", &authorize_url(&encode_component(url), "")));
        assert_eq!(r.status, 400, "{url}");
        assert!(text(&r).contains("not registered"), "{url}: {}", text(&r));
        assert_eq!(fetches(&h), 0, "{url}: nothing fetched");
    }
    // With `dev`, loopback http is a document URL.
    let mut h = setup(Cimd::Dev);
    let local = "http://127.0.0.1:9/client.json";
    serve(&h, local, 200, &document(json!({"client_id": local})), None);
    let r = h.send(Req::new("GET", &authorize_url(&encode_component(local), "")));
    assert_eq!(r.status, 200, "{}", text(&r));
}

#[test]
fn documents_are_cached_by_cache_control_within_bounds() {
    for (cc, refetch_after) in
        [(None, 60_000), (Some("no-store"), 60_000), (Some("max-age=5"), 60_000), (Some("max-age=600"), 600_000), (Some("max-age=9999999"), 86_400_000)]
    {
        let mut h = setup(Cimd::On);
        serve(&h, DOC, 200, &document(json!({})), cc);
        let url = authorize_url(&id(), "");
        assert_eq!(h.send(Req::new("GET", &url)).status, 200);
        h.advance(refetch_after - 1);
        assert_eq!(h.send(Req::new("GET", &url)).status, 200);
        assert_eq!(fetches(&h), 1, "{cc:?}: still cached");
        h.advance(1);
        assert_eq!(h.send(Req::new("GET", &url)).status, 200);
        assert_eq!(fetches(&h), 2, "{cc:?}: fetched again");
    }
}

#[test]
fn a_block_refuses_the_host_at_once_cached_documents_included() {
    let mut h = setup(Cimd::On);
    let mut b = Browser::new();
    let t = tokens(&mut h, &mut b);
    let admin = |r: Req| r.bearer(ADMIN);
    let r = h.send(admin(Req::new("POST", "/admin/cimd-blocklist")).body(r#"{"host":"App.Example"}"#));
    assert_eq!(r.status, 201);
    assert_eq!(r.body_json(), json!({"host": "app.example"}));
    let r = b.send(&mut h, Req::new("GET", &authorize_url(&id(), "")));
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("blocked"));
    let r = refresh(&mut h, t["refresh_token"].as_str().unwrap());
    assert_eq!((r.status, err(&r)), (401, "invalid_client".to_string()));
    assert_eq!(fetches(&h), 1, "refused before any fetch");
    let r = h.send(admin(Req::new("GET", "/admin/cimd-blocklist")));
    assert_eq!(r.body_json(), json!({"hosts": ["app.example"]}));
    assert_eq!(h.send(admin(Req::new("DELETE", "/admin/cimd-blocklist/APP.example"))).status, 204);
    assert_eq!(h.send(admin(Req::new("DELETE", "/admin/cimd-blocklist/app.example"))).status, 404);
    let r = refresh(&mut h, t["refresh_token"].as_str().unwrap());
    assert_eq!(r.status, 200, "unblocked: works again: {}", text(&r));
}

#[test]
fn blocklist_admin_api() {
    let mut h = setup(Cimd::On);
    assert_eq!(h.send(Req::new("GET", "/admin/cimd-blocklist")).status, 401);
    let post = |h: &mut Harness, body: &str| h.send(Req::new("POST", "/admin/cimd-blocklist").bearer(ADMIN).body(body));
    for bad in [r#"{}"#, r#"{"host":7}"#, r#"{"host":"https://a.example"}"#, r#"{"host":"a.example:443"}"#, "[]", "nope"] {
        let r = post(&mut h, bad);
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.body_json()["field"].as_str().is_some(), "{bad}");
    }
    assert_eq!(post(&mut h, r#"{"host":"b.example"}"#).status, 201);
    h.advance(1);
    assert_eq!(post(&mut h, r#"{"host":"a.example"}"#).status, 201);
    assert_eq!(post(&mut h, r#"{"host":"B.example"}"#).status, 201, "again: fine");
    let r = h.send(Req::new("GET", "/admin/cimd-blocklist").bearer(ADMIN));
    assert_eq!(r.body_json(), json!({"hosts": ["b.example", "a.example"]}), "oldest first, once each");
    assert_eq!(h.send(Req::new("PUT", "/admin/cimd-blocklist").bearer(ADMIN)).status, 405);
    assert_eq!(h.send(Req::new("DELETE", "/admin/cimd-blocklist/%5B%3A%3A1%5D").bearer(ADMIN)).status, 404);
}

#[test]
fn the_admin_api_cannot_change_a_document_client() {
    let mut h = setup(Cimd::On);
    let r = h.send(Req::new("PATCH", &format!("/admin/clients/{}", id())).bearer(ADMIN).body(r#"{"skip_consent":true}"#));
    assert_eq!(r.status, 403);
    assert_eq!(err(&r), "forbidden");
    assert_eq!(h.send(Req::new("GET", &format!("/admin/clients/{}", id())).bearer(ADMIN)).status, 404, "not in KV");
}

#[test]
fn metadata_says_so_only_when_on() {
    for (mode, want) in [(Cimd::Off, None), (Cimd::On, Some(true)), (Cimd::Dev, Some(true))] {
        let mut h = setup(mode);
        let v = h.send(Req::new("GET", "/.well-known/oauth-authorization-server")).body_json();
        assert_eq!(v["client_id_metadata_document_supported"].as_bool(), want, "{mode:?}");
    }
}

#[test]
fn revoking_a_persons_grant_to_a_document_client_kills_its_tokens() {
    let mut h = setup(Cimd::On);
    let mut b = Browser::new();
    let t = tokens(&mut h, &mut b);
    let access = t["access_token"].as_str().unwrap().to_string();
    let user = h.send(Req::new("GET", "/admin/users").bearer(ADMIN)).body_json()["users"][0]["user_id"].as_str().unwrap().to_string();
    let grants = h.send(Req::new("GET", &format!("/admin/users/{user}/grants")).bearer(ADMIN)).body_json();
    assert_eq!(grants["grants"][0]["client_id"], DOC);
    let r = h.send(Req::new("DELETE", &format!("/admin/users/{user}/grants/{}", id())).bearer(ADMIN));
    assert_eq!(r.status, 204, "{}", text(&r));
    assert_eq!(h.validate(&access, "10.0.0.1").status, 401, "its tokens die with the grant");
}

/// RFC 8707 for a document client: its resources are the worker's `RESOURCES`.
#[test]
fn a_document_client_may_name_the_workers_resources_only() {
    let mut h = setup(Cimd::On);
    h.app.config.resources = vec!["https://mcp.example/mcp".into()];
    let mut b = Browser::new();
    let res = |r: &str| format!("&resource={}", encode_component(r));
    let bad = b.send(&mut h, Req::new("GET", &authorize_url(&id(), &res("https://other.example"))));
    assert_eq!((bad.status, redirect_query(&bad)["error"].as_str()), (302, "invalid_target"));
    let t = tokens(&mut h, &mut b);
    let access = t["access_token"].as_str().unwrap();
    let v = h.send(Req::new("GET", &format!("/validate?resource={}", encode_component("https://mcp.example/mcp"))).bearer(access).ip(Some("10.0.0.1")));
    assert_eq!((v.status, v.body_json()["aud"].clone()), (200, json!(["https://mcp.example/mcp"])), "no resource named: all of RESOURCES");
    let elsewhere = h.send(Req::new("GET", "/validate?resource=https%3A%2F%2Fother.example").bearer(access).ip(Some("10.0.0.1")));
    assert_eq!(elsewhere.status, 401);
}

#[test]
fn a_document_that_failed_is_fetched_again_only_after_a_minute() {
    let mut h = setup(Cimd::On);
    serve(&h, DOC, 404, "", None);
    let mut b = Browser::new();
    let url = authorize_url(&id(), "");
    for _ in 0..3 {
        assert_eq!(b.send(&mut h, Req::new("GET", &url)).status, 400);
    }
    assert_eq!(fetches(&h), 1, "repeating a bad URL costs one fetch");
    serve(&h, DOC, 200, &document(json!({})), None);
    h.advance(59_999);
    assert_eq!(b.send(&mut h, Req::new("GET", &url)).status, 400, "still the remembered failure");
    h.advance(1);
    assert_eq!(b.send(&mut h, Req::new("GET", &url)).status, 200, "a minute later, fetched again: the login page");
    assert_eq!(fetches(&h), 2);
}

#[test]
fn a_document_of_exactly_5_kib_is_read_and_one_byte_more_is_not() {
    let mut h = setup(Cimd::On);
    let base = document(json!({"logo_uri": ""}));
    let pad = crate::client::metadata_document::MAX_DOCUMENT_BYTES - base.len();
    let exact = document(json!({"logo_uri": "x".repeat(pad)}));
    assert_eq!(exact.len(), 5 * 1024);
    serve(&h, DOC, 200, &exact, None);
    let mut b = Browser::new();
    assert_eq!(b.send(&mut h, Req::new("GET", &authorize_url(&id(), ""))).status, 200, "the login page");
    let other = "https://app.example/big.json";
    let base = document(json!({"client_id": other, "logo_uri": ""}));
    let over = document(json!({"client_id": other, "logo_uri": "x".repeat(crate::client::metadata_document::MAX_DOCUMENT_BYTES + 1 - base.len())}));
    assert_eq!(over.len(), 5 * 1024 + 1);
    serve(&h, other, 200, &over, None);
    assert_eq!(b.send(&mut h, Req::new("GET", &authorize_url(&encode_component(other), ""))).status, 400);
}
