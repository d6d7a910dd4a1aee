//! `[[accounts]]`: the accounts the bot serves, each on one platform.
//!
//! Without any `[[accounts]]` entry the bot has one WebQQ account named
//! [`DEFAULT_ACCOUNT`] configured by `[webqq]`, exactly as before accounts
//! existed. Each entry names its `platform`; its other keys are that
//! platform's. Names are unique; a single entry may leave its name out and
//! is then [`DEFAULT_ACCOUNT`]. The default account keeps its files (WebQQ
//! session, outbox and inbound journal) directly in `[bot] data_dir`; every
//! other account in `<data_dir>/accounts/<name>/`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::WebqqConfig;
use crate::account::DEFAULT_ACCOUNT;

/// One `[[accounts]]` entry, by `platform`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "platform", rename_all = "lowercase")]
pub enum AccountConfig {
    /// `platform = "webqq"`: a SmartQQ account, logged in by QR code.
    Webqq(WebqqAccountConfig),
    /// `platform = "onebot"`: a QQ account held by a OneBot v11
    /// implementation (NapCat, Lagrange.OneBot, LLOneBot).
    Onebot(OnebotAccountConfig),
    /// `platform = "linechat"`: a line-based chat room on a TCP port.
    Linechat(LinechatAccountConfig),
}

/// How a OneBot account is reached (the standard's four communication
/// modes, named from the implementation's side).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnebotMode {
    /// Forward WebSocket: wasmqq connects to the implementation's `url`
    /// (Universal), or to `api_url` + `event_url`.
    #[default]
    Ws,
    /// Reverse WebSocket: wasmqq listens on `listen` at `path`; the
    /// implementation connects (Universal, or API + Event).
    WsReverse,
    /// HTTP: wasmqq calls the implementation's HTTP API at `url`, and
    /// receives its HTTP POST events on `listen` at `path`.
    Http,
}

/// `platform = "onebot"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OnebotAccountConfig {
    /// The account's name. Default: [`DEFAULT_ACCOUNT`].
    pub name: Option<String>,
    /// `ws` (default), `ws-reverse` or `http`.
    pub mode: OnebotMode,
    /// `ws`: the Universal WebSocket URL (`ws://127.0.0.1:3001`); `http`:
    /// the HTTP API's base URL (`http://127.0.0.1:3000`).
    pub url: Option<String>,
    /// `ws` split into API and Event connections: the `/api` URL (with
    /// `event_url`, instead of `url`).
    pub api_url: Option<String>,
    /// `ws` split: the `/event` URL.
    pub event_url: Option<String>,
    /// `ws-reverse` and `http`: where wasmqq listens.
    pub listen: Option<SocketAddr>,
    /// `ws-reverse`: the WebSocket path (default `/onebot/v11/ws`); `http`:
    /// the webhook's path (default `/onebot/v11/http`).
    pub path: Option<String>,
    /// The access token, sent as `Authorization: Bearer` and required from
    /// the implementation where it connects to wasmqq. Default: none.
    pub access_token: Option<String>,
    /// `http`: the secret of the events' `X-Signature` (HMAC-SHA1).
    pub secret: Option<String>,
    /// The account's QQ number: picks its connection on a shared reverse
    /// listener, and is checked against `get_login_info`. Default: any.
    pub self_id: Option<u64>,
    /// How long an action may take, in milliseconds. Default: 10000.
    pub action_timeout_ms: u64,
    /// Minimum time between two sends to one chat, in milliseconds.
    /// Default: 500.
    pub send_interval_ms: u64,
}

impl Default for OnebotAccountConfig {
    fn default() -> Self {
        OnebotAccountConfig {
            name: None,
            mode: OnebotMode::Ws,
            url: None,
            api_url: None,
            event_url: None,
            listen: None,
            path: None,
            access_token: None,
            secret: None,
            self_id: None,
            action_timeout_ms: 10_000,
            send_interval_ms: 500,
        }
    }
}

