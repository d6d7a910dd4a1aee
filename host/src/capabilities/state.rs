//! What a plugin's store carries: its sandboxed WASI context, its limits, its
//! grants and the services behind the host interfaces.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::Services;
use super::grants::Grants;
use super::log::budget::PluginLog;
use super::log::stream::LogStream;
use crate::abi::{Capability, Chat};

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
    /// The plugin's log budget, shared with its stdout/stderr and its task.
    pub(crate) log: Arc<PluginLog>,
}

impl PluginState {
    pub(crate) fn new(
        plugin: Arc<str>,
        limits: StoreLimits,
        grants: Grants,
        services: Services,
        log: Arc<PluginLog>,
    ) -> Self {
        PluginState {
            wasi: sandboxed_wasi(&log),
            plugin,
            table: ResourceTable::new(),
            limits,
            deadline: Instant::now(),
            timed_out: false,
            grants,
            services,
            chat: None,
            log,
        }
    }

    /// Whether a warning about this plugin's host call may be logged now.
    /// Every warning a plugin can cause at will by calling the host goes
    /// through this: it is counted against the plugin's log budget for host
    /// warnings, so a refused call in a loop logs a bounded number of lines.
    pub(crate) fn may_warn(&self) -> bool {
        self.log.host_warning()
    }

    /// Check a grant; log and build the error value the plugin receives when
    /// it is missing.
    pub(crate) fn require(&self, capability: Capability) -> Result<(), crate::abi::HostError> {
        if self.grants.allows(capability) {
            Ok(())
        } else {
            if self.may_warn() {
                tracing::warn!(
                    plugin = %self.plugin,
                    %capability,
                    "plugin used capability \"{capability}\" which it was not granted; refused"
                );
            }
            Err(crate::abi::HostError::NotGranted(capability))
        }
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
