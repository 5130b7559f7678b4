//! Live access tokens in a shard: what is stored for each (under its hash; the token itself
//! never is), the expiry and IP-binding rules, and the operations on them.

use super::families::{family_key_of, revoke};
use super::gate::Gate;
use super::keys::{refresh_key, token_key, GATE_KEY};
use super::usage::{self, tally, Field, USAGE_KEY};
use super::{Effects, Loaded, Op};
use crate::client::{Client, Expiry};
use crate::error::StoreError;
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};

/// What is stored for a live token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub client_id: String,
    pub scope: Vec<String>,
    /// The `CF-Connecting-IP` that obtained the token, or `None` when the client has
    /// `ip_binding: false`. An absent header binds to the empty string, so such a token is
    /// usable only by requests that also lack it.
    #[serde(default)]
    pub ip: Option<String>,
    pub issued_ms: u64,
    pub last_used_ms: u64,
    pub ttl_s: u32,
    pub max_lifetime_s: u32,
    pub expiry: Expiry,
    /// The generation of the client secret the token was obtained with.
    pub generation: u32,
    /// Who the token acts for, when not the client itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// The family (authorization) it belongs to: `{user_id}:{family_id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// A hard end, whatever the expiry rules say (its family's end, a subject token's `exp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after_ms: Option<u64>,
    /// The resources it is for (RFC 8707), in their registered form; empty: not bound.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aud: Vec<String>,
}

/// Who a token acts for (RFC 8693 §4.1's `sub` and `act`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// A user id, or the subject of an exchanged token.
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Token exchange: who issued the subject token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_issuer: Option<String>,
    /// Token exchange: the client acting for the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<String>,
}

/// RFC 8693 §4.1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
}

/// The body of a successful `/validate` (and of `/introspect` for a live token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub active: bool,
    pub client_id: String,
    pub scope: String,
    pub exp: u64,
    pub iat: u64,
    pub expires_in: u64,
    pub auth: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    /// RFC 8707 / RFC 7662 §2.2: the resources the token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Vec<String>>,
}

impl TokenRecord {
    pub fn new(client: &Client, generation: u32, scope: Vec<String>, ip: Option<&str>, now_ms: u64) -> Self {
        let s = &client.settings;
        TokenRecord {
            client_id: client.client_id.clone(),
            scope,
            ip: s.ip_binding.then(|| ip.unwrap_or("").to_string()),
            issued_ms: now_ms,
            last_used_ms: now_ms,
            ttl_s: s.token_ttl,
            max_lifetime_s: s.max_lifetime,
            expiry: s.expiry,
            generation,
            principal: None,
            family: None,
            not_after_ms: None,
            aud: Vec::new(),
        }
    }

    /// Sliding: `token_ttl` after the latest use, capped at `max_lifetime` after issue.
    /// Fixed: `token_ttl` after issue.
    pub fn expires_at_ms(&self) -> u64 {
        let ttl = u64::from(self.ttl_s) * 1000;
        let by_rule = match self.expiry {
            Expiry::Fixed => self.issued_ms + ttl,
            Expiry::Sliding => (self.last_used_ms + ttl).min(self.issued_ms + u64::from(self.max_lifetime_s) * 1000),
        };
        self.not_after_ms.map_or(by_rule, |n| by_rule.min(n))
    }

    /// The latest the token can possibly live: however much it is used.
    pub fn dead_by_ms(&self) -> u64 {
        let most = match self.expiry {
            Expiry::Fixed => self.issued_ms + u64::from(self.ttl_s) * 1000,
            Expiry::Sliding => self.issued_ms + u64::from(self.max_lifetime_s) * 1000,
        };
        self.not_after_ms.map_or(most, |n| most.min(n))
    }

    pub fn is_live(&self, now_ms: u64) -> bool {
        now_ms < self.expires_at_ms()
    }

    /// Seed 003: "Tokens are tied to IP addresses and are only valid if used from the same IP
    /// address used to obtain them."
    pub fn ip_allows(&self, ip: Option<&str>) -> bool {
        match &self.ip {
            None => true,
            Some(bound) => bound == ip.unwrap_or(""),
        }
    }

    /// A successful use. Never moves the expiry backwards, whatever order uses arrive in.
    pub fn touch(&mut self, now_ms: u64) {
        if self.expiry == Expiry::Sliding {
            self.last_used_ms = self.last_used_ms.max(now_ms);
        }
    }

    pub fn has_scopes(&self, required: &[String]) -> bool {
        required.iter().all(|r| self.scope.contains(r))
    }

    /// May it be used at `resource` (RFC 8707)? A token bound to resources only at one of
    /// them; an unbound one only at one of `unbound` (its client's resources).
    pub fn is_for(&self, resource: Option<&str>, unbound: &[String]) -> bool {
        let Some(r) = resource else { return true };
        let allowed = if self.aud.is_empty() { unbound } else { &self.aud };
        allowed.iter().any(|a| crate::resource::same(a, r))
    }

    pub fn view(&self, now_ms: u64) -> TokenView {
        let exp_ms = self.expires_at_ms();
        let p = self.principal.as_ref();
        TokenView {
            active: true,
            client_id: self.client_id.clone(),
            scope: self.scope.join(" "),
            exp: exp_ms / 1000,
            iat: self.issued_ms / 1000,
            expires_in: exp_ms.saturating_sub(now_ms) / 1000,
            auth: "bearer".into(),
            sub: p.map(|p| p.sub.clone()),
            username: p.and_then(|p| p.username.clone()),
            subject_issuer: p.and_then(|p| p.subject_issuer.clone()),
            act: p.and_then(|p| p.act.clone()).map(|sub| Actor { sub }),
            aud: (!self.aud.is_empty()).then(|| self.aud.clone()),
        }
    }
}

