//! Starting a family: what every grant that creates one shares. Redeeming a code
//! ([`codes`](super::codes)), redeeming an approved device grant ([`devices`](super::devices)),
//! and a token exchange for one of our users ([`IssueExchanged`]) each create a family with its
//! first access token (and refresh token), in one step with the checks before it.

use super::families::{add_member, Family, RefreshChain, RefreshRecord, UserGate};
use super::gate::Gate;
use super::keys::{family_key, refresh_key, token_key, user_gate_key, GATE_KEY};
use super::tokens::{Principal, TokenRecord};
use super::usage::{tally, Field, USAGE_KEY};
use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};

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
    let family = Family {
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
    add_member(fx, &id, &tokens.access, access.dead_by_ms());
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

/// A token exchange whose subject is one of our users (RFC 8693): a family of its own in the
/// user's shard of the acting client, so that a kill of the user reaches it like any other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueExchanged {
    pub user_id: String,
    pub username: String,
    pub epoch: u32,
    pub principal: Principal,
    pub not_after_ms: u64,
    pub scope: Vec<String>,
    pub tokens: NewTokens,
}

impl Op for IssueExchanged {
    type Reply = Redeemed;
    fn keys(&self) -> Vec<String> {
        vec![GATE_KEY.into(), user_gate_key(&self.user_id), USAGE_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Self::Reply, Effects), StoreError> {
        let mut fx = Effects::default();
        let gate: Gate = loaded.get(GATE_KEY)?.unwrap_or_default();
        let user: UserGate = loaded.get(&user_gate_key(&self.user_id))?.unwrap_or_default();
        if self.epoch < user.min_epoch {
            return Ok((Redeemed::InvalidGrant, fx));
        }
        if !gate.admits(self.tokens.template.generation, now_ms) {
            return Ok((Redeemed::ClientGone, fx));
        }
        let who = (self.user_id.as_str(), self.username.as_str());
        let authorized = Authorized { scope: self.scope, resources: Vec::new() };
        let issued = new_family_for(&mut fx, who, self.principal, Some(self.not_after_ms), authorized, self.epoch, self.tokens, now_ms);
        if issued.is_some() {
            tally(loaded, &mut fx, &[Field::TokensIssued], now_ms)?;
        }
        // Token exchange names no resource (`invalid_target` before it gets here).
        Ok((issued.map_or(Redeemed::InvalidTarget, Redeemed::Issued), fx))
    }
}
