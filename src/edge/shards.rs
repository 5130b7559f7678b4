//! Token shards as Durable Objects (`TOKENS`): the object named `{client_id}/{shard}` stores a
//! share of that client's live tokens, each under the SHA-256 of the token, plus the client's
//! gate. Its alarm deletes expired tokens.

use crate::limits::Counter;
use crate::secret::SecretHash;
use crate::shard::{self, Command, Gate, Reply, ShardStorage};
use crate::store::{Shards, StoreError};
use crate::token::TokenRecord;
use wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Method, ObjectNamespace, Request, RequestInit, Response, Result, State, Storage};

const GATE_KEY: &str = "gate";
const TOKEN_PREFIX: &str = "t:";
const COUNTER_PREFIX: &str = "c:";

fn token_key(hash: &SecretHash) -> String {
    format!("{TOKEN_PREFIX}{}", hash.as_str())
}

fn store_err(what: &'static str) -> impl Fn(worker::Error) -> StoreError {
    move |e| StoreError(format!("durable object {what}: {e}"))
}

/// The client side: sends a [`Command`] to a shard as JSON and reads its [`Reply`].
pub struct DoShards {
    ns: ObjectNamespace,
}

impl DoShards {
    pub fn new(ns: ObjectNamespace) -> Self {
        DoShards { ns }
    }
}

impl Shards for DoShards {
    async fn call(&self, client_id: &str, shard: u8, cmd: &Command) -> std::result::Result<Reply, StoreError> {
        let stub = self.ns.get_by_name(&format!("{client_id}/{shard}")).map_err(store_err("stub"))?;
        let body = serde_json::to_string(cmd).map_err(|e| StoreError(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body)));
        let req = Request::new_with_init("https://shard/", &init).map_err(store_err("request"))?;
        let mut resp = stub.fetch_with_request(req).await.map_err(store_err("fetch"))?;
        if resp.status_code() != 200 {
            let text = resp.text().await.unwrap_or_default();
            return Err(StoreError(format!("shard answered {}: {text}", resp.status_code())));
        }
        resp.json::<Reply>().await.map_err(store_err("reply"))
    }
}

/// The Durable Object itself.
#[durable_object]
pub struct TokenShard {
    state: State,
}

struct DoStorage(Storage);

impl DoStorage {
    /// Every value under `prefix`, keyed by the rest of its key.
    async fn list<T: serde::de::DeserializeOwned>(&self, prefix: &str) -> std::result::Result<Vec<(String, T)>, StoreError> {
        let map = self.0.list_with_options(worker::ListOptions::new().prefix(prefix)).await.map_err(store_err("list"))?;
        let mut out = Vec::new();
        for entry in map.entries() {
            let pair: js_sys::Array = entry.map_err(|e| StoreError(format!("list entry: {e:?}")))?.into();
            let key = pair.get(0).as_string().unwrap_or_default();
            let value: T = serde_wasm_bindgen::from_value(pair.get(1)).map_err(|e| StoreError(format!("corrupt record {key}: {e}")))?;
            out.push((key[prefix.len()..].to_string(), value));
        }
        Ok(out)
    }
}

impl ShardStorage for DoStorage {
    async fn load(&self, hash: Option<&SecretHash>) -> std::result::Result<(Gate, Option<TokenRecord>), StoreError> {
        let gate = self.0.get::<Gate>(GATE_KEY).await.map_err(store_err("get gate"))?.unwrap_or_default();
        let record = match hash {
            Some(h) => self.0.get::<TokenRecord>(&token_key(h)).await.map_err(store_err("get token"))?,
            None => None,
        };
        Ok((gate, record))
    }

    async fn put_gate(&self, gate: &Gate) -> std::result::Result<(), StoreError> {
        self.0.put(GATE_KEY, gate).await.map_err(store_err("put gate"))
    }

    async fn put_token(&self, hash: &SecretHash, record: &TokenRecord) -> std::result::Result<(), StoreError> {
        self.0.put(&token_key(hash), record).await.map_err(store_err("put token"))
    }

    async fn delete_token(&self, hash: &SecretHash) -> std::result::Result<(), StoreError> {
        self.0.delete(&token_key(hash)).await.map(|_| ()).map_err(store_err("delete token"))
    }

    async fn tokens(&self) -> std::result::Result<Vec<(SecretHash, TokenRecord)>, StoreError> {
        let entries: Vec<(String, TokenRecord)> = self.list(TOKEN_PREFIX).await?;
        Ok(entries
            .into_iter()
            .filter_map(|(key, record)| serde_json::from_value(serde_json::Value::String(key)).ok().map(|h| (h, record)))
            .collect())
    }

    async fn counter(&self, name: &str) -> std::result::Result<Option<Counter>, StoreError> {
        self.0.get(&format!("{COUNTER_PREFIX}{name}")).await.map_err(store_err("get counter"))
    }

    async fn put_counter(&self, name: &str, counter: &Counter) -> std::result::Result<(), StoreError> {
        self.0.put(&format!("{COUNTER_PREFIX}{name}"), counter).await.map_err(store_err("put counter"))
    }

    async fn delete_counter(&self, name: &str) -> std::result::Result<(), StoreError> {
        self.0.delete(&format!("{COUNTER_PREFIX}{name}")).await.map(|_| ()).map_err(store_err("delete counter"))
    }

    async fn counters(&self) -> std::result::Result<Vec<(String, Counter)>, StoreError> {
        self.list(COUNTER_PREFIX).await
    }

    async fn alarm(&self) -> std::result::Result<Option<u64>, StoreError> {
        Ok(self.0.get_alarm().await.map_err(store_err("get alarm"))?.map(|ms| ms.max(0) as u64))
    }

    async fn set_alarm(&self, at_ms: u64) -> std::result::Result<(), StoreError> {
        let date = js_sys::Date::new(&JsValue::from_f64(at_ms as f64));
        self.0.set_alarm(worker::ScheduledTime::new(date)).await.map_err(store_err("set alarm"))
    }
}

impl DurableObject for TokenShard {
    fn new(state: State, _env: Env) -> Self {
        TokenShard { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let cmd: Command = match req.json().await {
            Ok(c) => c,
            Err(e) => return Response::error(format!("bad command: {e}"), 400),
        };
        let storage = DoStorage(self.state.storage());
        match shard::handle(&storage, cmd, worker::Date::now().as_millis()).await {
            Ok(reply) => Response::from_json(&reply),
            Err(e) => Response::error(e.0, 500),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = DoStorage(self.state.storage());
        match shard::sweep(&storage, worker::Date::now().as_millis()).await {
            Ok(_) => Response::ok("swept"),
            // Returning an error makes the runtime retry the alarm.
            Err(e) => Err(worker::Error::RustError(e.0)),
        }
    }
}
