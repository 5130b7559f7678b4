//! The decisions on initial access tokens, as tables.

use super::*;
use crate::shard::Checked;

const NOW: u64 = 50_000_000;

fn hash() -> SecretHash {
    SecretHash::of("the initial access token")
}

fn record(id: &str, expires_ms: u64, max_uses: u32, uses: u32) -> RegistrationToken {
    RegistrationToken { id: id.into(), created_ms: NOW - 1_000, expires_ms, max_uses, uses }
}

fn with(t: RegistrationToken) -> Loaded {
    Loaded::default().with(token_key(&hash()), &t)
}

#[test]
fn use_table() {
    let cases: Vec<(&str, Loaded, u64, Use, Option<u32>)> = vec![
        ("unknown", Loaded::default(), NOW, Use::Unknown, None),
        ("fresh, one use", with(record("a", NOW + 1, 1, 0)), NOW, Use::Used, Some(1)),
        ("used up", with(record("a", NOW + 60_000, 1, 1)), NOW, Use::UsedUp, None),
        ("second of three", with(record("a", NOW + 60_000, 3, 1)), NOW, Use::Used, Some(2)),
        ("last of three", with(record("a", NOW + 60_000, 3, 2)), NOW, Use::Used, Some(3)),
        ("fourth of three", with(record("a", NOW + 60_000, 3, 3)), NOW, Use::UsedUp, None),
        ("expired at the ms", with(record("a", NOW, 5, 0)), NOW, Use::Expired, None),
        ("last valid ms", with(record("a", NOW + 1, 5, 0)), NOW, Use::Used, Some(1)),
    ];
    for (name, loaded, now, want, uses_after) in cases {
        let (got, fx) = UseToken { hash: hash() }.checked(&loaded, now).unwrap();
        assert_eq!(got, want, "{name}");
        match uses_after {
            Some(n) => {
                assert_eq!(fx.puts.len(), 1, "{name}: one write");
                let t: RegistrationToken = serde_json::from_str(&fx.puts[0].1).unwrap();
                assert_eq!(t.uses, n, "{name}");
            }
            None => assert!(fx.puts.is_empty(), "{name}: a refused use writes nothing"),
        }
        assert_eq!(fx.deletes.is_empty(), want != Use::Expired, "{name}: only an expired token is deleted");
    }
}

#[test]
fn return_use_gives_back_one_and_never_goes_below_zero() {
    let (_, fx) = ReturnUse { hash: hash() }.checked(&with(record("a", NOW + 1, 3, 2)), NOW).unwrap();
    let t: RegistrationToken = serde_json::from_str(&fx.puts[0].1).unwrap();
    assert_eq!(t.uses, 1);
    let (_, fx) = ReturnUse { hash: hash() }.checked(&with(record("a", NOW + 1, 3, 0)), NOW).unwrap();
    assert_eq!(fx, Effects::default());
    let (_, fx) = ReturnUse { hash: hash() }.checked(&Loaded::default(), NOW).unwrap();
    assert_eq!(fx, Effects::default());
}

fn three() -> Loaded {
    Loaded::default()
        .with(token_key(&SecretHash::of("x")), &RegistrationToken { created_ms: 3, ..record("x", NOW + 10, 1, 0) })
        .with(token_key(&SecretHash::of("y")), &RegistrationToken { created_ms: 1, ..record("y", NOW, 1, 0) })
        .with(token_key(&SecretHash::of("z")), &RegistrationToken { created_ms: 2, ..record("z", NOW + 5, 2, 1) })
}

#[test]
fn list_drops_the_expired() {
    let (tokens, fx) = ListTokens {}.checked(&three(), NOW).unwrap();
    let mut ids: Vec<&str> = tokens.iter().map(|t| t.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["x", "z"]);
    assert_eq!(fx.deletes, vec![token_key(&SecretHash::of("y"))]);
    let (tokens, fx) = ListTokens {}.checked(&three(), NOW + 10).unwrap();
    assert!(tokens.is_empty());
    assert_eq!(fx.deletes.len(), 3);
}

#[test]
fn create_stores_and_sweeps() {
    let op = CreateToken { hash: hash(), record: record("new", NOW + 60_000, 1, 0) };
    let (stored, fx) = op.clone().checked(&three(), NOW).unwrap();
    assert!(stored);
    assert_eq!(fx.puts.len(), 1);
    assert_eq!(fx.puts[0].0, token_key(&hash()));
    assert!(!fx.puts[0].1.contains("the initial access token"), "the value is never stored");
    assert_eq!(fx.deletes, vec![token_key(&SecretHash::of("y"))], "the expired one goes");
    // The same hash again (never happens with random tokens): nothing is overwritten.
    let (stored, fx) = op.checked(&with(record("old", NOW + 1, 1, 1)), NOW).unwrap();
    assert!(!stored);
    assert_eq!(fx, Effects::default());
}

#[test]
fn delete_by_id() {
    let table: Vec<(&str, u64, bool, usize)> = vec![("x", NOW, true, 1), ("y", NOW, false, 1), ("nope", NOW, false, 0), ("z", NOW + 5, false, 1)];
    for (id, now, found, deletes) in table {
        let (got, fx) = DeleteToken { id: id.into() }.checked(&three(), now).unwrap();
        assert_eq!((got, fx.deletes.len()), (found, deletes), "{id} at {now}");
    }
}
