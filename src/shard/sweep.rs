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
    memo.flush().await?;
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
        // Dead and gone: memory need not remember that they are.
        s.forget(&deletes);
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
mod tests;
