//! Routing of messages to plugins.
//!
//! For each incoming message the dispatcher decides, without calling any
//! plugin that is not concerned:
//! * a command (text starting with a configured prefix): a built-in
//!   ([`builtins`]: `help`, `plugins`, `enable`, `disable`, `reload`) or the
//!   plugin that owns the name or alias (see [`crate::registry::Owners`]);
//!   unknown names get a hint;
//! * otherwise the plugins whose triggers match, found with one pass of a
//!   `RegexSet` over the text.
//!
//! A quarantined plugin is skipped silently for triggers; for its commands
//! the chat is told at most once per [`QUARANTINE_NOTICE_EVERY`].
//!
//! Commands pass a per-user and per-chat cooldown first. Calls start at
//! once (plugins run in parallel; each plugin takes one call at a time) and
//! their replies leave in message order per chat. Plugins disabled in a chat
//! (see [`crate::registry::Toggles`]) are skipped there.

mod builtins;
mod order;
pub mod parse;
pub mod ratelimit;
pub mod router;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;
use tracing::Instrument;

use crate::abi::{Action, Chat, CommandCall, Message, Segment};
use crate::capabilities::send;
use crate::registry::{Owner, Registry, Toggles};
use crate::runtime::{Call, CallError, PluginHandle};
use crate::timers::DueTimer;
use order::Sequencer;
pub use ratelimit::RateLimitConfig;
use ratelimit::{RateLimiter, Verdict};
use router::Route;

/// The command prefixes when the configuration names none: `!` and `/`.
pub const DEFAULT_PREFIXES: &[&str] = &["!", "/"];

/// [`DEFAULT_PREFIXES`] as owned strings (for configurations).
pub fn default_prefixes() -> Vec<String> {
    DEFAULT_PREFIXES.iter().map(|p| p.to_string()).collect()
}

/// How often a chat is told that a plugin it uses is quarantined.
pub const QUARANTINE_NOTICE_EVERY: Duration = Duration::from_secs(15 * 60);

use crate::account::DEFAULT_ACCOUNT;

/// A chat as the dispatcher sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChatAddress {
    /// The account (see `[[accounts]]`) the chat is reached through.
    pub account: Arc<str>,
    /// Kind and id, as plugins see them.
    pub chat: Chat,
    /// A key stable across logins for persisted settings, rate limits and
    /// reply order: [`ChatAddress::lane`], prefixed with `account/` for
    /// every account but [`DEFAULT_ACCOUNT`].
    pub key: String,
    /// Display name, when known.
    pub name: Option<String>,
}

impl ChatAddress {
    /// An address for `chat` of the [`DEFAULT_ACCOUNT`] with its display
    /// name (or none): the key is `kind:name`, or `kind#id` without a name.
    pub fn new(chat: Chat, name: Option<String>) -> ChatAddress {
        ChatAddress::on(DEFAULT_ACCOUNT.into(), chat, name)
    }

    /// An address for `chat` of `account` (see [`ChatAddress::key`]).
    pub fn on(account: Arc<str>, chat: Chat, name: Option<String>) -> ChatAddress {
        let lane = chat.lane(name.as_deref());
        let key = if &*account == DEFAULT_ACCOUNT {
            lane
        } else {
            format!("{account}/{lane}")
        };
        ChatAddress {
            account,
            chat,
            key,
            name,
        }
    }

    /// The chat within its account: `kind:name`, or `kind#id` without a
    /// name (the outbox's lane of the chat).
    pub fn lane(&self) -> String {
        self.chat.lane(self.name.as_deref())
    }
}

/// A received message, ready for dispatch.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The message as plugins see it.
    pub message: Message,
    /// Where it was said.
    pub chat: ChatAddress,
    /// The sender's real QQ number, when the protocol revealed it.
    pub sender_qq: Option<u64>,
    /// The platform vouches that the sender is an admin (a line-chat user
    /// who gave the admin password); QQ numbers in `[bot] admins` are
    /// admins whatever this says.
    pub sender_admin: bool,
}

/// One outgoing message.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Where it goes.
    pub to: ChatAddress,
    /// What it says.
    pub segments: Vec<Segment>,
    /// The plugin that produced it, or `host`.
    pub origin: String,
    /// A plugin's own message (a send to a chat, a timer's answer) rather
    /// than an answer to the user: it counts against the plugin's
    /// proactive budget and leaves after queued replies in its chat.
    pub proactive: bool,
}

