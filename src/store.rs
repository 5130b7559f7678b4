//! The storage seams: clients (Workers KV at the edge) and token shards (Durable Objects at the
//! edge), as small traits, with in-memory fakes for native tests and benchmarks.

use crate::client::Client;
use crate::shard::{Command, Reply};

/// A storage call failed (the backend's message, for the log only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl From<StoreError> for crate::error::OAuthError {
    fn from(e: StoreError) -> Self {
        crate::error::OAuthError::Unavailable(e.0)
    }
}

/// Where clients live: KV namespace `CLIENTS`, key `client:{client_id}`.
#[allow(async_fn_in_trait)]
pub trait ClientStore {
    async fn get(&self, client_id: &str) -> Result<Option<Client>, StoreError>;
    async fn put(&self, client: &Client) -> Result<(), StoreError>;
    async fn delete(&self, client_id: &str) -> Result<(), StoreError>;
    async fn list(&self) -> Result<Vec<Client>, StoreError>;
}

/// Where live tokens live: the shard `{client_id}/{shard}` of Durable Object namespace `TOKENS`.
#[allow(async_fn_in_trait)]
pub trait Shards {
    async fn call(&self, client_id: &str, shard: u8, cmd: &Command) -> Result<Reply, StoreError>;
}

/// The key of a client in KV.
pub fn client_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

#[cfg(not(target_arch = "wasm32"))]
pub mod memory {
    //! In-memory fakes with the real semantics (the shard fake runs the real shard logic), plus
    //! fault injection for failure tests.

    use super::*;
    use std::cell::{Cell, RefCell};
    use std::collections::{BTreeMap, HashMap};
    use crate::shard::{self, ShardStorage};
    use std::rc::Rc;

    /// Fails the next `n` calls when set.
    #[derive(Default)]
    pub struct Faults(Cell<u32>);

    impl Faults {
        pub fn fail_next(&self, n: u32) {
            self.0.set(n);
        }
        fn check(&self, what: &str) -> Result<(), StoreError> {
            let n = self.0.get();
            if n > 0 {
                self.0.set(n - 1);
                return Err(StoreError(format!("injected fault in {what}")));
            }
            Ok(())
        }
    }

    #[derive(Default)]
    pub struct MemClients {
        /// Stored as JSON text, as KV stores it.
        pub map: RefCell<BTreeMap<String, String>>,
        pub faults: Faults,
    }

    impl ClientStore for MemClients {
        async fn get(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
            self.faults.check("kv get")?;
            let map = self.map.borrow();
            map.get(&client_key(client_id))
                .map(|t| serde_json::from_str(t).map_err(|e| StoreError(e.to_string())))
                .transpose()
        }
        async fn put(&self, client: &Client) -> Result<(), StoreError> {
            self.faults.check("kv put")?;
            let text = serde_json::to_string(client).map_err(|e| StoreError(e.to_string()))?;
            self.map.borrow_mut().insert(client_key(&client.client_id), text);
            Ok(())
        }
        async fn delete(&self, client_id: &str) -> Result<(), StoreError> {
            self.faults.check("kv delete")?;
            self.map.borrow_mut().remove(&client_key(client_id));
            Ok(())
        }
        async fn list(&self) -> Result<Vec<Client>, StoreError> {
            self.faults.check("kv list")?;
            self.map.borrow().values().map(|t| serde_json::from_str(t).map_err(|e| StoreError(e.to_string()))).collect()
        }
    }

    /// One shard's storage: key to JSON text, as the Durable Object keeps it.
    #[derive(Default)]
    pub struct MemShard {
        pub entries: RefCell<BTreeMap<String, String>>,
        pub alarm: Cell<Option<u64>>,
    }

    impl MemShard {
        pub fn token_count(&self) -> usize {
            self.entries.borrow().keys().filter(|k| k.starts_with(shard::TOKEN_PREFIX)).count()
        }
    }

    impl ShardStorage for MemShard {
        async fn get(&self, keys: &[String]) -> Result<Vec<(String, String)>, StoreError> {
            let map = self.entries.borrow();
            Ok(keys.iter().filter_map(|k| map.get(k).map(|v| (k.clone(), v.clone()))).collect())
        }
        async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
            let map = self.entries.borrow();
            Ok(map.range(prefix.to_string()..).take_while(|(k, _)| k.starts_with(prefix)).map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        async fn commit(&self, puts: &[(String, String)], deletes: &[String]) -> Result<(), StoreError> {
            let mut map = self.entries.borrow_mut();
            for (k, v) in puts {
                map.insert(k.clone(), v.clone());
            }
            for k in deletes {
                map.remove(k);
            }
            Ok(())
        }
        async fn alarm(&self) -> Result<Option<u64>, StoreError> {
            Ok(self.alarm.get())
        }
        async fn set_alarm(&self, at_ms: u64) -> Result<(), StoreError> {
            self.alarm.set(Some(at_ms));
            Ok(())
        }
    }

    /// All shards, with a shared clock standing in for each Durable Object's `Date.now()`.
    #[derive(Default)]
    pub struct MemShards {
        pub shards: RefCell<HashMap<String, Rc<MemShard>>>,
        pub now_ms: Cell<u64>,
        pub faults: Faults,
    }

    impl MemShards {
        pub fn shard(&self, client_id: &str, shard: u8) -> Rc<MemShard> {
            self.shards.borrow_mut().entry(format!("{client_id}/{shard}")).or_default().clone()
        }

        /// Fire every alarm that is due, as the runtime would.
        pub async fn fire_alarms(&self) -> usize {
            let now = self.now_ms.get();
            let due: Vec<Rc<MemShard>> =
                self.shards.borrow().values().filter(|s| s.alarm.get().is_some_and(|a| a <= now)).cloned().collect();
            let mut deleted = 0;
            for s in due {
                s.alarm.set(None);
                deleted += shard::sweep(&*s, now).await.unwrap();
            }
            deleted
        }

        pub fn stored_tokens(&self) -> usize {
            self.shards.borrow().values().map(|s| s.token_count()).sum()
        }
    }

    impl Shards for MemShards {
        async fn call(&self, client_id: &str, shard: u8, cmd: &Command) -> Result<Reply, StoreError> {
            self.faults.check("durable object")?;
            // Round-trip through JSON, as the edge does.
            let cmd: Command = serde_json::from_str(&serde_json::to_string(cmd).unwrap()).unwrap();
            let s = self.shard(client_id, shard);
            shard::handle(&*s, cmd, self.now_ms.get()).await
        }
    }
}
