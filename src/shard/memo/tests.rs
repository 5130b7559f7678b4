//! The memo: reads served from memory, lazy writes bounded by LAG_MS, lists that see memory.

use super::*;
use crate::block_on;
use crate::testing::MemStorage;

/// Storage that counts what reaches it.
#[derive(Default)]
struct Counting {
    inner: MemStorage,
    gets: Cell<usize>,
    commits: Cell<usize>,
    alarm_reads: Cell<usize>,
    fail: Cell<bool>,
}

impl ShardStorage for Counting {
    async fn get(&self, keys: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        self.gets.set(self.gets.get() + 1);
        self.inner.get(keys).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.inner.list(prefix).await
    }
    async fn commit(&self, puts: &[(String, String)], deletes: &[String]) -> Result<(), StoreError> {
        if self.fail.get() {
            return Err(StoreError("down".into()));
        }
        self.commits.set(self.commits.get() + 1);
        self.inner.commit(puts, deletes).await
    }
    async fn alarm(&self) -> Result<Option<u64>, StoreError> {
        self.alarm_reads.set(self.alarm_reads.get() + 1);
        self.inner.alarm().await
    }
    async fn set_alarm(&self, at_ms: u64) -> Result<(), StoreError> {
        self.inner.set_alarm(at_ms).await
    }
}

fn kv(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

fn stored(m: &Memo<Counting>, k: &str) -> Option<String> {
    m.storage().inner.entries.borrow().get(k).cloned()
}

#[test]
fn reads_come_from_memory_after_the_first() {
    let m = Memo::new(Counting::default());
    block_on(m.storage().inner.commit(&[kv("gate", "g")], &[])).unwrap();
    let keys = vec!["gate".to_string(), "t:x".to_string()];
    assert_eq!(block_on(m.get(&keys)).unwrap(), vec![kv("gate", "g")]);
    assert_eq!(block_on(m.get(&keys)).unwrap(), vec![kv("gate", "g")], "absence is remembered too");
    assert_eq!(m.storage().gets.get(), 1, "one storage read for both calls");
    // Our own writes are seen without reading.
    block_on(m.commit_lazy(&[kv("t:x", "1")], &[], &[], 0)).unwrap();
    assert_eq!(block_on(m.get(&keys)).unwrap(), vec![kv("gate", "g"), kv("t:x", "1")]);
    assert_eq!(m.storage().gets.get(), 1);
    block_on(m.commit_lazy(&[], &[], &["t:x".to_string()], 0)).unwrap();
    assert_eq!(block_on(m.get(&keys)).unwrap(), vec![kv("gate", "g")]);
    assert_eq!(m.storage().gets.get(), 1);
}

/// A deferred write of `v` to `k`.
fn lz(k: &str, v: &str) -> Lazy {
    Lazy { key: k.to_string(), value: v.to_string() }
}

#[test]
fn deferred_writes_reach_storage_by_the_alarm_or_once_lag_old() {
    let m = Memo::new(Counting::default());
    // A deferred write changes memory only.
    block_on(m.commit_lazy(&[], &[lz("t:a", "v1")], &[], 1_000)).unwrap();
    assert_eq!(stored(&m, "t:a"), None, "storage lags...");
    assert_eq!(block_on(m.get(&["t:a".to_string()])).unwrap(), vec![kv("t:a", "v1")], "...memory does not");
    assert_eq!(block_on(m.list("t:")).unwrap(), vec![kv("t:a", "v1")], "a sweep sees memory");
    // Changed again within LAG_MS of its oldest unwritten change: still memory only.
    block_on(m.commit_lazy(&[], &[lz("t:a", "v2")], &[], 1_000 + LAG_MS - 1)).unwrap();
    assert_eq!(stored(&m, "t:a"), None);
    // Another write in the same batch does not take the deferred one along: each row costs (an
    // issuance would write the usage counts with every token).
    block_on(m.commit_lazy(&[kv("c:x", "1")], &[lz("t:a", "v3")], &[], 1_000 + LAG_MS - 1)).unwrap();
    assert_eq!(stored(&m, "c:x").as_deref(), Some("1"));
    assert_eq!(stored(&m, "t:a"), None, "the deferred write waits");
    // The alarm is late: the oldest unwritten change is LAG_MS old, so this write goes at once.
    block_on(m.commit_lazy(&[], &[lz("t:a", "v4")], &[], 1_000 + LAG_MS)).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("v4"), "never more than LAG_MS behind");
    // Written, the key starts afresh: the next change waits for the alarm, whose flush writes it.
    block_on(m.commit_lazy(&[], &[lz("t:a", "v5")], &[], 1_000 + 3 * LAG_MS)).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("v4"));
    block_on(m.flush()).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("v5"));
    // And after the flush too: a change long after the last one written is deferred.
    let commits = m.storage().commits.get();
    block_on(m.commit_lazy(&[], &[lz("t:a", "v6")], &[], 1_000 + 9 * LAG_MS)).unwrap();
    assert_eq!(m.storage().commits.get(), commits, "deferred, not written at once");
    assert_eq!(stored(&m, "t:a").as_deref(), Some("v5"));
}

