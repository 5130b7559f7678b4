//! The API object `api:{api_id}` (class `UserObject`): one API of the catalogue
//! ([`crate::catalogue`]) and the index of the projects that use it (`p:{client_id}`). One
//! writer for both, so that attaching a project to an API that is being deleted, and deleting
//! an API a project has, cannot both succeed: `409 api_in_use` is exact, not a KV scan.
//!
//! Bound: the index holds one small key per project that uses the API (at most the number of
//! projects, each person having at most `MAX_PROJECTS`); it is read only by [`RetireApi`]
//! (an operator's delete), never on a token's path.

use super::{Effects, Loaded, Op};
use crate::catalogue::{Api, ApiPatch};
use crate::error::StoreError;
use serde::{Deserialize, Serialize};

pub const API_KEY: &str = "api";
pub const USER_PREFIX: &str = "p:";

fn user_key(client_id: &str) -> String {
    format!("{USER_PREFIX}{client_id}")
}

/// The API's record, and whether it was deleted (kept, so that a late attach still fails).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiState {
    pub api: Api,
    #[serde(default)]
    pub retired: bool,
}

fn live(loaded: &Loaded) -> Result<Option<Api>, StoreError> {
    Ok(loaded.get::<ApiState>(API_KEY)?.filter(|s| !s.retired).map(|s| s.api))
}

/// Store a new API. `false` if the object already holds one (ids are random: never in practice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateApi {
    pub api: Api,
}

