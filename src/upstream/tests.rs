use super::*;
use crate::provider::parse_new;
use crate::testing::SeqRng;
use serde_json::json;

fn oidc() -> Provider {
    let mut p = parse_new(br#"{"name":"A","kind":"oidc","issuer":"https://i.example","client_id":"edge","client_secret":"s:x"}"#, "pid".into(), 0).unwrap();
    p.authorization_endpoint = "https://i.example/auth?tenant=1".into();
    p.token_endpoint = "https://i.example/token".into();
    p
}

fn ok(status: u16, body: serde_json::Value) -> Result<Fetched, String> {
    Ok(Fetched { status, body: body.to_string().into_bytes(), cache_control: None })
}

#[test]
fn return_to_is_a_local_path_or_the_console() {
    for ok in ["/", "/x", "/authorize?client_id=a&redirect_uri=https%3A%2F%2Fapp", "/device?user_code=ABCD-EFGH"] {
        assert_eq!(local_return(Some(ok)), ok);
    }
    let long = format!("/{}", "a".repeat(MAX_RETURN));
    for bad in [
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "http:evil.example",
        "https://evil.example/x",
        "x",
        "",
        "/a b",
        "/a\tb",
        "/a\nb",
        long.as_str(),
    ] {
        assert_eq!(local_return(Some(bad)), DEFAULT_RETURN, "{bad:?}");
    }
    assert_eq!(local_return(Some(&long[..MAX_RETURN])), &long[..MAX_RETURN]);
    assert_eq!(local_return(None), DEFAULT_RETURN);
}

#[test]
fn the_authorization_url_and_the_state_cookie() {
    let p = oidc();
    let pending = Pending::start(&p, "/x".into(), &mut SeqRng(1), 7);
    assert!(pkce::well_formed(&pending.verifier) && pending.state.len() >= 43 && pending.nonce.as_ref().unwrap().len() >= 43);
    assert_ne!(pending.state, pending.verifier);
    let url = authorization_url(&p, "https://auth.test/login/pid/callback", &pending);
    assert!(
        url.starts_with("https://i.example/auth?tenant=1&response_type=code&client_id=edge&redirect_uri=https%3A%2F%2Fauth.test%2Flogin%2Fpid%2Fcallback&"),
        "{url}"
    );
    for part in [
        format!("state={}", pending.state),
        format!("code_challenge={}", pkce::s256(&pending.verifier)),
        "code_challenge_method=S256".into(),
        "scope=openid+email+profile".into(),
        format!("nonce={}", pending.nonce.clone().unwrap()),
    ] {
        assert!(url.contains(&part), "{url} lacks {part}");
    }
    assert_eq!(Pending::decode(&pending.encode()), Some(pending.clone()));
    assert_eq!(Pending::decode("not-base64!"), None);
    let mut oauth2 = p.clone();
    oauth2.kind = Kind::Oauth2;
    oauth2.scopes = String::new();
    let plain = Pending::start(&oauth2, "/x".into(), &mut SeqRng(1), 7);
    assert_eq!(plain.nonce, None);
    let url = authorization_url(&oauth2, "r", &plain);
    assert!(!url.contains("nonce=") && !url.contains("scope="), "{url}");
}

#[test]
fn callbacks_must_carry_this_browsers_state() {
    let p = oidc();
    let pending = Pending::start(&p, "/x".into(), &mut SeqRng(1), 1_000);
    let s = Some(pending.state.as_str());
    assert_eq!(check_callback(Some(&pending), "pid", s, Some("c"), None, 1_000), Ok("c"));
    assert_eq!(check_callback(Some(&pending), "pid", s, Some("c"), None, 1_000 + PENDING_MS - 1), Ok("c"));
    assert_eq!(check_callback(Some(&pending), "pid", s, Some("c"), None, 1_000 + PENDING_MS), Err(Refusal::State), "expired");
    assert_eq!(check_callback(None, "pid", s, Some("c"), None, 1_000), Err(Refusal::State), "no cookie");
    assert_eq!(check_callback(Some(&pending), "other", s, Some("c"), None, 1_000), Err(Refusal::State), "another provider's");
    assert_eq!(check_callback(Some(&pending), "pid", Some("x"), Some("c"), None, 1_000), Err(Refusal::State));
    assert_eq!(check_callback(Some(&pending), "pid", None, Some("c"), None, 1_000), Err(Refusal::State));
    assert_eq!(check_callback(Some(&pending), "pid", s, None, None, 1_000), Err(Refusal::NoCode));
    assert_eq!(check_callback(Some(&pending), "pid", s, Some(""), None, 1_000), Err(Refusal::NoCode));
    assert_eq!(check_callback(Some(&pending), "pid", s, Some("c"), Some("access_denied"), 1_000), Err(Refusal::Provider("access_denied".into())));
    assert_eq!(check_callback(Some(&pending), "pid", s, None, Some("<b>"), 1_000), Err(Refusal::Provider("error".into())));
    assert_eq!(check_callback(Some(&pending), "pid", Some("x"), None, Some("access_denied"), 1_000), Err(Refusal::State), "state first");
    for r in [Refusal::NotLinked, Refusal::Disabled] {
        assert_eq!(r.status(), 403);
    }
    assert_eq!(Refusal::State.status(), 400);
}

#[test]
fn code_exchange_requests() {
    let mut p = oidc();
    let r = token_request(&p, "https://auth.test/cb", "c o", "v");
    let h = |r: &Outbound, n: &str| r.headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
    assert_eq!((r.method, r.url.as_str()), ("POST", "https://i.example/token"));
    assert_eq!(h(&r, "authorization").as_deref(), Some(format!("Basic {}", B64.encode("edge:s%3Ax")).as_str()), "each part form-encoded");
    assert_eq!(h(&r, "accept").as_deref(), Some("application/json"));
    assert_eq!(h(&r, "user-agent").as_deref(), Some(USER_AGENT));
    assert_eq!(r.body.as_deref(), Some("grant_type=authorization_code&code=c+o&redirect_uri=https%3A%2F%2Fauth.test%2Fcb&code_verifier=v"));
    assert!(!format!("{r:?}").contains("s%3Ax") && !format!("{r:?}").contains(&B64.encode("edge:s%3Ax")));
    p.secret_post = true;
    let r = token_request(&p, "r", "c", "v");
    assert_eq!(h(&r, "authorization"), None);
    assert!(r.body.as_deref().unwrap().ends_with("&client_id=edge&client_secret=s%3Ax"));
    let u = userinfo_request("https://i.example/me", "at");
    assert_eq!((u.method, h(&u, "authorization").as_deref(), h(&u, "user-agent").is_some()), ("GET", Some("Bearer at"), true));
}

#[test]
fn token_responses() {
    let t = token_response(ok(200, json!({"access_token": "a", "id_token": "i"})), Kind::Oidc).unwrap();
    assert_eq!((t.access_token.as_deref(), t.id_token.as_deref()), (Some("a"), Some("i")));
    assert!(token_response(ok(200, json!({"access_token": "a"})), Kind::Oidc).is_err());
    assert!(token_response(ok(200, json!({"id_token": "i"})), Kind::Oauth2).is_err());
    assert!(token_response(ok(200, json!({"access_token": "a"})), Kind::Oauth2).is_ok());
    assert!(token_response(ok(200, json!({"error": "bad_verification_code", "access_token": "a"})), Kind::Oauth2).is_err(), "GitHub's 200 error");
    assert!(token_response(ok(400, json!({"access_token": "a", "id_token": "i"})), Kind::Oidc).is_err());
    assert!(token_response(Err("down".into()), Kind::Oidc).is_err());
    assert!(token_response(Ok(Fetched { status: 200, body: b"access_token=a".to_vec(), cache_control: None }), Kind::Oauth2).is_err());
}

#[test]
fn id_token_claims() {
    let p = oidc();
    let base = json!({"iss": "https://i.example", "aud": "edge", "sub": "s1", "exp": 1_000, "nonce": "n", "preferred_username": "ann", "name": "Ann"});
    let id = id_token_identity(&base, &p, Some("n"), 900).unwrap();
    assert_eq!(id, Identity { subject: "s1".into(), username: Some("ann".into()), name: Some("Ann".into()) });
    let bent = |k: &str, v: serde_json::Value| {
        let mut c = base.clone();
        c[k] = v;
        c
    };
    assert_eq!(id_token_identity(&bent("iss", json!("https://x")), &p, Some("n"), 900), Err(Refusal::IdToken(JwtError::WrongIssuer)));
    assert_eq!(id_token_identity(&bent("aud", json!("other")), &p, Some("n"), 900), Err(Refusal::IdToken(JwtError::WrongAudience)));
    assert_eq!(id_token_identity(&bent("nonce", json!("m")), &p, Some("n"), 900), Err(Refusal::Nonce));
    assert_eq!(id_token_identity(&base, &p, None, 900), Err(Refusal::Nonce));
    let mut no_nonce = base.clone();
    no_nonce.as_object_mut().unwrap().remove("nonce");
    assert_eq!(id_token_identity(&no_nonce, &p, Some("n"), 900), Err(Refusal::Nonce));
    assert_eq!(id_token_identity(&base, &p, Some("n"), 1_000 + jwt::SKEW_S), Err(Refusal::IdToken(JwtError::Expired)));
    assert!(id_token_identity(&bent("aud", json!(["edge", "x"])), &p, Some("n"), 900).is_err(), "several audiences need azp");
    let mut azp = bent("aud", json!(["edge", "x"]));
    azp["azp"] = json!("edge");
    assert!(id_token_identity(&azp, &p, Some("n"), 900).is_ok());
    assert!(id_token_identity(&bent("aud", json!(["edge"])), &p, Some("n"), 900).is_ok());
}

#[test]
fn userinfo_claims() {
    let map = ClaimMap { subject: "id".into(), username: Some("login".into()), name: Some("name".into()) };
    let id = userinfo_identity(ok(200, json!({"id": 123, "login": "octo", "name": "Octo"})), &map).unwrap();
    assert_eq!(id, Identity { subject: "123".into(), username: Some("octo".into()), name: Some("Octo".into()) });
    assert_eq!(userinfo_identity(ok(200, json!({"id": "abc"})), &map).unwrap().subject, "abc");
    assert_eq!(userinfo_identity(ok(200, json!({"id": -7})), &map).unwrap().subject, "-7");
    assert_eq!(userinfo_identity(ok(200, json!({"id": u64::MAX})), &map).unwrap().subject, u64::MAX.to_string());
    for bad in [json!({"id": 1.5}), json!({"id": ""}), json!({"id": true}), json!({"login": "x"})] {
        assert!(userinfo_identity(ok(200, bad.clone()), &map).is_err(), "{bad}");
    }
    assert!(userinfo_identity(ok(401, json!({"id": 1})), &map).is_err());
    let id = Identity { subject: "s".into(), username: None, name: Some("N".into()) };
    let merged = merge_userinfo(id.clone(), ok(200, json!({"sub": "s", "preferred_username": "u", "name": "Other"}))).unwrap();
    assert_eq!((merged.username.as_deref(), merged.name.as_deref()), (Some("u"), Some("N")));
    assert!(merge_userinfo(id.clone(), ok(200, json!({"sub": "t", "preferred_username": "u"}))).is_err(), "someone else");
    assert!(merge_userinfo(id, ok(500, json!({"sub": "s"}))).is_err());
}

#[test]
fn usernames_are_valid_free_and_contain_the_original() {
    let id = |u: Option<&str>, n: Option<&str>| Identity { subject: "s".into(), username: u.map(Into::into), name: n.map(Into::into) };
    let c = username_candidates(&id(Some("ann"), None), "r4nd");
    assert_eq!(c[..3], ["ann", "ann-2", "ann-3"]);
    assert_eq!(c.last().unwrap(), "ann-r4nd");
    assert_eq!(c.len(), 10);
    assert_eq!(username_candidates(&id(Some("Jane  Doe!"), None), "r")[0], "Jane-Doe");
    assert_eq!(username_candidates(&id(None, Some("Zoë Smith")), "r")[0], "Zo-Smith");
    assert_eq!(username_candidates(&id(Some("!!!"), Some("Bo")), "r")[0], "Bo");
    assert_eq!(username_candidates(&id(None, None), "r")[0], "user");
    let long = "a".repeat(100);
    let c = username_candidates(&id(Some(&long), None), "r4nd");
    assert!(c.iter().all(|u| valid_username(u) && u.len() <= MAX_USERNAME));
    assert_eq!(c[0].len(), MAX_USERNAME);
    assert_eq!(c[1], format!("{}-2", "a".repeat(MAX_USERNAME - 2)));
    assert_eq!(username_candidates(&id(Some("a-"), None), "r")[1], "a-2");
}

#[test]
fn refusals_say_what_happened_without_secrets() {
    let id_token = [
        (JwtError::Malformed("x"), "malformed"),
        (JwtError::Algorithm, "not RS256 or ES256"),
        (JwtError::NoKey, "no key"),
        (JwtError::BadSignature, "bad signature"),
        (JwtError::WrongIssuer, "wrong issuer"),
        (JwtError::Expired, "expired"),
        (JwtError::NotYetValid, "not valid yet"),
        (JwtError::WrongAudience, "not meant for this server"),
        (JwtError::Crypto("engine detail".into()), "key cannot be used"),
    ];
    for (e, words) in id_token {
        let d = Refusal::IdToken(e.clone()).detail();
        assert!(d.contains(words), "{e:?}: {d}");
        assert!(!d.contains("engine detail"));
    }
    assert!(Refusal::Provider("access_denied".into()).detail().contains("access_denied"));
    assert!(Refusal::Unusable("no ID token").detail().contains("no ID token"));
}

#[test]
fn empty_or_overlong_names_are_left_out() {
    let p = oidc();
    let base = json!({"iss": "https://i.example", "aud": "edge", "sub": "s1", "exp": 1_000, "nonce": "n", "preferred_username": "  ", "name": "x".repeat(MAX_NAME + 1)});
    let id = id_token_identity(&base, &p, Some("n"), 900).unwrap();
    assert_eq!((id.username, id.name), (None, None));
    let mut ok = base.clone();
    ok["name"] = json!("x".repeat(MAX_NAME));
    assert_eq!(id_token_identity(&ok, &p, Some("n"), 900).unwrap().name.map(|n| n.len()), Some(MAX_NAME));
}
