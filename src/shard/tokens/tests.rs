//! The token rules and the table of token decisions.

use super::*;
use crate::client::Settings;
use crate::secret::ClientSecret;
use crate::shard::Checked;

fn client(settings: Settings) -> Client {
    Client::new("cid".into(), settings, &ClientSecret::new("s"), 0)
}

#[test]
fn sliding_expiry_slides_and_is_capped() {
    let c = client(Settings { token_ttl: 10, max_lifetime: 25, ..Settings::default() });
    let mut r = TokenRecord::new(&c, 0, vec![], Some("1.1.1.1"), 1_000);
    assert_eq!(r.expires_at_ms(), 11_000);
    assert!(r.is_live(10_999) && !r.is_live(11_000));
    r.touch(9_000);
    assert_eq!(r.expires_at_ms(), 19_000);
    r.touch(5_000); // a late-arriving older use must not move expiry back
    assert_eq!(r.expires_at_ms(), 19_000);
    r.touch(20_000);
    assert_eq!(r.expires_at_ms(), 26_000, "capped at issue + max_lifetime");
}

#[test]
fn dead_by_is_the_latest_a_token_can_live_however_used() {
    let sliding = TokenRecord::new(&client(Settings { token_ttl: 10, max_lifetime: 25, ..Settings::default() }), 0, vec![], None, 1_000);
    assert_eq!(sliding.dead_by_ms(), 26_000, "issue + max_lifetime");
    let fixed = TokenRecord::new(&client(Settings { token_ttl: 10, max_lifetime: 25, expiry: Expiry::Fixed, ..Settings::default() }), 0, vec![], None, 1_000);
    assert_eq!(fixed.dead_by_ms(), 11_000, "issue + token_ttl");
    let capped = TokenRecord { not_after_ms: Some(5_000), ..sliding.clone() };
    assert_eq!(capped.dead_by_ms(), 5_000, "never past the subject's exp");
    let later = TokenRecord { not_after_ms: Some(90_000), ..sliding };
    assert_eq!(later.dead_by_ms(), 26_000);
}

#[test]
fn fixed_expiry_ignores_use() {
    let c = client(Settings { token_ttl: 10, expiry: Expiry::Fixed, ..Settings::default() });
    let mut r = TokenRecord::new(&c, 0, vec![], None, 0);
    r.touch(9_000);
    assert_eq!(r.expires_at_ms(), 10_000);
}

#[test]
fn ip_binding() {
    let c = client(Settings::default());
    let r = TokenRecord::new(&c, 0, vec![], Some("1.1.1.1"), 0);
    assert!(r.ip_allows(Some("1.1.1.1")));
    assert!(!r.ip_allows(Some("2.2.2.2")));
    assert!(!r.ip_allows(None));
    let r = TokenRecord::new(&c, 0, vec![], None, 0);
    assert!(r.ip_allows(None) && !r.ip_allows(Some("1.1.1.1")));
    let unbound = client(Settings { ip_binding: false, ..Settings::default() });
    let r = TokenRecord::new(&unbound, 0, vec![], Some("1.1.1.1"), 0);
    assert!(r.ip_allows(Some("9.9.9.9")));
}

#[test]
fn view_fields() {
    let c = client(Settings { token_ttl: 300, ..Settings::default() });
    let r = TokenRecord::new(&c, 0, vec!["a".into(), "b".into()], None, 1_700_000_000_000);
    let v = r.view(1_700_000_000_000);
    assert_eq!(v.scope, "a b");
    assert_eq!(v.exp, 1_700_000_300);
    assert_eq!(v.iat, 1_700_000_000);
    assert_eq!(v.expires_in, 300);
    assert_eq!(v.auth, "bearer");
    assert!(v.active);
}

// ---- the decisions, as a table ---------------------------------------------------------------

const NOW: u64 = 100_000;
const IP: &str = "10.0.0.1";

fn hash() -> SecretHash {
    SecretHash::of("token")
}

/// A token issued at `NOW - 1 s`, live for 10 s from its last use, bound to `IP`, scope `read`.
fn record() -> TokenRecord {
    let c = client(Settings { token_ttl: 10, ..Settings::default() });
    TokenRecord::new(&c, 0, vec!["read".into()], Some(IP), NOW - 1_000)
}

fn state(gate: Option<Gate>, token: Option<TokenRecord>) -> Loaded {
    let mut l = Loaded::default();
    if let Some(g) = gate {
        l = l.with(GATE_KEY, &g);
    }
    if let Some(t) = token {
        l = l.with(token_key(&hash()), &t);
    }
    l
}

