//! Outbound HTTP through the Workers `fetch`, called directly: a GET (or any [`Outbound`]) with `AbortSignal.timeout`
//! as its deadline (which also bounds reading the body), redirects not followed (`manual`: a
//! 3xx comes back as itself, and callers accept only 200), and the body read chunk by chunk up
//! to a cap.

use crate::store::{Fetch, Fetched, Outbound};
use js_sys::{Function, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

pub struct WebFetch;

fn get(target: &JsValue, name: &str) -> Result<JsValue, String> {
    Reflect::get(target, &JsValue::from_str(name)).map_err(|e| format!("{name}: {e:?}"))
}

/// `target[method](...args)`, awaited.
async fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
    super::futures::invoke(target, method, args).await.map_err(|e| format!("{method}: {e:?}"))
}

impl Fetch for WebFetch {
    async fn get(&self, url: &str, timeout_ms: u64, max_bytes: usize) -> Result<Fetched, String> {
        fetch("GET", url, &[], None, timeout_ms, max_bytes).await
    }

    async fn send(&self, req: &Outbound, timeout_ms: u64, max_bytes: usize) -> Result<Fetched, String> {
        fetch(req.method, &req.url, &req.headers, req.body.as_deref(), timeout_ms, max_bytes).await
    }
}

async fn fetch(method: &str, url: &str, headers: &[(&'static str, String)], body: Option<&str>, timeout_ms: u64, max_bytes: usize) -> Result<Fetched, String> {
    {
        let global: JsValue = js_sys::global().into();
        let abort_signal = get(&global, "AbortSignal")?;
        let timeout: Function = get(&abort_signal, "timeout")?.unchecked_into();
        let signal = timeout.call1(&abort_signal, &JsValue::from_f64(timeout_ms as f64)).map_err(|e| format!("timeout: {e:?}"))?;
        let init = Object::new();
        let head = Object::new();
        for (k, v) in headers {
            Reflect::set(&head, &JsValue::from_str(k), &JsValue::from_str(v)).map_err(|e| format!("headers: {e:?}"))?;
        }
        let mut members = vec![("method", JsValue::from_str(method)), ("redirect", JsValue::from_str("manual")), ("signal", signal), ("headers", head.into())];
        if let Some(b) = body {
            members.push(("body", JsValue::from_str(b)));
        }
        for (k, v) in members {
            Reflect::set(&init, &JsValue::from_str(k), &v).map_err(|e| format!("init: {e:?}"))?;
        }
        let resp = call(&global, "fetch", &[JsValue::from_str(url), init.into()]).await?;
        let status = get(&resp, "status")?.as_f64().unwrap_or(0.0) as u16;
        let headers = get(&resp, "headers")?;
        let header: Function = get(&headers, "get")?.unchecked_into();
        let cache_control = header.call1(&headers, &JsValue::from_str("cache-control")).map_err(|e| format!("headers: {e:?}"))?.as_string();
        let stream = get(&resp, "body")?;
        let mut body = Vec::new();
        if !stream.is_null() && !stream.is_undefined() {
            let reader = call_sync(&stream, "getReader")?;
            loop {
                let chunk = call(&reader, "read", &[]).await?;
                if get(&chunk, "done")?.as_bool().unwrap_or(true) {
                    break;
                }
                let bytes: Uint8Array = get(&chunk, "value")?.unchecked_into();
                if body.len() + bytes.length() as usize > max_bytes {
                    let _ = call(&reader, "cancel", &[]).await;
                    return Err(format!("the answer is larger than {max_bytes} bytes"));
                }
                body.extend(bytes.to_vec());
            }
        }
        Ok(Fetched { status, body, cache_control })
    }
}

/// `target[method]()`, not a promise.
fn call_sync(target: &JsValue, method: &str) -> Result<JsValue, String> {
    let f: Function = get(target, method)?.unchecked_into();
    f.call0(target).map_err(|e| format!("{method}: {e:?}"))
}
