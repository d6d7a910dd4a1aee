//! `wasmqq:plugin/log`: always granted, within the plugin's log budget (see
//! [`super::log_budget`]): lines are cut at the budget's line length and
//! escaped, lines over the budget are dropped and counted. Lines at a level
//! the host's log filter hides cost nothing.

pub(crate) mod stream;

use super::caller::{Caller, CallerOnly};
use crate::abi::v0_1_0::wasmqq::plugin::log::{Host, Level};

use super::log_budget::clip_line;

/// Link `wasmqq:plugin/log`, its host side seeing what `get` gives.
pub(crate) fn link<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &Caller,
) -> wasmtime::Result<()> {
    crate::abi::v0_1_0::wasmqq::plugin::log::add_to_linker::<T, CallerOnly>(linker, get)
}

const TARGET: &str = "wasmqq::plugin_log";

/// Whether the host's log shows lines of `level` from plugins.
fn shown(level: Level) -> bool {
    match level {
        Level::Trace => tracing::enabled!(target: TARGET, tracing::Level::TRACE),
        Level::Debug => tracing::enabled!(target: TARGET, tracing::Level::DEBUG),
        Level::Info => tracing::enabled!(target: TARGET, tracing::Level::INFO),
        Level::Warn => tracing::enabled!(target: TARGET, tracing::Level::WARN),
        Level::Error => tracing::enabled!(target: TARGET, tracing::Level::ERROR),
    }
}

impl Host for &Caller {
    async fn write(&mut self, level: Level, message: String) {
        if !shown(level) {
            return;
        }
        let message = clip_line(&message, self.log.limits().line_bytes);
        if !self.log.output(message.len()) {
            return;
        }
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(target: TARGET, plugin, "{message}"),
            Level::Debug => tracing::debug!(target: TARGET, plugin, "{message}"),
            Level::Info => tracing::info!(target: TARGET, plugin, "{message}"),
            Level::Warn => tracing::warn!(target: TARGET, plugin, "{message}"),
            Level::Error => tracing::error!(target: TARGET, plugin, "{message}"),
        }
    }
}
