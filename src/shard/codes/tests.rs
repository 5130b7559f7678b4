//! The code decisions, as tables.

use super::*;
use crate::auth::pkce::s256;
use crate::client::{Client, Settings};
use crate::secret::ClientSecret;
use crate::shard::families::RefreshRecord;
use crate::shard::keys::{family_members_prefix, member_key, refresh_key, token_key};
use crate::shard::tokens::TokenRecord;
use crate::shard::Checked;

const NOW: u64 = 10_000_000;
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "https://app.example/cb";

fn code_hash() -> SecretHash {
    SecretHash::of("the code")
}

fn code() -> CodeRecord {
    CodeRecord {
        resources: vec![],
        client_id: "cid".into(),
        user_id: "u1".into(),
        username: "alice".into(),
        scope: vec!["read".into()],
        redirect_uri: REDIRECT.into(),
        redirect_uri_sent: true,
        challenge: s256(VERIFIER),
        created_ms: NOW - 1_000,
        epoch: 2,
        used_by: None,
    }
}

fn tokens(refresh: bool) -> NewTokens {
    let c = Client::new("cid".into(), Settings { token_ttl: 300, max_lifetime: 3_600, ..Settings::default() }, &ClientSecret::new("s"), 0);
    NewTokens {
        resources: vec![],
        family_id: "fam".into(),
        access: SecretHash::of("access"),
        refresh: refresh.then(|| SecretHash::of("refresh")),
        template: TokenRecord::new(&c, 0, vec![], Some("10.0.0.1"), NOW),
        refresh_ttl_s: 86_400,
    }
}

fn redeem(redirect: Option<&str>, verifier: &str, client: &str) -> RedeemCode {
    RedeemCode {
        hash: code_hash(),
        client_id: client.into(),
        generation: 0,
        redirect_uri: redirect.map(str::to_string),
        challenge: if verifier.is_empty() { String::new() } else { s256(verifier) },
        tokens: tokens(true),
    }
}

fn with_code(c: CodeRecord) -> Loaded {
    Loaded::default().with(code_key(&code_hash()), &c)
}

fn outcome(r: &Redeemed) -> &'static str {
    match r {
        Redeemed::Issued(_) => "issued",
        Redeemed::InvalidGrant => "invalid_grant",
        Redeemed::ClientGone => "client_gone",
        Redeemed::InvalidTarget => "invalid_target",
    }
}

