//! The capabilities: what a plugin can ask of the host, one module each.
//!
//! A module owns everything of its capability: the host side of its WIT
//! interface (its `Host` impl for [`PluginState`]), its grant check (the
//! only one: [`PluginState::require`] at the top of each call, refused
//! calls get `not-granted` and a warning within the plugin's log budget),
//! its backend trait and the settings its configuration section holds, and
//! its `link` function. [`link`] is the one place the interfaces are added
//! to the linker. Spin's factors are the model, without the generic
//! machinery: there is one store type and one ABI world.
//!
//! | module | interface | grant | backend in [`Services`] |
//! | --- | --- | --- | --- |
//! | [`clock`] | `clock` | always | — |
//! | [`log`] | `log` (and WASI stdout/stderr) | always | — (the plugin's [`log::budget`]) |
//! | [`kv`] | `kv` | `kv` (quota per plugin) | [`KvStore`] |
//! | [`timers`] | `timers` | `timers` | [`crate::timers::TimerService`] |
//! | [`send`] | `messaging` | `send` | [`Outbound`] (the outbox) |
//! | [`contacts`] | `contacts` | `contacts` | [`ContactDirectory`] |
//! | [`http`] | `http` | `http` (allow list per plugin) | [`HttpFetcher`] |
//!
//! Adding a capability: a variant in the WIT `capability` enum and its name
//! in [`crate::abi`], one module here with its `Host` impl and `link`, one
//! line in [`link`], and its backend (if any) as a field of [`Services`]. A
//! granted capability whose backend is absent answers `unavailable`.

pub mod clock;
pub mod contacts;
pub mod grants;
pub mod http;
pub mod kv;
pub mod log;
pub mod send;
pub mod state;
pub mod timers;

use std::sync::Arc;

use wasmtime::component::HasSelf;

use crate::abi::v0_1_0::wasmqq::plugin::types;

pub use contacts::{Contact, ContactDirectory};
pub use grants::{GrantError, Grants};
pub use http::{HostPattern, HttpFetcher, HttpLimits, HttpSetupError};
pub use kv::{KvQuota, KvStore, MemoryKv, SqliteKv};
pub use log::budget::LogLimits;
pub use send::Outbound;
pub use state::PluginState;

/// The linker every plugin is linked with.
pub(crate) type Linker = wasmtime::component::Linker<PluginState>;

/// The host data each interface is implemented on: the store's own state.
pub(crate) type Own = HasSelf<PluginState>;

/// Add every wasmqq interface to `linker`: the shared `types` and one line
/// per capability. (WASI is linked by the runtime, with nothing granted.)
pub(crate) fn link(linker: &mut Linker) -> wasmtime::Result<()> {
    types::add_to_linker::<_, Own>(linker, |s| s)?;
    clock::link(linker)?;
    log::link(linker)?;
    kv::link(linker)?;
    timers::link(linker)?;
    send::link(linker)?;
    contacts::link(linker)?;
    http::link(linker)?;
    Ok(())
}

/// The backends behind the capability interfaces, shared by all plugins.
/// A capability whose backend is absent answers `unavailable` even when it is
/// granted.
#[derive(Clone, Default)]
pub struct Services {
    /// Key-value storage (`kv`): [`SqliteKv`] or [`MemoryKv`].
    pub kv: Option<Arc<dyn KvStore>>,
    /// Durable timers (`timers`).
    pub timers: Option<crate::timers::TimerService>,
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
