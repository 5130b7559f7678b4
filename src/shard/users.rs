//! The user object `id:{user_id}` (class `UserObject`, binding `USERS`): the user record, its
//! sessions (`s:{hash}`) and its consents (`g:{client_id}`). One writer for all three, so a
//! disable or delete ends every session in the same step that flips the record, and grants
//! are recorded atomically with the session check that allows them.

use super::{Effects, Loaded, Op};
use crate::auth::password::PasswordHash;
use crate::error::StoreError;
use crate::json::from_json;
use crate::secret::SecretHash;
use crate::user::User;
use serde::{Deserialize, Serialize};

pub const USER_KEY: &str = "user";
pub const SESSION_PREFIX: &str = "s:";
pub const GRANT_PREFIX: &str = "g:";

fn session_key(hash: &SecretHash) -> String {
    format!("{SESSION_PREFIX}{}", hash.as_str())
}

fn grant_key(client_id: &str) -> String {
    format!("{GRANT_PREFIX}{client_id}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub created_ms: u64,
    pub expires_ms: u64,
}

/// A user's consent to a client: the scopes granted so far (a union of every approval).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub client_id: String,
    pub scope: Vec<String>,
    pub created_at: u64,
    /// Being revoked with this epoch: no longer a grant, kept until the kill is confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<u32>,
}

/// A grant that still counts.
fn granted(loaded: &Loaded, client_id: &str) -> Result<Option<Grant>, StoreError> {
    Ok(loaded.get::<Grant>(&grant_key(client_id))?.filter(|g| g.revoked.is_none()))
}

/// The live user, if any (a deleted one is gone).
fn live_user(loaded: &Loaded) -> Result<Option<User>, StoreError> {
    Ok(loaded.get::<User>(USER_KEY)?.filter(|u| !u.deleted))
}

/// Store a new user. `false` if the object already holds one (ids are random: never in practice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUser {
    pub user: User,
}

impl Op for CreateUser {
    type Reply = bool;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(bool, Effects), StoreError> {
        let mut fx = Effects::default();
        if loaded.get::<User>(USER_KEY)?.is_some() {
            return Ok((false, fx));
        }
        fx.put(USER_KEY.into(), &self.user);
        Ok((true, fx))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetUser {}

impl Op for GetUser {
    type Reply = Option<User>;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Option<User>, Effects), StoreError> {
        Ok((live_user(loaded)?, Effects::default()))
    }
}

/// Where a kill must reach: the clients that hold tokens for the user, and the epoch that
/// outlaws them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kill {
    pub epoch: u32,
    pub clients: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Updated {
    pub user: User,
    /// Present when the change disables the user (also when it already was: a repeated
    /// disable repairs a kill that did not reach every shard).
    pub kill: Option<Kill>,
}

/// `PATCH /admin/users/{id}`. Disabling raises the epoch (once) and ends every session; a new
/// password ends every session too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateUser {
    pub name: Option<String>,
    pub password: Option<PasswordHash>,
    pub disabled: Option<bool>,
}

impl Op for UpdateUser {
    type Reply = Option<Updated>;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Option<Updated>, Effects), StoreError> {
        let mut fx = Effects::default();
        let Some(mut user) = live_user(loaded)? else {
            return Ok((None, fx));
        };
        if let Some(name) = self.name {
            user.name = name;
        }
        if let Some(p) = self.password {
            user.password = p;
            fx.purge.push(SESSION_PREFIX);
        }
        let kill = match self.disabled {
            Some(true) => {
                if !user.disabled {
                    user.disabled = true;
                    user.epoch += 1;
                }
                fx.purge.push(SESSION_PREFIX);
                Some(Kill { epoch: user.epoch, clients: user.clients.clone() })
            }
            Some(false) => {
                user.disabled = false;
                None
            }
            None => None,
        };
        user.updated_at = now_ms;
        fx.put(USER_KEY.into(), &user);
        Ok((Some(Updated { user, kill }), fx))
    }
}

/// `DELETE /admin/users/{id}`, step one: mark the user deleted (once raising the epoch), end
/// its sessions and forget its grants, and say where the kill must reach. Repeated while the
/// deletion is unfinished, it answers the same, so a retry completes what failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteUser {}

