//! The person side through the handlers: users, sign-in, consent, codes, tokens for a person,
//! and kills that must take effect at once.

use super::browser::*;
use super::*;
use crate::auth::pkce::s256;
use crate::shard::route::user_shard;

#[test]
fn the_whole_flow_for_a_public_client() {
    let mut h = Harness::new();
    let alice = h.user("alice", "correct horse");
    let (cid, secret) = h.web_client(r#","client_type":"public""#);
    assert_eq!(secret, "", "a public client gets no secret");
    let mut b = Browser::new();
    let url = authorize_url(&cid, "");

    // No session: the login page, naming the client.
    let login = b.send(&mut h, Req::new("GET", &url));
    assert_eq!(login.status, 200);
    assert!(text(&login).contains("Web"));
    let return_to = input(&login, "return_to").unwrap();
    assert!(return_to.starts_with("/authorize?") && return_to.contains("state=s+1") && return_to.contains(&cid), "{return_to}");
    let signed = sign_in(&mut h, &mut b, &url, "alice", "correct horse");
    assert_eq!(signed.status, 303);
    assert!(signed.header("location").unwrap().starts_with("/authorize?"));
    assert!(b.cookies.contains_key("__Host-eo_session"));

    let r = approve(&mut h, &mut b, &url, "approve");
    assert_eq!(r.status, 302);
    let q = redirect_query(&r);
    assert_eq!((q["state"].as_str(), q["iss"].as_str()), ("s 1", "https://auth.test"));
    assert!(r.header("location").unwrap().starts_with("https://app.example/cb?code="));

    // Seed 004's exact request shape, at /token/.
    let t = redeem(&mut h, &cid, &q["code"]);
    assert_eq!(t.status, 200, "{}", text(&t));
    let v = t.body_json();
    assert_eq!((v["token_type"].as_str(), v["scope"].as_str(), v["expires_in"].as_u64()), (Some("Bearer"), Some("read write"), Some(300)));
    assert!(v["refresh_token"].as_str().is_some_and(|r| r.len() > 43));
    let access = v["access_token"].as_str().unwrap().to_string();
    let who = h.validate(&access, "10.0.0.1").body_json();
    assert_eq!((who["sub"].as_str(), who["username"].as_str(), who["client_id"].as_str()), (Some(alice.as_str()), Some("alice"), Some(cid.as_str())));

    // The same scopes again: no consent page, straight back with a code.
    let again = b.send(&mut h, Req::new("GET", &url));
    assert_eq!(again.status, 302);
    assert!(redirect_query(&again).contains_key("code"));
    let grants = h.send(Req::new("GET", &format!("/admin/users/{alice}/grants")).bearer(ADMIN)).body_json();
    assert_eq!(grants["grants"][0]["client_id"], cid);
    assert_eq!(grants["grants"][0]["scope"], "read write");
}

#[test]
fn codes_are_single_use_and_a_replay_kills_what_they_issued() {
    let mut h = Harness::new();
    h.user("bob", "12345678");
    let (cid, secret) = h.web_client("");
    let mut b = Browser::new();
    let code = code_for(&mut h, &mut b, &cid, ("bob", "12345678"));
    let body = format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}");
    let first = h.send(Req::new("POST", "/token").form(&body).basic(&cid, &secret));
    assert_eq!(first.status, 200, "{}", text(&first));
    let access = first.body_json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(h.validate(&access, "10.0.0.1").status, 200);
    let second = h.send(Req::new("POST", "/token").form(&body).basic(&cid, &secret));
    assert_eq!((second.status, err(&second).as_str()), (400, "invalid_grant"));
    assert_eq!(h.validate(&access, "10.0.0.1").status, 401, "the replay killed the first redemption's token");
}

#[test]
fn two_codes_outstanding_for_one_person_and_app_both_redeem() {
    // Two tabs, or a retry: each code is its own record in the shard of (client, person).
    let mut h = Harness::new();
    h.user("bob", "12345678");
    let (cid, secret) = h.web_client("");
    let mut b = Browser::new();
    let one = code_for(&mut h, &mut b, &cid, ("bob", "12345678"));
    let two = code_for(&mut h, &mut b, &cid, ("bob", "12345678"));
    assert_ne!(one, two);
    for code in [one, two] {
        redeem_basic(&mut h, &(cid.clone(), secret.clone()), &code);
    }
}

