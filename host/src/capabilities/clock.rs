//! `wasmqq:plugin/clock`: always granted.

use crate::abi::v0_1_0::wasmqq::plugin::clock::Host;
use crate::capabilities::state::PluginState;

/// Link `wasmqq:plugin/clock`.
pub(crate) fn link(linker: &mut super::Linker) -> wasmtime::Result<()> {
    crate::abi::v0_1_0::wasmqq::plugin::clock::add_to_linker::<_, super::Own>(linker, |s| s)
}

impl Host for PluginState {
    async fn now(&mut self) -> u64 {
        crate::clock::unix_ms()
    }
}
