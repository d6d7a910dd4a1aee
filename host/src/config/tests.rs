use std::path::{Path, PathBuf};

use super::*;

const FILE: &str = "config/wasmqq.toml";

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new(FILE))
}

/// The error's (line, column, key, message); panics if the text parses.
fn invalid(text: &str) -> (usize, usize, String, String) {
    match parse(text) {
        Ok(config) => panic!("accepted: {config:?}"),
        Err(ConfigError::Invalid {
            line,
            column,
            key,
            message,
            ..
        }) => (
            line.expect("a line"),
            column.expect("a column"),
            key,
            message,
        ),
        Err(other) => panic!("unexpected {other}"),
    }
}

#[test]
fn default_file_is_the_default_config() {
    assert_eq!(parse(DEFAULT_TOML).unwrap(), Config::default());
    assert_eq!(parse("").unwrap(), Config::default());
}

/// The keys a section accepts, as serde lists them when refusing another.
fn accepted_keys(section: &str) -> Vec<String> {
    let (_, _, _, message) = invalid(&format!("{section}\nno_such_key = 1\n"));
    let expected = message
        .split_once("expected ")
        .unwrap_or_else(|| panic!("{message}"))
        .1;
    // "`a`, `b` or `c`" / "one of `a`, `b`, `c`": every other piece
    // between backticks is a name.
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

#[test]
fn default_file_documents_every_key() {
    let sections = [
        "[bot]",
        "[webqq]",
        "[limits]",
        "[rate_limit]",
        "[outbox]",
        "[timers]",
        "[http]",
        "[plugins.x]",
    ];
    for section in sections {
        let keys = accepted_keys(section);
        assert!(keys.len() >= 2, "{section}: {keys:?}");
        for key in keys {
            // Set, or shown commented out (optional keys, the plugin
            // template), or a sub-table header.
            let documented = DEFAULT_TOML.lines().any(|l| {
                l.trim_start_matches(['#', ' '])
                    .starts_with(&format!("{key} = "))
                    || l.ends_with(&format!(".{key}]"))
            });
            assert!(documented, "{section} {key} is not in config/wasmqq.toml");
        }
        if !section.starts_with("[plugins") {
            assert!(
                DEFAULT_TOML.contains(&format!("\n{section}\n")),
                "{section}"
            );
        }
    }
    assert_eq!(accepted_keys("").len(), 9);
    assert!(DEFAULT_TOML.contains("\n# [[accounts]]\n"));
}

#[test]
fn a_full_file_parses() {
    let config = parse(
        r##"
[bot]
prefixes = ["#"]
admins = [10001, 10002]
data_dir = "/var/lib/wasmqq"

[webqq]
server = "127.0.0.1:8080"
send_interval_ms = 0

[limits]
call_timeout_ms = 250

[plugins.title]
grants = ["http", "kv"]
http_allow = ["example.com", "*.example.org:8443"]

[plugins.dice]
enabled = false
"##,
    )
    .unwrap();
    assert_eq!(config.bot.prefixes, ["#"]);
    assert_eq!(config.bot.admins, [10001, 10002]);
    assert_eq!(config.bot.plugin_dir, Path::new("plugins.d"));
    assert_eq!(config.webqq.server, Some("127.0.0.1:8080".parse().unwrap()));
    assert_eq!(config.limits.call_timeout_ms, 250);
    assert_eq!(config.limits.max_faults, 3);
    let title = &config.plugins["title"];
    assert_eq!(title.grants, [Capability::Http, Capability::Kv]);
    assert!(title.enabled);
    assert!(!config.plugin("dice").enabled);
    assert_eq!(config.plugin("absent"), PluginConfig::default());
}

#[test]
fn unknown_key_at_top_level() {
    let (line, column, key, message) = invalid("[bot]\nadmins = [10001]\n\nprefix = 3\n");
    // `prefix` inside [bot]: the section's key, on line 4.
    assert_eq!((line, column, key.as_str()), (4, 1, "bot.prefix"));
    assert!(
        message.starts_with("unknown key, expected one of"),
        "{message}"
    );

    let (line, column, key, _) = invalid("# comment\n\nplugin_dir = \"p\"\n");
    assert_eq!((line, column, key.as_str()), (3, 1, "plugin_dir"));

    let (line, _, key, _) = invalid("[bot]\n\n[rate-limit]\nuser_cooldown_ms = 5\n");
    assert_eq!((line, key.as_str()), (3, "rate-limit"));
}

#[test]
fn unknown_key_in_a_section() {
    let (line, column, key, _) =
        invalid("[webqq]\nsend_interval_ms = 10\n\n[limits]\ncall_timeout = 5\n");
    assert_eq!((line, column, key.as_str()), (5, 1, "limits.call_timeout"));
}

#[test]
fn unknown_key_in_a_plugin_table() {
    let text = "[plugins.title]\ngrants = [\"http\"]\nallow = [\"example.com\"]\n";
    let (line, column, key, _) = invalid(text);
    assert_eq!((line, column, key.as_str()), (3, 1, "plugins.title.allow"));
    let shown = parse(text).unwrap_err().to_string();
    assert!(
        shown.starts_with("config/wasmqq.toml:3:1: plugins.title.allow: unknown key"),
        "{shown}"
    );
}

#[test]
fn plugin_config_table_is_free_form() {
    let config = parse(
        "[plugins.greet.config]\ngreeting = \"hi\"\nnested = { a = [1, 2.5, true] }\nwhen = 1979-05-27T07:32:00Z\n",
    )
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&config.plugins["greet"].init_json()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "greeting": "hi",
            "nested": { "a": [1, 2.5, true] },
            "when": "1979-05-27T07:32:00Z",
        })
    );
    assert_eq!(PluginConfig::default().init_json(), "{}");
}

