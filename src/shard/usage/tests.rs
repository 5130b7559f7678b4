use super::*;
use crate::client::{Client, Settings};
use crate::secret::{ClientSecret, SecretHash};
use crate::shard::counters::{Count, UsageOf};
use crate::shard::gate::Check;
use crate::shard::tokens::{Issue, TokenRecord, Validate};
use crate::shard::LAG_MS;
use crate::shard::{to_json, Checked};

const H: u64 = 491_000; // an hour
const T: u64 = H * HOUR_MS + 1_000;

fn stored(fx: &Effects, key: &str) -> Option<HourRecord> {
    let lazy = fx.lazy.iter().find(|l| l.key == key).map(|l| l.value.clone());
    let put = fx.puts.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    lazy.or(put).map(|t| serde_json::from_str(&t).unwrap())
}

fn counted(fx: &Effects) -> Counts {
    stored(fx, USAGE_KEY).map(|r| r.c).unwrap_or_default()
}

fn record(client: &str, ip: &str, scope: &[&str], now: u64) -> TokenRecord {
    let c = Client::new(client.into(), Settings::default(), &ClientSecret::new("s"), 0);
    TokenRecord::new(&c, 0, scope.iter().map(|s| s.to_string()).collect(), Some(ip), now)
}

#[test]
fn a_count_is_written_lazily_and_asks_for_the_alarm_within_lag() {
    let mut fx = Effects::default();
    tally(&Loaded::default(), &mut fx, &[Field::Validations], T).unwrap();
    assert!(fx.puts.is_empty(), "no write of its own");
    assert_eq!(fx.lazy.len(), 1);
    assert_eq!(fx.flush_by, Some(T + LAG_MS), "the alarm flushes it within LAG_MS");
    assert_eq!(fx.alarm_by, None, "and no sweep is due for it");
    let r = stored(&fx, USAGE_KEY).unwrap();
    assert_eq!((r.hour, r.c.validations, r.last_ms), (H, 1, T));
}

#[test]
fn counts_add_up_within_an_hour_and_roll_at_its_boundary() {
    let base = HourRecord { hour: H, c: Counts { validations: 5, rejected_ip: 1, ..Counts::default() }, unvalidated: 0, last_ms: T };
    let loaded = Loaded::default().with(USAGE_KEY, &base);
    // The last millisecond of hour H: the same record.
    let mut fx = Effects::default();
    tally(&loaded, &mut fx, &[Field::Validations], (H + 1) * HOUR_MS - 1).unwrap();
    assert_eq!(counted(&fx).validations, 6);
    assert!(fx.puts.is_empty());
    // The first millisecond of hour H+1: hour H is written as it was, a new hour starts.
    let mut fx = Effects::default();
    tally(&loaded, &mut fx, &[Field::RejectedToken], (H + 1) * HOUR_MS).unwrap();
    assert_eq!(stored(&fx, &hour_key(H)), Some(base.clone()), "the finished hour, unchanged");
    let now = stored(&fx, USAGE_KEY).unwrap();
    assert_eq!(now.hour, H + 1);
    assert_eq!(now.c, Counts { rejected_token: 1, ..Counts::default() });
    assert_eq!(now.last_ms, T, "the last use is carried over (a rejection is no use)");
    // An empty hour is not written.
    let empty = Loaded::default().with(USAGE_KEY, &HourRecord { hour: H, last_ms: T, ..HourRecord::default() });
    let mut fx = Effects::default();
    tally(&empty, &mut fx, &[Field::Validations], (H + 3) * HOUR_MS).unwrap();
    assert!(fx.puts.is_empty());
}

#[test]
fn issue_and_validate_count_each_outcome() {
    let hash = SecretHash::of("tok");
    let key = crate::shard::keys::token_key(&hash);
    let issued = Issue { hash: hash.clone(), record: record("c", "1.1.1.1", &["a"], T) }.checked(&Loaded::default(), T).unwrap().1;
    assert_eq!(counted(&issued), Counts { tokens_issued: 1, ..Counts::default() });
    let loaded = Loaded::default().with(key.clone(), &record("c", "1.1.1.1", &["a"], T));
    let v = |ip: &str, required: &[&str], loaded: &Loaded| {
        let op =
            Validate { hash: hash.clone(), ip: Some(ip.into()), required: required.iter().map(|s| s.to_string()).collect(), resource: None, unbound: vec![] };
        counted(&op.checked(loaded, T + 5).unwrap().1)
    };
    assert_eq!(v("1.1.1.1", &[], &loaded), Counts { validations: 1, ..Counts::default() });
    assert_eq!(v("2.2.2.2", &[], &loaded), Counts { rejected_ip: 1, ..Counts::default() });
    assert_eq!(v("1.1.1.1", &["b"], &loaded), Counts { rejected_scope: 1, ..Counts::default() });
    // An unknown token: counted where the project is known (a gate or counts), never elsewhere.
    assert_eq!(v("1.1.1.1", &[], &Loaded::default()), Counts::default());
    let known = Loaded::default().with(USAGE_KEY, &HourRecord { hour: H, ..HourRecord::default() });
    assert_eq!(v("1.1.1.1", &[], &known), Counts { rejected_token: 1, ..Counts::default() });
    // An expired one (known: it is there).
    let old = Loaded::default().with(key, &record("c", "1.1.1.1", &[], 0)).with(crate::shard::keys::GATE_KEY, &crate::shard::gate::Gate::default());
    assert_eq!(v("1.1.1.1", &[], &old), Counts { rejected_token: 1, ..Counts::default() });
}

