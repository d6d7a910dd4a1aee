//! `wasmqq:plugin/contacts`, granted by `contacts`: the bot's friends, groups
//! and discussions, and their members.
//!
//! The host answers from a [`ContactDirectory`] — in production the WebQQ
//! client's contact cache (no network round trip per call).

use std::sync::Arc;

use super::caller::{Ctx, Uses, not_available};
use crate::abi::Capability;
use crate::abi::v0_1_0::wasmqq::plugin::contacts::Host;
use crate::abi::v0_1_0::wasmqq::plugin::types::{Chat, ChatKind, HostError};

pub use crate::abi::v0_1_0::wasmqq::plugin::contacts::Contact;

/// The `contacts` capability's part of a plugin's state.
pub struct Slice {
    /// The account's contact cache; `None`: `unavailable`.
    pub(crate) directory: Option<Arc<dyn ContactDirectory>>,
}

/// Link `wasmqq:plugin/contacts`, its host side seeing what `get` gives.
pub(crate) fn link<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> Ctx<'_, Slice>,
) -> wasmtime::Result<()> {
    crate::abi::v0_1_0::wasmqq::plugin::contacts::add_to_linker::<T, Uses<Slice>>(linker, get)
}

/// Answers contact look-ups. Implementations must answer from memory
/// without blocking.
///
/// Errors are the values the plugin receives: `invalid` for a chat the bot
/// is not in (or a friend chat given to `members`), `unavailable` while the
/// contact lists are not loaded yet.
pub trait ContactDirectory: Send + Sync {
    /// The bot's friends.
    fn friends(&self) -> Result<Vec<Contact>, HostError>;
    /// The groups and discussions the bot is in.
    fn chats(&self) -> Result<Vec<Contact>, HostError>;
    /// The members of a group or discussion.
    fn members(&self, chat: Chat) -> Result<Vec<Contact>, HostError>;
}

/// A contact from an id and a name.
pub fn contact(id: u64, name: impl Into<String>) -> Contact {
    Contact {
        id,
        name: name.into(),
    }
}

/// The `invalid` error for `members` of a chat that is not a known group or
/// discussion.
pub fn unknown_chat(chat: Chat) -> HostError {
    HostError::Invalid(format!(
        "no members for {} {}: not a group or discussion the bot is in",
        chat.kind, chat.id
    ))
}

impl Ctx<'_, Slice> {
    fn contacts(&self) -> Result<&dyn ContactDirectory, HostError> {
        self.require(Capability::Contacts)?;
        self.own
            .directory
            .as_deref()
            .ok_or_else(|| not_available("contact look-up"))
    }
}

impl Host for Ctx<'_, Slice> {
    async fn friends(&mut self) -> Result<Vec<Contact>, HostError> {
        self.contacts()?.friends()
    }

    async fn chats(&mut self) -> Result<Vec<Contact>, HostError> {
        self.contacts()?.chats()
    }

    async fn members(&mut self, chat: Chat) -> Result<Vec<Contact>, HostError> {
        if matches!(chat.kind, ChatKind::Friend | ChatKind::Session) {
            self.require(Capability::Contacts)?;
            return Err(unknown_chat(chat));
        }
        self.contacts()?.members(chat)
    }
}
