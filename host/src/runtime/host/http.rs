//! `wasmqq:plugin/http`, granted by `http`.

use crate::runtime::abi::Capability;
use crate::runtime::abi::v0_1_0::wasmqq::plugin::http::{Host, Request, Response};
use crate::runtime::abi::v0_1_0::wasmqq::plugin::types::HostError;
use crate::runtime::state::PluginState;

impl Host for PluginState {
    async fn fetch(&mut self, _req: Request) -> Result<Response, HostError> {
        self.require(Capability::Http)?;
        Err(super::not_available("HTTP fetch"))
    }
}