fn validate(loaded: &Loaded, ip: &str, required: &[&str], now: u64) -> (Validation, Effects) {
    let op = Validate { resource: None, unbound: vec![], hash: hash(), ip: Some(ip.into()), required: required.iter().map(|s| s.to_string()).collect() };
    op.checked(loaded, now).unwrap()
}

#[test]
fn validate_table() {
    let closed = Gate { disabled: true, ..Gate::default() };
    let deleted = Gate { deleted: true, ..Gate::default() };
    let rotated = Gate { min_generation: 1, ..Gate::default() };
    let in_grace = Gate { min_generation: 1, grace_generation: Some(0), grace_until_ms: NOW + 1, ..Gate::default() };
    let key = token_key(&hash());
    // (case, state, ip, required, now, reply is valid, slid, deleted)
    type Case<'a> = (&'a str, Loaded, &'a str, Vec<&'a str>, u64, &'a str, bool, bool);
    let cases: Vec<Case> = vec![
        ("live", state(None, Some(record())), IP, vec![], NOW, "valid", true, false),
        ("live with scope", state(None, Some(record())), IP, vec!["read"], NOW, "valid", true, false),
        ("unknown", state(None, None), IP, vec![], NOW, "invalid", false, false),
        ("wrong ip", state(None, Some(record())), "10.0.0.2", vec![], NOW, "invalid", false, false),
        ("scope missing", state(None, Some(record())), IP, vec!["write"], NOW, "scope", false, false),
        ("expired", state(None, Some(record())), IP, vec![], NOW + 9_000, "invalid", false, true),
        ("last live ms", state(None, Some(record())), IP, vec![], NOW + 8_999, "valid", true, false),
        ("client disabled", state(Some(closed), Some(record())), IP, vec![], NOW, "invalid", false, true),
        ("client deleted", state(Some(deleted), Some(record())), IP, vec![], NOW, "invalid", false, true),
        ("secret rotated", state(Some(rotated), Some(record())), IP, vec![], NOW, "invalid", false, true),
        ("rotated, in grace", state(Some(in_grace), Some(record())), IP, vec![], NOW, "valid", true, false),
    ];
    for (name, loaded, ip, required, now, want, slid, deleted) in cases {
        let (reply, fx) = validate(&loaded, ip, &required, now);
        let got = match &reply {
            Validation::Valid(_) => "valid",
            Validation::InsufficientScope => "scope",
            Validation::Invalid | Validation::WrongIp => "invalid",
        };
        assert_eq!(got, want, "{name}");
        assert_eq!(fx.lazy.iter().any(|l| l.key == key), slid, "{name}: slid");
        assert!(fx.puts.is_empty(), "{name}: a use only ever writes lazily");
        assert_eq!(fx.deletes.contains(&key), deleted, "{name}: deleted");
        // Only the usage count asks for an alarm (to flush it within LAG_MS).
        assert!(fx.purge.is_empty() && fx.alarm_by.is_none_or(|a| a == now + crate::shard::memo::LAG_MS), "{name}");
    }
}

#[test]
fn validate_slides_by_the_time_of_use() {
    let (reply, fx) = validate(&state(None, Some(record())), IP, &[], NOW + 4_000);
    let Validation::Valid(view) = reply else { panic!("{reply:?}") };
    assert_eq!(view.expires_in, 10);
    let slide = fx.lazy.iter().find(|l| l.key == token_key(&hash())).unwrap();
    let stored: TokenRecord = serde_json::from_str(&slide.value).unwrap();
    assert_eq!(stored.last_used_ms, NOW + 4_000);
    // Deferred: no write of its own, and the alarm brings it to storage within LAG_MS.
    assert_eq!(fx.flush_by, Some(NOW + 4_000 + crate::shard::memo::LAG_MS));
    // A fixed-expiry token is never rewritten by a use.
    let c = client(Settings { token_ttl: 10, expiry: Expiry::Fixed, ..Settings::default() });
    let fixed = TokenRecord::new(&c, 0, vec![], Some(IP), NOW);
    let (reply, fx) = validate(&state(None, Some(fixed)), IP, &[], NOW + 4_000);
    assert!(matches!(reply, Validation::Valid(_)));
    assert!(fx.puts.is_empty() && fx.lazy.iter().all(|l| l.key == crate::shard::usage::USAGE_KEY));
}

