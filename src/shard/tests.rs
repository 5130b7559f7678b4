//! The read → decide → commit loop: what an operation reads, how effects are applied.

use super::requests::Request;
use super::*;

#[test]
fn the_alarm_only_moves_earlier() {
    assert_eq!(earlier_alarm(None, 50), Some(50));
    assert_eq!(earlier_alarm(Some(100), 50), Some(50));
    assert_eq!(earlier_alarm(Some(100), 100), None);
    assert_eq!(earlier_alarm(Some(100), 200), None);
}

#[test]
fn effects_keep_the_earliest_alarm() {
    let mut fx = Effects::default();
    fx.alarm(300);
    fx.alarm(100);
    fx.alarm(200);
    assert_eq!(fx.alarm_by, Some(100));
}

/// Plain storage with every call written down, to check what an operation reads.
#[derive(Default)]
struct Recorder {
    inner: crate::testing::MemStorage,
    calls: std::cell::RefCell<Vec<String>>,
}

impl ShardStorage for Recorder {
    async fn get(&self, keys: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        self.calls.borrow_mut().push(format!("get {}", keys.join(",")));
        self.inner.get(keys).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.calls.borrow_mut().push(format!("list {prefix}"));
        self.inner.list(prefix).await
    }
    async fn commit(&self, puts: &[(String, String)], deletes: &[String]) -> Result<(), StoreError> {
        self.calls.borrow_mut().push(format!("commit {} {}", puts.len(), deletes.len()));
        self.inner.commit(puts, deletes).await
    }
    async fn alarm(&self) -> Result<Option<u64>, StoreError> {
        self.inner.alarm().await
    }
    async fn set_alarm(&self, at_ms: u64) -> Result<(), StoreError> {
        self.inner.set_alarm(at_ms).await
    }
}

/// Reads `a` and nothing else; writes `w` lazily when asked.
struct Plain {
    lazy: bool,
}

impl Op for Plain {
    type Reply = bool;
    fn keys(&self) -> Vec<String> {
        vec!["a".into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(bool, Effects), StoreError> {
        let mut fx = Effects::default();
        if self.lazy {
            fx.defer("w".into(), &7, 0);
        }
        Ok((loaded.get::<u32>("a")?.is_some(), fx))
    }
}

/// Reads under a prefix, then a key named by what it found.
struct Listing;

impl Op for Listing {
    type Reply = usize;
    fn keys(&self) -> Vec<String> {
        vec![]
    }
    fn prefixes(&self) -> Vec<String> {
        vec!["p:".into()]
    }
    fn more_keys(&self, loaded: &Loaded) -> Result<Vec<String>, StoreError> {
        Ok(loaded.under::<String>("p:")?.into_iter().map(|(_, v)| v).collect())
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(usize, Effects), StoreError> {
        Ok((loaded.0.len(), Effects::default()))
    }
}

#[test]
fn an_operation_reads_only_what_it_names() {
    let s = Recorder::default();
    s.inner.entries.borrow_mut().insert("a".into(), "1".into());
    s.inner.entries.borrow_mut().insert("b".into(), "2".into());
    assert_eq!(crate::block_on(run(&s, Box::new(Plain { lazy: false }), 0)).unwrap(), "true");
    // One read of its keys: no listing, no second read, and nothing written.
    assert_eq!(*s.calls.borrow(), ["get a"]);

    let s = Recorder::default();
    s.inner.entries.borrow_mut().insert("p:1".into(), r#""x""#.into());
    s.inner.entries.borrow_mut().insert("x".into(), "3".into());
    s.inner.entries.borrow_mut().insert("y".into(), "4".into());
    // p:1 and x are read; y is not.
    assert_eq!(crate::block_on(run(&s, Box::new(Listing), 0)).unwrap(), "2");
    assert_eq!(*s.calls.borrow(), ["get ", "list p:", "get x"]);
}

#[test]
fn plain_storage_writes_lazy_writes_at_once() {
    // Without a memo in front, nothing may be deferred: the lazy write is in the commit.
    let s = Recorder::default();
    crate::block_on(run(&s, Box::new(Plain { lazy: true }), 0)).unwrap();
    assert_eq!(*s.calls.borrow(), ["get a", "commit 1 0"]);
    assert_eq!(s.inner.entries.borrow().get("w").map(String::as_str), Some("7"));
}

#[test]
fn requests_travel_as_tagged_json() {
    let r = Request::from(gate::Check { scope_ok: None });
    assert_eq!(to_json(&r), r#"{"check":{}}"#);
    assert_eq!(serde_json::from_str::<Request>(r#"{"check":{}}"#).unwrap(), r);
    assert!(serde_json::from_str::<Request>(r#"{"nope":{}}"#).is_err());
}
