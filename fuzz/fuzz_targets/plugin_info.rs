//! The plugin metadata check of host/src/runtime/info.rs (`validate`), fed
//! arbitrary `describe` answers, trigger regexes included.
//!
//! Invariants: a refusal says why (non-empty message); an accepted plugin
//! has a valid name, a non-empty version, valid and pairwise distinct
//! (case-insensitively) command names, and triggers that compile into one
//! set within the size limit (`validate` compiles them).
#![no_main]

use std::collections::HashSet;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wasmqq::abi::{CommandSpec, PluginInfo};
use wasmqq::runtime::{valid_command_name, validate_info};

#[derive(Arbitrary, Debug)]
struct Command {
    name: String,
    aliases: Vec<String>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    name: String,
    version: String,
    commands: Vec<Command>,
    triggers: Vec<String>,
}

fuzz_target!(|input: Input| {
    if input.triggers.iter().map(String::len).sum::<usize>() > 4096 {
        return;
    }
    let info = PluginInfo {
        name: input.name,
        version: input.version,
        description: String::new(),
        commands: input
            .commands
            .into_iter()
            .map(|c| CommandSpec {
                name: c.name,
                aliases: c.aliases,
                usage: String::new(),
                help: String::new(),
            })
            .collect(),
        triggers: input.triggers,
        capabilities: vec![],
    };
    match validate_info(&info) {
        Err(why) => assert!(!why.to_string().is_empty()),
        Ok(()) => {
            let mut chars = info.name.chars();
            assert!(
                chars
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            );
            assert!(info.name.len() <= 64);
            assert!(!info.version.trim().is_empty());
            let mut seen = HashSet::new();
            for c in &info.commands {
                for n in std::iter::once(&c.name).chain(&c.aliases) {
                    assert!(valid_command_name(n));
                    assert!(seen.insert(n.to_lowercase()), "duplicate {n:?} accepted");
                }
            }
        }
    }
});
