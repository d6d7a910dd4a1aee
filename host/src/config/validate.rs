//! Checks that types and ranges (`super::ranges`) cannot express. Each
//! failure is the key path of the offending value and what is wrong with
//! it; the caller adds file and line.

use super::Config;
use super::span::Key;
use crate::registry::Builtin;

type Failure = (Key, String);

/// The first problem of `config`, if any.
pub(crate) fn validate(config: &Config) -> Result<(), Failure> {
    let bot = Key::of(&["bot"]);
    let prefixes = bot.clone().key("prefixes");
    if config.bot.prefixes.is_empty() {
        return Err((prefixes, "at least one command prefix is needed".into()));
    }
    for (i, prefix) in config.bot.prefixes.iter().enumerate() {
        if prefix.is_empty() {
            return Err((
                prefixes.clone().index(i),
                "a command prefix cannot be empty".into(),
            ));
        }
        if prefix.chars().any(char::is_whitespace) {
            return Err((
                prefixes.clone().index(i),
                format!("command prefix {prefix:?} contains whitespace"),
            ));
        }
    }
    if config.bot.data_dir.as_os_str().is_empty() {
        return Err((bot.clone().key("data_dir"), "must not be empty".into()));
    }
    if config.bot.plugin_dir.as_os_str().is_empty() {
        return Err((bot.key("plugin_dir"), "must not be empty".into()));
    }
    pinned_commands(config)?;
    accounts(config)?;

    if config.webqq.qr_png_path.as_os_str().is_empty() {
        return Err((
            Key::of(&["webqq", "qr_png_path"]),
            "must not be empty".into(),
        ));
    }

    let limits = Key::of(&["limits"]);
    let l = &config.limits;
    if l.log_burst_bytes < l.log_line_bytes as u64 {
        return Err((
            limits.key("log_burst_bytes"),
            format!(
                "must be at least log_line_bytes ({}), is {}",
                l.log_line_bytes, l.log_burst_bytes
            ),
        ));
    }

    let outbox = Key::of(&["outbox"]);
    let o = &config.outbox;
    if o.retry_max_ms < o.retry_base_ms {
        return Err((
            outbox.key("retry_max_ms"),
            format!(
                "must be at least retry_base_ms ({}), is {}",
                o.retry_base_ms, o.retry_max_ms
            ),
        ));
    }

    for (name, plugin) in &config.plugins {
        let at = Key::of(&["plugins", name]);
        if let Err(why) = plugin_name(name) {
            return Err((at, why));
        }
        if let Some(hash) = &plugin.sha256
            && (hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err((
                at.clone().key("sha256"),
                format!(
                    "{hash:?} is not a SHA-256 (64 hex digits, as `wasmqq plugin check` prints)"
                ),
            ));
        }
    }
    Ok(())
}

/// `[bot.commands]`: command names (case-insensitive, not built in) and
/// plugin names.
fn pinned_commands(config: &Config) -> Result<(), Failure> {
    let mut seen = std::collections::HashSet::new();
    for (name, plugin) in &config.bot.commands {
        let at = Key::of(&["bot", "commands", name]);
        let lower = name.to_lowercase();
        if !crate::runtime::valid_command_name(name) {
            return Err((
                at,
                format!("{name:?} is not a command name (1-32 characters without spaces)"),
            ));
        }
        if Builtin::from_name(&lower).is_some() {
            return Err((
                at,
                format!("\"{lower}\" is a built-in command; it cannot be given to a plugin"),
            ));
        }
        if !seen.insert(lower) {
            return Err((
                at,
                format!("{name:?} is pinned twice (command names are case-insensitive)"),
            ));
        }
        plugin_name(plugin).map_err(|why| (at, why))?;
    }
    Ok(())
}

/// Plugin names as plugins declare them: lowercase ASCII letters, digits,
/// `-` and `_`, starting with a letter or digit.
fn plugin_name(name: &str) -> Result<(), String> {
    let valid = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid plugin name {name:?} (lowercase letters, digits, '-' and '_', starting with a letter or digit)"
        ))
    }
}

/// Account names valid and unique.
fn accounts(config: &Config) -> Result<(), Failure> {
    let mut seen = std::collections::HashSet::new();
    for (i, account) in config.accounts.iter().enumerate() {
        let key = Key::of(&["accounts"]).index(i);
        if let Some(name) = account.configured_name()
            && !super::accounts::valid_name(name)
        {
            return Err((
                key.key("name"),
                format!("account name {name:?} must be 1-32 letters, digits, _ or -"),
            ));
        }
        let checked = match account {
            super::AccountConfig::Webqq(_) => Ok(()),
            super::AccountConfig::Onebot(a) => a.client_config().map(|_| ()),
            super::AccountConfig::Linechat(a) => a.room_config().map(|_| ()),
        };
        if let Err((field, why)) = checked {
            return Err((key.key(field), why));
        }
        let name = account.name();
        if !seen.insert(name.to_string()) {
            let why = if account.configured_name().is_none() {
                format!("a second account would be named {name:?}: give each account a name")
            } else {
                format!("two accounts are named {name:?}")
            };
            return Err((key, why));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::HostPattern;

    #[test]
    fn host_patterns() {
        for ok in [
            "example.com",
            "Example.COM",
            "*.example.org:8443",
            "localhost",
            "127.0.0.1:8080",
        ] {
            assert!(HostPattern::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://example.com",
            "example.com/x",
            "",
            "exa mple.com",
            "a..b",
            "u@example.com",
            "example.com:0",
            "example.com:http",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plugin_names() {
        for ok in ["title", "dice-2", "my_plugin", "9lives"] {
            assert!(plugin_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Title", "a.b", "-x", "_x", "a b", "标题"] {
            assert!(plugin_name(bad).is_err(), "{bad}");
        }
    }
}
