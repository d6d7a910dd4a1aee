//! `wasmqq:plugin/contacts`, granted by `contacts`: the bot's friends, groups
//! and discussions, and their members.
//!
//! The host answers from a [`ContactDirectory`] — in production the WebQQ
//! client's contact cache (no network round trip per call).

use crate::abi::Capability;
use crate::abi::v0_1_0::wasmqq::plugin::contacts::Host;
use crate::abi::v0_1_0::wasmqq::plugin::types::{Chat, ChatKind, HostError};
use crate::capabilities::state::PluginState;

pub use crate::abi::v0_1_0::wasmqq::plugin::contacts::Contact;

/// Link `wasmqq:plugin/contacts`.
pub(crate) fn link(linker: &mut super::Linker) -> wasmtime::Result<()> {
    crate::abi::v0_1_0::wasmqq::plugin::contacts::add_to_linker::<_, super::Own>(linker, |s| s)
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
    let kind = match chat.kind {
        ChatKind::Friend => "friend",
        ChatKind::Group => "group",
        ChatKind::Discussion => "discussion",
        ChatKind::Session => "session",
    };
    HostError::Invalid(format!(
        "no members for {kind} {}: not a group or discussion the bot is in",
        chat.id
    ))
}

impl PluginState {
    fn contacts(&self) -> Result<&dyn ContactDirectory, HostError> {
        self.require(Capability::Contacts)?;
        self.services
            .contacts
            .as_deref()
            .ok_or_else(|| super::not_available("contact look-up"))
    }
}

impl Host for PluginState {
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