#[test]
fn bad_value_type() {
    let (line, column, key, message) =
        invalid("[bot]\nprefixes = [\"!\"]\n\n[outbox]\nmax_attempts = \"five\"\n");
    assert_eq!((line, column, key.as_str()), (5, 16, "outbox.max_attempts"));
    assert!(message.contains("invalid type"), "{message}");

    let (line, _, key, _) = invalid("[bot]\nadmins = [10001, \"bob\"]\n");
    assert_eq!((line, key.as_str()), (2, "bot.admins[1]"));

    let (line, _, key, message) = invalid("[webqq]\nserver = \"localhost\"\n");
    assert_eq!((line, key.as_str()), (2, "webqq.server"));
    assert!(message.contains("socket address"), "{message}");

    let (line, _, key, _) = invalid("[limits]\nmemory_bytes = -1\n");
    assert_eq!((line, key.as_str()), (2, "limits.memory_bytes"));
}

#[test]
fn syntax_error_names_the_line() {
    let err = parse("[bot]\nprefixes = [\"!\"\n").unwrap_err();
    let shown = err.to_string();
    assert!(shown.starts_with("config/wasmqq.toml:2:"), "{shown}");
}

#[test]
fn unknown_capability() {
    let text = "[plugins.title]\nenabled = true\ngrants = [\"http\",\n  \"htp\"]\n";
    let (line, column, key, message) = invalid(text);
    assert_eq!(
        (line, column, key.as_str()),
        (4, 3, "plugins.title.grants[1]")
    );
    assert_eq!(
        message,
        "unknown capability \"htp\" (known: kv, timers, send, contacts, http)"
    );
    assert_eq!(
        parse(text).unwrap_err().to_string(),
        "config/wasmqq.toml:4:3: plugins.title.grants[1]: unknown capability \"htp\" (known: kv, timers, send, contacts, http)"
    );
}

