//! An object's memory: a write-through cache in front of its storage, so that hot records (the
//! gate, live tokens) are read from storage once per object lifetime, not once per request; and
//! lazy writes for slides and usage counts.
//!
//! An object is the only writer of its storage, so its memory is never stale. A *lazy* write
//! (a token's slid expiry, the hour's usage counts) is *deferred* (`Effects::defer`): it
//! changes memory at once and asks for the alarm within [`LAG_MS`], whose [`Memo::flush`]
//! writes every deferred record in one batch, so a validation waits for no write, however
//! often or seldom its token is used. It is not taken along by another write in the same batch
//! (an issuance writes its token only; taking the counts along made it two rows, though side by
//! side the difference was within noise: docs/performance.md). Should the alarm be late, the
//! next write of a key whose oldest unwritten change is `LAG_MS` old goes to storage at once. A
//! crash loses at most the last `LAG_MS` of slides: after a restart such a token expires
//! *earlier* than it would have, never later.
//!
//! Memory holds what is live, not history: keys an operation marks as not worth keeping (a
//! family's member rows, a rotated refresh token, what a sweep deleted) are dropped once
//! written ([`ShardStorage::forget`]); asked for again, they are read from storage.
//!
//! Memory is bounded: at most [`MAX_KEYS`] keys, on reads as on writes. Past it the oldest
//! tenth is forgotten (first in, first out), after any deferred writes are flushed, so a flood
//! of look-ups of unknown tokens cannot grow an object's memory, and the rest stays warm.

pub use super::LAG_MS;
use super::{Lazy, ShardStorage};
use crate::error::StoreError;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Most keys kept in memory; past it the oldest [`EVICT`] are forgotten.
pub const MAX_KEYS: usize = 10_000;
/// How many keys one eviction forgets: a tenth, so that evictions are rare and each is cheap.
pub const EVICT: usize = MAX_KEYS / 10;

#[derive(Debug, Default)]
struct State {
    /// What is known of a key: its value, or `None` when it is known to be absent.
    known: HashMap<String, Option<String>>,
    /// Lazily written keys not yet in storage, with when their oldest unwritten change was
    /// made. (A hash map, the same type as `known`: a B-tree of its own would add 4 KB gzipped
    /// to the wasm, and a flush writes them in one batch, in no particular order.)
    dirty: HashMap<String, u64>,
    /// The keys of `known`, oldest first: what an eviction forgets first.
    order: VecDeque<String>,
}

impl State {
    fn remember(&mut self, key: String, value: Option<String>) {
        if !self.known.contains_key(&key) {
            self.order.push_back(key.clone());
        }
        self.known.insert(key, value);
    }

    /// Drop `keys` that have no deferred write. Their places in `order` go at the next
    /// compaction, once it holds twice what memory does: `order` stays bounded however many
    /// keys are dropped between evictions.
    fn drop_keys(&mut self, keys: &[String]) {
        for k in keys {
            if !self.dirty.contains_key(k) {
                self.known.remove(k);
            }
        }
        if self.order.len() > 2 * self.known.len() + EVICT {
            let known = &self.known;
            let mut seen = std::collections::HashSet::new();
            self.order.retain(|k| known.contains_key(k) && seen.insert(k.clone()));
        }
    }

    /// Forget the oldest [`EVICT`] keys; none may have a deferred write (flush first).
    fn evict(&mut self) {
        for _ in 0..EVICT {
            let Some(key) = self.order.pop_front() else { break };
            self.known.remove(&key);
        }
    }
}

/// A storage with memory in front of it.
#[derive(Debug)]
pub struct Memo<S> {
    inner: S,
    state: RefCell<State>,
    /// The scheduled alarm, once read: `Some(None)` when none is set.
    alarm: Cell<Option<Option<u64>>>,
    /// When the next sweep is due (`u64::MAX`: nothing is), once known: unknown in a fresh
    /// object, whose first alarm sweeps. An alarm asked for only to flush usage counts every
    /// 10 s does not sweep: a sweep reads every record the object holds.
    sweep_at: Cell<Option<u64>>,
}

impl<S: ShardStorage> Memo<S> {
    pub fn new(inner: S) -> Self {
        Memo { inner, state: RefCell::default(), alarm: Cell::new(None), sweep_at: Cell::new(None) }
    }

    /// Is a sweep due at `now_ms` (or not known not to be)?
    pub fn sweep_is_due(&self, now_ms: u64) -> bool {
        self.sweep_at.get().is_none_or(|at| at <= now_ms)
    }

    /// When the next sweep is due, if one is known to be.
    pub fn next_sweep(&self) -> Option<u64> {
        self.sweep_at.get().filter(|&at| at != u64::MAX)
    }

    /// The alarm is firing: none is scheduled any more.
    pub fn alarm_fired(&self) {
        self.alarm.set(Some(None));
    }

    pub fn storage(&self) -> &S {
        &self.inner
    }

    /// How many keys memory holds, and how many places `order` keeps.
    #[cfg(test)]
    pub fn memory(&self) -> (usize, usize) {
        let st = self.state.borrow();
        (st.known.len(), st.order.len())
    }

