//! The username claim `name:{lower-cased username}` (class `UserObject`): one object per name
//! makes case-insensitive uniqueness a compare-and-set, which KV cannot do.

use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use serde::{Deserialize, Serialize};

pub const CLAIM_KEY: &str = "claim";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claimed {
    pub user_id: String,
}

/// Claim the name for `user_id`. `None`: it is now (or already was) this user's;
/// `Some(owner)`: another user holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub user_id: String,
}

impl Op for Claim {
    type Reply = Option<String>;
    fn keys(&self) -> Vec<String> {
        vec![CLAIM_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Option<String>, Effects), StoreError> {
        let mut fx = Effects::default();
        match loaded.get::<Claimed>(CLAIM_KEY)? {
            Some(c) if c.user_id != self.user_id => Ok((Some(c.user_id), fx)),
            Some(_) => Ok((None, fx)),
            None => {
                fx.put(CLAIM_KEY.into(), &Claimed { user_id: self.user_id });
                Ok((None, fx))
            }
        }
    }
}

/// Give the name up, if `user_id` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub user_id: String,
}

impl Op for Release {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![CLAIM_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        if loaded.get::<Claimed>(CLAIM_KEY)?.is_some_and(|c| c.user_id == self.user_id) {
            fx.delete(CLAIM_KEY.into());
        }
        Ok(((), fx))
    }
}

/// Who holds the name (sign-in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolve {}

impl Op for Resolve {
    type Reply = Option<String>;
    fn keys(&self) -> Vec<String> {
        vec![CLAIM_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Option<String>, Effects), StoreError> {
        Ok((loaded.get::<Claimed>(CLAIM_KEY)?.map(|c| c.user_id), Effects::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Checked;

    fn held_by(id: &str) -> Loaded {
        Loaded::default().with(CLAIM_KEY, &Claimed { user_id: id.into() })
    }

    #[test]
    fn claims_are_compare_and_set() {
        let (r, fx) = Claim { user_id: "a".into() }.checked(&Loaded::default(), 0).unwrap();
        assert_eq!((r, fx.puts.len()), (None, 1), "a free name is claimed");
        let (r, fx) = Claim { user_id: "b".into() }.checked(&held_by("a"), 0).unwrap();
        assert_eq!((r.as_deref(), fx.puts.len()), (Some("a"), 0), "a held name is not taken over");
        let (r, fx) = Claim { user_id: "a".into() }.checked(&held_by("a"), 0).unwrap();
        assert_eq!((r, fx.puts.len()), (None, 0), "claiming again is idempotent");
    }

    #[test]
    fn release_only_by_the_holder() {
        assert_eq!(Release { user_id: "b".into() }.checked(&held_by("a"), 0).unwrap().1.deletes.len(), 0);
        assert_eq!(Release { user_id: "a".into() }.checked(&held_by("a"), 0).unwrap().1.deletes, vec![CLAIM_KEY]);
        assert_eq!(Resolve {}.checked(&held_by("a"), 0).unwrap().0.as_deref(), Some("a"));
        assert_eq!(Resolve {}.checked(&Loaded::default(), 0).unwrap().0, None);
    }
}
