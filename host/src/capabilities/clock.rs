//! `wasmqq:plugin/clock`: always granted.

use super::caller::{Caller, CallerOnly};
use crate::abi::v0_1_0::wasmqq::plugin::clock::Host;

/// Link `wasmqq:plugin/clock`, its host side seeing what `get` gives.
pub(crate) fn link<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> &Caller,
) -> wasmtime::Result<()> {
    crate::abi::v0_1_0::wasmqq::plugin::clock::add_to_linker::<T, CallerOnly>(linker, get)
}

impl Host for &Caller {
    async fn now(&mut self) -> u64 {
        crate::clock::unix_ms()
    }
}
