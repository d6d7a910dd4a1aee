//! The configuration loader of host/src/config (`Config::parse`: TOML text
//! → `Config` with its range and validation checks).
//!
//! Invariants: never panics; every refusal names `file:line:col` (the
//! position exists in the text) and says what is wrong; an accepted
//! configuration parses the same way twice.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wasmqq::config::{Config, ConfigError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("fuzz.toml");
    match Config::parse(text, file) {
        // Compared as Debug text: a plugin's free-form `config` table may
        // hold `nan`, and NaN != NaN.
        Ok(config) => assert_eq!(
            format!("{:?}", Config::parse(text, file).ok()),
            format!("{:?}", Some(config))
        ),
        Err(ConfigError::Invalid {
            line,
            column,
            message,
            ..
        }) => {
            let (Some(line), Some(column)) = (line, column) else {
                panic!("error without a position: {message}");
            };
            assert!(!message.is_empty());
            let lines = text.split('\n').count();
            assert!(line >= 1 && line <= lines, "line {line} of {lines}");
            let width = text
                .split('\n')
                .nth(line - 1)
                .map_or(0, |l| l.chars().count());
            assert!(
                column >= 1 && column <= width + 1,
                "column {column} of {width}"
            );
        }
        Err(e @ ConfigError::Read { .. }) => panic!("parse does not read files: {e}"),
    }
});
