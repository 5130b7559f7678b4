//! Families: everything issued from one authorization of one client by one person (its access
//! tokens and its chain of refresh tokens), kept in the shard of that (client, user), so that
//! killing a family with all its tokens is one local step. And the user gate: the lowest epoch
//! of that user this shard still accepts, raised by every kill.

use super::tokens::token_key;
use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};

pub const FAMILY_PREFIX: &str = "f:";
pub const REFRESH_PREFIX: &str = "r:";
pub const USER_GATE_PREFIX: &str = "u:";

/// `f:{user_id}:{family_id}`.
pub fn family_key(id: &str) -> String {
    format!("{FAMILY_PREFIX}{id}")
}

pub fn refresh_key(hash: &SecretHash) -> String {
    format!("{REFRESH_PREFIX}{}", hash.as_str())
}

pub fn user_gate_key(user_id: &str) -> String {
    format!("{USER_GATE_PREFIX}{user_id}")
}

/// Every family of one user in a shard.
pub fn user_families_prefix(user_id: &str) -> String {
    format!("{FAMILY_PREFIX}{user_id}:")
}

/// The lowest epoch of a user this shard accepts. Raised by every kill, never lowered: what was
/// made before a kill cannot be redeemed after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserGate {
    pub min_epoch: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Family {
    pub client_id: String,
    pub user_id: String,
    pub username: String,
    /// What the person authorized; a refresh may narrow its access token, never this.
    pub scope: Vec<String>,
    /// The resources authorized (RFC 8707); each access token is for these or some of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    pub created_ms: u64,
    /// `refresh_token_ttl` after the authorization: the family and all it issued end here.
    pub expires_ms: u64,
    pub epoch: u32,
    /// Its access tokens that may still live, with when each is dead at the latest.
    pub access: Vec<(SecretHash, u64)>,
    /// Its refresh-token chain, when the client has the refresh grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshChain>,
}

/// The refresh tokens of a family. Every rotated-away token keeps a record (`r:{hash}`)
/// pointing here, so that presenting any of them again is recognised as reuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshChain {
    /// The one live refresh token.
    pub current: SecretHash,
    /// The token just rotated away, for the retry window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Rotated>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotated {
    pub hash: SecretHash,
    pub rotated_ms: u64,
    /// Its successor (the current token), encrypted under the rotated token itself: only a
    /// holder of the rotated token can read it; replaced at the next rotation, and honoured
    /// only within the retry window.
    pub successor: String,
}

/// What an `r:{hash}` record says: which family the refresh token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub family: String,
}

impl Family {
    pub fn is_live(&self, now_ms: u64) -> bool {
        now_ms < self.expires_ms
    }

    /// Remember a new access token (and forget those that are dead anyway).
    pub fn add_access(&mut self, hash: SecretHash, dead_by_ms: u64, now_ms: u64) {
        self.access.retain(|(_, dead)| *dead > now_ms);
        self.access.push((hash, dead_by_ms));
    }
}

/// Kill a family in `fx`: the family record, every access token it issued, and the records of
/// its live refresh tokens (older rotated-away records point to nothing now; the sweep takes
/// them).
pub fn kill(fx: &mut Effects, id: &str, family: &Family) {
    fx.delete(family_key(id));
    for (hash, _) in &family.access {
        fx.delete(token_key(hash));
    }
    if let Some(chain) = &family.refresh {
        fx.delete(refresh_key(&chain.current));
        if let Some(p) = &chain.previous {
            fx.delete(refresh_key(&p.hash));
        }
    }
}

/// A user was disabled or deleted, or its grant to this client revoked: raise the user gate to
/// `epoch` and kill every family of the user here, at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillUser {
    pub user_id: String,
    pub epoch: u32,
}

