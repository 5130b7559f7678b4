//! Workers KV, raw: text values by key, the binding's methods called directly with plain
//! strings.

use crate::error::StoreError;
use crate::store::Kv;
use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

pub struct KvStore {
    ns: Object,
}

fn js_err(what: &str) -> impl Fn(JsValue) -> StoreError + '_ {
    move |e| StoreError(format!("KV {what}: {e:?}"))
}

impl KvStore {
    pub fn new(env: &JsValue, binding: &str) -> Result<Self, JsValue> {
        let ns = Reflect::get(env, &JsValue::from_str(binding))?;
        if ns.is_undefined() {
            return Err(JsValue::from_str(&format!("KV binding {binding} is not configured")));
        }
        Ok(KvStore { ns: ns.unchecked_into() })
    }

    async fn call(&self, method: &str, args: &[JsValue]) -> Result<JsValue, StoreError> {
        super::futures::invoke(&self.ns, method, args).await.map_err(js_err(method))
    }
}

impl Kv for KvStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.call("get", &[JsValue::from_str(key)]).await?.as_string())
    }

    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.call("put", &[JsValue::from_str(key), JsValue::from_str(value)]).await.map(|_| ())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.call("delete", &[JsValue::from_str(key)]).await.map(|_| ())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let opts = Object::new();
            let set = |k: &str, v: &str| Reflect::set(&opts, &JsValue::from_str(k), &JsValue::from_str(v)).map(|_| ());
            set("prefix", prefix).map_err(js_err("list"))?;
            if let Some(c) = cursor.take() {
                set("cursor", &c).map_err(js_err("list"))?;
            }
            let page = self.call("list", &[opts.into()]).await?;
            let field = |k: &str| Reflect::get(&page, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
            let keys: js_sys::Array = field("keys").unchecked_into();
            for key in keys.iter() {
                if let Some(name) = Reflect::get(&key, &JsValue::from_str("name")).ok().and_then(|n| n.as_string()) {
                    names.push(name);
                }
            }
            cursor = field("cursor").as_string().filter(|c| !c.is_empty());
            if field("list_complete").as_bool().unwrap_or(true) || cursor.is_none() {
                break;
            }
        }
        Ok(names)
    }
}