#[test]
fn a_code_redeemed_with_a_rotated_away_secret_behind_a_stale_kv_is_invalid_client() {
    // KV still accepts the old secret, but the shard's gate (the authority) no longer admits
    // it: no tokens, and the answer of a failed client authentication, with the challenge for
    // Basic only. (Disabling would purge the codes themselves: that is invalid_grant.)
    let mut h = Harness::new();
    h.user("bob", "12345678");
    let (cid, secret) = h.web_client("");
    let mut b = Browser::new();
    let codes = [code_for(&mut h, &mut b, &cid, ("bob", "12345678")), code_for(&mut h, &mut b, &cid, ("bob", "12345678"))];
    let stale = h.app.kv.map.borrow().clone();
    let r = h.send(Req::new("POST", &format!("/admin/clients/{cid}/secret")).bearer(ADMIN).body(r#"{"grace":0}"#));
    assert_eq!(r.status, 201);
    *h.app.kv.map.borrow_mut() = stale;
    let body = |code: &str| format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}");
    let basic = h.send(Req::new("POST", "/token").form(&body(&codes[0])).basic(&cid, &secret));
    assert_eq!((basic.status, err(&basic).as_str()), (401, "invalid_client"));
    assert!(basic.header("www-authenticate").is_some_and(|c| c.starts_with("Basic")), "Basic gets its challenge");
    let post = h.send(Req::new("POST", "/token").form(&format!("{}&client_id={cid}&client_secret={secret}", body(&codes[1]))));
    assert_eq!((post.status, err(&post).as_str()), (401, "invalid_client"));
    assert_eq!(post.header("www-authenticate"), None, "credentials in the body get no challenge");
}

#[test]
fn a_kill_of_one_person_spares_another_in_the_same_shard() {
    // People share shards (8 per client): find two in the same one.
    let mut h = Harness::new();
    let people: Vec<(String, String)> = (0..24).map(|i| (format!("p{i}"), h.user(&format!("p{i}"), "12345678"))).collect();
    let (a, b) = people
        .iter()
        .enumerate()
        .find_map(|(i, a)| people[i + 1..].iter().find(|b| user_shard(&b.1) == user_shard(&a.1)).map(|b| (a.clone(), b.clone())))
        .expect("two of 24 people share one of 8 shards");
    let client = h.web_client("");
    let cid = client.0.clone();
    let mut access = Vec::new();
    let mut browsers = [Browser::new(), Browser::new()];
    for ((name, _), browser) in [&a, &b].into_iter().zip(browsers.iter_mut()) {
        let code = code_for(&mut h, browser, &cid, (name, "12345678"));
        access.push(redeem_basic(&mut h, &client, &code)["access_token"].as_str().unwrap().to_string());
    }
    let r = h.send(Req::new("PATCH", &format!("/admin/users/{}", a.1)).bearer(ADMIN).body(r#"{"disabled":true}"#));
    assert_eq!(r.status, 200);
    assert_eq!(h.validate(&access[0], "10.0.0.1").status, 401, "{} is disabled", a.0);
    assert_eq!(h.validate(&access[1], "10.0.0.1").status, 200, "{} is not", b.0);
    // And the other keeps getting new tokens in that shard.
    let code = code_for(&mut h, &mut browsers[1], &cid, (&b.0, "12345678"));
    redeem_basic(&mut h, &client, &code);
}

#[test]
fn signing_out_in_one_browser_leaves_the_other_signed_in() {
    // Each sign-in is its own session of the user: ending one ends only that one.
    let mut h = Harness::new();
    h.user("bob", "12345678");
    let (cid, _) = h.web_client("");
    let url = authorize_url(&cid, "");
    let (mut one, mut two) = (Browser::new(), Browser::new());
    for b in [&mut one, &mut two] {
        assert_eq!(sign_in(&mut h, b, &url, "bob", "12345678").status, 303);
    }
    let page = one.send(&mut h, Req::new("GET", "/logout"));
    let form = format!("csrf_token={}", input(&page, "csrf_token").unwrap());
    let kept = one.cookies.clone();
    assert_eq!(one.send(&mut h, Req::new("POST", "/logout").form(&form)).status, 200);
    let signed_in = |h: &mut Harness, b: &mut Browser| !text(&b.send(h, Req::new("GET", &url))).contains("name=\"password\"");
    assert!(!signed_in(&mut h, &mut one), "signed out");
    // Ended on the server, not only forgotten by the browser: the old cookie is worth nothing.
    one.cookies = kept;
    assert!(!signed_in(&mut h, &mut one), "the old session cookie no longer signs in");
    assert!(signed_in(&mut h, &mut two), "still signed in");
}

#[test]
fn code_redemption_errors() {
    let mut h = Harness::new();
    h.user("carol", "12345678");
    let (cid, secret) = h.web_client("");
    let (other, other_secret) = h.web_client("");
    let mut b = Browser::new();
    let code = code_for(&mut h, &mut b, &cid, ("carol", "12345678"));
    let cb = "redirect_uri=https%3A%2F%2Fapp.example%2Fcb";
    let cases: Vec<(Req, u16, &str)> = vec![
        (
            Req::new("POST", "/token").basic(&cid, &secret).form(&format!("grant_type=authorization_code&code={code}&{cb}&code_verifier={}", "x".repeat(43))),
            400,
            "invalid_grant",
        ),
        (Req::new("POST", "/token").basic(&cid, &secret).form(&format!("grant_type=authorization_code&code={code}&{cb}")), 400, "invalid_grant"),
        (
            Req::new("POST", "/token").basic(&cid, &secret).form(&format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}")),
            400,
            "invalid_grant",
        ),
        (
            Req::new("POST", "/token")
                .basic(&cid, &secret)
                .form(&format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fother&code_verifier={VERIFIER}")),
            400,
            "invalid_grant",
        ),
        (
            Req::new("POST", "/token").basic(&other, &other_secret).form(&format!("grant_type=authorization_code&code={code}&{cb}&code_verifier={VERIFIER}")),
            400,
            "invalid_grant",
        ),
        (
            Req::new("POST", "/token").basic(&cid, &secret).form(&format!("grant_type=authorization_code&code=nonsense&{cb}&code_verifier={VERIFIER}")),
            400,
            "invalid_grant",
        ),
        (Req::new("POST", "/token").basic(&cid, &secret).form(&format!("grant_type=authorization_code&{cb}&code_verifier={VERIFIER}")), 400, "invalid_request"),
        (
            Req::new("POST", "/token").basic(&cid, "wrong").form(&format!("grant_type=authorization_code&code={code}&{cb}&code_verifier={VERIFIER}")),
            401,
            "invalid_client",
        ),
        (
            Req::new("POST", "/token").form(&format!("grant_type=authorization_code&client_id={cid}&code={code}&{cb}&code_verifier={VERIFIER}")),
            401,
            "invalid_client",
        ),
    ];
    for (i, (req, status, code_)) in cases.into_iter().enumerate() {
        let r = h.send(req);
        assert_eq!((r.status, err(&r).as_str()), (status, code_), "case {i}: {}", text(&r));
    }
    // None of those used the code up.
    let ok = h.send(Req::new("POST", "/token").basic(&cid, &secret).form(&format!("grant_type=authorization_code&code={code}&{cb}&code_verifier={VERIFIER}")));
    assert_eq!(ok.status, 200, "{}", text(&ok));
    // A code lives 60 s.
    let late = code_for(&mut h, &mut b, &cid, ("carol", "12345678"));
    h.advance(60_000);
    let r = h.send(Req::new("POST", "/token").basic(&cid, &secret).form(&format!("grant_type=authorization_code&code={late}&{cb}&code_verifier={VERIFIER}")));
    assert_eq!(err(&r), "invalid_grant");
}

#[test]
fn consent_deny_csrf_and_escaping() {
    let mut h = Harness::new();
    h.user("dave", "12345678");
    let r = h.send(
        Req::new("POST", "/admin/clients")
            .bearer(ADMIN)
            .body(format!(r#"{{"name":"<script>alert(1)</script>","scopes":["read"],"grant_types":["authorization_code"],"redirect_uris":["{CB}"]}}"#)),
    );
    let cid = r.body_json()["client_id"].as_str().unwrap().to_string();
    let mut b = Browser::new();
    let url = authorize_url(&cid, "");
    assert_eq!(sign_in(&mut h, &mut b, &url, "dave", "12345678").status, 303);
    let consent = b.send(&mut h, Req::new("GET", &url));
    assert!(!text(&consent).contains("<script>alert(1)"), "the client's name is escaped");
    assert!(text(&consent).contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    for (name, value) in [("x-frame-options", "DENY"), ("cache-control", "no-store")] {
        assert_eq!(consent.header(name), Some(value));
    }
    assert!(consent.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
    // A POST without the CSRF token: 403, and no code.
    let before = h.app.objects.shards.borrow().values().map(|s| s.storage().count("a:")).sum::<usize>();
    let forged = format!(
        "response_type=code&client_id={cid}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_challenge={}&code_challenge_method=S256&decision=approve",
        s256(VERIFIER)
    );
    let r = b.send(&mut h, Req::new("POST", "/authorize").form(&forged));
    assert_eq!(r.status, 403);
    let r = b.send(&mut h, Req::new("POST", "/authorize").form(&format!("{forged}&csrf_token=wrong")));
    assert_eq!(r.status, 403);
    assert_eq!(h.app.objects.shards.borrow().values().map(|s| s.storage().count("a:")).sum::<usize>(), before);
    // Deny: back with access_denied, state and iss.
    let r = approve(&mut h, &mut b, &url, "deny");
    assert_eq!(r.status, 302);
    let q = redirect_query(&r);
    assert_eq!((q["error"].as_str(), q["state"].as_str(), q["iss"].as_str()), ("access_denied", "s 1", "https://auth.test"));
    assert!(!q.contains_key("code"));
}

#[test]
fn failed_logins_look_alike_and_are_limited() {
    let mut h = Harness::new();
    h.app.config.limits = Limits { failures_per_ip: 1000, failures_per_client: 3, failure_window_ms: 60_000, rate_window_ms: 60_000 };
    let id = h.user("erin", "12345678");
    h.user("frank", "12345678");
    h.send(Req::new("PATCH", &format!("/admin/users/{id}")).bearer(ADMIN).body(r#"{"disabled":true}"#));
    let mut b = Browser::new();
    let page = |h: &mut Harness, b: &mut Browser, u: &str, p: &str| {
        let r = sign_in(h, b, "/login", u, p);
        (r.status, text(&r).replace(&input(&r, "csrf_token").unwrap_or_default(), "").replace(u, "NAME"))
    };
    let wrong = page(&mut h, &mut b, "frank", "wrong password");
    let unknown = page(&mut h, &mut b, "nobody", "wrong password");
    let disabled = page(&mut h, &mut b, "erin", "12345678");
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong, unknown, "an unknown user looks like a wrong password");
    assert_eq!(wrong, disabled, "a disabled user looks like a wrong password");
    // frank has 1 failure; 2 more reach the limit; then even the right password is refused.
    assert_eq!(page(&mut h, &mut b, "frank", "x").0, 401);
    assert_eq!(page(&mut h, &mut b, "frank", "x").0, 401);
    let r = sign_in(&mut h, &mut b, "/login", "frank", "12345678");
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    // Another name from the same address is not blocked.
    assert_eq!(sign_in(&mut h, &mut b, "/login", "nobody", "x").status, 401);
    h.advance(120_000);
    assert_eq!(sign_in(&mut h, &mut b, "/login", "FRANK", "12345678").status, 303, "usernames ignore case");
}

#[test]
fn disabling_a_user_ends_sessions_and_tokens_at_once() {
    let mut h = Harness::new();
    let gail = h.user("gail", "12345678");
    let (cid, secret) = h.web_client("");
    let mut b = Browser::new();
    let code = code_for(&mut h, &mut b, &cid, ("gail", "12345678"));
    let t = h.send(
        Req::new("POST", "/token")
            .basic(&cid, &secret)
            .form(&format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}")),
    );
    let access = t.body_json()["access_token"].as_str().unwrap().to_string();
    // An unredeemed code from before the disable.
    let pending = code_for(&mut h, &mut b, &cid, ("gail", "12345678"));
    let r = h.send(Req::new("PATCH", &format!("/admin/users/{gail}")).bearer(ADMIN).body(r#"{"disabled":true}"#));
    assert_eq!((r.status, r.body_json()["disabled"].as_bool()), (200, Some(true)));
    assert_eq!(h.validate(&access, "10.0.0.1").status, 401, "the token died with the disable");
    let again = b.send(&mut h, Req::new("GET", &authorize_url(&cid, "")));
    assert_eq!(again.status, 200, "the session ended: the login page again");
    assert!(input(&again, "password").is_none() && text(&again).contains("name=\"password\""));
    let r = redeem(&mut h, &cid, &pending);
    assert_eq!(r.status, 401, "{}", text(&r));
    let r = h.send(
        Req::new("POST", "/token")
            .basic(&cid, &secret)
            .form(&format!("grant_type=authorization_code&code={pending}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}")),
    );
    assert_eq!(err(&r), "invalid_grant", "a code from before the disable is dead");
    // Re-enabling revives nothing.
    h.send(Req::new("PATCH", &format!("/admin/users/{gail}")).bearer(ADMIN).body(r#"{"disabled":false}"#));
    assert_eq!(h.validate(&access, "10.0.0.1").status, 401);
}

#[test]
fn revoking_a_grant_kills_only_that_clients_tokens() {
    let mut h = Harness::new();
    let hal = h.user("hal", "12345678");
    let (a, a_secret) = h.web_client("");
    let (c, c_secret) = h.web_client("");
    let mut b = Browser::new();
    let tok = |h: &mut Harness, b: &mut Browser, cid: &str, secret: &str| {
        let code = code_for(h, b, cid, ("hal", "12345678"));
        let r = h.send(
            Req::new("POST", "/token")
                .basic(cid, secret)
                .form(&format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}")),
        );
        r.body_json()["access_token"].as_str().unwrap().to_string()
    };
    let ta = tok(&mut h, &mut b, &a, &a_secret);
    let tc = tok(&mut h, &mut b, &c, &c_secret);
    let r = h.send(Req::new("DELETE", &format!("/admin/users/{hal}/grants/{a}")).bearer(ADMIN));
    assert_eq!(r.status, 204);
    assert_eq!(h.validate(&ta, "10.0.0.1").status, 401);
    assert_eq!(h.validate(&tc, "10.0.0.1").status, 200, "the other client's tokens live on");
    let grants = h.send(Req::new("GET", &format!("/admin/users/{hal}/grants")).bearer(ADMIN)).body_json();
    assert_eq!(grants["grants"].as_array().unwrap().len(), 1);
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/users/{hal}/grants/{a}")).bearer(ADMIN)).status, 404);
    // The consent is forgotten: the next authorization asks again.
    let r = b.send(&mut h, Req::new("GET", &authorize_url(&a, "")));
    assert_eq!(r.status, 200);
    assert!(input(&r, "code_challenge").is_some(), "the consent page");
}

#[test]
fn a_failed_kill_is_completed_without_repeating_the_call() {
    let mut h = Harness::new();
    let ivy = h.user("ivy", "12345678");
    let (cid, secret) = h.web_client("");
    let mut b = Browser::new();
    let mut token = |h: &mut Harness| {
        let code = code_for(h, &mut b, &cid, ("ivy", "12345678"));
        let t = h.send(
            Req::new("POST", "/token")
                .basic(&cid, &secret)
                .form(&format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}")),
        );
        t.body_json()["access_token"].as_str().unwrap().to_string()
    };
    // Revoking a grant is an intent: cut after it was recorded (the object calls: pending
    // intents, the grants, the record's pending intents, the intent, the grant marked revoked,
    // then the shard's kill fails), the object's alarm completes it, unrepeated.
    let t1 = token(&mut h);
    let path = format!("/admin/users/{ivy}/grants/{cid}");
    h.app.objects.faults.fail_nth(6);
    assert_eq!(h.send(Req::new("DELETE", &path).bearer(ADMIN)).status, 503);
    assert_eq!(h.validate(&t1, "10.0.0.1").status, 200, "half done: the token lives on until the intent is completed");
    h.advance(crate::shard::intents::INTENT_DELAY_MS);
    assert_eq!(h.alarms(), 1);
    assert_eq!(h.validate(&t1, "10.0.0.1").status, 401);
    assert_eq!(h.send(Req::new("DELETE", &path).bearer(ADMIN)).status, 404, "then it is gone");
    // Deleting the user is an intent: cut after it was recorded (the object calls: the
    // read's pending intents and the user, then the record's, the intent, the user marked
    // deleted, then the kill fails), it is completed by the next read, unrepeated.
    let t2 = token(&mut h);
    let path = format!("/admin/users/{ivy}");
    h.app.objects.faults.fail_nth(6);
    assert_eq!(h.send(Req::new("DELETE", &path).bearer(ADMIN)).status, 503);
    assert_eq!(h.send(Req::new("GET", &path).bearer(ADMIN)).status, 404, "the read completes the deletion first");
    assert_eq!(h.validate(&t2, "10.0.0.1").status, 401);
    assert_eq!(h.send(Req::new("DELETE", &path).bearer(ADMIN)).status, 404);
}
