//! The plugin ABI as seen from the host: one module per supported WIT
//! version, the newest re-exported as the host's canonical types.
//!
//! A new WIT version adds a module here (`v0_2_0`) and adapts the older ones
//! to the newest types in [`crate::runtime::instance`]; a plugin built for a
//! version not listed in [`SUPPORTED`] is refused by name.

pub mod v0_1_0;

pub use v0_1_0::exports::wasmqq::plugin::guest::{
    Action, CommandCall, Message, PluginInfo, TimerEvent,
};
pub use v0_1_0::wasmqq::plugin::types::{
    Capability, Chat, ChatKind, CommandSpec, HostError, Outgoing, Segment,
};

/// The WIT package every plugin's exports belong to.
pub const PACKAGE: &str = "wasmqq:plugin";

/// WIT package versions this host can load, newest first.
pub const SUPPORTED: &[&str] = &["0.1.0"];

/// The fully qualified name of the `guest` export for a version.
pub fn guest_export(version: &str) -> String {
    format!("{PACKAGE}/guest@{version}")
}

impl ChatKind {
    /// Every kind, in declaration order.
    pub const ALL: [ChatKind; 4] = [
        ChatKind::Friend,
        ChatKind::Group,
        ChatKind::Discussion,
        ChatKind::Session,
    ];

    /// The lowercase name used in keys, files and logs (`friend`, `group`,
    /// `discussion`, `session`): the one spelling of a chat kind.
    pub fn name(self) -> &'static str {
        match self {
            ChatKind::Friend => "friend",
            ChatKind::Group => "group",
            ChatKind::Discussion => "discussion",
            ChatKind::Session => "session",
        }
    }
}

impl std::fmt::Display for ChatKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A chat kind name that is none of [`ChatKind::name`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown chat kind {0:?} (friend, group, discussion or session)")]
pub struct UnknownChatKind(pub String);

impl std::str::FromStr for ChatKind {
    type Err = UnknownChatKind;

    fn from_str(s: &str) -> Result<ChatKind, UnknownChatKind> {
        ChatKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownChatKind(s.to_string()))
    }
}

impl From<wasmqq_webqq::ChatKind> for ChatKind {
    fn from(k: wasmqq_webqq::ChatKind) -> ChatKind {
        match k {
            wasmqq_webqq::ChatKind::Friend => ChatKind::Friend,
            wasmqq_webqq::ChatKind::Group => ChatKind::Group,
            wasmqq_webqq::ChatKind::Discussion => ChatKind::Discussion,
            wasmqq_webqq::ChatKind::Session => ChatKind::Session,
        }
    }
}

impl From<ChatKind> for wasmqq_webqq::ChatKind {
    fn from(k: ChatKind) -> wasmqq_webqq::ChatKind {
        match k {
            ChatKind::Friend => wasmqq_webqq::ChatKind::Friend,
            ChatKind::Group => wasmqq_webqq::ChatKind::Group,
            ChatKind::Discussion => wasmqq_webqq::ChatKind::Discussion,
            ChatKind::Session => wasmqq_webqq::ChatKind::Session,
        }
    }
}

impl Chat {
    /// The chat's lane within its account, stable across logins: `kind:name`
    /// with its display name, `kind#id` without one. The outbox orders
    /// messages per lane; the dispatcher keys a chat's settings by it.
    pub fn lane(self, name: Option<&str>) -> String {
        let kind = self.kind.name();
        match name {
            Some(n) => format!("{kind}:{n}"),
            None => format!("{kind}#{}", self.id),
        }
    }
}

impl From<wasmqq_webqq::ChatRef> for Chat {
    fn from(c: wasmqq_webqq::ChatRef) -> Chat {
        Chat {
            kind: c.kind.into(),
            id: c.id,
        }
    }
}

impl From<Chat> for wasmqq_webqq::ChatRef {
    fn from(c: Chat) -> wasmqq_webqq::ChatRef {
        wasmqq_webqq::ChatRef {
            kind: c.kind.into(),
            id: c.id,
        }
    }
}

impl Capability {
    /// The lowercase name used in metadata and configuration (`kv`, `http`, …).
    pub fn name(self) -> &'static str {
        match self {
            Capability::Kv => "kv",
            Capability::Timers => "timers",
            Capability::Send => "send",
            Capability::Contacts => "contacts",
            Capability::Http => "http",
        }
    }

    /// Parse a capability name as written in the configuration.
    pub fn from_name(name: &str) -> Option<Capability> {
        Some(match name {
            "kv" => Capability::Kv,
            "timers" => Capability::Timers,
            "send" => Capability::Send,
            "contacts" => Capability::Contacts,
            "http" => Capability::Http,
            _ => return None,
        })
    }

    /// Every capability, in declaration order.
    pub const ALL: [Capability; 5] = [
        Capability::Kv,
        Capability::Timers,
        Capability::Send,
        Capability::Contacts,
        Capability::Http,
    ];
}

/// A set of capabilities (what a plugin was granted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CapabilitySet(u8);

impl CapabilitySet {
    /// No capability.
    pub const EMPTY: CapabilitySet = CapabilitySet(0);

    fn bit(capability: Capability) -> u8 {
        1 << (capability as u8)
    }

    /// The set with `capability` added.
    pub const fn with(self, capability: Capability) -> CapabilitySet {
        CapabilitySet(self.0 | 1 << (capability as u8))
    }

    /// Whether `capability` is in the set.
    pub fn contains(self, capability: Capability) -> bool {
        self.0 & Self::bit(capability) != 0
    }

    /// The capabilities in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Segment {
    /// Bytes this segment occupies in a reply, for the reply-size limit.
    pub fn size(&self) -> usize {
        match self {
            Segment::Text(t) => t.len(),
            Segment::Face(_) | Segment::Mention(_) => 8,
        }
    }
}
