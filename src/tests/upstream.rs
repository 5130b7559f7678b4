//! Signing in with an upstream identity provider, end to end on the in-memory platform: the
//! provider is faked through the fetch seam (discovery, JWKS, token and userinfo endpoints),
//! its ID tokens signed with RFC 7515 A.3's P-256 key.

use super::*;
use crate::testing::{sign_es256, ES256_X, ES256_Y};
use crate::upstream::Pending;

const ISS: &str = "https://idp.example";
const GH: &str = "https://gh.example";

fn cookie_value(set_cookie: &str) -> (String, String) {
    let pair = set_cookie.split(';').next().unwrap();
    let (n, v) = pair.split_once('=').unwrap();
    (n.to_string(), v.to_string())
}

fn set_cookies(r: &HttpResponse) -> Vec<String> {
    r.headers.iter().filter(|(n, _)| *n == "set-cookie").map(|(_, v)| v.clone()).collect()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    let p = crate::form::Params::parse(q.as_bytes()).ok()?;
    p.single(name).ok().flatten().map(str::to_string)
}

struct Idp {
    h: Harness,
    oidc: String,
}

impl Idp {
    fn new(auto_create: bool) -> Idp {
        let mut h = Harness::new();
        let f = &h.app.fetch;
        f.answer_json(
            &format!("{ISS}/.well-known/openid-configuration"),
            200,
            &json!({"issuer": ISS, "authorization_endpoint": format!("{ISS}/auth"), "token_endpoint": format!("{ISS}/token"),
                    "jwks_uri": format!("{ISS}/jwks"), "userinfo_endpoint": format!("{ISS}/me")}),
        );
        f.answer_json(&format!("{ISS}/jwks"), 200, &json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "x": ES256_X, "y": ES256_Y}]}));
        let body = json!({"name": "Acme SSO", "kind": "oidc", "issuer": ISS, "client_id": "edge", "client_secret": "s3cret-value", "auto_create": auto_create});
        let r = h.send(Req::new("POST", "/admin/providers").bearer(ADMIN).body(body.to_string()));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let oidc = r.body_json()["provider_id"].as_str().unwrap().to_string();
        Idp { h, oidc }
    }

    /// `GET /login/{id}`: the provider's URL and the state cookie.
    fn start(&mut self, id: &str, return_to: &str) -> (String, String) {
        let r = self.h.send(Req::new("GET", &format!("/login/{id}?return_to={}", crate::form::encode_component(return_to))));
        assert_eq!(r.status, 302, "{}", String::from_utf8_lossy(&r.body));
        let cookie = set_cookies(&r).into_iter().next().unwrap();
        (r.header("location").unwrap().to_string(), cookie)
    }

    /// The provider's token endpoint answers with an ID token of these claims.
    fn id_token(&self, claims: serde_json::Value) {
        let token = sign_es256(&json!({"alg": "ES256", "kid": "k1"}), &claims);
        self.h.app.fetch.answer_json(&format!("{ISS}/token"), 200, &json!({"access_token": "at-1", "token_type": "Bearer", "id_token": token}));
    }

    fn claims(&self, sub: &str, nonce: &str) -> serde_json::Value {
        json!({"iss": ISS, "aud": "edge", "sub": sub, "nonce": nonce, "exp": self.h.now / 1000 + 300, "iat": self.h.now / 1000,
               "preferred_username": "ann"})
    }

    fn callback(&mut self, id: &str, state: &str, cookie: &str) -> HttpResponse {
        let (n, v) = cookie_value(cookie);
        self.h.send(Req::new("GET", &format!("/login/{id}/callback?code=the-code&state={state}")).header("cookie", &format!("{n}={v}")))
    }

    /// A whole sign-in as subject `sub`; the callback's response.
    fn sign_in(&mut self, sub: &str, return_to: &str) -> HttpResponse {
        let id = self.oidc.clone();
        let (to, cookie) = self.start(&id, return_to);
        let nonce = query_param(&to, "nonce").unwrap();
        self.id_token(self.claims(sub, &nonce));
        self.callback(&id, &query_param(&to, "state").unwrap(), &cookie)
    }

    fn users(&mut self) -> Vec<serde_json::Value> {
        self.h.send(Req::new("GET", "/admin/users").bearer(ADMIN)).body_json()["users"].as_array().unwrap().clone()
    }
}

