//! Sessions in the user object: opened after the edge checked a password, checked on every
//! page, ended at logout or by the alarm once expired.

use super::{grant_key, granted, live_user, session_key, Session, SESSION_PREFIX, USER_KEY};
use crate::auth::password::PasswordHash;
use crate::error::StoreError;
use crate::secret::SecretHash;
use crate::shard::{Effects, Loaded, Op};
use serde::{Deserialize, Serialize};

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
    #[serde(default)]
    pub granted: Option<Vec<String>>,
}

pub(super) fn session_user(loaded: &Loaded, hash: &SecretHash, client_id: Option<&str>, now_ms: u64) -> Result<Option<SessionUser>, StoreError> {
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
    #[serde(default)]
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

/// The alarm of a user object: delete expired sessions; re-arm for the next expiry.
pub fn plan_sweep(sessions: &[(String, String)], now_ms: u64) -> (Vec<String>, Option<u64>) {
    let mut deletes = Vec::new();
    let mut next: Option<u64> = None;
    for (key, text) in sessions {
        match serde_json::from_str::<Session>(text) {
            Ok(s) if now_ms < s.expires_ms => next = Some(next.map_or(s.expires_ms, |n| n.min(s.expires_ms))),
            _ => deletes.push(key.clone()),
        }
    }
    (deletes, next)
}

pub async fn sweep<S: crate::shard::ShardStorage>(s: &S, now_ms: u64) -> Result<usize, StoreError> {
    let (deletes, next) = plan_sweep(&s.list(SESSION_PREFIX).await?, now_ms);
    if !deletes.is_empty() {
        s.commit(&[], &deletes).await?;
    }
    if let Some(at) = next {
        s.set_alarm(at).await?;
    }
    Ok(deletes.len())
}
