//! Refresh tokens (RFC 6749 §6, RFC 9700 §4.14): every refresh rotates; the token just
//! rotated away, presented again within [`RETRY_WINDOW_MS`] and before its successor is used,
//! gets the same successor (a lost response or two tabs must not log the person out); any
//! other reuse kills the whole family at once. One writer (the family's shard) decides, so N
//! simultaneous refreshes with one token yield one successor.

use super::families::{add_member, family_of, kill, RefreshRecord, Rotated, UserGate};
use super::gate::Gate;
use super::keys::{family_key, refresh_key, token_key, user_gate_key, GATE_KEY};
use super::tokens::{Principal, TokenRecord};
use super::usage::{tally, Field, USAGE_KEY};
use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};

pub const RETRY_WINDOW_MS: u64 = 30_000;

/// A refresh at `/token`. The edge prepared the successor (its hash, and itself sealed under
/// the presented token) and a new access token, all routed to this shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refresh {
    pub hash: SecretHash,
    pub client_id: String,
    pub generation: u32,
    /// A narrower scope for the new access token (`None`: the family's).
    #[serde(default)]
    pub scope: Option<Vec<String>>,
    pub successor: SecretHash,
    pub sealed_successor: String,
    pub access: SecretHash,
    /// The client's token settings, IP and secret generation.
    pub template: TokenRecord,
    /// `resource` values (RFC 8707 §2.2): within the family's; none, all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refreshed {
    /// Rotated: the prepared successor is now the family's refresh token.
    Rotated {
        scope: Vec<String>,
        expires_at_ms: u64,
    },
    /// A retry within the window: the successor already handed out, sealed under the presented
    /// token (only its holder can open it).
    Retried {
        scope: Vec<String>,
        expires_at_ms: u64,
        sealed_successor: String,
    },
    InvalidGrant,
    /// A rotated-away token presented again outside the retry window: the family was killed.
    /// `invalid_grant` to the client, like [`Refreshed::InvalidGrant`]; the edge raises
    /// `refresh.reuse_detected`.
    Reused,
    /// The scope asked for is not within the family's.
    InvalidScope,
    /// The client's gate refuses (stale KV): `invalid_client`.
    ClientGone,
    /// A resource the family was not authorized for.
    InvalidTarget,
}

/// The family a refresh record names, if its user gate still admits it. A dead family is
/// deleted on sight.
impl Op for Refresh {
    type Reply = Refreshed;
    fn keys(&self) -> Vec<String> {
        vec![GATE_KEY.into(), refresh_key(&self.hash), USAGE_KEY.into()]
    }
    fn more_keys(&self, loaded: &Loaded) -> Result<Vec<String>, StoreError> {
        Ok(match loaded.get::<RefreshRecord>(&refresh_key(&self.hash))? {
            Some(r) => {
                let user = r.family.split(':').next().unwrap_or_default().to_string();
                vec![family_key(&r.family), user_gate_key(&user)]
            }
            None => Vec::new(),
        })
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Refreshed, Effects), StoreError> {
        let mut fx = Effects::default();
        let Some((id, mut family)) = family_of(loaded, &self.hash)? else {
            // Unknown, or its family is dead: nothing to keep.
            if loaded.get::<RefreshRecord>(&refresh_key(&self.hash))?.is_some() {
                fx.delete(refresh_key(&self.hash));
            }
            return Ok((Refreshed::InvalidGrant, fx));
        };
        // A refresh token works only for the client it was issued to.
        if family.client_id != self.client_id {
            return Ok((Refreshed::InvalidGrant, fx));
        }
        let user: UserGate = loaded.get(&user_gate_key(&family.user_id))?.unwrap_or_default();
        if !family.is_live(now_ms) || family.epoch < user.min_epoch {
            kill(&mut fx, &id, &family);
            return Ok((Refreshed::InvalidGrant, fx));
        }
        let gate: Gate = loaded.get(GATE_KEY)?.unwrap_or_default();
        if !gate.admits(self.generation, now_ms) {
            return Ok((Refreshed::ClientGone, fx));
        }
        let Some(mut chain) = family.refresh.clone() else { return Ok((Refreshed::InvalidGrant, fx)) };
        // `scope` narrows the new access token only; the family keeps its grant (§6).
        let scope = match &self.scope {
            Some(s) if !s.iter().all(|x| family.scope.contains(x)) => return Ok((Refreshed::InvalidScope, fx)),
            Some(s) => s.clone(),
            None => family.scope.clone(),
        };
        let Ok(aud) = crate::resource::select(&self.resources, &family.resources) else {
            return Ok((Refreshed::InvalidTarget, fx));
        };
        let retry = chain.previous.as_ref().filter(|p| p.hash == self.hash && now_ms < p.rotated_ms + RETRY_WINDOW_MS).cloned();
        let reply_rotated = chain.current == self.hash;
        if !reply_rotated && retry.is_none() {
            // Reuse of a rotated-away token (after the window, or after its successor was
            // used): someone else has it. The whole family dies, now.
            kill(&mut fx, &id, &family);
            return Ok((Refreshed::Reused, fx));
        }
        if reply_rotated {
            fx.put(refresh_key(&self.successor), &RefreshRecord { family: id.clone() });
            // The rotated token's record is read again only on a retry or a reuse: storage's.
            fx.forget.push(refresh_key(&self.hash));
            chain.previous = Some(Rotated { hash: self.hash.clone(), rotated_ms: now_ms, successor: self.sealed_successor.clone() });
            chain.current = self.successor.clone();
            family.refresh = Some(chain);
        }
        // A new access token either way; earlier ones of the family stay valid.
        let mut access = self.template;
        access.scope = scope.clone();
        access.aud = aud;
        access.principal = Some(Principal { sub: family.user_id.clone(), username: Some(family.username.clone()), subject_issuer: None, act: None });
        access.family = Some(id.clone());
        access.not_after_ms = Some(family.expires_ms);
        family.prune(now_ms);
        add_member(&mut fx, &id, &self.access, access.dead_by_ms());
        let expires_at_ms = access.expires_at_ms();
        fx.alarm(expires_at_ms);
        fx.put(token_key(&self.access), &access);
        fx.put(family_key(&id), &family);
        tally(loaded, &mut fx, &[Field::TokensIssued], now_ms)?;
        let reply = match retry.filter(|_| !reply_rotated) {
            Some(p) => Refreshed::Retried { scope, expires_at_ms, sealed_successor: p.successor },
            None => Refreshed::Rotated { scope, expires_at_ms },
        };
        Ok((reply, fx))
    }
}

#[cfg(test)]
mod tests;