fn is_error_page(r: &HttpResponse, status: u16) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    let body = String::from_utf8_lossy(&r.body);
    for secret in ["s3cret-value", "the-code", "at-1"] {
        assert!(!body.contains(secret), "the page names {secret}: {body}");
    }
    assert!(!set_cookies(r).iter().any(|c| c.contains("eo_session")), "no session");
}

#[test]
fn providers_api_never_returns_the_secret_and_checks_discovery() {
    let mut idp = Idp::new(true);
    let id = idp.oidc.clone();
    let one = idp.h.send(Req::new("GET", &format!("/admin/providers/{id}")).bearer(ADMIN));
    let v = one.body_json();
    assert_eq!(
        (v["name"].as_str(), v["kind"].as_str(), v["client_id"].as_str(), v["auto_create"].as_bool()),
        (Some("Acme SSO"), Some("oidc"), Some("edge"), Some(true))
    );
    assert_eq!(v["token_endpoint"], format!("{ISS}/token"));
    let list = idp.h.send(Req::new("GET", "/admin/providers").bearer(ADMIN));
    for r in [&one, &list] {
        assert!(!String::from_utf8_lossy(&r.body).contains("s3cret-value"), "the secret is never returned");
    }
    assert_eq!(list.body_json()["providers"].as_array().unwrap().len(), 1);
    // The secret is kept readable in KV, under provider:{id}.
    assert!(idp.h.app.kv.map.borrow()[&format!("provider:{id}")].contains("s3cret-value"));

    // The discovery document's issuer must be the configured one.
    idp.h.app.fetch.answer_json("https://other.example/.well-known/openid-configuration", 200, &json!({"issuer": ISS, "authorization_endpoint": "https://other.example/a", "token_endpoint": "https://other.example/t", "jwks_uri": "https://other.example/k"}));
    let r = idp.h.send(
        Req::new("POST", "/admin/providers")
            .bearer(ADMIN)
            .body(r#"{"name":"X","kind":"oidc","issuer":"https://other.example","client_id":"c","client_secret":"s"}"#),
    );
    assert_eq!((r.status, r.body_json()["field"].as_str()), (400, Some("issuer")), "{}", String::from_utf8_lossy(&r.body));

    let r = idp.h.send(Req::new("PATCH", &format!("/admin/providers/{id}")).bearer(ADMIN).body(r#"{"name":"Acme","auto_create":false}"#));
    assert_eq!((r.status, r.body_json()["name"].as_str(), r.body_json()["auto_create"].as_bool()), (200, Some("Acme"), Some(false)));
    let r = idp.h.send(Req::new("PATCH", &format!("/admin/providers/{id}")).bearer(ADMIN).body(r#"{"kind":"oauth2"}"#));
    assert_eq!(r.status, 400);
    assert_eq!(idp.h.send(Req::new("GET", "/admin/providers")).status, 401);
    assert_eq!(idp.h.send(Req::new("DELETE", &format!("/admin/providers/{id}")).bearer(ADMIN)).status, 204);
    assert_eq!(idp.h.send(Req::new("GET", &format!("/admin/providers/{id}")).bearer(ADMIN)).status, 404);
    assert_eq!(idp.h.send(Req::new("GET", &format!("/login/{id}"))).status, 404, "a deleted provider's sign-in is gone");
    assert_eq!(idp.h.send(Req::new("GET", &format!("/login/{id}/callback?state=x&code=y"))).status, 404);
}

#[test]
fn an_oidc_sign_in_creates_one_person_and_returns_to_exactly_return_to() {
    let mut idp = Idp::new(true);
    let id = idp.oidc.clone();
    let (to, cookie) = idp.start(&id, "/authorize?client_id=app&state=x");
    assert!(to.starts_with(&format!("{ISS}/auth?")), "{to}");
    for (k, v) in [
        ("response_type", "code"),
        ("client_id", "edge"),
        ("code_challenge_method", "S256"),
        ("redirect_uri", &format!("https://auth.test/login/{id}/callback")),
    ] {
        assert_eq!(query_param(&to, k).as_deref(), Some(v), "{k}");
    }
    assert!(query_param(&to, "scope").unwrap().split(' ').any(|s| s == "openid"));
    let pending = Pending::decode(&cookie_value(&cookie).1).unwrap();
    assert_eq!(query_param(&to, "code_challenge").unwrap(), crate::auth::pkce::s256(&pending.verifier));
    for attr in ["__Host-eo_upstream=", "HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }

    let nonce = query_param(&to, "nonce").unwrap();
    idp.id_token(idp.claims("sub-1", &nonce));
    let r = idp.callback(&id, &query_param(&to, "state").unwrap(), &cookie);
    assert_eq!(r.status, 303, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("location"), Some("/authorize?client_id=app&state=x"));
    assert!(set_cookies(&r).iter().any(|c| c.starts_with("__Host-eo_session=")), "a session starts");
    // The code exchange: Basic, Accept JSON, a User-Agent, the verifier.
    let sent = idp.h.app.fetch.sent.borrow().iter().find(|o| o.url == format!("{ISS}/token")).cloned().unwrap();
    let header = |n: &str| sent.headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
    assert_eq!(header("accept").as_deref(), Some("application/json"));
    assert!(header("user-agent").is_some());
    assert!(header("authorization").unwrap().starts_with("Basic "));
    assert!(sent.body.as_deref().unwrap().contains(&format!("code_verifier={}", pending.verifier)));

    let users = idp.users();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["username"], "ann");
    let uid = users[0]["user_id"].as_str().unwrap().to_string();
    let v = idp.h.send(Req::new("GET", &format!("/admin/users/{uid}")).bearer(ADMIN)).body_json();
    assert_eq!(v["identities"], json!([{"provider_id": id, "subject": "sub-1"}]));

    // The same identity again: the same person. Another identity with a taken username: a
    // free one that contains it.
    assert_eq!(idp.sign_in("sub-1", "/device").status, 303);
    assert_eq!(idp.users().len(), 1);
    assert_eq!(idp.sign_in("sub-2", "/device").status, 303);
    let mut names: Vec<String> = idp.users().iter().map(|u| u["username"].as_str().unwrap().to_string()).collect();
    names.sort();
    assert_eq!(names, vec!["ann", "ann-2"]);
    // A person without a password cannot sign in with one.
    let r = idp.h.send(Req::new("GET", "/login"));
    assert!(String::from_utf8_lossy(&r.body).contains("Continue with Acme SSO"), "the button");
}

#[test]
fn return_to_is_only_a_local_path() {
    let mut idp = Idp::new(true);
    for (asked, want) in [
        ("/x", "/x"),
        ("//evil.example/x", "/console"),
        ("/\\evil.example", "/console"),
        ("http:evil.example", "/console"),
        ("https://evil.example/", "/console"),
        ("", "/console"),
    ] {
        let r = idp.sign_in(&format!("s{asked}"), asked);
        assert_eq!(r.header("location"), Some(want), "{asked}");
    }
}

#[test]
fn state_is_bound_to_the_browser_and_used_once() {
    let mut idp = Idp::new(true);
    let id = idp.oidc.clone();
    let (to, cookie) = idp.start(&id, "/x");
    let state = query_param(&to, "state").unwrap();
    idp.id_token(idp.claims("sub-1", &query_param(&to, "nonce").unwrap()));
    // Another browser's cookie (another sign-in), no cookie, a wrong state.
    let (_, other) = idp.start(&id, "/x");
    is_error_page(&idp.callback(&id, &state, &other), 400);
    let r = idp.h.send(Req::new("GET", &format!("/login/{id}/callback?code=the-code&state={state}")));
    is_error_page(&r, 400);
    is_error_page(&idp.callback(&id, "wrong", &cookie), 400);
    assert!(idp.users().is_empty(), "nothing is created");
    // The right one signs in once; its replay never again.
    assert_eq!(idp.callback(&id, &state, &cookie).status, 303);
    let replay = idp.callback(&id, &state, &cookie);
    is_error_page(&replay, 400);
    assert!(String::from_utf8_lossy(&replay.body).contains("already used"));
    // An expired sign-in.
    let (to, cookie) = idp.start(&id, "/x");
    idp.h.advance(crate::upstream::PENDING_MS);
    is_error_page(&idp.callback(&id, &query_param(&to, "state").unwrap(), &cookie), 400);
}

#[test]
fn id_tokens_are_checked() {
    let mut idp = Idp::new(true);
    let id = idp.oidc.clone();
    type Bend = fn(&mut serde_json::Value);
    let cases: [(&str, Bend); 5] = [
        ("wrong iss", |c| c["iss"] = json!("https://evil.example")),
        ("wrong aud", |c| c["aud"] = json!("someone-else")),
        ("wrong nonce", |c| c["nonce"] = json!("another")),
        ("no nonce", |c| {
            c.as_object_mut().unwrap().remove("nonce");
        }),
        ("expired", |c| c["exp"] = json!(1)),
    ];
    for (what, bend) in cases {
        let (to, cookie) = idp.start(&id, "/x");
        let mut claims = idp.claims("sub-1", &query_param(&to, "nonce").unwrap());
        bend(&mut claims);
        idp.id_token(claims);
        let r = idp.callback(&id, &query_param(&to, "state").unwrap(), &cookie);
        is_error_page(&r, 400);
        assert!(idp.users().is_empty(), "{what}: nothing is created");
    }
    // A bad signature (signed claims, others presented).
    let (to, cookie) = idp.start(&id, "/x");
    let good = sign_es256(&json!({"alg": "ES256", "kid": "k1"}), &idp.claims("sub-1", &query_param(&to, "nonce").unwrap()));
    let other = sign_es256(&json!({"alg": "ES256", "kid": "k1"}), &idp.claims("sub-2", &query_param(&to, "nonce").unwrap()));
    let forged = format!("{}.{}", good.rsplit_once('.').unwrap().0, other.rsplit_once('.').unwrap().1);
    idp.h.app.fetch.answer_json(&format!("{ISS}/token"), 200, &json!({"access_token": "at-1", "id_token": forged}));
    is_error_page(&idp.callback(&id, &query_param(&to, "state").unwrap(), &cookie), 400);
    // The provider's own error.
    let (to, cookie) = idp.start(&id, "/x");
    let (n, v) = cookie_value(&cookie);
    let r = idp.h.send(
        Req::new("GET", &format!("/login/{id}/callback?error=access_denied&state={}", query_param(&to, "state").unwrap()))
            .header("cookie", &format!("{n}={v}")),
    );
    is_error_page(&r, 400);
    assert!(idp.users().is_empty());
}

#[test]
fn linking_disabled_people_and_auto_create_off() {
    let mut idp = Idp::new(false);
    let id = idp.oidc.clone();
    is_error_page(&idp.sign_in("sub-1", "/x"), 403);
    assert!(idp.users().is_empty(), "no one is created without auto_create");
    let r = idp.h.send(Req::new("POST", "/admin/users").bearer(ADMIN).body(r#"{"username":"bob","password":"12345678"}"#));
    let bob = r.body_json()["user_id"].as_str().unwrap().to_string();
    let r = idp.h.send(Req::new("POST", "/admin/users").bearer(ADMIN).body(r#"{"username":"eve","password":"12345678"}"#));
    let eve = r.body_json()["user_id"].as_str().unwrap().to_string();
    let link = |h: &mut Harness, who: &str, body: &str| h.send(Req::new("POST", &format!("/admin/users/{who}/identities")).bearer(ADMIN).body(body));
    let r = link(&mut idp.h, &bob, r#"{"provider_id":"nope","subject":"1"}"#);
    assert_eq!((r.status, r.body_json()["field"].as_str()), (400, Some("provider_id")));
    assert!(r.body_json()["error_description"].as_str().unwrap().contains("nope"));
    assert_eq!(link(&mut idp.h, &bob, &json!({"provider_id": id, "subject": "sub-1"}).to_string()).status, 201);
    assert_eq!(link(&mut idp.h, &eve, &json!({"provider_id": id, "subject": "sub-1"}).to_string()).status, 409, "someone else's pair");
    let r = idp.sign_in("sub-1", "/x");
    assert_eq!(r.status, 303);
    let session = set_cookies(&r).into_iter().find(|c| c.starts_with("__Host-eo_session=")).unwrap();
    assert!(session.contains(&bob), "signed in as the linked person");
    assert_eq!(idp.users().len(), 2);
    // Disabled: refused.
    idp.h.send(Req::new("PATCH", &format!("/admin/users/{bob}")).bearer(ADMIN).body(r#"{"disabled":true}"#));
    is_error_page(&idp.sign_in("sub-1", "/x"), 403);
    idp.h.send(Req::new("PATCH", &format!("/admin/users/{bob}")).bearer(ADMIN).body(r#"{"disabled":false}"#));
    // Unlinked: refused again; the pair is free for eve.
    assert_eq!(idp.h.send(Req::new("DELETE", &format!("/admin/users/{bob}/identities/{id}")).bearer(ADMIN)).status, 204);
    is_error_page(&idp.sign_in("sub-1", "/x"), 403);
    assert_eq!(link(&mut idp.h, &eve, &json!({"provider_id": id, "subject": "sub-1"}).to_string()).status, 201);
    // Deleting eve frees the pair.
    assert_eq!(idp.h.send(Req::new("DELETE", &format!("/admin/users/{eve}")).bearer(ADMIN)).status, 204);
    assert_eq!(link(&mut idp.h, &bob, &json!({"provider_id": id, "subject": "sub-1"}).to_string()).status, 201);
}

#[test]
fn an_oauth2_provider_maps_userinfo_claims() {
    let mut h = Harness::new();
    let body = json!({"name": "GitHub", "kind": "oauth2", "authorization_endpoint": format!("{GH}/login/oauth/authorize"),
        "token_endpoint": format!("{GH}/login/oauth/access_token"), "userinfo_endpoint": format!("{GH}/user"),
        "client_id": "gh", "client_secret": "gh-secret", "scopes": "read:user",
        "claims": {"subject": "id", "username": "login", "name": "name"}});
    let r = h.send(Req::new("POST", "/admin/providers").bearer(ADMIN).body(body.to_string()));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.body_json()["claims"]["subject"], "id");
    let id = r.body_json()["provider_id"].as_str().unwrap().to_string();
    h.app.fetch.answer_json(&format!("{GH}/login/oauth/access_token"), 200, &json!({"access_token": "gho_x", "token_type": "bearer"}));
    h.app.fetch.answer_json(&format!("{GH}/user"), 200, &json!({"id": 123, "login": "Octo Cat", "name": "The Octocat"}));
    let r = h.send(Req::new("GET", &format!("/login/{id}?return_to=/x")));
    let to = r.header("location").unwrap().to_string();
    assert_eq!(query_param(&to, "nonce"), None);
    let (n, v) = cookie_value(&set_cookies(&r)[0]);
    let r = h.send(Req::new("GET", &format!("/login/{id}/callback?code=c&state={}", query_param(&to, "state").unwrap())).header("cookie", &format!("{n}={v}")));
    assert_eq!(r.status, 303, "{}", String::from_utf8_lossy(&r.body));
    let users = h.send(Req::new("GET", "/admin/users").bearer(ADMIN)).body_json();
    let u = &users["users"][0];
    assert_eq!((u["username"].as_str(), u["name"].as_str()), (Some("Octo-Cat"), Some("The Octocat")));
    let v = h.send(Req::new("GET", &format!("/admin/users/{}", u["user_id"].as_str().unwrap())).bearer(ADMIN)).body_json();
    assert_eq!(v["identities"][0]["subject"], "123", "a numeric id is its decimal string");
    let userinfo = h.app.fetch.sent.borrow().iter().find(|o| o.url == format!("{GH}/user")).cloned().unwrap();
    assert!(userinfo.headers.iter().any(|(k, v)| *k == "authorization" && v == "Bearer gho_x"));
    assert!(userinfo.headers.iter().any(|(k, _)| *k == "user-agent"));
}

#[test]
fn a_sign_in_starts_a_new_session_and_two_first_sign_ins_make_one_person() {
    let mut idp = Idp::new(true);
    let id = idp.oidc.clone();
    // Two browsers start signing in as the same new identity; both finish.
    let (to_a, cookie_a) = idp.start(&id, "/a");
    let (to_b, cookie_b) = idp.start(&id, "/b");
    idp.id_token(idp.claims("sub-1", &query_param(&to_a, "nonce").unwrap()));
    let a = idp.callback(&id, &query_param(&to_a, "state").unwrap(), &cookie_a);
    idp.id_token(idp.claims("sub-1", &query_param(&to_b, "nonce").unwrap()));
    // Browser b already holds a session cookie (planted, or an older one): it is replaced.
    let planted = format!("{}.{}", "A".repeat(22), "B".repeat(43));
    let (n, v) = cookie_value(&cookie_b);
    let b = idp.h.send(
        Req::new("GET", &format!("/login/{id}/callback?code=the-code&state={}", query_param(&to_b, "state").unwrap()))
            .header("cookie", &format!("{n}={v}; __Host-eo_session={planted}")),
    );
    assert_eq!((a.status, b.status), (303, 303));
    assert_eq!(idp.users().len(), 1, "one person");
    let session = |r: &HttpResponse| cookie_value(&set_cookies(r).into_iter().find(|c| c.starts_with("__Host-eo_session=")).unwrap()).1;
    let (sa, sb) = (session(&a), session(&b));
    assert_ne!(sa, sb);
    assert_ne!(sb, planted, "never the session id the browser brought");
    assert_eq!(sa.split('.').next(), sb.split('.').next(), "the same person");
    // Each state cookie is ended.
    assert!(set_cookies(&a).iter().any(|c| c.starts_with("__Host-eo_upstream=;") && c.contains("Max-Age=0")));
}

#[test]
fn the_state_cookie_is_not_secure_only_on_plain_http_loopback() {
    let mut idp = Idp::new(true);
    let id = idp.oidc.clone();
    let r = idp.h.send(Req::new("GET", &format!("/login/{id}")).origin("http://127.0.0.1:8787"));
    let c = &set_cookies(&r)[0];
    assert!(c.starts_with("eo_upstream=") && !c.contains("Secure") && c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
    assert!(query_param(r.header("location").unwrap(), "redirect_uri").unwrap().starts_with("http://127.0.0.1:8787/login/"));
}

#[test]
fn from_authorize_through_the_provider_to_tokens_and_no_password_for_the_new_person() {
    use super::browser::{approve, authorize_url, input, redeem_basic, redirect_query, sign_in, text, Browser};
    let mut idp = Idp::new(true);
    let client = idp.h.create(r#"{"name":"app","redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code"],"scopes":["read"]}"#);
    let mut b = Browser::new();
    let url = authorize_url(&client.0, "&scope=read");
    let login = b.send(&mut idp.h, Req::new("GET", &url));
    let page = text(&login);
    let href = page.split("class=\"button alt\" href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
    assert!(href.starts_with(&format!("/login/{}?return_to=%2Fauthorize%3F", idp.oidc)), "{href}");
    let to = b.send(&mut idp.h, Req::new("GET", &href));
    let to = to.header("location").unwrap().to_string();
    idp.id_token(idp.claims("sub-9", &query_param(&to, "nonce").unwrap()));
    let back = b.send(&mut idp.h, Req::new("GET", &format!("/login/{}/callback?code=c&state={}", idp.oidc, query_param(&to, "state").unwrap())));
    assert_eq!(back.status, 303, "{}", text(&back));
    assert_eq!(back.header("location"), input(&login, "return_to").as_deref(), "exactly the page's return_to");
    let done = approve(&mut idp.h, &mut b, &url, "approve");
    let code = redirect_query(&done)["code"].clone();
    let tokens = redeem_basic(&mut idp.h, &client, &code);
    assert!(tokens["access_token"].is_string(), "{tokens}");
    // The new person has no password: a password sign-in never works for them.
    let mut other = Browser::new();
    let r = sign_in(&mut idp.h, &mut other, &url, "ann", "any password at all");
    assert_eq!(r.status, 401, "{}", text(&r));
    assert!(input(&r, "csrf_token").is_some());
}

#[test]
fn answers_up_to_64_kib_are_read_and_larger_ones_refused() {
    let mut idp = Idp::new(true);
    let id = idp.oidc.clone();
    for (pad, status) in [(60_000, 303), (70_000, 400)] {
        let (to, cookie) = idp.start(&id, "/x");
        let claims = idp.claims("sub-1", &query_param(&to, "nonce").unwrap());
        let token = sign_es256(&json!({"alg": "ES256", "kid": "k1"}), &claims);
        idp.h.app.fetch.answer_json(&format!("{ISS}/token"), 200, &json!({"access_token": "at-1", "id_token": token, "padding": "x".repeat(pad)}));
        let r = idp.callback(&id, &query_param(&to, "state").unwrap(), &cookie);
        assert_eq!(r.status, status, "{pad}: {}", String::from_utf8_lossy(&r.body));
    }
}

#[test]
fn each_provider_has_its_own_cached_keys() {
    let mut idp = Idp::new(true);
    const ISS2: &str = "https://idp2.example";
    let f = &idp.h.app.fetch;
    f.answer_json(
        &format!("{ISS2}/.well-known/openid-configuration"),
        200,
        &json!({"issuer": ISS2, "authorization_endpoint": format!("{ISS2}/auth"), "token_endpoint": format!("{ISS2}/token"), "jwks_uri": format!("{ISS2}/jwks")}),
    );
    f.answer_json(&format!("{ISS2}/jwks"), 200, &json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k2", "x": ES256_X, "y": ES256_Y}]}));
    let body = json!({"name": "Second", "kind": "oidc", "issuer": ISS2, "client_id": "edge", "client_secret": "s"});
    let second = idp.h.send(Req::new("POST", "/admin/providers").bearer(ADMIN).body(body.to_string())).body_json()["provider_id"].as_str().unwrap().to_string();
    assert_eq!(idp.sign_in("sub-1", "/x").status, 303, "the first provider's keys are cached");
    let (to, cookie) = idp.start(&second, "/x");
    let mut claims = idp.claims("sub-1", &query_param(&to, "nonce").unwrap());
    claims["iss"] = json!(ISS2);
    let token = sign_es256(&json!({"alg": "ES256", "kid": "k2"}), &claims);
    idp.h.app.fetch.answer_json(&format!("{ISS2}/token"), 200, &json!({"access_token": "at-2", "id_token": token}));
    let r = idp.callback(&second, &query_param(&to, "state").unwrap(), &cookie);
    assert_eq!(r.status, 303, "{}", String::from_utf8_lossy(&r.body));
}
