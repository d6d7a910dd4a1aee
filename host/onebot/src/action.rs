//! API calls (`api/README.md`, `communication/ws.md`, `http.md`): the
//! request `{action, params, echo}`, the response envelope
//! `{status, retcode, data, echo}`, and the table of calls waiting for
//! their response on one WebSocket connection.
//!
//! Over WebSocket, responses come back on the same connection as events
//! and in any order; each call carries a unique string `echo`, which the
//! implementation returns as is, and the `Pending` table hands each response to
//! the call with that echo. A connection's table is failed as a whole when
//! the connection ends, so no call waits for a response that cannot come.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::error::Error;
use crate::message::short;

/// The `status` of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `ok`: done (`retcode` 0).
    Ok,
    /// `async`: accepted for asynchronous processing (`retcode` 1); the
    /// outcome is unknown and `data` is null.
    Async,
    /// `failed`: not done; `retcode` says why.
    Failed,
}

/// A decoded response envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The status.
    pub status: Status,
    /// The return code.
    pub retcode: i64,
    /// The result data (null when there is none).
    pub data: Value,
    /// The request's `echo`, if the response has one.
    pub echo: Option<Value>,
    /// A human-readable error (`message`, `wording` or `msg`, extensions
    /// that implementations commonly add), or empty.
    pub message: String,
}

/// Why a frame is not an action response; the message quotes (the start
/// of) the frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// Not a JSON object.
    #[error("response is not an object: {0}")]
    NotAnObject(String),
    /// Neither `status` nor `retcode` says how the action went.
    #[error("response without status or retcode: {0}")]
    NoStatus(String),
}

impl Response {
    /// Decodes a response object. `status` may be missing or unknown when
    /// `retcode` is given (0 → ok, 1 → async, else failed); fails when
    /// neither says anything.
    pub fn decode(value: &Value) -> Result<Response, ResponseError> {
        let obj = value
            .as_object()
            .ok_or_else(|| ResponseError::NotAnObject(short(value)))?;
        let retcode = obj.get("retcode").and_then(Value::as_i64);
        let status = match (obj.get("status").and_then(Value::as_str), retcode) {
            (Some("ok"), _) => Status::Ok,
            (Some("async"), _) => Status::Async,
            (Some("failed"), _) => Status::Failed,
            (_, Some(0)) => Status::Ok,
            (_, Some(1)) => Status::Async,
            (_, Some(_)) => Status::Failed,
            (_, None) => {
                return Err(ResponseError::NoStatus(short(value)));
            }
        };
        let message = ["message", "wording", "msg"]
            .iter()
            .filter_map(|k| obj.get(*k).and_then(Value::as_str))
            .find(|s| !s.is_empty())
            .unwrap_or_default()
            .to_string();
        Ok(Response {
            status,
            retcode: retcode.unwrap_or(match status {
                Status::Ok => 0,
                Status::Async => 1,
                Status::Failed => -1,
            }),
            data: obj.get("data").cloned().unwrap_or(Value::Null),
            echo: obj.get("echo").cloned(),
            message,
        })
    }

    /// The call's outcome: `data` for ok and async, [`Error::Failed`] for
    /// failed.
    pub fn into_result(self, action: &str) -> Result<Value, Error> {
        match self.status {
            Status::Ok | Status::Async => Ok(self.data),
            Status::Failed => Err(Error::Failed {
                action: action.to_string(),
                retcode: self.retcode,
                message: self.message,
            }),
        }
    }
}

/// The JSON text of a WebSocket API request.
pub fn request_frame(action: &str, params: &Value, echo: &str) -> String {
    json!({"action": action, "params": params, "echo": echo}).to_string()
}

