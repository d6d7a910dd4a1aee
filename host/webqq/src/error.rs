//! The client's error type. Every variant that comes from the network names
//! the endpoint (`poll2`, `send_qun_msg2`, …) so a log line says where a
//! failure happened.

use std::path::PathBuf;

/// Everything that can go wrong in the WebQQ client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The HTTP request could not be made or its body not read
    /// (connection refused, reset, TLS, …).
    #[error("{endpoint}: HTTP request failed: {source}")]
    Http {
        /// The endpoint called.
        endpoint: &'static str,
        /// The underlying reqwest error.
        #[source]
        source: reqwest::Error,
    },
    /// The request did not complete within its timeout.
    #[error("{endpoint}: request timed out")]
    Timeout {
        /// The endpoint called.
        endpoint: &'static str,
    },
    /// The server answered with a non-success HTTP status.
    #[error("{endpoint}: HTTP status {status}")]
    Status {
        /// The endpoint called.
        endpoint: &'static str,
        /// The HTTP status code.
        status: u16,
    },
    /// The server answered with a non-zero `retcode` (or `errCode`).
    #[error("{endpoint}: retcode {retcode} ({errmsg:?})")]
    Retcode {
        /// The endpoint called.
        endpoint: &'static str,
        /// The retcode (`webqq-protocol.md` §6.1).
        retcode: i64,
        /// The `errmsg` field, possibly empty.
        errmsg: String,
    },
    /// The answer could not be understood (bad JSON, missing field, …).
    #[error("{endpoint}: malformed answer: {detail}")]
    Malformed {
        /// The endpoint called.
        endpoint: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The QR login was refused or gave up (unknown `ptuiCB` code, too many
    /// expired codes).
    #[error("QR login: {0}")]
    QrLogin(String),
    /// The session file could not be read or written.
    #[error("session file {}: {source}", path.display())]
    SessionFile {
        /// The session file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The QR code PNG could not be written.
    #[error("QR image {}: {source}", path.display())]
    QrImage {
        /// Where the PNG was to be written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client could not be built (bad configuration).
    #[error("cannot build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    /// A message with no text and no face was given to `send`.
    #[error("{endpoint}: refusing to send an empty message")]
    EmptyMessage {
        /// The send endpoint.
        endpoint: &'static str,
    },
    /// The chat kind cannot be sent to (temporary sessions: the sess API
    /// was retired in SmartQQ, §2.10).
    #[error("cannot send to a {0} chat: SmartQQ has no such send endpoint")]
    Unsupported(&'static str),
    /// The client was shut down.
    #[error("the client is shut down")]
    Shutdown,
}

impl Error {
    /// Whether retrying the same request later may succeed: connection
    /// errors, timeouts and HTTP 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Http { .. } | Error::Timeout { .. } => true,
            Error::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Whether a whole login (or its activation) attempted again may
    /// succeed: everything the server answered or failed to answer —
    /// network errors, HTTP statuses, error retcodes, malformed answers.
    /// Not a QR login that was refused or abandoned, and not a local
    /// failure (files, the HTTP client's build, shutdown).
    pub fn is_login_retryable(&self) -> bool {
        matches!(
            self,
            Error::Http { .. }
                | Error::Timeout { .. }
                | Error::Status { .. }
                | Error::Retcode { .. }
                | Error::Malformed { .. }
        )
    }

    /// The retcode when this is a [`Error::Retcode`].
    pub fn retcode(&self) -> Option<i64> {
        match self {
            Error::Retcode { retcode, .. } => Some(*retcode),
            _ => None,
        }
    }
}

/// `Result` with the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