#[test]
fn validation_errors_name_line_and_key() {
    let (line, column, key, message) = invalid("[bot]\nprefixes = [\"!\", \"\"]\n");
    assert_eq!((line, column, key.as_str()), (2, 18, "bot.prefixes[1]"));
    assert!(message.contains("empty"), "{message}");

    let (line, _, key, _) = invalid("[bot]\nprefixes = [\"! \"]\n");
    assert_eq!((line, key.as_str()), (2, "bot.prefixes[0]"));

    let (line, _, key, _) = invalid("[bot]\nprefixes = []\n");
    assert_eq!((line, key.as_str()), (2, "bot.prefixes"));

    let (line, _, key, message) = invalid("\n[plugins.Title]\nenabled = true\n");
    assert_eq!((line, key.as_str()), (2, "plugins.Title"));
    assert!(message.contains("invalid plugin name"), "{message}");

    let (line, _, key, message) = invalid(
        "[plugins.title]\ngrants = [\"http\"]\nhttp_allow = [\n  \"example.com\",\n  \"https://example.org/\",\n]\n",
    );
    assert_eq!((line, key.as_str()), (5, "plugins.title.http_allow[1]"));
    assert!(message.contains("not a URL"), "{message}");

    let (line, _, key, message) = invalid("[http]\ntimeout_ms = 0\n");
    assert_eq!((line, key.as_str()), (2, "http.timeout_ms"));
    assert_eq!(message, "must be between 100 and 60000, is 0");

    let (line, _, key, message) = invalid("[http]\ntimeout = 5\n");
    assert_eq!((line, key.as_str()), (2, "http.timeout"));
    assert!(message.contains("unknown key"), "{message}");

    let (line, _, key, message) = invalid("[limits]\nactions = 0\n");
    assert_eq!((line, key.as_str()), (2, "limits.actions"));
    assert_eq!(message, "must be between 1 and 1000, is 0");

    let (line, _, key, _) = invalid("[outbox]\nretry_base_ms = 5000\nretry_max_ms = 100\n");
    assert_eq!((line, key.as_str()), (3, "outbox.retry_max_ms"));

    // A value that is bad only with its default neighbour points at what
    // was written.
    let (line, _, key, _) = invalid("\n\n[outbox]\nretry_base_ms = 100000\n");
    assert_eq!((line, key.as_str()), (3, "outbox.retry_max_ms"));
}

#[test]
fn pinned_commands_are_checked() {
    let config =
        parse("[bot.commands]\nroll = \"dice\"\nr = \"dice\"\n\"😀\" = \"emoji\"\n").unwrap();
    assert_eq!(config.bot.commands["roll"], "dice");
    assert_eq!(config.bot.commands.len(), 3);

    let (line, column, key, message) = invalid("[bot.commands]\nroll = \"dice\"\nr = \"Dice\"\n");
    assert_eq!((line, column, key.as_str()), (3, 5, "bot.commands.r"));
    assert!(
        message.contains("invalid plugin name \"Dice\""),
        "{message}"
    );

    let (line, _, key, message) =
        invalid("[bot]\nadmins = []\n\n[bot.commands]\nHelp = \"dice\"\n");
    assert_eq!((line, key.as_str()), (5, "bot.commands.Help"));
    assert_eq!(
        message,
        "\"help\" is a built-in command; it cannot be given to a plugin"
    );

    let (line, _, key, message) = invalid("[bot.commands]\n\"a b\" = \"dice\"\n");
    assert_eq!((line, key.as_str()), (2, "bot.commands.\"a b\""));
    assert!(message.contains("not a command name"), "{message}");

    let (line, _, key, message) =
        invalid(&format!("[bot.commands]\n{} = \"dice\"\n", "x".repeat(33)));
    assert_eq!(line, 2, "{key}");
    assert!(message.contains("not a command name"), "{message}");

    let (line, _, key, message) = invalid("[bot.commands]\nroll = \"dice\"\nROLL = \"echo\"\n");
    // Keys are checked in order ("ROLL" < "roll"): the second is refused.
    assert_eq!((line, key.as_str()), (2, "bot.commands.roll"));
    assert!(message.contains("pinned twice"), "{message}");

    let (line, _, key, message) = invalid("[bot.commands]\nroll = 3\n");
    assert_eq!((line, key.as_str()), (2, "bot.commands.roll"));
    assert!(message.contains("string"), "{message}");
}

