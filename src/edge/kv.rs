//! Clients in Workers KV (`CLIENTS`): one JSON value per client under `client:{client_id}`.
//! The KV binding is called directly (get/put/delete/list with plain strings) rather than
//! through `worker::kv`, whose list decoding would bring serde-wasm-bindgen into the wasm.

use crate::client::Client;
use crate::store::{client_key, ClientStore, StoreError};
use js_sys::futures::JsFuture;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};

pub struct KvClients {
    ns: Object,
}

fn js_err(what: &str) -> impl Fn(JsValue) -> StoreError + '_ {
    move |e| StoreError(format!("KV {what}: {e:?}"))
}

impl KvClients {
    pub fn new(env: &worker::Env, binding: &str) -> worker::Result<Self> {
        let ns = Reflect::get(env, &JsValue::from_str(binding)).map_err(|_| worker::Error::from("no KV binding"))?;
        if ns.is_undefined() {
            return Err(worker::Error::from(format!("KV binding {binding} is not configured")));
        }
        Ok(KvClients { ns: ns.unchecked_into() })
    }

    async fn call(&self, method: &str, args: &[JsValue]) -> Result<JsValue, StoreError> {
        let f: Function = Reflect::get(&self.ns, &JsValue::from_str(method)).map_err(js_err(method))?.unchecked_into();
        let promise = match args {
            [a] => f.call1(&self.ns, a),
            [a, b] => f.call2(&self.ns, a, b),
            _ => f.call0(&self.ns),
        }
        .map_err(js_err(method))?;
        JsFuture::from(promise.unchecked_into::<Promise>()).await.map_err(js_err(method))
    }

    async fn get_text(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.call("get", &[JsValue::from_str(key)]).await?.as_string())
    }
}

impl ClientStore for KvClients {
    async fn get(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        // Ids are ours: anything else cannot name a client, and need not cost a KV read.
        if client_id.is_empty() || client_id.len() > 64 {
            return Ok(None);
        }
        let text = self.get_text(&client_key(client_id)).await?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError(format!("corrupt client record: {e}")))).transpose()
    }

    async fn put(&self, client: &Client) -> Result<(), StoreError> {
        let text = serde_json::to_string(client).map_err(|e| StoreError(e.to_string()))?;
        self.call("put", &[JsValue::from_str(&client_key(&client.client_id)), JsValue::from_str(&text)]).await.map(|_| ())
    }

    async fn delete(&self, client_id: &str) -> Result<(), StoreError> {
        self.call("delete", &[JsValue::from_str(&client_key(client_id))]).await.map(|_| ())
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        let mut clients = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let opts = Object::new();
            let set = |k: &str, v: &str| Reflect::set(&opts, &JsValue::from_str(k), &JsValue::from_str(v)).map(|_| ());
            set("prefix", "client:").map_err(js_err("list"))?;
            if let Some(c) = cursor.take() {
                set("cursor", &c).map_err(js_err("list"))?;
            }
            let page = self.call("list", &[opts.into()]).await?;
            let field = |k: &str| Reflect::get(&page, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
            let keys: js_sys::Array = field("keys").unchecked_into();
            for key in keys.iter() {
                let name = Reflect::get(&key, &JsValue::from_str("name")).ok().and_then(|n| n.as_string()).unwrap_or_default();
                if let Some(c) = self.get(name.trim_start_matches("client:")).await? {
                    clients.push(c);
                }
            }
            cursor = field("cursor").as_string().filter(|c| !c.is_empty());
            if field("list_complete").as_bool().unwrap_or(true) || cursor.is_none() {
                break;
            }
        }
        Ok(clients)
    }
}
