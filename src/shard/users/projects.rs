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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::password::PasswordHash;
    use crate::shard::users::{DeleteUser, SESSION_PREFIX};
    use crate::shard::Checked;

    const NOW: u64 = 1_000_000;

    fn user() -> User {
        User {
            user_id: "u1".into(),
            username: "Alice".into(),
            name: "Alice A".into(),
            created_at: 1,
            updated_at: 1,
            disabled: false,
            password: PasswordHash { iterations: 1, salt: "c2FsdA".into(), hash: "h".into() },
            epoch: 3,
            clients: vec!["c1".into()],
            deleted: false,
        }
    }
    #[test]
    fn the_owner_index_is_bounded_and_only_for_a_live_enabled_person() {
        let add = |id: &str| AddProject { client_id: id.into(), max: 2 };
        let with = |u: Option<User>, owned: &[&str]| {
            let mut l = Loaded::default();
            if let Some(u) = u {
                l = l.with(USER_KEY, &u);
            }
            for (i, id) in owned.iter().enumerate() {
                l = l.with(format!("{PROJECT_PREFIX}{id}"), &Owned { created_ms: 10 - i as u64 });
            }
            l
        };
        // (person, already owned, project, outcome, written)
        type Case<'a> = (Option<User>, Vec<&'a str>, &'a str, Added, bool);
        let cases: Vec<Case> = vec![
            (Some(user()), vec![], "p1", Added::Added, true),
            (Some(user()), vec!["p1"], "p2", Added::Added, true),
            (Some(user()), vec!["p1", "p2"], "p3", Added::TooMany, false),
            (Some(user()), vec!["p1", "p2"], "p2", Added::Exists, false),
            (Some(user()), vec!["p1"], "p1", Added::Exists, false),
            (None, vec![], "p1", Added::NoOwner, false),
            (Some(User { disabled: true, ..user() }), vec![], "p1", Added::NoOwner, false),
            (Some(User { deleted: true, ..user() }), vec![], "p1", Added::NoOwner, false),
        ];
        for (u, owned, id, want, written) in cases {
            let (got, fx) = add(id).checked(&with(u.clone(), &owned), NOW).unwrap();
            assert_eq!((got, !fx.puts.is_empty()), (want.clone(), written), "{u:?} {owned:?} {id}");
        }
        // Listed oldest first; a deleted person's list is still there for the retry.
        let (list, _) = Projects {}.checked(&with(Some(user()), &["new", "old"]), NOW).unwrap();
        assert_eq!(list, Some(vec!["old".to_string(), "new".to_string()]));
        let (list, _) = Projects {}.checked(&with(Some(User { deleted: true, ..user() }), &["p"]), NOW).unwrap();
        assert_eq!(list, Some(vec!["p".to_string()]));
        assert_eq!(Projects {}.checked(&with(None, &[]), NOW).unwrap().0, None);
        let (_, fx) = RemoveProject { client_id: "p".into() }.checked(&with(Some(user()), &["p"]), NOW).unwrap();
        assert_eq!(fx.deletes, vec![format!("{PROJECT_PREFIX}p")]);
        // Deleting the person keeps the index for the retry (the last step purges it all).
        let (_, fx) = DeleteUser {}.checked(&with(Some(user()), &["p"]), NOW).unwrap();
        assert!(!fx.purge.contains(&PROJECT_PREFIX));
    }

    #[test]
    fn each_op_reads_only_what_it_needs() {
        // The index (bounded by MAX_PROJECTS) and the record; never the sessions or grants.
        assert_eq!(AddProject { client_id: "p".into(), max: 1 }.prefixes(), [PROJECT_PREFIX]);
        assert_eq!(Projects {}.prefixes(), [PROJECT_PREFIX]);
        assert!(RemoveProject { client_id: "p".into() }.keys().is_empty(), "a blind delete");
    }

    #[test]
    fn deleting_the_person_keeps_the_index_until_the_purge() {
        let l = Loaded::default().with(USER_KEY, &user()).with(format!("{PROJECT_PREFIX}p"), &Owned { created_ms: 1 });
        let (_, fx) = DeleteUser {}.checked(&l, NOW).unwrap();
        assert!(!fx.purge.contains(&PROJECT_PREFIX) && fx.purge.contains(&SESSION_PREFIX));
    }
}
