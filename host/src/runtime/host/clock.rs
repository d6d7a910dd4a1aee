//! `wasmqq:plugin/clock`: always granted.

use crate::runtime::abi::v0_1_0::wasmqq::plugin::clock::Host;
use crate::runtime::state::PluginState;

impl Host for PluginState {
    async fn now(&mut self) -> u64 {
        crate::clock::unix_ms()
    }
}
