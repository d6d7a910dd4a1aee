//! The configuration file of `wasmqq run --config FILE` and `wasmqq demo`.
//!
//! One TOML file, every section optional: a missing key takes the default
//! documented in `config/wasmqq.toml` (which is embedded as
//! [`DEFAULT_TOML`] and parses to exactly [`Config::default()`]).
//!
//! Loading is strict, because a typo in a bot's configuration should stop it
//! at start rather than silently grant nothing or rate-limit nobody: unknown
//! keys and values of the wrong type are refused by serde
//! (`deny_unknown_fields`), every number must be within its key's range
//! (`ranges`, checked before serde so that a value too large for its type
//! names its range too), and `validate` then checks what types cannot
//! say (non-empty prefixes, plugin names, capability names, host names,
//! `retry_max_ms` ≥ `retry_base_ms`). Every error is a [`ConfigError`] naming the file, the
//! line and column, and the dotted key (`plugins.title.grants[1]`); the key
//! path comes from `serde_path_to_error`, the position from the TOML parser
//! for type errors and from `span::find` (a walk of the parsed document along
//! the key path) for validation errors.

mod accounts;
mod error;
mod ranges;
mod span;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::abi::Capability;
use crate::capabilities::{HttpLimits, KvQuota};
use crate::runtime::Limits;
use crate::timers::TimerLimits;

pub use crate::dispatch::RateLimitConfig;

pub use accounts::{
    AccountConfig, LinechatAccountConfig, OnebotAccountConfig, OnebotMode, WebqqAccountConfig,
    account_dir,
};
pub use error::ConfigError;
pub use span::Key;

/// The default configuration file, fully commented: `config/wasmqq.toml`.
/// Parses to exactly [`Config::default()`].
pub const DEFAULT_TOML: &str = include_str!("../../../config/wasmqq.toml");

/// The whole configuration file. Every section is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[bot]`: commands, admins, folders.
    pub bot: BotConfig,
    /// `[webqq]`: the WebQQ client (server, pacing, timeouts).
    pub webqq: WebqqConfig,
    /// `[[accounts]]`: the accounts served (see [`accounts`]). Empty: one
    /// WebQQ account, [`crate::account::DEFAULT_ACCOUNT`], set up by
    /// `[webqq]`.
    pub accounts: Vec<AccountConfig>,
    /// `[limits]`: resource limits applied to every plugin call.
    pub limits: Limits,
    /// `[rate_limit]`: cooldowns between commands.
    pub rate_limit: RateLimitConfig,
    /// `[outbox]`: retries of outgoing messages.
    pub outbox: OutboxSection,
    /// `[timers]`: limits of the `timers` capability.
    pub timers: TimerLimits,
    /// `[http]`: limits of the `http` capability.
    pub http: HttpLimits,
    /// `[plugins.<name>]`: per-plugin switches, grants and settings, keyed by
    /// the plugin's name (as it declares it in its metadata). A plugin
    /// without a table here runs with the defaults of [`PluginConfig`].
    pub plugins: BTreeMap<String, PluginConfig>,
}

/// `[bot]`: how people talk to the bot and where it keeps its files.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BotConfig {
    /// Strings that start a command (`!help`, `/help`). Each is non-empty
    /// and holds no whitespace. Default: `["!", "/"]`.
    pub prefixes: Vec<String>,
    /// QQ numbers allowed to run the admin commands (`plugins`, `enable`,
    /// `disable`, `reload`). Default: none.
    pub admins: Vec<u64>,
    /// Folder of the bot's state: the WebQQ session, the SQLite database
    /// (plugin data, timers, outbox), the compiled-component cache, the QR
    /// code. Relative paths are resolved against the configuration file's
    /// folder. Default: `data`.
    pub data_dir: PathBuf,
    /// The drop-in folder: every `.wasm` file in it is a plugin, loaded,
    /// reloaded and unloaded as files come and go. Relative paths are
    /// resolved against the configuration file's folder. Default:
    /// `plugins.d`.
    pub plugin_dir: PathBuf,
    /// `[bot.commands]`: command or alias name → the plugin that owns it.
    /// A pin wins over the ownership recorded in `<data_dir>/commands.json`
    /// (first claim keeps a name): only the pinned plugin serves the name,
    /// and while it is not loaded nobody does. Names are case-insensitive
    /// (1-32 characters without spaces); built-in commands cannot be
    /// pinned. Default: none.
    pub commands: BTreeMap<String, String>,
}

