use super::*;
use crate::client::{Client, Expiry, Settings};
use crate::secret::ClientSecret;
use crate::shard::to_json;

fn token(generation: u32, issued_ms: u64, ttl_s: u32) -> String {
    let c = Client::new("c".into(), Settings { token_ttl: ttl_s, ..Settings::default() }, &ClientSecret::new("s"), 0);
    to_json(&TokenRecord::new(&c, generation, vec![], None, issued_ms))
}

fn toks(tokens: Vec<(String, String)>) -> Entries {
    Entries { tokens, ..Entries::default() }
}

fn counter(window_start_ms: u64, window_ms: u64) -> String {
    to_json(&Counter { window_start_ms, count: 3, previous: 0, window_ms })
}

#[test]
fn sweeps_of_one_object_are_spaced_by_the_gap() {
    // The next deadline 1 ms away: not swept again before the gap, which grows with size.
    assert_eq!(next_sweep(1_001, 1_000, 0), 1_000 + SWEEP_GAP_MS);
    assert_eq!(next_sweep(1_001, 1_000, 20_000), 1_000 + SWEEP_GAP_MS + 20_000);
    assert_eq!(next_sweep(1_001, 1_000, 10_000_000), 1_000 + SWEEP_GAP_MAX_MS);
    // A deadline further away than the gap is kept.
    assert_eq!(next_sweep(90_000, 1_000, 0), 90_000);
}

#[test]
fn a_sweep_rearms_no_sooner_than_the_gap() {
    use crate::testing::MemStorage;
    // Two tokens 1 ms apart: the sweep at the first one's end deletes it and comes back
    // for the second after the gap, not 1 ms later.
    let s = MemStorage::default();
    let a = ("t:a".to_string(), token(0, 0, 10));
    let b = ("t:b".to_string(), token(0, 1, 10));
    crate::block_on(s.commit(&[a, b], &[])).unwrap();
    assert_eq!(crate::block_on(sweep(&s, 10_000)).unwrap(), 1);
    // (Two records read: 2 ms more.)
    assert_eq!(crate::block_on(s.alarm()).unwrap(), Some(10_000 + SWEEP_GAP_MS + 2));
    assert_eq!(crate::block_on(sweep(&s, 10_000 + SWEEP_GAP_MS + 2)).unwrap(), 1);
}

#[test]
fn an_alarm_asked_for_only_to_flush_counts_does_not_sweep() {
    use crate::shard::memo::Memo;
    use crate::shard::Effects;
    use crate::testing::MemStorage;
    let memo = Memo::new(MemStorage::default());
    let block = |fx: Effects, now: u64| crate::block_on(fx.apply(&memo, now)).unwrap();
    // A fresh object does not know when its sweep is due: its first alarm sweeps.
    let mut fx = Effects::default();
    fx.put("t:a".to_string(), &serde_json::from_str::<serde_json::Value>(&token(0, 0, 10)).unwrap());
    fx.alarm(10_000);
    block(fx, 0);
    assert!(memo.sweep_is_due(0), "unknown: due");
    assert_eq!(crate::block_on(alarm(&memo, 0)).unwrap(), 0);
    assert_eq!(memo.next_sweep(), Some(10_000), "known now: the token's end (beyond the gap)");
    // A count asks for a flush 10 s later: the alarm flushes, reads no record, and is set
    // again for the sweep.
    let mut fx = Effects::default();
    fx.flush_alarm(2_000);
    // (A record dead already, which a sweep would delete: this alarm must not read it.)
    fx.put("t:b".to_string(), &serde_json::from_str::<serde_json::Value>(&token(0, 0, 1)).unwrap());
    block(fx, 1_000);
    assert_eq!(crate::block_on(memo.alarm()).unwrap(), Some(2_000));
    memo.alarm_fired();
    memo.storage().alarm.set(None);
    assert!(!memo.sweep_is_due(2_000));
    assert_eq!(crate::block_on(alarm(&memo, 2_000)).unwrap(), 0);
    assert_eq!(crate::block_on(memo.alarm()).unwrap(), Some(10_000), "set again for the sweep");
    // A record's deadline sooner than the known sweep makes the sweep due by then.
    let mut fx = Effects::default();
    fx.alarm(3_000);
    block(fx, 2_500);
    assert_eq!(memo.next_sweep(), Some(3_000));
    assert!(memo.sweep_is_due(3_000));
    // And when it is due, the alarm sweeps: the token, dead at 10 s, goes at 10 s.
    assert_eq!(memo.storage().count("t:"), 2, "the flush alarm deleted nothing");
    assert_eq!(crate::block_on(alarm(&memo, 10_000)).unwrap(), 2);
    assert_eq!(memo.next_sweep(), None, "nothing left: no sweep due");
}

