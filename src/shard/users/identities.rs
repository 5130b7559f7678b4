//! A person's links to upstream identity providers (`i:{provider_id}` in the user object: one
//! subject per provider), and the session a provider sign-in opens. Who owns a (provider,
//! subject) pair is decided elsewhere, by the claim object `idp:{provider_id}:{subject}`
//! (the compare-and-set of [`crate::shard::names`]); this is the person's side of the link.

use super::{live_user, session_key, Session, USER_KEY};
use crate::error::StoreError;
use crate::secret::SecretHash;
use crate::shard::{Effects, Loaded, Op};
use serde::{Deserialize, Serialize};

pub const IDENTITY_PREFIX: &str = "i:";

fn identity_key(provider_id: &str) -> String {
    format!("{IDENTITY_PREFIX}{provider_id}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub provider_id: String,
    pub subject: String,
    pub created_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Linked {
    /// Linked now, or already was to this subject.
    Linked,
    /// The person is linked to another subject of that provider.
    OtherSubject,
    /// No such (live) person.
    NoUser,
}

/// Link the person to `identity` (after its claim was won).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub identity: Identity,
}

impl Op for Link {
    type Reply = Linked;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into(), identity_key(&self.identity.provider_id)]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Linked, Effects), StoreError> {
        let mut fx = Effects::default();
        if live_user(loaded)?.is_none() {
            return Ok((Linked::NoUser, fx));
        }
        let key = identity_key(&self.identity.provider_id);
        match loaded.get::<Identity>(&key)? {
            Some(i) if i.subject != self.identity.subject => Ok((Linked::OtherSubject, fx)),
            Some(_) => Ok((Linked::Linked, fx)),
            None => {
                fx.put(key, &self.identity);
                Ok((Linked::Linked, fx))
            }
        }
    }
}

/// Unlink the person from a provider: the identity it had (its claim is released next), or
/// `None` (no such person, or no link).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unlink {
    pub provider_id: String,
}

impl Op for Unlink {
    type Reply = Option<Identity>;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into(), identity_key(&self.provider_id)]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Self::Reply, Effects), StoreError> {
        let mut fx = Effects::default();
        if live_user(loaded)?.is_none() {
            return Ok((None, fx));
        }
        let key = identity_key(&self.provider_id);
        let had = loaded.get::<Identity>(&key)?;
        if had.is_some() {
            fx.delete(key);
        }
        Ok((had, fx))
    }
}

/// Every link of the person, oldest first (also of a deleted one, so that its claims can be
/// released); `None` when there is no record at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identities {}

impl Op for Identities {
    type Reply = Option<Vec<Identity>>;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into()]
    }
    fn prefixes(&self) -> Vec<String> {
        vec![IDENTITY_PREFIX.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Self::Reply, Effects), StoreError> {
        if loaded.get::<crate::user::User>(USER_KEY)?.is_none() {
            return Ok((None, Effects::default()));
        }
        let all: Vec<Identity> = loaded.under::<Identity>(IDENTITY_PREFIX)?.into_iter().map(|(_, i)| i).collect();
        Ok((Some(crate::store::oldest_first(all, |i| (i.created_at, &i.provider_id))), Effects::default()))
    }
}

/// Open a session after a provider vouched for the person linked to `provider_id`: refused if
/// the person is gone or disabled, or no longer linked to that identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartLinkedSession {
    pub hash: SecretHash,
    pub expires_ms: u64,
    pub provider_id: String,
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Started {
    Started,
    Disabled,
    /// Gone, or not linked to that identity (any more).
    NotLinked,
}

impl Op for StartLinkedSession {
    type Reply = Started;
    fn keys(&self) -> Vec<String> {
        vec![USER_KEY.into(), identity_key(&self.provider_id)]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Started, Effects), StoreError> {
        let mut fx = Effects::default();
        let linked = loaded.get::<Identity>(&identity_key(&self.provider_id))?.is_some_and(|i| i.subject == self.subject);
        let reply = match live_user(loaded)? {
            Some(_) if !linked => Started::NotLinked,
            Some(u) if u.disabled => Started::Disabled,
            Some(_) => {
                fx.put(session_key(&self.hash), &Session { created_ms: now_ms, expires_ms: self.expires_ms });
                fx.alarm(self.expires_ms);
                Started::Started
            }
            None => Started::NotLinked,
        };
        Ok((reply, fx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::password::PasswordHash;
    use crate::shard::Checked;
    use crate::user::User;

    fn person(disabled: bool) -> User {
        User {
            user_id: "u".into(),
            username: "ann".into(),
            name: String::new(),
            created_at: 0,
            updated_at: 0,
            disabled,
            password: PasswordHash::none(),
            epoch: 0,
            clients: vec![],
            deleted: false,
        }
    }

    fn id(subject: &str) -> Identity {
        Identity { provider_id: "p".into(), subject: subject.into(), created_at: 1 }
    }

    #[test]
    fn one_subject_per_provider() {
        let with_user = Loaded::default().with(USER_KEY, &person(false));
        let (r, fx) = Link { identity: id("1") }.checked(&with_user, 0).unwrap();
        assert_eq!((r, fx.puts.len()), (Linked::Linked, 1));
        let linked = with_user.clone().with("i:p", &id("1"));
        assert_eq!(Link { identity: id("1") }.checked(&linked, 0).unwrap().0, Linked::Linked);
        assert_eq!(Link { identity: id("2") }.checked(&linked, 0).unwrap(), (Linked::OtherSubject, Effects::default()));
        assert_eq!(Link { identity: id("1") }.checked(&Loaded::default(), 0).unwrap().0, Linked::NoUser);
        assert_eq!(Unlink { provider_id: "p".into() }.checked(&linked, 0).unwrap().1.deletes, vec!["i:p"]);
        assert_eq!(Unlink { provider_id: "p".into() }.checked(&with_user, 0).unwrap().0, None);
        assert_eq!(Identities {}.checked(&linked, 0).unwrap().0, Some(vec![id("1")]));
        assert_eq!(Identities {}.checked(&Loaded::default(), 0).unwrap().0, None);
    }

    #[test]
    fn linked_sessions_only_for_enabled_linked_people() {
        let start = || StartLinkedSession { hash: SecretHash::of("s"), expires_ms: 10, provider_id: "p".into(), subject: "1".into() };
        let ok = Loaded::default().with(USER_KEY, &person(false)).with("i:p", &id("1"));
        let (r, fx) = start().checked(&ok, 0).unwrap();
        assert_eq!((r, fx.puts.len()), (Started::Started, 1));
        let disabled = Loaded::default().with(USER_KEY, &person(true)).with("i:p", &id("1"));
        assert_eq!(start().checked(&disabled, 0).unwrap(), (Started::Disabled, Effects::default()));
        let other = Loaded::default().with(USER_KEY, &person(false)).with("i:p", &id("2"));
        assert_eq!(start().checked(&other, 0).unwrap(), (Started::NotLinked, Effects::default()));
        assert_eq!(start().checked(&Loaded::default(), 0).unwrap().0, Started::NotLinked);
    }
}