impl Default for BotConfig {
    fn default() -> Self {
        BotConfig {
            prefixes: crate::dispatch::default_prefixes(),
            admins: Vec::new(),
            data_dir: PathBuf::from("data"),
            plugin_dir: PathBuf::from("plugins.d"),
            commands: BTreeMap::new(),
        }
    }
}

/// `[webqq]`: the WebQQ client.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebqqConfig {
    /// `None`: the real WebQQ hosts over HTTPS. An address (`"127.0.0.1:8080"`):
    /// every WebQQ host is reached at that address over plain HTTP, as
    /// served by `wasmqq sim`. Default: `None`.
    pub server: Option<SocketAddr>,
    /// Minimum time between two messages sent to the same chat, in
    /// milliseconds (WebQQ answers faster sending with 1202 and bans).
    /// Default: 1500.
    pub send_interval_ms: u64,
    /// Retries of a message part after a transient failure. Default: 3.
    pub send_retries: u32,
    /// Longer replies are split into parts of at most this many UTF-8 bytes.
    /// Default: 720.
    pub max_message_bytes: usize,
    /// Read timeout of one long poll, in seconds. Default: 120.
    pub poll_timeout_secs: u64,
    /// Where the login QR code is written as PNG; relative to
    /// [`BotConfig::data_dir`]. Default: `qr.png`.
    pub qr_png_path: PathBuf,
}

impl Default for WebqqConfig {
    fn default() -> Self {
        WebqqConfig {
            server: None,
            send_interval_ms: 1500,
            send_retries: 3,
            max_message_bytes: 720,
            poll_timeout_secs: 120,
            qr_png_path: PathBuf::from("qr.png"),
        }
    }
}

impl WebqqConfig {
    /// The WebQQ client's configuration: these settings, the session file
    /// `<data_dir>/session.json`, the QR code under `data_dir` (unless its
    /// path is absolute), and the client's defaults for everything else.
    pub fn client_config(&self, data_dir: &Path) -> wasmqq_webqq::ClientConfig {
        wasmqq_webqq::ClientConfig {
            server: self.server,
            session_file: Some(data_dir.join("session.json")),
            qr_png_path: data_dir.join(&self.qr_png_path),
            send_interval: Duration::from_millis(self.send_interval_ms),
            send_retries: self.send_retries,
            max_message_bytes: self.max_message_bytes,
            poll_timeout: Duration::from_secs(self.poll_timeout_secs),
            ..wasmqq_webqq::ClientConfig::default()
        }
    }
}

/// `[outbox]`: delivery of outgoing messages, which are persisted until sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxSection {
    /// Attempts at delivering one message before it is reported as failed
    /// (at least 1). Default: 5.
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds; doubled after each
    /// failure. Default: 1000.
    pub retry_base_ms: u64,
    /// Cap of that delay, in milliseconds (at least `retry_base_ms`).
    /// Default: 60000.
    pub retry_max_ms: u64,
    /// Proactive messages (sends to a chat, timer answers) one plugin may
    /// queue per minute, as a token bucket of this size refilled over a
    /// minute. Default: 20.
    pub plugin_sends_per_minute: u32,
    /// Messages of one plugin that may wait in the outbox at once; beyond
    /// it, `quota-exceeded`. Default: 50.
    pub plugin_max_queued: u32,
    /// Parts (of `[webqq] max_message_bytes`) one message may take; a
    /// longer one is cut with a marker. Default: 5.
    pub max_reply_parts: u32,
}

impl Default for OutboxSection {
    fn default() -> Self {
        // The delivery defaults are the outbox's own.
        let outbox = crate::outbox::OutboxConfig::default();
        OutboxSection {
            max_attempts: outbox.max_attempts,
            retry_base_ms: millis(outbox.retry_base),
            retry_max_ms: millis(outbox.retry_max),
            plugin_sends_per_minute: 20,
            plugin_max_queued: 50,
            max_reply_parts: 5,
        }
    }
}