#[test]
fn redeem_table() {
    let not_sent = CodeRecord { redirect_uri_sent: false, ..code() };
    let cases: Vec<(&str, Loaded, RedeemCode, u64, &str)> = vec![
        ("good", with_code(code()), redeem(Some(REDIRECT), VERIFIER, "cid"), NOW, "issued"),
        ("unknown code", Loaded::default(), redeem(Some(REDIRECT), VERIFIER, "cid"), NOW, "invalid_grant"),
        ("expired (60 s)", with_code(code()), redeem(Some(REDIRECT), VERIFIER, "cid"), NOW + 59_000, "invalid_grant"),
        ("last valid ms", with_code(code()), redeem(Some(REDIRECT), VERIFIER, "cid"), NOW + 58_999, "issued"),
        ("another client", with_code(code()), redeem(Some(REDIRECT), VERIFIER, "other"), NOW, "invalid_grant"),
        ("redirect missing though sent", with_code(code()), redeem(None, VERIFIER, "cid"), NOW, "invalid_grant"),
        ("redirect different", with_code(code()), redeem(Some("https://app.example/cb2"), VERIFIER, "cid"), NOW, "invalid_grant"),
        ("redirect absent, not sent", with_code(not_sent.clone()), redeem(None, VERIFIER, "cid"), NOW, "issued"),
        ("redirect given, not sent, same", with_code(not_sent.clone()), redeem(Some(REDIRECT), VERIFIER, "cid"), NOW, "issued"),
        ("redirect given, not sent, other", with_code(not_sent), redeem(Some("https://x.example/"), VERIFIER, "cid"), NOW, "invalid_grant"),
        ("wrong verifier", with_code(code()), redeem(Some(REDIRECT), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", "cid"), NOW, "invalid_grant"),
        ("no verifier", with_code(code()), redeem(Some(REDIRECT), "", "cid"), NOW, "invalid_grant"),
        (
            "user killed since",
            with_code(code()).with(user_gate_key("u1"), &UserGate { min_epoch: 3 }),
            redeem(Some(REDIRECT), VERIFIER, "cid"),
            NOW,
            "invalid_grant",
        ),
        (
            "user gate at the code's epoch",
            with_code(code()).with(user_gate_key("u1"), &UserGate { min_epoch: 2 }),
            redeem(Some(REDIRECT), VERIFIER, "cid"),
            NOW,
            "issued",
        ),
        (
            "client disabled",
            with_code(code()).with(GATE_KEY, &Gate { disabled: true, ..Gate::default() }),
            redeem(Some(REDIRECT), VERIFIER, "cid"),
            NOW,
            "client_gone",
        ),
        (
            "secret rotated away",
            with_code(code()).with(GATE_KEY, &Gate { min_generation: 1, ..Gate::default() }),
            redeem(Some(REDIRECT), VERIFIER, "cid"),
            NOW,
            "client_gone",
        ),
    ];
    for (name, loaded, op, now, want) in cases {
        let (reply, fx) = op.checked(&loaded, now).unwrap();
        assert_eq!(outcome(&reply), want, "{name}");
        let wrote_tokens = fx.puts.iter().any(|(k, _)| k.starts_with("t:"));
        assert_eq!(wrote_tokens, want == "issued", "{name}: tokens written only on success");
    }
}

#[test]
fn a_redemption_creates_the_family_and_marks_the_code() {
    let (reply, fx) = redeem(Some(REDIRECT), VERIFIER, "cid").checked(&with_code(code()), NOW).unwrap();
    let Redeemed::Issued(issued) = reply else { panic!() };
    assert_eq!(issued.scope, vec!["read"]);
    assert_eq!(issued.expires_at_ms, NOW + 300_000);
    let get = |key: &str| fx.puts.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("{key} not written"));
    let access: TokenRecord = serde_json::from_str(&get(&token_key(&SecretHash::of("access")))).unwrap();
    let dead_by = access.dead_by_ms();
    let p = access.principal.unwrap();
    assert_eq!((p.sub.as_str(), p.username.as_deref()), ("u1", Some("alice")));
    assert_eq!(access.family.as_deref(), Some("u1:fam"));
    assert_eq!(access.not_after_ms, Some(NOW + 86_400_000), "nothing in a family outlives it");
    let family: Family = serde_json::from_str(&get(&family_key("u1:fam"))).unwrap();
    assert_eq!((family.scope.clone(), family.epoch, family.expires_ms), (vec!["read".to_string()], 2, NOW + 86_400_000));
    assert!(family.access.is_empty(), "the family record lists no tokens");
    assert_eq!(get(&member_key("u1:fam", &SecretHash::of("access"))), dead_by.to_string(), "a row of its own");
    assert_eq!(family.refresh.unwrap().current, SecretHash::of("refresh"));
    let r: RefreshRecord = serde_json::from_str(&get(&refresh_key(&SecretHash::of("refresh")))).unwrap();
    assert_eq!(r.family, "u1:fam");
    let used: CodeRecord = serde_json::from_str(&get(&code_key(&code_hash()))).unwrap();
    assert_eq!(used.used_by.as_deref(), Some("u1:fam"));
    // The token's expiry (300 s) asks for a sweep then; the usage count for a flush sooner.
    assert_eq!(fx.alarm_by, Some(NOW + 300_000));
    assert_eq!(fx.flush_by, Some(NOW + crate::shard::memo::LAG_MS));
    // Without the refresh grant: a family, no refresh token.
    let mut op = redeem(Some(REDIRECT), VERIFIER, "cid");
    op.tokens = tokens(false);
    let (_, fx) = op.checked(&with_code(code()), NOW).unwrap();
    assert!(!fx.puts.iter().any(|(k, _)| k.starts_with("r:")));
}

#[test]
fn a_replayed_code_kills_what_it_issued() {
    let (_, fx) = redeem(Some(REDIRECT), VERIFIER, "cid").checked(&with_code(code()), NOW).unwrap();
    let mut after = Loaded::default();
    for (k, v) in &fx.puts {
        after = after.with(k.clone(), &serde_json::from_str::<serde_json::Value>(v).unwrap());
    }
    let op = redeem(Some(REDIRECT), VERIFIER, "cid");
    assert_eq!(op.more_keys(&after).unwrap(), vec![user_gate_key("u1"), family_key("u1:fam")]);
    let (reply, fx) = op.checked(&after, NOW + 1_000).unwrap();
    assert_eq!(reply, Redeemed::InvalidGrant);
    for key in [family_key("u1:fam"), refresh_key(&SecretHash::of("refresh"))] {
        assert!(fx.deletes.contains(&key), "{key} killed");
    }
    assert_eq!(fx.members, vec![family_members_prefix("u1:fam")], "its access tokens, by their rows");
    assert!(fx.puts.is_empty());
}

#[test]
fn issue_table() {
    let cases = [
        ("open", Loaded::default(), Stored::Stored),
        ("client disabled", Loaded::default().with(GATE_KEY, &Gate { disabled: true, ..Gate::default() }), Stored::ClientGone),
        ("client deleted", Loaded::default().with(GATE_KEY, &Gate { deleted: true, ..Gate::default() }), Stored::ClientGone),
        ("user killed", Loaded::default().with(user_gate_key("u1"), &UserGate { min_epoch: 3 }), Stored::UserGone),
        ("user gate at epoch", Loaded::default().with(user_gate_key("u1"), &UserGate { min_epoch: 2 }), Stored::Stored),
    ];
    for (name, loaded, want) in cases {
        let (reply, fx) = IssueCode { hash: code_hash(), record: code() }.checked(&loaded, NOW).unwrap();
        assert_eq!(reply, want, "{name}");
        assert_eq!(fx.puts.len(), usize::from(want == Stored::Stored), "{name}");
    }
    let (_, fx) = IssueCode { hash: code_hash(), record: code() }.checked(&Loaded::default(), NOW).unwrap();
    assert_eq!(fx.alarm_by, Some(NOW - 1_000 + CODE_KEEP_MS), "the sweep forgets it after the replay window");
}

#[test]
fn exchanged_for_a_user_table() {
    use crate::shard::start::IssueExchanged;
    use crate::shard::tokens::Principal;
    let op = |epoch: u32, generation: u32| {
        let mut t = tokens(false);
        t.template.generation = generation;
        IssueExchanged {
            user_id: "u1".into(),
            username: "alice".into(),
            epoch,
            principal: Principal {
                sub: "u1".into(),
                username: Some("alice".into()),
                subject_issuer: Some("https://edge.test".into()),
                act: Some("cid".into()),
            },
            not_after_ms: NOW + 60_000,
            scope: vec!["read".into()],
            tokens: t,
        }
    };
    let killed = Loaded::default().with(user_gate_key("u1"), &UserGate { min_epoch: 3 });
    let rotated = Loaded::default().with(GATE_KEY, &Gate { min_generation: 1, ..Gate::default() });
    let disabled = Loaded::default().with(GATE_KEY, &Gate { disabled: true, ..Gate::default() });
    let cases = [
        ("open", op(2, 0), Loaded::default(), "issued"),
        ("the user's epoch below the gate", op(2, 0), killed.clone(), "invalid_grant"),
        ("at the gate's epoch", op(3, 0), killed.clone(), "issued"),
        ("above it", op(4, 0), killed, "issued"),
        ("an old secret generation", op(2, 0), rotated.clone(), "client_gone"),
        ("the current generation", op(2, 1), rotated, "issued"),
        ("client disabled", op(2, 0), disabled, "client_gone"),
    ];
    for (name, op, loaded, want) in cases {
        let (reply, fx) = op.checked(&loaded, NOW).unwrap();
        assert_eq!(outcome(&reply), want, "{name}");
        assert_eq!(fx.puts.is_empty(), want != "issued", "{name}");
    }
}

const API: &str = "https://api.example.com";
const MCP: &str = "https://mcp.example.com/mcp";

/// RFC 8707 §2.2 at `/token`: the access token is for the resources named, each among those
/// authorized at `/authorize`; none named, for all of them. A resource not authorized uses
/// nothing up.
#[test]
fn resources_at_redemption_narrow_within_the_authorized_set() {
    let authorized = CodeRecord { resources: vec![API.into(), MCP.into()], ..code() };
    let with = |requested: &[&str]| RedeemCode {
        tokens: NewTokens { resources: requested.iter().map(|s| s.to_string()).collect(), ..tokens(true) },
        ..redeem(Some(REDIRECT), VERIFIER, "cid")
    };
    type Row<'a> = (&'a str, CodeRecord, Vec<&'a str>, Option<Vec<&'a str>>);
    let table: Vec<Row> = vec![
        ("none named: all authorized", authorized.clone(), vec![], Some(vec![API, MCP])),
        ("one, with a slash on the bare origin", authorized.clone(), vec!["https://api.example.com/"], Some(vec![API])),
        ("both, repeated", authorized.clone(), vec![MCP, API, MCP], Some(vec![MCP, API])),
        ("not authorized", authorized.clone(), vec!["https://evil.example"], None),
        ("one good, one not", authorized.clone(), vec![API, "https://evil.example"], None),
        ("a code for no resource, none named", code(), vec![], Some(vec![])),
        ("a code for no resource, one named", code(), vec![API], None),
    ];
    for (name, c, requested, want) in table {
        let (reply, fx) = with(&requested).checked(&with_code(c), NOW).unwrap();
        match want {
            Some(aud) => {
                assert_eq!(outcome(&reply), "issued", "{name}");
                let access = fx.puts.iter().find(|(k, _)| *k == token_key(&SecretHash::of("access"))).unwrap();
                let access: TokenRecord = serde_json::from_str(&access.1).unwrap();
                assert_eq!(access.aud, aud, "{name}");
                let family = fx.puts.iter().find(|(k, _)| *k == family_key("u1:fam")).unwrap();
                let family: Family = serde_json::from_str(&family.1).unwrap();
                assert_eq!(family.resources.len(), if aud.is_empty() { 0 } else { 2 }, "{name}: the family keeps what was authorized");
            }
            None => {
                assert_eq!(outcome(&reply), "invalid_target", "{name}");
                assert!(fx.puts.is_empty() && fx.deletes.is_empty(), "{name}: the code stays unused");
            }
        }
    }
}
