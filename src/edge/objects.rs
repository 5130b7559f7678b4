//! Durable Objects, without wrappers: the caller's side ([`DoObjects`]: one RPC call carrying a
//! JSON request to a named object, its reply back) and the objects' cores, which
//! `src/edge/entry.mjs` wraps in classes extending `DurableObject` (the runtime offers RPC only
//! on those). `TokenShard` (`TOKENS`) runs [`crate::shard`]: the object `{client_id}/{n}` holds a
//! share of that client's live tokens under their SHA-256, plus the client's gate and the
//! families, codes and approvals of its users. `UserObject` (`USERS`) holds people. Each keeps
//! what it has read in memory ([`Memo`]): it is the only writer of its storage.

use super::clock::now_ms;
use super::futures;
use crate::error::StoreError;
use crate::shard::memo::Memo;
use crate::shard::{self, ShardStorage};
use crate::store::{Namespace, Objects};
use js_sys::{Array, Function, Map, Object, Promise, Reflect};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

fn js_err(what: &str) -> impl Fn(JsValue) -> StoreError + '_ {
    move |e| StoreError(format!("durable object {what}: {e:?}"))
}

/// `target[method](...args)`, awaited.
async fn invoke(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, StoreError> {
    futures::invoke(target, method, args).await.map_err(js_err(method))
}

/// The caller's side: `env.TOKENS.getByName(name).request(json)`.
pub struct DoObjects {
    tokens: futures::ObjectNamespace,
    users: futures::ObjectNamespace,
}

impl DoObjects {
    pub fn new(env: &JsValue) -> Result<Self, JsValue> {
        let binding = |name: &str| -> Result<futures::ObjectNamespace, JsValue> {
            let ns = Reflect::get(env, &JsValue::from_str(name))?;
            if ns.is_undefined() {
                return Err(JsValue::from_str(&format!("Durable Object binding {name} is not configured")));
            }
            Ok(ns.unchecked_into())
        };
        Ok(DoObjects { tokens: binding("TOKENS")?, users: binding("USERS")? })
    }
}

impl Objects for DoObjects {
    async fn send(&self, ns: Namespace, name: &str, body: &str) -> Result<String, StoreError> {
        let ns = match ns {
            Namespace::Tokens => &self.tokens,
            Namespace::Users => &self.users,
        };
        let reply = futures::call_object(ns, name, body).await.map_err(js_err("request"))?;
        reply.as_string().ok_or_else(|| StoreError("durable object reply: not text".to_string()))
    }
}

/// An object's storage (`ctx.storage`), values as JSON text.
pub struct DoStorage(JsValue);

/// A storage `Map` result as (key, text) pairs.
fn pairs(map: JsValue) -> Vec<(String, String)> {
    let map: Map = map.unchecked_into();
    let mut out = Vec::with_capacity(map.size() as usize);
    map.for_each(&mut |value, key| {
        if let (Some(k), Some(v)) = (key.as_string(), value.as_string()) {
            out.push((k, v));
        }
    });
    out
}

fn strings<'a>(items: impl IntoIterator<Item = &'a String>) -> JsValue {
    items.into_iter().map(|k| JsValue::from_str(k)).collect::<Array>().into()
}

impl ShardStorage for DoStorage {
    async fn get(&self, keys: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        Ok(pairs(invoke(&self.0, "get", &[strings(keys)]).await?))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let opts = Object::new();
        Reflect::set(&opts, &JsValue::from_str("prefix"), &JsValue::from_str(prefix)).map_err(js_err("list"))?;
        Ok(pairs(invoke(&self.0, "list", &[opts.into()]).await?))
    }

    async fn commit(&self, puts: &[(String, String)], deletes: &[String]) -> Result<(), StoreError> {
        // Both calls are made before either is awaited: the runtime coalesces them into one
        // atomic write.
        let method =
            |name: &str| -> Result<Function, StoreError> { Ok(Reflect::get(&self.0, &JsValue::from_str(name)).map_err(js_err(name))?.unchecked_into()) };
        let put = match puts {
            [] => None,
            // One record (an issued token, the common case): put(key, value), no object built.
            [(k, v)] => Some(method("put")?.call2(&self.0, &JsValue::from_str(k), &JsValue::from_str(v)).map_err(js_err("put"))?),
            _ => {
                let entries = Object::new();
                for (k, v) in puts {
                    Reflect::set(&entries, &JsValue::from_str(k), &JsValue::from_str(v)).map_err(js_err("put"))?;
                }
                Some(method("put")?.call1(&self.0, &entries).map_err(js_err("put"))?)
            }
        };
        let delete = match deletes.is_empty() {
            true => None,
            false => Some(method("delete")?.call1(&self.0, &strings(deletes)).map_err(js_err("delete"))?),
        };
        // Both awaited before either result is looked at: a rejection of the other is then
        // still handled (not logged as unhandled).
        let writes: Vec<_> = [put, delete].into_iter().flatten().map(|p| futures::settle(&p)).collect();
        for w in writes {
            w.await.map_err(js_err("write"))?;
        }
        Ok(())
    }

