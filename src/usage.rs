//! Reading a project's usage (the contract's "Usage"): each of its shards' hours
//! ([`crate::shard::usage`]) merged, for the Account API, the admin API and the console.
//! Reads go through the objects, which answer from memory: what they return is exact at that
//! moment (storage may lag it by up to 10 s, which only a crash can lose).

use crate::app::App;
use crate::error::OAuthError;
use crate::shard::route::{shard_name, SHARDS};
use crate::shard::usage::{hour_of, merge, Counts, LastUsed, ReadUsage, HOUR_MS};
use crate::store::Platform;
use serde_json::{json, Value};

pub const DEFAULT_DAYS: u64 = 30;
pub const MAX_DAYS: u64 = 90;

/// `days` of `?days=N`: 1–90, 30 when absent.
pub fn parse_days(raw: Option<&str>) -> Result<u64, OAuthError> {
    match raw {
        None => Ok(DEFAULT_DAYS),
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=MAX_DAYS).contains(&n) && !s.starts_with('+') => Ok(n),
            _ => Err(OAuthError::field("days", "days is a whole number from 1 to 90")),
        },
    }
}

/// The first hour of a window of `days` days ending with the current hour.
pub fn since_hour(days: u64, now_ms: u64) -> u64 {
    (hour_of(now_ms) + 1).saturating_sub(days * 24)
}

/// The merged hours (only non-zero ones, oldest first) and totals of the last `hours` hours.
pub async fn hours<P: Platform>(app: &App<P>, client_id: &str, since_hour: u64) -> Result<(Vec<(u64, Counts)>, Counts), OAuthError> {
    let mut records = Vec::new();
    for shard in 0..SHARDS {
        records.extend(app.call(&shard_name(client_id, shard), ReadUsage { since_hour }).await?);
    }
    Ok(merge(&records))
}

/// `200 {"client_id", "generated_at", "hours": [...], "totals": {...}}`.
pub async fn report<P: Platform>(app: &App<P>, client_id: &str, days: u64, now_ms: u64) -> Result<Value, OAuthError> {
    let (hours, totals) = hours(app, client_id, since_hour(days, now_ms)).await?;
    Ok(view(client_id, &hours, &totals, now_ms))
}

/// The contract's shape: pure.
pub fn view(client_id: &str, hours: &[(u64, Counts)], totals: &Counts, now_ms: u64) -> Value {
    let hours: Vec<Value> = hours
        .iter()
        .map(|(h, c)| {
            let mut v = json!({ "hour": rfc3339(h * HOUR_MS / 1000) });
            if let (Value::Object(m), Value::Object(f)) = (&mut v, json!(c)) {
                m.extend(f);
            }
            v
        })
        .collect();
    json!({ "client_id": client_id, "generated_at": now_ms / 1000, "hours": hours, "totals": totals })
}

/// The last accepted issuance or validation of the project (unix seconds), from each shard's
/// memory: exact when read (within the contract's 60 s, at no cost to validation).
pub async fn last_used<P: Platform>(app: &App<P>, client_id: &str) -> Result<Option<u64>, OAuthError> {
    let mut last: Option<u64> = None;
    for shard in 0..SHARDS {
        if let Some(ms) = app.call(&shard_name(client_id, shard), LastUsed {}).await? {
            last = Some(last.map_or(ms, |l| l.max(ms)));
        }
    }
    Ok(last.map(|ms| ms / 1000))
}

pub use crate::time::rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_1_to_90_default_30() {
        assert_eq!(parse_days(None).unwrap(), 30);
        assert_eq!(parse_days(Some("1")).unwrap(), 1);
        assert_eq!(parse_days(Some("90")).unwrap(), 90);
        for bad in ["0", "91", "-1", "+5", "x", "", "1.5"] {
            assert!(parse_days(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_window_of_days_ends_with_the_current_hour() {
        let now = 1_000 * HOUR_MS + 59 * 60_000;
        assert_eq!(since_hour(1, now), 1_000 - 23);
        assert_eq!(since_hour(90, now), 0);
        assert_eq!(since_hour(90, 3_000 * HOUR_MS), 3_001 - 90 * 24);
        assert_eq!(since_hour(90, 0), 0);
    }

    #[test]
    fn the_view_lists_each_hour_with_every_field() {
        let c = Counts { validations: 2, ..Counts::default() };
        let v = view("k", &[(491_000, c)], &c, 1_767_600_000_123);
        assert_eq!(v["generated_at"], 1_767_600_000);
        assert_eq!(v["hours"][0]["hour"], rfc3339(491_000 * 3600));
        assert_eq!(v["hours"][0]["validations"], 2);
        assert_eq!(v["hours"][0]["auth_failures"], 0);
        assert_eq!(v["totals"]["validations"], 2);
        assert_eq!(v["client_id"], "k");
    }
}