#[test]
fn log_budget_keys_are_checked() {
    let config = parse("[limits]\nlog_lines_per_sec = 5\nlog_line_bytes = 100\n").unwrap();
    let log = config.limits.log();
    assert_eq!((log.lines_per_sec, log.burst_lines), (5, 200));
    assert_eq!((log.line_bytes, log.burst_bytes), (100, 256 << 10));

    for key in ["log_lines_per_sec", "log_burst_lines", "log_bytes_per_sec"] {
        let (line, _, at, message) = invalid(&format!("[limits]\n{key} = 0\n"));
        assert_eq!((line, at), (2, format!("limits.{key}")));
        assert!(message.starts_with("must be between "), "{message}");
        assert!(message.ends_with(", is 0"), "{message}");
    }
    let (line, _, key, message) = invalid("[limits]\nlog_line_bytes = 10\n");
    assert_eq!((line, key.as_str()), (2, "limits.log_line_bytes"));
    assert_eq!(message, "must be between 64 and 1048576, is 10");
    let (line, _, key, message) = invalid("[limits]\nlog_burst_bytes = 1000\n");
    assert_eq!((line, key.as_str()), (2, "limits.log_burst_bytes"));
    assert_eq!(message, "must be at least log_line_bytes (2048), is 1000");
}

#[test]
fn missing_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let err = Config::load(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "cannot read configuration file {}: ",
            path.display()
        )),
        "{shown}"
    );
}

#[test]
fn relative_paths_resolve_against_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wasmqq.toml");
    std::fs::write(
        &path,
        "[bot]\ndata_dir = \"state\"\nplugin_dir = \"/opt/plugins\"\n",
    )
    .unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.bot.data_dir, dir.path().join("state"));
    assert_eq!(config.bot.plugin_dir, PathBuf::from("/opt/plugins"));
    assert_eq!(config.webqq.qr_png_path, dir.path().join("state/qr.png"));

    let client = config.webqq_client_config(&WebqqAccountConfig::default());
    assert_eq!(
        client.session_file,
        Some(dir.path().join("state/session.json"))
    );
    assert_eq!(client.qr_png_path, dir.path().join("state/qr.png"));
    assert_eq!(client.send_interval, Duration::from_millis(1500));
    assert_eq!(client.poll_timeout, Duration::from_secs(120));
    assert_eq!(client.server, None);

    let mut config = Config::default();
    config.resolve_paths(Path::new("/etc/wasmqq"));
    assert_eq!(config.bot.data_dir, Path::new("/etc/wasmqq/data"));
    assert_eq!(config.bot.plugin_dir, Path::new("/etc/wasmqq/plugins.d"));
}

/// Every integer the default file sets (and the commented plugin keys)
/// has an upper bound: the largest TOML integer is refused, naming the key
/// and the allowed range.
#[test]
fn every_numeric_key_has_an_upper_bound() {
    let doc: toml::Table = DEFAULT_TOML.parse().unwrap();
    let mut checked = Vec::new();
    let mut check = |section: &str, key: &str, value: &str, want_key: String| {
        let text = format!("{section}\n{key} = {value}\n");
        let (line, _, got_key, message) = invalid(&text);
        assert_eq!((line, got_key.as_str()), (2, want_key.as_str()), "{text}");
        assert!(message.contains("between"), "{text}: {message}");
        checked.push(want_key);
    };
    for (section, table) in &doc {
        let table = table.as_table().unwrap();
        for (key, value) in table {
            if value.is_integer() {
                check(
                    &format!("[{section}]"),
                    key,
                    &i64::MAX.to_string(),
                    format!("{section}.{key}"),
                );
            }
        }
    }
    for key in ["kv_quota_bytes", "kv_quota_keys"] {
        check(
            "[plugins.x]",
            key,
            &i64::MAX.to_string(),
            format!("plugins.x.{key}"),
        );
    }
    check(
        "[bot]",
        "admins",
        &format!("[10001, {}]", i64::MAX),
        "bot.admins[1]".into(),
    );
    assert!(checked.len() >= 25, "{checked:?}");
}

