//! Authorization codes (RFC 6749 §4.1.2), kept by hash in the shard where the tokens they
//! yield will live. A code lives 60 s and is redeemed once, in one step that also creates the
//! family and its first tokens; a used code is remembered for ten minutes more, so that a
//! replay kills everything it issued (§4.1.2: "SHOULD revoke").

use super::families::{family_key, kill, refresh_key, user_gate_key, Family, RefreshChain, RefreshRecord, UserGate};
use super::gate::{Gate, GATE_KEY};
use super::tokens::{token_key, Principal, TokenRecord};
use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

pub const CODE_PREFIX: &str = "a:";
pub const CODE_TTL_MS: u64 = 60_000;
pub const CODE_KEEP_MS: u64 = 600_000;

pub fn code_key(hash: &SecretHash) -> String {
    format!("{CODE_PREFIX}{}", hash.as_str())
}

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

/// What the edge prepared for the tokens a grant may issue: their hashes (the tokens were made
/// to route to this shard), a record carrying the client's token settings, and the family's
/// lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTokens {
    pub family_id: String,
    pub access: SecretHash,
    /// Present when the client has the refresh grant.
    #[serde(default)]
    pub refresh: Option<SecretHash>,
    /// The client's settings, IP and secret generation; scope and principal are filled here.
    pub template: TokenRecord,
    pub refresh_ttl_s: u32,
    /// `resource` values of the token request (RFC 8707 §2.2): the access token is for these,
    /// which must be among those authorized; none, for all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

/// What a successful grant issued, for the token response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedTokens {
    pub scope: Vec<String>,
    pub expires_at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Redeemed {
    Issued(IssuedTokens),
    InvalidGrant,
    /// The client's gate refuses (stale KV): `invalid_client`.
    ClientGone,
    /// A `resource` that was not authorized (RFC 8707 §2.2): nothing was used up.
    InvalidTarget,
}

/// What a person authorized: its scopes and resources.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authorized {
    pub scope: Vec<String>,
    pub resources: Vec<String>,
}

/// Create a family for `user` with its first access token (and refresh token), in `fx`; `None`
/// (and nothing in `fx`) when the token request names a resource that was not authorized.
pub fn new_family(fx: &mut Effects, user: (&str, &str), authorized: Authorized, epoch: u32, tokens: NewTokens, now_ms: u64) -> Option<IssuedTokens> {
    let (user_id, username) = user;
    let principal = Principal { sub: user_id.to_string(), username: Some(username.to_string()), subject_issuer: None, act: None };
    new_family_for(fx, user, principal, None, authorized, epoch, tokens, now_ms)
}

/// [`new_family`], with the access token's principal and an end of its own (`not_after`, at
/// most the family's): for an exchanged token.
#[allow(clippy::too_many_arguments)]
pub fn new_family_for(
    fx: &mut Effects,
    user: (&str, &str),
    principal: Principal,
    not_after_ms: Option<u64>,
    authorized: Authorized,
    epoch: u32,
    tokens: NewTokens,
    now_ms: u64,
) -> Option<IssuedTokens> {
    let aud = crate::resource::select(&tokens.resources, &authorized.resources).ok()?;
    let Authorized { scope, resources } = authorized;
    let (user_id, username) = user;
    let id = format!("{user_id}:{}", tokens.family_id);
    let mut family = Family {
        client_id: tokens.template.client_id.clone(),
        user_id: user_id.to_string(),
        username: username.to_string(),
        scope: scope.clone(),
        resources,
        created_ms: now_ms,
        expires_ms: now_ms + u64::from(tokens.refresh_ttl_s) * 1000,
        epoch,
        access: Vec::new(),
        refresh: tokens.refresh.map(|current| RefreshChain { current, previous: None }),
    };
    let mut access = tokens.template;
    access.scope = scope.clone();
    access.aud = aud;
    access.principal = Some(principal);
    access.family = Some(id.clone());
    access.not_after_ms = Some(not_after_ms.map_or(family.expires_ms, |n| n.min(family.expires_ms)));
    family.add_access(tokens.access.clone(), access.dead_by_ms(), now_ms);
    if let Some(chain) = &family.refresh {
        fx.put(refresh_key(&chain.current), &RefreshRecord { family: id.clone() });
    }
    let issued = IssuedTokens { scope, expires_at_ms: access.expires_at_ms() };
    fx.alarm(access.expires_at_ms());
    fx.alarm(family.expires_ms);
    fx.put(token_key(&tokens.access), &access);
    fx.put(family_key(&id), &family);
    Some(issued)
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
        vec![GATE_KEY.into(), code_key(&self.hash)]
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
        Ok((Redeemed::Issued(issued), fx))
    }
}

#[cfg(test)]
mod tests;
