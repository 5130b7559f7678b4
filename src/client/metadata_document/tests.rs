//! Every rule of metadata-document URLs, documents and cache lifetimes, as tables.

use super::*;
use serde_json::json;

const URL: &str = "https://app.example.com/oauth/client.json";

fn config() -> Config {
    Config { registration_scopes: vec!["read".into(), "mcp".into()], ..Config::default() }
}

fn doc(extra: serde_json::Value) -> Vec<u8> {
    let mut d = json!({"client_id": URL, "client_name": "Example App", "redirect_uris": ["https://app.example.com/cb"]});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            d.as_object_mut().unwrap().remove(k);
        } else {
            d[k] = v.clone();
        }
    }
    d.to_string().into_bytes()
}

#[test]
fn which_ids_are_document_urls() {
    use Cimd::*;
    // (id, off, on, dev)
    let cases = [
        (URL, false, true, true),
        ("https://app.example.com/c?v=1", false, true, true),
        ("https://app.example.com:8443/c", false, true, true),
        ("https://app.example.com/", false, false, false),
        ("https://app.example.com", false, false, false),
        ("https://app.example.com?x", false, false, false),
        ("https://app.example.com/a/../c", false, false, false),
        ("https://app.example.com/./c", false, false, false),
        ("https://app.example.com/c#frag", false, false, false),
        ("https://user@app.example.com/c", false, false, false),
        ("http://app.example.com/c", false, false, false),
        ("http://127.0.0.1:8080/c.json", false, false, true),
        ("http://localhost/c.json", false, false, true),
        ("http://[::1]:9/c.json", false, false, true),
        ("https://localhost/c.json", false, false, true),
        ("https://app.example.com./c", false, false, false),
        ("https://localhost./c.json", false, false, false),
        ("https://app..example.com/c", false, false, false),
        ("https://.app.example.com/c", false, false, false),
        ("ftp://app.example.com/c", false, false, false),
        ("abc123", false, false, false),
        ("", false, false, false),
    ];
    for (id, off, on, dev) in cases {
        assert_eq!(is_document_url(id, Off), off, "{id} off");
        assert_eq!(is_document_url(id, On), on, "{id} on");
        assert_eq!(is_document_url(id, Dev), dev, "{id} dev");
    }
    assert_eq!(document_host("https://App.Example.COM/c", On).as_deref(), Some("app.example.com"), "hosts are lower-cased");
}

#[test]
fn a_good_document_makes_a_public_client() {
    let c = parse(URL, &doc(json!({})), 42, &config()).unwrap();
    assert_eq!(c.client_id, URL);
    assert_eq!(c.origin, Origin::MetadataDocument);
    assert!(c.is_public() && c.secret.is_none());
    assert_eq!(c.authenticate(None, 0), Some(0));
    assert_eq!(c.settings.name, "Example App");
    assert_eq!(c.settings.redirect_uris, vec!["https://app.example.com/cb"]);
    assert_eq!(c.settings.grant_types, vec![GRANT_AUTHORIZATION_CODE], "absent grant_types: the code grant only");
    assert_eq!(c.settings.scopes, vec!["read", "mcp"], "REGISTRATION_SCOPES");
    assert!(!c.settings.skip_consent);
    assert_eq!(c.created_at, 42);
    let d = Settings::default();
    assert_eq!((c.settings.token_ttl, c.settings.ip_binding, c.settings.api_key, c.settings.introspect), (d.token_ttl, d.ip_binding, false, false));
}

