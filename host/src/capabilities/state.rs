//! What a plugin's store carries: its sandboxed WASI context, its limits,
//! its [`Caller`] and each capability's slice, built from the [`Services`]
//! (the backends every plugin shares) and the plugin's [`Grants`].

use std::sync::Arc;

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::caller::Caller;
use super::grants::Grants;
use super::log::stream::LogStream;
use super::log_budget::PluginLog;
use super::{contacts, http, kv, send, timers};
use crate::timers::TimerService;
use contacts::ContactDirectory;
use http::HttpFetcher;
use kv::KvStore;
use send::Outbound;

/// The backends behind the capability interfaces, shared by all plugins.
/// A capability whose backend is absent answers `unavailable` even when it is
/// granted.
#[derive(Clone, Default)]
pub struct Services {
    /// Key-value storage (`kv`): [`kv::SqliteKv`] or [`kv::MemoryKv`].
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

impl Services {
    /// Services with an in-memory key-value store (tests, `plugin try`).
    pub fn with_memory_kv() -> Services {
        Services {
            kv: Some(Arc::new(kv::MemoryKv::default())),
            ..Services::default()
        }
    }
}

/// The data of one plugin instance's `Store`: WASI (nothing granted), the
/// store limits and deadline flag, the [`Caller`] and one slice per
/// capability.
pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
    /// Set by the epoch callback when it interrupted a call.
    pub(crate) timed_out: bool,
    pub(crate) caller: Caller,
    pub(crate) kv: kv::Slice,
    pub(crate) timers: timers::Slice,
    pub(crate) send: send::Slice,
    pub(crate) contacts: contacts::Slice,
    pub(crate) http: http::Slice,
}

impl PluginState {
    pub(crate) fn new(
        plugin: Arc<str>,
        limits: StoreLimits,
        grants: &Grants,
        services: Services,
        log: Arc<PluginLog>,
    ) -> Self {
        PluginState {
            wasi: sandboxed_wasi(&log),
            table: ResourceTable::new(),
            limits,
            timed_out: false,
            caller: Caller::new(plugin, grants.capabilities(), log),
            kv: kv::Slice {
                backend: services.kv,
                quota: grants.kv_quota(),
            },
            timers: timers::Slice {
                service: services.timers,
            },
            send: send::Slice {
                outbound: services.outbound,
            },
            contacts: contacts::Slice {
                directory: services.contacts,
            },
            http: http::Slice {
                fetcher: services.http,
                allow: grants.http_allow().to_vec(),
            },
        }
    }

    /// Apply the plugin's grants (known once its metadata named it).
    pub(crate) fn grant(&mut self, grants: &Grants) {
        self.caller.granted = grants.capabilities();
        self.kv.quota = grants.kv_quota();
        self.http.allow = grants.http_allow().to_vec();
    }
}

/// WASI with nothing granted: no preopened directories, no environment, no
/// arguments, no network; stdout and stderr go to the log under the
/// plugin's name, within its log budget.
fn sandboxed_wasi(log: &Arc<PluginLog>) -> WasiCtx {
    WasiCtx::builder()
        .stdout(LogStream::new(log.clone(), "stdout"))
        .stderr(LogStream::new(log.clone(), "stderr"))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build()
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
