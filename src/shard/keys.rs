//! Where a client's shard keeps its records: the keys that more than one of its modules reads
//! or deletes. A leaf: the record modules, the gate (which purges what a client holds) and the
//! sweep all name these, and this names none of them. A key only one module uses stays with
//! it (a counter's `c:{name}`, a device flow's `device`).
//!
//! | key | record | module |
//! |---|---|---|
//! | `gate` | the client's gate | [`gate`](super::gate) |
//! | `t:{hash}` | a live access token | [`tokens`](super::tokens) |
//! | `f:{user_id}:{family_id}` | a family | [`families`](super::families) |
//! | `m:{user_id}:{family_id}:{hash}` | one access token of a family (its latest death) | [`families`](super::families) |
//! | `r:{hash}` | a refresh token, pointing at its family | [`families`](super::families) |
//! | `u:{user_id}` | a user gate | [`families`](super::families) |
//! | `a:{hash}` | an authorization code | [`codes`](super::codes) |
//! | `d:{hash}` | an approved device grant | [`devices`](super::devices) |

use crate::secret::SecretHash;

pub const GATE_KEY: &str = "gate";
pub const TOKEN_PREFIX: &str = "t:";
pub const FAMILY_PREFIX: &str = "f:";
pub const REFRESH_PREFIX: &str = "r:";
pub const USER_GATE_PREFIX: &str = "u:";
pub const CODE_PREFIX: &str = "a:";
pub const DEVICE_GRANT_PREFIX: &str = "d:";
pub const MEMBER_PREFIX: &str = "m:";

/// Everything a client holds in a shard: what disabling or deleting it deletes.
pub const CLIENT_HOLDINGS: [&str; 6] = [TOKEN_PREFIX, FAMILY_PREFIX, REFRESH_PREFIX, CODE_PREFIX, DEVICE_GRANT_PREFIX, MEMBER_PREFIX];

pub fn token_key(hash: &SecretHash) -> String {
    format!("{TOKEN_PREFIX}{}", hash.as_str())
}

/// `f:{user_id}:{family_id}`.
pub fn family_key(id: &str) -> String {
    format!("{FAMILY_PREFIX}{id}")
}

/// Every family of one user in a shard.
pub fn user_families_prefix(user_id: &str) -> String {
    format!("{FAMILY_PREFIX}{user_id}:")
}

/// `m:{family_id}:{hash}`: that the access token `hash` belongs to the family.
pub fn member_key(family_id: &str, hash: &SecretHash) -> String {
    format!("{MEMBER_PREFIX}{family_id}:{}", hash.as_str())
}

/// Every access token of one family.
pub fn family_members_prefix(family_id: &str) -> String {
    format!("{MEMBER_PREFIX}{family_id}:")
}

pub fn refresh_key(hash: &SecretHash) -> String {
    format!("{REFRESH_PREFIX}{}", hash.as_str())
}

pub fn user_gate_key(user_id: &str) -> String {
    format!("{USER_GATE_PREFIX}{user_id}")
}

pub fn code_key(hash: &SecretHash) -> String {
    format!("{CODE_PREFIX}{}", hash.as_str())
}

pub fn device_grant_key(hash: &SecretHash) -> String {
    format!("{DEVICE_GRANT_PREFIX}{}", hash.as_str())
}
