//! Durable Objects: the transport that carries a JSON request to a named object and its reply
//! back ([`DoObjects`]), and the object classes themselves. `TokenShard` (`TOKENS`) runs
//! [`crate::shard`]: the object `{client_id}/{n}` stores a share of that client's live tokens
//! under their SHA-256, plus the client's gate; its alarm deletes what has expired.

use crate::error::StoreError;
use crate::shard::{self, ShardStorage};
use crate::store::{Namespace, Objects};
use js_sys::futures::JsFuture;
use std::cell::{Cell, RefCell};
use wasm_bindgen::{JsCast, JsValue};
use worker::{durable_object, DurableObject, Env, ObjectNamespace, Request, Response, Result, State, Storage};

fn store_err(what: &'static str) -> impl Fn(worker::Error) -> StoreError {
    move |e| StoreError(format!("durable object {what}: {e}"))
}

/// Call a JS method that returns a promise, and await it; both failures become a StoreError.
async fn run(promise: std::result::Result<js_sys::Promise, JsValue>, what: &str) -> std::result::Result<JsValue, StoreError> {
    let promise = promise.map_err(|e| StoreError(format!("durable object {what}: {e:?}")))?;
    JsFuture::from(promise).await.map_err(|e| StoreError(format!("durable object {what}: {e:?}")))
}

/// The caller's side: one POST to the named object, the request as the body.
pub struct DoObjects {
    tokens: ObjectNamespace,
    users: ObjectNamespace,
}

impl DoObjects {
    pub fn new(env: &Env) -> Result<Self> {
        Ok(DoObjects { tokens: env.durable_object("TOKENS")?, users: env.durable_object("USERS")? })
    }
}

impl Objects for DoObjects {
    async fn send(&self, ns: Namespace, name: &str, body: &str) -> std::result::Result<String, StoreError> {
        let ns = match ns {
            Namespace::Tokens => &self.tokens,
            Namespace::Users => &self.users,
        };
        let stub = ns.get_by_name(name).map_err(store_err("stub"))?;
        // Built with web-sys directly: worker's RequestInit conversion would bring its
        // serde-wasm-bindgen `cf` encoding (and core's float formatting) into the wasm.
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(body));
        let req = web_sys::Request::new_with_str_and_init("https://shard/", &init).map_err(|e| StoreError(format!("durable object request: {e:?}")))?;
        // The stub and the response are used raw as well: one promise each, no wrappers.
        let stub: worker::worker_sys::DurableObject = stub.into_rpc();
        let resp: web_sys::Response = run(stub.fetch_with_request(&req), "fetch").await?.unchecked_into();
        let text = run(resp.text(), "reply").await?.as_string().unwrap_or_default();
        if resp.status() != 200 {
            return Err(StoreError(format!("shard answered {}: {text}", resp.status())));
        }
        Ok(text)
    }
}

/// The Durable Object itself. It is the only writer of its storage, so it keeps the gate and
/// the alarm time in memory (write-through): issuing a token is then one storage write.
#[durable_object]
pub struct TokenShard {
    state: State,
    memo: Memo,
}

#[derive(Default)]
struct Memo {
    /// The gate's stored JSON: `None` until read, `Some(None)` when there is none.
    gate: RefCell<Option<Option<String>>>,
    /// The scheduled alarm: `None` until read.
    alarm: Cell<Option<Option<u64>>>,
}

struct DoStorage<'a>(Storage, &'a Memo);

/// Values are stored as JSON text (one serialiser for KV, Durable Objects and the wire) and
/// the storage API is called directly, so no serde-wasm-bindgen code reaches the wasm.
impl DoStorage<'_> {
    /// A storage `Map` result as (key, text) pairs.
    fn pairs(map: JsValue) -> Vec<(String, String)> {
        let map: js_sys::Map = map.unchecked_into();
        let mut out = Vec::with_capacity(map.size() as usize);
        map.for_each(&mut |value, key| {
            if let (Some(k), Some(v)) = (key.as_string(), value.as_string()) {
                out.push((k, v));
            }
        });
        out
    }
}

