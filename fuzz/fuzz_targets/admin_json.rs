//! `admin_json`: validation of the admin API's JSON bodies.
#![no_main]

use edge_oauth::client::settings::{
    grace_for_rotation, settings_for_create, settings_for_patch, Settings, MAX_GRACE, MAX_MAX_LIFETIME, MAX_NAME_LEN,
    MAX_TOKEN_TTL,
};
use edge_oauth::client::redirect::check_registrable;
use edge_oauth::client::GRANT_TYPES;
use edge_oauth::scope::{is_scope_token, MAX_SCOPES};
use libfuzzer_sys::fuzz_target;

fn check(s: &Settings) {
    assert!(s.token_ttl >= 1, "{s:?}");
    assert!(u64::from(s.token_ttl) <= MAX_TOKEN_TTL, "{s:?}");
    assert!(s.max_lifetime >= s.token_ttl, "{s:?}");
    assert!(u64::from(s.max_lifetime) <= MAX_MAX_LIFETIME, "{s:?}");
    assert!(s.name.chars().count() <= MAX_NAME_LEN);
    assert_eq!(s.name, s.name.trim());
    assert!(s.scopes.len() <= MAX_SCOPES);
    assert!(s.scopes.iter().all(|x| is_scope_token(x)));
    assert!(s.grant_types.iter().all(|g| GRANT_TYPES.contains(&g.as_str())));
    assert!(s.redirect_uris.iter().all(|u| check_registrable(u).is_ok()));
    assert!(s.rate_limit != Some(0));
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = settings_for_create(data) {
        assert!(!s.name.is_empty(), "created without a name: {s:?}");
        assert!(!s.disabled, "create cannot set disabled");
        check(&s);
        // The created settings are a fixed point of PATCH with the same body.
        if let Ok((p, _)) = settings_for_patch(&s, data) {
            assert_eq!(p, s);
        }
        // And they survive the stored JSON form.
        let text = serde_json::to_string(&s).expect("settings serialise");
        assert_eq!(serde_json::from_str::<Settings>(&text).expect("settings deserialise"), s);
    }
    if let Ok((s, _)) = settings_for_patch(&Settings::default(), data) {
        check(&s);
    }
    if let Ok(g) = grace_for_rotation(data) {
        assert!(g <= MAX_GRACE);
    }
});
