//! The pure rules of projects, as tables.

use super::*;
use crate::client::settings::Settings;
use crate::secret::ClientSecret;

const A1: &str = "AAAAAAAAAAAAAAAAAAAAA1";
const A2: &str = "AAAAAAAAAAAAAAAAAAAAA2";

fn api(id: &str, scopes: &[&str], resource: Option<&str>) -> Api {
    Api {
        api_id: id.into(),
        name: format!("API {id}"),
        description: String::new(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        resource: resource.map(str::to_string),
        created_at: 0,
    }
}

#[test]
fn new_project_rules() {
    let p = parse_new(format!(r#"{{"name":" Shop ","apis":["{A1}","{A2}","{A1}"]}}"#).as_bytes()).unwrap();
    assert_eq!(p, NewProject { name: "Shop".into(), apis: vec![A1.into(), A2.into()], api_key: true }, "api_key on by default, ids once");
    let off = parse_new(format!(r#"{{"name":"x","apis":["{A1}"],"api_key":false}}"#).as_bytes()).unwrap();
    assert!(!off.api_key);
    let hundred = "n".repeat(100);
    assert_eq!(parse_new(format!(r#"{{"name":"{hundred}","apis":["{A1}"]}}"#).as_bytes()).unwrap().name.len(), 100);
    let eleven: Vec<String> = (0..11).map(|i| format!("AAAAAAAAAAAAAAAAAAAA{i:02}")).collect();
    assert_eq!(api_ids(&eleven[..10]).unwrap().len(), 10, "ten APIs are allowed");
    let cases = [
        ("not json".to_string(), "body"),
        (format!(r#"{{"apis":["{A1}"]}}"#), "name"),
        (format!(r#"{{"name":"","apis":["{A1}"]}}"#), "name"),
        (format!(r#"{{"name":"   ","apis":["{A1}"]}}"#), "name"),
        (format!(r#"{{"name":"{}","apis":["{A1}"]}}"#, "n".repeat(101)), "name"),
        (format!(r#"{{"name":"a\u0007b","apis":["{A1}"]}}"#), "name"),
        (format!(r#"{{"name":5,"apis":["{A1}"]}}"#), "name"),
        (r#"{"name":"x"}"#.to_string(), "apis"),
        (r#"{"name":"x","apis":[]}"#.to_string(), "apis"),
        (r#"{"name":"x","apis":["nope"]}"#.to_string(), "apis"),
        (r#"{"name":"x","apis":"a"}"#.to_string(), "apis"),
        (r#"{"name":"x","apis":[1]}"#.to_string(), "apis"),
        (format!(r#"{{"name":"x","apis":{}}}"#, serde_json::to_string(&eleven).unwrap()), "apis"),
        (format!(r#"{{"name":"x","apis":["{A1}"],"api_key":"yes"}}"#), "api_key"),
        (format!(r#"{{"name":"x","apis":["{A1}"],"owner":"me"}}"#), "owner"),
        (format!(r#"{{"name":"x","apis":["{A1}"],"scopes":["admin"]}}"#), "scopes"),
    ];
    for (body, field) in cases {
        assert_eq!(crate::error::field_of(parse_new(body.as_bytes()).unwrap_err()), field, "{body}");
    }
}

#[test]
fn patch_and_rotate_rules() {
    assert_eq!(parse_patch(b"{}").unwrap(), ProjectPatch::default());
    let p = parse_patch(format!(r#"{{"name":"N","apis":["{A2}"],"api_key":false,"disabled":true}}"#).as_bytes()).unwrap();
    assert_eq!(p, ProjectPatch { name: Some("N".into()), apis: Some(vec![A2.into()]), api_key: Some(false), disabled: Some(true) });
    for (body, field) in [
        (r#"{"name":""}"#, "name"),
        (r#"{"apis":[]}"#, "apis"),
        (r#"{"disabled":1}"#, "disabled"),
        (r#"{"api_key":null}"#, "api_key"),
        (r#"{"client_id":"x"}"#, "client_id"),
    ] {
        assert_eq!(crate::error::field_of(parse_patch(body.as_bytes()).unwrap_err()), field, "{body}");
    }
    assert_eq!(parse_rotate(b"").unwrap(), 0);
    for g in GRACE_CHOICES {
        assert_eq!(parse_rotate(format!(r#"{{"grace":{g}}}"#).as_bytes()).unwrap(), g);
    }
    for bad in [r#"{"grace":1}"#, r#"{"grace":-1}"#, r#"{"grace":"3600"}"#, r#"{"grace":3599}"#, r#"{"grace":604801}"#, r#"{"x":0}"#] {
        assert!(parse_rotate(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn a_project_gets_its_apis_scopes_and_resources() {
    let apis = [api(A1, &["maps:read", "maps:write"], Some("https://maps.example/")), api(A2, &["maps:read", "geo"], Some("https://maps.example"))];
    let new = NewProject { name: "Shop".into(), apis: vec![A1.into(), A2.into()], api_key: true };
    let s = new_settings(&new, &apis);
    assert_eq!(s.scopes, ["maps:read", "maps:write", "geo"], "the union, each once");
    assert_eq!(s.resources, ["https://maps.example/"], "one resource, however spelled");
    assert!(s.api_key);
    let d = Settings::default();
    assert_eq!((s.grant_types, s.client_type, s.token_ttl), (d.grant_types, d.client_type, d.token_ttl), "a client_credentials client");
    let none = new_settings(&NewProject { api_key: false, ..new }, &[api(A1, &["x"], None)]);
    assert_eq!((none.scopes.len(), none.resources.len(), none.api_key), (1, 0, false));
}

#[test]
fn the_view() {
    let mut c = Client::new(
        "cid".into(),
        new_settings(&NewProject { name: "Shop".into(), apis: vec![A1.into()], api_key: true }, &[api(A1, &["a", "b"], None)]),
        &ClientSecret::new("s"),
        5_000_000,
    );
    c.owner = Some("u".into());
    c.apis = vec![A1.into(), A2.into()];
    let v = view(&c, &[api(A1, &["a"], None)], None);
    assert_eq!(
        v,
        json!({"client_id": "cid", "name": "Shop", "apis": [{"api_id": A1, "name": format!("API {A1}")}, {"api_id": A2, "name": A2}],
               "scope": "a b", "api_key": true, "disabled": false, "created_at": 5_000, "secret_rotated_at": null, "last_used_at": null})
    );
    c.rotate(&ClientSecret::new("t"), 0, 7_000_000);
    assert_eq!(view(&c, &[], Some(9))["secret_rotated_at"], 7_000);
    assert!(!view(&c, &[], Some(9)).to_string().contains("secret\":\""), "never a secret");
}
