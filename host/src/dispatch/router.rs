//! The one router: where a message's text leads, given the loaded plugins.
//! The dispatcher and the plugin harness (`wasmqq plugin try`) both route
//! through [`route`], so a plugin under test is reached exactly as in the
//! bot. Per-chat toggles, quarantine and rate limits are the dispatcher's
//! business and are applied by it after routing.

use super::parse::{ParsedCommand, parse_command};
use crate::registry::{Builtin, Snapshot};
use crate::runtime::PluginHandle;

/// Where a text leads.
pub enum Route<'a> {
    /// One of the host's own commands.
    Builtin(Builtin, ParsedCommand),
    /// A plugin's command (an alias is resolved to its declared name).
    Command {
        /// The plugin serving it.
        plugin: &'a PluginHandle,
        /// The command's declared name.
        command: &'a str,
        /// The command as typed.
        parsed: ParsedCommand,
    },
    /// A command no loaded plugin serves.
    Unknown(ParsedCommand),
    /// Not a command: the plugins with a trigger matching the text (each
    /// once, in name order; often none).
    Text(Vec<&'a PluginHandle>),
}

/// Route `text` (the message's plain text) with the command `prefixes`.
pub fn route<'a>(snapshot: &'a Snapshot, text: &str, prefixes: &[String]) -> Route<'a> {
    let Some(parsed) = parse_command(text, prefixes) else {
        return Route::Text(snapshot.triggered(text));
    };
    if let Some(builtin) = Builtin::from_name(&parsed.name) {
        return Route::Builtin(builtin, parsed);
    }
    match snapshot.command(&parsed.name) {
        Some((plugin, command)) => Route::Command {
            plugin,
            command,
            parsed,
        },
        None => Route::Unknown(parsed),
    }
}
