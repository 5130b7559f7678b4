//! Clients in Workers KV (`CLIENTS`): one JSON value per client under `client:{client_id}`.
//! KV is eventually consistent; nothing that must take effect at once relies on it alone
//! (the shard gates decide whether a deleted, disabled or rotated client's tokens live).

use super::Client;
use crate::error::StoreError;
use crate::store::Kv;

const PREFIX: &str = "client:";

/// The key of a client in KV.
pub fn client_key(client_id: &str) -> String {
    format!("{PREFIX}{client_id}")
}

pub async fn get<K: Kv>(kv: &K, client_id: &str) -> Result<Option<Client>, StoreError> {
    // Ids are ours: anything else cannot name a client, and need not cost a KV read.
    if client_id.is_empty() || client_id.len() > 64 {
        return Ok(None);
    }
    let text = kv.get(&client_key(client_id)).await?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError(format!("corrupt client record: {e}")))).transpose()
}

pub async fn put<K: Kv>(kv: &K, client: &Client) -> Result<(), StoreError> {
    let text = serde_json::to_string(client).map_err(|e| StoreError(e.to_string()))?;
    kv.put(&client_key(&client.client_id), &text).await
}

pub async fn delete<K: Kv>(kv: &K, client_id: &str) -> Result<(), StoreError> {
    kv.delete(&client_key(client_id)).await
}

/// Every client, in the order KV lists them. A record deleted between the listing and its
/// read is skipped.
pub async fn list<K: Kv>(kv: &K) -> Result<Vec<Client>, StoreError> {
    let mut clients = Vec::new();
    for key in kv.list(PREFIX).await? {
        if let Some(c) = get(kv, key.trim_start_matches(PREFIX)).await? {
            clients.push(c);
        }
    }
    Ok(clients)
}
