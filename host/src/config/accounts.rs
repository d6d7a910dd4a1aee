//! `[[accounts]]`: the accounts the bot serves, each on one platform.
//!
//! Without any `[[accounts]]` entry the bot has one WebQQ account named
//! [`DEFAULT_ACCOUNT`] configured by `[webqq]`, exactly as before accounts
//! existed. Each entry names its `platform`; its other keys are that
//! platform's. Names are unique; a single entry may leave its name out and
//! is then [`DEFAULT_ACCOUNT`]. The default account keeps its files (WebQQ
//! session, outbox and inbound journal) directly in `[bot] data_dir`; every
//! other account in `<data_dir>/accounts/<name>/`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::WebqqConfig;
use crate::dispatch::DEFAULT_ACCOUNT;

/// One `[[accounts]]` entry, by `platform`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "platform", rename_all = "lowercase")]
pub enum AccountConfig {
    /// `platform = "webqq"`: a SmartQQ account, logged in by QR code.
    Webqq(WebqqAccountConfig),
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