impl OnebotAccountConfig {
    /// The adapter's configuration; the error names the missing or bad
    /// key (the caller adds the account).
    pub fn client_config(&self) -> Result<wasmqq_onebot::Config, (&'static str, String)> {
        use wasmqq_onebot::Mode;
        let parse =
            |key: &'static str, v: &Option<String>| -> Result<url::Url, (&'static str, String)> {
                let v = v.as_deref().ok_or_else(|| {
                    (
                        key,
                        format!("is needed with mode = \"{}\"", self.mode_name()),
                    )
                })?;
                url::Url::parse(v).map_err(|e| (key, format!("{v:?} is not a URL: {e}")))
            };
        let listen = || {
            self.listen.ok_or_else(|| {
                (
                    "listen",
                    format!("is needed with mode = \"{}\"", self.mode_name()),
                )
            })
        };
        let mode = match self.mode {
            OnebotMode::Ws if self.api_url.is_some() || self.event_url.is_some() => {
                Mode::ForwardWsSplit {
                    api: parse("api_url", &self.api_url)?,
                    event: parse("event_url", &self.event_url)?,
                }
            }
            OnebotMode::Ws => Mode::ForwardWs {
                url: parse("url", &self.url)?,
            },
            OnebotMode::WsReverse => Mode::ReverseWs {
                listen: listen()?,
                path: self.path.clone().unwrap_or_else(|| "/onebot/v11/ws".into()),
            },
            OnebotMode::Http => Mode::Http {
                api: parse("url", &self.url)?,
                listen: listen()?,
                path: self
                    .path
                    .clone()
                    .unwrap_or_else(|| "/onebot/v11/http".into()),
            },
        };
        if let Some(p) = &self.path
            && !p.starts_with('/')
        {
            return Err(("path", format!("{p:?} must start with /")));
        }
        Ok(wasmqq_onebot::Config {
            mode,
            access_token: self.access_token.clone(),
            secret: self.secret.clone(),
            self_id: self.self_id,
            action_timeout: Duration::from_millis(self.action_timeout_ms),
            send_interval: Duration::from_millis(self.send_interval_ms),
            ..wasmqq_onebot::Config::default()
        })
    }

    fn mode_name(&self) -> &'static str {
        match self.mode {
            OnebotMode::Ws => "ws",
            OnebotMode::WsReverse => "ws-reverse",
            OnebotMode::Http => "http",
        }
    }
}

/// `platform = "linechat"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinechatAccountConfig {
    /// The account's name. Default: [`DEFAULT_ACCOUNT`].
    pub name: Option<String>,
    /// Where the room listens. Default: `127.0.0.1:7777`.
    pub listen: SocketAddr,
    /// The bot's nickname in the room. Default: `wasmqq`.
    pub bot_nick: String,
    /// The room's name. Default: `lobby`.
    pub room: String,
    /// Longest line accepted, in bytes. Default: 512.
    pub max_line_bytes: usize,
    /// Most connections at once. Default: 64.
    pub max_clients: usize,
    /// Lines queued for a client before it is dropped as too slow.
    /// Default: 256.
    pub client_queue: usize,
    /// `/auth PASSWORD` makes a connection a bot admin. Default: none (no
    /// admins in the room).
    pub admin_password: Option<String>,
}

impl Default for LinechatAccountConfig {
    fn default() -> Self {
        LinechatAccountConfig {
            name: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 7777)),
            bot_nick: "wasmqq".into(),
            room: "lobby".into(),
            max_line_bytes: 512,
            max_clients: 64,
            client_queue: 256,
            admin_password: None,
        }
    }
}

impl LinechatAccountConfig {
    /// The room's configuration; the error names the bad key.
    pub fn room_config(&self) -> Result<wasmqq_linechat::RoomConfig, (&'static str, String)> {
        let config = wasmqq_linechat::RoomConfig {
            listen: self.listen,
            bot_nick: self.bot_nick.clone(),
            room_name: self.room.clone(),
            max_line_bytes: self.max_line_bytes,
            max_clients: self.max_clients,
            client_queue: self.client_queue,
            admin_password: self.admin_password.clone(),
            ..wasmqq_linechat::RoomConfig::default()
        };
        config.validate().map_err(|e| match e {
            wasmqq_linechat::Error::Config { field, reason } => (
                match field {
                    "room_name" => "room",
                    other => other,
                },
                reason,
            ),
            other => ("listen", other.to_string()),
        })?;
        Ok(config)
    }
}

/// `platform = "webqq"`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebqqAccountConfig {
    /// The account's name (see the module docs). Default:
    /// [`DEFAULT_ACCOUNT`].
    pub name: Option<String>,
    /// `[accounts.webqq]`: this account's client settings, with the keys
    /// of `[webqq]`. Default: the `[webqq]` section.
    pub webqq: Option<WebqqConfig>,
}

impl AccountConfig {
    /// The account's name as configured (`None`: the default one).
    pub fn configured_name(&self) -> Option<&str> {
        match self {
            AccountConfig::Webqq(a) => a.name.as_deref(),
            AccountConfig::Onebot(a) => a.name.as_deref(),
            AccountConfig::Linechat(a) => a.name.as_deref(),
        }
    }

    /// The account's name.
    pub fn name(&self) -> &str {
        self.configured_name().unwrap_or(DEFAULT_ACCOUNT)
    }

    /// The platform's name as `platform` spells it.
    pub fn platform(&self) -> &'static str {
        match self {
            AccountConfig::Webqq(_) => "webqq",
            AccountConfig::Onebot(_) => "onebot",
            AccountConfig::Linechat(_) => "linechat",
        }
    }
}

/// The folder of `account`'s files under `data_dir` (see the module docs).
pub fn account_dir(data_dir: &Path, account: &str) -> PathBuf {
    if account == DEFAULT_ACCOUNT {
        data_dir.to_path_buf()
    } else {
        data_dir.join("accounts").join(account)
    }
}

/// Whether `name` may name an account: 1-32 ASCII letters, digits, `_`
/// and `-` (it becomes a folder name and a prefix of chat keys).
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
