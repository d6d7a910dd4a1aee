//! The host's own commands: `help`, and for admins `plugins`, `enable`,
//! `disable` and `reload`.

use super::parse::{ParsedCommand, is_prefix_char};
use super::{Dispatcher, Incoming};
use crate::registry::{Builtin, Owner, Scope, refusal_summary};

/// Run a built-in command and answer with its text.
pub(super) async fn run(
    d: &Dispatcher,
    incoming: &Incoming,
    builtin: Builtin,
    cmd: &ParsedCommand,
) -> String {
    let p = d.prefix();
    if builtin.admin_only() && !d.is_admin(incoming) {
        tracing::warn!(
            sender = incoming.message.sender,
            sender_qq = ?incoming.sender_qq,
            command = builtin.name(),
            "non-admin used an admin command; refused"
        );
        return format!("Sorry, {p}{builtin} is only for bot admins.");
    }
    match builtin {
        Builtin::Help => help(d, incoming, cmd.args.first().map(String::as_str)),
        Builtin::Plugins => plugins(d, incoming),
        Builtin::Enable => toggle(d, incoming, cmd, true),
        Builtin::Disable => toggle(d, incoming, cmd, false),
        Builtin::Reload => reload(d, cmd).await,
    }
}

fn help(d: &Dispatcher, incoming: &Incoming, topic: Option<&str>) -> String {
    let p = d.prefix();
    let snapshot = d.registry.snapshot();
    let enabled = |plugin: &str| d.toggles.is_enabled(plugin, &incoming.chat.key);
    if let Some(page) = topic.and_then(|t| t.parse::<usize>().ok()) {
        return list(d, &snapshot, &enabled, page.max(1));
    }
    if let Some(topic) = topic {
        let topic = topic.trim_start_matches(|c| {
            d.prefixes
                .iter()
                .any(|p| p.chars().next().is_some_and(|p| is_prefix_char(c, p)))
        });
        return match snapshot.command(topic) {
            Some((plugin, command)) if enabled(plugin.name()) => {
                let spec = plugin
                    .info()
                    .commands
                    .iter()
                    .find(|c| c.name == command)
                    .expect("snapshot commands come from the plugin's metadata");
                let mut text = format!("{p}{}", spec.name);
                if !spec.usage.is_empty() {
                    text.push_str(&format!(" {}", cut(&spec.usage, 200)));
                }
                if !spec.help.is_empty() {
                    text.push_str(&format!(" — {}", cut(&spec.help, 300)));
                }
                if !spec.aliases.is_empty() {
                    let aliases = cut(&spec.aliases.join(", "), 200);
                    text.push_str(&format!("\naliases: {aliases}"));
                }
                text.push_str(&format!(
                    "\nfrom plugin {} {}",
                    plugin.name(),
                    plugin.info().version
                ));
                let (refused, _) = snapshot.refused_for(&topic.to_lowercase());
                if !refused.is_empty() {
                    let names: Vec<String> = refused.iter().map(|s| s.to_string()).collect();
                    text.push_str(&format!(
                        "\nalso declared by {} (refused)",
                        cut(&names.join(", "), 200)
                    ));
                }
                text
            }
            _ => match Builtin::from_name(topic) {
                Some(builtin) => builtin.usage(p),
                None => match snapshot.refused_for(&topic.to_lowercase()) {
                    (_, Some(Owner::Plugin { name, .. })) => format!(
                        "{p}{topic} belongs to the {name} plugin, which is not loaded right now."
                    ),
                    _ => format!("There is no command {p}{topic}. Try {p}help."),
                },
            },
        };
    }
    list(d, &snapshot, &enabled, 1)
}

/// The longest a line of the command list may be (in characters) before it
/// is cut with `…`.
const HELP_LINE_CHARS: usize = 100;

/// The most bytes a page of `help` may take: one message part at the default
/// `max_message_bytes` (720), whatever the plugins declare.
const HELP_PAGE_BYTES: usize = 600;

