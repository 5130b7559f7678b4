//! Counting for abuse control: failed client authentications (RFC 6749 §2.3.1 asks for
//! brute-force protection) and per-client request rates on `/validate` (seed 002's
//! rate-limiting policy; `docs/http.md#validation`, `docs/security.md#abuse-control`).
//! Counters live in shards (`c:{name}`), next to what they protect.

use super::usage::{tally, Field, USAGE_KEY};
use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use serde::{Deserialize, Serialize};

pub const COUNTER_PREFIX: &str = "c:";

fn counter_key(name: &str) -> String {
    format!("{COUNTER_PREFIX}{name}")
}

/// One counter: the current window and the count of the one before it. `hit` approximates a
/// sliding window by weighting the previous window's count by how much of it still overlaps
/// (the method Cloudflare's own rate limiting uses), so a burst at a window boundary cannot
/// double the limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub window_start_ms: u64,
    pub count: u64,
    pub previous: u64,
    /// The window of the latest `hit`, so the sweep knows when the counter is stale.
    #[serde(default)]
    pub window_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    /// Seconds until a request would be allowed again (when not allowed).
    pub retry_after_s: u64,
}

impl Counter {
    /// Move the window forward to the one containing `now_ms`.
    fn roll(&mut self, now_ms: u64, window_ms: u64) {
        let window_ms = window_ms.max(1);
        let start = now_ms - now_ms % window_ms;
        if start == self.window_start_ms {
            return;
        }
        self.previous = if start == self.window_start_ms + window_ms { self.count } else { 0 };
        self.count = 0;
        self.window_start_ms = start;
    }

    /// The sliding-window estimate of events in the last `window_ms`.
    fn estimate(&self, now_ms: u64, window_ms: u64) -> u64 {
        let elapsed = now_ms.saturating_sub(self.window_start_ms).min(window_ms);
        let weight_left = window_ms - elapsed;
        self.count + (self.previous * weight_left).div_ceil(window_ms.max(1))
    }

    /// Record one event; allowed while the estimate, this event included, is within `limit`.
    /// A refused event is still counted for failures (`count_refused`), so an attacker who
    /// keeps trying stays blocked; for rate limits it is not, so a well-behaved client that
    /// backs off recovers on schedule.
    pub fn hit(&mut self, now_ms: u64, window_ms: u64, limit: u64, count_refused: bool) -> Decision {
        let window_ms = window_ms.max(1);
        self.window_ms = window_ms;
        self.roll(now_ms, window_ms);
        let allowed = self.estimate(now_ms, window_ms) < limit;
        if allowed || count_refused {
            self.count += 1;
        }
        if allowed {
            return Decision { allowed, retry_after_s: 0 };
        }
        // The estimate drops below the limit once enough of the previous window has slid out,
        // or at the latest when the next window starts (then only `count` remains, and the
        // one after that clears it).
        let window_end = self.window_start_ms + window_ms;
        let retry_ms = if self.count < limit { window_end - now_ms } else { window_end + window_ms - now_ms };
        Decision { allowed, retry_after_s: retry_ms.div_ceil(1000).max(1) }
    }

    /// When the counter stops mattering: two windows after its current one started.
    pub fn stale_at_ms(&self) -> u64 {
        self.window_start_ms + 2 * self.window_ms
    }
}

/// Count one event on the named counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub name: String,
    pub window_ms: u64,
    pub limit: u64,
    /// Whether a refused event counts too (failures: yes; rate limits: no).
    pub count_refused: bool,
    /// A project's counter: also count the event in its usage ([`super::usage`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageOf>,
}

/// What a counter's event is in a project's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageOf {
    /// A failed client authentication (`auth_failures`; a refusal is also `rate_limited`).
    Failure,
    /// An accepted validation under the rate limit: a refusal is `rate_limited`, and the
    /// validation the shard counted is taken back.
    Rate,
}

impl Op for Count {
    type Reply = Decision;
    fn keys(&self) -> Vec<String> {
        let mut keys = vec![counter_key(&self.name)];
        if self.usage.is_some() {
            keys.push(USAGE_KEY.into());
        }
        keys
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Decision, Effects), StoreError> {
        let mut fx = Effects::default();
        let key = counter_key(&self.name);
        let mut counter: Counter = loaded.get(&key)?.unwrap_or_default();
        let decision = counter.hit(now_ms, self.window_ms, self.limit, self.count_refused);
        // The sweep deletes the counter once it no longer matters.
        fx.alarm(counter.stale_at_ms());
        fx.put(key, &counter);
        let fields: &[Field] = match (self.usage, decision.allowed) {
            (None, _) | (Some(UsageOf::Rate), true) => &[],
            (Some(UsageOf::Failure), true) => &[Field::AuthFailures],
            (Some(UsageOf::Failure), false) => &[Field::AuthFailures, Field::RateLimited],
            (Some(UsageOf::Rate), false) => &[Field::RateLimited, Field::Unvalidated],
        };
        if !fields.is_empty() {
            // Written with the counter, in the same batch.
            tally(loaded, &mut fx, fields, now_ms)?;
        }
        Ok((decision, fx))
    }
}

