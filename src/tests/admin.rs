//! The admin API for clients, and the consistency of its changes (revocation, disable,
//! delete, rotation) even when KV is stale or a store fails; and the users API.

use super::browser::text;
use super::*;

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
    let stale = h.app.kv.map.borrow().clone();
    let r = h.send(Req::new("PATCH", &format!("/admin/clients/{id}")).bearer(ADMIN).body(r#"{"disabled":true}"#));
    assert_eq!(r.status, 200);
    assert_eq!(r.body_json()["disabled"], true);
    assert_eq!(h.validate(&t2, "10.0.0.1").status, 401);
    *h.app.kv.map.borrow_mut() = stale.clone();
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!((r.status, err(&r).as_str()), (401, "invalid_client"));

    // Re-enable: new tokens work; the old one stays dead.
    let r = h.send(Req::new("PATCH", &format!("/admin/clients/{id}")).bearer(ADMIN).body(r#"{"disabled":false}"#));
    assert_eq!(r.status, 200);
    let t3 = h.token(&id, &secret);
    assert_eq!(h.validate(&t3, "10.0.0.1").status, 200);
    assert_eq!(h.validate(&t2, "10.0.0.1").status, 401);

    // Delete with a stale KV.
    let stale = h.app.kv.map.borrow().clone();
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 204);
    assert_eq!(h.validate(&t3, "10.0.0.1").status, 401);
    *h.app.kv.map.borrow_mut() = stale;
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!(r.status, 401);
    assert_eq!(h.app.objects.stored_tokens(), 0);
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
    let stale = h.app.kv.map.borrow().clone();
    let r = h.send(Req::new("POST", &format!("/admin/clients/{id}/secret")).bearer(ADMIN));
    assert_eq!(r.status, 201);
    let newest = r.body_json()["client_secret"].as_str().unwrap().to_string();
    assert_eq!(h.validate(&fresh, "10.0.0.1").status, 401);
    *h.app.kv.map.borrow_mut() = stale;
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &new_secret));
    assert_eq!(r.status, 401, "a stale KV read cannot mint a token with the rotated-away secret");
    h.app.kv.map.borrow_mut().clear();
    let _ = newest;
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
    let before = h.app.kv.map.borrow().clone();
    let r = h.send(Req::new("PATCH", &format!("/admin/clients/{id}")).bearer(ADMIN).body(r#"{"token_ttl":60,"bogus":1}"#));
    assert_eq!(r.status, 400);
    assert_eq!(*h.app.kv.map.borrow(), before, "a rejected patch changes nothing");
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
    h.app.kv.faults.fail_next(1);
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!((r.status, err(&r).as_str()), (503, "temporarily_unavailable"));
    assert!(r.log.is_some() && !String::from_utf8_lossy(&r.body).contains("injected"));
    h.app.objects.faults.fail_next(1);
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!(r.status, 503);
    assert_eq!(h.app.objects.stored_tokens(), 0);
    let t = h.token(&id, &secret);
    h.app.objects.faults.fail_next(1);
    assert_eq!(h.validate(&t, "10.0.0.1").status, 503);
    assert_eq!(h.validate(&t, "10.0.0.1").status, 200, "the token survived the fault");
    // A failed delete (shard fault) leaves the KV record in place, and a retry completes it.
    h.app.objects.faults.fail_next(1);
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 503);
    assert_eq!(h.send(Req::new("GET", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 200);
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 204);
    // A failed create stores nothing.
    let n = h.app.kv.map.borrow().len();
    h.app.kv.faults.fail_next(1);
    assert_eq!(h.send(Req::new("POST", "/admin/clients").bearer(ADMIN).body(r#"{"name":"x"}"#)).status, 503);
    assert_eq!(h.app.kv.map.borrow().len(), n);
}

#[test]
fn isolate_cache_saves_kv_reads_and_gates_still_decide() {
    let mut h = Harness::new();
    h.app.config.client_cache_ms = 5_000;
    let (id, secret) = h.create(r#"{"name":"svc"}"#);
    h.token(&id, &secret);
    // With the record cached, a KV outage does not stop issuance...
    h.app.kv.faults.fail_next(1);
    assert_eq!(h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret)).status, 200);
    h.app.kv.faults.fail_next(0);
    // ...and a deletion made elsewhere (KV and gates changed behind this isolate's back) is
    // still enforced by the gates although the cache holds the old record.
    let t = h.token(&id, &secret);
    block_on(shard::call(&h.app.objects, &shard_name(&id, 0), ChangeGate { change: GateChange::Delete })).unwrap();
    for shard in 1..SHARDS {
        block_on(shard::call(&h.app.objects, &shard_name(&id, shard), ChangeGate { change: GateChange::Delete })).unwrap();
    }
    h.app.kv.map.borrow_mut().clear();
    assert_eq!(h.validate(&t, "10.0.0.1").status, 401);
    let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret));
    assert_eq!(r.status, 401);
}

#[test]
fn re_enabling_never_revives_tokens_even_unread() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc"}"#);
    let tokens: Vec<String> = (0..6).map(|_| h.token(&id, &secret)).collect();
    assert_eq!(h.app.objects.stored_tokens(), 6);
    let patch = |h: &mut Harness, body: &str| h.send(Req::new("PATCH", &format!("/admin/clients/{id}")).bearer(ADMIN).body(body)).status;
    assert_eq!(patch(&mut h, r#"{"disabled":true}"#), 200);
    assert_eq!(h.app.objects.stored_tokens(), 0, "disabling deletes every token at once, read or not");
    assert_eq!(patch(&mut h, r#"{"disabled":false}"#), 200);
    for t in &tokens {
        assert_eq!(h.validate(t, "10.0.0.1").status, 401);
    }
}

#[test]
fn users_api() {
    let mut h = Harness::new();
    let id = h.user("Judy", "12345678");
    let dup = h.send(Req::new("POST", "/admin/users").bearer(ADMIN).body(r#"{"username":"judy","password":"12345678"}"#));
    assert_eq!((dup.status, dup.body_json()["field"].as_str()), (409, Some("username")));
    let one = h.send(Req::new("GET", &format!("/admin/users/{id}")).bearer(ADMIN));
    assert_eq!(one.body_json()["username"], "Judy");
    let list = h.send(Req::new("GET", "/admin/users").bearer(ADMIN));
    assert_eq!(list.body_json()["users"][0]["user_id"], id);
    let all = format!(
        "{:?}{:?}",
        h.app.kv.map.borrow(),
        h.app.objects.shards.borrow().values().map(|s| format!("{:?}", s.storage().entries.borrow())).collect::<Vec<_>>()
    );
    assert!(!all.contains("12345678"), "no plaintext password anywhere");
    assert!(!text(&one).contains("password") && !text(&list).contains("hash"));
    assert_eq!(h.send(Req::new("GET", "/admin/users/nope").bearer(ADMIN)).status, 404);
    assert_eq!(h.send(Req::new("GET", "/admin/users").bearer("wrong")).status, 401);
    assert_eq!(h.send(Req::new("PATCH", &format!("/admin/users/{id}")).bearer(ADMIN).body(r#"{"username":"x"}"#)).body_json()["field"], "username");
    let del = h.send(Req::new("DELETE", &format!("/admin/users/{id}")).bearer(ADMIN));
    assert_eq!(del.status, 204, "{:?}", del.log);
    assert_eq!(h.send(Req::new("GET", &format!("/admin/users/{id}")).bearer(ADMIN)).status, 404);
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/users/{id}")).bearer(ADMIN)).status, 404);
    // The name is free again.
    assert_eq!(h.send(Req::new("POST", "/admin/users").bearer(ADMIN).body(r#"{"username":"JUDY","password":"12345678"}"#)).status, 201);
}

/// A JSON body that names a key twice has no one meaning: every JSON endpoint answers `400`
/// naming the key, and creates or changes nothing (serde_json alone keeps the last value).
#[test]
fn a_repeated_json_key_is_400_naming_it_and_changes_nothing() {
    let mut h = Harness::new();
    let (id, _) = h.create(r#"{"name":"svc"}"#);
    let cases = [
        ("POST", "/admin/clients".to_string(), r#"{"name":"a","scopes":["x"],"name":"b"}"#, "name"),
        ("PATCH", format!("/admin/clients/{id}"), r#"{"disabled":false,"disabled":true}"#, "disabled"),
        ("POST", format!("/admin/clients/{id}/secret"), r#"{"grace":0,"grace":60}"#, "grace"),
        ("POST", "/admin/users".to_string(), r#"{"username":"ann","password":"long enough","username":"bob"}"#, "username"),
        (
            "POST",
            "/admin/issuers".to_string(),
            r#"{"issuer":"https://good.example","jwks_uri":"https://good.example/jwks","audience":"a","issuer":"https://evil.example"}"#,
            "issuer",
        ),
        ("POST", "/admin/registration-tokens".to_string(), r#"{"max_uses":1,"max_uses":5}"#, "max_uses"),
        ("POST", "/admin/cimd-blocklist".to_string(), r#"{"host":"a.example","host":"b.example"}"#, "host"),
    ];
    let before = h.app.kv.map.borrow().clone();
    for (method, path, body, field) in cases {
        let r = h.send(Req::new(method, &path).bearer(ADMIN).body(body));
        assert_eq!(r.status, 400, "{method} {path}: {}", text(&r));
        assert_eq!(r.body_json()["field"], field, "{method} {path}");
        assert!(r.body_json()["error_description"].as_str().unwrap().contains("appears twice"), "{}", text(&r));
    }
    assert_eq!(*h.app.kv.map.borrow(), before, "a refused body changed KV");
    // The client is still enabled: its secret was not rotated and it was not disabled.
    let r = h.send(Req::new("GET", &format!("/admin/clients/{id}")).bearer(ADMIN));
    assert_eq!(r.body_json()["disabled"], false);
}
