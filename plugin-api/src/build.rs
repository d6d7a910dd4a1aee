//! Builders and helpers for the ABI types.

use crate::{
    Action, Capability, Chat, CommandCall, CommandSpec, Message, Outgoing, PluginInfo, Segment,
};

/// A text segment.
pub fn text(s: impl Into<String>) -> Segment {
    Segment::Text(s.into())
}

/// Reply with text in the chat the event came from.
pub fn reply(s: impl Into<String>) -> Action {
    Action::Reply(vec![text(s)])
}

/// Reply with several segments (text, faces, mentions).
pub fn reply_segments(segments: Vec<Segment>) -> Action {
    Action::Reply(segments)
}

/// Send text to another chat (needs the `send` capability).
pub fn send(chat: Chat, s: impl Into<String>) -> Action {
    Action::Send(Outgoing {
        chat,
        segments: vec![text(s)],
    })
}

impl PluginInfo {
    /// Start describing a plugin with its name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        PluginInfo {
            name: name.into(),
            version: version.into(),
            description: String::new(),
            commands: Vec::new(),
            triggers: Vec::new(),
            capabilities: Vec::new(),
        }
    }

    /// Set the one-line description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Add a command.
    pub fn command(mut self, command: CommandSpec) -> Self {
        self.commands.push(command);
        self
    }

    /// Add a trigger: a regular expression over a message's text.
    pub fn trigger(mut self, pattern: impl Into<String>) -> Self {
        self.triggers.push(pattern.into());
        self
    }

    /// Request a capability (it must also be granted in the bot's config).
    pub fn capability(mut self, capability: Capability) -> Self {
        self.capabilities.push(capability);
        self
    }
}

impl CommandSpec {
    /// A command called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        CommandSpec {
            name: name.into(),
            aliases: Vec::new(),
            usage: String::new(),
            help: String::new(),
        }
    }

    /// Add another name for the command.
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.aliases.push(alias.into());
        self
    }

    /// Set the argument synopsis shown by `help`, e.g. `NdM`.
    pub fn usage(mut self, usage: impl Into<String>) -> Self {
        self.usage = usage.into();
        self
    }

    /// Set the one-line help text.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }
}

impl Message {
    /// The text of the message: its text segments joined, faces and mentions
    /// left out.
    pub fn text(&self) -> String {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl CommandCall {
    /// The `n`th argument, if present.
    pub fn arg(&self, n: usize) -> Option<&str> {
        self.args.get(n).map(String::as_str)
    }
}