/// Issue 24, finding 4: a token used less often than every LAG_MS waits for no write, whether
/// its record was read from storage (evicted memory, a restart) or has stayed in memory since
/// its last slide was written. Before, the second kind wrote every slide at once.
#[test]
fn a_token_used_seldom_waits_for_no_write() {
    let m = Memo::new(Counting::default());
    block_on(m.storage().inner.commit(&[kv("t:a", "used at 0")], &[])).unwrap();
    block_on(m.get(&["t:a".to_string()])).unwrap();
    for use_ in 1..=10u64 {
        let now = use_ * 15_000;
        block_on(m.commit_lazy(&[], &[lz("t:a", &format!("used at {now}"))], &[], now)).unwrap();
        assert_eq!(m.storage().commits.get() as u64, use_ - 1, "use {use_}: no write of its own");
        block_on(m.flush()).unwrap(); // its alarm
        assert_eq!(stored(&m, "t:a"), Some(format!("used at {now}")));
    }
}

#[test]
fn a_burst_of_slides_writes_once() {
    let m = Memo::new(Counting::default());
    for i in 0..1_000u64 {
        block_on(m.commit_lazy(&[], &[lz("t:a", &i.to_string())], &[], LAG_MS + i)).unwrap();
    }
    assert_eq!(m.storage().commits.get(), 0, "1,000 uses within a second: no write yet");
    block_on(m.flush()).unwrap();
    assert_eq!(m.storage().commits.get(), 1, "and one for all of them");
    assert_eq!(stored(&m, "t:a").as_deref(), Some("999"));
    block_on(m.flush()).unwrap();
    assert_eq!(m.storage().commits.get(), 1, "nothing left to write");
}

#[test]
fn a_failed_write_forgets_memory() {
    let m = Memo::new(Counting::default());
    block_on(m.commit_lazy(&[kv("gate", "open")], &[], &[], 0)).unwrap();
    m.storage().fail.set(true);
    assert!(block_on(m.commit_lazy(&[kv("gate", "closed")], &[], &[], 0)).is_err());
    m.storage().fail.set(false);
    assert_eq!(block_on(m.get(&["gate".to_string()])).unwrap(), vec![kv("gate", "open")], "read again from storage");
    assert_eq!(m.storage().gets.get(), 1);
}

#[test]
fn the_alarm_is_read_once() {
    let m = Memo::new(Counting::default());
    assert_eq!(block_on(m.alarm()).unwrap(), None);
    assert_eq!(block_on(m.alarm()).unwrap(), None);
    block_on(m.set_alarm(500)).unwrap();
    assert_eq!(block_on(m.alarm()).unwrap(), Some(500));
    assert_eq!(m.storage().alarm_reads.get(), 1);
    m.alarm_fired();
    assert_eq!(block_on(m.alarm()).unwrap(), None);
}

