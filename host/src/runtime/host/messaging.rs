//! `wasmqq:plugin/messaging`, granted by `send`.

use crate::runtime::abi::Capability;
use crate::runtime::abi::v0_1_0::wasmqq::plugin::messaging::Host;
use crate::runtime::abi::v0_1_0::wasmqq::plugin::types::{Chat, HostError, Segment};
use crate::runtime::state::PluginState;

impl Host for PluginState {
    async fn send(&mut self, _chat: Chat, _segments: Vec<Segment>) -> Result<(), HostError> {
        self.require(Capability::Send)?;
        Err(super::not_available("proactive sending"))
    }
}
