//! The one rule added to serde_json (no repeated keys), and that everything else is serde_json's.

use super::*;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Strictly {
    issuer: String,
    #[serde(alias = "aud")]
    audience: Option<String>,
}

#[test]
fn a_repeated_key_is_refused_and_named_at_any_depth() {
    for (text, key) in [
        (r#"{"issuer":"https://good.example","issuer":"https://evil.example"}"#, "issuer"),
        (r#"{"a":{"b":1,"b":1}}"#, "b"),
        (r#"[{"x":[{"k":true,"k":false}]}]"#, "k"),
        (r#"{"":1,"":2}"#, ""),
    ] {
        let e = parse(text).unwrap_err();
        assert_eq!(e.field.as_deref(), Some(key), "{text}");
        assert!(e.to_string().contains("appears twice"), "{e}");
    }
    // Equal keys in different objects are fine.
    assert_eq!(parse(r#"{"a":{"k":1},"b":{"k":2}}"#).unwrap(), json!({"a": {"k": 1}, "b": {"k": 2}}));
}

#[test]
fn decode_refuses_a_repeated_key_even_for_fields_the_type_ignores() {
    #[derive(Debug, Deserialize)]
    struct OnlyName {
        #[allow(dead_code)]
        name: String,
    }
    // serde_json alone would accept this: `extra` is not a field of the type.
    assert!(serde_json::from_str::<OnlyName>(r#"{"name":"x","extra":1,"extra":2}"#).is_ok());
    assert_eq!(decode::<OnlyName>(r#"{"name":"x","extra":1,"extra":2}"#).unwrap_err().field.as_deref(), Some("extra"));
}

#[test]
fn the_tree_is_serde_jsons_tree() {
    for text in [r#"{"n":-3,"u":18446744073709551615,"f":1.5,"e":1e20,"s":"é\u00e9","z":null,"b":[true,false,[]],"o":{}}"#, "[]", "0", "\"x\"", "null"] {
        assert_eq!(parse(text).unwrap(), serde_json::from_str::<Value>(text).unwrap(), "{text}");
    }
}

#[test]
fn bad_text_is_an_error_without_a_field() {
    for text in ["", "{", "{\"a\":1,}", "[1 2]", "{} {}", "nul", "\"\\x\""] {
        let e = parse(text).unwrap_err();
        assert_eq!(e.field, None, "{text}");
        assert!(e.to_string().starts_with("invalid JSON"), "{e}");
    }
}

#[test]
fn parse_object_wants_utf8_and_an_object() {
    assert!(parse_object(b"{\"a\":1}").is_ok());
    assert_eq!(parse_object(b"[1]").unwrap_err().to_string(), "the body must be a JSON object");
    assert_eq!(parse_object(b"\xff").unwrap_err().to_string(), "invalid JSON: not UTF-8");
    assert_eq!(parse_object(br#"{"a":1,"a":1}"#).unwrap_err().field.as_deref(), Some("a"));
}

#[test]
fn decode_keeps_serdes_attributes_and_names_the_failing_field() {
    // `alias`, `deny_unknown_fields` and an optional `Option` behave as serde documents them.
    assert_eq!(decode::<Strictly>(r#"{"issuer":"i","aud":"a"}"#).unwrap(), Strictly { issuer: "i".into(), audience: Some("a".into()) });
    assert_eq!(decode::<Strictly>(r#"{"issuer":"i"}"#).unwrap(), Strictly { issuer: "i".into(), audience: None });
    let unknown = decode::<Strictly>(r#"{"issuer":"i","other":1}"#).unwrap_err();
    assert!(unknown.to_string().contains("unknown field"), "{unknown}");
    let wrong = decode::<Strictly>(r#"{"issuer":5}"#).unwrap_err();
    assert_eq!(wrong.field.as_deref(), Some("issuer"));
    // An alias and its field together are one field named twice: refused.
    assert!(decode::<Strictly>(r#"{"issuer":"i","aud":"a","audience":"b"}"#).is_err());
}

#[test]
fn long_keys_are_shortened_in_the_message() {
    let key = "k".repeat(200);
    let e = parse(&format!(r#"{{"{key}":1,"{key}":2}}"#)).unwrap_err();
    assert_eq!(e.field.as_deref(), Some(key.as_str()));
    assert!(e.to_string().len() < 120, "{e}");
}