/// Would one more event be allowed? Reads, never counts (a sign-in checks before it spends
/// the PBKDF2 work).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peek {
    pub name: String,
    pub window_ms: u64,
    pub limit: u64,
}

impl Op for Peek {
    type Reply = Decision;
    fn keys(&self) -> Vec<String> {
        vec![counter_key(&self.name)]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Decision, Effects), StoreError> {
        let mut counter: Counter = loaded.get(&counter_key(&self.name))?.unwrap_or_default();
        Ok((counter.hit(now_ms, self.window_ms, self.limit, false), Effects::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Checked;

    #[test]
    fn allows_up_to_the_limit_then_refuses_until_the_window_passes() {
        let mut c = Counter::default();
        let w = 60_000;
        for i in 0..5 {
            assert!(c.hit(1_000 + i, w, 5, true).allowed, "hit {i}");
        }
        let d = c.hit(2_000, w, 5, true);
        assert!(!d.allowed);
        // This window holds 6 (the refused one counted too): at the next window's start they
        // still weigh fully, so the latest sure time is the end of the next window.
        assert_eq!(d.retry_after_s, 118, "{d:?}");
        // The same with exactly the limit in this window (a refused rate-limited request is not
        // counted): the next window's start is not enough either.
        let mut r = Counter::default();
        for i in 0..5 {
            assert!(r.hit(1_000 + i, w, 5, false).allowed);
        }
        assert_eq!(r.hit(2_000, w, 5, false), Decision { allowed: false, retry_after_s: 118 });
        // Still refused right after the window rolls (the previous window weighs in)...
        assert!(!c.hit(60_500, w, 5, false).allowed);
        // ...and allowed once it has slid out.
        assert!(c.hit(125_000, w, 5, false).allowed);
    }

    #[test]
    fn sliding_estimate_blocks_boundary_bursts() {
        let mut c = Counter::default();
        let w = 60_000;
        for _ in 0..10 {
            assert!(c.hit(59_000, w, 10, false).allowed);
        }
        // Just after the boundary the previous 10 still count almost fully; this window holds
        // none, so by its end they have slid out: retry in the 59 s left of it.
        let d = c.hit(61_000, w, 10, false);
        assert_eq!((d.allowed, d.retry_after_s), (false, 59));
        // Half-way through the next window, half of them have slid out.
        let allowed = (0..10).filter(|_| c.hit(90_000, w, 10, false).allowed).count();
        assert_eq!(allowed, 5);
    }

    #[test]
    fn refused_rate_limited_requests_are_not_counted() {
        let mut c = Counter::default();
        for _ in 0..3 {
            c.hit(0, 60_000, 3, false);
        }
        for _ in 0..100 {
            assert!(!c.hit(1_000, 60_000, 3, false).allowed);
        }
        assert_eq!(c.count, 3);
        assert!(c.hit(120_000, 60_000, 3, false).allowed, "recovers two windows later at most");
    }

    #[test]
    fn count_op_persists_and_asks_for_the_sweep() {
        let op = |limit| Count { name: "f".into(), window_ms: 1_000, limit, count_refused: true, usage: None };
        let (d, fx) = op(2).checked(&Loaded::default(), 500).unwrap();
        assert!(d.allowed);
        assert_eq!(fx.alarm_by, Some(2_000));
        let (key, text) = &fx.puts[0];
        assert_eq!(key, "c:f");
        let stored: Counter = serde_json::from_str(text).unwrap();
        assert_eq!(stored.count, 1);
        let loaded = Loaded::default().with("c:f", &Counter { count: 2, ..stored });
        let (d, _) = op(2).checked(&loaded, 600).unwrap();
        assert!(!d.allowed && d.retry_after_s >= 1);
    }

    #[test]
    fn peek_reads_and_never_counts() {
        let peek = Peek { name: "f".into(), window_ms: 1_000, limit: 2 };
        let (d, fx) = peek.clone().checked(&Loaded::default(), 0).unwrap();
        assert!(d.allowed && fx == Effects::default());
        let full = Loaded::default().with("c:f", &Counter { window_start_ms: 0, count: 2, previous: 0, window_ms: 1_000 });
        let (d, fx) = peek.checked(&full, 10).unwrap();
        assert!(!d.allowed && d.retry_after_s >= 1);
        assert_eq!(fx, Effects::default());
    }

    #[test]
    fn staleness() {
        let mut c = Counter::default();
        c.hit(0, 1_000, 1, true);
        assert_eq!(c.stale_at_ms(), 2_000);
    }
}