#[test]
fn deletes_the_dead_and_rearms_for_the_earliest_deadline() {
    let gate = Gate::default();
    let tokens = vec![
        ("t:live".to_string(), token(0, 0, 10)),      // dies at 10 s
        ("t:later".to_string(), token(0, 5_000, 10)), // dies at 15 s
        ("t:dead".to_string(), token(0, 0, 1)),       // died at 1 s
        ("t:corrupt".to_string(), "{".to_string()),
    ];
    let (deletes, next) = plan_sweep(&gate, &toks(tokens), 2_000);
    assert_eq!(deletes, vec!["t:dead", "t:corrupt"]);
    assert_eq!(next, Some(10_000));
}

#[test]
fn honours_the_end_of_a_grace_period() {
    // Generation 0 lives on until 5 s by grace, although its token would live to 60 s.
    let gate = Gate { min_generation: 1, grace_generation: Some(0), grace_until_ms: 5_000, ..Gate::default() };
    let tokens = vec![("t:old".to_string(), token(0, 0, 60)), ("t:new".to_string(), token(1, 0, 60))];
    let (deletes, next) = plan_sweep(&gate, &toks(tokens.clone()), 1_000);
    assert!(deletes.is_empty());
    assert_eq!(next, Some(5_000), "the sweep comes back when the grace ends");
    let (deletes, next) = plan_sweep(&gate, &toks(tokens), 5_000);
    assert_eq!(deletes, vec!["t:old"]);
    assert_eq!(next, Some(60_000));
}

#[test]
fn a_closed_gate_sweeps_every_token() {
    let gate = Gate { disabled: true, ..Gate::default() };
    let tokens = vec![("t:a".to_string(), token(0, 0, 60))];
    assert_eq!(plan_sweep(&gate, &toks(tokens), 0), (vec!["t:a".to_string()], None));
}

#[test]
fn deletes_stale_counters_and_keeps_fresh_ones() {
    let counters = vec![
        ("c:stale".to_string(), counter(0, 1_000)),     // stale at 2 s
        ("c:fresh".to_string(), counter(2_000, 1_000)), // stale at 4 s
        ("c:corrupt".to_string(), "[]".to_string()),
    ];
    let e = Entries { counters, ..Entries::default() };
    let (deletes, next) = plan_sweep(&Gate::default(), &e, 2_000);
    assert_eq!(deletes, vec!["c:stale", "c:corrupt"]);
    assert_eq!(next, Some(4_000));
    let (deletes, next) = plan_sweep(&Gate::default(), &e, 1_999);
    assert_eq!(deletes, vec!["c:corrupt"], "a counter is kept until the moment it is stale");
    assert_eq!(next, Some(2_000));
}

#[test]
fn fixed_expiry_tokens_are_swept_on_time() {
    let c = Client::new("c".into(), Settings { token_ttl: 5, expiry: Expiry::Fixed, ..Settings::default() }, &ClientSecret::new("s"), 0);
    let mut r = TokenRecord::new(&c, 0, vec![], None, 0);
    r.touch(4_000);
    let tokens = vec![("t:f".to_string(), to_json(&r))];
    assert_eq!(plan_sweep(&Gate::default(), &toks(tokens.clone()), 4_999).1, Some(5_000));
    assert_eq!(plan_sweep(&Gate::default(), &toks(tokens), 5_000).0, vec!["t:f"]);
}