/// Where replies go (the outbox in the bot; a collector in tests).
pub trait ReplySink: Send + Sync + 'static {
    /// Accept a reply for delivery; called in per-chat order.
    fn send(&self, reply: Reply);

    /// Accept the replies to one message said in `chat` and mark its
    /// journal entry `handled` (of `chat`'s account) done, together (the
    /// outbox does both in one commit). The default sends each reply and
    /// ignores the journal.
    fn send_handled(&self, chat: &ChatAddress, replies: Vec<Reply>, handled: Option<u64>) {
        let _ = (chat, handled);
        for reply in replies {
            self.send(reply);
        }
    }

    /// Drop the messages of `plugin` waiting for delivery (in `chat` only,
    /// when given) because it was disabled, quarantined or unloaded;
    /// returns how many. The default has nothing queued.
    fn drop_queued(&self, plugin: &str, chat: Option<&ChatAddress>) -> usize {
        let _ = (plugin, chat);
        0
    }

    /// Tell the bot's admins something privately (a plugin was
    /// quarantined). The default only logs.
    fn notify_admins(&self, text: &str) {
        tracing::warn!("for the admins: {text}");
    }
}

/// Dispatch settings (from the `[bot]` and `[rate_limit]` configuration).
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Command prefixes, e.g. `!` and `/`.
    pub prefixes: Vec<String>,
    /// QQ numbers allowed to use admin commands.
    pub admins: Vec<u64>,
    /// Cooldowns between commands (`[rate_limit]`).
    pub rate_limit: RateLimitConfig,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            prefixes: default_prefixes(),
            admins: Vec::new(),
            rate_limit: RateLimitConfig::default(),
        }
    }
}

/// Routes messages to plugins and built-in commands.
pub struct Dispatcher {
    registry: Arc<Registry>,
    toggles: Arc<Toggles>,
    prefixes: Vec<String>,
    admins: HashSet<u64>,
    limiter: Mutex<RateLimiter>,
    sink: Arc<dyn ReplySink>,
    sequencer: Arc<Sequencer>,
    /// When each (plugin, chat key) was last told of a quarantine.
    quarantine_told: Mutex<HashMap<(String, String), Instant>>,
    next_token: std::sync::atomic::AtomicU64,
}

impl Dispatcher {
    /// A dispatcher over `registry`, sending replies to `sink`.
    pub fn new(
        config: DispatchConfig,
        registry: Arc<Registry>,
        toggles: Arc<Toggles>,
        sink: Arc<dyn ReplySink>,
    ) -> Arc<Dispatcher> {
        Arc::new(Dispatcher {
            registry,
            toggles,
            limiter: Mutex::new(RateLimiter::new(&config.rate_limit)),
            prefixes: config.prefixes,
            admins: config.admins.into_iter().collect(),
            sequencer: Arc::new(Sequencer::new(sink.clone())),
            sink,
            quarantine_told: Mutex::new(HashMap::new()),
            next_token: std::sync::atomic::AtomicU64::new(1),
        })
    }

    /// The first command prefix (used in help texts).
    pub fn prefix(&self) -> &str {
        self.prefixes.first().map(String::as_str).unwrap_or("!")
    }

    /// Handle one message: start the work and queue its replies in chat
    /// order. Returns at once.
    pub fn handle(self: &Arc<Self>, incoming: Incoming) {
        self.handle_journaled(incoming, None);
    }

    /// Like [`Dispatcher::handle`] for a message journaled as `handled`:
    /// the entry is marked done together with its replies (see
    /// [`ReplySink::send_handled`]).
    pub fn handle_journaled(self: &Arc<Self>, incoming: Incoming, handled: Option<u64>) {
        self.start(incoming, handled, false);
    }

    /// Like [`Dispatcher::handle_journaled`] for a message received before
    /// the last stop and not answered then: it is routed once the plugin
    /// folder has loaded (even a command of a plugin loaded already: its
    /// plugin's state may depend on others'), in its chat's order.
    pub fn handle_replayed(self: &Arc<Self>, incoming: Incoming, handled: u64) {
        self.start(incoming, Some(handled), true);
    }

