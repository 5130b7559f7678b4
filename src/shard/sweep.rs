//! The alarm. Every expiry is enforced by the time checks of each read; the alarm only cleans
//! up: it deletes every token that has expired or whose client no longer admits it, codes past
//! their replay window, ended families, refresh records and access-token rows whose family is
//! gone (rows also once their token is dead anyway), and stale counters; then it re-arms for
//! the earliest remaining deadline.

use super::codes::{CodeRecord, CODE_KEEP_MS};
use super::counters::{Counter, COUNTER_PREFIX};
use super::devices::{DeviceGrant, DeviceRecord, DEVICE_KEY, EXPIRED_KEEP_MS};
use super::families::{Family, RefreshRecord};
use super::gate::Gate;
use super::keys::{CODE_PREFIX, DEVICE_GRANT_PREFIX, FAMILY_PREFIX, GATE_KEY, MEMBER_PREFIX, REFRESH_PREFIX, TOKEN_PREFIX};
use super::memo::Memo;
use super::tokens::TokenRecord;
use super::usage;
use super::{decode, ShardStorage};
use crate::error::StoreError;

/// What a sweep reads: every entry of each kind.
#[derive(Debug, Default)]
pub struct Entries {
    pub tokens: Vec<(String, String)>,
    pub counters: Vec<(String, String)>,
    pub codes: Vec<(String, String)>,
    pub families: Vec<(String, String)>,
    pub refresh: Vec<(String, String)>,
    /// Families' access-token rows: `m:{family}:{hash}` → when the token is dead at the latest.
    pub members: Vec<(String, String)>,
    /// A device flow (only in a `device:{CODE}` object) and approvals waiting for devices.
    pub device: Vec<(String, String)>,
    pub device_grants: Vec<(String, String)>,
    /// Finished hours of usage (`h:{hour}`), kept [`RETENTION_HOURS`](super::usage::RETENTION_HOURS).
    pub hours: Vec<(String, String)>,
}

/// The least time from one sweep of an object to its next. Every sweep reads every record the
/// object holds, and the next deadline is often only milliseconds away (sliding tokens used
/// once expire one after another; a busy refresh family keeps a row for each of its access
/// tokens and a record for each rotated refresh token): re-armed for it, an object swept once
/// per expiry, and each sweep cost more as records accumulated, so CPU per request grew with
/// what the object held (issue 24, finding 3). Expiry is enforced by every read; deleting a dead
/// record a few seconds later changes no answer.
pub const SWEEP_GAP_MS: u64 = 5_000;
/// And more for a bigger object, so that sweeping costs a bounded share of its time whatever
/// it holds: per record read, this many microseconds of gap (100k records: 100 s more).
pub const SWEEP_GAP_US_PER_RECORD: u64 = 1_000;
/// The most the gap grows to (a dead record is gone from storage within this much of its end,
/// plus the sweep's own time).
pub const SWEEP_GAP_MAX_MS: u64 = 300_000;

/// When the next sweep runs, for a deadline `next_ms` found by a sweep at `now_ms` that read
/// `records` records: the deadline, but no sooner than the gap.
pub fn next_sweep(next_ms: u64, now_ms: u64, records: usize) -> u64 {
    let gap = (SWEEP_GAP_MS + records as u64 * SWEEP_GAP_US_PER_RECORD / 1_000).min(SWEEP_GAP_MAX_MS);
    next_ms.max(now_ms.saturating_add(gap))
}

impl Entries {
    fn len(&self) -> usize {
        self.tokens.len()
            + self.counters.len()
            + self.codes.len()
            + self.families.len()
            + self.refresh.len()
            + self.members.len()
            + self.device.len()
            + self.device_grants.len()
            + self.hours.len()
    }
}

/// A token shard's alarm: write what memory holds, then sweep if a sweep is due; an alarm
/// asked for only to flush usage counts (every 10 s on a busy object) does not read every
/// record again. Not due yet: the alarm is set again for when it is. Returns how many entries
/// were deleted.
pub async fn alarm<S: ShardStorage>(memo: &Memo<S>, now_ms: u64) -> Result<usize, StoreError> {
    memo.flush(now_ms).await?;
    if memo.sweep_is_due(now_ms) {
        return sweep(memo, now_ms).await;
    }
    if let Some(at) = memo.next_sweep() {
        if let Some(at) = super::earlier_alarm(memo.alarm().await?, at) {
            memo.set_alarm(at).await?;
        }
    }
    Ok(0)
}

