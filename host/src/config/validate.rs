//! Checks that types cannot express. Each failure is the key path of the
//! offending value and what is wrong with it; the caller adds file and line.

use super::Config;
use super::span::Key;
use crate::plugins::BUILTIN_COMMANDS;

type Failure = (Key, String);

/// Shortest log line length accepted: room for some text and the marker of
/// a cut line.
const MIN_LOG_LINE: usize = 64;

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

    let webqq = Key::of(&["webqq"]);
    positive(
        &webqq,
        "max_message_bytes",
        config.webqq.max_message_bytes as u64,
    )?;
    positive(&webqq, "poll_timeout_secs", config.webqq.poll_timeout_secs)?;
    if config.webqq.qr_png_path.as_os_str().is_empty() {
        return Err((webqq.key("qr_png_path"), "must not be empty".into()));
    }

    let limits = Key::of(&["limits"]);
    let l = &config.limits;
    positive(&limits, "call_timeout_ms", l.call_timeout_ms)?;
    positive(&limits, "memory_bytes", l.memory_bytes as u64)?;
    positive(&limits, "table_elements", l.table_elements as u64)?;
    positive(&limits, "instances", l.instances as u64)?;
    positive(&limits, "reply_bytes", l.reply_bytes as u64)?;
    positive(&limits, "actions", l.actions as u64)?;
    positive(&limits, "max_faults", u64::from(l.max_faults))?;
    positive(&limits, "log_lines_per_sec", u64::from(l.log_lines_per_sec))?;
    positive(&limits, "log_burst_lines", u64::from(l.log_burst_lines))?;
    positive(&limits, "log_bytes_per_sec", l.log_bytes_per_sec)?;
    if l.log_line_bytes < MIN_LOG_LINE {
        return Err((
            limits.key("log_line_bytes"),
            format!("must be at least {MIN_LOG_LINE}, is {}", l.log_line_bytes),
        ));
    }
    if l.log_burst_bytes < l.log_line_bytes as u64 {
        return Err((
            limits.key("log_burst_bytes"),
            format!(
                "must be at least log_line_bytes ({}), is {}",
                l.log_line_bytes, l.log_burst_bytes
            ),
        ));
    }

    let timers = Key::of(&["timers"]);
    let t = &config.timers;
    positive(&timers, "max_per_plugin", t.max_per_plugin as u64)?;
    positive(&timers, "max_payload_bytes", t.max_payload_bytes as u64)?;
    positive(&timers, "retry_after_ms", t.retry_after_ms)?;

    let http = Key::of(&["http"]);
    let h = &config.http;
    positive(&http, "timeout_ms", h.timeout_ms)?;
    positive(&http, "max_response_bytes", h.max_response_bytes as u64)?;

    let outbox = Key::of(&["outbox"]);
    let o = &config.outbox;
    positive(&outbox, "max_attempts", u64::from(o.max_attempts))?;
    positive(&outbox, "retry_base_ms", o.retry_base_ms)?;
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
        for (i, entry) in plugin.http_allow.iter().enumerate() {
            if let Err(why) = crate::runtime::host::HostPattern::parse(entry) {
                return Err((
                    at.clone().key("http_allow").index(i),
                    format!("{entry:?}: {why}"),
                ));
            }
        }
        positive(&at, "kv_quota_bytes", plugin.kv_quota_bytes)?;
        positive(&at, "kv_quota_keys", plugin.kv_quota_keys)?;
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
        if BUILTIN_COMMANDS.contains(&lower.as_str()) {
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

fn positive(section: &Key, key: &str, value: u64) -> Result<(), Failure> {
    if value == 0 {
        Err((section.clone().key(key), "must be greater than 0".into()))
    } else {
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::host::HostPattern;

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
