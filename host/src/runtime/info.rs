//! Validation of the metadata a plugin returns from `describe`.

use crate::abi::PluginInfo;

/// What is wrong with a plugin's metadata; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    /// The plugin's name does not follow the grammar.
    #[error(
        "name {0:?} must be 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
    )]
    BadName(String),
    /// The version is empty.
    #[error("version is empty")]
    EmptyVersion,
    /// A command name or alias does not follow the grammar.
    #[error("command name {0:?} must be 1-32 characters without spaces")]
    BadCommandName(String),
    /// A command name or alias is declared twice (case-insensitively).
    #[error("command name {0:?} is declared twice")]
    DuplicateCommand(String),
    /// A trigger is not a valid regex (or too big on its own).
    #[error("trigger {index} ({trigger:?}) is not a valid regex: {message}")]
    BadTrigger {
        /// Its position in the list.
        index: usize,
        /// The trigger.
        trigger: String,
        /// What the regex compiler said.
        message: String,
    },
    /// Each trigger compiles, but all together exceed the size limit.
    #[error(
        "its {count} triggers together are too big to compile (limit {} KiB per plugin): {message}",
        TRIGGER_SIZE_LIMIT >> 10
    )]
    TriggersTooBig {
        /// How many triggers.
        count: usize,
        /// What the regex compiler said.
        message: String,
    },
}

/// Check a plugin's metadata; the error names the offending field.
pub fn validate(info: &PluginInfo) -> Result<(), InfoError> {
    validate_and_compile(info).map(|_| ())
}

/// [`validate`], handing back the plugin's triggers compiled into their set
/// (`None` without triggers): the one time they are compiled for a load.
pub(crate) fn validate_and_compile(
    info: &PluginInfo,
) -> Result<Option<regex::RegexSet>, InfoError> {
    if !valid_name(&info.name) {
        return Err(InfoError::BadName(info.name.clone()));
    }
    if info.version.trim().is_empty() {
        return Err(InfoError::EmptyVersion);
    }
    let mut seen = std::collections::HashSet::new();
    for command in &info.commands {
        for name in std::iter::once(&command.name).chain(&command.aliases) {
            if !valid_command_name(name) {
                return Err(InfoError::BadCommandName(name.clone()));
            }
            if !seen.insert(name.to_lowercase()) {
                return Err(InfoError::DuplicateCommand(name.clone()));
            }
        }
    }
    compile_triggers(&info.triggers).map_err(|set_error| {
        // Name the first trigger that is wrong on its own; if each is fine
        // alone, they are too big together.
        info.triggers
            .iter()
            .enumerate()
            .find_map(|(index, trigger)| {
                regex::RegexBuilder::new(trigger)
                    .size_limit(TRIGGER_SIZE_LIMIT)
                    .build()
                    .err()
                    .map(|e| InfoError::BadTrigger {
                        index,
                        trigger: trigger.clone(),
                        message: e.to_string(),
                    })
            })
            .unwrap_or(set_error)
    })
}

/// The most memory one plugin's triggers may compile to, all together
/// (the `regex` crate's size limit, applied per plugin).
pub const TRIGGER_SIZE_LIMIT: usize = 2 << 20;

/// Compile a plugin's triggers into one set under [`TRIGGER_SIZE_LIMIT`];
/// `None` when it has none. Each plugin's set is its own, so one plugin's
/// triggers can never switch off another's.
pub fn compile_triggers(triggers: &[String]) -> Result<Option<regex::RegexSet>, InfoError> {
    if triggers.is_empty() {
        return Ok(None);
    }
    regex::RegexSetBuilder::new(triggers)
        .size_limit(TRIGGER_SIZE_LIMIT)
        .dfa_size_limit(TRIGGER_SIZE_LIMIT)
        .build()
        .map(Some)
        .map_err(|e| InfoError::TriggersTooBig {
            count: triggers.len(),
            message: e.to_string(),
        })
}

/// Whether `name` may name a command or alias: 1-32 bytes, no whitespace.
pub fn valid_command_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 32 && !name.chars().any(char::is_whitespace)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::CommandSpec;

    fn info(name: &str) -> PluginInfo {
        PluginInfo {
            name: name.into(),
            version: "1.0.0".into(),
            description: String::new(),
            commands: vec![],
            triggers: vec![],
            capabilities: vec![],
        }
    }

    #[test]
    fn accepts_good_metadata_and_names_bad_fields() {
        assert!(validate(&info("dice")).is_ok());
        assert!(
            validate(&info("Dice"))
                .unwrap_err()
                .to_string()
                .contains("name")
        );
        assert!(validate(&info("")).is_err());
        let mut bad_trigger = info("x");
        bad_trigger.triggers.push("(unclosed".into());
        assert!(matches!(
            validate(&bad_trigger).unwrap_err(),
            InfoError::BadTrigger { index: 0, .. }
        ));
        let mut dup = info("x");
        let spec = CommandSpec {
            name: "roll".into(),
            aliases: vec!["roll".into()],
            usage: String::new(),
            help: String::new(),
        };
        dup.commands.push(spec);
        assert_eq!(
            validate(&dup).unwrap_err(),
            InfoError::DuplicateCommand("roll".into())
        );
    }
}
