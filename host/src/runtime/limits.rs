//! Resource limits applied to every plugin.

use std::time::Duration;

use serde::Deserialize;

/// Limits for one plugin instance and each call into it.
///
/// Defaults: 1 s of wall time per call, 64 MiB of linear memory, 20 000 table
/// elements, 64 KiB of reply text and 20 actions per call, and quarantine
/// after 3 consecutive faults.
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            call_timeout_ms: 1_000,
            memory_bytes: 64 << 20,
            table_elements: 20_000,
            instances: 32,
            reply_bytes: 64 << 10,
            actions: 20,
            max_faults: 3,
        }
    }
}

impl Limits {
    /// The per-call deadline as a [`Duration`].
    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms)
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
