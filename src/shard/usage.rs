//! Usage counts (the contract's "Usage"; `DESIGN.md` invariant 11): per project and UTC hour,
//! counted in the project's own shards where each outcome is decided, kept 90 days.
//!
//! Each shard keeps the current hour in one record, [`USAGE_KEY`], written *lazily* (like a
//! token's slide, [`super::memo`]): a count changes the object's memory at once and reaches
//! storage at the alarm, which every count asks for within [`LAG_MS`](super::LAG_MS) (`Effects::defer`).
//! So a validation adds no storage write of its own, and a crash or eviction loses at most
//! the counts of the last `LAG_MS` (10 s). When the hour changes, the finished hour is written
//! once as `h:{hour}` (hours since the Unix epoch); the sweep deletes those past
//! [`RETENTION_HOURS`]. Reading ([`ReadUsage`]) goes through the object, so it sees memory:
//! counts are exact when read, whatever storage holds.
//!
//! `last_ms` (the last accepted issuance or validation) rides in the same record, so the
//! project view reads one small record per shard ([`LastUsed`]).

use super::keys::GATE_KEY;
use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use serde::{Deserialize, Serialize};

/// The current hour's counts in a shard.
pub const USAGE_KEY: &str = "usage";
/// A finished hour: `h:{hour}`.
pub const HOUR_PREFIX: &str = "h:";
pub const HOUR_MS: u64 = 3_600_000;
/// 90 days.
pub const RETENTION_HOURS: u64 = 90 * 24;

pub fn hour_key(hour: u64) -> String {
    format!("{HOUR_PREFIX}{hour}")
}

/// The hour (since the Unix epoch, UTC) that `ms` falls in.
pub fn hour_of(ms: u64) -> u64 {
    ms / HOUR_MS
}

/// The contract's seven fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    #[serde(default)]
    pub tokens_issued: u64,
    #[serde(default)]
    pub validations: u64,
    #[serde(default)]
    pub rejected_token: u64,
    #[serde(default)]
    pub rejected_ip: u64,
    #[serde(default)]
    pub rejected_scope: u64,
    #[serde(default)]
    pub rate_limited: u64,
    #[serde(default)]
    pub auth_failures: u64,
}

impl Counts {
    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    pub fn add(&mut self, o: &Counts) {
        self.tokens_issued += o.tokens_issued;
        self.validations += o.validations;
        self.rejected_token += o.rejected_token;
        self.rejected_ip += o.rejected_ip;
        self.rejected_scope += o.rejected_scope;
        self.rate_limited += o.rate_limited;
        self.auth_failures += o.auth_failures;
    }

    /// Accepted (issued and validated) against rejected, for the console's chart.
    pub fn accepted(&self) -> u64 {
        self.tokens_issued + self.validations
    }

    pub fn rejected(&self) -> u64 {
        self.rejected_token + self.rejected_ip + self.rejected_scope + self.rate_limited + self.auth_failures
    }
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    TokensIssued,
    Validations,
    RejectedToken,
    RejectedIp,
    RejectedScope,
    RateLimited,
    AuthFailures,
    /// A validation the shard accepted that the rate limit (in shard 0) then refused: it was
    /// counted as one, so the read subtracts it (and it is counted as `rate_limited` too).
    Unvalidated,
}

/// One hour of one shard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourRecord {
    pub hour: u64,
    #[serde(default)]
    pub c: Counts,
    /// See [`Field::Unvalidated`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unvalidated: u64,
    /// The last accepted issuance or validation seen by this shard (not only this hour's).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl HourRecord {
    fn bump(&mut self, field: Field) {
        let c = &mut self.c;
        let n = match field {
            Field::TokensIssued => &mut c.tokens_issued,
            Field::Validations => &mut c.validations,
            Field::RejectedToken => &mut c.rejected_token,
            Field::RejectedIp => &mut c.rejected_ip,
            Field::RejectedScope => &mut c.rejected_scope,
            Field::RateLimited => &mut c.rate_limited,
            Field::AuthFailures => &mut c.auth_failures,
            Field::Unvalidated => &mut self.unvalidated,
        };
        *n += 1;
    }

    fn is_empty(&self) -> bool {
        self.c.is_zero() && self.unvalidated == 0
    }
}

