//! The KV copy of each user's admin view (`user:{user_id}`), for `GET /admin/users`. Like the
//! clients' records it is eventually consistent; the user's object is the authority.

use super::User;
use crate::error::StoreError;
use crate::store::Kv;
use serde_json::Value;

const PREFIX: &str = "user:";

pub async fn put<K: Kv>(kv: &K, user: &User) -> Result<(), StoreError> {
    kv.put(&format!("{PREFIX}{}", user.user_id), &user.view().to_string()).await
}

pub async fn delete<K: Kv>(kv: &K, user_id: &str) -> Result<(), StoreError> {
    kv.delete(&format!("{PREFIX}{user_id}")).await
}

/// Every user's view, oldest first.
pub async fn list<K: Kv>(kv: &K) -> Result<Vec<Value>, StoreError> {
    let mut views = Vec::new();
    for key in kv.list(PREFIX).await? {
        if let Some(text) = kv.get(&key).await? {
            views.push(serde_json::from_str::<Value>(&text).map_err(|e| StoreError(format!("corrupt user view: {e}")))?);
        }
    }
    Ok(crate::store::oldest_first(views, |v| (v["created_at"].as_u64().unwrap_or(0), v["user_id"].as_str().unwrap_or(""))))
}
