//! `authorization`: the Authorization header parser and the client-credentials rules.
//! Input: `header \0 form-body` (no NUL: the whole input is the header, the body is empty).
#![no_main]

use edge_oauth::auth::credentials::{client_credentials, parse_authorization, Authorization};
use edge_oauth::error::OAuthError;
use edge_oauth::form::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let s = String::from_utf8_lossy(header);

    assert_eq!(parse_authorization(None), Ok(None));
    let parsed = parse_authorization(Some(&s));
    match &parsed {
        Ok(None) => panic!("a present header never parses to None"),
        Ok(Some(Authorization::Basic { client_id, .. })) => assert!(!client_id.is_empty()),
        Ok(Some(Authorization::Other(scheme))) => assert!(!scheme.is_empty()),
        Ok(Some(Authorization::Bearer(_))) => {}
        Err(e) => assert_eq!(e.status(), 400, "{e:?}"),
    }

    let params = Params::parse(body).unwrap_or_default();
    for auth in [Some(&*s), None] {
        match client_credentials(auth, &params) {
            Ok(c) => {
                assert!(!c.client_id.is_empty());
                assert_eq!(c.via_header, auth.is_some());
            }
            Err(OAuthError::InvalidRequest(_)) | Err(OAuthError::InvalidClient { .. }) => {}
            Err(e) => panic!("unexpected error kind {e:?}"),
        }
    }
});