impl Op for KillUser {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![user_gate_key(&self.user_id)]
    }
    fn prefixes(&self) -> Vec<String> {
        vec![user_families_prefix(&self.user_id)]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        let key = user_gate_key(&self.user_id);
        let gate: UserGate = loaded.get(&key)?.unwrap_or_default();
        fx.put(key, &UserGate { min_epoch: gate.min_epoch.max(self.epoch) });
        for (key, family) in loaded.under::<Family>(&user_families_prefix(&self.user_id))? {
            kill(&mut fx, &key[FAMILY_PREFIX.len()..], &family);
        }
        Ok(((), fx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Checked;

    fn family(user: &str, access: &[&str]) -> Family {
        Family {
            client_id: "c".into(),
            user_id: user.into(),
            username: "alice".into(),
            scope: vec![],
            resources: vec![],
            created_ms: 0,
            expires_ms: 1_000,
            epoch: 1,
            access: access.iter().map(|t| (SecretHash::of(t), 500)).collect(),
            refresh: Some(RefreshChain {
                current: SecretHash::of("r2"),
                previous: Some(Rotated { hash: SecretHash::of("r1"), rotated_ms: 0, successor: "x".into() }),
            }),
        }
    }

    #[test]
    fn kill_user_kills_its_families_with_their_tokens_and_raises_the_gate() {
        let loaded = Loaded::default()
            .with(family_key("u1:f1"), &family("u1", &["a1", "a2"]))
            .with(family_key("u1:f2"), &family("u1", &["a3"]))
            .with(family_key("u10:f3"), &family("u10", &["a4"]))
            .with(user_gate_key("u1"), &UserGate { min_epoch: 2 });
        let op = KillUser { user_id: "u1".into(), epoch: 5 };
        assert_eq!(op.prefixes(), vec!["f:u1:"], "the prefix ends with ':' so u10 is not u1");
        let ((), fx) = op.checked(&loaded, 0).unwrap();
        for gone in ["f:u1:f1", "f:u1:f2"] {
            assert!(fx.deletes.contains(&gone.to_string()), "{gone}");
        }
        for t in ["a1", "a2", "a3"] {
            assert!(fx.deletes.contains(&token_key(&SecretHash::of(t))), "{t}");
        }
        assert!(fx.deletes.contains(&refresh_key(&SecretHash::of("r1"))) && fx.deletes.contains(&refresh_key(&SecretHash::of("r2"))));
        assert!(!fx.deletes.contains(&token_key(&SecretHash::of("a4"))) && !fx.deletes.contains(&"f:u10:f3".to_string()));
        assert_eq!(fx.puts, vec![(user_gate_key("u1"), r#"{"min_epoch":5}"#.to_string())]);
        // The gate never goes down.
        let ((), fx) = KillUser { user_id: "u1".into(), epoch: 1 }.checked(&loaded, 0).unwrap();
        assert_eq!(fx.puts, vec![(user_gate_key("u1"), r#"{"min_epoch":2}"#.to_string())]);
    }

    #[test]
    fn access_list_forgets_the_dead() {
        let mut f = family("u", &["a"]);
        f.add_access(SecretHash::of("b"), 900, 499);
        assert_eq!(f.access.len(), 2);
        f.add_access(SecretHash::of("c"), 900, 500);
        assert_eq!(f.access.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>(), vec![SecretHash::of("b"), SecretHash::of("c")]);
        assert!(f.is_live(999) && !f.is_live(1_000));
    }
}

/// A token exchange whose subject is one of our users (RFC 8693): a family of its own in the
/// user's shard of the acting client, so that a kill of the user reaches it like any other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueExchanged {
    pub user_id: String,
    pub username: String,
    pub epoch: u32,
    pub principal: super::tokens::Principal,
    pub not_after_ms: u64,
    pub scope: Vec<String>,
    pub tokens: super::codes::NewTokens,
}

impl Op for IssueExchanged {
    type Reply = super::codes::Redeemed;
    fn keys(&self) -> Vec<String> {
        vec![super::gate::GATE_KEY.into(), user_gate_key(&self.user_id)]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Self::Reply, Effects), StoreError> {
        use super::codes::{new_family_for, Redeemed};
        let mut fx = Effects::default();
        let gate: super::gate::Gate = loaded.get(super::gate::GATE_KEY)?.unwrap_or_default();
        let user: UserGate = loaded.get(&user_gate_key(&self.user_id))?.unwrap_or_default();
        if self.epoch < user.min_epoch {
            return Ok((Redeemed::InvalidGrant, fx));
        }
        if !gate.admits(self.tokens.template.generation, now_ms) {
            return Ok((Redeemed::ClientGone, fx));
        }
        let who = (self.user_id.as_str(), self.username.as_str());
        let authorized = super::codes::Authorized { scope: self.scope, resources: Vec::new() };
        let issued = new_family_for(&mut fx, who, self.principal, Some(self.not_after_ms), authorized, self.epoch, self.tokens, now_ms);
        // Token exchange names no resource (`invalid_target` before it gets here).
        Ok((issued.map_or(Redeemed::InvalidTarget, Redeemed::Issued), fx))
    }
}
