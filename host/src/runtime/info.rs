//! Validation of the metadata a plugin returns from `describe`.

use crate::abi::PluginInfo;

/// Check a plugin's metadata; the error names the offending field.
pub fn validate(info: &PluginInfo) -> Result<(), String> {
    validate_and_compile(info).map(|_| ())
}

/// [`validate`], handing back the plugin's triggers compiled into their set
/// (`None` without triggers): the one time they are compiled for a load.
pub(crate) fn validate_and_compile(info: &PluginInfo) -> Result<Option<regex::RegexSet>, String> {
    if !valid_name(&info.name) {
        return Err(format!(
            "name {:?} must be 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
            info.name
        ));
    }
    if info.version.trim().is_empty() {
        return Err("version is empty".into());
    }
    let mut seen = std::collections::HashSet::new();
    for command in &info.commands {
        for name in std::iter::once(&command.name).chain(&command.aliases) {
            if !valid_command_name(name) {
                return Err(format!(
                    "command name {name:?} must be 1-32 characters without spaces"
                ));
            }
            if !seen.insert(name.to_lowercase()) {
                return Err(format!("command name {name:?} is declared twice"));
            }
        }
    }
    compile_triggers(&info.triggers).map_err(|set_error| {
        // Name the first trigger that is wrong on its own; if each is fine
        // alone, they are too big together.
        info.triggers
            .iter()
            .enumerate()
            .find_map(|(i, trigger)| {
                regex::RegexBuilder::new(trigger)
                    .size_limit(TRIGGER_SIZE_LIMIT)
                    .build()
                    .err()
                    .map(|e| format!("trigger {i} ({trigger:?}) is not a valid regex: {e}"))
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
pub fn compile_triggers(triggers: &[String]) -> Result<Option<regex::RegexSet>, String> {
    if triggers.is_empty() {
        return Ok(None);
    }
    regex::RegexSetBuilder::new(triggers)
        .size_limit(TRIGGER_SIZE_LIMIT)
        .dfa_size_limit(TRIGGER_SIZE_LIMIT)
        .build()
        .map(Some)
        .map_err(|e| {
            format!(
                "its {} triggers together are too big to compile (limit {} KiB per plugin): {e}",
                triggers.len(),
                TRIGGER_SIZE_LIMIT >> 10
            )
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
        assert!(validate(&info("Dice")).unwrap_err().contains("name"));
        assert!(validate(&info("")).is_err());
        let mut bad_trigger = info("x");
        bad_trigger.triggers.push("(unclosed".into());
        assert!(validate(&bad_trigger).unwrap_err().contains("trigger 0"));
        let mut dup = info("x");
        let spec = CommandSpec {
            name: "roll".into(),
            aliases: vec!["roll".into()],
            usage: String::new(),
            help: String::new(),
        };
        dup.commands.push(spec);
        assert!(validate(&dup).unwrap_err().contains("declared twice"));
    }
}
