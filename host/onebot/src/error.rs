//! The adapter's error type. Every variant that comes from talking to the
//! OneBot implementation names the action or endpoint involved
//! (`send_group_msg`, `ws://127.0.0.1:3001/`, …), so a log line says where a
//! failure happened; [`Error::is_transient`] tells the caller whether the
//! same call may succeed if tried again.

use std::net::SocketAddr;
use std::time::Duration;

/// Everything that can go wrong in the OneBot adapter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The WebSocket connection to the implementation could not be opened
    /// (refused, reset, bad handshake other than 401/403).
    #[error("{url}: WebSocket connect failed: {source}")]
    Connect {
        /// The URL dialled.
        url: String,
        /// The underlying WebSocket error.
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// The implementation refused our access token (HTTP 401: none sent,
    /// 403: wrong one; `authorization.md`). Not retried.
    #[error("{endpoint}: access token refused (HTTP {status})")]
    Unauthorized {
        /// The URL or action refused.
        endpoint: String,
        /// 401 or 403.
        status: u16,
    },
    /// An HTTP API request could not be made or its body not read.
    #[error("{action}: HTTP request failed: {source}")]
    Http {
        /// The action called.
        action: String,
        /// The underlying reqwest error.
        #[source]
        source: reqwest::Error,
    },
    /// The HTTP API answered with a status other than 200 that has no
    /// retcode equivalent (406, 5xx, …).
    #[error("{action}: HTTP status {status}")]
    Status {
        /// The action called.
        action: String,
        /// The HTTP status code.
        status: u16,
    },
    /// No response arrived within [`Config::action_timeout`](crate::Config::action_timeout).
    #[error("{action}: no response within {} ms", timeout.as_millis())]
    Timeout {
        /// The action called.
        action: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// There is no connection to send the call on, or it dropped before the
    /// response arrived: the action may or may not have been carried out.
    #[error("{action}: not connected to the OneBot implementation")]
    Disconnected {
        /// The action called.
        action: String,
    },
    /// The implementation answered `status: "failed"`. HTTP API statuses
    /// 400/401/403/404 are reported as retcodes 1400/1401/1403/1404, as
    /// over WebSocket (`ws.md`).
    #[error("{action}: action failed (retcode {retcode}, {message:?})")]
    Failed {
        /// The action called.
        action: String,
        /// The retcode (implementation specific, or 14xx).
        retcode: i64,
        /// The implementation's `message`/`wording`/`msg`, possibly empty.
        message: String,
    },
    /// The answer could not be understood (not JSON, no `status`, a `data`
    /// without the expected fields, …).
    #[error("{action}: malformed response: {detail}")]
    Malformed {
        /// The action called.
        action: String,
        /// What was wrong.
        detail: String,
    },
    /// `get_login_info` named another account than [`Config::self_id`](crate::Config::self_id).
    #[error("get_login_info: logged in as {actual}, but the configuration expects {expected}")]
    WrongAccount {
        /// The configured account.
        expected: u64,
        /// The account the implementation holds.
        actual: u64,
    },
    /// A listener (reverse WebSocket or HTTP POST) could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration cannot work (bad URL scheme, two clients for the
    /// same account on one listener, …).
    #[error("invalid OneBot configuration: {0}")]
    Config(String),
    /// A send was given an empty message.
    #[error("{action}: refusing to send an empty message")]
    EmptyMessage {
        /// The send action.
        action: String,
    },
    /// The client was shut down.
    #[error("the OneBot client is shut down")]
    Shutdown,
}

impl Error {
    /// Whether retrying the same call later may succeed: network errors,
    /// timeouts, a dropped connection, HTTP 5xx. Not a failed action (the
    /// implementation answered and refused it, including retcodes
    /// 1400/1401/1403/1404), a refused token, a malformed answer or a
    /// local error.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect { .. }
            | Error::Http { .. }
            | Error::Timeout { .. }
            | Error::Disconnected { .. } => true,
            Error::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The retcode when this is an [`Error::Failed`].
    pub fn retcode(&self) -> Option<i64> {
        match self {
            Error::Failed { retcode, .. } => Some(*retcode),
            _ => None,
        }
    }
}

/// `Result` with the adapter's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
