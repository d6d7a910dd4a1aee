//! The host side of the plugin ABI: one module per capability, each with its
//! own grant check. Adding a capability means one new module here and one
//! field in [`Services`].

mod clock;
mod contacts;
mod http;
pub mod kv;
mod log;
mod messaging;
mod timers;

use std::sync::Arc;

use super::abi::v0_1_0::wasmqq::plugin::types;
use super::state::PluginState;

pub use kv::{KvStore, MemoryKv};

/// The backends behind the capability interfaces, shared by all plugins.
/// A capability whose backend is absent answers `unavailable` even when it is
/// granted.
#[derive(Clone, Default)]
pub struct Services {
    /// Key-value storage.
    pub kv: Option<Arc<dyn KvStore>>,
}

impl types::Host for PluginState {}

/// Short text for the `unavailable` error of a capability without a backend.
pub(crate) fn not_available(what: &str) -> types::HostError {
    types::HostError::Unavailable(format!("{what} is not available in this host"))
}

impl Services {
    /// Services with an in-memory key-value store (tests, `plugin try`).
    pub fn with_memory_kv() -> Services {
        Services {
            kv: Some(Arc::new(MemoryKv::default())),
        }
    }
}
