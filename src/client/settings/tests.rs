//! The admin API's JSON rules for client settings, field by field.

use super::*;
use crate::resource::MAX_RESOURCES;

#[test]
fn create_defaults() {
    let s = settings_for_create(br#"{"name":"svc"}"#).unwrap();
    assert_eq!(s.token_ttl, 300);
    assert_eq!(s.max_lifetime, 86_400);
    assert_eq!(s.expiry, Expiry::Sliding);
    assert!(s.ip_binding && !s.api_key && !s.introspect && !s.disabled);
    assert_eq!(s.grant_types, vec!["client_credentials"]);
}

#[test]
fn create_full_and_errors_name_the_field() {
    let s = settings_for_create(
        br#"{"name":" a ","scopes":["read","write","read"],"token_ttl":5,"max_lifetime":60,
            "expiry":"fixed","ip_binding":false,"api_key":true,"introspect":true,"rate_limit":100}"#,
    )
    .unwrap();
    assert_eq!((s.name.as_str(), s.scopes.len(), s.token_ttl, s.expiry), ("a", 2, 5, Expiry::Fixed));
    let cases: &[(&[u8], &str)] = &[
        (b"{", "body"),
        (b"[]", "body"),
        (b"{}", "name"),
        (br#"{"name":""}"#, "name"),
        (br#"{"name":5}"#, "name"),
        (br#"{"name":"a","token_ttl":"300"}"#, "token_ttl"),
        (br#"{"name":"a","token_ttl":0}"#, "token_ttl"),
        (br#"{"name":"a","token_ttl":1e30}"#, "token_ttl"),
        (br#"{"name":"a","token_ttl":99999999999999999999999}"#, "token_ttl"),
        (br#"{"name":"a","token_ttl":-1}"#, "token_ttl"),
        (br#"{"name":"a","token_ttl":1.5}"#, "token_ttl"),
        (br#"{"name":"a","token_ttl":600,"max_lifetime":60}"#, "max_lifetime"),
        (br#"{"name":"a","expiry":"forever"}"#, "expiry"),
        (br#"{"name":"a","scopes":"read"}"#, "scopes"),
        (br#"{"name":"a","scopes":["a b"]}"#, "scopes"),
        (br#"{"name":"a","ip_binding":"yes"}"#, "ip_binding"),
        (br#"{"name":"a","colour":"red"}"#, "colour"),
        (br#"{"name":"a","disabled":true}"#, "disabled"),
        (br#"{"name":"a","grant_types":["password"]}"#, "grant_types"),
        (br#"{"name":"a","rate_limit":0}"#, "rate_limit"),
        (br#"{"name":"a","client_type":"secret"}"#, "client_type"),
        (br#"{"name":"a","client_type":"public"}"#, "grant_types"),
        (
            br#"{"name":"a","client_type":"public","grant_types":["authorization_code","client_credentials"],"redirect_uris":["https://a.example/cb"]}"#,
            "grant_types",
        ),
        (br#"{"name":"a","client_type":"public","grant_types":["urn:ietf:params:oauth:grant-type:token-exchange"]}"#, "grant_types"),
        (br#"{"name":"a","grant_types":["authorization_code"]}"#, "redirect_uris"),
        (br#"{"name":"a","grant_types":["authorization_code"],"redirect_uris":[]}"#, "redirect_uris"),
        (br#"{"name":"a","redirect_uris":["javascript:alert(1)"]}"#, "redirect_uris"),
        (br#"{"name":"a","redirect_uris":"https://a.example/cb"}"#, "redirect_uris"),
        (br#"{"name":"a","redirect_uris":[1]}"#, "redirect_uris"),
        (br#"{"name":"a","refresh_token_ttl":0}"#, "refresh_token_ttl"),
        (br#"{"name":"a","refresh_token_ttl":31536001}"#, "refresh_token_ttl"),
        (br#"{"name":"a","skip_consent":"yes"}"#, "skip_consent"),
        (br#"{"name":"a","resources":"https://api.example.com"}"#, "resources"),
        (br#"{"name":"a","resources":["http://api.example.com"]}"#, "resources"),
        (br#"{"name":"a","resources":["https://api.example.com/#f"]}"#, "resources"),
        (br#"{"name":"a","resources":["urn:example:api"]}"#, "resources"),
        (br#"{"name":"a","resources":[1]}"#, "resources"),
    ];
    for (body, field) in cases {
        let e = settings_for_create(body).unwrap_err();
        match e {
            OAuthError::InvalidField { field: f, .. } => {
                assert_eq!(&f, field, "{}", String::from_utf8_lossy(body))
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn person_side_settings() {
    let s = settings_for_create(
        br#"{"name":"spa","client_type":"public","grant_types":["authorization_code","refresh_token","authorization_code"],
            "redirect_uris":["https://app.example/cb","http://127.0.0.1/cb","https://app.example/cb"],"refresh_token_ttl":60,"skip_consent":true}"#,
    )
    .unwrap();
    assert_eq!(s.client_type, ClientType::Public);
    assert_eq!(s.grant_types, vec!["authorization_code", "refresh_token"]);
    assert_eq!(s.redirect_uris, vec!["https://app.example/cb", "http://127.0.0.1/cb"]);
    assert_eq!((s.refresh_token_ttl, s.skip_consent), (60, true));
    assert!(s.allows(GRANT_REFRESH_TOKEN) && !s.allows(GRANT_CLIENT_CREDENTIALS));
    let d = settings_for_create(br#"{"name":"x"}"#).unwrap();
    assert_eq!((d.client_type, d.refresh_token_ttl, d.skip_consent), (ClientType::Confidential, 2_592_000, false));
    assert!(d.redirect_uris.is_empty());
    // Every grant type is accepted by a confidential client.
    let all = format!(r#"{{"name":"x","grant_types":{},"redirect_uris":["https://a.example/cb"]}}"#, serde_json::to_string(&GRANT_TYPES).unwrap());
    assert_eq!(settings_for_create(all.as_bytes()).unwrap().grant_types.len(), 5);
}

#[test]
fn client_type_is_fixed() {
    let public = settings_for_create(br#"{"name":"p","client_type":"public","grant_types":["urn:ietf:params:oauth:grant-type:device_code"]}"#).unwrap();
    let e = settings_for_patch(&public, br#"{"client_type":"confidential"}"#).unwrap_err();
    assert!(matches!(e, OAuthError::InvalidField { ref field, .. } if field == "client_type"), "{e:?}");
    assert!(settings_for_patch(&public, br#"{"client_type":"public","name":"q"}"#).is_ok(), "repeating it is fine");
    // A PATCH cannot sneak a public client into client_credentials, nor drop redirect URIs
    // that authorization_code needs.
    let e = settings_for_patch(&public, br#"{"grant_types":["client_credentials"]}"#).unwrap_err();
    assert!(matches!(e, OAuthError::InvalidField { ref field, .. } if field == "grant_types"));
    let web = settings_for_create(br#"{"name":"w","grant_types":["authorization_code"],"redirect_uris":["https://a.example/cb"]}"#).unwrap();
    let e = settings_for_patch(&web, br#"{"redirect_uris":[]}"#).unwrap_err();
    assert!(matches!(e, OAuthError::InvalidField { ref field, .. } if field == "redirect_uris"));
}

#[test]
fn older_records_read_with_defaults() {
    let old = r#"{"name":"svc","scopes":[],"grant_types":["client_credentials"],"token_ttl":300,"max_lifetime":86400,
        "expiry":"sliding","ip_binding":true,"api_key":false,"introspect":false,"rate_limit":null,"disabled":false}"#;
    let s: Settings = serde_json::from_str(old).unwrap();
    assert_eq!(s.client_type, ClientType::Confidential);
    assert_eq!(s.refresh_token_ttl, DEFAULT_REFRESH_TOKEN_TTL);
}

#[test]
fn patch_keeps_other_fields() {
    let base = settings_for_create(br#"{"name":"a","scopes":["x"]}"#).unwrap();
    let (p, touched) = settings_for_patch(&base, br#"{"disabled":true,"rate_limit":null}"#).unwrap();
    assert!(p.disabled && touched);
    assert!(!settings_for_patch(&base, br#"{"name":"b"}"#).unwrap().1);
    assert_eq!(p.scopes, vec!["x"]);
    assert!(settings_for_patch(&base, br#"{"client_id":"x"}"#).is_err());
}

#[test]
fn grace_body() {
    assert_eq!(grace_for_rotation(b"").unwrap(), 0);
    assert_eq!(grace_for_rotation(br#"{"grace":60}"#).unwrap(), 60);
    assert!(grace_for_rotation(br#"{"grace":-1}"#).is_err());
    assert!(grace_for_rotation(br#"{"grace":60,"x":1}"#).is_err());
}

#[test]
fn resources_are_web_uris_each_once() {
    let s = settings_for_create(br#"{"name":"a","resources":["https://api.example.com/","https://api.example.com","http://127.0.0.1:8787/mcp"]}"#).unwrap();
    assert_eq!(s.resources, vec!["https://api.example.com/", "http://127.0.0.1:8787/mcp"], "one trailing slash of a bare origin is the same resource");
    assert!(settings_for_create(br#"{"name":"a"}"#).unwrap().resources.is_empty());
    let many: Vec<String> = (0..=MAX_RESOURCES).map(|i| format!("\"https://r{i}.example\"")).collect();
    let body = format!(r#"{{"name":"a","resources":[{}]}}"#, many.join(","));
    assert!(settings_for_create(body.as_bytes()).is_err());
}