impl OutboxSection {
    /// The outbox's delivery settings from this section's keys; the rest
    /// (the shutdown grace) keep the outbox's defaults.
    pub fn delivery(&self) -> crate::outbox::OutboxConfig {
        crate::outbox::OutboxConfig {
            max_attempts: self.max_attempts,
            retry_base: Duration::from_millis(self.retry_base_ms),
            retry_max: Duration::from_millis(self.retry_max_ms),
            ..crate::outbox::OutboxConfig::default()
        }
    }
}

/// A default duration as the whole milliseconds a config key holds.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `[plugins.<name>]`: one plugin's switch, grants and settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginConfig {
    /// Whether the plugin is loaded at all. The admin commands `enable` and
    /// `disable` act per chat on top of this. Default: true.
    pub enabled: bool,
    /// Capabilities granted (`kv`, `timers`, `send`, `contacts`, `http`);
    /// log and clock need no grant. Default: none.
    #[serde(deserialize_with = "capabilities")]
    pub grants: Vec<Capability>,
    /// Hosts the `http` capability may reach: a host name (`example.com`),
    /// optionally `*.`-prefixed for its subdomains and `:port`-suffixed;
    /// no scheme, no path. Default: none.
    pub http_allow: Vec<crate::capabilities::HostPattern>,
    /// Bytes of keys and values the plugin may keep in key-value storage.
    /// Default: 1048576 (1 MiB).
    pub kv_quota_bytes: u64,
    /// Number of keys the plugin may keep in key-value storage.
    /// Default: 10000.
    pub kv_quota_keys: u64,
    /// Pins the plugin to one binary: the SHA-256 (64 hex digits, as
    /// `wasmqq plugin check` prints it) its file must have. A file with
    /// another hash is refused, the running version keeps serving and the
    /// admins are told. Default: not pinned.
    pub sha256: Option<String>,
    /// Free-form settings handed to the plugin's `init` as JSON
    /// ([`init_json`](Self::init_json)). Default: empty.
    pub config: toml::Table,
}

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            enabled: true,
            grants: Vec::new(),
            http_allow: Vec::new(),
            kv_quota_bytes: KvQuota::DEFAULT.max_bytes,
            kv_quota_keys: KvQuota::DEFAULT.max_keys,
            sha256: None,
            config: toml::Table::new(),
        }
    }
}

impl PluginConfig {
    /// The plugin's [`config`](Self::config) table as a JSON object, given
    /// to its `init`. TOML datetimes become strings in their TOML form;
    /// non-finite floats (`nan`, `inf`) become `null`.
    pub fn init_json(&self) -> String {
        let object = self
            .config
            .iter()
            .map(|(k, v)| (k.clone(), toml_to_json(v)))
            .collect();
        serde_json::Value::Object(object).to_string()
    }
}

fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => J::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// Capability names, refused on the first unknown one.
fn capabilities<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<Capability>, D::Error> {
    /// One capability name; a newtype so that the element's index is part
    /// of the error's key path.
    struct Name(Capability);
    impl<'de> Deserialize<'de> for Name {
        fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
            let name = String::deserialize(de)?;
            Capability::from_name(&name).map(Name).ok_or_else(|| {
                let known: Vec<_> = Capability::ALL.iter().map(|c| c.name()).collect();
                serde::de::Error::custom(format!(
                    "unknown capability {name:?} (known: {})",
                    known.join(", ")
                ))
            })
        }
    }
    Ok(Vec::<Name>::deserialize(de)?
        .into_iter()
        .map(|n| n.0)
        .collect())
}