/// Sweep one shard. Returns how many entries were deleted.
pub async fn sweep<S: ShardStorage>(s: &S, now_ms: u64) -> Result<usize, StoreError> {
    let gate: Gate = match s.get(&[GATE_KEY.to_string()]).await?.pop() {
        Some((key, text)) => decode(&key, &text)?,
        None => Gate::default(),
    };
    let entries = Entries {
        tokens: s.list(TOKEN_PREFIX).await?,
        counters: s.list(COUNTER_PREFIX).await?,
        codes: s.list(CODE_PREFIX).await?,
        families: s.list(FAMILY_PREFIX).await?,
        refresh: s.list(REFRESH_PREFIX).await?,
        members: s.list(MEMBER_PREFIX).await?,
        device: s.get(&[DEVICE_KEY.to_string()]).await?,
        device_grants: s.list(DEVICE_GRANT_PREFIX).await?,
        hours: s.list(usage::HOUR_PREFIX).await?,
    };
    let (deletes, next) = plan_sweep(&gate, &entries, now_ms);
    if !deletes.is_empty() {
        s.commit(&[], &deletes).await?;
    }
    let next = next.map(|at| next_sweep(at, now_ms, entries.len()));
    if let Some(at) = next {
        s.set_alarm(at).await?;
    }
    s.swept(next);
    Ok(deletes.len())
}

/// Which entries a sweep deletes, and when the next alarm is due: pure.
pub fn plan_sweep(gate: &Gate, e: &Entries, now_ms: u64) -> (Vec<String>, Option<u64>) {
    let mut deletes = Vec::new();
    let mut next: Option<u64> = None;
    let mut keep_until = |at: u64| next = Some(next.map_or(at, |n: u64| n.min(at)));
    for (key, text) in &e.tokens {
        // A record that does not parse can never validate: it goes too.
        match serde_json::from_str::<TokenRecord>(text) {
            Ok(r) if r.is_live(now_ms) && gate.admits(r.generation, now_ms) => {
                keep_until(gate.deadline(r.generation, r.expires_at_ms()));
            }
            _ => deletes.push(key.clone()),
        }
    }
    for (key, text) in &e.counters {
        match serde_json::from_str::<Counter>(text) {
            Ok(c) if now_ms < c.stale_at_ms() => keep_until(c.stale_at_ms()),
            _ => deletes.push(key.clone()),
        }
    }
    for (key, text) in &e.codes {
        match serde_json::from_str::<CodeRecord>(text) {
            Ok(c) if now_ms < c.created_ms + CODE_KEEP_MS && gate.open() => keep_until(c.created_ms + CODE_KEEP_MS),
            _ => deletes.push(key.clone()),
        }
    }
    let mut live_families = Vec::new();
    for (key, text) in &e.families {
        match serde_json::from_str::<Family>(text) {
            Ok(f) if f.is_live(now_ms) && gate.open() => {
                keep_until(f.expires_ms);
                live_families.push(&key[FAMILY_PREFIX.len()..]);
            }
            _ => deletes.push(key.clone()),
        }
    }
    for (key, text) in &e.device {
        match serde_json::from_str::<DeviceRecord>(text) {
            Ok(d) if now_ms < d.expires_ms + EXPIRED_KEEP_MS => keep_until(d.expires_ms + EXPIRED_KEEP_MS),
            _ => deletes.push(key.clone()),
        }
    }
    for (key, text) in &e.device_grants {
        match serde_json::from_str::<DeviceGrant>(text) {
            Ok(g) if now_ms < g.expires_ms && gate.open() => keep_until(g.expires_ms),
            _ => deletes.push(key.clone()),
        }
    }
    // A refresh record lives as long as its family; the family's end re-arms the alarm.
    for (key, text) in &e.refresh {
        match serde_json::from_str::<RefreshRecord>(text) {
            Ok(r) if live_families.contains(&r.family.as_str()) => {}
            _ => deletes.push(key.clone()),
        }
    }
    // An access-token row lives while its family does and its token may; the token's own
    // expiry re-arms the alarm, so the rows need no deadline of their own.
    for (key, text) in &e.members {
        let family = key[MEMBER_PREFIX.len()..].rsplit_once(':').map_or("", |(f, _)| f);
        match serde_json::from_str::<u64>(text) {
            Ok(dead_by) if now_ms < dead_by && live_families.contains(&family) => {}
            _ => deletes.push(key.clone()),
        }
    }
    usage::plan(&e.hours, now_ms, &mut deletes, &mut keep_until);
    (deletes, next)
}

#[cfg(test)]
mod tests {
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
}
