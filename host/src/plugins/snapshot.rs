//! An immutable view of the loaded plugins for the dispatcher: command and
//! alias table, which plugins have triggers. Rebuilt on every load or
//! unload; triggers are compiled once per plugin at load, each plugin's into
//! a set of its own.

use std::collections::HashMap;

use crate::runtime::PluginHandle;

/// Command names the host keeps for itself.
pub const BUILTIN_COMMANDS: &[&str] = &["help", "plugins", "enable", "disable", "reload"];

/// Where a command name leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTarget {
    /// Index into [`Snapshot::plugins`].
    pub plugin: usize,
    /// The command's declared name (aliases resolve to it).
    pub command: String,
}

/// The loaded plugins at one moment.
#[derive(Default)]
pub struct Snapshot {
    /// Loaded plugins, sorted by name.
    pub plugins: Vec<PluginHandle>,
    commands: HashMap<String, CommandTarget>,
    /// Indices of the plugins that have triggers.
    with_triggers: Vec<usize>,
}

impl Snapshot {
    /// Build the tables. Conflicting command names go to the plugin first by
    /// name; names of built-in commands stay built-in. Both are logged.
    pub fn build(mut plugins: Vec<PluginHandle>) -> Snapshot {
        plugins.sort_by(|a, b| a.name().cmp(b.name()));
        let mut commands = HashMap::new();
        let mut with_triggers = Vec::new();
        for (i, plugin) in plugins.iter().enumerate() {
            for spec in &plugin.info().commands {
                for name in std::iter::once(&spec.name).chain(&spec.aliases) {
                    let key = name.to_lowercase();
                    if BUILTIN_COMMANDS.contains(&key.as_str()) {
                        tracing::warn!(
                            plugin = plugin.name(),
                            "command \"{key}\" is built in; the plugin's declaration is ignored"
                        );
                        continue;
                    }
                    if let Some(prev) = commands.get(&key) {
                        let prev: &CommandTarget = prev;
                        tracing::warn!(
                            plugin = plugin.name(),
                            "command \"{key}\" is already provided by plugin \"{}\"; ignored here",
                            plugins[prev.plugin].name()
                        );
                        continue;
                    }
                    commands.insert(
                        key,
                        CommandTarget {
                            plugin: i,
                            command: spec.name.clone(),
                        },
                    );
                }
            }
            if plugin.triggers().is_some() {
                with_triggers.push(i);
            }
        }
        Snapshot {
            plugins,
            commands,
            with_triggers,
        }
    }

    /// The plugin command a name (or alias) leads to.
    pub fn command(&self, name: &str) -> Option<(&PluginHandle, &str)> {
        self.commands
            .get(&name.to_lowercase())
            .map(|t| (&self.plugins[t.plugin], t.command.as_str()))
    }

    /// Plugins with a trigger matching `text`, each once, in name order.
    /// Costs one pass of each plugin's own trigger set.
    pub fn triggered(&self, text: &str) -> Vec<&PluginHandle> {
        self.with_triggers
            .iter()
            .map(|&i| &self.plugins[i])
            .filter(|p| p.triggers().is_some_and(|set| set.is_match(text)))
            .collect()
    }

    /// A loaded plugin by name.
    pub fn plugin(&self, name: &str) -> Option<&PluginHandle> {
        self.plugins.iter().find(|p| p.name() == name)
    }
}
