//! Token exchange (RFC 8693) through the handlers: seed 004's exact request, trusted issuers,
//! JWKS caching and refetching, every refusal, and user tokens as subjects
//! (`docs/http.md#token-exchange`).

use super::browser::{code_for, text, Browser};
use super::*;
use crate::store::Fetched;
use crate::testing::{sign_es256, ES256_X, ES256_Y};

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const JWKS: &str = "https://idp.example/jwks.json";

fn jwks(kid: &str) -> Fetched {
    let doc = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": ES256_X, "y": ES256_Y, "kid": kid, "use": "sig"}]});
    Fetched { status: 200, body: doc.to_string().into_bytes(), cache_control: None }
}

/// A trusted issuer (with the audience its tokens name, as every issuer must have), its JWKS
/// with the key `k1`, and a client allowed to exchange with its own token.
fn setup(h: &mut Harness) -> (String, String, String) {
    h.app.fetch.answers.borrow_mut().insert(JWKS.into(), jwks("k1"));
    let r =
        h.send(Req::new("POST", "/admin/issuers").bearer(ADMIN).body(format!(r#"{{"issuer":"https://idp.example","jwks_uri":"{JWKS}","audience":"edge"}}"#)));
    assert_eq!(r.status, 201, "{}", text(&r));
    let (id, secret) = h.create(&format!(r#"{{"name":"svc","scopes":["read","write"],"grant_types":["client_credentials","{EXCHANGE}"]}}"#));
    let own = h.token(&id, &secret);
    (id, secret, own)
}

/// A subject token's usual claims: for `https://idp.example`'s user `ext-user-7`, ten minutes.
fn claims(h: &Harness) -> serde_json::Value {
    json!({"iss": "https://idp.example", "sub": "ext-user-7", "exp": h.now / 1000 + 600, "aud": "edge"})
}

fn idp_token(h: &Harness, kid: &str, extra: serde_json::Value) -> String {
    let mut c = claims(h);
    c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    sign_es256(&json!({"alg": "ES256", "kid": kid, "typ": "JWT"}), &c)
}

/// Sign a subject token with `kid` and `claims` and exchange it as in seed 004
/// (`docs/http.md#token-exchange`).
fn exchange_jwt(h: &mut Harness, own: &str, kid: &str, claims: serde_json::Value, extra: &str) -> HttpResponse {
    let subject = idp_token(h, kid, claims);
    seed(h, own, &subject, extra)
}

/// Seed 004's request, as written (values unquoted): the client's own token both in
/// `Authorization` with no scheme and as `actor_token`.
fn seed(h: &mut Harness, own: &str, subject: &str, extra: &str) -> HttpResponse {
    let body = format!("grant_type={EXCHANGE}&actor_token_type={AT}&actor_token={own}&subject_token_type={AT}&subject_token={subject}{extra}");
    h.send(Req::new("POST", "/token").header("authorization", own).form(&body))
}

#[test]
fn seed_004_exactly() {
    let mut h = Harness::new();
    let (id, _, own) = setup(&mut h);
    let subject = idp_token(&h, "k1", json!({}));
    let r = seed(&mut h, &own, &subject, "");
    assert_eq!(r.status, 200, "{}", text(&r));
    let v = r.body_json();
    assert_eq!(v["issued_token_type"], AT);
    assert_eq!((v["token_type"].as_str(), v["scope"].as_str()), (Some("Bearer"), Some("read write")));
    assert!(v["refresh_token"].is_null());
    let who = h.validate(v["access_token"].as_str().unwrap(), "10.0.0.1").body_json();
    assert_eq!((who["sub"].as_str(), who["subject_issuer"].as_str()), (Some("ext-user-7"), Some("https://idp.example")));
    assert_eq!(who["act"], json!({"sub": id}));
    assert_eq!(who["client_id"], id);
    // Seed 004's "Access protected resource": the new token, bare.
    let bare = h.send(Req::new("GET", "/validate").header("authorization", v["access_token"].as_str().unwrap()));
    assert_eq!(bare.status, 200);
}

#[test]
fn other_ways_to_authenticate_and_bearer() {
    let mut h = Harness::new();
    let (id, secret, own) = setup(&mut h);
    let subject = idp_token(&h, "k1", json!({}));
    let body = format!("grant_type={EXCHANGE}&actor_token_type={AT}&actor_token={own}&subject_token_type={JWT}&subject_token={subject}");
    assert_eq!(h.send(Req::new("POST", "/token").bearer(&own).form(&body)).status, 200);
    assert_eq!(h.send(Req::new("POST", "/token").basic(&id, &secret).form(&body)).status, 200);
    // A token that is not a live client token of this client: 401 with a Bearer challenge.
    let forged = format!("{id}.{}", "A".repeat(43));
    let r = h.send(Req::new("POST", "/token").bearer(&forged).form(&body));
    assert_eq!((r.status, err(&r).as_str()), (401, "invalid_client"));
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    // The token from another address (IP binding) does not authenticate.
    let r = h.send(Req::new("POST", "/token").bearer(&own).ip(Some("10.9.9.9")).form(&body));
    assert_eq!(r.status, 401);
    // Both a token and a secret: one method only.
    let r = h.send(Req::new("POST", "/token").bearer(&own).form(&format!("{body}&client_secret={secret}")));
    assert_eq!(err(&r), "invalid_request");
}

#[test]
fn refusals() {
    let mut h = Harness::new();
    let (_, _, own) = setup(&mut h);
    let now = h.now / 1000;
    let hs256 = {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(format!(r#"{{"iss":"https://idp.example","sub":"x","exp":{}}}"#, now + 60))
        )
    };
    let none = {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(format!(r#"{{"iss":"https://idp.example","sub":"x","exp":{}}}"#, now + 60))
        )
    };
    let mut tampered = idp_token(&h, "k1", json!({}));
    tampered.pop();
    tampered.push('A');
    let cases: Vec<(&str, String, &str)> = vec![
        ("expired", idp_token(&h, "k1", json!({"exp": now - 61})), "invalid_grant"),
        ("not yet valid", idp_token(&h, "k1", json!({"nbf": now + 120})), "invalid_grant"),
        ("wrong issuer", idp_token(&h, "k1", json!({"iss": "https://other.example"})), "invalid_grant"),
        ("wrong audience", idp_token(&h, "k1", json!({"aud": "someone-else"})), "invalid_grant"),
        ("bad signature", tampered, "invalid_grant"),
        ("alg none", none, "invalid_grant"),
        ("HS256 with the public key", hs256, "invalid_grant"),
        ("not a JWT", "garbage".into(), "invalid_grant"),
        ("unknown kid", idp_token(&h, "k9", json!({})), "invalid_grant"),
        ("exp whose milliseconds wrap", idp_token(&h, "k1", json!({"exp": 18_446_744_073_709_552u64})), "invalid_grant"),
        ("exp beyond the year 9999", idp_token(&h, "k1", json!({"exp": 1e20})), "invalid_grant"),
        ("exp u64::MAX", idp_token(&h, "k1", json!({"exp": u64::MAX})), "invalid_grant"),
        ("exp i64::MAX", idp_token(&h, "k1", json!({"exp": i64::MAX})), "invalid_grant"),
        ("exp i64::MIN", idp_token(&h, "k1", json!({"exp": i64::MIN})), "invalid_grant"),
        ("nbf u64::MAX", idp_token(&h, "k1", json!({"nbf": u64::MAX})), "invalid_grant"),
        ("crit null", sign_es256(&json!({"alg": "ES256", "kid": "k1", "crit": null}), &claims(&h)), "invalid_grant"),
        ("crit empty", sign_es256(&json!({"alg": "ES256", "kid": "k1", "crit": []}), &claims(&h)), "invalid_grant"),
    ];
    for (name, subject, want) in cases {
        let r = seed(&mut h, &own, &subject, "");
        assert_eq!((r.status, err(&r).as_str()), (400, want), "{name}: {}", text(&r));
    }
    let good = idp_token(&h, "k1", json!({}));
    let param_cases: Vec<(&str, String, &str)> = vec![
        ("audience", "&audience=https://api.example".into(), "invalid_target"),
        ("resource", "&resource=https://api.example".into(), "invalid_target"),
        ("requested a refresh token", "&requested_token_type=urn:ietf:params:oauth:token-type:refresh_token".into(), "invalid_request"),
        ("widened scope", "&scope=admin".into(), "invalid_scope"),
    ];
    for (name, extra, want) in param_cases {
        let r = seed(&mut h, &own, &good, &extra);
        assert_eq!(err(&r), want, "{name}");
    }
    // Missing pieces.
    let r =
        h.send(Req::new("POST", "/token").header("authorization", &own).form(&format!("grant_type={EXCHANGE}&subject_token={good}&subject_token_type={JWT}")));
    assert_eq!(err(&r), "invalid_request", "no actor token");
    // The actor token must be this client's.
    let (other, other_secret) = h.create(r#"{"name":"other"}"#);
    let foreign = h.token(&other, &other_secret);
    let r = h.send(
        Req::new("POST", "/token")
            .header("authorization", &own)
            .form(&format!("grant_type={EXCHANGE}&actor_token_type={AT}&actor_token={foreign}&subject_token_type={JWT}&subject_token={good}")),
    );
    assert_eq!(err(&r), "invalid_grant");
    // A client without the grant.
    let r = h.send(
        Req::new("POST", "/token")
            .header("authorization", &foreign)
            .form(&format!("grant_type={EXCHANGE}&actor_token_type={AT}&actor_token={foreign}&subject_token_type={JWT}&subject_token={good}")),
    );
    assert_eq!(err(&r), "unauthorized_client");
}

#[test]
fn a_subject_already_valid_is_accepted_with_its_nbf_and_iat() {
    let mut h = Harness::new();
    let (_, _, own) = setup(&mut h);
    let now = h.now / 1000;
    let r = exchange_jwt(&mut h, &own, "k1", json!({"nbf": now - 10, "iat": now - 10}), "");
    assert_eq!(r.status, 200, "{}", text(&r));
}

#[test]
fn trusted_issuers_are_cached_per_isolate_for_client_cache_seconds() {
    let mut h = Harness::new();
    h.app.config.client_cache_ms = 5_000;
    let (_, _, own) = setup(&mut h);
    assert_eq!(exchange_jwt(&mut h, &own, "k1", json!({}), "").status, 200);
    // The issuer disappears from KV behind the admin API's back (as when another location
    // deleted it): this isolate trusts it until its cached list is 5 s old, then no longer.
    h.app.kv.map.borrow_mut().retain(|k, _| !k.starts_with("issuer:"));
    h.advance(4_000);
    assert_eq!(exchange_jwt(&mut h, &own, "k1", json!({}), "").status, 200, "cached");
    h.advance(1_000);
    assert_eq!(err(&exchange_jwt(&mut h, &own, "k1", json!({}), "")), "invalid_grant", "read again, and gone");
}

#[test]
fn the_new_token_never_outlives_the_subject_and_scope_narrows() {
    let mut h = Harness::new();
    let (_, _, own) = setup(&mut h);
    let now = h.now / 1000;
    let subject = idp_token(&h, "k1", json!({"exp": now + 100}));
    let r = seed(&mut h, &own, &subject, "&scope=read");
    let v = r.body_json();
    assert_eq!((v["expires_in"].as_u64(), v["scope"].as_str()), (Some(100), Some("read")));
    let t = v["access_token"].as_str().unwrap().to_string();
    h.advance(100_000);
    assert_eq!(h.validate(&t, "10.0.0.1").status, 401);
}

#[test]
fn jwks_is_cached_refetched_on_a_new_kid_at_most_once_a_minute() {
    let mut h = Harness::new();
    let (_, _, own) = setup(&mut h);
    assert_eq!(exchange_jwt(&mut h, &own, "k1", json!({}), "").status, 200);
    assert_eq!(exchange_jwt(&mut h, &own, "k1", json!({}), "").status, 200);
    assert_eq!(h.app.fetch.requests.get(), 1, "the keys are cached");
    // The issuer rotates to k2 within the minute: no refetch yet, so k2 is unknown.
    h.app.fetch.answers.borrow_mut().insert(JWKS.into(), jwks("k2"));
    h.advance(30_000);
    assert_eq!(err(&exchange_jwt(&mut h, &own, "k2", json!({}), "")), "invalid_grant");
    assert_eq!(h.app.fetch.requests.get(), 1, "an unknown kid refetches at most once a minute");
    // A minute after the last fetch, the unknown kid refetches, and k2 works.
    h.advance(31_000);
    assert_eq!(exchange_jwt(&mut h, &own, "k2", json!({}), "").status, 200);
    assert_eq!(h.app.fetch.requests.get(), 2);
    // A flood of unknown kids costs at most one fetch a minute.
    for _ in 0..10 {
        exchange_jwt(&mut h, &own, "k-unknown", json!({}), "");
    }
    assert_eq!(h.app.fetch.requests.get(), 2);
}

#[test]
fn an_unreachable_jwks_is_a_clean_invalid_grant() {
    let mut h = Harness::new();
    let (_, _, own) = setup(&mut h);
    h.app.fetch.down.set(true);
    let r = exchange_jwt(&mut h, &own, "k1", json!({}), "");
    assert_eq!((r.status, err(&r).as_str()), (400, "invalid_grant"));
    // A JWKS that is not one: likewise.
    h.app.fetch.down.set(false);
    h.app.fetch.answers.borrow_mut().insert(JWKS.into(), Fetched { status: 200, body: b"<html>".to_vec(), cache_control: None });
    h.advance(61_000);
    let r = exchange_jwt(&mut h, &own, "k1", json!({}), "");
    assert_eq!(err(&r), "invalid_grant");
}

#[test]
fn a_user_token_as_subject_dies_with_its_user() {
    let mut h = Harness::new();
    let (_, _, own) = setup(&mut h);
    let uid = h.user("uma", "12345678");
    let (web, web_secret) = h.web_client("");
    let mut b = Browser::new();
    let code = code_for(&mut h, &mut b, &web, ("uma", "12345678"));
    let r = h.send(Req::new("POST", "/token").basic(&web, &web_secret).form(&format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    )));
    let user_token = r.body_json()["access_token"].as_str().unwrap().to_string();
    let r = seed(&mut h, &own, &user_token, "");
    assert_eq!(r.status, 200, "{}", text(&r));
    let exchanged = r.body_json()["access_token"].as_str().unwrap().to_string();
    let who = h.validate(&exchanged, "10.0.0.1").body_json();
    assert_eq!((who["sub"].as_str(), who["username"].as_str()), (Some(uid.as_str()), Some("uma")));
    assert_eq!(who["subject_issuer"], "https://auth.test");
    // A client-credentials token is no user: not a subject.
    assert_eq!(err(&seed(&mut h, &own, &own, "")), "invalid_grant");
    // Disabling the user kills the exchanged token too.
    h.send(Req::new("PATCH", &format!("/admin/users/{uid}")).bearer(ADMIN).body(r#"{"disabled":true}"#));
    assert_eq!(h.validate(&exchanged, "10.0.0.1").status, 401);
}

#[test]
fn issuers_api() {
    let mut h = Harness::new();
    // RFC 8725 §3.9: without an audience, any JWT of the issuer (an ID token for another app
    // included) would pass; so it is required, a non-empty string.
    for audience in ["", r#","audience":null"#, r#","audience":"""#, r#","audience":5"#, r#","audience":["edge"]"#] {
        let r = h.send(Req::new("POST", "/admin/issuers").bearer(ADMIN).body(format!(r#"{{"issuer":"https://idp.example","jwks_uri":"{JWKS}"{audience}}}"#)));
        assert_eq!(
            (r.status, r.body_json()["error"].as_str(), r.body_json()["field"].as_str()),
            (400, Some("invalid_request"), Some("audience")),
            "{audience}"
        );
    }
    let r =
        h.send(Req::new("POST", "/admin/issuers").bearer(ADMIN).body(format!(r#"{{"issuer":"https://idp.example","jwks_uri":"{JWKS}","audience":"edge"}}"#)));
    assert_eq!(r.status, 201);
    assert_eq!(r.body_json()["audience"], "edge");
    let id = r.body_json()["issuer_id"].as_str().unwrap().to_string();
    let dup =
        h.send(Req::new("POST", "/admin/issuers").bearer(ADMIN).body(format!(r#"{{"issuer":"https://idp.example","jwks_uri":"{JWKS}","audience":"edge"}}"#)));
    assert_eq!((dup.status, dup.body_json()["field"].as_str()), (409, Some("issuer")));
    assert_eq!(h.send(Req::new("GET", "/admin/issuers").bearer(ADMIN)).body_json()["issuers"][0]["issuer_id"], id);
    assert_eq!(h.send(Req::new("GET", &format!("/admin/issuers/{id}")).bearer(ADMIN)).status, 200);
    let bad =
        h.send(Req::new("POST", "/admin/issuers").bearer(ADMIN).body(r#"{"issuer":"https://x.example","jwks_uri":"http://x.example/jwks","audience":"edge"}"#));
    assert_eq!(bad.body_json()["field"], "jwks_uri");
    assert_eq!(h.send(Req::new("DELETE", &format!("/admin/issuers/{id}")).bearer(ADMIN)).status, 204);
    assert_eq!(h.send(Req::new("GET", &format!("/admin/issuers/{id}")).bearer(ADMIN)).status, 404);
    assert_eq!(h.send(Req::new("GET", "/admin/issuers")).status, 401);
}

#[test]
fn a_stored_issuer_without_an_audience_is_trusted_with_nothing() {
    // A record from before the audience was required: its tokens are refused (fail closed),
    // whatever their `aud`, and its JWKS is not even fetched.
    let mut h = Harness::new();
    let (_, _, own) = setup(&mut h);
    let key = h.app.kv.map.borrow().keys().find(|k| k.starts_with("issuer:")).unwrap().clone();
    let mut record: serde_json::Value = serde_json::from_str(&h.app.kv.map.borrow()[&key]).unwrap();
    record.as_object_mut().unwrap().remove("audience");
    h.app.kv.map.borrow_mut().insert(key, record.to_string());
    h.advance(h.app.config.client_cache_ms);
    for aud in [json!("edge"), json!(null), json!(["edge"])] {
        let r = exchange_jwt(&mut h, &own, "k1", json!({"aud": aud}), "");
        assert_eq!((r.status, err(&r).as_str()), (400, "invalid_grant"), "aud {aud}: {}", text(&r));
    }
    assert_eq!(h.app.fetch.requests.get(), 0);
}

#[test]
fn far_future_exp_is_fine_up_to_the_year_9999() {
    let mut h = Harness::new();
    let (_, _, own) = setup(&mut h);
    // The last second of 9999: a date, and the new token simply lives its client's usual time.
    let r = exchange_jwt(&mut h, &own, "k1", json!({"exp": 253_402_300_799u64}), "");
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.body_json()["expires_in"].as_u64(), Some(crate::client::settings::DEFAULT_TOKEN_TTL as u64));
    let r = exchange_jwt(&mut h, &own, "k1", json!({"exp": 253_402_300_800u64}), "");
    assert_eq!(err(&r), "invalid_grant");
}

#[test]
fn keys_not_confirmed_for_a_day_are_dropped() {
    const HOUR: u64 = 3_600_000;
    let mut h = Harness::new();
    let (id, secret, own) = setup(&mut h);
    assert_eq!(exchange_jwt(&mut h, &own, "k1", json!({}), "").status, 200);
    assert_eq!(h.app.fetch.requests.get(), 1);
    // Upstream removes k1, and its JWKS becomes unreachable: a failed refetch keeps what we had...
    h.app.fetch.answers.borrow_mut().insert(JWKS.into(), jwks("k2"));
    h.app.fetch.down.set(true);
    for hour in 1..24 {
        h.advance(HOUR);
        let own = h.token(&id, &secret);
        let r = exchange_jwt(&mut h, &own, "k1", json!({}), "");
        assert_eq!(r.status, 200, "hour {hour}: {}", text(&r));
    }
    assert_eq!(h.app.fetch.requests.get(), 24, "each hour the cached set is old and asked for again");
    // ...but does not confirm it: a day after the last successful fetch, k1 is no longer trusted.
    h.advance(HOUR - 1);
    let own = h.token(&id, &secret);
    assert_eq!(exchange_jwt(&mut h, &own, "k1", json!({}), "").status, 200, "a millisecond short of the day");
    h.advance(1);
    let r = exchange_jwt(&mut h, &own, "k1", json!({}), "");
    assert_eq!((r.status, err(&r).as_str()), (400, "invalid_grant"), "{}", text(&r));
    h.advance(30 * HOUR);
    let own = h.token(&id, &secret);
    assert_eq!(err(&exchange_jwt(&mut h, &own, "k1", json!({}), "")), "invalid_grant", "and stays dropped");
    // Once a fetch succeeds again, the issuer's current keys work, and the removed one does not.
    h.app.fetch.down.set(false);
    h.advance(10 * 60_000);
    let own = h.token(&id, &secret);
    assert_eq!(exchange_jwt(&mut h, &own, "k2", json!({}), "").status, 200);
    assert_eq!(err(&exchange_jwt(&mut h, &own, "k1", json!({}), "")), "invalid_grant");
}
