//! `POST /token` with the client credentials grant, its errors, and the metadata.

use super::*;

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
    assert_eq!(h.app.objects.stored_tokens(), 2);
}

#[test]
fn no_plaintext_token_is_stored() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc"}"#);
    let t = h.token(&id, &secret);
    let secret_part = t.split_once('.').unwrap().1;
    let mut stored = 0;
    for s in h.app.objects.shards.borrow().values() {
        let dump = format!("{:?}", s.storage().entries.borrow());
        assert!(!dump.contains(secret_part));
        assert!(!dump.contains(&t));
        stored += s.storage().count("t:");
    }
    assert_eq!(stored, 1);
    let kv = format!("{:?}", h.app.kv.map.borrow());
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
        (
            Req::new("POST", "/token").basic(&id, &secret).header("content-type", "application/x-www-form-urlencoded").body(ok).header("content-type", "x"),
            200,
            "",
        ),
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
    req.0.body = Body::TooLarge;
    assert_eq!(err(&h.send(req)), "invalid_request");
    // Charset is allowed, others are not.
    let r = h.send(Req::new("POST", "/token").basic(&id, &secret).header("content-type", "application/x-www-form-urlencoded; charset=UTF-8").body(ok));
    assert_eq!(r.status, 200);
    let r = h.send(Req::new("POST", "/token").basic(&id, &secret).header("content-type", "application/x-www-form-urlencoded; charset=latin1").body(ok));
    assert_eq!(r.status, 400);
    assert_eq!(h.app.objects.stored_tokens(), 2, "only the successful requests stored a token");
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
fn unknown_paths() {
    let mut h = Harness::new();
    assert_eq!(h.send(Req::new("GET", "/nope")).status, 404);
    assert_eq!(h.send(Req::new("POST", "/token/").form("grant_type=client_credentials")).status, 401, "/token/ is /token");
}

#[test]
fn metadata() {
    let mut h = Harness::new();
    let r = h.send(Req::new("GET", "/.well-known/oauth-authorization-server"));
    assert_eq!(r.status, 200);
    let v = r.body_json();
    assert_eq!(v["issuer"], "https://auth.test");
    assert_eq!(v["token_endpoint"], "https://auth.test/token");
    assert_eq!(v["authorization_endpoint"], "https://auth.test/authorize");
    assert_eq!(v["device_authorization_endpoint"], "https://auth.test/device_authorization");
    assert_eq!(v["introspection_endpoint"], "https://auth.test/introspect");
    assert_eq!(v["revocation_endpoint"], "https://auth.test/revoke");
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(
        v["grant_types_supported"],
        json!([
            "client_credentials",
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    assert_eq!(v["token_endpoint_auth_methods_supported"], json!(["client_secret_basic", "client_secret_post", "none"]));
    assert_eq!(v["response_types_supported"], json!(["code"]));
    assert_eq!(v["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(v["authorization_response_iss_parameter_supported"], true);
    assert_eq!(h.send(Req::new("POST", "/.well-known/oauth-authorization-server")).status, 405);
}
