//! What a plugin's store carries: its sandboxed WASI context, its limits, its
//! grants and the services behind the host interfaces.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::abi::{Capability, Chat};
use super::grants::Grants;
use super::host::Services;
use super::logstream::LogStream;

/// The data of one plugin instance's `Store`.
pub struct PluginState {
    pub(crate) plugin: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
    /// When the current call must end.
    pub(crate) deadline: Instant,
    /// Set by the epoch callback when it interrupted a call.
    pub(crate) timed_out: bool,
    pub(crate) grants: Grants,
    pub(crate) services: Services,
    /// The chat of the event being handled, if any.
    pub(crate) chat: Option<Chat>,
}

impl PluginState {
    pub(crate) fn new(
        plugin: Arc<str>,
        limits: StoreLimits,
        grants: Grants,
        services: Services,
    ) -> Self {
        PluginState {
            wasi: sandboxed_wasi(&plugin),
            plugin,
            table: ResourceTable::new(),
            limits,
            deadline: Instant::now(),
            timed_out: false,
            grants,
            services,
            chat: None,
        }
    }

    /// Check a grant; log and build the error value the plugin receives when
    /// it is missing.
    pub(crate) fn require(&self, capability: Capability) -> Result<(), super::abi::HostError> {
        if self.grants.allows(capability) {
            Ok(())
        } else {
            tracing::warn!(
                plugin = %self.plugin,
                %capability,
                "plugin used capability \"{capability}\" which it was not granted; refused"
            );
            Err(super::abi::HostError::NotGranted(capability))
        }
    }
}

/// WASI with nothing granted: no preopened directories, no environment, no
/// arguments, no network; stdout and stderr go to the log under the
/// plugin's name.
fn sandboxed_wasi(plugin: &Arc<str>) -> WasiCtx {
    WasiCtx::builder()
        .stdout(LogStream::new(plugin.clone(), "stdout"))
        .stderr(LogStream::new(plugin.clone(), "stderr"))
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
