//! The refresh decisions, as tables: rotation, the retry window, reuse, narrowing, and death.

use super::*;
use crate::client::{Client, Settings};
use crate::secret::ClientSecret;
use crate::shard::families::{Family, RefreshChain};
use crate::shard::keys::member_key;
use crate::shard::Checked;

const NOW: u64 = 50_000_000;
const ID: &str = "u1:fam";

fn h(s: &str) -> SecretHash {
    SecretHash::of(s)
}

fn family(current: &str, previous: Option<(&str, u64)>) -> Family {
    Family {
        resources: vec![],
        client_id: "cid".into(),
        user_id: "u1".into(),
        username: "alice".into(),
        scope: vec!["read".into(), "write".into()],
        created_ms: NOW - 100_000,
        expires_ms: NOW + 1_000_000,
        epoch: 1,
        access: vec![(h("old access"), NOW + 100)],
        refresh: Some(RefreshChain {
            current: h(current),
            previous: previous.map(|(p, at)| Rotated { hash: h(p), rotated_ms: at, successor: "sealed-r2".into() }),
        }),
    }
}

fn state(f: &Family, records: &[&str]) -> Loaded {
    let mut l = Loaded::default().with(family_key(ID), f);
    for r in records {
        l = l.with(refresh_key(&h(r)), &RefreshRecord { family: ID.into() });
    }
    l
}

fn refresh(presented: &str, scope: Option<&[&str]>, client: &str) -> Refresh {
    let c = Client::new("cid".into(), Settings { token_ttl: 60, ..Settings::default() }, &ClientSecret::new("s"), 0);
    Refresh {
        resources: vec![],
        hash: h(presented),
        client_id: client.into(),
        generation: 0,
        scope: scope.map(|s| s.iter().map(|x| x.to_string()).collect()),
        successor: h("r-next"),
        sealed_successor: "sealed-next".into(),
        access: h("new access"),
        template: TokenRecord::new(&c, 0, vec![], Some("10.0.0.1"), NOW),
    }
}

fn kind(r: &Refreshed) -> &'static str {
    match r {
        Refreshed::Rotated { .. } => "rotated",
        Refreshed::Retried { .. } => "retried",
        Refreshed::InvalidGrant => "invalid_grant",
        Refreshed::Reused => "reused",
        Refreshed::InvalidScope => "invalid_scope",
        Refreshed::ClientGone => "client_gone",
        Refreshed::InvalidTarget => "invalid_target",
    }
}

fn killed(fx: &Effects) -> bool {
    fx.deletes.contains(&family_key(ID)) && fx.deletes.contains(&token_key(&h("old access")))
}

#[test]
fn refresh_table() {
    // The chain: r1 was rotated to r2 at `at`; r2 is current. r0 is older still.
    let at = NOW - 10_000;
    let f = family("r2", Some(("r1", at)));
    let l = state(&f, &["r0", "r1", "r2"]);
    let dead_user = l.clone().with(user_gate_key("u1"), &UserGate { min_epoch: 2 });
    let ended = state(&Family { expires_ms: NOW, ..f.clone() }, &["r2"]);
    let moved_on = state(&family("r3", Some(("r2", at))), &["r1", "r2", "r3"]);
    let ended_reused = state(&Family { expires_ms: NOW, ..f.clone() }, &["r1", "r2"]);
    let disabled = l.clone().with(GATE_KEY, &Gate { disabled: true, ..Gate::default() });
    // (case, state, presented, scope, client, now, outcome, family killed)
    type Case<'a> = (&'a str, &'a Loaded, &'a str, Option<&'a [&'a str]>, &'a str, u64, &'a str, bool);
    let cases: Vec<Case> = vec![
        ("current: rotates", &l, "r2", None, "cid", NOW, "rotated", false),
        ("current, narrowed", &l, "r2", Some(&["read"]), "cid", NOW, "rotated", false),
        ("current, widened", &l, "r2", Some(&["read", "admin"]), "cid", NOW, "invalid_scope", false),
        ("just rotated away, within 30 s", &l, "r1", None, "cid", at + 29_999, "retried", false),
        ("just rotated away, at 30 s", &l, "r1", None, "cid", at + 30_000, "reused", true),
        ("older than the previous", &l, "r0", None, "cid", NOW, "reused", true),
        ("rotated away, its successor used, within 30 s", &moved_on, "r1", None, "cid", at + 1, "reused", true),
        ("rotated away, of an ended family", &ended_reused, "r1", None, "cid", NOW, "invalid_grant", true),
        ("another client", &l, "r2", None, "other", NOW, "invalid_grant", false),
        ("unknown", &l, "nope", None, "cid", NOW, "invalid_grant", false),
        ("family ended", &ended, "r2", None, "cid", NOW, "invalid_grant", true),
        ("user killed", &dead_user, "r2", None, "cid", NOW, "invalid_grant", true),
        ("client disabled", &disabled, "r2", None, "cid", NOW, "client_gone", false),
    ];
    for (name, loaded, presented, scope, client, now, want, dies) in cases {
        let (reply, fx) = refresh(presented, scope, client).checked(loaded, now).unwrap();
        assert_eq!(kind(&reply), want, "{name}");
        assert_eq!(killed(&fx), dies, "{name}: family killed");
        let issued = fx.puts.iter().any(|(k, _)| *k == token_key(&h("new access")));
        assert_eq!(issued, want == "rotated" || want == "retried", "{name}: access token issued");
    }
}

