//! `wasmqq:plugin/kv`: per-plugin key-value storage, granted by `kv`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::runtime::abi::Capability;
use crate::runtime::abi::v0_1_0::wasmqq::plugin::kv::Host;
use crate::runtime::abi::v0_1_0::wasmqq::plugin::types::HostError;
use crate::runtime::state::PluginState;

/// Longest key accepted, in bytes.
pub const MAX_KEY: usize = 256;

/// A key-value backend, namespaced by plugin name. Errors are the text given
/// to the plugin as `unavailable` or `quota-exceeded`.
pub trait KvStore: Send + Sync {
    /// The value under `key` in `plugin`'s namespace.
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, HostError>;
    /// Store `value` under `key`.
    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), HostError>;
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

    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), HostError> {
        let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner());
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

impl PluginState {
    fn kv(&self) -> Result<&dyn KvStore, HostError> {
        self.require(Capability::Kv)?;
        self.services
            .kv
            .as_deref()
            .ok_or_else(|| super::not_available("key-value storage"))
    }
}

impl Host for PluginState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, HostError> {
        check_key(&key)?;
        self.kv()?.get(&self.plugin, &key)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), HostError> {
        check_key(&key)?;
        self.kv()?.set(&self.plugin, &key, &value)
    }

    async fn delete(&mut self, key: String) -> Result<bool, HostError> {
        check_key(&key)?;
        self.kv()?.delete(&self.plugin, &key)
    }

    async fn keys(&mut self, prefix: String) -> Result<Vec<String>, HostError> {
        self.kv()?.keys(&self.plugin, &prefix)
    }
}
