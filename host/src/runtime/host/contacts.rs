//! `wasmqq:plugin/contacts`, granted by `contacts`.

use crate::runtime::abi::Capability;
use crate::runtime::abi::v0_1_0::wasmqq::plugin::contacts::{Contact, Host};
use crate::runtime::abi::v0_1_0::wasmqq::plugin::types::{Chat, HostError};
use crate::runtime::state::PluginState;

impl Host for PluginState {
    async fn friends(&mut self) -> Result<Vec<Contact>, HostError> {
        self.require(Capability::Contacts)?;
        Err(super::not_available("contact look-up"))
    }

    async fn chats(&mut self) -> Result<Vec<Contact>, HostError> {
        self.require(Capability::Contacts)?;
        Err(super::not_available("contact look-up"))
    }

    async fn members(&mut self, _chat: Chat) -> Result<Vec<Contact>, HostError> {
        self.require(Capability::Contacts)?;
        Err(super::not_available("contact look-up"))
    }
}
