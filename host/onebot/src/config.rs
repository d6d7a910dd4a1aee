//! The adapter's configuration: which of the four communication modes
//! (`communication/README.md`) to use, the shared secrets, and timings.

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

/// How to reach the implementation. The direction names follow the
/// standard, which is written from the implementation's side: in
/// "forward" WebSocket the implementation listens and we dial it; in
/// "reverse" WebSocket it dials us.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Forward WebSocket, one Universal connection (the implementation's
    /// `/` endpoint) for API calls and events.
    ForwardWs {
        /// E.g. `ws://127.0.0.1:3001/`.
        url: Url,
    },
    /// Forward WebSocket, split: API calls on `api` (`/api`), events on
    /// `event` (`/event`).
    ForwardWsSplit {
        /// The `/api` endpoint.
        api: Url,
        /// The `/event` endpoint.
        event: Url,
    },
    /// Reverse WebSocket: we listen on `listen` at `path`, and accept the
    /// split roles at `path/api` and `path/event` too (the role is taken
    /// from `X-Client-Role`, else from the sub-path). Several clients (one
    /// per account, each with its [`Config::self_id`]) may share one
    /// listener; connections are routed by `X-Self-ID`.
    ReverseWs {
        /// The address to listen on.
        listen: SocketAddr,
        /// The path, e.g. `/onebot/v11/ws`.
        path: String,
    },
    /// HTTP: API calls are `POST <api>/<action>`; events arrive as HTTP
    /// POST requests to our webhook at `listen` + `path`.
    Http {
        /// The implementation's HTTP API base URL, e.g. `http://127.0.0.1:5700`.
        api: Url,
        /// The webhook's address.
        listen: SocketAddr,
        /// The webhook's path, e.g. `/onebot/v11/http`.
        path: String,
    },
}

/// The adapter's configuration. [`Config::default`] is forward WebSocket
/// to `ws://127.0.0.1:3001` (NapCat's usual port) without a token.
#[derive(Debug, Clone)]
pub struct Config {
    /// The communication mode.
    pub mode: Mode,
    /// The access token (`authorization.md`): sent as
    /// `Authorization: Bearer …` when we are the client, required of the
    /// implementation when we are the server.
    pub access_token: Option<String>,
    /// The HTTP POST signing secret: when set, webhook requests must carry
    /// a valid `X-Signature` (and then authenticate by it alone).
    pub secret: Option<String>,
    /// The account expected. On a shared reverse listener it picks this
    /// client's connections; otherwise it is checked against
    /// `get_login_info`. `None`: whichever account connects.
    pub self_id: Option<u64>,
    /// How long a call waits for its response.
    pub action_timeout: Duration,
    /// Forward WebSocket reconnect backoff: the first delay, doubled per
    /// failure (with jitter) up to [`reconnect_max`](Config::reconnect_max).
    pub reconnect_base: Duration,
    /// The longest reconnect delay.
    pub reconnect_max: Duration,
    /// The least time between two sends to the same chat (OneBot itself
    /// only paces `_rate_limited` calls).
    pub send_interval: Duration,
    /// Events buffered for [`Events`](crate::Events) before the adapter
    /// stops reading (backpressure; events are never dropped).
    pub event_buffer: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            mode: Mode::ForwardWs {
                url: Url::parse("ws://127.0.0.1:3001").expect("a valid literal URL"),
            },
            access_token: None,
            secret: None,
            self_id: None,
            action_timeout: Duration::from_secs(10),
            reconnect_base: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(60),
            send_interval: Duration::from_millis(500),
            event_buffer: 256,
        }
    }
}

impl Mode {
    /// A short description for logs (`forward ws://…`, `reverse 0.0.0.0:8080/ws`).
    pub fn describe(&self) -> String {
        match self {
            Mode::ForwardWs { url } => format!("forward {url}"),
            Mode::ForwardWsSplit { api, event } => format!("forward {api} + {event}"),
            Mode::ReverseWs { listen, path } => format!("reverse ws://{listen}{path}"),
            Mode::Http { api, listen, path } => {
                format!("http {api} + webhook http://{listen}{path}")
            }
        }
    }
}
