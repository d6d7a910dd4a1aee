//! `wasmqq:plugin/log`: always granted.

use crate::runtime::abi::v0_1_0::wasmqq::plugin::log::{Host, Level};
use crate::runtime::state::PluginState;

/// Longest log line accepted from a plugin; the rest is cut.
const MAX_LOG_LINE: usize = 2048;

impl Host for PluginState {
    async fn write(&mut self, level: Level, message: String) {
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(target: "wasmqq::plugin_log", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "wasmqq::plugin_log", plugin, "{message}"),
            Level::Info => tracing::info!(target: "wasmqq::plugin_log", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "wasmqq::plugin_log", plugin, "{message}"),
            Level::Error => tracing::error!(target: "wasmqq::plugin_log", plugin, "{message}"),
        }
    }
}
