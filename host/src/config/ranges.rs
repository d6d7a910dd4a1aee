//! The allowed range of every numeric key.
//!
//! The ranges are checked on the parsed TOML document, before serde sees
//! it, so a value too large for its field's type (`max_faults =
//! 9223372036854775807` into a `u32`) or negative is refused like any other
//! value out of range: "must be between MIN and MAX, is VALUE", with the
//! key's file, line and column. Each range is documented next to its key
//! in `config/wasmqq.toml`.

use std::ops::{Range, RangeInclusive};

use toml::de::{DeTable, DeValue};

use super::span::Key;

const KIB: i64 = 1 << 10;
const MIB: i64 = 1 << 20;
const GIB: i64 = 1 << 30;
const HOUR_MS: i64 = 3_600_000;

/// `(table, key, range)` for every numeric key. The table `plugins.*`
/// stands for every `[plugins.<name>]`; a key holding an array (`admins`)
/// has each element checked.
pub(crate) const RANGES: &[(&str, &str, RangeInclusive<i64>)] = &[
    // QQ numbers: 5 to 10 digits, within 32 bits.
    ("bot", "admins", 10_000..=u32::MAX as i64),
    ("webqq", "send_interval_ms", 0..=60_000),
    ("webqq", "send_retries", 0..=10),
    // A part holds at least a face and a few characters; the server takes
    // at most 720 bytes (webqq-protocol.md §5.3).
    ("webqq", "max_message_bytes", 64..=720),
    // The server holds an idle poll for about 60 s (§6.2).
    ("webqq", "poll_timeout_secs", 90..=600),
    ("limits", "call_timeout_ms", 10..=60_000),
    // Up to the 4 GiB a 32-bit wasm memory can address.
    ("limits", "memory_bytes", MIB..=4 * GIB),
    ("limits", "table_elements", 100..=1_000_000),
    ("limits", "instances", 1..=1000),
    ("limits", "reply_bytes", 64..=MIB),
    ("limits", "actions", 1..=1000),
    ("limits", "max_faults", 1..=100),
    ("limits", "log_lines_per_sec", 1..=100_000),
    ("limits", "log_burst_lines", 1..=1_000_000),
    ("limits", "log_bytes_per_sec", 64..=64 * MIB),
    ("limits", "log_burst_bytes", 64..=256 * MIB),
    ("limits", "log_line_bytes", 64..=MIB),
    ("timers", "max_per_plugin", 1..=100_000),
    ("timers", "max_payload_bytes", 1..=64 * KIB),
    ("timers", "retry_after_ms", 100..=HOUR_MS),
    // A fetch never outlasts the plugin's call (at most 60 s) anyway.
    ("http", "timeout_ms", 100..=60_000),
    ("http", "max_response_bytes", KIB..=16 * MIB),
    ("http", "max_request_bytes", 0..=16 * MIB),
    ("http", "max_redirects", 0..=20),
    ("rate_limit", "user_cooldown_ms", 0..=HOUR_MS),
    ("rate_limit", "chat_cooldown_ms", 0..=HOUR_MS),
    ("outbox", "max_attempts", 1..=100),
    ("outbox", "retry_base_ms", 100..=600_000),
    ("outbox", "retry_max_ms", 100..=HOUR_MS),
    ("outbox", "plugin_sends_per_minute", 1..=10_000),
    ("outbox", "plugin_max_queued", 1..=100_000),
    ("outbox", "max_reply_parts", 1..=100),
    ("plugins.*", "kv_quota_bytes", 1..=GIB),
    ("plugins.*", "kv_quota_keys", 1..=10_000_000),
];

/// The first integer of `doc` outside its range: its key path, its byte
/// range in the text, and what is wrong. Values of another type are left to
/// serde.
pub(crate) fn check(doc: &DeTable<'_>) -> Result<(), (Key, Range<usize>, String)> {
    for (table, key, range) in RANGES {
        for (at, t) in tables(doc, table) {
            let Some(value) = get(t, key) else { continue };
            match value.get_ref() {
                DeValue::Integer(_) => within(at.key(key), value, range)?,
                DeValue::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        within(at.clone().key(key).index(i), item, range)?;
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

type Spanned<'a, 'i> = &'a toml::Spanned<DeValue<'i>>;

fn get<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<Spanned<'a, 'i>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v)
}

/// The tables a [`RANGES`] table path names, with their key paths.
fn tables<'a, 'i>(doc: &'a DeTable<'i>, path: &str) -> Vec<(Key, &'a DeTable<'i>)> {
    let section = |name: &str| match get(doc, name).map(|v| v.get_ref()) {
        Some(DeValue::Table(t)) => Some(t),
        _ => None,
    };
    match path.split_once('.') {
        Some((parent, "*")) => section(parent)
            .into_iter()
            .flat_map(|t| t.iter())
            .filter_map(|(name, v)| match v.get_ref() {
                DeValue::Table(t) => Some((Key::of(&[parent, name.get_ref()]), t)),
                _ => None,
            })
            .collect(),
        _ => section(path)
            .map(|t| (Key::of(&[path]), t))
            .into_iter()
            .collect(),
    }
}

/// `value`, if an integer, is within `range`. Integers are read whole
/// (up to 128 bits), so `18446744073709551615` is out of range rather than
/// a parse error.
fn within(
    key: Key,
    value: Spanned<'_, '_>,
    range: &RangeInclusive<i64>,
) -> Result<(), (Key, Range<usize>, String)> {
    let DeValue::Integer(n) = value.get_ref() else {
        return Ok(());
    };
    let Ok(n) = i128::from_str_radix(n.as_str(), n.radix()) else {
        // Beyond 128 bits: serde refuses it.
        return Ok(());
    };
    if (i128::from(*range.start())..=i128::from(*range.end())).contains(&n) {
        Ok(())
    } else {
        Err((
            key,
            value.span(),
            format!(
                "must be between {} and {}, is {n}",
                range.start(),
                range.end()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults are inside their ranges, and every range is usable.
    #[test]
    fn defaults_are_in_range() {
        let doc = DeTable::parse(super::super::DEFAULT_TOML).unwrap();
        assert_eq!(check(doc.get_ref()), Ok(()));
        for (table, key, range) in RANGES {
            assert!(range.start() <= range.end(), "{table}.{key}");
            assert!(*range.start() >= 0, "{table}.{key}");
        }
    }
}