#[test]
fn introspect_table() {
    let key = token_key(&hash());
    let cases: Vec<(&str, Loaded, u64, bool, bool)> = vec![
        ("live", state(None, Some(record())), NOW, true, false),
        ("unknown", state(None, None), NOW, false, false),
        ("expired", state(None, Some(record())), NOW + 9_000, false, true),
        ("gate closed", state(Some(Gate { disabled: true, ..Gate::default() }), Some(record())), NOW, false, true),
        ("client deleted", state(Some(Gate { deleted: true, ..Gate::default() }), Some(record())), NOW, false, true),
        ("secret rotated", state(Some(Gate { min_generation: 1, ..Gate::default() }), Some(record())), NOW, false, true),
    ];
    for (name, loaded, now, active, deleted) in cases {
        let (view, fx) = Introspect { hash: hash() }.checked(&loaded, now).unwrap();
        assert_eq!(view.is_some(), active, "{name}");
        assert_eq!(fx.deletes.contains(&key), deleted, "{name}");
        assert!(fx.puts.is_empty(), "{name}: introspection is not a use");
    }
    // From anywhere, and without sliding.
    let (view, _) = Introspect { hash: hash() }.checked(&state(None, Some(record())), NOW + 2_000).unwrap();
    assert_eq!(view.unwrap().expires_in, 7);
}

#[test]
fn issue_table() {
    let r = record();
    let cases = [
        ("open", None, Issued::Issued),
        ("disabled", Some(Gate { disabled: true, ..Gate::default() }), Issued::ClientGone),
        ("deleted", Some(Gate { deleted: true, ..Gate::default() }), Issued::ClientGone),
        ("stale secret", Some(Gate { min_generation: 1, ..Gate::default() }), Issued::ClientGone),
    ];
    for (name, gate, want) in cases {
        let (reply, fx) = Issue { hash: hash(), record: r.clone() }.checked(&state(gate, None), NOW).unwrap();
        assert_eq!(reply, want, "{name}");
        assert_eq!(fx.puts.len(), usize::from(want == Issued::Issued), "{name}");
        assert_eq!(fx.alarm_by, (want == Issued::Issued).then(|| r.expires_at_ms()), "{name}");
    }
    let (_, fx) = Issue { hash: hash(), record: r.clone() }.checked(&Loaded::default(), NOW).unwrap();
    assert_eq!(fx.puts[0].0, token_key(&hash()));
}

#[test]
fn revoke_only_by_the_owner() {
    let key = token_key(&hash());
    let (_, fx) = Revoke { hash: hash(), client_id: "cid".into() }.checked(&state(None, Some(record())), NOW).unwrap();
    assert_eq!(fx.deletes, vec![key]);
    let (_, fx) = Revoke { hash: hash(), client_id: "other".into() }.checked(&state(None, Some(record())), NOW).unwrap();
    assert!(fx.deletes.is_empty());
    let (_, fx) = Revoke { hash: hash(), client_id: "cid".into() }.checked(&state(None, None), NOW).unwrap();
    assert!(fx.deletes.is_empty());
}

/// RFC 8707: `/validate?resource=` refuses a token bound to other resources, and an unbound one
/// away from its client's resources, without a slide.
#[test]
fn validate_at_a_resource() {
    let bound = TokenRecord { aud: vec!["https://api.example.com".into(), "https://b.example/mcp".into()], ..record() };
    let at = |token: TokenRecord, resource: Option<&str>| {
        let unbound = vec!["https://own.example".to_string()];
        let op = Validate { resource: resource.map(str::to_string), hash: hash(), ip: Some(IP.into()), required: vec![], unbound };
        op.checked(&state(None, Some(token)), NOW).unwrap()
    };
    let table: [(&str, TokenRecord, Option<&str>, bool); 9] = [
        ("bound, no resource asked", bound.clone(), None, true),
        ("bound, one of its resources", bound.clone(), Some("https://b.example/mcp"), true),
        ("bound, trailing slash of a bare origin", bound.clone(), Some("https://api.example.com/"), true),
        ("bound, another resource", bound.clone(), Some("https://other.example"), false),
        ("bound, a path below", bound.clone(), Some("https://api.example.com/x"), false),
        ("bound, its client's own is not its aud", bound.clone(), Some("https://own.example"), false),
        ("unbound, another resource", record(), Some("https://other.example"), false),
        ("unbound, its client's", record(), Some("https://own.example/"), true),
        ("unbound, none", record(), None, true),
    ];
    for (name, token, resource, ok) in table {
        let (reply, fx) = at(token, resource);
        match reply {
            Validation::Valid(view) => {
                assert!(ok, "{name}");
                assert_eq!(view.aud.is_some(), name.starts_with("bound"), "{name}: aud shown when bound");
            }
            _ => {
                assert!(!ok, "{name}");
                assert!(fx.puts.is_empty() && fx.lazy.iter().all(|l| l.key == crate::shard::usage::USAGE_KEY), "{name}: a refusal is not a use (only counted)");
            }
        }
    }
}
