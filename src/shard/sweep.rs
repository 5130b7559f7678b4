//! The alarm. Every expiry is enforced by the time checks of each read; the alarm only cleans
//! up: it deletes every token that has expired or whose client no longer admits it and every
//! stale counter, then re-arms for the earliest remaining deadline.

use super::counters::{Counter, COUNTER_PREFIX};
use super::gate::{Gate, GATE_KEY};
use super::tokens::{TokenRecord, TOKEN_PREFIX};
use super::{decode, ShardStorage};
use crate::error::StoreError;

/// Sweep one shard. Returns how many entries were deleted.
pub async fn sweep<S: ShardStorage>(s: &S, now_ms: u64) -> Result<usize, StoreError> {
    let gate: Gate = match s.get(&[GATE_KEY.to_string()]).await?.pop() {
        Some((key, text)) => decode(&key, &text)?,
        None => Gate::default(),
    };
    let tokens = s.list(TOKEN_PREFIX).await?;
    let counters = s.list(COUNTER_PREFIX).await?;
    let (deletes, next) = plan_sweep(&gate, &tokens, &counters, now_ms);
    if !deletes.is_empty() {
        s.commit(&[], &deletes).await?;
    }
    if let Some(at) = next {
        s.set_alarm(at).await?;
    }
    Ok(deletes.len())
}

/// Which entries a sweep deletes, and when the next alarm is due: pure.
pub fn plan_sweep(gate: &Gate, tokens: &[(String, String)], counters: &[(String, String)], now_ms: u64) -> (Vec<String>, Option<u64>) {
    let mut deletes = Vec::new();
    let mut next: Option<u64> = None;
    let mut keep_until = |at: u64| next = Some(next.map_or(at, |n: u64| n.min(at)));
    for (key, text) in tokens {
        // A record that does not parse can never validate: it goes too.
        match serde_json::from_str::<TokenRecord>(text) {
            Ok(r) if r.is_live(now_ms) && gate.admits(r.generation, now_ms) => {
                keep_until(gate.deadline(r.generation, r.expires_at_ms()));
            }
            _ => deletes.push(key.clone()),
        }
    }
    for (key, text) in counters {
        match serde_json::from_str::<Counter>(text) {
            Ok(c) if now_ms < c.stale_at_ms() => keep_until(c.stale_at_ms()),
            _ => deletes.push(key.clone()),
        }
    }
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

    fn counter(window_start_ms: u64, window_ms: u64) -> String {
        to_json(&Counter { window_start_ms, count: 3, previous: 0, window_ms })
    }

    #[test]
    fn deletes_the_dead_and_rearms_for_the_earliest_deadline() {
        let gate = Gate::default();
        let tokens = vec![
            ("t:live".to_string(), token(0, 0, 10)),    // dies at 10 s
            ("t:later".to_string(), token(0, 5_000, 10)), // dies at 15 s
            ("t:dead".to_string(), token(0, 0, 1)),     // died at 1 s
            ("t:corrupt".to_string(), "{".to_string()),
        ];
        let (deletes, next) = plan_sweep(&gate, &tokens, &[], 2_000);
        assert_eq!(deletes, vec!["t:dead", "t:corrupt"]);
        assert_eq!(next, Some(10_000));
    }

    #[test]
    fn honours_the_end_of_a_grace_period() {
        // Generation 0 lives on until 5 s by grace, although its token would live to 60 s.
        let gate = Gate { min_generation: 1, grace_generation: Some(0), grace_until_ms: 5_000, ..Gate::default() };
        let tokens = vec![("t:old".to_string(), token(0, 0, 60)), ("t:new".to_string(), token(1, 0, 60))];
        let (deletes, next) = plan_sweep(&gate, &tokens, &[], 1_000);
        assert!(deletes.is_empty());
        assert_eq!(next, Some(5_000), "the sweep comes back when the grace ends");
        let (deletes, next) = plan_sweep(&gate, &tokens, &[], 5_000);
        assert_eq!(deletes, vec!["t:old"]);
        assert_eq!(next, Some(60_000));
    }

    #[test]
    fn a_closed_gate_sweeps_every_token() {
        let gate = Gate { disabled: true, ..Gate::default() };
        let tokens = vec![("t:a".to_string(), token(0, 0, 60))];
        assert_eq!(plan_sweep(&gate, &tokens, &[], 0), (vec!["t:a".to_string()], None));
    }

    #[test]
    fn deletes_stale_counters_and_keeps_fresh_ones() {
        let counters = vec![
            ("c:stale".to_string(), counter(0, 1_000)),   // stale at 2 s
            ("c:fresh".to_string(), counter(2_000, 1_000)), // stale at 4 s
            ("c:corrupt".to_string(), "[]".to_string()),
        ];
        let (deletes, next) = plan_sweep(&Gate::default(), &[], &counters, 2_000);
        assert_eq!(deletes, vec!["c:stale", "c:corrupt"]);
        assert_eq!(next, Some(4_000));
        let (deletes, next) = plan_sweep(&Gate::default(), &[], &counters, 1_999);
        assert_eq!(deletes, vec!["c:corrupt"], "a counter is kept until the moment it is stale");
        assert_eq!(next, Some(2_000));
    }

    #[test]
    fn fixed_expiry_tokens_are_swept_on_time() {
        let c = Client::new("c".into(), Settings { token_ttl: 5, expiry: Expiry::Fixed, ..Settings::default() }, &ClientSecret::new("s"), 0);
        let mut r = TokenRecord::new(&c, 0, vec![], None, 0);
        r.touch(4_000);
        let tokens = vec![("t:f".to_string(), to_json(&r))];
        assert_eq!(plan_sweep(&Gate::default(), &tokens, &[], 4_999).1, Some(5_000));
        assert_eq!(plan_sweep(&Gate::default(), &tokens, &[], 5_000).0, vec!["t:f"]);
    }
}