/// Issue 24, finding 4: the bound holds for look-ups that write nothing too, and an eviction
/// forgets the oldest keys, not everything: lagging writes are flushed first.
#[test]
fn memory_is_bounded_on_reads_and_forgets_the_oldest() {
    let m = Memo::new(Counting::default());
    block_on(m.commit_lazy(&[kv("t:a", "1")], &[], &[], 0)).unwrap();
    block_on(m.commit_lazy(&[], &[lz("t:a", "2")], &[], LAG_MS + 1)).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("1"));
    // Exactly at the bound (t:a and MAX_KEYS - 1 more), by reads alone: all kept.
    let many: Vec<String> = (1..MAX_KEYS).map(|i| format!("t:{i}")).collect();
    block_on(m.get(&many)).unwrap();
    assert_eq!(m.state.borrow().known.len(), MAX_KEYS);
    assert_eq!(stored(&m, "t:a").as_deref(), Some("1"), "not flushed below the bound");
    // The next read finds memory full: the lagging write is flushed, the oldest tenth forgotten.
    let gets = m.storage().gets.get();
    block_on(m.get(&["t:new".to_string()])).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("2"));
    assert_eq!(m.state.borrow().known.len(), MAX_KEYS - EVICT + 1);
    assert_eq!(m.storage().gets.get(), gets + 1);
    // The newest keys are still in memory; the oldest are read again.
    block_on(m.get(&[format!("t:{}", MAX_KEYS - 1), "t:new".to_string()])).unwrap();
    assert_eq!(m.storage().gets.get(), gets + 1, "recent keys stay warm");
    block_on(m.get(&["t:a".to_string()])).unwrap();
    assert_eq!(m.storage().gets.get(), gets + 2, "forgotten, read again");
    // However many look-ups of unknown keys, memory never passes the bound.
    for i in 0..3 * MAX_KEYS {
        block_on(m.get(&[format!("u:{i}")])).unwrap();
        assert!(m.state.borrow().known.len() <= MAX_KEYS);
    }
}