    async fn alarm(&self) -> Result<Option<u64>, StoreError> {
        let at = invoke(&self.0, "getAlarm", &[]).await?;
        Ok(at.as_f64().map(|ms| ms.max(0.0) as u64))
    }

    async fn set_alarm(&self, at_ms: u64) -> Result<(), StoreError> {
        invoke(&self.0, "setAlarm", &[JsValue::from_f64(at_ms as f64)]).await.map(|_| ())
    }
}

/// What the JS classes hold: the object's storage behind its memory.
fn memo(ctx: &JsValue) -> Result<Rc<Memo<DoStorage>>, JsValue> {
    let storage = Reflect::get(ctx, &JsValue::from_str("storage"))?;
    Ok(Rc::new(Memo::new(DoStorage(storage))))
}

/// A storage failure rejects the call (the caller logs it and answers `server_error`); for an
/// alarm, the runtime retries it.
fn reply(r: Result<String, StoreError>) -> Result<JsValue, JsValue> {
    r.map(|text| JsValue::from_str(&text)).map_err(|e| JsValue::from_str(&e.0))
}

/// A reply, without a promise when it is ready at once: a validation of a token in memory
/// reads no storage, so its future completes on the first poll, and handing it back directly
/// saves a promise and a trip through the microtask queue on every validation. Otherwise the
/// same future goes on as a promise (its storage futures take the real waker when polled
/// again).
fn answer(mut work: Pin<Box<dyn Future<Output = Result<String, StoreError>>>>) -> Result<JsValue, JsValue> {
    match work.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => reply(r),
        Poll::Pending => Ok(futures::promise(async move { reply(work.await) }).into()),
    }
}

/// The core of `TokenShard`.
#[wasm_bindgen]
pub struct TokenShardCore {
    memo: Rc<Memo<DoStorage>>,
}

#[wasm_bindgen]
impl TokenShardCore {
    #[wasm_bindgen(constructor)]
    pub fn new(ctx: JsValue) -> Result<TokenShardCore, JsValue> {
        Ok(TokenShardCore { memo: memo(&ctx)? })
    }

    /// One request (JSON); the reply (JSON), or a promise of it (see [`answer`]).
    pub fn request(&self, request: String) -> Result<JsValue, JsValue> {
        let memo = Rc::clone(&self.memo);
        answer(Box::pin(async move { shard::requests::handle(&*memo, &request, now_ms()).await }))
    }

    /// The alarm: flush slides and counts, then delete what has expired (when a sweep is due). (Then `entry.mjs` has the
    /// intents this object keeps completed: `resume_token_intents`.)
    pub fn alarm(&self) -> Promise {
        let memo = Rc::clone(&self.memo);
        futures::promise(async move {
            memo.alarm_fired();
            let now = now_ms();
            reply(shard::sweep::alarm(&memo, now).await.map(|n| n.to_string()))
        })
    }
}

impl TokenShardCore {
    pub(super) fn memo(&self) -> Rc<Memo<DoStorage>> {
        Rc::clone(&self.memo)
    }
}

/// The core of `UserObject`.
#[wasm_bindgen]
pub struct UserObjectCore {
    memo: Rc<Memo<DoStorage>>,
}

#[wasm_bindgen]
impl UserObjectCore {
    #[wasm_bindgen(constructor)]
    pub fn new(ctx: JsValue) -> Result<UserObjectCore, JsValue> {
        Ok(UserObjectCore { memo: memo(&ctx)? })
    }

    pub fn request(&self, request: String) -> Result<JsValue, JsValue> {
        let memo = Rc::clone(&self.memo);
        answer(Box::pin(async move { shard::requests::handle_users(&*memo, &request, now_ms()).await }))
    }

    /// The alarm: end expired sessions. (Then `resume_user_intents`.)
    pub fn alarm(&self) -> Promise {
        let memo = Rc::clone(&self.memo);
        futures::promise(async move {
            memo.alarm_fired();
            reply(shard::users::sessions::sweep(&*memo, now_ms()).await.map(|n| n.to_string()))
        })
    }
}

impl UserObjectCore {
    pub(super) fn memo(&self) -> Rc<Memo<DoStorage>> {
        Rc::clone(&self.memo)
    }
}