/// The two ends of several ranges: the bounds themselves are accepted, one
/// past them is refused with the key and the range.
#[test]
fn numeric_keys_are_bounded_at_both_ends() {
    let cases: &[(&str, &str, u64, u64)] = &[
        ("webqq", "send_interval_ms", 0, 60_000),
        ("webqq", "max_message_bytes", 64, 720),
        ("webqq", "poll_timeout_secs", 90, 600),
        ("webqq", "send_retries", 0, 10),
        ("limits", "call_timeout_ms", 10, 60_000),
        ("limits", "max_faults", 1, 100),
        ("limits", "memory_bytes", 1 << 20, 4 << 30),
        ("timers", "retry_after_ms", 100, 3_600_000),
        ("http", "max_redirects", 0, 20),
        ("rate_limit", "user_cooldown_ms", 0, 3_600_000),
        ("outbox", "max_attempts", 1, 100),
        ("plugins.x", "kv_quota_keys", 1, 10_000_000),
    ];
    for &(section, key, min, max) in cases {
        let text = |v: u64| format!("[{section}]\n{key} = {v}\n");
        parse(&text(min)).unwrap_or_else(|e| panic!("{e}"));
        parse(&text(max)).unwrap_or_else(|e| panic!("{e}"));
        let range = format!("must be between {min} and {max}");
        let mut outside = vec![max + 1];
        if min > 0 {
            outside.push(min - 1);
        }
        for v in outside {
            let (line, column, got, message) = invalid(&text(v));
            assert_eq!(
                (line, column, got.as_str()),
                (2, key.len() + 4, format!("{section}.{key}").as_str()),
                "{v}"
            );
            assert_eq!(message, format!("{range}, is {v}"));
        }
    }
    // The examples of the issue, as the loader prints them.
    assert_eq!(
        parse("[webqq]\nmax_message_bytes = 1\n")
            .unwrap_err()
            .to_string(),
        "config/wasmqq.toml:2:21: webqq.max_message_bytes: must be between 64 and 720, is 1"
    );
    let (line, _, key, message) = invalid("[webqq]\nsend_interval_ms = 18446744073709551615\n");
    assert_eq!((line, key.as_str()), (2, "webqq.send_interval_ms"));
    assert_eq!(
        message,
        "must be between 0 and 60000, is 18446744073709551615"
    );
    // Too large or negative for the field's type: still the range.
    let (_, _, key, message) = invalid("[limits]\nmax_faults = 0x1_0000_0000\n");
    assert_eq!(key, "limits.max_faults");
    assert_eq!(message, "must be between 1 and 100, is 4294967296");
    let (_, _, _, message) = invalid("[limits]\nmemory_bytes = -1\n");
    assert_eq!(message, "must be between 1048576 and 4294967296, is -1");
    // Inline tables, dotted keys and plugin tables are found too.
    let (line, _, key, _) = invalid("webqq = { send_retries = 11 }\n");
    assert_eq!((line, key.as_str()), (1, "webqq.send_retries"));
    let (line, _, key, _) = invalid("[plugins]\ndice.kv_quota_bytes = 0\n");
    assert_eq!((line, key.as_str()), (2, "plugins.dice.kv_quota_bytes"));
    let (line, _, key, message) = invalid("[webqq]\nsend_interval_ms = 9223372036854775807\n");
    assert_eq!((line, key.as_str()), (2, "webqq.send_interval_ms"));
    assert_eq!(
        message,
        "must be between 0 and 60000, is 9223372036854775807"
    );
    // QQ numbers of admins: 5 to 10 digits.
    let (line, _, key, message) = invalid("[bot]\nadmins = [10001, 9999]\n");
    assert_eq!((line, key.as_str()), (2, "bot.admins[1]"));
    assert_eq!(message, "must be between 10000 and 4294967295, is 9999");
    parse("[bot]\nadmins = [10000, 4294967295]\n").unwrap();
}

