//! The edge's executor and its one kind of leaf future.
//!
//! [`promise`] runs a future to completion as a JavaScript promise, polling it whenever it is
//! woken, right there. `js_sys::futures::future_to_promise` does the same
//! through a queue that schedules every poll with `queueMicrotask`, which in workerd is a
//! costly call (it wraps each callback for the runtime's async context); a validation paid it
//! twice. Here the first poll runs at once and a wake polls directly: wakes come from promise
//! callbacks (a Durable Object reply, a storage or KV result), never from inside a poll of the
//! same task except through `wake_by_ref`, which the loop below absorbs.
//!
//! [`settle`] awaits a JavaScript promise: `.then` with plain arrows that report to one
//! function made once per isolate ([`DONE`]). `JsFuture` made two closures per promise, each
//! registered with a `FinalizationRegistry`; a validation awaited one promise, an issuance two.
//! [`call_object`] makes the Durable Object call itself in JavaScript too (no `Reflect` calls
//! to find and apply `getByName` and `request`).

use js_sys::{Array, Function, Promise, Reflect};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::slots::{Found, Slots};

/// One future being driven.
struct Task {
    future: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>>,
    /// A poll is running: a wake now only asks for another round.
    polling: Cell<bool>,
    woken: Cell<bool>,
}

/// Poll until the future is done or waits for something that has not woken it yet.
fn run(task: &Rc<Task>) {
    if task.polling.replace(true) {
        task.woken.set(true);
        return;
    }
    loop {
        task.woken.set(false);
        let waker = waker(Rc::clone(task));
        let ready = match task.future.borrow_mut().as_mut() {
            Some(future) => future.as_mut().poll(&mut Context::from_waker(&waker)).is_ready(),
            None => true,
        };
        if ready {
            // Dropped outside the poll's borrow: dropping may drop wakers of this task.
            let done = task.future.borrow_mut().take();
            drop(done);
        }
        if ready || !task.woken.get() {
            task.polling.set(false);
            return;
        }
    }
}

// A waker is an `Rc<Task>` (the wasm is single-threaded: nothing here crosses threads).
const VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

unsafe fn clone(p: *const ()) -> RawWaker {
    // SAFETY: `p` came from `Rc::into_raw` of an `Rc<Task>` that this waker still holds.
    unsafe { Rc::increment_strong_count(p as *const Task) };
    RawWaker::new(p, &VTABLE)
}

unsafe fn wake(p: *const ()) {
    // SAFETY: as in `clone`; waking by value gives up this waker's count.
    let task = unsafe { Rc::from_raw(p as *const Task) };
    run(&task);
}

unsafe fn wake_by_ref(p: *const ()) {
    // SAFETY: as in `clone`; the count stays with the waker.
    let task = ManuallyDrop::new(unsafe { Rc::from_raw(p as *const Task) });
    run(&task);
}

unsafe fn drop_waker(p: *const ()) {
    // SAFETY: as in `clone`; this waker's count is given up.
    drop(unsafe { Rc::from_raw(p as *const Task) });
}

fn waker(task: Rc<Task>) -> Waker {
    // SAFETY: the vtable's functions keep the `Rc` counts balanced (see each).
    unsafe { Waker::from_raw(RawWaker::new(Rc::into_raw(task) as *const (), &VTABLE)) }
}

/// `work` as a promise: resolved with its `Ok`, rejected with its `Err`. Its first poll runs
/// before this returns.
pub fn promise(work: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let mut work = Some(work);
    Promise::new(&mut |resolve: Function, reject: Function| {
        let Some(work) = work.take() else { return };
        let future = async move {
            // (A settle that throws has nowhere to go: the promise is already settled.)
            let _ = match work.await {
                Ok(value) => resolve.call1(&JsValue::UNDEFINED, &value),
                Err(error) => reject.call1(&JsValue::UNDEFINED, &error),
            };
        };
        let task = Rc::new(Task { future: RefCell::new(Some(Box::pin(future))), polling: Cell::new(false), woken: Cell::new(false) });
        run(&task);
    })
}

