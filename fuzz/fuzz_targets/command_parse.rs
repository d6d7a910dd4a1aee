//! The command-line parser of host/src/dispatch/parse.rs.
//!
//! Invariants: a parsed name is non-empty, lowercase and without
//! whitespace; `raw_args` is a suffix of the text without leading
//! whitespace and `args == split_args(raw_args)`; no argument list is out
//! of reach of the quoting grammar (quoting each argument and joining them
//! with spaces splits back to the same list); full-width prefixes parse as
//! their ASCII forms.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wasmqq::dispatch::parse::{full_width, parse_command, split_args};

#[derive(Arbitrary, Debug)]
struct Input {
    text: String,
    prefixes: Vec<String>,
    args: Vec<String>,
}

/// Writes `arg` so that `split_args` reads it back as one argument: `"`
/// as `\"`, and an argument with whitespace (or empty) in quotes, any
/// trailing backslashes after the closing quote (inside, `\"` would be
/// a literal quote).
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

fuzz_target!(|input: Input| {
    let Input {
        text,
        prefixes,
        args,
    } = input;
    if let Some(c) = parse_command(&text, &prefixes) {
        assert!(!c.name.is_empty());
        assert_eq!(c.name, c.name.to_lowercase());
        assert!(!c.name.chars().any(char::is_whitespace));
        assert!(text.ends_with(&c.raw_args));
        assert_eq!(c.raw_args, c.raw_args.trim_start());
        assert_eq!(c.args, split_args(&c.raw_args));
    }
    let line = args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
    assert_eq!(split_args(&line), args, "line {line:?}");

    // The full-width form of an ASCII prefix parses like the prefix.
    if let Some(p) = prefixes.first()
        && !p.is_empty()
        && let Some(wide) = p.chars().map(full_width).collect::<Option<String>>()
    {
        let ascii = parse_command(&format!("{p}{text}"), &prefixes);
        let typed = parse_command(&format!("{wide}{text}"), &prefixes);
        assert_eq!(ascii, typed, "{p:?} vs {wide:?}");
    }
});
