//! Families: everything issued from one authorization of one client by one person (its access
//! tokens and its chain of refresh tokens), kept in the shard of that (client, user), so that
//! killing a family with all its tokens is one local step. And the user gate: the lowest epoch
//! of that user this shard still accepts, raised by every kill.

use super::keys::{family_key, family_members_prefix, member_key, refresh_key, token_key, user_families_prefix, user_gate_key, FAMILY_PREFIX};
use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};

/// The lowest epoch of a user this shard accepts. Raised by every kill, never lowered: what was
/// made before a kill cannot be redeemed after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserGate {
    pub min_epoch: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Family {
    pub client_id: String,
    pub user_id: String,
    pub username: String,
    /// What the person authorized; a refresh may narrow its access token, never this.
    pub scope: Vec<String>,
    /// The resources authorized (RFC 8707); each access token is for these or some of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    pub created_ms: u64,
    /// `refresh_token_ttl` after the authorization: the family and all it issued end here.
    pub expires_ms: u64,
    pub epoch: u32,
    /// Access tokens listed in the record itself, as families written before issue 24 did
    /// (the list grew with every refresh). Read and killed still; never added to: a family's
    /// access tokens are `m:` rows of their own ([`add_member`]), so a refresh's writes do not
    /// grow with the family's age.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<(SecretHash, u64)>,
    /// Its refresh-token chain, when the client has the refresh grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshChain>,
}

/// The refresh tokens of a family. Every rotated-away token keeps a record (`r:{hash}`)
/// pointing here, so that presenting any of them again is recognised as reuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshChain {
    /// The one live refresh token.
    pub current: SecretHash,
    /// The token just rotated away, for the retry window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Rotated>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotated {
    pub hash: SecretHash,
    pub rotated_ms: u64,
    /// Its successor (the current token), encrypted under the rotated token itself: only a
    /// holder of the rotated token can read it; replaced at the next rotation, and honoured
    /// only within the retry window.
    pub successor: String,
}

/// What an `r:{hash}` record says: which family the refresh token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub family: String,
}

impl Family {
    pub fn is_live(&self, now_ms: u64) -> bool {
        now_ms < self.expires_ms
    }

    /// Forget listed access tokens that are dead anyway (a family of the old shape drains).
    pub fn prune(&mut self, now_ms: u64) {
        self.access.retain(|(_, dead)| *dead > now_ms);
    }
}

/// A new access token of family `id`, dead by `dead_by_ms` at the latest: a row of its own,
/// one small write whatever the family's age (invariant 9).
pub fn add_member(fx: &mut Effects, id: &str, hash: &SecretHash, dead_by_ms: u64) {
    // Read only when the family dies (a list of storage): not kept in memory.
    fx.put_cold(member_key(id, hash), &dead_by_ms);
}

/// Kill a family in `fx`: the family record, every access token it issued (its `m:` rows,
/// found when the effects are applied), and the records of its live refresh tokens (older
/// rotated-away records point to nothing now; the sweep takes them).
pub fn kill(fx: &mut Effects, id: &str, family: &Family) {
    fx.delete(family_key(id));
    fx.kill_members(family_members_prefix(id));
    for (hash, _) in &family.access {
        fx.delete(token_key(hash));
    }
    if let Some(chain) = &family.refresh {
        fx.delete(refresh_key(&chain.current));
        if let Some(p) = &chain.previous {
            fx.delete(refresh_key(&p.hash));
        }
    }
}

/// The family a refresh token belongs to, with its id, if both records are there.
pub fn family_of(loaded: &Loaded, hash: &SecretHash) -> Result<Option<(String, Family)>, StoreError> {
    let Some(rec) = loaded.get::<RefreshRecord>(&refresh_key(hash))? else { return Ok(None) };
    Ok(loaded.get::<Family>(&family_key(&rec.family))?.map(|f| (rec.family, f)))
}

/// RFC 7009 for a refresh token: its whole family dies, if `client_id` owns it.
pub fn revoke(fx: &mut Effects, loaded: &Loaded, hash: &SecretHash, client_id: &str) -> Result<(), StoreError> {
    if let Some((id, family)) = family_of(loaded, hash)? {
        if family.client_id == client_id {
            kill(fx, &id, &family);
        }
    }
    Ok(())
}

/// The extra key a revocation reads for a refresh token: its family.
pub fn family_key_of(loaded: &Loaded, hash: &SecretHash) -> Result<Option<String>, StoreError> {
    Ok(loaded.get::<RefreshRecord>(&refresh_key(hash))?.map(|r| family_key(&r.family)))
}

