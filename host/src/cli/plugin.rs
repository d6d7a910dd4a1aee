//! `wasmqq plugin check` and `wasmqq plugin try` (a thin shell over
//! [`crate::harness`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::abi::{Capability, PluginInfo};
use crate::harness::{PluginHarness, render, reply_text};
use crate::runtime::{Instance, Origin, PluginSetup, Runtime, RuntimeConfig};

/// Where `plugin check` and `plugin try` keep compiled components.
#[derive(Debug, clap::Args)]
pub(super) struct CacheArgs {
    /// Keep compiled components here (default: ~/.cache/wasmqq/components),
    /// so a large plugin (Python) compiles only once.
    #[arg(long, conflicts_with = "no_cache")]
    cache: Option<PathBuf>,
    /// Compile the plugin afresh, without the component cache.
    #[arg(long)]
    no_cache: bool,
}

impl CacheArgs {
    /// The cache folder to use, if any.
    pub(super) fn dir(self) -> Option<PathBuf> {
        self.cache
            .or_else(|| (!self.no_cache).then(default_cache_dir).flatten())
    }
}

pub(super) async fn check(file: &Path, cache: Option<PathBuf>) -> anyhow::Result<()> {
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: cache,
        ..RuntimeConfig::default()
    })?;
    let compiled = runtime.compile(file)?;
    let (_, info, _) =
        Instance::start(&runtime, &compiled, &|_| Ok(PluginSetup::default())).await?;
    print!("{}", describe(&info, &compiled.abi_version, &compiled.hash));
    let origin = match compiled.origin {
        Origin::Cached => "from the component cache",
        Origin::Compiled => "now",
    };
    println!("  compiled:     {origin}");
    Ok(())
}

/// The human-readable metadata block printed by `plugin check`.
fn describe(info: &PluginInfo, abi: &str, hash: &str) -> String {
    let mut out = format!("{} {}", info.name, info.version);
    if !info.description.is_empty() {
        out.push_str(&format!(" — {}", info.description));
    }
    out.push('\n');
    out.push_str(&format!("  abi:          wasmqq:plugin@{abi}\n"));
    out.push_str(&format!("  sha256:       {hash}\n"));
    if info.commands.is_empty() {
        out.push_str("  commands:     none\n");
    } else {
        out.push_str("  commands:\n");
        for c in &info.commands {
            let mut line = format!("    {}", c.name);
            if !c.usage.is_empty() {
                line.push_str(&format!(" {}", c.usage));
            }
            if !c.aliases.is_empty() {
                line.push_str(&format!(" (aliases: {})", c.aliases.join(", ")));
            }
            if !c.help.is_empty() {
                line.push_str(&format!(" — {}", c.help));
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    let triggers = if info.triggers.is_empty() {
        "none".to_string()
    } else {
        info.triggers.join("  ")
    };
    out.push_str(&format!("  triggers:     {triggers}\n"));
    let caps: Vec<&str> = info.capabilities.iter().map(|c| c.name()).collect();
    let caps = if caps.is_empty() {
        "none".to_string()
    } else {
        caps.join(", ")
    };
    out.push_str(&format!("  capabilities: {caps}\n"));
    out
}

/// What `plugin try` was asked to do.
pub(super) struct TryArgs<'a> {
    pub file: &'a Path,
    pub messages: &'a [String],
    pub grant: &'a [String],
    pub group: Option<u64>,
    pub config: &'a str,
    pub expect: Option<&'a str>,
    pub cache: Option<PathBuf>,
}

/// Where `plugin try` keeps compiled components unless told otherwise:
/// `$XDG_CACHE_HOME/wasmqq/components` or `~/.cache/wasmqq/components`.
pub(super) fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("wasmqq").join("components"))
}

pub(super) async fn try_message(args: TryArgs<'_>) -> anyhow::Result<()> {
    let mut builder = PluginHarness::builder(args.file).config(args.config);
    for name in args.grant {
        let cap = Capability::from_name(name.trim()).with_context(|| {
            format!(
                "--grant: unknown capability {name:?} (known: kv, timers, send, contacts, http)"
            )
        })?;
        builder = builder.grant(cap);
    }
    if let Some(dir) = args.cache {
        builder = builder.cache_dir(dir);
    }
    let mut session = builder.start().await?;
    if let Some(id) = args.group {
        session.in_group(id);
    }
    let mut all = Vec::new();
    for text in args.messages {
        if args.messages.len() > 1 {
            println!("> {text}");
        }
        let actions = session.message(text).await?;
        if actions.is_empty() && !session.reaches_plugin(text) {
            bail!(
                "{text:?} is neither a command (start it with ! or /) nor matched by a trigger of plugin \"{}\"",
                session.info().name
            );
        }
        if actions.is_empty() {
            println!("(no actions)");
        }
        for action in &actions {
            println!("{}", render(action));
        }
        all.extend(actions);
    }
    if let Some(expected) = args.expect {
        let replies = reply_text(&all);
        if !replies.contains(expected) {
            bail!("--expect: no reply contains {expected:?} (replies: {replies:?})");
        }
    }
    Ok(())
}