/// One page (1-based) of the command list.
fn list(
    d: &Dispatcher,
    snapshot: &crate::registry::Snapshot,
    enabled: &dyn Fn(&str) -> bool,
    page: usize,
) -> String {
    let p = d.prefix();
    let mut entries = Vec::new();
    for plugin in snapshot.plugins.iter().filter(|pl| enabled(pl.name())) {
        let refused = snapshot.refused(plugin.name());
        if !refused.is_empty() {
            entries.push(cut(
                &format!("{}: refused {}", plugin.name(), refusal_summary(refused)),
                HELP_LINE_CHARS,
            ));
        }
        for spec in &plugin.info().commands {
            if snapshot.command(&spec.name).map(|(owner, _)| owner.name()) != Some(plugin.name()) {
                continue; // declared, but the name belongs to another plugin
            }
            let mut line = format!("{p}{}", spec.name);
            if !spec.usage.is_empty() {
                line.push_str(&format!(" {}", spec.usage));
            }
            if !spec.help.is_empty() {
                line.push_str(&format!(" — {}", spec.help));
            }
            entries.push(cut(&line, HELP_LINE_CHARS));
        }
    }
    let footer_all = format!(
        "{p}help [command]; admins: {p}plugins, {p}enable/{p}disable <plugin> [here|everywhere], {p}reload <plugin>"
    );
    // Room for the header and a footer such as "page 12/34: !help 13 for more".
    let budget = HELP_PAGE_BYTES - footer_all.len() - 64;
    let mut pages: Vec<Vec<String>> = vec![Vec::new()];
    let mut used = 0;
    for line in entries {
        if used + line.len() + 1 > budget && !pages.last().is_some_and(Vec::is_empty) {
            pages.push(Vec::new());
            used = 0;
        }
        used += line.len() + 1;
        pages.last_mut().expect("one page at least").push(line);
    }
    let total = pages.len();
    if page > total {
        return format!("There are {total} pages of commands; try {p}help 1 to {p}help {total}.");
    }
    let loading = if d.registry.is_loading() {
        " (more plugins are still loading)"
    } else {
        ""
    };
    let mut lines = vec![if total > 1 {
        format!("Commands{loading} (page {page}/{total}):")
    } else {
        format!("Commands{loading}:")
    }];
    lines.extend(pages.swap_remove(page - 1));
    if page < total {
        lines.push(format!("{p}help {} for more; {footer_all}", page + 1));
    } else {
        lines.push(footer_all);
    }
    lines.join("\n")
}

/// `text` cut to `max` characters, the cut marked with `…`.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn plugins(d: &Dispatcher, incoming: &Incoming) -> String {
    let snapshot = d.registry.snapshot();
    if snapshot.plugins.is_empty() && !d.registry.is_loading() {
        return format!(
            "No plugins loaded. Drop .wasm files into {}.",
            d.registry.dir().display()
        );
    }
    let mut lines: Vec<String> = snapshot
        .plugins
        .iter()
        .map(|plugin| {
            let status = plugin.status();
            let state = if status.quarantined {
                "QUARANTINED"
            } else if d.toggles.disabled_everywhere(plugin.name()) {
                "disabled everywhere"
            } else if !d.toggles.is_enabled(plugin.name(), &incoming.chat.key) {
                "disabled here"
            } else {
                "ok"
            };
            let mut line = format!(
                "{} {} — {state}, {} calls, {} faults",
                plugin.name(),
                plugin.info().version,
                status.calls,
                status.faults
            );
            if let Some(last) = status.last_fault.filter(|_| status.faults > 0) {
                line.push_str(&format!(" (last: {last})"));
            }
            let refused = snapshot.refused(plugin.name());
            if !refused.is_empty() {
                line.push_str(&format!("; refused commands: {}", refusal_summary(refused)));
            }
            line
        })
        .collect();
    if d.registry.is_loading() {
        lines.push("(more plugins are still loading)".to_string());
    }
    lines.join("\n")
}

fn toggle(d: &Dispatcher, incoming: &Incoming, cmd: &ParsedCommand, enable: bool) -> String {
    let p = d.prefix();
    let verb = if enable { "enable" } else { "disable" };
    let Some(plugin) = cmd.args.first() else {
        return format!("Usage: {p}{verb} <plugin> [here|everywhere]");
    };
    let scope = match cmd.args.get(1).map(String::as_str) {
        None | Some("here") => Scope::Here,
        Some("everywhere") => Scope::Everywhere,
        Some(other) => {
            return format!("\"{other}\" is not a scope; use here or everywhere.");
        }
    };
    if d.registry.snapshot().plugin(plugin).is_none() {
        return format!("No plugin named \"{plugin}\" is loaded. See {p}plugins.");
    }
    if let Err(e) = d.toggles.set(plugin, enable, scope, &incoming.chat.key) {
        tracing::error!("cannot save plugin toggles: {e}");
        return format!("Could not save that: {e}");
    }
    tracing::info!(plugin = %plugin, enable, ?scope, chat = %incoming.chat.key, "plugin toggled");
    let where_ = match scope {
        Scope::Here => "in this chat",
        Scope::Everywhere => "everywhere",
    };
    if !enable {
        let lane = matches!(scope, Scope::Here).then_some(&incoming.chat);
        let dropped = d.sink.drop_queued(plugin, lane);
        if dropped > 0 {
            tracing::warn!(plugin = %plugin, dropped, "disabled: its queued messages were dropped");
            return format!(
                "{plugin} is now {verb}d {where_}; {dropped} of its queued messages were dropped."
            );
        }
    }
    format!("{plugin} is now {verb}d {where_}.")
}

async fn reload(d: &Dispatcher, cmd: &ParsedCommand) -> String {
    let p = d.prefix();
    let Some(plugin) = cmd.args.first() else {
        return format!("Usage: {p}reload <plugin>");
    };
    match d.registry.reload(plugin).await {
        Ok(handle) => format!("Reloaded {} {}.", handle.name(), handle.info().version),
        Err(e) => format!("Could not reload {plugin}: {e}"),
    }
}