/// What an eviction costs, natively: `cargo test --release --lib eviction_cost -- --ignored
/// --nocapture` (docs/reliability.md, "Scale"). A memo full of token-sized records, a tenth
/// of them with a deferred slide; a read of one more key pays the flush and the eviction.
#[test]
#[ignore]
fn eviction_cost() {
    use std::time::Instant;
    let value = "x".repeat(270);
    let m = Memo::new(Counting::default());
    let fill = |m: &Memo<Counting>, round: usize, n: usize| {
        let puts: Vec<(String, String)> = (0..n).map(|i| (format!("t:{round}:{i:043}"), value.clone())).collect();
        block_on(m.storage().inner.commit(&puts, &[])).unwrap();
        // A tenth slid within the lag: deferred writes an eviction must flush first. (Before
        // the reads: every call checks the bound first, and the last read must fill memory
        // exactly to it, so that the timed read is the one that evicts.)
        let lazy: Vec<Lazy> = puts.iter().step_by(10).map(|(k, _)| lz(k, &value)).collect();
        block_on(m.commit_lazy(&[], &lazy, &[], 1_001)).unwrap();
        let rest: Vec<String> = puts.iter().enumerate().filter(|(i, _)| i % 10 != 0).map(|(_, (k, _))| k.clone()).collect();
        for chunk in rest.chunks(100) {
            block_on(m.get(chunk)).unwrap();
        }
        assert_eq!(m.state.borrow().known.len(), MAX_KEYS, "memory exactly at the bound");
    };
    fill(&m, 0, MAX_KEYS);
    let (mut evicting, mut plain) = (Vec::new(), Vec::new());
    for round in 1..=50 {
        let key = vec![format!("t:new:{round}")];
        let t = Instant::now();
        block_on(m.get(&key)).unwrap(); // memory full: flush + evict EVICT keys, then the read
        evicting.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(m.state.borrow().known.len(), MAX_KEYS - EVICT + 1, "the timed read evicted");
        let key = vec![format!("t:new2:{round}")];
        let t = Instant::now();
        block_on(m.get(&key)).unwrap(); // below the bound: the read only
        plain.push(t.elapsed().as_secs_f64() * 1e6);
        fill(&m, round, EVICT - 2); // back to the bound
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!(
        "eviction: a read that evicts {EVICT} of {MAX_KEYS} keys (flushing {} deferred writes): median {:.0} µs; a read below the bound: {:.1} µs",
        EVICT / 10,
        median(&mut evicting),
        median(&mut plain)
    );
}

#[test]
fn forgotten_keys_are_read_from_storage_again_and_order_stays_bounded() {
    let m = Memo::new(Counting::default());
    let keys = vec!["m:f:a".to_string()];
    block_on(m.commit_lazy(&[kv("m:f:a", "1")], &[], &[], 0)).unwrap();
    assert_eq!(m.memory(), (1, 1));
    m.forget(&keys);
    assert_eq!(m.memory(), (0, 1), "dropped from memory; its place in order goes later");
    assert_eq!(block_on(m.get(&keys)).unwrap(), vec![kv("m:f:a", "1")], "and read from storage");
    assert_eq!(m.storage().gets.get(), 1);
    // A key with a deferred write stays: dropping it would lose the write.
    block_on(m.commit_lazy(&[], &[lz("usage", "c1")], &[], 1)).unwrap();
    m.forget(&["usage".to_string()]);
    assert_eq!(block_on(m.get(&["usage".to_string()])).unwrap(), vec![kv("usage", "c1")]);
    assert_eq!(m.storage().gets.get(), 1, "still in memory");
    // Keys written and dropped over and over: memory and `order` stay small.
    for i in 0..(3 * MAX_KEYS) {
        let k = format!("t:{}", i % 50);
        block_on(m.commit_lazy(&[kv(&k, "v")], &[], &[], 0)).unwrap();
        m.forget(&[k]);
    }
    let (known, order) = m.memory();
    assert_eq!(known, 2, "m:f:a (read again) and the deferred count");
    assert!(order <= 2 * known + EVICT + 1, "order holds {order} places for {known} keys");
}

/// `order` is compacted lazily: only once it holds more than twice memory's keys plus
/// [`EVICT`], and then to exactly the keys memory holds, each once.
#[test]
fn order_is_compacted_once_past_its_bound_and_to_exactly_what_memory_holds() {
    let fill = |n: usize| {
        let mut st = State::default();
        let keys: Vec<String> = (0..n).map(|i| format!("t:{i}")).collect();
        for k in &keys {
            st.remember(k.clone(), Some("v".into()));
        }
        (st, keys)
    };
    // At the bound (EVICT places, no key left): kept as it is.
    let (mut st, keys) = fill(EVICT);
    st.drop_keys(&keys);
    assert_eq!((st.known.len(), st.order.len()), (0, EVICT));
    // One past it: compacted to nothing.
    let (mut st, keys) = fill(EVICT + 1);
    st.drop_keys(&keys);
    assert_eq!((st.known.len(), st.order.len()), (0, 0));
    // Below the bound, dropping half keeps every place (no compaction on each call).
    let (mut st, keys) = fill(10);
    st.drop_keys(&keys[..5]);
    assert_eq!((st.known.len(), st.order.len()), (5, 10));
    // Past it with keys left, some remembered again after being dropped (two places each):
    // compacted to one place per key memory holds.
    let (mut st, keys) = fill(2 * EVICT);
    st.drop_keys(&keys[..EVICT]);
    for k in &keys[..3] {
        st.remember(k.clone(), Some("again".into()));
    }
    st.drop_keys(&keys[EVICT..2 * EVICT - 10]);
    assert_eq!(st.known.len(), 13);
    assert_eq!(st.order.len(), 13, "one place per key memory holds");
    assert!(st.order.iter().all(|k| st.known.contains_key(k)));
}
