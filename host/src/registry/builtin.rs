//! The host's own commands: the names no plugin may serve.

/// A built-in command of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `help [command|page]`: the command list, or one command explained.
    Help,
    /// `plugins`: the loaded plugins and their state (admins).
    Plugins,
    /// `enable <plugin> [here|everywhere]` (admins).
    Enable,
    /// `disable <plugin> [here|everywhere]` (admins).
    Disable,
    /// `reload <plugin>` (admins).
    Reload,
}

impl Builtin {
    /// Every built-in command.
    pub const ALL: [Builtin; 5] = [
        Builtin::Help,
        Builtin::Plugins,
        Builtin::Enable,
        Builtin::Disable,
        Builtin::Reload,
    ];

    /// The command's name (lowercase, without a prefix).
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Help => "help",
            Builtin::Plugins => "plugins",
            Builtin::Enable => "enable",
            Builtin::Disable => "disable",
            Builtin::Reload => "reload",
        }
    }

    /// The built-in command named `name` (any case), if it is one.
    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(name))
    }

    /// Whether only the bot's admins may use it.
    pub fn admin_only(self) -> bool {
        self != Builtin::Help
    }

    /// Its line in `help <command>`, with the prefix `p`.
    pub fn usage(self, p: &str) -> String {
        match self {
            Builtin::Help => format!("{p}help [command] — list commands, or explain one"),
            Builtin::Plugins => format!("{p}plugins — list plugins with their state (admins)"),
            Builtin::Enable | Builtin::Disable => format!(
                "{p}{} <plugin> [here|everywhere] — turn a plugin on or off in this chat or everywhere (admins)",
                self.name()
            ),
            Builtin::Reload => {
                format!("{p}reload <plugin> — reload a plugin from its file (admins)")
            }
        }
    }
}

impl std::fmt::Display for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_any_case() {
        for b in Builtin::ALL {
            assert_eq!(Builtin::from_name(b.name()), Some(b));
            assert_eq!(Builtin::from_name(&b.name().to_uppercase()), Some(b));
        }
        assert_eq!(Builtin::from_name("roll"), None);
        assert!(!Builtin::Help.admin_only());
        assert!(Builtin::Reload.admin_only());
    }
}
