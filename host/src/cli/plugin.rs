//! `wasmqq plugin check` and `wasmqq plugin try`.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

use crate::dispatch::parse::parse_command;
use crate::runtime::abi::{
    Action, Capability, Chat, ChatKind, CommandCall, Message, PluginInfo, Segment,
};
use crate::runtime::{Call, Grants, Instance, PluginSetup, Runtime, RuntimeConfig, Services};

pub(super) async fn check(file: &Path) -> anyhow::Result<()> {
    let runtime = Runtime::new(RuntimeConfig::default())?;
    let compiled = runtime.compile(file)?;
    let (_, info, _) = Instance::start(&runtime, &compiled, &|_| PluginSetup::default()).await?;
    print!("{}", describe(&info, &compiled.abi_version, &compiled.hash));
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

pub(super) async fn try_message(
    file: &Path,
    text: &str,
    grant: &[String],
    group: Option<u64>,
) -> anyhow::Result<()> {
    let mut grants = Grants::NONE;
    for name in grant {
        let cap = Capability::from_name(name.trim()).with_context(|| {
            format!(
                "--grant: unknown capability {name:?} (known: kv, timers, send, contacts, http)"
            )
        })?;
        grants = grants.with(cap);
    }
    let runtime = Runtime::new(RuntimeConfig {
        services: Services::with_memory_kv(),
        ..RuntimeConfig::default()
    })?;
    let handle = runtime.start(file, grants, "{}").await?;
    let info = handle.info().clone();
    let chat = match group {
        Some(id) => Chat {
            kind: ChatKind::Group,
            id,
        },
        None => Chat {
            kind: ChatKind::Friend,
            id: 10001,
        },
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let message = Message {
        id: 1,
        chat,
        sender: 10001,
        sender_name: "you".into(),
        segments: vec![Segment::Text(text.into())],
        time: now,
    };
    let prefixes = vec!["!".to_string(), "/".to_string()];
    let call = match parse_command(text, &prefixes) {
        Some(parsed) => {
            let Some(spec) = info.commands.iter().find(|c| {
                c.name.eq_ignore_ascii_case(&parsed.name)
                    || c.aliases
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case(&parsed.name))
            }) else {
                let known: Vec<&str> = info.commands.iter().map(|c| c.name.as_str()).collect();
                bail!(
                    "plugin \"{}\" has no command \"{}\" (its commands: {})",
                    info.name,
                    parsed.name,
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                );
            };
            Call::Command(CommandCall {
                name: spec.name.clone(),
                args: parsed.args,
                raw_args: parsed.raw_args,
                message,
            })
        }
        None => {
            let matched = info
                .triggers
                .iter()
                .filter_map(|t| regex::Regex::new(t).ok())
                .any(|re| re.is_match(text));
            if !matched {
                bail!(
                    "{text:?} is neither a command (start it with ! or /) nor matched by a trigger of plugin \"{}\"",
                    info.name
                );
            }
            Call::Message(message)
        }
    };
    let actions = handle.call(call).await?;
    if actions.is_empty() {
        println!("(no actions)");
    }
    for action in &actions {
        println!("{}", render_action(action));
    }
    Ok(())
}

fn render_action(action: &Action) -> String {
    match action {
        Action::Reply(segments) => format!("reply: {}", render_segments(segments)),
        Action::Send(out) => format!(
            "send to {:?} {}: {}",
            out.chat.kind,
            out.chat.id,
            render_segments(&out.segments)
        ),
    }
}

/// Segments as one line of text: faces as `[face:N]`, mentions as `@N`.
pub fn render_segments(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Segment::Text(t) => t.clone(),
            Segment::Face(id) => format!("[face:{id}]"),
            Segment::Mention(id) => format!("@{id}"),
        })
        .collect()
}
