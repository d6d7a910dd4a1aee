//! `wasmqq:plugin/kv`: per-plugin key-value storage, granted by `kv`.
//!
//! The backend is a [`KvStore`]: the host's SQLite database
//! ([`SqliteKv`], in `sqlite.rs`) in production, [`MemoryKv`] for `plugin try`
//! and tests. Each plugin has a [`KvQuota`] (from its grant configuration)
//! checked on every write. Backend calls may block on disk, so the host
//! interface runs them on tokio's blocking pool.

mod sqlite;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::caller::{Ctx, Uses, blocking, not_available};
use crate::abi::Capability;
use crate::abi::v0_1_0::wasmqq::plugin::kv::Host;
use crate::abi::v0_1_0::wasmqq::plugin::types::HostError;

/// The `kv` capability's part of a plugin's state.
pub struct Slice {
    /// The storage; `None`: `unavailable`.
    pub(crate) backend: Option<Arc<dyn KvStore>>,
    /// This plugin's quota (from its grant configuration).
    pub(crate) quota: KvQuota,
}

/// Link `wasmqq:plugin/kv`, its host side seeing what `get` gives.
pub(crate) fn link<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> Ctx<'_, Slice>,
) -> wasmtime::Result<()> {
    crate::abi::v0_1_0::wasmqq::plugin::kv::add_to_linker::<T, Uses<Slice>>(linker, get)
}

pub use sqlite::SqliteKv;

/// Longest key accepted, in bytes.
pub const MAX_KEY: usize = 256;

/// How much one plugin may keep in key-value storage. Bytes count keys and
/// values. Defaults: 1 MiB in at most 10 000 keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KvQuota {
    /// Total bytes of keys and values.
    pub max_bytes: u64,
    /// Number of keys.
    pub max_keys: u64,
}

impl KvQuota {
    /// The default quota: 1 MiB, 10 000 keys.
    pub const DEFAULT: KvQuota = KvQuota {
        max_bytes: 1 << 20,
        max_keys: 10_000,
    };

    /// `None` if `keys` keys holding `bytes` bytes fit; else the reason, as
    /// given to the plugin in `quota-exceeded`.
    pub fn check(&self, keys: u64, bytes: u64) -> Option<String> {
        if keys > self.max_keys {
            Some(format!(
                "key-value quota: at most {} keys per plugin",
                self.max_keys
            ))
        } else if bytes > self.max_bytes {
            Some(format!(
                "key-value quota: at most {} bytes per plugin (keys and values), this write needs {bytes}",
                self.max_bytes
            ))
        } else {
            None
        }
    }
}

impl Default for KvQuota {
    fn default() -> Self {
        KvQuota::DEFAULT
    }
}

/// A key-value backend, namespaced by plugin name. Errors are the values
/// given to the plugin: `quota-exceeded` when a write would pass `quota`,
/// `unavailable` when storage fails (the backend logs the details).
pub trait KvStore: Send + Sync {
    /// The value under `key` in `plugin`'s namespace.
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, HostError>;
    /// Store `value` under `key`, unless `plugin` would then exceed `quota`.
    fn set(&self, plugin: &str, key: &str, value: &[u8], quota: KvQuota) -> Result<(), HostError>;
    /// Remove `key`; whether it existed.
    fn delete(&self, plugin: &str, key: &str) -> Result<bool, HostError>;
    /// Keys starting with `prefix`, in byte order.
    fn keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, HostError>;
}

/// An in-memory [`KvStore`] for tests and the plugin test harness; nothing
/// survives the process.
#[derive(Default)]
pub struct MemoryKv {
    data: Mutex<BTreeMap<(String, String), Vec<u8>>>,
}

impl KvStore for MemoryKv {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        let data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        Ok(data.get(&(plugin.to_owned(), key.to_owned())).cloned())
    }

    fn set(&self, plugin: &str, key: &str, value: &[u8], quota: KvQuota) -> Result<(), HostError> {
        let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        let (keys, bytes) = data
            .iter()
            .filter(|((p, k), _)| p == plugin && k != key)
            .fold((0u64, 0u64), |(n, b), ((_, k), v)| {
                (n + 1, b + (k.len() + v.len()) as u64)
            });
        if let Some(why) = quota.check(keys + 1, bytes + (key.len() + value.len()) as u64) {
            return Err(HostError::QuotaExceeded(why));
        }
        data.insert((plugin.to_owned(), key.to_owned()), value.to_vec());
        Ok(())
    }

    fn delete(&self, plugin: &str, key: &str) -> Result<bool, HostError> {
        let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        Ok(data.remove(&(plugin.to_owned(), key.to_owned())).is_some())
    }

    fn keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, HostError> {
        let data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        Ok(data
            .keys()
            .filter(|(p, k)| p == plugin && k.starts_with(prefix))
            .map(|(_, k)| k.clone())
            .collect())
    }
}

fn check_key(key: &str) -> Result<(), HostError> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(HostError::Invalid(format!(
            "key must be 1 to {MAX_KEY} bytes, got {}",
            key.len()
        )));
    }
    Ok(())
}

impl Ctx<'_, Slice> {
    /// The backend and this plugin's name, after the grant check.
    fn kv(&self) -> Result<(Arc<dyn KvStore>, Arc<str>), HostError> {
        self.require(Capability::Kv)?;
        let kv = self
            .own
            .backend
            .clone()
            .ok_or_else(|| not_available("key-value storage"))?;
        Ok((kv, self.plugin.clone()))
    }
}

impl Host for Ctx<'_, Slice> {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, HostError> {
        let (kv, plugin) = self.kv()?;
        check_key(&key)?;
        blocking(move || kv.get(&plugin, &key)).await
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), HostError> {
        let (kv, plugin) = self.kv()?;
        check_key(&key)?;
        let quota = self.own.quota;
        let result = blocking(move || kv.set(&plugin, &key, &value, quota)).await;
        if let Err(HostError::QuotaExceeded(why)) = &result
            && self.may_warn()
        {
            tracing::warn!(plugin = %self.plugin, "key-value write refused: {why}");
        }
        result
    }

    async fn delete(&mut self, key: String) -> Result<bool, HostError> {
        let (kv, plugin) = self.kv()?;
        check_key(&key)?;
        blocking(move || kv.delete(&plugin, &key)).await
    }

    async fn keys(&mut self, prefix: String) -> Result<Vec<String>, HostError> {
        let (kv, plugin) = self.kv()?;
        blocking(move || kv.keys(&plugin, &prefix)).await
    }
}
