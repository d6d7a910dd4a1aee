//! What a caught panic said, for the log line or error that reports it.

use std::any::Any;

/// The panic's message (a `&str` or `String` payload), or `""`.
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}