#[test]
fn counters_count_failures_and_refusals() {
    let count = |usage, limit, loaded: &Loaded| {
        let op = Count { name: "n".into(), window_ms: 60_000, limit, count_refused: usage == Some(UsageOf::Failure), usage };
        let fx = op.checked(loaded, T).unwrap().1;
        stored(&fx, USAGE_KEY).unwrap_or_default()
    };
    let none = Loaded::default();
    assert_eq!(count(None, 5, &none), HourRecord::default());
    assert_eq!(count(Some(UsageOf::Failure), 5, &none).c, Counts { auth_failures: 1, ..Counts::default() });
    assert_eq!(count(Some(UsageOf::Failure), 0, &none).c, Counts { auth_failures: 1, rate_limited: 1, ..Counts::default() });
    assert_eq!(count(Some(UsageOf::Rate), 5, &none), HourRecord::default(), "an allowed validation was counted by its shard");
    let refused = count(Some(UsageOf::Rate), 0, &none);
    assert_eq!((refused.c, refused.unvalidated), (Counts { rate_limited: 1, ..Counts::default() }, 1));
}

#[test]
fn api_keys_are_counted_by_the_gate_check() {
    let check = |scope_ok, loaded: &Loaded| counted(&Check { scope_ok }.checked(loaded, T).unwrap().1);
    let open = Loaded::default();
    assert_eq!(check(None, &open), Counts::default());
    assert_eq!(check(Some(true), &open), Counts { validations: 1, ..Counts::default() });
    assert_eq!(check(Some(false), &open), Counts { rejected_scope: 1, ..Counts::default() });
    let closed = Loaded::default().with(crate::shard::keys::GATE_KEY, &crate::shard::gate::Gate { disabled: true, ..Default::default() });
    assert_eq!(check(Some(true), &closed), Counts { rejected_token: 1, ..Counts::default() });
}

#[test]
fn reading_merges_shards_by_hour_and_takes_refusals_back() {
    let r = |hour, validations, unvalidated| HourRecord { hour, c: Counts { validations, ..Counts::default() }, unvalidated, last_ms: 0 };
    let (hours, totals) = merge(&[r(H, 3, 0), r(H + 1, 0, 0), r(H, 2, 1), r(H - 1, 1, 0)]);
    assert_eq!(hours, vec![(H - 1, Counts { validations: 1, ..Counts::default() }), (H, Counts { validations: 4, ..Counts::default() })]);
    assert_eq!(totals.validations, 5);
    let loaded = Loaded::default().with(hour_key(H - 2), &r(H - 2, 1, 0)).with(hour_key(H - 1), &r(H - 1, 1, 0)).with(USAGE_KEY, &r(H, 1, 0));
    let got = ReadUsage { since_hour: H - 1 }.checked(&loaded, T).unwrap().0;
    assert_eq!(got.iter().map(|r| r.hour).collect::<Vec<_>>(), vec![H - 1, H]);
    let last = HourRecord { last_ms: 77, ..r(H, 1, 0) };
    assert_eq!(LastUsed {}.checked(&Loaded::default().with(USAGE_KEY, &last), T).unwrap().0, Some(77));
    assert_eq!(LastUsed {}.checked(&Loaded::default(), T).unwrap().0, None);
    let refused_only = HourRecord { last_ms: 0, ..r(H, 0, 0) };
    assert_eq!(LastUsed {}.checked(&Loaded::default().with(USAGE_KEY, &refused_only), T).unwrap().0, None, "no accepted use yet");
}

#[test]
fn the_sweep_keeps_90_days() {
    let now = (H + RETENTION_HOURS) * HOUR_MS + 5;
    let rec = |hour| (hour_key(hour), to_json(&HourRecord { hour, ..HourRecord::default() }));
    let hours = vec![rec(H - 1), rec(H), rec(H + 1), ("h:bad".to_string(), "{".to_string())];
    let (mut deletes, mut next) = (Vec::new(), None);
    plan(&hours, now, &mut deletes, |at| next = Some(next.map_or(at, |n: u64| n.min(at))));
    assert_eq!(deletes, vec![hour_key(H - 1), "h:bad".to_string()]);
    assert_eq!(next, Some((H + RETENTION_HOURS + 1) * HOUR_MS), "back when hour H leaves the window");
}

#[test]
fn the_chart_splits_accepted_from_rejected_and_the_window_is_90_days() {
    let c = Counts { tokens_issued: 1, validations: 2, rejected_token: 4, rejected_ip: 8, rejected_scope: 16, rate_limited: 32, auth_failures: 64 };
    assert_eq!((c.accepted(), c.rejected()), (3, 124));
    assert_eq!(RETENTION_HOURS, 2_160);
    // An hour record stores no zero extras.
    let text = to_json(&HourRecord { hour: 1, ..HourRecord::default() });
    assert!(!text.contains("unvalidated") && !text.contains("last_ms"), "{text}");
    assert!(to_json(&HourRecord { hour: 1, unvalidated: 2, last_ms: 3, ..HourRecord::default() }).contains("\"unvalidated\":2"));
}
