//! The metadata-document host blocklist, in one object ([`OBJECT`], class `TokenShard`). KV is
//! eventually consistent, and a block must refuse a host at once (cached documents included):
//! so the list lives in a Durable Object, and every use of a metadata-document client asks it.
//! Hosts are compared lower-cased (DNS names are case-insensitive, RFC 4343).

use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use serde::{Deserialize, Serialize};

/// The one object that holds the list. Token shards are named `{prefix}/{n}`: no clash.
pub const OBJECT: &str = "cimd-blocklist";
const PREFIX: &str = "host:";

fn key(host: &str) -> String {
    format!("{PREFIX}{}", host.to_ascii_lowercase())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedHost {
    pub host: String,
    pub created_at: u64,
}

/// Block a host. Blocking it again keeps the first record. Replies with the host as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub host: String,
}

impl Op for Block {
    type Reply = String;
    fn keys(&self) -> Vec<String> {
        vec![key(&self.host)]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(String, Effects), StoreError> {
        let mut fx = Effects::default();
        let k = key(&self.host);
        if let Some(b) = loaded.get::<BlockedHost>(&k)? {
            return Ok((b.host, fx));
        }
        let host = self.host.to_ascii_lowercase();
        fx.put(k, &BlockedHost { host: host.clone(), created_at: now_ms });
        Ok((host, fx))
    }
}

/// Lift a block. Replies whether there was one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unblock {
    pub host: String,
}

impl Op for Unblock {
    type Reply = bool;
    fn keys(&self) -> Vec<String> {
        vec![key(&self.host)]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(bool, Effects), StoreError> {
        let mut fx = Effects::default();
        let k = key(&self.host);
        let existed = loaded.get::<BlockedHost>(&k)?.is_some();
        if existed {
            fx.delete(k);
        }
        Ok((existed, fx))
    }
}

/// Is this host blocked? (Reads only.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsBlocked {
    pub host: String,
}

impl Op for IsBlocked {
    type Reply = bool;
    fn keys(&self) -> Vec<String> {
        vec![key(&self.host)]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(bool, Effects), StoreError> {
        Ok((loaded.get::<BlockedHost>(&key(&self.host))?.is_some(), Effects::default()))
    }
}

/// Every blocked host, oldest block first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListBlocked {}

impl Op for ListBlocked {
    type Reply = Vec<String>;
    fn keys(&self) -> Vec<String> {
        Vec::new()
    }
    fn prefixes(&self) -> Vec<String> {
        vec![PREFIX.into()]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Vec<String>, Effects), StoreError> {
        let all: Vec<BlockedHost> = loaded.under::<BlockedHost>(PREFIX)?.into_iter().map(|(_, b)| b).collect();
        let sorted = crate::store::oldest_first(all, |b| (b.created_at, &b.host));
        Ok((sorted.into_iter().map(|b| b.host).collect(), Effects::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Checked;

    /// Blocked hosts and when they were blocked.
    type State = &'static [(&'static str, u64)];

    fn with(hosts: State) -> Loaded {
        hosts.iter().fold(Loaded::default(), |l, (h, at)| l.with(key(h), &BlockedHost { host: h.to_string(), created_at: *at }))
    }

    #[test]
    fn block_table() {
        // (state, host, reply, writes?)
        let cases: [(State, &str, &str, bool); 4] = [
            (&[], "app.example.com", "app.example.com", true),
            (&[], "App.Example.COM", "app.example.com", true),
            (&[("app.example.com", 5)], "APP.example.com", "app.example.com", false),
            (&[("other.example", 5)], "app.example.com", "app.example.com", true),
        ];
        for (state, host, want, writes) in cases {
            let (reply, fx) = Block { host: host.into() }.checked(&with(state), 7).unwrap();
            assert_eq!(reply, want, "{host}");
            assert_eq!(!fx.puts.is_empty(), writes, "{host}");
            if writes {
                assert_eq!(fx.puts[0].0, "host:app.example.com");
                assert!(fx.puts[0].1.contains("\"created_at\":7"));
            }
        }
    }

    #[test]
    fn unblock_and_check_are_case_insensitive() {
        let state = with(&[("app.example.com", 5)]);
        assert!(IsBlocked { host: "APP.Example.com".into() }.checked(&state, 0).unwrap().0);
        assert!(!IsBlocked { host: "app.example.co".into() }.checked(&state, 0).unwrap().0);
        assert!(!IsBlocked { host: "evil.app.example.com".into() }.checked(&state, 0).unwrap().0, "no suffix matching");
        let (existed, fx) = Unblock { host: "App.Example.Com".into() }.checked(&state, 0).unwrap();
        assert!(existed);
        assert_eq!(fx.deletes, vec!["host:app.example.com".to_string()]);
        let (existed, fx) = Unblock { host: "nope.example".into() }.checked(&state, 0).unwrap();
        assert!(!existed);
        assert_eq!(fx, Effects::default(), "an unknown host changes nothing");
    }

    #[test]
    fn list_oldest_first() {
        let state = with(&[("b.example", 2), ("a.example", 9), ("c.example", 1)]);
        let (hosts, fx) = ListBlocked {}.checked(&state, 0).unwrap();
        assert_eq!(hosts, vec!["c.example", "b.example", "a.example"]);
        assert_eq!(fx, Effects::default());
        assert!(ListBlocked {}.checked(&Loaded::default(), 0).unwrap().0.is_empty());
    }
}