/// A user was disabled or deleted, or its grant to this client revoked: raise the user gate to
/// `epoch` and kill every family of the user here, at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillUser {
    pub user_id: String,
    pub epoch: u32,
}

impl Op for KillUser {
    type Reply = ();
    fn keys(&self) -> Vec<String> {
        vec![user_gate_key(&self.user_id)]
    }
    fn prefixes(&self) -> Vec<String> {
        vec![user_families_prefix(&self.user_id)]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<((), Effects), StoreError> {
        let mut fx = Effects::default();
        let key = user_gate_key(&self.user_id);
        let gate: UserGate = loaded.get(&key)?.unwrap_or_default();
        fx.put(key, &UserGate { min_epoch: gate.min_epoch.max(self.epoch) });
        for (key, family) in loaded.under::<Family>(&user_families_prefix(&self.user_id))? {
            kill(&mut fx, &key[FAMILY_PREFIX.len()..], &family);
        }
        Ok(((), fx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Checked;

    fn family(user: &str, access: &[&str]) -> Family {
        Family {
            client_id: "c".into(),
            user_id: user.into(),
            username: "alice".into(),
            scope: vec![],
            resources: vec![],
            created_ms: 0,
            expires_ms: 1_000,
            epoch: 1,
            access: access.iter().map(|t| (SecretHash::of(t), 500)).collect(),
            refresh: Some(RefreshChain {
                current: SecretHash::of("r2"),
                previous: Some(Rotated { hash: SecretHash::of("r1"), rotated_ms: 0, successor: "x".into() }),
            }),
        }
    }

    #[test]
    fn kill_user_kills_its_families_with_their_tokens_and_raises_the_gate() {
        let loaded = Loaded::default()
            .with(family_key("u1:f1"), &family("u1", &["a1", "a2"]))
            .with(family_key("u1:f2"), &family("u1", &["a3"]))
            .with(family_key("u10:f3"), &family("u10", &["a4"]))
            .with(user_gate_key("u1"), &UserGate { min_epoch: 2 });
        let op = KillUser { user_id: "u1".into(), epoch: 5 };
        assert_eq!(op.prefixes(), vec!["f:u1:"], "the prefix ends with ':' so u10 is not u1");
        let ((), fx) = op.checked(&loaded, 0).unwrap();
        for gone in ["f:u1:f1", "f:u1:f2"] {
            assert!(fx.deletes.contains(&gone.to_string()), "{gone}");
        }
        for t in ["a1", "a2", "a3"] {
            assert!(fx.deletes.contains(&token_key(&SecretHash::of(t))), "{t}");
        }
        assert!(fx.deletes.contains(&refresh_key(&SecretHash::of("r1"))) && fx.deletes.contains(&refresh_key(&SecretHash::of("r2"))));
        assert!(!fx.deletes.contains(&token_key(&SecretHash::of("a4"))) && !fx.deletes.contains(&"f:u10:f3".to_string()));
        assert_eq!(fx.puts, vec![(user_gate_key("u1"), r#"{"min_epoch":5}"#.to_string())]);
        // The gate never goes down.
        let ((), fx) = KillUser { user_id: "u1".into(), epoch: 1 }.checked(&loaded, 0).unwrap();
        assert_eq!(fx.puts, vec![(user_gate_key("u1"), r#"{"min_epoch":2}"#.to_string())]);
    }

    #[test]
    fn an_old_access_list_drains_and_is_no_longer_written() {
        let mut f = family("u", &["a", "b"]);
        f.access[1].1 = 900;
        f.prune(499);
        assert_eq!(f.access.len(), 2);
        f.prune(500);
        assert_eq!(f.access.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>(), vec![SecretHash::of("b")]);
        f.prune(900);
        assert!(!crate::shard::to_json(&f).contains("access"), "an empty list is not written");
        assert!(f.is_live(999) && !f.is_live(1_000));
    }

    #[test]
    fn a_member_is_a_row_of_its_own_and_a_kill_names_the_rows() {
        let mut fx = Effects::default();
        add_member(&mut fx, "u1:f1", &SecretHash::of("a9"), 700);
        assert_eq!(fx.puts, vec![(member_key("u1:f1", &SecretHash::of("a9")), "700".to_string())]);
        let mut fx = Effects::default();
        kill(&mut fx, "u1:f1", &family("u1", &["a1"]));
        assert_eq!(fx.members, vec!["m:u1:f1:"], "the rows of this family only (':' ends the id)");
        assert!(fx.deletes.contains(&token_key(&SecretHash::of("a1"))), "listed in an old record: killed too");
    }
}