    fn start(self: &Arc<Self>, incoming: Incoming, handled: Option<u64>, replayed: bool) {
        let span = tracing::info_span!(
            "message",
            msg_id = incoming.message.id,
            chat = %incoming.chat.key
        );
        let chat = incoming.chat.clone();
        let token = self.track(incoming.message.id, &incoming.chat.key);
        let this = self.clone();
        let account = chat.account.clone();
        // Boxed here, where it is made: the routing future is ≈ 11.6 KB,
        // and each move on its way into the task (the task's own future,
        // its span, tokio's cell) would copy it whole.
        let work = Box::pin(crate::account::scope(account, async move {
            this.route(incoming, replayed).await
        }));
        self.sequencer.run(chat, handled, token, span, work);
    }

    fn track(&self, msg_id: u64, chat: &str) -> u64 {
        let token = self
            .next_token
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.sequencer
            .inflight
            .messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token, (msg_id, chat.to_string()));
        token
    }

    /// Wait up to `grace` for the messages being handled to have their
    /// replies queued (shutdown). Each message still unfinished then is
    /// logged by id; the inbound journal keeps it for the next start.
    /// Returns how many were unfinished.
    pub async fn drain(&self, grace: Duration) -> usize {
        let inflight = &self.sequencer.inflight;
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let idle = inflight.idle.notified();
            let left = inflight
                .messages
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len();
            if left == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                break;
            }
        }
        let left = inflight
            .messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (msg_id, chat) in left.values() {
            tracing::warn!(
                msg_id,
                chat = %chat,
                "message still being handled at shutdown; the journal keeps it for the next start"
            );
        }
        left.len()
    }

    /// Deliver a due timer to its plugin's `on-timer`; replies go to the
    /// chat the timer was scheduled from, in that chat's order. The timer
    /// is marked delivered once the plugin was called.
    pub fn handle_timer(self: &Arc<Self>, due: DueTimer) {
        let snapshot = self.registry.snapshot();
        if snapshot.plugin(&due.plugin).is_none() && self.registry.is_loading() {
            // At start its plugin may still be compiling: deliver it once
            // the folder has loaded.
            let this = self.clone();
            tokio::spawn(async move {
                this.registry.loaded().await;
                this.handle_timer(due);
            });
            return;
        }
        let Some(plugin) = snapshot.plugin(&due.plugin).cloned() else {
            tracing::warn!(
                plugin = %due.plugin,
                timer = due.event.id,
                "timer due for a plugin that is not loaded; it is kept for later"
            );
            return;
        };
        let account = due.account.clone();
        let chat = due
            .event
            .chat
            .map(|c| ChatAddress::on(account.clone(), c, None));
        let span = tracing::info_span!("timer", plugin = %due.plugin, timer = due.event.id);
        let target = chat.clone();
        let work = crate::account::scope(account, async move {
            let event = due.event.clone();
            let result = plugin.call(Call::Timer(event)).await;
            due.delivered().await;
            match (result, target) {
                (Ok(actions), Some(chat)) => actions
                    .into_iter()
                    .filter_map(|action| action_to_reply(&plugin, action, &chat))
                    .map(|reply| Reply {
                        proactive: true,
                        ..reply
                    })
                    .collect(),
                (Ok(actions), None) => {
                    if !actions.is_empty() {
                        tracing::warn!("timer without a chat answered with replies; dropped");
                    }
                    Vec::new()
                }
                (Err(e), _) => {
                    tracing::warn!("on-timer failed: {e}");
                    Vec::new()
                }
            }
        });
        match chat {
            Some(chat) => {
                let token = self.track(0, &chat.key);
                self.sequencer.run(chat, None, token, span, work);
            }
            None => {
                tokio::spawn(work.instrument(span));
            }
        }
    }

    /// Route a message and run what it leads to. While the plugin folder
    /// is loading at start, only a built-in command and a command of a
    /// plugin already loaded are served at once; anything else waits for
    /// the loading to end and is routed then: a command no loaded plugin
    /// serves may belong to one still compiling, and a text may match the
    /// trigger of one (so no plugin misses a message received while the
    /// bot starts). A replayed message always waits.
    async fn route(self: Arc<Self>, incoming: Incoming, replayed: bool) -> Vec<Reply> {
        let text = plain_text(&incoming.message.segments);
        let mut snapshot = self.registry.snapshot();
        if self.registry.is_loading()
            && (replayed
                || !matches!(
                    router::route(&snapshot, &text, &self.prefixes),
                    Route::Builtin(..) | Route::Command { .. }
                ))
        {
            tracing::debug!("waiting for the plugin folder to load");
            self.registry.loaded().await;
            snapshot = self.registry.snapshot();
        }
        let route = router::route(&snapshot, &text, &self.prefixes);
        if let Route::Text(plugins) = route {
            return self.run_triggers(&incoming, plugins).await;
        }
        let verdict = self
            .limiter
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .check(incoming.message.sender, &incoming.chat.key, Instant::now());
        match verdict {
            Verdict::Allow => {}
            Verdict::Warn => {
                tracing::info!(sender = incoming.message.sender, "command rate-limited");
                return vec![self.host_reply(
                    &incoming,
                    "Slow down a little, please: wait a moment between commands.",
                )];
            }
            Verdict::Drop => return Vec::new(),
        }
        let (plugin, command, parsed) = match route {
            Route::Builtin(builtin, parsed) => {
                let text = builtins::run(&self, &incoming, builtin, &parsed).await;
                return vec![self.host_reply(&incoming, &text)];
            }
            Route::Unknown(parsed) => {
                let (p, name) = (self.prefix(), &parsed.name);
                let text = match snapshot.refused_for(&name.to_lowercase()) {
                    (_, Some(Owner::Plugin { name: owner, .. })) => format!(
                        "The command {p}{name} belongs to the {owner} plugin, which is not loaded right now."
                    ),
                    _ => format!("I don't know the command {p}{name}. Try {p}help."),
                };
                return vec![self.host_reply(&incoming, &text)];
            }
            Route::Command {
                plugin,
                command,
                parsed,
            } => (plugin, command, parsed),
            Route::Text(_) => unreachable!("text was routed to the triggers above"),
        };
        if !self.toggles.is_enabled(plugin.name(), &incoming.chat.key) {
            tracing::debug!(plugin = plugin.name(), "plugin disabled in this chat");
            return Vec::new();
        }
        let call = Call::Command(CommandCall {
            name: command.to_string(),
            args: parsed.args,
            raw_args: parsed.raw_args,
            message: incoming.message.clone(),
        });
        self.call(plugin, call, &incoming).await
    }

    async fn run_triggers(&self, incoming: &Incoming, triggered: Vec<&PluginHandle>) -> Vec<Reply> {
        let plugins: Vec<&PluginHandle> = triggered
            .into_iter()
            .filter(|p| self.toggles.is_enabled(p.name(), &incoming.chat.key))
            .filter(|p| !p.status().quarantined)
            .collect();
        if let [plugin] = plugins[..] {
            // One plugin (the common case): call it in this task.
            return self
                .call(plugin, Call::Message(incoming.message.clone()), incoming)
                .await;
        }
        // A plugin call runs in its caller's task; give each its own, so
        // the plugins run in parallel on the runtime's threads.
        let calls = plugins.iter().map(|&plugin| {
            let (handle, call) = (plugin.clone(), Call::Message(incoming.message.clone()));
            let account = incoming.chat.account.clone();
            let task = tokio::spawn(
                crate::account::scope(account, async move { handle.call(call).await })
                    .in_current_span(),
            );
            async move {
                let result = task.await.unwrap_or_else(|e| {
                    Err(CallError::Trap {
                        plugin: plugin.name().to_string(),
                        export: "on-message",
                        message: format!("the call's task failed: {e}"),
                    })
                });
                self.replies(plugin, result, incoming)
            }
        });
        join_all(calls).await.into_iter().flatten().collect()
    }

    /// Call a plugin and turn its actions (or failure) into replies.
    async fn call(&self, plugin: &PluginHandle, call: Call, incoming: &Incoming) -> Vec<Reply> {
        let result = plugin.call(call).await;
        self.replies(plugin, result, incoming)
    }

    /// Turn a plugin's actions (or failure) into replies.
    fn replies(
        &self,
        plugin: &PluginHandle,
        result: Result<Vec<Action>, CallError>,
        incoming: &Incoming,
    ) -> Vec<Reply> {
        let name = plugin.name().to_string();
        match result {
            Ok(actions) => actions
                .into_iter()
                .filter_map(|action| action_to_reply(plugin, action, &incoming.chat))
                .collect(),
            Err(e @ CallError::Quarantined { .. }) => {
                tracing::debug!(plugin = %name, "call refused: {e}");
                if self.quarantine_notice_due(&name, &incoming.chat.key) {
                    vec![self.host_reply(incoming, &failure_text(plugin, &e, self.prefix()))]
                } else {
                    Vec::new()
                }
            }
            Err(e) => {
                tracing::warn!(plugin = %name, "call failed: {e}");
                let status = plugin.status();
                if e.is_fault() && status.quarantined {
                    // This call's fault was the one that quarantined it.
                    let dropped = self.sink.drop_queued(&name, None);
                    if dropped > 0 {
                        tracing::warn!(plugin = %name, dropped, "quarantined: its queued messages were dropped");
                    }
                    self.sink.notify_admins(&format!(
                        "Plugin {name} was quarantined after {} failures in a row (last: {e}). \
                         Fix or replace it, then {p}reload {name}.",
                        status.consecutive_faults,
                        p = self.prefix()
                    ));
                }
                vec![self.host_reply(incoming, &failure_text(plugin, &e, self.prefix()))]
            }
        }
    }

    /// Whether the chat should hear (again) that `plugin` is quarantined.
    fn quarantine_notice_due(&self, plugin: &str, chat: &str) -> bool {
        let now = Instant::now();
        let mut told = self
            .quarantine_told
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        told.retain(|_, at| now.duration_since(*at) < QUARANTINE_NOTICE_EVERY);
        let key = (plugin.to_string(), chat.to_string());
        if told.contains_key(&key) {
            return false;
        }
        told.insert(key, now);
        true
    }

    fn host_reply(&self, incoming: &Incoming, text: &str) -> Reply {
        Reply {
            to: incoming.chat.clone(),
            segments: vec![Segment::Text(text.to_string())],
            origin: "host".into(),
            proactive: false,
        }
    }

    fn is_admin(&self, incoming: &Incoming) -> bool {
        incoming.sender_admin
            || incoming
                .sender_qq
                .is_some_and(|qq| self.admins.contains(&qq))
    }
}