    /// Write every lazily written record now (an alarm, or memory being bounded).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let puts: Vec<(String, String)> = {
            let st = self.state.borrow();
            st.dirty.keys().filter_map(|k| Some((k.clone(), st.known.get(k)?.clone()?))).collect()
        };
        if !puts.is_empty() {
            self.inner.commit(&puts, &[]).await?;
            let mut st = self.state.borrow_mut();
            for (k, _) in puts {
                st.dirty.remove(&k);
            }
        }
        Ok(())
    }

    /// Keep memory within [`MAX_KEYS`]: past it, write what is deferred, then forget the
    /// oldest keys.
    async fn bound(&self) -> Result<(), StoreError> {
        if self.state.borrow().known.len() < MAX_KEYS {
            return Ok(());
        }
        self.flush().await?;
        self.state.borrow_mut().evict();
        Ok(())
    }

    /// Apply writes: `lazy` ones reach storage when the alarm flushes them, or at once should
    /// the key's oldest unwritten change be [`LAG_MS`] old (the alarm is late).
    pub async fn commit_with(&self, puts: &[(String, String)], lazy: &[Lazy], deletes: &[String], now_ms: u64) -> Result<(), StoreError> {
        self.bound().await?;
        let mut writes: Vec<(String, String)> = puts.to_vec();
        let mut deferred = Vec::new();
        {
            let st = self.state.borrow();
            for l in lazy {
                match st.dirty.get(&l.key) {
                    Some(&since) if now_ms >= since.saturating_add(LAG_MS) => writes.push((l.key.clone(), l.value.clone())),
                    _ => deferred.push((l.key.clone(), l.value.clone())),
                }
            }
        }
        // Memory changes before the write is awaited: a request the runtime delivers while
        // the write is in flight must see it, as it would see storage's own cache.
        {
            let mut st = self.state.borrow_mut();
            for (k, v) in &writes {
                st.dirty.remove(k);
                st.remember(k.clone(), Some(v.clone()));
            }
            for (k, v) in deferred {
                st.dirty.entry(k.clone()).or_insert(now_ms);
                st.remember(k, Some(v));
            }
            for k in deletes {
                st.dirty.remove(k);
                st.remember(k.clone(), None);
            }
        }
        if !writes.is_empty() || !deletes.is_empty() {
            if let Err(e) = self.inner.commit(&writes, deletes).await {
                // What was written is unknown: forget everything, read again.
                *self.state.borrow_mut() = State::default();
                return Err(e);
            }
        }
        Ok(())
    }
}

impl<S: ShardStorage> ShardStorage for Memo<S> {
    async fn get(&self, keys: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        // Look-ups that write nothing (unknown tokens, introspection) are bounded too.
        self.bound().await?;
        let missing: Vec<String> = {
            let st = self.state.borrow();
            keys.iter().filter(|k| !st.known.contains_key(*k)).cloned().collect()
        };
        if !missing.is_empty() {
            // (A B-tree, the type `list` uses too: no hash table code of its own in the wasm.)
            let found: BTreeMap<String, String> = self.inner.get(&missing).await?.into_iter().collect();
            let mut st = self.state.borrow_mut();
            for k in missing {
                let v = found.get(&k).cloned();
                st.remember(k, v);
            }
        }
        let st = self.state.borrow();
        Ok(keys.iter().filter_map(|k| Some((k.clone(), st.known.get(k)?.clone()?))).collect())
    }

    /// Storage's entries, with memory's newer values and deletions laid over them.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut listed: BTreeMap<String, String> = self.inner.list(prefix).await?.into_iter().collect();
        let st = self.state.borrow();
        for (k, v) in st.known.iter().filter(|(k, _)| k.starts_with(prefix)) {
            if let Some(v) = v {
                listed.insert(k.clone(), v.clone());
            }
        }
        // Deleted in memory: left out (filtered rather than removed from the map, which keeps
        // the B-tree's removal code out of the wasm).
        Ok(listed.into_iter().filter(|(k, _)| !matches!(st.known.get(k), Some(None))).collect())
    }

    async fn commit(&self, puts: &[(String, String)], deletes: &[String]) -> Result<(), StoreError> {
        self.commit_with(puts, &[], deletes, 0).await
    }

    fn forget(&self, keys: &[String]) {
        self.state.borrow_mut().drop_keys(keys);
    }

    async fn commit_lazy(&self, puts: &[(String, String)], lazy: &[Lazy], deletes: &[String], now_ms: u64) -> Result<(), StoreError> {
        self.commit_with(puts, lazy, deletes, now_ms).await
    }

    async fn alarm(&self) -> Result<Option<u64>, StoreError> {
        if let Some(known) = self.alarm.get() {
            return Ok(known);
        }
        let at = self.inner.alarm().await?;
        self.alarm.set(Some(at));
        Ok(at)
    }

    async fn set_alarm(&self, at_ms: u64) -> Result<(), StoreError> {
        self.alarm.set(None);
        self.inner.set_alarm(at_ms).await?;
        self.alarm.set(Some(Some(at_ms)));
        Ok(())
    }

    fn sweep_due(&self, at_ms: u64) {
        if let Some(known) = self.sweep_at.get() {
            self.sweep_at.set(Some(known.min(at_ms)));
        }
    }

    fn swept(&self, next_ms: Option<u64>) {
        self.sweep_at.set(Some(next_ms.unwrap_or(u64::MAX)));
    }
}

#[cfg(test)]
mod tests;
