//! The client's gate: its state as far as its tokens are concerned. KV is eventually
//! consistent, so KV alone cannot make a deletion, a disable or a rotation take effect at
//! once; every shard of the client keeps this gate, the admin API updates all of them before
//! it answers, and every issue and use of a token passes through it.

use super::keys::{CLIENT_HOLDINGS, GATE_KEY};
use super::usage::{tally, Field, USAGE_KEY};
use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    pub deleted: bool,
    pub disabled: bool,
    /// Tokens obtained with an older secret generation are dead...
    pub min_generation: u32,
    /// ...except this one, until `grace_until_ms` (a rotation's grace period).
    #[serde(default)]
    pub grace_generation: Option<u32>,
    pub grace_until_ms: u64,
    /// A project whose owner (a person) is disabled or deleted: closed like `disabled`, but
    /// set and cleared only by the owner's changes, so that the project's own `disabled`
    /// stays the project's (invariant 10).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owner_disabled: bool,
}

impl Gate {
    pub fn admits(&self, generation: u32, now_ms: u64) -> bool {
        self.open() && (generation >= self.min_generation || (self.grace_generation == Some(generation) && now_ms < self.grace_until_ms))
    }

    /// Is the client alive at all (for API keys, which have no generation)?
    pub fn open(&self) -> bool {
        !self.deleted && !self.disabled && !self.owner_disabled
    }

