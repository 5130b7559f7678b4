//! The user object `id:{user_id}` (class `UserObject`, binding `USERS`): the user record, its
//! sessions (`s:{hash}`) and its consents (`g:{client_id}`). One writer for all three, so a
//! disable or delete ends every session in the same step that flips the record, and grants
//! are recorded atomically with the session check that allows them. Sessions live in
//! [`sessions`], consents in [`grants`]; the record's own operations are here.

use super::{Effects, Loaded, Op};
use crate::auth::password::PasswordHash;
use crate::error::StoreError;
use crate::secret::SecretHash;
use crate::user::User;
use serde::{Deserialize, Serialize};

pub mod grants;
pub mod identities;
pub mod projects;
pub mod sessions;

pub const USER_KEY: &str = "user";
pub const SESSION_PREFIX: &str = "s:";
pub const GRANT_PREFIX: &str = "g:";

pub(super) fn session_key(hash: &SecretHash) -> String {
    format!("{SESSION_PREFIX}{}", hash.as_str())
}

pub(super) fn grant_key(client_id: &str) -> String {
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
pub(super) fn granted(loaded: &Loaded, client_id: &str) -> Result<Option<Grant>, StoreError> {
    Ok(loaded.get::<Grant>(&grant_key(client_id))?.filter(|g| g.revoked.is_none()))
}

/// The live user, if any (a deleted one is gone).
pub(super) fn live_user(loaded: &Loaded) -> Result<Option<User>, StoreError> {
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
    #[serde(default)]
    pub kill: Option<Kill>,
    /// This change disabled the user (it was enabled): their projects' keys stopped now.
    #[serde(default)]
    pub newly_disabled: bool,
}

/// `PATCH /admin/users/{id}`. Disabling raises the epoch (once) and ends every session; a new
/// password ends every session too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateUser {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub password: Option<PasswordHash>,
    #[serde(default)]
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
        let newly_disabled = self.disabled == Some(true) && !user.disabled;
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
        Ok((Some(Updated { user, kill, newly_disabled }), fx))
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

#[cfg(test)]
mod tests;
