//! `wasmqq:plugin/timers`, granted by `timers`. Durable timers come with the
//! storage layer; until then a granted plugin is told they are unavailable.

use crate::runtime::abi::Capability;
use crate::runtime::abi::v0_1_0::wasmqq::plugin::timers::Host;
use crate::runtime::abi::v0_1_0::wasmqq::plugin::types::HostError;
use crate::runtime::state::PluginState;

impl Host for PluginState {
    async fn schedule(&mut self, _delay_ms: u64, _payload: String) -> Result<u64, HostError> {
        self.require(Capability::Timers)?;
        Err(super::not_available("timers"))
    }

    async fn schedule_at(&mut self, _at_ms: u64, _payload: String) -> Result<u64, HostError> {
        self.require(Capability::Timers)?;
        Err(super::not_available("timers"))
    }

    async fn cancel(&mut self, _id: u64) -> Result<bool, HostError> {
        self.require(Capability::Timers)?;
        Err(super::not_available("timers"))
    }
}