#[wasm_bindgen(inline_js = r#"
let trapped = (error) => { throw error; };
export function on_error(handler) { trapped = handler; }
function report(done, id, ok, value) {
  try { done(id, ok, value); } catch (error) { trapped(error); }
}
export function settle(promise, id, done) {
  promise.then((value) => report(done, id, true, value), (error) => report(done, id, false, error));
}
export function call_object(ns, name, body, id, done) {
  settle(ns.getByName(name).request(body), id, done);
}"#)]
extern "C" {
    #[wasm_bindgen(js_name = on_error)]
    fn on_error_js(handler: &Function);
    #[wasm_bindgen(catch, js_name = settle)]
    fn settle_js(promise: &JsValue, id: u32, done: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_name = call_object)]
    fn call_object_js(ns: &JsValue, name: &str, body: &str, id: u32, done: &JsValue) -> Result<(), JsValue>;
}

/// Who hears of an error thrown while a settled promise's result is handed to the wasm: a
/// trap there (a panic after the first `.await` of a request) would otherwise only reject the
/// promise `.then` made, which nobody watches, and the wasm would go on unreset. The entry
/// module passes its `recover` once; the JavaScript snippet keeps it, so it outlives a reset.
#[wasm_bindgen(js_name = onError)]
pub fn on_error(handler: &Function) {
    on_error_js(handler);
}

/// What an awaited promise gives: its value, or what it was rejected with.
type JsResult = Result<JsValue, JsValue>;

thread_local! {
    static AWAITED: RefCell<Slots<JsResult, Waker>> = RefCell::default();
    /// `done(id, ok, value)`: a promise settled.
    static DONE: JsValue = Closure::<dyn FnMut(u32, bool, JsValue)>::new(done).into_js_value();
}

fn done(id: u32, ok: bool, value: JsValue) {
    // (A `Settled` dropped before its promise settled is no longer open: the result is dropped.)
    let waker = AWAITED.with(|a| a.borrow_mut().settle(id, if ok { Ok(value) } else { Err(value) }));
    if let Some(w) = waker {
        w.wake();
    }
}

/// A promise being awaited.
pub struct Settled {
    id: u32,
}

impl Settled {
    fn open() -> Settled {
        let (id, abandoned) = AWAITED.with(|a| a.borrow_mut().open(js_sys::Date::now()));
        // Dropped outside the borrow (see `Slots::open`).
        drop(abandoned);
        Settled { id }
    }

    /// The call that should have made the promise threw instead.
    fn failed(self, error: JsValue) -> Settled {
        AWAITED.with(|a| a.borrow_mut().settle(self.id, Err(error)));
        self
    }
}

impl Future for Settled {
    type Output = JsResult;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match AWAITED.with(|a| a.borrow_mut().poll(self.id, || cx.waker().clone())) {
            Found::Ready(result) => Poll::Ready(result),
            Found::Pending => Poll::Pending,
            Found::Lost => Poll::Ready(Err(JsValue::from_str("promise lost"))),
        }
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        let closed = AWAITED.with(|a| a.borrow_mut().close(self.id));
        drop(closed);
    }
}

/// Await `promise`.
pub fn settle(promise: &JsValue) -> Settled {
    let settled = Settled::open();
    // (Throws only when `promise` has no `then`: a platform call that returned no promise.)
    match DONE.with(|done| settle_js(promise, settled.id, done)) {
        Ok(()) => settled,
        Err(error) => settled.failed(error),
    }
}

/// `ns.getByName(name).request(body)`, awaited.
pub fn call_object(ns: &JsValue, name: &str, body: &str) -> Result<Settled, JsValue> {
    let settled = Settled::open();
    DONE.with(|done| call_object_js(ns, name, body, settled.id, done))?;
    Ok(settled)
}

/// `target[method](...args)`, awaited: how the edge calls the platform (KV, storage, WebCrypto,
/// fetch). `Reflect.apply`, not `Function.prototype.call`: on an RPC stub, `.call` would
/// itself be a remote property.
pub async fn invoke(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(target, &JsValue::from_str(method))?.unchecked_into();
    let args: Array = args.iter().collect();
    settle(&Reflect::apply(&f, target, &args)?).await
}
