//! The host side of the plugin ABI: one module per capability, each with its
//! own grant check. Adding a capability means one new module here and one
//! field in [`Services`].
//!
//! Every capability beyond `log` and `clock` is checked twice: the plugin
//! must have been granted it ([`crate::runtime::Grants`], refused calls get
//! `not-granted` and a warning in the log), and the host must have a backend
//! for it in [`Services`] (absent backends answer `unavailable`).

mod clock;
pub mod contacts;
pub mod http;
pub mod kv;
mod log;
pub mod log_budget;
pub mod messaging;
pub mod timers;

use std::sync::Arc;

use super::abi::v0_1_0::wasmqq::plugin::types;
use super::state::PluginState;

pub use contacts::{Contact, ContactDirectory};
pub use http::{HostPattern, HttpFetcher, HttpLimits, HttpSetupError};
pub use kv::{KvQuota, KvStore, MemoryKv};
pub use log_budget::LogLimits;
pub use messaging::Outbound;
pub use timers::{DueTimer, TimerLimits, TimerService};

/// The backends behind the capability interfaces, shared by all plugins.
/// A capability whose backend is absent answers `unavailable` even when it is
/// granted.
#[derive(Clone, Default)]
pub struct Services {
    /// Key-value storage (`kv`): [`crate::store::SqliteKv`] or [`MemoryKv`].
    pub kv: Option<Arc<dyn KvStore>>,
    /// Durable timers (`timers`).
    pub timers: Option<TimerService>,
    /// Proactive messages (`send`): the outbox.
    pub outbound: Option<Arc<dyn Outbound>>,
    /// Contact look-up (`contacts`): the client's contact cache.
    pub contacts: Option<Arc<dyn ContactDirectory>>,
    /// Outgoing HTTP (`http`).
    pub http: Option<HttpFetcher>,
}

impl types::Host for PluginState {}

/// Short text for the `unavailable` error of a capability without a backend.
pub(crate) fn not_available(what: &str) -> types::HostError {
    types::HostError::Unavailable(format!("{what} is not available in this host"))
}

/// Run a backend call that may block (disk) on tokio's blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, types::HostError> + Send + 'static,
) -> Result<T, types::HostError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        tracing::error!("host call task failed: {e}");
        Err(types::HostError::Unavailable(
            "the host failed to run the call".into(),
        ))
    })
}

impl Services {
    /// Services with an in-memory key-value store (tests, `plugin try`).
    pub fn with_memory_kv() -> Services {
        Services {
            kv: Some(Arc::new(MemoryKv::default())),
            ..Services::default()
        }
    }
}