/// The token under `key` if it is live and its client's gate admits it. A dead one is deleted
/// on sight, so a read never reports a token past its expiry, whether or not its alarm fired.
fn live(loaded: &Loaded, key: &str, now_ms: u64, fx: &mut Effects) -> Result<Option<TokenRecord>, StoreError> {
    let gate: Gate = loaded.get(GATE_KEY)?.unwrap_or_default();
    Ok(match loaded.get::<TokenRecord>(key)? {
        Some(r) if r.is_live(now_ms) && gate.admits(r.generation, now_ms) => Some(r),
        Some(_) => {
            fx.delete(key.to_string());
            None
        }
        None => None,
    })
}

/// Store a new token, if the client's gate admits the secret generation it was obtained with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub hash: SecretHash,
    pub record: TokenRecord,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Issued {
    Issued,
    /// The client is deleted, disabled or its secret generation is dead: KV (which the
    /// caller read) was stale, and a stale read must not mint a token.
    ClientGone,
}

impl Op for Issue {
    type Reply = Issued;
    fn keys(&self) -> Vec<String> {
        // A fresh key: only the gate matters (and the counts).
        vec![GATE_KEY.into(), USAGE_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Issued, Effects), StoreError> {
        let mut fx = Effects::default();
        let gate: Gate = loaded.get(GATE_KEY)?.unwrap_or_default();
        if !gate.admits(self.record.generation, now_ms) {
            return Ok((Issued::ClientGone, fx));
        }
        fx.alarm(self.record.expires_at_ms());
        fx.put(token_key(&self.hash), &self.record);
        tally(loaded, &mut fx, &[Field::TokensIssued], now_ms)?;
        Ok((Issued::Issued, fx))
    }
}

/// A use (`/validate`): checks expiry, IP and scope, then slides the expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validate {
    pub hash: SecretHash,
    #[serde(default)]
    pub ip: Option<String>,
    pub required: Vec<String>,
    /// `/validate?resource=`: the resource the caller serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// With `resource`: its client's resources, where an unbound token may be used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unbound: Vec<String>,
}

// A reply is made once and moved once (to JSON or to the caller): boxing the view buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validation {
    Valid(TokenView),
    InsufficientScope,
    /// Unknown, expired or revoked: deliberately indistinguishable from [`Validation::WrongIp`]
    /// to the caller of `/validate`.
    Invalid,
    /// A live token used from another address than the one that obtained it: answered as
    /// [`Validation::Invalid`]; told apart only to raise the `token.wrong_ip` alert.
    WrongIp,
}

impl Op for Validate {
    type Reply = Validation;
    fn keys(&self) -> Vec<String> {
        vec![GATE_KEY.into(), token_key(&self.hash), USAGE_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Validation, Effects), StoreError> {
        let mut fx = Effects::default();
        let key = token_key(&self.hash);
        let (reply, field) = match live(loaded, &key, now_ms, &mut fx)? {
            None => (Validation::Invalid, usage::known(loaded).then_some(Field::RejectedToken)),
            // A refused validation is not a use: nothing slides.
            Some(r) if !r.ip_allows(self.ip.as_deref()) => (Validation::WrongIp, Some(Field::RejectedIp)),
            Some(r) if !r.is_for(self.resource.as_deref(), &self.unbound) => (Validation::Invalid, Some(Field::RejectedToken)),
            Some(r) if !r.has_scopes(&self.required) => (Validation::InsufficientScope, Some(Field::RejectedScope)),
            Some(mut r) => {
                let before = r.expires_at_ms();
                r.touch(now_ms);
                if r.expires_at_ms() != before {
                    // Sliding only moves the expiry later, so the alarm (set for an earlier
                    // time) fires early at worst; the sweep then re-arms it. The slide reaches
                    // storage with the alarm within 10 s, in one batch with every other slide
                    // and count of those 10 s: a validation waits for no write (issue 24).
                    fx.defer(key, &r, now_ms);
                }
                (Validation::Valid(r.view(now_ms)), Some(Field::Validations))
            }
        };
        if let Some(field) = field {
            tally(loaded, &mut fx, &[field], now_ms)?;
        }
        Ok((reply, fx))
    }
}

/// A look that is not a use (RFC 7662).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Introspect {
    pub hash: SecretHash,
}

impl Op for Introspect {
    type Reply = Option<TokenView>;
    fn keys(&self) -> Vec<String> {
        vec![GATE_KEY.into(), token_key(&self.hash)]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Option<TokenView>, Effects), StoreError> {
        let mut fx = Effects::default();
        let view = live(loaded, &token_key(&self.hash), now_ms, &mut fx)?.map(|r| r.view(now_ms));
        Ok((view, fx))
    }
}

/// RFC 7009: an access token is deleted, a refresh token's whole family dies; only if it
/// belongs to `client_id`, and with the same (empty) answer either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoke {
    pub hash: SecretHash,
    pub client_id: String,
}

impl Op for Revoke {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![token_key(&self.hash), refresh_key(&self.hash)]
    }
    fn more_keys(&self, loaded: &Loaded) -> Result<Vec<String>, StoreError> {
        Ok(family_key_of(loaded, &self.hash)?.into_iter().collect())
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        let key = token_key(&self.hash);
        if loaded.get::<TokenRecord>(&key)?.is_some_and(|r| r.client_id == self.client_id) {
            fx.delete(key);
        }
        revoke(&mut fx, loaded, &self.hash, &self.client_id)?;
        Ok(((), fx))
    }
}

#[cfg(test)]
mod tests;