/// Count `fields` (once each) at `now_ms`: the op that calls this reads [`USAGE_KEY`]. A
/// finished hour is written as `h:{hour}`; the current one lazily (see the module docs).
pub fn tally(loaded: &Loaded, fx: &mut Effects, fields: &[Field], now_ms: u64) -> Result<(), StoreError> {
    let hour = hour_of(now_ms);
    // None yet: an empty record, which the hour's change below replaces.
    let mut rec: HourRecord = loaded.get(USAGE_KEY)?.unwrap_or_default();
    if rec.hour != hour {
        if !rec.is_empty() {
            fx.put(hour_key(rec.hour), &rec);
        }
        rec = HourRecord { hour, last_ms: rec.last_ms, ..HourRecord::default() };
    }
    for f in fields {
        rec.bump(*f);
        if matches!(f, Field::TokensIssued | Field::Validations) {
            rec.last_ms = rec.last_ms.max(now_ms);
        }
    }
    fx.defer(USAGE_KEY.to_string(), &rec, now_ms);
    Ok(())
}

/// Does this shard know the project (its gate or its counts)? An unknown token of an id that
/// was never used here is not counted: arbitrary ids must not create storage.
pub fn known(loaded: &Loaded) -> bool {
    [GATE_KEY, USAGE_KEY].iter().any(|k| loaded.get::<serde::de::IgnoredAny>(k).ok().flatten().is_some())
}

/// Every hour this shard holds from `since_hour` on (the current one included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadUsage {
    pub since_hour: u64,
}

impl Op for ReadUsage {
    type Reply = Vec<HourRecord>;
    fn keys(&self) -> Vec<String> {
        vec![USAGE_KEY.into()]
    }
    fn prefixes(&self) -> Vec<String> {
        vec![HOUR_PREFIX.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Vec<HourRecord>, Effects), StoreError> {
        let mut hours: Vec<HourRecord> = loaded.under::<HourRecord>(HOUR_PREFIX)?.into_iter().map(|(_, r)| r).collect();
        hours.extend(loaded.get::<HourRecord>(USAGE_KEY)?);
        hours.retain(|r| r.hour >= self.since_hour);
        Ok((hours, Effects::default()))
    }
}

/// The last accepted issuance or validation this shard saw (ms), if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastUsed {}

impl Op for LastUsed {
    type Reply = Option<u64>;
    fn keys(&self) -> Vec<String> {
        vec![USAGE_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Option<u64>, Effects), StoreError> {
        let last = loaded.get::<HourRecord>(USAGE_KEY)?.map(|r| r.last_ms).filter(|&ms| ms > 0);
        Ok((last, Effects::default()))
    }
}

/// The shards' hours merged: per hour (ascending, only non-zero ones), and the totals.
pub fn merge(records: &[HourRecord]) -> (Vec<(u64, Counts)>, Counts) {
    let mut by_hour: std::collections::BTreeMap<u64, (Counts, u64)> = std::collections::BTreeMap::new();
    for r in records {
        let e = by_hour.entry(r.hour).or_default();
        e.0.add(&r.c);
        e.1 += r.unvalidated;
    }
    let mut totals = Counts::default();
    let hours: Vec<(u64, Counts)> = by_hour
        .into_iter()
        .map(|(h, (mut c, unvalidated))| {
            c.validations = c.validations.saturating_sub(unvalidated);
            (h, c)
        })
        .filter(|(_, c)| !c.is_zero())
        .collect();
    for (_, c) in &hours {
        totals.add(c);
    }
    (hours, totals)
}

/// For the sweep: hours past retention are deleted; the others keep the alarm until they are.
pub fn plan(hours: &[(String, String)], now_ms: u64, deletes: &mut Vec<String>, mut keep_until: impl FnMut(u64)) {
    let oldest = hour_of(now_ms).saturating_sub(RETENTION_HOURS);
    for (key, text) in hours {
        match serde_json::from_str::<HourRecord>(text) {
            Ok(r) if r.hour >= oldest => keep_until((r.hour + RETENTION_HOURS + 1) * HOUR_MS),
            _ => deletes.push(key.clone()),
        }
    }
}

#[cfg(test)]
mod tests;
