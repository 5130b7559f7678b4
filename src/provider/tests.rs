use super::*;

const GH: &str = r#"{"name":"GitHub","kind":"oauth2","authorization_endpoint":"https://github.com/login/oauth/authorize","token_endpoint":"https://github.com/login/oauth/access_token","userinfo_endpoint":"https://api.github.com/user","client_id":"c","client_secret":"s","scopes":"read:user","claims":{"subject":"id","username":"login","name":"name"}}"#;

#[test]
fn creation_rules() {
    let p = parse_new(GH.as_bytes(), "id".into(), 5).unwrap();
    assert_eq!((p.kind, p.auto_create, p.scopes.as_str(), p.created_at), (Kind::Oauth2, true, "read:user", 5));
    assert_eq!(p.claims.as_ref().unwrap().username.as_deref(), Some("login"));
    assert!(!p.view().to_string().contains("\"s\""), "no secret in the view");
    assert!(p.view().get("client_secret").is_none());
    let o = parse_new(br#"{"name":"A","kind":"oidc","issuer":"http://127.0.0.1:9000/","client_id":"c","client_secret":"s"}"#, "id".into(), 0).unwrap();
    assert_eq!((o.scopes.as_str(), o.issuer.as_deref()), ("openid email profile", Some("http://127.0.0.1:9000/")));
    assert_eq!(discovery_url("http://127.0.0.1:9000/"), "http://127.0.0.1:9000/.well-known/openid-configuration");
    for (body, field) in [
        (r#"{"kind":"oidc","issuer":"https://i.example","client_id":"c","client_secret":"s"}"#, "name"),
        (r#"{"name":"A","kind":"saml","client_id":"c","client_secret":"s"}"#, "kind"),
        (r#"{"name":"A","kind":"oidc","issuer":"http://i.example","client_id":"c","client_secret":"s"}"#, "issuer"),
        (r#"{"name":"A","kind":"oidc","issuer":"https://i.example","client_secret":"s"}"#, "client_id"),
        (r#"{"name":"A","kind":"oidc","issuer":"https://i.example","client_id":"c"}"#, "client_secret"),
        (r#"{"name":"A","kind":"oidc","issuer":"https://i.example","client_id":"c","client_secret":"s","scopes":"email"}"#, "scopes"),
        (r#"{"name":"A","kind":"oidc","issuer":"https://i.example","client_id":"c","client_secret":"s","auto_create":"yes"}"#, "auto_create"),
        (r#"{"name":"A","kind":"oidc","issuer":"https://i.example","client_id":"c","client_secret":"s","claims":{}}"#, "claims"),
        (
            r#"{"name":"A","kind":"oauth2","authorization_endpoint":"https://a","token_endpoint":"https://t","userinfo_endpoint":"https://u","client_id":"c","client_secret":"s"}"#,
            "claims",
        ),
        (
            r#"{"name":"A","kind":"oauth2","authorization_endpoint":"https://a","token_endpoint":"https://t","userinfo_endpoint":"https://u","client_id":"c","client_secret":"s","claims":{"username":"login"}}"#,
            "claims",
        ),
        (
            r#"{"name":"A","kind":"oauth2","authorization_endpoint":"ftp://a","token_endpoint":"https://t","userinfo_endpoint":"https://u","client_id":"c","client_secret":"s","claims":{"subject":"id"}}"#,
            "authorization_endpoint",
        ),
    ] {
        assert_eq!(crate::error::field_of(parse_new(body.as_bytes(), "id".into(), 0).unwrap_err()), field, "{body}");
    }
}

#[test]
fn patches_keep_what_they_do_not_name() {
    let p = parse_new(GH.as_bytes(), "id".into(), 5).unwrap();
    let q = parse_patch(&p, br#"{"name":"GH","client_secret":"new"}"#, 9).unwrap();
    assert_eq!((q.name.as_str(), q.client_secret.expose(), q.client_id.as_str(), q.created_at, q.updated_at), ("GH", "new", "c", 5, 9));
    assert_eq!(q.claims, p.claims);
    assert_eq!(crate::error::field_of(parse_patch(&p, br#"{"kind":"oidc"}"#, 9).unwrap_err()), "kind");
    assert_eq!(crate::error::field_of(parse_patch(&p, br#"{"provider_id":"x"}"#, 9).unwrap_err()), "provider_id");
}

#[test]
fn discovery_must_name_the_configured_issuer() {
    let mut p = parse_new(br#"{"name":"A","kind":"oidc","issuer":"https://i.example","client_id":"c","client_secret":"s"}"#, "id".into(), 0).unwrap();
    let doc = |iss: &str, extra: &str| {
        format!(
            r#"{{"issuer":"{iss}","authorization_endpoint":"https://i.example/a","token_endpoint":"https://i.example/t","jwks_uri":"https://i.example/k"{extra}}}"#
        )
    };
    assert!(apply_discovery(&mut p, doc("https://i.example/", "").as_bytes()).is_err(), "a trailing slash is another issuer");
    assert!(apply_discovery(&mut p, doc("https://evil.example", "").as_bytes()).is_err());
    assert!(apply_discovery(&mut p, br#"{"issuer":"https://i.example","issuer":"https://i.example"}"#).is_err(), "repeated keys");
    assert!(apply_discovery(&mut p, doc("https://i.example", r#","userinfo_endpoint":"http://i.example/u""#).as_bytes()).is_err());
    apply_discovery(&mut p, doc("https://i.example", "").as_bytes()).unwrap();
    assert_eq!(
        (p.token_endpoint.as_str(), p.jwks_uri.as_deref(), p.userinfo_endpoint.as_deref(), p.secret_post),
        ("https://i.example/t", Some("https://i.example/k"), None, false)
    );
    apply_discovery(&mut p, doc("https://i.example", r#","token_endpoint_auth_methods_supported":["client_secret_post"]"#).as_bytes()).unwrap();
    assert!(p.secret_post);
    apply_discovery(&mut p, doc("https://i.example", r#","token_endpoint_auth_methods_supported":["client_secret_post","client_secret_basic"]"#).as_bytes())
        .unwrap();
    assert!(!p.secret_post);
    assert!(format!("{p:?}").contains("[redacted]") && !format!("{p:?}").contains("\"s\""));
}

#[test]
fn only_our_ids_are_looked_up() {
    use crate::testing::MemKv;
    let kv = MemKv::default();
    kv.map.borrow_mut().insert(format!("{PREFIX}short"), "{}".into());
    assert_eq!(crate::block_on(get(&kv, "short")).unwrap(), None, "never read");
    assert!(well_formed_id("AAAAAAAAAAAAAAAAAAAA-_") && !well_formed_id(&"A".repeat(23)) && !well_formed_id("AAAAAAAAAAAAAAAAAAAAA/"));
}

#[test]
fn text_fields_scopes_and_claims_are_checked() {
    let with = |k: &str, v: Value| {
        let mut obj: Map<String, Value> = serde_json::from_str(GH).unwrap();
        obj.insert(k.into(), v);
        parse_new(Value::Object(obj).to_string().as_bytes(), "id".into(), 0)
    };
    for (k, v) in [
        ("name", json!("  ")),
        ("name", json!("x".repeat(MAX_NAME + 1))),
        ("name", json!("a\u{7}b")),
        ("client_id", json!("")),
        ("scopes", json!("a\"b")),
        ("scopes", json!("a\\b")),
        ("scopes", json!("é")),
        ("scopes", json!("a".repeat(1001))),
        ("claims", json!({"subject": ""})),
        ("claims", json!({"subject": "x".repeat(101)})),
        ("claims", json!({"subject": "id", "name": 5})),
    ] {
        assert_eq!(crate::error::field_of(with(k, v.clone()).unwrap_err()), k, "{k}: {v}");
    }
    assert_eq!(with("name", json!("x".repeat(MAX_NAME))).unwrap().name.len(), MAX_NAME);
    assert_eq!(with("scopes", json!(" read:user  repo ")).unwrap().scopes, "read:user repo");
    assert_eq!(with("scopes", json!("a".repeat(1000))).unwrap().scopes.len(), 1000);
    assert_eq!(with("claims", json!({"subject": "x".repeat(100)})).unwrap().claims.unwrap().subject.len(), 100);
}

#[test]
fn an_oidc_patch_keeps_the_discovered_endpoints_unless_the_issuer_changes() {
    let mut p = parse_new(br#"{"name":"A","kind":"oidc","issuer":"https://i.example","client_id":"c","client_secret":"s"}"#, "id".into(), 0).unwrap();
    let doc = br#"{"issuer":"https://i.example","authorization_endpoint":"https://i.example/a","token_endpoint":"https://i.example/t","jwks_uri":"https://i.example/k","userinfo_endpoint":"https://i.example/u","token_endpoint_auth_methods_supported":["client_secret_post"]}"#;
    apply_discovery(&mut p, doc).unwrap();
    let q = parse_patch(&p, br#"{"name":"B"}"#, 1).unwrap();
    assert_eq!(
        (q.authorization_endpoint.as_str(), q.token_endpoint.as_str(), q.jwks_uri.as_deref(), q.userinfo_endpoint.as_deref(), q.secret_post),
        ("https://i.example/a", "https://i.example/t", Some("https://i.example/k"), Some("https://i.example/u"), true)
    );
    let r = parse_patch(&p, br#"{"issuer":"https://j.example"}"#, 1).unwrap();
    assert_eq!((r.token_endpoint.as_str(), r.jwks_uri.as_deref(), r.secret_post), ("", None, false), "to be discovered again");
    let mut oauth2 = parse_new(GH.as_bytes(), "id".into(), 0).unwrap();
    oauth2.secret_post = true;
    assert!(!parse_patch(&oauth2, br#"{"name":"B"}"#, 1).unwrap().secret_post, "only discovery says post");
}
