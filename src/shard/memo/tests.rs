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

#[test]
fn lazy_writes_reach_storage_within_the_lag() {
    let m = Memo::new(Counting::default());
    // The first lazy write of a key goes to storage (nothing is known to be there).
    block_on(m.commit_lazy(&[], &[kv("t:a", "v1")], &[], 1_000)).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("v1"));
    // Within LAG_MS: memory only.
    block_on(m.commit_lazy(&[], &[kv("t:a", "v2")], &[], 1_000 + LAG_MS - 1)).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("v1"), "storage lags...");
    assert_eq!(block_on(m.get(&["t:a".to_string()])).unwrap(), vec![kv("t:a", "v2")], "...memory does not");
    assert_eq!(block_on(m.list("t:")).unwrap(), vec![kv("t:a", "v2")], "a sweep sees memory");
    // At LAG_MS after the last persist: storage again.
    block_on(m.commit_lazy(&[], &[kv("t:a", "v3")], &[], 1_000 + LAG_MS)).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("v3"));
    // Another write in the same batch takes the lazy one along (the batch costs the same).
    block_on(m.commit_lazy(&[kv("c:x", "1")], &[kv("t:a", "v4")], &[], 1_000 + LAG_MS + 1)).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("v4"));
    // A flush writes what lags.
    block_on(m.commit_lazy(&[], &[kv("t:a", "v5")], &[], 1_000 + LAG_MS + 2)).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("v4"));
    block_on(m.flush(1_000 + LAG_MS + 3)).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("v5"));
}

#[test]
fn a_burst_of_slides_writes_once_per_lag() {
    let m = Memo::new(Counting::default());
    for i in 0..1_000u64 {
        block_on(m.commit_lazy(&[], &[kv("t:a", &i.to_string())], &[], i)).unwrap();
    }
    assert_eq!(m.storage().commits.get(), 1, "1,000 uses within a second: one write");
    block_on(m.commit_lazy(&[], &[kv("t:a", "late")], &[], LAG_MS)).unwrap();
    assert_eq!(m.storage().commits.get(), 2);
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

#[test]
fn memory_is_bounded() {
    let m = Memo::new(Counting::default());
    block_on(m.commit_lazy(&[], &[kv("t:a", "1")], &[], 0)).unwrap();
    block_on(m.commit_lazy(&[], &[kv("t:a", "2")], &[], 1)).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("1"));
    // Exactly at the bound (t:a and MAX_KEYS - 1 more): memory is kept.
    let many: Vec<String> = (1..MAX_KEYS).map(|i| format!("t:{i}")).collect();
    block_on(m.get(&many)).unwrap();
    block_on(m.commit_lazy(&[], &[], &["t:gone".to_string()], 2)).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("1"), "not flushed at the bound");
    // Past the bound: lagging writes are flushed and memory starts over.
    block_on(m.get(&["t:0".to_string()])).unwrap();
    block_on(m.commit_lazy(&[kv("x", "1")], &[], &[], 2)).unwrap();
    assert_eq!(stored(&m, "t:a").as_deref(), Some("2"));
    let gets = m.storage().gets.get();
    block_on(m.get(&["t:0".to_string()])).unwrap();
    assert_eq!(m.storage().gets.get(), gets + 1, "forgotten, read again");
}