impl Config {
    /// Read, check and [resolve](Self::resolve_paths) the configuration file
    /// at `path`: relative folders are taken against the file's own folder.
    ///
    /// Fails with [`ConfigError::Read`] when the file cannot be read, and
    /// with [`ConfigError::Invalid`] (file, line, key) on a syntax error, an
    /// unknown key, a value of the wrong type or a value out of range.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(&text, path)?;
        // An absolute base keeps the resolved paths independent of the
        // current directory (and `resolve_paths` idempotent).
        let base = path.parent().unwrap_or(Path::new(""));
        let base = std::path::absolute(if base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            base
        })
        .unwrap_or_else(|_| base.to_path_buf());
        config.resolve_paths(&base);
        Ok(config)
    }

    /// Parse and check configuration text; `file` only names the source in
    /// errors. Paths are left as written (see [`resolve_paths`](Self::resolve_paths)).
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        let invalid = |key: Key, span: Option<std::ops::Range<usize>>, message: String| {
            ConfigError::invalid(file, text, span, key, message)
        };
        let de = toml::de::Deserializer::parse(text)
            .map_err(|e| invalid(Key::root(), e.span(), e.message().to_string()))?;
        // Numbers out of range first, so that one too large for its field's
        // type is reported with its range too.
        if let Ok(doc) = toml::de::DeTable::parse(text) {
            ranges::check(doc.get_ref())
                .map_err(|(key, span, message)| invalid(key, Some(span), message))?;
        }
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = Key::from_path(e.path());
            let inner = e.into_inner();
            // Speak of keys, not fields (the path already ends with the
            // unknown key's name).
            // (inside an `[[accounts]]` entry, whose platform tag makes serde
            // buffer it, the path stops at the entry: name the key then).
            let message = match inner.message().strip_prefix("unknown field `") {
                Some(rest) => match rest.split_once('`') {
                    Some((field, tail)) if key.to_string().ends_with(field) => {
                        format!("unknown key{tail}")
                    }
                    Some((field, tail)) => format!("unknown key `{field}`{tail}"),
                    None => inner.message().to_string(),
                },
                None => inner.message().to_string(),
            };
            // toml places errors inside arrays on the whole array; the
            // element the path names is more precise.
            let span = match (inner.span(), span::find(text, &key)) {
                (Some(outer), Some(found))
                    if outer.start <= found.start && found.end <= outer.end && found != outer =>
                {
                    Some(found)
                }
                (outer, found) => outer.or(found),
            };
            invalid(key, span, message)
        })?;
        validate::validate(&config).map_err(|(key, message)| {
            let span = span::find(text, &key);
            invalid(key, span, message)
        })?;
        Ok(config)
    }

    /// Make [`BotConfig::data_dir`] and [`BotConfig::plugin_dir`] absolute
    /// against `base` (the configuration file's folder) when they are
    /// relative, and [`WebqqConfig::qr_png_path`] against the resolved
    /// `data_dir`. Absolute paths are kept.
    pub fn resolve_paths(&mut self, base: &Path) {
        self.bot.data_dir = base.join(&self.bot.data_dir);
        self.bot.plugin_dir = base.join(&self.bot.plugin_dir);
        self.webqq.qr_png_path = self.bot.data_dir.join(&self.webqq.qr_png_path);
    }

    /// The accounts to serve: the `[[accounts]]` entries, or the one
    /// WebQQ account of `[webqq]` when there are none.
    pub fn accounts(&self) -> Vec<AccountConfig> {
        if self.accounts.is_empty() {
            return vec![AccountConfig::Webqq(WebqqAccountConfig::default())];
        }
        self.accounts.clone()
    }

    /// The WebQQ client's configuration of a WebQQ account: its own
    /// `[accounts.webqq]` table or `[webqq]`, with its files in its
    /// [`account_dir`].
    pub fn webqq_client_config(&self, account: &WebqqAccountConfig) -> wasmqq_webqq::ClientConfig {
        let name = account
            .name
            .as_deref()
            .unwrap_or(crate::account::DEFAULT_ACCOUNT);
        let dir = account_dir(&self.bot.data_dir, name);
        account
            .webqq
            .as_ref()
            .unwrap_or(&self.webqq)
            .client_config(&dir)
    }

    /// The settings of plugin `name`: its `[plugins.<name>]` table, or the
    /// defaults when it has none.
    pub fn plugin(&self, name: &str) -> PluginConfig {
        self.plugins.get(name).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
