//! Consents in the user object: recorded with the session check that allows them, listed and
//! revoked by the admin API (revocation in two steps, so a failed kill can be repeated).

use super::sessions::{session_user, SessionUser};
use super::{grant_key, granted, live_user, session_key, Grant, GRANT_PREFIX, USER_KEY};
use crate::error::StoreError;
use crate::secret::SecretHash;
use crate::shard::{Effects, Loaded, Op};
use serde::{Deserialize, Serialize};

/// The person approved (or a first-party client needs no approval): in one step, check the
/// session, record the grant (a union with what was granted before) and remember the client as
/// one holding tokens for this user, so a later kill reaches it. Returns who approved, with the
/// epoch the resulting code or approval must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorize {
    pub session: SecretHash,
    pub client_id: String,
    pub scope: Vec<String>,
}

impl Op for Authorize {
    type Reply = Option<SessionUser>;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into(), session_key(&self.session), grant_key(&self.client_id)]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Option<SessionUser>, Effects), StoreError> {
        let mut fx = Effects::default();
        let Some(mut who) = session_user(loaded, &self.session, Some(&self.client_id), now_ms)? else {
            return Ok((None, fx));
        };
        let mut user = live_user(loaded)?.expect("session_user found the user");
        if !user.clients.contains(&self.client_id) {
            user.clients.push(self.client_id.clone());
            fx.put(USER_KEY.into(), &user);
        }
        let mut grant =
            granted(loaded, &self.client_id)?.unwrap_or(Grant { client_id: self.client_id.clone(), scope: Vec::new(), created_at: now_ms, revoked: None });
        for s in &self.scope {
            if !grant.scope.contains(s) {
                grant.scope.push(s.clone());
            }
        }
        who.granted = Some(grant.scope.clone());
        fx.put(grant_key(&self.client_id), &grant);
        Ok((Some(who), fx))
    }
}

/// A client is about to hold tokens for this user without a session (a token exchange whose
/// subject is one of the user's tokens): remember it, so a later kill reaches it. Returns the
/// epoch those tokens must carry, or `None` if the user is gone or disabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddClient {
    pub client_id: String,
}

impl Op for AddClient {
    type Reply = Option<u32>;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Option<u32>, Effects), StoreError> {
        let mut fx = Effects::default();
        let Some(mut user) = live_user(loaded)?.filter(|u| !u.disabled) else {
            return Ok((None, fx));
        };
        if !user.clients.contains(&self.client_id) {
            user.clients.push(self.client_id);
            fx.put(USER_KEY.into(), &user);
        }
        Ok((Some(user.epoch), fx))
    }
}

/// `GET /admin/users/{id}/grants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {}

impl Op for Grants {
    type Reply = Option<Vec<Grant>>;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into()]
    }
    fn prefixes(&self) -> Vec<String> {
        vec![GRANT_PREFIX.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Self::Reply, Effects), StoreError> {
        if live_user(loaded)?.is_none() {
            return Ok((None, Effects::default()));
        }
        let grants: Vec<Grant> = loaded.under::<Grant>(GRANT_PREFIX)?.into_iter().map(|(_, g)| g).filter(|g| g.revoked.is_none()).collect();
        let grants = crate::store::oldest_first(grants, |g| (g.created_at, &g.client_id));
        Ok((Some(grants), Effects::default()))
    }
}

/// `DELETE /admin/users/{id}/grants/{client_id}`, step one: the grant stops counting and the
/// epoch rises; the caller then kills that client's tokens for this user with that epoch.
/// Repeated before [`ForgetGrant`], it answers the same epoch, so a retry completes a kill
/// that failed part way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeGrant {
    pub client_id: String,
}

impl Op for RevokeGrant {
    type Reply = Option<u32>;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into(), grant_key(&self.client_id)]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Option<u32>, Effects), StoreError> {
        let mut fx = Effects::default();
        let Some(mut user) = live_user(loaded)? else {
            return Ok((None, fx));
        };
        let Some(mut grant) = loaded.get::<Grant>(&grant_key(&self.client_id))? else {
            return Ok((None, fx));
        };
        if let Some(epoch) = grant.revoked {
            return Ok((Some(epoch), fx));
        }
        user.epoch += 1;
        user.updated_at = now_ms;
        grant.revoked = Some(user.epoch);
        fx.put(USER_KEY.into(), &user);
        fx.put(grant_key(&self.client_id), &grant);
        Ok((Some(user.epoch), fx))
    }
}

/// Step two: the kill is confirmed; forget the revoked grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgetGrant {
    pub client_id: String,
}

impl Op for ForgetGrant {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![grant_key(&self.client_id)]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        if loaded.get::<Grant>(&grant_key(&self.client_id))?.is_some_and(|g| g.revoked.is_some()) {
            fx.delete(grant_key(&self.client_id));
        }
        Ok(((), fx))
    }
}