/// The key under which a response's echo is looked up: the string itself,
/// or the JSON text of a non-string echo.
pub(crate) fn echo_key(echo: &Value) -> String {
    match echo {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A fresh echo, unique within the process.
pub(crate) fn next_echo() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("wasmqq:{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

type Waiter = oneshot::Sender<Result<Value, Error>>;

/// The calls waiting for a response on one connection, by echo.
#[derive(Default)]
pub(crate) struct Pending {
    calls: Mutex<Option<HashMap<String, (String, Waiter)>>>,
}

impl Pending {
    /// An open table.
    pub(crate) fn new() -> Pending {
        Pending {
            calls: Mutex::new(Some(HashMap::new())),
        }
    }

    /// Registers a call; `false` if the table was already failed (the
    /// connection is gone).
    pub(crate) fn insert(&self, echo: String, action: &str, waiter: Waiter) -> bool {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        match calls.as_mut() {
            Some(map) => {
                map.insert(echo, (action.to_string(), waiter));
                true
            }
            None => false,
        }
    }

    /// Forgets a call (timed out, or its request could not be written).
    pub(crate) fn remove(&self, echo: &str) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(map) = calls.as_mut() {
            map.remove(echo);
        }
    }

    /// Hands a response to its call. Logs and drops a response whose echo
    /// no call is waiting for (unknown, or its call timed out).
    pub(crate) fn resolve(&self, response: Response, conn: &str) {
        let Some(echo) = response.echo.as_ref().map(echo_key) else {
            tracing::warn!(
                conn,
                retcode = response.retcode,
                "response without echo, skipped"
            );
            return;
        };
        let waiter = {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            calls.as_mut().and_then(|m| m.remove(&echo))
        };
        match waiter {
            Some((action, tx)) => {
                tracing::debug!(conn, %action, echo, status = ?response.status, retcode = response.retcode, "response");
                let _ = tx.send(response.into_result(&action));
            }
            None => tracing::warn!(
                conn,
                echo,
                "response with an unknown echo (no call waiting), skipped"
            ),
        }
    }

    /// Fails every waiting call with [`Error::Disconnected`] and refuses
    /// new ones: the connection ended.
    pub(crate) fn fail_all(&self) {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner()).take();
        for (_, (action, tx)) in calls.into_iter().flatten() {
            let _ = tx.send(Err(Error::Disconnected { action }));
        }
    }
}

/// The retcode an HTTP API status maps to over WebSocket (`ws.md`):
/// 400 → 1400, 401 → 1401, 403 → 1403, 404 → 1404.
pub fn retcode_for_http_status(status: u16) -> Option<i64> {
    matches!(status, 400 | 401 | 403 | 404).then_some(1000 + i64::from(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        let ok = Response::decode(
            &json!({"status": "ok", "retcode": 0, "data": {"message_id": 7}, "echo": "e"}),
        )
        .unwrap();
        assert_eq!(ok.status, Status::Ok);
        assert_eq!(
            ok.into_result("send_msg").unwrap(),
            json!({"message_id": 7})
        );
        let asy =
            Response::decode(&json!({"status": "async", "retcode": 1, "data": null})).unwrap();
        assert_eq!(asy.into_result("send_msg_async").unwrap(), Value::Null);
        // ws.md's example of a 404 over WebSocket.
        let failed = Response::decode(
            &json!({"status": "failed", "retcode": 1404, "data": null, "echo": "123"}),
        )
        .unwrap();
        assert_eq!(failed.echo, Some(json!("123")));
        let err = failed.into_result("no_such_action").unwrap_err();
        assert_eq!(err.retcode(), Some(1404));
        assert!(!err.is_transient());
        assert_eq!(
            err.to_string(),
            "no_such_action: action failed (retcode 1404, \"\")"
        );
        let worded =
            Response::decode(&json!({"status": "failed", "retcode": 100, "wording": "bad"}))
                .unwrap();
        assert_eq!(
            worded
                .into_result("send_group_msg")
                .unwrap_err()
                .to_string(),
            "send_group_msg: action failed (retcode 100, \"bad\")"
        );
        // No status: decided by retcode; neither: malformed.
        assert_eq!(
            Response::decode(&json!({"retcode": 0})).unwrap().status,
            Status::Ok
        );
        assert!(Response::decode(&json!({"data": 1})).is_err());
        assert!(Response::decode(&json!([])).is_err());
    }

    #[test]
    fn pending_matches_and_fails() {
        let p = Pending::new();
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, rx2) = oneshot::channel();
        assert!(p.insert("a".into(), "get_login_info", tx1));
        assert!(p.insert("b".into(), "send_msg", tx2));
        p.resolve(
            Response::decode(&json!({"status": "ok", "retcode": 0, "data": 2, "echo": "b"}))
                .unwrap(),
            "t",
        );
        assert_eq!(rx2.blocking_recv().unwrap().unwrap(), json!(2));
        // Unknown echo: dropped, nothing resolved.
        p.resolve(
            Response::decode(&json!({"status": "ok", "retcode": 0, "echo": "zz"})).unwrap(),
            "t",
        );
        assert!(rx1.try_recv().is_err());
        p.fail_all();
        assert!(matches!(
            rx1.blocking_recv().unwrap(),
            Err(Error::Disconnected { .. })
        ));
        let (tx3, _rx3) = oneshot::channel();
        assert!(!p.insert("c".into(), "x", tx3));
    }

    #[test]
    fn http_status_retcodes() {
        assert_eq!(retcode_for_http_status(404), Some(1404));
        assert_eq!(retcode_for_http_status(400), Some(1400));
        assert_eq!(retcode_for_http_status(500), None);
    }
}
