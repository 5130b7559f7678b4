//! Clients in Workers KV (`CLIENTS`): one JSON value per client under `client:{client_id}`.

use crate::client::Client;
use crate::store::{client_key, ClientStore, StoreError};
use worker::kv::KvStore;

pub struct KvClients {
    kv: KvStore,
}

impl KvClients {
    pub fn new(kv: KvStore) -> Self {
        KvClients { kv }
    }
}

fn fail(what: &str) -> impl Fn(worker::kv::KvError) -> StoreError + '_ {
    move |e| StoreError(format!("KV {what}: {e}"))
}

impl ClientStore for KvClients {
    async fn get(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        // Ids are ours: anything else cannot name a client, and need not cost a KV read.
        if client_id.is_empty() || client_id.len() > 64 {
            return Ok(None);
        }
        let text = self.kv.get(&client_key(client_id)).text().await.map_err(fail("get"))?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError(format!("corrupt client record: {e}")))).transpose()
    }

    async fn put(&self, client: &Client) -> Result<(), StoreError> {
        let text = serde_json::to_string(client).map_err(|e| StoreError(e.to_string()))?;
        self.kv.put(&client_key(&client.client_id), text).map_err(fail("put"))?.execute().await.map_err(fail("put"))
    }

    async fn delete(&self, client_id: &str) -> Result<(), StoreError> {
        self.kv.delete(&client_key(client_id)).await.map_err(fail("delete"))
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        let mut clients = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut req = self.kv.list().prefix("client:".into());
            if let Some(c) = cursor.take() {
                req = req.cursor(c);
            }
            let page = req.execute().await.map_err(fail("list"))?;
            for key in &page.keys {
                let id = key.name.trim_start_matches("client:");
                if let Some(c) = self.get(id).await? {
                    clients.push(c);
                }
            }
            if page.list_complete {
                break;
            }
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
        Ok(clients)
    }
}
