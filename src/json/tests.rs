//! The decoder's rules, on small records and enums.

use super::*;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize, PartialEq)]
struct Record {
    name: String,
    n: u64,
    #[serde(default)]
    tags: Vec<String>,
    maybe: Option<i64>,
    #[serde(default)]
    extra: BTreeMap<String, bool>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Op {
    Ping,
    Add(u64),
    Pair(u64, String),
    Named {
        a: u64,
        #[serde(default)]
        b: Option<String>,
    },
}

#[test]
fn reads_what_serde_json_reads() {
    let r: Record = from_json(r#"{"name":"x","n":7,"tags":["a","b"],"maybe":-3,"extra":{"k":true},"unknown":[1]}"#).unwrap();
    assert_eq!(r, Record { name: "x".into(), n: 7, tags: vec!["a".into(), "b".into()], maybe: Some(-3), extra: [("k".to_string(), true)].into() });
    let r: Record = from_json(r#"{"name":"y","n":0,"maybe":null}"#).unwrap();
    assert_eq!((r.tags.len(), r.maybe), (0, None));
    assert_eq!(from_json::<Op>(r#""ping""#).unwrap(), Op::Ping);
    assert_eq!(from_json::<Op>(r#"{"ping":null}"#).unwrap(), Op::Ping);
    assert_eq!(from_json::<Op>(r#"{"add":5}"#).unwrap(), Op::Add(5));
    assert_eq!(from_json::<Op>(r#"{"pair":[1,"z"]}"#).unwrap(), Op::Pair(1, "z".into()));
    assert_eq!(from_json::<Op>(r#"{"named":{"a":2}}"#).unwrap(), Op::Named { a: 2, b: None });
    assert_eq!(from_json::<Vec<(String, u64)>>(r#"[["a",1]]"#).unwrap(), vec![("a".to_string(), 1)]);
}

#[test]
fn refuses_what_it_should() {
    for bad in [
        r#"["x",7,[],null,{}]"#,   // a struct as an array
        r#"{"name":"x"}"#,         // a missing field
        r#"{"name":"x","n":-1}"#,  // out of range
        r#"{"name":"x","n":1.5}"#, // not an integer
        r#"{"name":1,"n":1}"#,     // wrong type
        r#"{"name":"x","n":1,"tags":"a"}"#,
        "{", // not JSON
    ] {
        assert!(from_json::<Record>(bad).is_err(), "{bad}");
    }
    for bad in [r#""nope""#, r#""add""#, r#""named""#, r#""pair""#, r#"{"add":"x"}"#, r#"{"add":1,"ping":null}"#, r#"{"ping":1}"#, "[]", "3"] {
        assert!(from_json::<Op>(bad).is_err(), "{bad}");
    }
    let e = from_json::<Record>(r#"{"name":"x","n":1.5}"#).unwrap_err();
    assert_eq!(e.to_string(), "invalid type: expected u64");
    let e = from_json::<(String, u64)>(r#"["a"]"#).unwrap_err();
    assert_eq!(e.to_string(), "invalid length 1");
}

#[test]
fn a_missing_field_takes_its_default_or_is_named() {
    let e = from_json::<Record>(r#"{"name":"x","maybe":null}"#).unwrap_err();
    assert_eq!(e.to_string(), "missing field `n`");
    // Without `#[serde(default)]`, an `Option` must be present (null for `None`).
    let e = from_json::<Record>(r#"{"name":"x","n":1}"#).unwrap_err();
    assert_eq!(e.to_string(), "missing field `maybe`");
    // A field's own error after a defaulted one is not taken for a missing field.
    let e = from_json::<Record>(r#"{"name":"x","n":1,"maybe":null,"extra":{"k":1}}"#).unwrap_err();
    assert_eq!(e.to_string(), "invalid type: expected a boolean");
    let r: Record = from_json(r#"{"maybe":1,"n":2,"name":"z"}"#).unwrap();
    assert_eq!(r, Record { name: "z".into(), n: 2, tags: vec![], maybe: Some(1), extra: BTreeMap::new() });
}
