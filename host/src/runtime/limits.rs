//! Resource limits applied to every plugin.

use std::time::Duration;

use serde::Deserialize;

use crate::capabilities::log_budget::LogLimits;

/// Limits for one plugin instance and each call into it.
///
/// Defaults: 1 s of wall time per call, 64 MiB of linear memory, 20 000 table
/// elements, 64 KiB of reply text and 20 actions per call, quarantine
/// after 3 consecutive faults, and a log budget of 50 lines per second
/// (bursts of 200) and 64 KiB per second (bursts of 256 KiB) with lines cut
/// at 2 KiB (see [`LogLimits`]).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Wall-clock deadline of one call, in milliseconds.
    pub call_timeout_ms: u64,
    /// Maximum linear memory of the instance, in bytes.
    pub memory_bytes: usize,
    /// Maximum elements across the instance's tables.
    pub table_elements: usize,
    /// Maximum core instances, tables and memories the component may create.
    pub instances: usize,
    /// Maximum bytes of text (all segments of all actions) one call may return.
    pub reply_bytes: usize,
    /// Maximum actions one call may return.
    pub actions: usize,
    /// Consecutive faults after which the plugin is quarantined.
    pub max_faults: u32,
    /// Log lines per second one plugin may write (its `log.write`, stdout
    /// and stderr together), sustained.
    pub log_lines_per_sec: u32,
    /// Log lines one plugin may write at once after a quiet spell.
    pub log_burst_lines: u32,
    /// Log bytes per second one plugin may write, sustained.
    pub log_bytes_per_sec: u64,
    /// Log bytes one plugin may write at once after a quiet spell.
    pub log_burst_bytes: u64,
    /// Longest log line of a plugin, in bytes; longer lines are cut with a
    /// marker.
    pub log_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let log = LogLimits::default();
        Limits {
            call_timeout_ms: 1_000,
            memory_bytes: 64 << 20,
            table_elements: 20_000,
            instances: 32,
            reply_bytes: 64 << 10,
            actions: 20,
            max_faults: 3,
            log_lines_per_sec: log.lines_per_sec,
            log_burst_lines: log.burst_lines,
            log_bytes_per_sec: log.bytes_per_sec,
            log_burst_bytes: log.burst_bytes,
            log_line_bytes: log.line_bytes,
        }
    }
}

impl Limits {
    /// The per-call deadline as a [`Duration`].
    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms)
    }

    /// The log budget of each plugin.
    pub fn log(&self) -> LogLimits {
        LogLimits {
            lines_per_sec: self.log_lines_per_sec,
            burst_lines: self.log_burst_lines,
            bytes_per_sec: self.log_bytes_per_sec,
            burst_bytes: self.log_burst_bytes,
            line_bytes: self.log_line_bytes,
        }
    }

    pub(crate) fn store_limits(&self) -> wasmtime::StoreLimits {
        wasmtime::StoreLimitsBuilder::new()
            .memory_size(self.memory_bytes)
            .table_elements(self.table_elements)
            .instances(self.instances)
            .tables(self.instances)
            .memories(self.instances)
            .build()
    }
}
