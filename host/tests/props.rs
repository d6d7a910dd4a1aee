//! Property tests of the host's parsers of outside input: the command line
//! (chat users), plugin metadata (plugins) and the configuration file
//! (operators). The invariants the fuzz targets `command_parse`,
//! `plugin_info` and `config` check (docs/fuzzing.md), kept in `cargo test`.

use std::path::Path;

use proptest::prelude::*;
use wasmqq::abi::{CommandSpec, PluginInfo};
use wasmqq::config::{Config, ConfigError};
use wasmqq::dispatch::parse::{full_width, parse_command, split_args};
use wasmqq::runtime::validate_info;

/// Writes `arg` so that `split_args` reads it back as one argument (see
/// `fuzz/fuzz_targets/command_parse.rs`).
fn quote(arg: &str) -> String {
    let needs_quotes = arg.is_empty() || arg.chars().any(char::is_whitespace);
    let head = arg.trim_end_matches('\\');
    let tail = &arg[head.len()..];
    let esc = head.replace('"', "\\\"");
    if needs_quotes {
        format!("\"{esc}\"{tail}")
    } else {
        format!("{esc}{tail}")
    }
}

/// Pieces of text a hostile chat user would type.
fn chat_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("!".to_string()),
            Just("！".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just(" ".to_string()),
            Just("\u{3000}".to_string()),
            "[a-zA-Z0-9]{1,4}",
            any::<String>(),
        ],
        0..10,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn every_argument_list_can_be_typed(args in prop::collection::vec(chat_text(), 0..6)) {
        let line = args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
        prop_assert_eq!(split_args(&line), args);
    }

    #[test]
    fn parsed_commands_are_well_formed(text in chat_text(), prefixes in prop::collection::vec("[!/#>]{0,2}", 0..3)) {
        if let Some(c) = parse_command(&text, &prefixes) {
            prop_assert!(!c.name.is_empty());
            prop_assert_eq!(&c.name, &c.name.to_lowercase());
            prop_assert!(!c.name.chars().any(char::is_whitespace));
            prop_assert!(text.ends_with(&c.raw_args));
            prop_assert_eq!(c.raw_args.as_str(), c.raw_args.trim_start());
            prop_assert_eq!(c.args, split_args(&c.raw_args));
        }
    }

    #[test]
    fn full_width_prefix_parses_like_ascii(p in "[!-~]{1,3}", rest in chat_text()) {
        let prefixes = vec![p.clone()];
        let wide: String = p.chars().map(|c| full_width(c).unwrap()).collect();
        prop_assert_eq!(
            parse_command(&format!("{p}{rest}"), &prefixes),
            parse_command(&format!("{wide}{rest}"), &prefixes)
        );
    }

    #[test]
    fn plugin_names_accepted_exactly_when_valid(name in "[a-zA-Z0-9_.-]{0,70}|.*") {
        let info = PluginInfo {
            name: name.clone(),
            version: "1.0.0".into(),
            description: String::new(),
            commands: vec![CommandSpec { name: "x".into(), aliases: vec![], usage: String::new(), help: String::new() }],
            triggers: vec![],
            capabilities: vec![],
        };
        let valid = name.len() <= 64
            && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        match validate_info(&info) {
            Ok(()) => prop_assert!(valid),
            Err(why) => prop_assert!(!valid && why.to_string().contains("name"), "{}", why),
        }
    }

    #[test]
    fn duplicate_command_names_are_refused(a in "[a-zA-Z]{1,8}", upper in any::<bool>()) {
        let b = if upper { a.to_uppercase() } else { a.to_lowercase() };
        let info = PluginInfo {
            name: "p".into(),
            version: "1".into(),
            description: String::new(),
            commands: vec![CommandSpec { name: a, aliases: vec![b], usage: String::new(), help: String::new() }],
            triggers: vec![],
            capabilities: vec![],
        };
        prop_assert!(validate_info(&info).unwrap_err().to_string().contains("declared twice"));
    }

    /// Every refusal of a configuration names `file:line:col`.
    #[test]
    fn config_errors_always_have_a_position(text in config_text()) {
        match Config::parse(&text, Path::new("p.toml")) {
            Ok(_) => {}
            Err(ConfigError::Invalid { line, column, message, .. }) => {
                prop_assert!(line.is_some() && column.is_some(), "no position: {}\n{}", message, text);
            }
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        }
    }

    #[test]
    fn in_range_numbers_are_accepted(bytes in 64usize..=720, bad in prop_oneof![0i64..64, 721i64..i64::MAX]) {
        let ok = Config::parse(&format!("[webqq]\nmax_message_bytes = {bytes}\n"), Path::new("p.toml")).unwrap();
        prop_assert_eq!(ok.webqq.max_message_bytes, bytes);
        let err = Config::parse(&format!("[webqq]\nmax_message_bytes = {bad}\n"), Path::new("p.toml")).unwrap_err();
        prop_assert!(err.to_string().starts_with("p.toml:2:21: webqq.max_message_bytes: "), "{}", err);
    }
}

/// Configuration-shaped text: real sections and keys with values of every
/// type, some out of range or invalid.
fn config_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("prefixes"),
        Just("admins"),
        Just("data_dir"),
        Just("plugin_dir"),
        Just("commands"),
        Just("server"),
        Just("max_message_bytes"),
        Just("poll_timeout_secs"),
        Just("max_faults"),
        Just("log_line_bytes"),
        Just("log_burst_bytes"),
        Just("retry_base_ms"),
        Just("retry_max_ms"),
        Just("grants"),
        Just("http_allow"),
        Just("sha256"),
        Just("enabled"),
        Just("config"),
        Just("x"),
    ];
    let value = prop_oneof![
        Just("[]".to_string()),
        Just("\"\"".to_string()),
        Just("[\"\", \"a b\"]".to_string()),
        Just("[\"kv\", \"htp\"]".to_string()),
        Just("{ Help = \"x\", roll = \"Dice\" }".to_string()),
        Just("{}".to_string()),
        Just("true".to_string()),
        Just("1979-05-27".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "\"[a-z*.:/ 0-9]{0,12}\"",
        "[\\[\\]{}=\",.a-z0-9 ]{0,8}",
    ];
    let table = prop_oneof![
        Just("bot"),
        Just("bot.commands"),
        Just("webqq"),
        Just("limits"),
        Just("outbox"),
        Just("plugins.title"),
        Just("plugins.Bad"),
        Just("plugins.\"a b\""),
        Just("http"),
        Just("nope"),
    ];
    let line = prop_oneof![
        table.prop_map(|t| format!("[{t}]")),
        (key.clone(), value.clone()).prop_map(|(k, v)| format!("{k} = {v}")),
        ("(bot|webqq|limits|outbox|plugins\\.t)", key, value)
            .prop_map(|(t, k, v)| format!("{t}.{k} = {v}")),
    ];
    prop::collection::vec(line, 0..8).prop_map(|lines| lines.join("\n"))
}