#[test]
fn document_fields() {
    let name = |extra| parse(URL, &doc(extra), 0, &config()).map(|c| c.settings.name);
    assert_eq!(name(json!({"client_name": null})).unwrap(), "app.example.com", "no name: the URL's host");
    assert_eq!(name(json!({"client_name": "  "})).unwrap(), "app.example.com");
    assert_eq!(name(json!({"client_name": " Padded "})).unwrap(), "Padded");
    assert!(name(json!({"client_name": 7})).is_err());
    assert!(name(json!({"client_name": "a\u{7}b"})).is_err());
    assert!(name(json!({"client_name": "x".repeat(201)})).is_err());
    let grants = |g| parse(URL, &doc(json!({"grant_types": g})), 0, &config()).map(|c| c.settings.grant_types);
    assert_eq!(grants(json!(["authorization_code", "refresh_token", "refresh_token"])).unwrap(), vec!["authorization_code", "refresh_token"]);
    assert!(grants(json!(["authorization_code", "client_credentials"])).is_err());
    assert!(grants(json!(["urn:ietf:params:oauth:grant-type:device_code"])).is_err());
    assert!(grants(json!("authorization_code")).is_err());
    assert!(grants(json!([])).is_err(), "nothing to do without the code grant");
    assert!(grants(json!(["refresh_token"])).is_err());
    let method = |m| parse(URL, &doc(json!({"token_endpoint_auth_method": m})), 0, &config()).is_ok();
    assert!(method(json!("none")));
    assert!(!method(json!("client_secret_basic")));
    assert!(!method(json!("client_secret_post")));
    assert!(!method(json!("private_key_jwt")));
    assert!(method(json!(null)), "absent is fine");
    assert!(parse(URL, &doc(json!({"logo_uri": "https://x/l.png", "scope": "admin"})), 0, &config()).is_ok(), "unknown fields are ignored");
    let c = parse(URL, &doc(json!({"scope": "admin"})), 0, &config()).unwrap();
    assert_eq!(c.settings.scopes, vec!["read", "mcp"], "a document cannot widen its scopes");
}

#[test]
fn redirect_uris_follow_the_admin_rules() {
    let uris = |u| parse(URL, &doc(json!({"redirect_uris": u})), 0, &config()).map(|c| c.settings.redirect_uris);
    assert_eq!(uris(json!(["https://a.example/cb", "http://127.0.0.1/cb", "com.example.app:/cb"])).unwrap().len(), 3);
    assert!(uris(json!([])).is_err(), "at least one");
    assert!(uris(json!("https://a.example/cb")).is_err());
    assert!(uris(json!([1])).is_err());
    assert!(uris(json!(["http://a.example/cb"])).is_err(), "http off loopback");
    assert!(uris(json!(["https://a.example/cb#x"])).is_err());
    assert!(uris(json!(["javascript:alert(1)"])).is_err());
    assert!(uris(json!(["https://*.example/cb"])).is_err());
    let many: Vec<String> = (0..21).map(|i| format!("https://a.example/{i}")).collect();
    assert!(uris(json!(many)).is_err());
    assert!(uris(json!(many[..20])).is_ok(), "exactly 20 is fine");
    assert!(parse(URL, &doc(json!({"redirect_uris": null})), 0, &config()).is_err(), "required");
}

#[test]
fn bad_documents() {
    let bad = |url: &str, body: &[u8]| parse(url, body, 0, &config()).unwrap_err();
    assert!(bad(URL, b"<html>").contains("not JSON"));
    assert!(bad(URL, b"[1]").contains("not a JSON object"));
    assert!(bad(URL, &[0xff, 0xfe]).contains("UTF-8"));
    assert!(bad(URL, &doc(json!({"client_id": null}))).contains("client_id"));
    assert!(bad(URL, &doc(json!({"client_id": "https://app.example.com/other"}))).contains("client_id"));
    // Exact: no normalisation of case, trailing slash or default port.
    for other in ["https://APP.example.com/oauth/client.json", "https://app.example.com/oauth/client.json/", "https://app.example.com:443/oauth/client.json"] {
        assert!(bad(other, &doc(json!({}))).contains("client_id"), "{other}");
    }
}

#[test]
fn cache_lifetimes() {
    let cases = [
        (None, MIN_CACHE_MS),
        (Some(""), MIN_CACHE_MS),
        (Some("max-age=3600"), 3_600_000),
        (Some("public, max-age=600"), 600_000),
        (Some("Max-Age=\"120\""), 120_000),
        (Some("max-age=10"), MIN_CACHE_MS),
        (Some("max-age=0"), MIN_CACHE_MS),
        (Some("max-age=999999999"), MAX_CACHE_MS),
        (Some("max-age=99999999999999999999"), MIN_CACHE_MS),
        (Some("max-age=abc"), MIN_CACHE_MS),
        (Some("no-store"), MIN_CACHE_MS),
        (Some("max-age=3600, no-cache"), MIN_CACHE_MS),
        (Some("NO-STORE, max-age=3600"), MIN_CACHE_MS),
        (Some("max-age=120, max-age=3600"), 120_000),
        (Some("s-maxage=3600"), MIN_CACHE_MS),
    ];
    for (cc, want) in cases {
        assert_eq!(cache_ms(cc), want, "{cc:?}");
    }
}
