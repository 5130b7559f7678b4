//! The registration request rules, as tables.

use super::*;
use crate::secret::ClientSecret;

fn scopes() -> Vec<String> {
    vec!["read".into(), "write".into()]
}

fn ok(body: &str) -> Metadata {
    parse(body.as_bytes(), &scopes()).unwrap_or_else(|e| panic!("{body}: {e:?}"))
}

fn code_of(body: &str) -> &'static str {
    match parse(body.as_bytes(), &scopes()) {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

const CB: &str = r#""redirect_uris":["https://app.example/cb"]"#;

#[test]
fn defaults_make_a_public_code_client_without_scopes() {
    let m = ok(&format!("{{{CB}}}"));
    assert_eq!(m.auth_method, AuthMethod::None);
    assert_eq!(m.settings.client_type, ClientType::Public);
    assert_eq!(m.settings.grant_types, ["authorization_code", "refresh_token"]);
    assert_eq!(m.settings.redirect_uris, ["https://app.example/cb"]);
    assert!(m.settings.scopes.is_empty());
    assert!(!m.named);
    assert_eq!(m.settings.name, "");
    // Everything else as the admin API makes it.
    assert_eq!(m.settings.token_ttl, Settings::default().token_ttl);
    assert!(m.settings.ip_binding && !m.settings.skip_consent && !m.settings.introspect);
}

#[test]
fn every_rule() {
    let table: Vec<(&str, String)> = vec![
        // The body.
        ("invalid_client_metadata", "not json".into()),
        ("invalid_client_metadata", "[1]".into()),
        ("invalid_client_metadata", "\"x\"".into()),
        ("invalid_client_metadata", "".into()),
        // redirect_uris: required, admin API rules.
        ("invalid_redirect_uri", "{}".into()),
        ("invalid_redirect_uri", r#"{"redirect_uris":null}"#.into()),
        ("invalid_redirect_uri", r#"{"redirect_uris":[]}"#.into()),
        ("invalid_redirect_uri", r#"{"redirect_uris":"https://app.example/cb"}"#.into()),
        ("invalid_redirect_uri", r#"{"redirect_uris":[1]}"#.into()),
        ("invalid_redirect_uri", r#"{"redirect_uris":["http://app.example/cb"]}"#.into()),
        ("invalid_redirect_uri", r#"{"redirect_uris":["https://app.example/cb#frag"]}"#.into()),
        ("invalid_redirect_uri", r#"{"redirect_uris":["https://*.example/cb"]}"#.into()),
        ("invalid_redirect_uri", r#"{"redirect_uris":["javascript:alert(1)"]}"#.into()),
        ("invalid_redirect_uri", r#"{"redirect_uris":["https://app.example/cb","/relative"]}"#.into()),
        ("invalid_redirect_uri", format!(r#"{{"redirect_uris":[{}]}}"#, vec!["\"https://a.example/\""; 21].join(","))),
        ("ok", format!(r#"{{"redirect_uris":[{}]}}"#, vec!["\"https://a.example/\""; 20].join(","))),
        ("ok", r#"{"redirect_uris":["http://127.0.0.1:9/cb","com.example.app:/cb"]}"#.into()),
        // client_name.
        ("ok", format!(r#"{{{CB},"client_name":"My App"}}"#)),
        ("ok", format!(r#"{{{CB},"client_name":null}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"client_name":""}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"client_name":"   "}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"client_name":7}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"client_name":"a\nb"}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"client_name":"{}"}}"#, "x".repeat(201))),
        ("ok", format!(r#"{{{CB},"client_name":"{}"}}"#, "x".repeat(200))),
        // grant_types.
        ("ok", format!(r#"{{{CB},"grant_types":["authorization_code"]}}"#)),
        ("ok", format!(r#"{{{CB},"grant_types":["refresh_token","authorization_code"]}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"grant_types":["client_credentials"]}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"grant_types":["authorization_code","implicit"]}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"grant_types":["urn:ietf:params:oauth:grant-type:device_code"]}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"grant_types":["refresh_token"]}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"grant_types":[]}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"grant_types":"authorization_code"}}"#)),
        // response_types.
        ("ok", format!(r#"{{{CB},"response_types":["code"]}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"response_types":["token"]}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"response_types":[]}}"#)),
        // token_endpoint_auth_method.
        ("ok", format!(r#"{{{CB},"token_endpoint_auth_method":"client_secret_post"}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"token_endpoint_auth_method":"private_key_jwt"}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"token_endpoint_auth_method":"None"}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"token_endpoint_auth_method":true}}"#)),
        // scope: within REGISTRATION_SCOPES.
        ("ok", format!(r#"{{{CB},"scope":"read"}}"#)),
        ("ok", format!(r#"{{{CB},"scope":""}}"#)),
        ("ok", format!(r#"{{{CB},"scope":"  write  read "}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"scope":"read admin"}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"scope":"READ"}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"scope":["read"]}}"#)),
        ("invalid_client_metadata", format!(r#"{{{CB},"scope":"read\twrite"}}"#)),
        // Unknown fields are ignored.
        ("ok", format!(r#"{{{CB},"logo_uri":"https://x.example/l.png","contacts":["a@b.example"],"jwks":{{}},"software_id":5}}"#)),
    ];
    for (want, body) in table {
        assert_eq!(code_of(&body), want, "{body}");
    }
}

#[test]
fn non_utf8_is_bad_metadata() {
    assert_eq!(parse(&[0xff, 0xfe], &scopes()).unwrap_err().code(), "invalid_client_metadata");
}

#[test]
fn nothing_is_registrable_without_registration_scopes() {
    let body = format!(r#"{{{CB},"scope":"read"}}"#);
    assert_eq!(parse(body.as_bytes(), &[]).unwrap_err().code(), "invalid_client_metadata");
    assert!(parse(format!(r#"{{{CB},"scope":""}}"#).as_bytes(), &[]).is_ok());
}

#[test]
fn fields_are_taken() {
    let m = ok(r#"{"redirect_uris":["https://a.example/1","https://a.example/1","https://a.example/2"],"client_name":" App ",
        "grant_types":["authorization_code","authorization_code"],"token_endpoint_auth_method":"client_secret_basic","scope":"write read write"}"#);
    assert_eq!(m.settings.redirect_uris, ["https://a.example/1", "https://a.example/2"]);
    assert_eq!((m.settings.name.as_str(), m.named), ("App", true));
    assert_eq!(m.settings.grant_types, ["authorization_code"]);
    assert_eq!((m.auth_method, m.settings.client_type), (AuthMethod::ClientSecretBasic, ClientType::Confidential));
    assert_eq!(m.settings.scopes, ["write", "read"]);
    let m = ok(&format!(r#"{{{CB},"token_endpoint_auth_method":"client_secret_post"}}"#));
    assert_eq!((m.auth_method.as_str(), m.settings.client_type), ("client_secret_post", ClientType::Confidential));
}

#[test]
fn the_response_has_the_rfc_7591_fields() {
    let m = ok(&format!(r#"{{{CB},"client_name":"App","scope":"read","token_endpoint_auth_method":"client_secret_post"}}"#));
    let c = Client::new("cid".into(), m.settings.clone(), &ClientSecret::new("s3"), 1_700_000_000_999);
    let v = response(&c, &m, Some("s3"));
    assert_eq!(v["client_id"], "cid");
    assert_eq!(v["client_id_issued_at"], 1_700_000_000, "seconds (RFC 7591 §3.2.1)");
    assert_eq!((v["client_secret"].as_str(), v["client_secret_expires_at"].as_u64()), (Some("s3"), Some(0)));
    assert_eq!(v["redirect_uris"], json!(["https://app.example/cb"]));
    assert_eq!(v["grant_types"], json!(["authorization_code", "refresh_token"]));
    assert_eq!(v["response_types"], json!(["code"]));
    assert_eq!(v["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!((v["client_name"].as_str(), v["scope"].as_str()), (Some("App"), Some("read")));

    let m = ok(&format!("{{{CB}}}"));
    let c = Client::public("pid".into(), m.settings.clone(), 5_000);
    let v = response(&c, &m, None);
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["client_id", "client_id_issued_at", "grant_types", "redirect_uris", "response_types", "token_endpoint_auth_method"]);
    assert_eq!(v["token_endpoint_auth_method"], "none");
}

#[test]
fn errors_quote_the_offending_value_printably() {
    let e = parse(format!(r#"{{{CB},"scope":"read admin\u0007x"}}"#).as_bytes(), &scopes()).unwrap_err();
    assert!(e.description().contains("\"adminx\""), "{}", e.description());
    let e = parse(br#"{"redirect_uris":["http://evil.example/cb"]}"#, &scopes()).unwrap_err();
    assert!(e.description().contains("\"http://evil.example/cb\""), "{}", e.description());
}
