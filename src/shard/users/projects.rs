//! A person's projects: the owner index `o:{client_id}` in the person's own object, bounded
//! by `MAX_PROJECTS`. One writer for the index and the person's state, so that "at most N
//! projects", "no new project for a disabled person" and "disabling the person reaches every
//! project" are exact: a project is in the index before its key exists anywhere, so the
//! fan-out of a disable (which reads the index after flipping the person) cannot miss it.

use super::{live_user, Effects, Loaded, Op, USER_KEY};
use crate::error::StoreError;
use crate::user::User;
use serde::{Deserialize, Serialize};

pub const PROJECT_PREFIX: &str = "o:";

fn project_key(client_id: &str) -> String {
    format!("{PROJECT_PREFIX}{client_id}")
}

/// One entry of the owner index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owned {
    pub created_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Added {
    Added,
    /// The id is already one of this person's projects (a replayed console form, whose id
    /// is derived from the form's nonce): nothing changed.
    Exists,
    TooMany,
    /// No such person, or disabled or deleted.
    NoOwner,
}

/// Record a new project for this person, unless they already have `max`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddProject {
    pub client_id: String,
    pub max: u32,
}

impl Op for AddProject {
    type Reply = Added;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into()]
    }
    fn prefixes(&self) -> Vec<String> {
        vec![PROJECT_PREFIX.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Added, Effects), StoreError> {
        let mut fx = Effects::default();
        if live_user(loaded)?.is_none_or(|u: User| u.disabled) {
            return Ok((Added::NoOwner, fx));
        }
        let owned = loaded.under::<Owned>(PROJECT_PREFIX)?;
        if owned.iter().any(|(k, _)| *k == project_key(&self.client_id)) {
            return Ok((Added::Exists, fx));
        }
        if owned.len() >= self.max as usize {
            return Ok((Added::TooMany, fx));
        }
        fx.put(project_key(&self.client_id), &Owned { created_ms: now_ms });
        Ok((Added::Added, fx))
    }
}

/// Forget a project (its key is already gone). Idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveProject {
    pub client_id: String,
}

impl Op for RemoveProject {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![]
    }
    fn decide(self, _loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        fx.delete(project_key(&self.client_id));
        Ok(((), fx))
    }
}

/// The person's projects, oldest first; `None` when the object holds no person at all. A
/// deleted person whose deletion is unfinished still answers (the retry needs the list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projects {}

impl Op for Projects {
    type Reply = Option<Vec<String>>;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into()]
    }
    fn prefixes(&self) -> Vec<String> {
        vec![PROJECT_PREFIX.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Self::Reply, Effects), StoreError> {
        if loaded.get::<User>(USER_KEY)?.is_none() {
            return Ok((None, Effects::default()));
        }
        let mut owned: Vec<(u64, String)> =
            loaded.under::<Owned>(PROJECT_PREFIX)?.into_iter().map(|(k, o)| (o.created_ms, k[PROJECT_PREFIX.len()..].to_string())).collect();
        owned.sort();
        Ok((Some(owned.into_iter().map(|(_, id)| id).collect()), Effects::default()))
    }
}