/// The reply for one action of `plugin` answering in `chat`. A send to
/// another chat needs the `send` capability; without it the action is
/// dropped with a log line.
fn action_to_reply(plugin: &PluginHandle, action: Action, chat: &ChatAddress) -> Option<Reply> {
    let origin = plugin.name().to_string();
    match action {
        Action::Reply(segments) => Some(Reply {
            to: chat.clone(),
            segments,
            origin,
            proactive: false,
        }),
        Action::Send(out) => {
            if !send::permits_action(&origin, plugin.grants().capabilities(), || {
                plugin.may_warn()
            }) {
                return None;
            }
            Some(Reply {
                to: ChatAddress::on(chat.account.clone(), out.chat, None),
                segments: out.segments,
                origin,
                proactive: true,
            })
        }
    }
}

/// What the user is told when a plugin could not answer.
fn failure_text(plugin: &PluginHandle, err: &CallError, prefix: &str) -> String {
    let name = plugin.name();
    match err {
        CallError::Quarantined { .. } => format!(
            "The {name} plugin is quarantined after repeated failures; an admin can {prefix}reload {name}."
        ),
        CallError::Stopped { .. } => format!("The {name} plugin was just unloaded."),
        e => {
            let why = match e {
                CallError::Timeout { ms, .. } => format!("it took longer than {ms} ms"),
                CallError::OverLimit { what, .. } => format!("its answer was too big ({what})"),
                _ => "it crashed".to_string(),
            };
            let mut text = format!("Sorry, the {name} plugin could not answer: {why}.");
            let status = plugin.status();
            if status.quarantined {
                text.push_str(&format!(
                    " It is now quarantined after {} failures in a row; an admin can {prefix}reload {name}.",
                    status.consecutive_faults
                ));
            }
            text
        }
    }
}

/// The text segments of a message, joined.
pub fn plain_text(segments: &[Segment]) -> String {
    segments
        .iter()
        .filter_map(|s| match s {
            Segment::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}