impl ShardStorage for DoStorage<'_> {
    async fn get(&self, keys: &[String]) -> std::result::Result<Vec<(String, String)>, StoreError> {
        let cached_gate = self.1.gate.borrow().clone();
        let wanted: Vec<JsValue> =
            keys.iter().filter(|k| !(cached_gate.is_some() && k.as_str() == shard::gate::GATE_KEY)).map(|k| JsValue::from_str(k)).collect();
        let mut out = if wanted.is_empty() { Vec::new() } else { Self::pairs(run(self.0.as_raw().get_multiple(wanted), "get").await?) };
        if keys.iter().any(|k| k == shard::gate::GATE_KEY) {
            match cached_gate {
                Some(Some(text)) => out.push((shard::gate::GATE_KEY.to_string(), text)),
                Some(None) => {}
                None => {
                    let text = out.iter().find(|(k, _)| k == shard::gate::GATE_KEY).map(|(_, v)| v.clone());
                    *self.1.gate.borrow_mut() = Some(text);
                }
            }
        }
        Ok(out)
    }

    async fn list(&self, prefix: &str) -> std::result::Result<Vec<(String, String)>, StoreError> {
        let opts = js_sys::Object::new();
        js_sys::Reflect::set(&opts, &JsValue::from_str("prefix"), &JsValue::from_str(prefix)).map_err(|e| StoreError(format!("list options: {e:?}")))?;
        Ok(Self::pairs(run(self.0.as_raw().list_with_options(opts), "list").await?))
    }

    async fn commit(&self, puts: &[(String, String)], deletes: &[String]) -> std::result::Result<(), StoreError> {
        // Both calls are issued before either is awaited: the runtime coalesces them into one
        // atomic write.
        let put = (!puts.is_empty()).then(|| {
            let entries = js_sys::Object::new();
            for (k, v) in puts {
                let _ = js_sys::Reflect::set(&entries, &JsValue::from_str(k), &JsValue::from_str(v));
            }
            self.0.as_raw().put_multiple(entries.into())
        });
        let delete = (!deletes.is_empty()).then(|| self.0.as_raw().delete_multiple(deletes.iter().map(|k| JsValue::from_str(k)).collect()));
        // Write-through: the memo changes with the write. If the write then fails, the memo is
        // dropped, to be read again.
        if let Some((_, gate)) = puts.iter().find(|(k, _)| k == shard::gate::GATE_KEY) {
            *self.1.gate.borrow_mut() = Some(Some(gate.clone()));
        }
        let result = async {
            if let Some(p) = put {
                run(p, "put").await?;
            }
            if let Some(p) = delete {
                run(p, "delete").await?;
            }
            Ok(())
        }
        .await;
        if result.is_err() {
            *self.1.gate.borrow_mut() = None;
        }
        result
    }

    async fn alarm(&self) -> std::result::Result<Option<u64>, StoreError> {
        if let Some(known) = self.1.alarm.get() {
            return Ok(known);
        }
        let at = run(self.0.as_raw().get_alarm(js_sys::Object::new()), "get alarm").await?;
        let at = at.as_f64().map(|ms| ms.max(0.0) as u64);
        self.1.alarm.set(Some(at));
        Ok(at)
    }

    async fn set_alarm(&self, at_ms: u64) -> std::result::Result<(), StoreError> {
        let date = js_sys::Date::new(&JsValue::from_f64(at_ms as f64));
        self.1.alarm.set(None);
        run(self.0.as_raw().set_alarm(date, js_sys::Object::new()), "set alarm").await?;
        self.1.alarm.set(Some(Some(at_ms)));
        Ok(())
    }
}

impl DurableObject for TokenShard {
    fn new(state: State, _env: Env) -> Self {
        TokenShard { state, memo: Memo::default() }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = DoStorage(self.state.storage(), &self.memo);
        match shard::handle(&storage, &req.text().await?, worker::Date::now().as_millis()).await {
            Ok(reply) => Response::ok(reply),
            Err(e) => Response::error(e.0, 500),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        // The alarm that is firing is no longer scheduled.
        self.memo.alarm.set(Some(None));
        let storage = DoStorage(self.state.storage(), &self.memo);
        match shard::sweep::sweep(&storage, worker::Date::now().as_millis()).await {
            Ok(_) => Response::ok("swept"),
            // Returning an error makes the runtime retry the alarm.
            Err(e) => Err(worker::Error::RustError(e.0)),
        }
    }
}

/// The user objects (`USERS`): `id:{user_id}` holds a user, its sessions and grants;
/// `name:{username}` claims a username. Its alarm deletes expired sessions.
#[durable_object]
pub struct UserObject {
    state: State,
    memo: Memo,
}

impl DurableObject for UserObject {
    fn new(state: State, _env: Env) -> Self {
        UserObject { state, memo: Memo::default() }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = DoStorage(self.state.storage(), &self.memo);
        match shard::handle_users(&storage, &req.text().await?, worker::Date::now().as_millis()).await {
            Ok(reply) => Response::ok(reply),
            Err(e) => Response::error(e.0, 500),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.memo.alarm.set(Some(None));
        let storage = DoStorage(self.state.storage(), &self.memo);
        match shard::users::sweep(&storage, worker::Date::now().as_millis()).await {
            Ok(_) => Response::ok("swept"),
            Err(e) => Err(worker::Error::RustError(e.0)),
        }
    }
}