fn family(expires_ms: u64) -> String {
    to_json(&Family {
        resources: vec![],
        client_id: "c".into(),
        user_id: "u".into(),
        username: "n".into(),
        scope: vec![],
        created_ms: 0,
        expires_ms,
        epoch: 0,
        access: vec![],
        refresh: None,
    })
}

fn code(created_ms: u64) -> String {
    to_json(&CodeRecord {
        resources: vec![],
        client_id: "c".into(),
        user_id: "u".into(),
        username: "n".into(),
        scope: vec![],
        redirect_uri: "https://a.example/cb".into(),
        redirect_uri_sent: true,
        challenge: "x".into(),
        created_ms,
        epoch: 0,
        used_by: None,
    })
}

#[test]
fn codes_families_and_refresh_records() {
    let refresh = |family: &str| to_json(&RefreshRecord { family: family.into() });
    let e = Entries {
        codes: vec![("a:old".into(), code(0)), ("a:new".into(), code(500_000))],
        families: vec![("f:u:live".into(), family(700_000)), ("f:u:ended".into(), family(600_000))],
        refresh: vec![("r:1".into(), refresh("u:live")), ("r:2".into(), refresh("u:ended")), ("r:3".into(), refresh("u:gone"))],
        members: vec![
            ("m:u:live:h1".into(), "900000".into()),
            ("m:u:live:h2".into(), "600000".into()),
            ("m:u:ended:h3".into(), "900000".into()),
            ("m:u:live:h4".into(), "{".into()),
        ],
        ..Entries::default()
    };
    let (deletes, next) = plan_sweep(&Gate::default(), &e, 600_000);
    assert_eq!(deletes, vec!["a:old", "f:u:ended", "r:2", "r:3", "m:u:live:h2", "m:u:ended:h3", "m:u:live:h4"]);
    assert_eq!(next, Some(700_000), "the live family's end (the new code is kept until 1,100,000)");
    let codes_only = Entries { codes: e.codes.clone(), ..Entries::default() };
    assert_eq!(plan_sweep(&Gate::default(), &codes_only, 600_000), (vec!["a:old".to_string()], Some(1_100_000)));
    assert_eq!(plan_sweep(&Gate::default(), &codes_only, 1_100_000).0, vec!["a:old", "a:new"], "ten minutes after its issue");
    // A closed gate sweeps all of them.
    let (deletes, _) = plan_sweep(&Gate { deleted: true, ..Gate::default() }, &e, 0);
    assert_eq!(deletes.len(), 11);
}

#[test]
fn device_flows_and_waiting_approvals() {
    use super::super::devices::DeviceStatus;
    use crate::secret::SecretHash;
    let flow = to_json(&DeviceRecord {
        resources: vec![],
        client_id: "c".into(),
        scope: vec![],
        device_code: SecretHash::of("d"),
        created_ms: 0,
        expires_ms: 600_000,
        interval_s: 5,
        last_poll_ms: None,
        status: DeviceStatus::Pending,
    });
    let grant = to_json(&DeviceGrant {
        client_id: "c".into(),
        user_id: "u".into(),
        username: "n".into(),
        scope: vec![],
        resources: vec![],
        epoch: 0,
        expires_ms: 500_000,
    });
    let e = Entries { device: vec![("device".into(), flow)], device_grants: vec![("d:x".into(), grant)], ..Entries::default() };
    assert_eq!(plan_sweep(&Gate::default(), &e, 100), (vec![], Some(500_000)));
    assert_eq!(plan_sweep(&Gate::default(), &e, 500_000), (vec!["d:x".to_string()], Some(1_200_000)));
    assert_eq!(plan_sweep(&Gate::default(), &e, 600_000).0, vec!["d:x".to_string()], "an expired flow stays to say so");
    assert_eq!(plan_sweep(&Gate::default(), &e, 1_200_000).0, vec!["device".to_string(), "d:x".to_string()]);
}