#[test]
fn rotation_moves_the_chain_and_keeps_the_old_record_for_reuse_detection() {
    let f = family("r2", Some(("r1", NOW - 10_000)));
    let (reply, fx) = refresh("r2", Some(&["read"]), "cid").checked(&state(&f, &["r1", "r2"]), NOW).unwrap();
    let Refreshed::Rotated { scope, expires_at_ms } = reply else { panic!("{reply:?}") };
    assert_eq!((scope, expires_at_ms), (vec!["read".to_string()], NOW + 60_000));
    let after: Family = serde_json::from_str(&fx.puts.iter().find(|(k, _)| *k == family_key(ID)).unwrap().1).unwrap();
    let chain = after.refresh.unwrap();
    assert_eq!(chain.current, h("r-next"));
    let prev = chain.previous.unwrap();
    assert_eq!((prev.hash, prev.rotated_ms, prev.successor.as_str()), (h("r2"), NOW, "sealed-next"));
    assert_eq!(after.scope, vec!["read", "write"], "narrowing touches only the access token");
    assert_eq!(after.access, f.access, "the record does not grow with refreshes");
    assert!(fx.puts.iter().any(|(k, _)| *k == member_key(ID, &h("new access"))), "the new access token is a row of the family");
    assert!(fx.puts.iter().any(|(k, _)| *k == refresh_key(&h("r-next"))), "the successor gets its record");
    assert!(!fx.deletes.contains(&refresh_key(&h("r2"))), "the rotated token's record stays, to catch reuse");
    let access: TokenRecord = serde_json::from_str(&fx.puts.iter().find(|(k, _)| *k == token_key(&h("new access"))).unwrap().1).unwrap();
    assert_eq!((access.scope.clone(), access.family.as_deref(), access.not_after_ms), (vec!["read".to_string()], Some(ID), Some(NOW + 1_000_000)));
    assert_eq!(access.principal.unwrap().sub, "u1");
}

#[test]
fn a_retry_returns_the_same_successor_and_changes_no_chain() {
    let f = family("r2", Some(("r1", NOW - 1_000)));
    let (reply, fx) = refresh("r1", None, "cid").checked(&state(&f, &["r1", "r2"]), NOW).unwrap();
    let Refreshed::Retried { sealed_successor, .. } = reply else { panic!("{reply:?}") };
    assert_eq!(sealed_successor, "sealed-r2", "the successor handed out before, not a new one");
    let after: Family = serde_json::from_str(&fx.puts.iter().find(|(k, _)| *k == family_key(ID)).unwrap().1).unwrap();
    assert_eq!(after.refresh, f.refresh, "the chain is unchanged");
    assert!(!fx.puts.iter().any(|(k, _)| *k == refresh_key(&h("r-next"))));
    assert_eq!(after.access, f.access, "the earlier ones stay");
    assert!(fx.puts.iter().any(|(k, _)| *k == member_key(ID, &h("new access"))), "a new access token");
}

#[test]
fn revoking_a_refresh_token_kills_its_family_for_its_owner_only() {
    use crate::shard::tokens::Revoke;
    let f = family("r2", None);
    let l = state(&f, &["r2"]);
    let op = Revoke { hash: h("r2"), client_id: "cid".into() };
    assert_eq!(op.more_keys(&l).unwrap(), vec![family_key(ID)]);
    assert!(killed(&op.checked(&l, NOW).unwrap().1));
    assert!(Revoke { hash: h("r2"), client_id: "other".into() }.checked(&l, NOW).unwrap().1.deletes.is_empty());
    assert!(Revoke { hash: h("zz"), client_id: "cid".into() }.checked(&l, NOW).unwrap().1.deletes.is_empty());
}

/// RFC 8707 on refresh: each new access token is for the family's resources or some of them;
/// a resource outside them is `invalid_target` and changes nothing (no rotation, no kill).
#[test]
fn a_refresh_narrows_resources_within_the_family() {
    let api = "https://api.example.com";
    let f = Family { resources: vec![api.into(), "https://b.example".into()], ..family("r2", None) };
    let l = state(&f, &["r2"]);
    let asking = |r: &[&str]| Refresh { resources: r.iter().map(|s| s.to_string()).collect(), ..refresh("r2", None, "cid") };
    let aud = |fx: &Effects| -> Vec<String> {
        let (_, v) = fx.puts.iter().find(|(k, _)| *k == token_key(&h("new access"))).unwrap();
        serde_json::from_str::<TokenRecord>(v).unwrap().aud
    };
    let (reply, fx) = asking(&[]).checked(&l, NOW).unwrap();
    assert_eq!((kind(&reply), aud(&fx)), ("rotated", vec![api.to_string(), "https://b.example".into()]));
    let (_, fx) = asking(&["https://b.example/"]).checked(&l, NOW).unwrap();
    assert_eq!(aud(&fx), vec!["https://b.example"]);
    let (reply, fx) = asking(&["https://c.example"]).checked(&l, NOW).unwrap();
    assert_eq!(kind(&reply), "invalid_target");
    assert!(fx.puts.is_empty() && fx.deletes.is_empty(), "nothing rotates, nothing dies");
    let unbound = state(&family("r2", None), &["r2"]);
    assert_eq!(kind(&asking(&[api]).checked(&unbound, NOW).unwrap().0), "invalid_target", "a family for no resource");
}