impl Op for CreateApi {
    type Reply = bool;
    fn keys(&self) -> Vec<String> {
        vec![API_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(bool, Effects), StoreError> {
        let mut fx = Effects::default();
        if loaded.get::<ApiState>(API_KEY)?.is_some() {
            return Ok((false, fx));
        }
        fx.put(API_KEY.into(), &ApiState { api: self.api, retired: false });
        Ok((true, fx))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetApi {}

impl Op for GetApi {
    type Reply = Option<Api>;
    fn keys(&self) -> Vec<String> {
        vec![API_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Option<Api>, Effects), StoreError> {
        Ok((live(loaded)?, Effects::default()))
    }
}

/// `PATCH /admin/apis/{id}`: the new record, or `None` for an unknown (or deleted) API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateApi {
    pub patch: ApiPatch,
}

impl Op for UpdateApi {
    type Reply = Option<Api>;
    fn keys(&self) -> Vec<String> {
        vec![API_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Option<Api>, Effects), StoreError> {
        let mut fx = Effects::default();
        let Some(mut api) = live(loaded)? else { return Ok((None, fx)) };
        if let Some(n) = self.patch.name {
            api.name = n;
        }
        if let Some(d) = self.patch.description {
            api.description = d;
        }
        fx.put(API_KEY.into(), &ApiState { api: api.clone(), retired: false });
        Ok((Some(api), fx))
    }
}

/// A project takes the API: recorded in the index, and the API returned (its scopes and
/// resource go into the project's key). `None`: no such API (or deleted): nothing recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attach {
    pub client_id: String,
}

impl Op for Attach {
    type Reply = Option<Api>;
    fn keys(&self) -> Vec<String> {
        vec![API_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Option<Api>, Effects), StoreError> {
        let mut fx = Effects::default();
        let api = live(loaded)?;
        if api.is_some() {
            fx.put(user_key(&self.client_id), &true);
        }
        Ok((api, fx))
    }
}

/// A project no longer has the API (idempotent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detach {
    pub client_id: String,
}

impl Op for Detach {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![]
    }
    fn decide(self, _loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        fx.delete(user_key(&self.client_id));
        Ok(((), fx))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retired {
    /// Deleted now (or already).
    Retired,
    /// A project has it: nothing changed.
    InUse,
    /// No such API.
    Unknown,
}

/// `DELETE /admin/apis/{id}`: delete the API unless a project uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetireApi {}

impl Op for RetireApi {
    type Reply = Retired;
    fn keys(&self) -> Vec<String> {
        vec![API_KEY.into()]
    }
    fn prefixes(&self) -> Vec<String> {
        vec![USER_PREFIX.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Retired, Effects), StoreError> {
        let mut fx = Effects::default();
        let Some(state) = loaded.get::<ApiState>(API_KEY)? else { return Ok((Retired::Unknown, fx)) };
        if state.retired {
            return Ok((Retired::Retired, fx));
        }
        if !loaded.under::<bool>(USER_PREFIX)?.is_empty() {
            return Ok((Retired::InUse, fx));
        }
        fx.put(API_KEY.into(), &ApiState { retired: true, ..state });
        Ok((Retired::Retired, fx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Checked;

    fn api() -> Api {
        Api { api_id: "a1".into(), name: "Maps".into(), description: String::new(), scopes: vec!["maps:read".into()], resource: None, created_at: 0 }
    }

    fn state(retired: Option<bool>, users: &[&str]) -> Loaded {
        let mut l = Loaded::default();
        if let Some(retired) = retired {
            l = l.with(API_KEY, &ApiState { api: api(), retired });
        }
        for u in users {
            l = l.with(user_key(u), &true);
        }
        l
    }

    #[test]
    fn attach_only_to_a_live_api() {
        // (api state, attached?)
        for (s, ok) in [(None, false), (Some(true), false), (Some(false), true)] {
            let (reply, fx) = Attach { client_id: "c1".into() }.checked(&state(s, &[]), 0).unwrap();
            assert_eq!(reply.is_some(), ok, "{s:?}");
            assert_eq!(fx.puts.iter().any(|(k, _)| k == "p:c1"), ok, "{s:?}: recorded only when attached");
        }
        let (_, fx) = Detach { client_id: "c1".into() }.checked(&state(Some(false), &["c1"]), 0).unwrap();
        assert_eq!(fx.deletes, vec!["p:c1".to_string()]);
    }

    #[test]
    fn retire_unless_in_use() {
        let cases = [
            (state(None, &[]), Retired::Unknown, false),
            (state(Some(false), &["c1"]), Retired::InUse, false),
            (state(Some(false), &[]), Retired::Retired, true),
            (state(Some(true), &[]), Retired::Retired, false),
        ];
        for (l, want, writes) in cases {
            let (got, fx) = RetireApi {}.checked(&l, 0).unwrap();
            assert_eq!(got, want);
            assert_eq!(!fx.puts.is_empty(), writes, "{want:?}");
        }
        // Once retired: invisible, and not to be changed.
        assert_eq!(GetApi {}.checked(&state(Some(true), &[]), 0).unwrap().0, None);
        let patch = UpdateApi { patch: ApiPatch { name: Some("N".into()), description: None } };
        assert_eq!(patch.clone().checked(&state(Some(true), &[]), 0).unwrap().0, None);
        let (a, _) = patch.checked(&state(Some(false), &[]), 0).unwrap();
        assert_eq!(a.unwrap().name, "N");
    }

    #[test]
    fn each_op_reads_only_what_it_needs() {
        // The index is read by the operator's delete alone; a detach is a blind write.
        assert!(Detach { client_id: "c".into() }.keys().is_empty());
        assert_eq!(RetireApi {}.prefixes(), [USER_PREFIX]);
        for keys in [Attach { client_id: "c".into() }.keys(), GetApi {}.keys(), RetireApi {}.keys()] {
            assert_eq!(keys, [API_KEY]);
        }
        assert!(Attach { client_id: "c".into() }.prefixes().is_empty(), "attaching never reads the index");
    }

    #[test]
    fn create_once() {
        assert!(CreateApi { api: api() }.checked(&state(None, &[]), 0).unwrap().0);
        assert!(!CreateApi { api: api() }.checked(&state(Some(true), &[]), 0).unwrap().0);
        assert!(!CreateApi { api: api() }.checked(&state(Some(false), &[]), 0).unwrap().0);
    }
}
