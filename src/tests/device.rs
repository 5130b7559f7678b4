//! The device grant through the handlers (RFC 8628): start, poll, the page flow, redemption.

use super::browser::{input, text, Browser};
use super::*;

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn device_client(h: &mut Harness, grants: &str) -> String {
    let r = h.send(
        Req::new("POST", "/admin/clients")
            .bearer(ADMIN)
            .body(format!(r#"{{"name":"Living Room TV","client_type":"public","scopes":["read"],"grant_types":[{grants}]}}"#)),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    r.body_json()["client_id"].as_str().unwrap().to_string()
}

fn start(h: &mut Harness, client_id: &str) -> serde_json::Value {
    let r = h.send(Req::new("POST", "/device_authorization").form(&format!("client_id={client_id}&scope=read")));
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.body_json()
}

/// Seed 004's polling request, exactly: public client, client_id in the body, at /token/.
fn poll(h: &mut Harness, client_id: &str, device_code: &str) -> HttpResponse {
    h.send(Req::new("POST", "/token/").form(&format!("client_id={client_id}&device_code={device_code}&grant_type={DEVICE}")))
}

fn sign_in_and_decide(h: &mut Harness, b: &mut Browser, user_code: &str, decision: &str) -> HttpResponse {
    let url = format!("/device?user_code={user_code}");
    let login = b.send(h, Req::new("GET", &url));
    assert_eq!(login.status, 200, "{}", text(&login));
    if input(&login, "return_to").is_some() {
        let form =
            format!("username=tess&password=12345678&csrf_token={}&return_to={}", input(&login, "csrf_token").unwrap(), crate::form::encode_component(&url));
        let r = b.send(h, Req::new("POST", "/login").form(&form));
        assert_eq!((r.status, r.header("location")), (303, Some(url.as_str())));
    }
    let consent = b.send(h, Req::new("GET", &url));
    assert!(text(&consent).contains("Living Room TV"), "the client is named");
    assert_eq!(
        input(&consent, "user_code").as_deref(),
        Some(user_code.to_uppercase().as_str()).filter(|_| user_code.contains('-')).or(input(&consent, "user_code").as_deref())
    );
    let form = format!("user_code={}&csrf_token={}&decision={decision}", input(&consent, "user_code").unwrap(), input(&consent, "csrf_token").unwrap());
    b.send(h, Req::new("POST", "/device").form(&form))
}

#[test]
fn the_whole_device_flow() {
    let mut h = Harness::new();
    let tess = h.user("tess", "12345678");
    let cid = device_client(&mut h, &format!(r#""{DEVICE}","refresh_token""#));
    let d = start(&mut h, &cid);
    let user_code = d["user_code"].as_str().unwrap().to_string();
    let device_code = d["device_code"].as_str().unwrap().to_string();
    assert_eq!((d["expires_in"].as_u64(), d["interval"].as_u64()), (Some(600), Some(5)));
    assert_eq!(d["verification_uri"], "https://auth.test/device");
    assert_eq!(d["verification_uri_complete"], format!("https://auth.test/device?user_code={user_code}"));
    assert!(user_code.len() == 9 && user_code.as_bytes()[4] == b'-' && user_code.bytes().filter(|b| *b != b'-').all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)));

    // Pending, then too fast, then the interval grew to 10 s.
    assert_eq!(err(&poll(&mut h, &cid, &device_code)), "authorization_pending");
    h.advance(3_000);
    assert_eq!(err(&poll(&mut h, &cid, &device_code)), "slow_down");
    h.advance(6_000);
    assert_eq!(err(&poll(&mut h, &cid, &device_code)), "slow_down", "the interval is now 10 s, remembered");
    h.advance(14_999);
    assert_eq!(err(&poll(&mut h, &cid, &device_code)), "slow_down", "and now 15 s");
    h.advance(20_000);
    assert_eq!(err(&poll(&mut h, &cid, &device_code)), "authorization_pending");

    // The person: code (typed loosely), sign-in, consent, approve.
    let mut b = Browser::new();
    let typed = user_code.to_lowercase().replace('-', " ");
    let r = b.send(&mut h, Req::new("GET", "/device"));
    let form = format!("user_code={}&csrf_token={}", crate::form::encode_component(&typed), input(&r, "csrf_token").unwrap());
    let to = b.send(&mut h, Req::new("POST", "/device").form(&form));
    assert_eq!(to.status, 303);
    let done = sign_in_and_decide(&mut h, &mut b, &user_code, "approve");
    assert_eq!(done.status, 200, "{}", text(&done));

    h.advance(20_000);
    let t = poll(&mut h, &cid, &device_code);
    assert_eq!(t.status, 200, "{}", text(&t));
    let v = t.body_json();
    assert!(v["refresh_token"].is_string(), "the client has the refresh grant");
    assert_eq!((v["expires_in"].as_u64(), v["issued_at"].as_u64()), (Some(300), Some(h.now)), "the client's token_ttl, from now");
    let who = h.validate(v["access_token"].as_str().unwrap(), "10.0.0.1").body_json();
    assert_eq!((who["sub"].as_str(), who["username"].as_str()), (Some(tess.as_str()), Some("tess")));
    // Once only.
    h.advance(20_000);
    assert_eq!(err(&poll(&mut h, &cid, &device_code)), "invalid_grant");
    // The approval is a grant of the user, killed like any other.
    h.send(Req::new("PATCH", &format!("/admin/users/{tess}")).bearer(ADMIN).body(r#"{"disabled":true}"#));
    assert_eq!(h.validate(v["access_token"].as_str().unwrap(), "10.0.0.1").status, 401);
}

#[test]
fn two_devices_of_one_person_and_app_both_get_tokens() {
    // Two TVs of the same app, approved by the same person: two approvals in one shard.
    let mut h = Harness::new();
    h.user("tess", "12345678");
    let cid = device_client(&mut h, &format!(r#""{DEVICE}""#));
    let flows: Vec<serde_json::Value> = (0..2).map(|_| start(&mut h, &cid)).collect();
    let mut b = Browser::new();
    for d in &flows {
        let done = sign_in_and_decide(&mut h, &mut b, d["user_code"].as_str().unwrap(), "approve");
        assert_eq!(done.status, 200, "{}", text(&done));
    }
    h.advance(5_000);
    for d in &flows {
        let t = poll(&mut h, &cid, d["device_code"].as_str().unwrap());
        assert_eq!(t.status, 200, "{}", text(&t));
    }
}

#[test]
fn deny_expiry_and_wrong_clients() {
    let mut h = Harness::new();
    h.user("tess", "12345678");
    let cid = device_client(&mut h, &format!(r#""{DEVICE}""#));
    let other = device_client(&mut h, &format!(r#""{DEVICE}""#));
    let d = start(&mut h, &cid);
    let code = d["device_code"].as_str().unwrap().to_string();
    assert_eq!(err(&poll(&mut h, &other, &code)), "invalid_grant", "another client's device code");
    assert_eq!(err(&poll(&mut h, &cid, "BCDFGHJK.nope")), "invalid_grant");
    assert_eq!(err(&poll(&mut h, &cid, "garbage")), "invalid_grant");
    let mut b = Browser::new();
    let done = sign_in_and_decide(&mut h, &mut b, d["user_code"].as_str().unwrap(), "deny");
    assert_eq!(done.status, 200);
    assert_eq!(err(&poll(&mut h, &cid, &code)), "access_denied");
    // Expiry.
    let d = start(&mut h, &cid);
    h.advance(600_000);
    let r = poll(&mut h, &cid, d["device_code"].as_str().unwrap());
    assert_eq!(err(&r), "expired_token");
    // Without the grant: unauthorized_client, at both endpoints.
    let web = h.web_client("").0;
    let r = h.send(Req::new("POST", "/device_authorization").form(&format!("client_id={web}")));
    assert_eq!(r.status, 401, "a confidential client must authenticate");
    let (conf, secret) = h.web_client("");
    let r = h.send(Req::new("POST", "/device_authorization").basic(&conf, &secret).form(""));
    assert_eq!(err(&r), "unauthorized_client");
}

#[test]
fn the_code_page_never_approves_by_itself_and_counts_wrong_codes() {
    let mut h = Harness::new();
    h.user("tess", "12345678");
    let cid = device_client(&mut h, &format!(r#""{DEVICE}""#));
    let d = start(&mut h, &cid);
    let mut b = Browser::new();
    // verification_uri_complete, signed in: the consent page, with the code to compare.
    let url = format!("/device?user_code={}", d["user_code"].as_str().unwrap());
    let r = sign_in_and_decide(&mut h, &mut b, d["user_code"].as_str().unwrap(), "maybe");
    assert_eq!(r.status, 400, "only approve or deny decide");
    let consent = b.send(&mut h, Req::new("GET", &url));
    assert!(text(&consent).contains(d["user_code"].as_str().unwrap()));
    h.advance(10_000);
    assert_eq!(err(&poll(&mut h, &cid, d["device_code"].as_str().unwrap())), "authorization_pending", "nothing was approved");
    // Wrong codes: 400 with the entry form, 20 per address, then 429.
    for i in 0..20 {
        let r = b.send(&mut h, Req::new("GET", "/device?user_code=BBBB-BBBB"));
        assert_eq!(r.status, 400, "wrong code {i}");
        assert!(text(&r).contains("name=\"user_code\""), "the entry form again");
    }
    let r = b.send(&mut h, Req::new("GET", &url));
    assert_eq!(r.status, 429, "even a right code is refused while the address is blocked");
    assert!(r.header("retry-after").is_some());
    b.ip = "10.0.0.2";
    assert_eq!(b.send(&mut h, Req::new("GET", &url)).status, 200, "another address is not blocked");
}

/// `curl -u id:secret -X POST …/device_authorization` and Python `requests` send no body and
/// no `Content-Type`: an empty form (docs/http.md#form-endpoints), at every form endpoint. A
/// body with content still has to say it is a form.
#[test]
fn an_empty_body_without_content_type_is_an_empty_form() {
    let mut h = Harness::new();
    let (conf, secret) = h.web_client(&format!(r#","grant_types":["{DEVICE}"],"redirect_uris":[]"#));
    let r = h.send(Req::new("POST", "/device_authorization").basic(&conf, &secret));
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.body_json()["interval"], 5);
    let (svc, svc_secret) = h.create(r#"{"name":"svc"}"#);
    let r = h.send(Req::new("POST", "/token").basic(&svc, &svc_secret));
    assert_eq!((r.status, err(&r).as_str()), (400, "invalid_request"));
    assert!(!text(&r).contains("Content-Type"), "{}", text(&r));
    let r = h.send(Req::new("POST", "/revoke").basic(&svc, &svc_secret));
    assert!(!text(&r).contains("Content-Type"), "{}", text(&r));
    let r = h.send(Req::new("POST", "/introspect").basic(&svc, &svc_secret));
    assert!(!text(&r).contains("Content-Type"), "{}", text(&r));
    // Content without a type: still refused.
    let r = h.send(Req::new("POST", "/token").basic(&svc, &svc_secret).body("grant_type=client_credentials"));
    assert_eq!((r.status, err(&r).as_str()), (400, "invalid_request"));
    assert!(text(&r).contains("missing Content-Type"), "{}", text(&r));
}

#[test]
fn the_device_flows_sign_in_page_shows_the_provider_buttons() {
    let mut h = Harness::new();
    let body = r#"{"name":"GitHub","kind":"oauth2","authorization_endpoint":"https://gh.example/a","token_endpoint":"https://gh.example/t","userinfo_endpoint":"https://gh.example/u","client_id":"c","client_secret":"s","claims":{"subject":"id"}}"#;
    let r = h.send(Req::new("POST", "/admin/providers").bearer(ADMIN).body(body));
    let provider_id = r.body_json()["provider_id"].as_str().unwrap().to_string();
    let tv = device_client(&mut h, &format!("\"{DEVICE}\""));
    let user_code = start(&mut h, &tv)["user_code"].as_str().unwrap().to_string();
    let login = Browser::new().send(&mut h, Req::new("GET", &format!("/device?user_code={user_code}")));
    let page = text(&login);
    assert!(input(&login, "return_to").is_some(), "the sign-in page");
    assert!(page.contains("Continue with GitHub") && page.contains(&format!("href=\"/login/{provider_id}?return_to=%2Fdevice%3Fuser_code%3D")), "{page}");
}
