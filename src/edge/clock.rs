//! The edge's clock. The core never reads the time: the shell reads it here (`Date.now()`,
//! which Workers advance only across I/O) and hands it in, to handlers and to the objects alike.

pub(crate) fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}
