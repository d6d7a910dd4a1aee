//! An immutable view of the loaded plugins for the dispatcher: command and
//! alias table, which plugins have triggers, which declared names each
//! plugin was refused. Rebuilt on every load or unload from the ownership
//! decisions of [`super::owners`]; triggers are compiled once per plugin at
//! load, each plugin's into a set of its own.

use std::collections::HashMap;

use super::owners::{Assignment, Owner, Refusal};
use crate::runtime::PluginHandle;

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
    /// Who serves which name, and what was refused.
    assignment: Assignment,
}

impl Snapshot {
    /// Build the tables: each declared name goes to the plugin `assignment`
    /// gives it to (see [`super::Owners::assign`]); the others keep their
    /// refusals for `plugins` and `help`.
    pub fn build(mut plugins: Vec<PluginHandle>, assignment: Assignment) -> Snapshot {
        plugins.sort_by(|a, b| a.name().cmp(b.name()));
        let mut commands = HashMap::new();
        let mut with_triggers = Vec::new();
        for (i, plugin) in plugins.iter().enumerate() {
            for spec in &plugin.info().commands {
                for name in std::iter::once(&spec.name).chain(&spec.aliases) {
                    let key = name.to_lowercase();
                    if assignment.serves(&key) == Some(plugin.name()) {
                        commands.insert(
                            key,
                            CommandTarget {
                                plugin: i,
                                command: spec.name.clone(),
                            },
                        );
                    }
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
            assignment,
        }
    }

    /// The names `plugin` declared but may not serve, with their owners.
    pub fn refused(&self, plugin: &str) -> &[Refusal] {
        self.assignment.refused(plugin)
    }

    /// The loaded plugins refused `name` (lowercase), in name order, and
    /// whom it belongs to.
    pub fn refused_for(&self, name: &str) -> (Vec<&str>, Option<&Owner>) {
        let mut plugins = Vec::new();
        let mut owner = None;
        for (plugin, refusals) in self.assignment.all_refused() {
            if let Some(r) = refusals.iter().find(|r| r.name == name) {
                plugins.push(plugin);
                owner = Some(&r.owner);
            }
        }
        plugins.sort_unstable();
        (plugins, owner)
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