#[test]
fn accounts_parse_with_names_dirs_and_their_own_webqq_table() {
    let config = parse(
        r#"
[webqq]
send_interval_ms = 100

[[accounts]]
platform = "webqq"

[[accounts]]
name = "second"
platform = "webqq"
[accounts.webqq]
server = "127.0.0.1:8081"
"#,
    )
    .unwrap();
    let accounts = config.accounts();
    assert_eq!(
        accounts.iter().map(|a| a.name()).collect::<Vec<_>>(),
        ["main", "second"]
    );
    let (AccountConfig::Webqq(main), AccountConfig::Webqq(second)) = (&accounts[0], &accounts[1])
    else {
        panic!("{accounts:?}");
    };
    let main = config.webqq_client_config(main);
    let second = config.webqq_client_config(second);
    assert_eq!(main.send_interval, std::time::Duration::from_millis(100));
    assert_eq!(main.server, None);
    assert_eq!(second.server, Some("127.0.0.1:8081".parse().unwrap()));
    assert_eq!(
        second.session_file.as_deref(),
        Some(std::path::Path::new("data/accounts/second/session.json"))
    );
    // Without entries: the one WebQQ account of [webqq].
    assert_eq!(Config::default().accounts().len(), 1);
}

#[test]
fn bad_accounts_are_refused_with_their_key() {
    let two_mains =
        parse("[[accounts]]\nplatform = \"webqq\"\n[[accounts]]\nplatform = \"webqq\"\n")
            .unwrap_err()
            .to_string();
    assert!(
        two_mains.contains("accounts[1]") && two_mains.contains("give each account a name"),
        "{two_mains}"
    );
    let bad_name = parse("[[accounts]]\nname = \"a b\"\nplatform = \"webqq\"\n")
        .unwrap_err()
        .to_string();
    assert!(bad_name.contains("accounts[0].name"), "{bad_name}");
    let unknown = parse("[[accounts]]\nplatform = \"msn\"\n")
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("msn"), "{unknown}");
    let typo = parse("[[accounts]]\nplatform = \"webqq\"\nnmae = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(typo.contains("nmae"), "{typo}");
}

#[test]
fn onebot_and_linechat_accounts_parse_and_name_what_is_missing() {
    let config = parse(
        r#"
[[accounts]]
name = "qq"
platform = "onebot"
mode = "ws-reverse"
listen = "127.0.0.1:8080"
access_token = "t"
self_id = 123456

[[accounts]]
name = "room"
platform = "linechat"
listen = "127.0.0.1:7000"
admin_password = "pw"
"#,
    )
    .unwrap();
    let (AccountConfig::Onebot(qq), AccountConfig::Linechat(room)) =
        (&config.accounts[0], &config.accounts[1])
    else {
        panic!("{:?}", config.accounts);
    };
    let client = qq.client_config().unwrap();
    assert_eq!(
        client.mode,
        wasmqq_onebot::Mode::ReverseWs {
            listen: "127.0.0.1:8080".parse().unwrap(),
            path: "/onebot/v11/ws".into()
        }
    );
    assert_eq!(client.self_id, Some(123456));
    assert_eq!(
        room.room_config().unwrap().admin_password.as_deref(),
        Some("pw")
    );

    let no_url = parse("[[accounts]]\nplatform = \"onebot\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        no_url.contains("accounts[0].url") && no_url.contains("mode = \"ws\""),
        "{no_url}"
    );
    let no_listen = parse(
        "[[accounts]]\nplatform = \"onebot\"\nmode = \"http\"\nurl = \"http://127.0.0.1:3000\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(no_listen.contains("accounts[0].listen"), "{no_listen}");
    let bad_mode = parse("[[accounts]]\nplatform = \"onebot\"\nmode = \"carrier-pigeon\"\n")
        .unwrap_err()
        .to_string();
    assert!(bad_mode.contains("carrier-pigeon"), "{bad_mode}");
    let bad_nick = parse("[[accounts]]\nplatform = \"linechat\"\nbot_nick = \"a b\"\n")
        .unwrap_err()
        .to_string();
    assert!(bad_nick.contains("accounts[0].bot_nick"), "{bad_nick}");
}
