//! `wasmqq:plugin/clock`: always granted.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::runtime::abi::v0_1_0::wasmqq::plugin::clock::Host;
use crate::runtime::state::PluginState;

impl Host for PluginState {
    async fn now(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}
