//! Authorization codes (RFC 6749 §4.1.2), kept by hash in the shard where the tokens they
//! yield will live. A code lives 60 s and is redeemed once, in one step that also creates the
//! family and its first tokens; a used code is remembered for ten minutes more, so that a
//! replay kills everything it issued (§4.1.2: "SHOULD revoke").

use super::families::{kill, Family, UserGate};
use super::gate::Gate;
use super::keys::{code_key, family_key, user_gate_key, GATE_KEY};
use super::start::{new_family, Authorized, NewTokens, Redeemed};
use super::usage::{tally, Field, USAGE_KEY};
use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

pub const CODE_TTL_MS: u64 = 60_000;
pub const CODE_KEEP_MS: u64 = 600_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRecord {
    pub client_id: String,
    pub user_id: String,
    pub username: String,
    pub scope: Vec<String>,
    /// The redirect URI the code was sent to...
    pub redirect_uri: String,
    /// ...and whether the request named it (then `/token` must name it too: §4.1.3).
    pub redirect_uri_sent: bool,
    /// The PKCE S256 challenge; every code has one.
    pub challenge: String,
    /// The resources authorized at `/authorize` (RFC 8707).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    pub created_ms: u64,
    /// The user's epoch when the person approved.
    pub epoch: u32,
    /// After redemption: the family it created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
}

/// Why a code (or a device approval) was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    Stored,
    /// The client is disabled or deleted.
    ClientGone,
    /// The user was killed (disabled, deleted, grant revoked) since the approval was read.
    UserGone,
}

/// Store a code after the person approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueCode {
    pub hash: SecretHash,
    pub record: CodeRecord,
}

impl Op for IssueCode {
    type Reply = Stored;
    fn keys(&self) -> Vec<String> {
        vec![GATE_KEY.into(), user_gate_key(&self.record.user_id)]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Stored, Effects), StoreError> {
        let mut fx = Effects::default();
        let gate: Gate = loaded.get(GATE_KEY)?.unwrap_or_default();
        let user: UserGate = loaded.get(&user_gate_key(&self.record.user_id))?.unwrap_or_default();
        if !gate.open() {
            return Ok((Stored::ClientGone, fx));
        }
        if self.record.epoch < user.min_epoch {
            return Ok((Stored::UserGone, fx));
        }
        fx.alarm(self.record.created_ms + CODE_KEEP_MS);
        fx.put(code_key(&self.hash), &self.record);
        Ok((Stored::Stored, fx))
    }
}

/// Redeem a code at `/token` (RFC 6749 §4.1.3, RFC 7636 §4.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemCode {
    pub hash: SecretHash,
    pub client_id: String,
    /// The secret generation the client authenticated with now.
    pub generation: u32,
    /// `redirect_uri` of the token request.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// S256 of the presented `code_verifier` (empty when none was presented).
    pub challenge: String,
    pub tokens: NewTokens,
}

impl Op for RedeemCode {
    type Reply = Redeemed;
    fn keys(&self) -> Vec<String> {
        vec![GATE_KEY.into(), code_key(&self.hash), USAGE_KEY.into()]
    }
    fn more_keys(&self, loaded: &Loaded) -> Result<Vec<String>, StoreError> {
        Ok(match loaded.get::<CodeRecord>(&code_key(&self.hash))? {
            Some(c) => std::iter::once(user_gate_key(&c.user_id)).chain(c.used_by.as_deref().map(family_key)).collect(),
            None => Vec::new(),
        })
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Redeemed, Effects), StoreError> {
        let mut fx = Effects::default();
        let key = code_key(&self.hash);
        let Some(mut code) = loaded.get::<CodeRecord>(&key)? else { return Ok((Redeemed::InvalidGrant, fx)) };
        // A second use: refused, and everything the first one issued dies (§4.1.2).
        if let Some(id) = &code.used_by {
            if let Some(family) = loaded.get::<Family>(&family_key(id))? {
                kill(&mut fx, id, &family);
            }
            return Ok((Redeemed::InvalidGrant, fx));
        }
        if now_ms >= code.created_ms + CODE_TTL_MS {
            fx.delete(key);
            return Ok((Redeemed::InvalidGrant, fx));
        }
        let redirect_ok = match (&self.redirect_uri, code.redirect_uri_sent) {
            (Some(r), _) => *r == code.redirect_uri,
            (None, sent) => !sent,
        };
        let pkce_ok: bool = !self.challenge.is_empty() && bool::from(code.challenge.as_bytes().ct_eq(self.challenge.as_bytes()));
        let user: UserGate = loaded.get(&user_gate_key(&code.user_id))?.unwrap_or_default();
        if code.client_id != self.client_id || !redirect_ok || !pkce_ok || code.epoch < user.min_epoch {
            return Ok((Redeemed::InvalidGrant, fx));
        }
        let gate: Gate = loaded.get(GATE_KEY)?.unwrap_or_default();
        if !gate.admits(self.generation, now_ms) {
            return Ok((Redeemed::ClientGone, fx));
        }
        code.used_by = Some(format!("{}:{}", code.user_id, self.tokens.family_id));
        let user = (code.user_id.as_str(), code.username.as_str());
        let authorized = Authorized { scope: code.scope.clone(), resources: code.resources.clone() };
        // An unauthorized resource leaves the code unused (nothing was written yet).
        let Some(issued) = new_family(&mut fx, user, authorized, code.epoch, self.tokens, now_ms) else {
            return Ok((Redeemed::InvalidTarget, fx));
        };
        fx.put(key, &code);
        tally(loaded, &mut fx, &[Field::TokensIssued], now_ms)?;
        Ok((Redeemed::Issued(issued), fx))
    }
}

#[cfg(test)]
mod tests;