impl Op for DeleteUser {
    type Reply = Option<(User, Kill)>;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Self::Reply, Effects), StoreError> {
        let mut fx = Effects::default();
        let Some(mut user) = loaded.get::<User>(USER_KEY)? else {
            return Ok((None, fx));
        };
        if !user.deleted {
            user.deleted = true;
            user.epoch += 1;
            user.updated_at = now_ms;
        }
        fx.purge.extend([SESSION_PREFIX, GRANT_PREFIX]);
        fx.put(USER_KEY.into(), &user);
        let kill = Kill { epoch: user.epoch, clients: user.clients.clone() };
        Ok((Some((user, kill)), fx))
    }
}

/// `DELETE /admin/users/{id}`, last step: every shard has heard of the kill; forget it all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeUser {}

impl Op for PurgeUser {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![]
    }
    fn decide(self, _loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        fx.purge.push("");
        Ok(((), fx))
    }
}

/// Open a session after the edge verified the password against `password` (the hash it read):
/// refused if the user is gone or disabled meanwhile, or its password changed since the read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartSession {
    pub hash: SecretHash,
    pub expires_ms: u64,
    pub password: PasswordHash,
}

impl Op for StartSession {
    type Reply = bool;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(bool, Effects), StoreError> {
        let mut fx = Effects::default();
        let ok = live_user(loaded)?.is_some_and(|u| !u.disabled && u.password == self.password);
        if ok {
            fx.put(session_key(&self.hash), &Session { created_ms: now_ms, expires_ms: self.expires_ms });
            fx.alarm(self.expires_ms);
        }
        Ok((ok, fx))
    }
}

/// Who a live session belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub user_id: String,
    pub username: String,
    pub name: String,
    pub epoch: u32,
    /// The scopes this user already granted to the client asked about, if any.
    pub granted: Option<Vec<String>>,
}

fn session_user(loaded: &Loaded, hash: &SecretHash, client_id: Option<&str>, now_ms: u64) -> Result<Option<SessionUser>, StoreError> {
    let session: Option<Session> = loaded.get(&session_key(hash))?;
    let Some(user) = live_user(loaded)?.filter(|u| !u.disabled) else {
        return Ok(None);
    };
    if session.is_none_or(|s| now_ms >= s.expires_ms) {
        return Ok(None);
    }
    let granted = match client_id {
        Some(c) => granted(loaded, c)?.map(|g| g.scope),
        None => None,
    };
    Ok(Some(SessionUser { user_id: user.user_id, username: user.username, name: user.name, epoch: user.epoch, granted }))
}

/// Is this session live (and its user enabled)? With `client_id`, also what the user granted
/// that client before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSession {
    pub hash: SecretHash,
    pub client_id: Option<String>,
}

impl Op for CheckSession {
    type Reply = Option<SessionUser>;
    fn keys(&self) -> Vec<String> {
        let mut k = vec![USER_KEY.into(), session_key(&self.hash)];
        k.extend(self.client_id.as_deref().map(grant_key));
        k
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Option<SessionUser>, Effects), StoreError> {
        let mut fx = Effects::default();
        let key = session_key(&self.hash);
        let who = session_user(loaded, &self.hash, self.client_id.as_deref(), now_ms)?;
        if who.is_none() && loaded.get::<Session>(&key)?.is_some() {
            fx.delete(key);
        }
        Ok((who, fx))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndSession {
    pub hash: SecretHash,
}

impl Op for EndSession {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![]
    }
    fn decide(self, _loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        fx.delete(session_key(&self.hash));
        Ok(((), fx))
    }
}

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

/// The alarm of a user object: delete expired sessions; re-arm for the next expiry.
pub fn plan_sweep(sessions: &[(String, String)], now_ms: u64) -> (Vec<String>, Option<u64>) {
    let mut deletes = Vec::new();
    let mut next: Option<u64> = None;
    for (key, text) in sessions {
        match from_json::<Session>(text) {
            Ok(s) if now_ms < s.expires_ms => next = Some(next.map_or(s.expires_ms, |n| n.min(s.expires_ms))),
            _ => deletes.push(key.clone()),
        }
    }
    (deletes, next)
}

pub async fn sweep<S: super::ShardStorage>(s: &S, now_ms: u64) -> Result<usize, StoreError> {
    let (deletes, next) = plan_sweep(&s.list(SESSION_PREFIX).await?, now_ms);
    if !deletes.is_empty() {
        s.commit(&[], &deletes).await?;
    }
    if let Some(at) = next {
        s.set_alarm(at).await?;
    }
    Ok(deletes.len())
}

#[cfg(test)]
mod tests;
