//! Futures and promises, with wasm-bindgen's own executor (`js_sys::futures`): [`promise`]
//! runs a future as a JavaScript promise (`future_to_promise`), and an awaited JavaScript
//! promise is a `JsFuture`. What is left here is how the edge calls the platform.
//!
//! A trap (a Rust panic aborts) while a future is polled happens in a microtask of
//! wasm-bindgen's queue, where no JavaScript of ours can catch it: the panic hook installed by
//! [`start`] tells the entry module (`onPanic`), which resets the instance with the glue's
//! `__wbg_reset_state` (`--experimental-reset-state-function`) once the wasm is off the stack.
//! A late result of the old instance cannot reach the new one: its closures carry the old
//! instance's id, and the glue refuses to call them.
//!
//! Not `wasm_bindgen::handler`: its `set_on_abort` fires in a `panic = "abort"` build only with
//! wasm-bindgen's experimental `--force-enable-abort-handler`, and the reset `schedule_reinit`
//! asks for happens in the glue's call guard, after the call's arguments were already copied
//! into the old instance's memory: the first call after a panic then reads the new instance's
//! memory at the old pointers (tests/e2e/trap.test.mjs saw `GET /.well-known/…` answered 404).

use js_sys::futures::JsFuture;
use js_sys::{Array, Function, Promise, Reflect};
use std::future::Future;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// `work` as a promise: resolved with its `Ok`, rejected with its `Err`.
pub fn promise(work: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    js_sys::futures::future_to_promise(work)
}

#[wasm_bindgen(inline_js = r#"
let handler = () => {};
export function on_panic(h) { handler = h; }
export function panicked(message) { try { handler(message); } catch {} }"#)]
extern "C" {
    #[wasm_bindgen(js_name = on_panic)]
    fn on_panic_js(handler: &Function);
    fn panicked(message: &str);
}

/// Who hears of a panic: `handler(message)`, called while the wasm is still on the stack (it
/// must not call into the wasm). The entry module passes its own once; the JavaScript snippet
/// keeps it, so it outlives a reset.
#[wasm_bindgen(js_name = onPanic)]
pub fn on_panic(handler: &Function) {
    on_panic_js(handler);
}

/// Run by the glue when an instance starts (the first, and each one after a reset).
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| panicked(&info.to_string())));
}

#[wasm_bindgen]
extern "C" {
    /// A Durable Object namespace binding.
    pub type ObjectNamespace;
    #[wasm_bindgen(method, catch, js_name = getByName)]
    fn get_by_name(this: &ObjectNamespace, name: &str) -> Result<Stub, JsValue>;
    /// A Durable Object stub.
    type Stub;
    /// The object's RPC method `request` (src/edge/entry.mjs): a promise of its reply.
    #[wasm_bindgen(method, catch)]
    fn request(this: &Stub, body: &str) -> Result<Promise, JsValue>;
}

/// `ns.getByName(name).request(body)`, awaited.
pub async fn call_object(ns: &ObjectNamespace, name: &str, body: &str) -> Result<JsValue, JsValue> {
    JsFuture::from(ns.get_by_name(name)?.request(body)?).await
}

/// Await what a platform call returned (a promise; `Promise.resolve` makes sure of it).
pub fn settle(value: &JsValue) -> JsFuture {
    JsFuture::from(Promise::resolve(value))
}

/// `target[method](...args)`, awaited: how the edge calls the platform (KV, storage, WebCrypto,
/// fetch). `Reflect.apply`, not `Function.prototype.call`: on an RPC stub, `.call` would
/// itself be a remote property.
pub async fn invoke(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(target, &JsValue::from_str(method))?.unchecked_into();
    let args: Array = args.iter().collect();
    settle(&Reflect::apply(&f, target, &args)?).await
}