    /// When a token of `generation`, live until `expires_at_ms`, dies: during a grace period
    /// an older generation dies when the grace ends, if that is sooner.
    pub fn deadline(&self, generation: u32, expires_at_ms: u64) -> u64 {
        if generation < self.min_generation {
            expires_at_ms.min(self.grace_until_ms)
        } else {
            expires_at_ms
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateChange {
    Disable,
    Enable,
    Delete,
    /// The project's owner was disabled (or is being deleted): close, and purge like `Disable`.
    OwnerDisable,
    /// The project's owner was enabled again: reopen for new tokens (nothing old revives).
    OwnerEnable,
    /// The secret is now `generation`; the one before it works until `grace_until_ms` (or not
    /// at all when that is 0).
    Rotate {
        generation: u32,
        grace_until_ms: u64,
    },
}

/// Apply a client-wide change. Idempotent, so the admin API repairs a change that failed part
/// way through the shards by repeating it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeGate {
    pub change: GateChange,
}

impl Op for ChangeGate {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![GATE_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        let mut gate: Gate = loaded.get(GATE_KEY)?.unwrap_or_default();
        match self.change {
            // Disabling deletes the tokens, families, refresh tokens and codes as well as
            // closing the gate, so that re-enabling can never revive them.
            GateChange::Disable => {
                gate.disabled = true;
                fx.purge.extend(CLIENT_HOLDINGS);
            }
            GateChange::Enable => gate.disabled = false,
            GateChange::OwnerDisable => {
                gate.owner_disabled = true;
                fx.purge.extend(CLIENT_HOLDINGS);
            }
            GateChange::OwnerEnable => gate.owner_disabled = false,
            GateChange::Delete => {
                gate.deleted = true;
                fx.purge.extend(CLIENT_HOLDINGS);
            }
            // A retried or out-of-order rotation (not newer than what the gate has) changes
            // nothing: the minimum generation never goes down.
            GateChange::Rotate { generation, grace_until_ms } if generation > gate.min_generation => {
                gate.min_generation = generation;
                let grace = grace_until_ms > now_ms;
                gate.grace_generation = grace.then(|| generation - 1);
                gate.grace_until_ms = grace_until_ms;
                if grace {
                    fx.alarm(grace_until_ms);
                }
            }
            GateChange::Rotate { .. } => {}
        }
        // The gate and the purge land in one batch: no token outlives the change.
        fx.put(GATE_KEY.to_string(), &gate);
        Ok(((), fx))
    }
}

/// Is the client alive? (API-key validation.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// An API key's validation: whether the key has the scopes asked for. Counted in the
    /// project's usage: a validation, `rejected_scope`, or (gate closed) `rejected_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_ok: Option<bool>,
}

impl Op for Check {
    type Reply = bool;
    fn keys(&self) -> Vec<String> {
        match self.scope_ok {
            Some(_) => vec![GATE_KEY.into(), USAGE_KEY.into()],
            None => vec![GATE_KEY.into()],
        }
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(bool, Effects), StoreError> {
        let mut fx = Effects::default();
        let open = loaded.get::<Gate>(GATE_KEY)?.unwrap_or_default().open();
        if let Some(scope_ok) = self.scope_ok {
            let field = match (open, scope_ok) {
                (false, _) => Field::RejectedToken,
                (true, false) => Field::RejectedScope,
                (true, true) => Field::Validations,
            };
            tally(loaded, &mut fx, &[field], now_ms)?;
        }
        Ok((open, fx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Checked;

    fn change(gate: &Gate, change: GateChange, now: u64) -> (Gate, Effects) {
        let loaded = Loaded::default().with(GATE_KEY, gate);
        let ((), fx) = ChangeGate { change }.checked(&loaded, now).unwrap();
        let (_, text) = fx.puts.iter().find(|(k, _)| k == GATE_KEY).expect("the gate is written");
        (serde_json::from_str(text).unwrap(), fx)
    }

    #[test]
    fn admits_by_state_and_generation() {
        let g = Gate { min_generation: 2, grace_generation: Some(1), grace_until_ms: 100, ..Gate::default() };
        let cases = [(2, 0, true), (3, 0, true), (1, 99, true), (1, 100, false), (0, 0, false)];
        for (generation, now, admitted) in cases {
            assert_eq!(g.admits(generation, now), admitted, "generation {generation} at {now}");
        }
        assert!(!Gate { disabled: true, ..Gate::default() }.admits(0, 0));
        assert!(!Gate { deleted: true, ..Gate::default() }.admits(0, 0));
        assert!(!Gate { owner_disabled: true, ..Gate::default() }.admits(0, 0));
    }

    #[test]
    fn an_owner_change_is_independent_of_the_project_own_disable() {
        // (before, change) -> (disabled, owner_disabled, purged)
        let cases = [
            (Gate::default(), GateChange::OwnerDisable, (false, true, true)),
            (Gate { owner_disabled: true, ..Gate::default() }, GateChange::OwnerEnable, (false, false, false)),
            (Gate { disabled: true, owner_disabled: true, ..Gate::default() }, GateChange::OwnerEnable, (true, false, false)),
            (Gate { disabled: true, owner_disabled: true, ..Gate::default() }, GateChange::Enable, (false, true, false)),
            (Gate { disabled: true, ..Gate::default() }, GateChange::OwnerDisable, (true, true, true)),
        ];
        for (before, c, (disabled, owner_disabled, purged)) in cases {
            let (after, fx) = change(&before, c.clone(), 0);
            assert_eq!((after.disabled, after.owner_disabled, !fx.purge.is_empty()), (disabled, owner_disabled, purged), "{before:?} {c:?}");
            assert_eq!(after.open(), !disabled && !owner_disabled);
        }
        // A gate written before the field existed reads as not owner-disabled.
        let old: Gate = serde_json::from_str(r#"{"deleted":false,"disabled":false,"min_generation":0,"grace_until_ms":0}"#).unwrap();
        assert!(old.open());
    }

    #[test]
    fn changes() {
        let open = Gate::default();
        let (g, fx) = change(&open, GateChange::Disable, 0);
        assert!(g.disabled && fx.purge == CLIENT_HOLDINGS, "disabling purges the tokens, families and codes");
        let (g, fx) = change(&g, GateChange::Enable, 0);
        assert!(!g.disabled && fx.purge.is_empty(), "enabling revives nothing and purges nothing");
        let (g, fx) = change(&open, GateChange::Delete, 0);
        assert!(g.deleted && fx.purge == CLIENT_HOLDINGS);
        assert_eq!(CLIENT_HOLDINGS, ["t:", "f:", "r:", "a:", "d:", "m:"]);

        let (g, fx) = change(&open, GateChange::Rotate { generation: 1, grace_until_ms: 5_000 }, 1_000);
        assert_eq!((g.min_generation, g.grace_generation, g.grace_until_ms), (1, Some(0), 5_000));
        assert_eq!(fx.alarm_by, Some(5_000), "the sweep runs when the grace ends");
        let (g, fx) = change(&open, GateChange::Rotate { generation: 1, grace_until_ms: 0 }, 1_000);
        assert_eq!((g.min_generation, g.grace_generation), (1, None));
        assert_eq!(fx.alarm_by, None);
        // A grace that ends now is no grace.
        let (g, fx) = change(&open, GateChange::Rotate { generation: 1, grace_until_ms: 1_000 }, 1_000);
        assert_eq!((g.min_generation, g.grace_generation, fx.alarm_by), (1, None, None));
    }

    #[test]
    fn an_older_rotation_never_lowers_the_minimum_generation() {
        let g = Gate { min_generation: 5, grace_generation: Some(4), grace_until_ms: 9_000, ..Gate::default() };
        for generation in [3, 4, 5] {
            let (after, _) = change(&g, GateChange::Rotate { generation, grace_until_ms: 20_000 }, 1_000);
            assert_eq!(after, g, "rotation to {generation} is not newer");
        }
        let (after, _) = change(&g, GateChange::Rotate { generation: 6, grace_until_ms: 0 }, 1_000);
        assert_eq!(after.min_generation, 6);
    }

    #[test]
    fn check() {
        let alive = |g: &Gate| Check { scope_ok: None }.checked(&Loaded::default().with(GATE_KEY, g), 0).unwrap().0;
        assert!(alive(&Gate::default()));
        assert!(alive(&Gate { min_generation: 3, ..Gate::default() }), "a rotation does not close API keys");
        assert!(!alive(&Gate { disabled: true, ..Gate::default() }));
        assert!(!alive(&Gate { deleted: true, ..Gate::default() }));
        assert!(!alive(&Gate { owner_disabled: true, ..Gate::default() }), "an owner's disable closes API keys");
        assert!(Check { scope_ok: None }.checked(&Loaded::default(), 0).unwrap().0, "no gate yet: open");
    }
}
