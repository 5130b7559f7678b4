//! `form`: the form-urlencoded parser (bodies, query strings, Basic id/secret).
#![no_main]

use edge_oauth::form::{decode_component, encode_component, Params};
use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &["grant_type", "scope", "client_id", "client_secret", "token", "token_type_hint", "key", ""];

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = Params::parse(data) {
        for name in NAMES {
            let single = params.single(name);
            let required = params.required(name);
            // `required` is `single` with absence made an error.
            match (&single, &required) {
                (Ok(Some(a)), Ok(b)) => assert_eq!(a, b),
                (Ok(Some(_)), Err(_)) | (Ok(None), Ok(_)) | (Err(_), Ok(_)) => {
                    panic!("single {single:?} and required {required:?} disagree for {name:?}")
                }
                _ => {}
            }
            if let Ok(Some(v)) = single {
                assert!(!v.is_empty(), "an empty value counts as absent");
                assert!(params.contains(name));
            }
        }
    }

    let decoded = decode_component(data);
    // Bytes without '%' or '+' decode to themselves when they are UTF-8.
    if !data.contains(&b'%') && !data.contains(&b'+') {
        assert_eq!(decoded.as_deref().ok(), std::str::from_utf8(data).ok());
    }

    if let Ok(s) = std::str::from_utf8(data) {
        let encoded = encode_component(s);
        assert!(encoded.bytes().all(|b| b.is_ascii_graphic()), "encoded form is printable ASCII");
        assert_eq!(decode_component(encoded.as_bytes()).as_deref(), Ok(s), "roundtrip");
        // And as a whole parameter: name=value survives Params::parse.
        let body = format!("n={encoded}");
        let p = Params::parse(body.as_bytes()).expect("an encoded value always parses");
        assert_eq!(p.single("n").unwrap(), Some(s).filter(|s| !s.is_empty()));
    }
});
