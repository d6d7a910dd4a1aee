//! The WebQQ error answers every route may give (retcodes of
//! `webqq-protocol.md`), apart from the routes so the poll handler and the
//! routes share them without importing each other.

use axum::response::Response;
use serde_json::json;

use crate::http;

/// `{"errmsg":"error!!!","retcode":N}`.
pub(crate) fn retcode(code: i64) -> Response {
    http::json(json!({"errmsg": "error!!!", "retcode": code}))
}

/// `{"errmsg":"error","retcode":103}`: session not registered (§2.8).
pub(crate) fn error_103() -> Response {
    http::json(json!({"errmsg": "error", "retcode": 103}))
}

/// `{"retcode":100000}`: missing or foreign Referer (§1.4).
pub(crate) fn no_referer() -> Response {
    http::json(json!({"retcode": 100000}))
}

/// `{"errmsg":"error!!!","retcode":100001}`: bad credentials.
pub(crate) fn bad_credentials() -> Response {
    retcode(100001)
}

/// `{"errmsg":"error!!!","retcode":100006}`: unparsable request.
pub(crate) fn malformed_request(endpoint: &str, why: &str) -> Response {
    tracing::info!(endpoint, why, "sim: malformed request");
    retcode(100006)
}
