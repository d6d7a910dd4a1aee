//! The OneBot face's settings ([`OneBotFace`]), named after the standard's
//! configuration keys where it has them (`access_token`, `secret`,
//! `message_format`, `heartbeat.interval`, `ws_reverse.*`, `http_post.*`).

use std::time::Duration;

/// The message format of events (`event.message_format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MessageFormat {
    /// A string with CQ codes, text escaped (`&amp;`, `&#91;`, `&#93;`).
    #[default]
    String,
    /// An array of message segments (`{"type":…,"data":{…}}`).
    Array,
}

/// Where the reverse WebSocket client connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReverseTarget {
    /// One connection with `X-Client-Role: Universal` (API calls and events
    /// on the same socket), as NapCat and NoneBot2 expect.
    Universal(String),
    /// Two connections: `X-Client-Role: API` to `api`, `X-Client-Role: Event`
    /// to `event` (the two URLs may be the same).
    Split {
        /// The API client's URL.
        api: String,
        /// The Event client's URL.
        event: String,
    },
}

/// The reverse WebSocket client (`ws_reverse.*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReverseWs {
    /// URL(s) and client role(s).
    pub target: ReverseTarget,
    /// Wait between a refused or dropped connection and the next attempt
    /// (`ws_reverse.reconnect_interval`, default 3 s).
    pub reconnect_interval: Duration,
}

impl ReverseWs {
    /// A Universal client of `url` with the default reconnect interval.
    pub fn universal(url: impl Into<String>) -> ReverseWs {
        ReverseWs {
            target: ReverseTarget::Universal(url.into()),
            reconnect_interval: Duration::from_secs(3),
        }
    }
}

/// The HTTP POST event client (`http_post.*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpPost {
    /// Where events are posted.
    pub url: String,
    /// Timeout of one post (`http_post.timeout`, default 10 s).
    pub timeout: Duration,
    /// Wait before posting a message event again after the URL could not be
    /// reached (refused, timed out); default 3 s. Message events are kept
    /// in order until a post gets an HTTP answer; meta events are not
    /// retried.
    pub retry_interval: Duration,
}

impl HttpPost {
    /// Posts to `url` with the default timeout and retry interval.
    pub fn new(url: impl Into<String>) -> HttpPost {
        HttpPost {
            url: url.into(),
            timeout: Duration::from_secs(10),
            retry_interval: Duration::from_secs(3),
        }
    }
}

/// The OneBot v11 face: the simulator plays a OneBot *implementation* (as
/// NapCat or Lagrange.OneBot do) for the population's bot account.
///
/// The forward WebSocket server and the HTTP API share the simulator's
/// listener: a request whose Host is not one of the WebQQ `*.qq.com` hosts
/// (an IP literal, `localhost`, any other name) is a OneBot request; the
/// control API `/_sim/...` stays on every host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneBotFace {
    /// Accept forward WebSocket connections on `/` (Universal), `/api` and
    /// `/event` (default true).
    pub forward_ws: bool,
    /// Serve the HTTP API, `GET`/`POST /<action>` (default true).
    pub http_api: bool,
    /// Connect out as a reverse WebSocket client (default none).
    pub reverse_ws: Option<ReverseWs>,
    /// Post events to a URL (default none).
    pub http_post: Option<HttpPost>,
    /// Required from bots (`Authorization: Bearer …` or `?access_token=`)
    /// and sent by the reverse client (default none: no check).
    pub access_token: Option<String>,
    /// HTTP POST signing key: `X-Signature: sha1=<hex HMAC-SHA1 of the
    /// body>` (default none: unsigned).
    pub secret: Option<String>,
    /// The message format of events (default string).
    pub message_format: MessageFormat,
    /// Heartbeat meta events on every event connection and to HTTP POST at
    /// this interval (default 15 s; `None`: no heartbeats).
    pub heartbeat: Option<Duration>,
    /// Pace of `*_rate_limited` calls (`api.rate_limit_interval`, default
    /// 500 ms).
    pub rate_limit_interval: Duration,
}

impl Default for OneBotFace {
    fn default() -> Self {
        OneBotFace {
            forward_ws: true,
            http_api: true,
            reverse_ws: None,
            http_post: None,
            access_token: None,
            secret: None,
            message_format: MessageFormat::String,
            heartbeat: Some(Duration::from_secs(15)),
            rate_limit_interval: Duration::from_millis(500),
        }
    }
}
