//! Initial access tokens for dynamic client registration (RFC 7591 §3: "the authorization
//! server MAY require an initial access token"). They live in one Durable Object, [`OBJECT`]
//! (class `TokenShard`), by the SHA-256 of their value (`i:{hash}`): a use is counted by that
//! one writer in one step, so `max_uses` holds under any concurrency.
//!
//! The object's name cannot clash with any other object of the class: token shards and the
//! counters of an address are `{owner}/{n}` (their names always hold a `/`), device flows are
//! `device:{CODE}`; [`OBJECT`] has no `/` and another prefix.
//!
//! Clean-up: expired tokens are deleted whenever the admin lists tokens or makes a new one, and
//! when one is presented (no alarm: the object's alarm belongs to the shard sweep, and the
//! records are few and small). Every expiry is enforced by the time check of each use anyway.

use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};

/// The one object holding every initial access token.
pub const OBJECT: &str = "registration-tokens";
pub const PREFIX: &str = "i:";

pub fn token_key(hash: &SecretHash) -> String {
    format!("{PREFIX}{}", hash.as_str())
}

/// One initial access token (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationToken {
    pub id: String,
    pub created_ms: u64,
    pub expires_ms: u64,
    pub max_uses: u32,
    pub uses: u32,
}

impl RegistrationToken {
    pub fn expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expires_ms
    }
}

/// Every live token (in key order); the expired ones are deleted in `fx`.
fn live(loaded: &Loaded, fx: &mut Effects, now_ms: u64) -> Result<Vec<RegistrationToken>, StoreError> {
    let mut out = Vec::new();
    for (key, t) in loaded.under::<RegistrationToken>(PREFIX)? {
        if t.expired(now_ms) {
            fx.delete(key);
        } else {
            out.push(t);
        }
    }
    Ok(out)
}

/// Store a new token (and delete the expired ones). `false` only if its hash is already
/// stored, which 256 random bits make impossible in practice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateToken {
    pub hash: SecretHash,
    pub record: RegistrationToken,
}

impl Op for CreateToken {
    type Reply = bool;
    fn keys(&self) -> Vec<String> {
        Vec::new()
    }
    fn prefixes(&self) -> Vec<String> {
        vec![PREFIX.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(bool, Effects), StoreError> {
        let mut fx = Effects::default();
        let key = token_key(&self.hash);
        if loaded.get::<RegistrationToken>(&key)?.is_some() {
            return Ok((false, Effects::default()));
        }
        live(loaded, &mut fx, now_ms)?;
        fx.put(key, &self.record);
        Ok((true, fx))
    }
}

/// Every live token (and the expired ones deleted). The admin API sorts them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListTokens {}

impl Op for ListTokens {
    type Reply = Vec<RegistrationToken>;
    fn keys(&self) -> Vec<String> {
        Vec::new()
    }
    fn prefixes(&self) -> Vec<String> {
        vec![PREFIX.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Self::Reply, Effects), StoreError> {
        let mut fx = Effects::default();
        let tokens = live(loaded, &mut fx, now_ms)?;
        Ok((tokens, fx))
    }
}

/// Delete the token with this id; `false` when there is none (an expired one counts as none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteToken {
    pub id: String,
}

impl Op for DeleteToken {
    type Reply = bool;
    fn keys(&self) -> Vec<String> {
        Vec::new()
    }
    fn prefixes(&self) -> Vec<String> {
        vec![PREFIX.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(bool, Effects), StoreError> {
        let mut fx = Effects::default();
        let found = loaded.under::<RegistrationToken>(PREFIX)?.into_iter().find(|(_, t)| t.id == self.id);
        match found {
            Some((key, t)) => {
                fx.delete(key);
                Ok((!t.expired(now_ms), fx))
            }
            None => Ok((false, fx)),
        }
    }
}

/// What presenting a token at `/register` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Use {
    /// One use was counted: the registration may proceed.
    Used,
    Unknown,
    Expired,
    UsedUp,
}

/// Count one use of a token, if it has one left. The caller validated the registration first:
/// a request answered `400` never gets here, so it uses nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UseToken {
    pub hash: SecretHash,
}

impl Op for UseToken {
    type Reply = Use;
    fn keys(&self) -> Vec<String> {
        vec![token_key(&self.hash)]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Use, Effects), StoreError> {
        let mut fx = Effects::default();
        let key = token_key(&self.hash);
        let Some(mut t) = loaded.get::<RegistrationToken>(&key)? else { return Ok((Use::Unknown, fx)) };
        if t.expired(now_ms) {
            fx.delete(key);
            return Ok((Use::Expired, fx));
        }
        if t.uses >= t.max_uses {
            return Ok((Use::UsedUp, fx));
        }
        t.uses += 1;
        fx.put(key, &t);
        Ok((Use::Used, fx))
    }
}

/// Give back a use counted by [`UseToken`] when the registration then failed on our side
/// (storing the client): a 5xx changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnUse {
    pub hash: SecretHash,
}

impl Op for ReturnUse {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![token_key(&self.hash)]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        let key = token_key(&self.hash);
        if let Some(mut t) = loaded.get::<RegistrationToken>(&key)?.filter(|t| t.uses > 0) {
            t.uses -= 1;
            fx.put(key, &t);
        }
        Ok(((), fx))
    }
}

#[cfg(test)]
mod tests;
