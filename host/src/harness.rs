//! A test harness for plugin authors: load a built plugin, send it commands
//! and messages the way the bot would, and look at the actions it answers
//! with, all without the network.
//!
//! The harness runs the plugin in the real runtime (the same wasmtime engine,
//! limits, grant checks and command parsing as `wasmqq run`), with key-value
//! storage in memory. A trap fails only that call and the next call gets a
//! fresh instance, exactly as in the bot.
//!
//! ```no_run
//! use wasmqq::harness::{PluginHarness, reply_text};
//! use wasmqq::abi::Capability;
//!
//! // In a plugin crate's `tests/`: build this crate for wasm32-wasip2 and load it.
//! let mut dice = PluginHarness::builder_for_crate(env!("CARGO_MANIFEST_DIR"))
//!     .grant(Capability::Kv)
//!     .load()
//!     .unwrap();
//! let actions = dice.command("!roll 2d6").unwrap();
//! assert!(reply_text(&actions).contains("= "));
//! ```
//!
//! [`PluginHarness`] is synchronous (it owns a small tokio runtime), for
//! plain `#[test]` functions. Inside async code use [`Session`], which has the
//! same methods as `async fn`s.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::abi::{
    Action, Capability, Chat, ChatKind, CommandCall, Message, PluginInfo, Segment, TimerEvent,
};
use crate::capabilities::{Grants, Services};
use crate::dispatch::router::{self, Route};
use crate::registry::{Builtin, Claim, Owners, Snapshot};
use crate::runtime::{
    Call, CallError, Limits, LoadError, PluginHandle, Runtime, RuntimeConfig, RuntimeError,
};

/// Why the harness could not build, load or call a plugin.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The harness's own tokio runtime could not be started.
    #[error("cannot start the harness's async runtime: {0}")]
    Tokio(std::io::Error),
    /// The wasmtime engine could not be set up.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The plugin file could not be loaded (the message names the file).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The call trapped, timed out or broke a limit.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The text is a command, but not one the plugin declares.
    #[error("plugin \"{plugin}\" has no command \"{name}\" (its commands: {known})")]
    UnknownCommand {
        /// The plugin's name.
        plugin: String,
        /// The command that was asked for.
        name: String,
        /// The plugin's commands, comma-separated, or `none`.
        known: String,
    },
    /// The text is one of the host's own commands (`!help`, `!reload`…),
    /// which the bot answers itself: it never reaches a plugin.
    #[error("{prefix}{builtin} is a built-in command of the bot; it never reaches a plugin")]
    Builtin {
        /// The prefix it was typed with.
        prefix: String,
        /// The command.
        builtin: Builtin,
    },
    /// [`Session::command`] got text that does not start with a prefix.
    #[error("{text:?} is not a command: start it with one of {prefixes}")]
    NotACommand {
        /// The text given.
        text: String,
        /// The command prefixes in use.
        prefixes: String,
    },
    /// Building the plugin crate failed.
    #[error("cannot build the plugin in {dir}: {message}")]
    Build {
        /// The crate's folder.
        dir: PathBuf,
        /// What went wrong (cargo's errors are printed on stderr).
        message: String,
    },
}

/// How to load a plugin into a harness: its grants, configuration, limits
/// and an optional compiled-component cache.
#[derive(Debug, Clone)]
pub struct HarnessBuilder {
    source: Source,
    grants: Grants,
    config: String,
    limits: Limits,
    cache_dir: Option<PathBuf>,
    prefixes: Vec<String>,
}

#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Crate(PathBuf),
}

impl HarnessBuilder {
    fn new(source: Source) -> HarnessBuilder {
        HarnessBuilder {
            source,
            grants: Grants::NONE,
            config: "{}".into(),
            limits: Limits::default(),
            cache_dir: None,
            prefixes: crate::dispatch::default_prefixes(),
        }
    }

    /// Grant a capability (`kv` is backed by memory; the other backends are
    /// absent, so granted calls to them answer `unavailable`).
    pub fn grant(mut self, capability: Capability) -> Self {
        self.grants = self.grants.with(capability);
        self
    }

    /// Grant these capabilities and settings (replaces earlier grants).
    pub fn grants(mut self, grants: Grants) -> Self {
        self.grants = grants;
        self
    }

    /// The JSON object passed to `init` (default `{}`).
    pub fn config(mut self, json: impl Into<String>) -> Self {
        self.config = json.into();
        self
    }

    /// Resource limits (default: [`Limits::default`], as in the bot).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Keep compiled components in `dir`, so a large plugin (Python) compiles
    /// once and loads in milliseconds afterwards.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Command prefixes (default `!` and `/`, as in the default config).
    pub fn prefixes<S: Into<String>>(mut self, prefixes: impl IntoIterator<Item = S>) -> Self {
        self.prefixes = prefixes.into_iter().map(Into::into).collect();
        self
    }

    /// Build (if a crate) and load the plugin into a synchronous harness.
    /// Must not be called from inside a tokio runtime: use
    /// [`HarnessBuilder::start`] there.
    pub fn load(self) -> Result<PluginHarness, HarnessError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(HarnessError::Tokio)?;
        let session = rt.block_on(self.start())?;
        Ok(PluginHarness { session, rt })
    }

    /// Build (if a crate) and load the plugin into an async [`Session`].
    pub async fn start(self) -> Result<Session, HarnessError> {
        let path = match &self.source {
            Source::File(path) => path.clone(),
            Source::Crate(dir) => {
                let dir = dir.clone();
                let named = dir.clone();
                tokio::task::spawn_blocking(move || build_rust_plugin(&dir))
                    .await
                    .map_err(|e| HarnessError::Build {
                        dir: named,
                        message: e.to_string(),
                    })??
            }
        };
        let runtime = Runtime::new(RuntimeConfig {
            limits: self.limits,
            cache_dir: self.cache_dir,
            services: Services::with_memory_kv(),
        })?;
        let handle = runtime.start(&path, self.grants, &self.config).await?;
        // The plugin alone, with the bot's ownership rules (built-in names
        // are the host's), routed by the bot's own router.
        let assignment = Owners::in_memory().assign(&[Claim::of(handle.info())]);
        let snapshot = Snapshot::build(vec![handle.clone()], assignment);
        Ok(Session {
            _runtime: runtime,
            handle,
            snapshot,
            prefixes: self.prefixes,
            chat: Chat {
                kind: ChatKind::Friend,
                id: 10001,
            },
            sender: 10001,
            sender_name: "tester".into(),
            next_id: 1,
        })
    }
}

/// A plugin loaded for testing, driven with `async` calls. Messages come
/// from user 10001 ("tester") in a friend chat unless changed with
/// [`Session::in_group`] and [`Session::from_user`].
pub struct Session {
    _runtime: Arc<Runtime>,
    handle: PluginHandle,
    snapshot: Snapshot,
    prefixes: Vec<String>,
    chat: Chat,
    sender: u64,
    sender_name: String,
    next_id: u64,
}

impl Session {
    /// The plugin's metadata, as returned by `describe`.
    pub fn info(&self) -> &PluginInfo {
        self.handle.info()
    }

    /// The running plugin (status counters, grants).
    pub fn handle(&self) -> &PluginHandle {
        &self.handle
    }

    /// Speak in the group `id` from now on.
    pub fn in_group(&mut self, id: u64) -> &mut Self {
        self.chat = Chat {
            kind: ChatKind::Group,
            id,
        };
        self
    }

    /// Speak in a friend chat with the current user from now on (the default).
    pub fn in_friend_chat(&mut self) -> &mut Self {
        self.chat = Chat {
            kind: ChatKind::Friend,
            id: self.sender,
        };
        self
    }

    /// Speak as user `id` named `name` from now on.
    pub fn from_user(&mut self, id: u64, name: &str) -> &mut Self {
        if self.chat.kind == ChatKind::Friend {
            self.chat.id = id;
        }
        self.sender = id;
        self.sender_name = name.into();
        self
    }

    /// The message the current user would send with `text`.
    pub fn make_message(&mut self, text: &str) -> Message {
        let id = self.next_id;
        self.next_id += 1;
        Message {
            id,
            chat: self.chat,
            sender: self.sender,
            sender_name: self.sender_name.clone(),
            segments: vec![Segment::Text(text.into())],
            time: crate::clock::unix_ms() / 1000,
        }
    }

    /// Send a command (`"!roll 2d6"`) as the bot would: parsed by the host,
    /// aliases resolved, then `on-command`. Fails if `text` is not a command
    /// or not one of the plugin's.
    pub async fn command(&mut self, text: &str) -> Result<Vec<Action>, HarnessError> {
        match self.route(text)? {
            Some(call @ Call::Command(_)) => self.call(call).await,
            _ => Err(HarnessError::NotACommand {
                text: text.into(),
                prefixes: self.prefixes.join(" "),
            }),
        }
    }

    /// Send a chat message as the bot would route it: a command of the
    /// plugin goes to `on-command`, text matching one of its triggers to
    /// `on-message`; anything else does not reach the plugin and gives no
    /// actions. A command the plugin does not declare is an error.
    pub async fn message(&mut self, text: &str) -> Result<Vec<Action>, HarnessError> {
        match self.route(text)? {
            Some(call) => self.call(call).await,
            None => Ok(Vec::new()),
        }
    }

    /// Fire a timer with `payload` in the current chat (`on-timer`), as if
    /// the plugin had scheduled it.
    pub async fn timer(&mut self, id: u64, payload: &str) -> Result<Vec<Action>, HarnessError> {
        let call = Call::Timer(TimerEvent {
            id,
            payload: payload.into(),
            chat: Some(self.chat),
            due: crate::clock::unix_ms(),
        });
        self.call(call).await
    }

    /// Deliver any event as built by the caller.
    pub async fn call(&mut self, call: Call) -> Result<Vec<Action>, HarnessError> {
        Ok(self.handle.call(call).await?)
    }

    /// Whether the bot would call the plugin at all for `text` (a command
    /// it serves, or text matching one of its triggers).
    pub fn reaches_plugin(&self, text: &str) -> bool {
        match router::route(&self.snapshot, text, &self.prefixes) {
            Route::Command { .. } => true,
            Route::Text(plugins) => !plugins.is_empty(),
            Route::Builtin(..) | Route::Unknown(_) => false,
        }
    }

    /// What the bot would call for `text`, if anything.
    fn route(&mut self, text: &str) -> Result<Option<Call>, HarnessError> {
        let message = self.make_message(text);
        let info = self.handle.info();
        match router::route(&self.snapshot, text, &self.prefixes) {
            Route::Command {
                command, parsed, ..
            } => Ok(Some(Call::Command(CommandCall {
                name: command.to_string(),
                args: parsed.args,
                raw_args: parsed.raw_args,
                message,
            }))),
            Route::Text(plugins) => Ok((!plugins.is_empty()).then_some(Call::Message(message))),
            Route::Builtin(builtin, _) => Err(HarnessError::Builtin {
                prefix: self.prefixes.first().cloned().unwrap_or_default(),
                builtin,
            }),
            Route::Unknown(parsed) => {
                let known: Vec<&str> = info.commands.iter().map(|c| c.name.as_str()).collect();
                Err(HarnessError::UnknownCommand {
                    plugin: info.name.clone(),
                    name: parsed.name,
                    known: if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    },
                })
            }
        }
    }
}

/// A plugin loaded for testing, driven with blocking calls from plain
/// `#[test]` functions. See the [module docs](self) for an example.
pub struct PluginHarness {
    // Dropped before `rt`: the plugin's task lives on it.
    session: Session,
    rt: tokio::runtime::Runtime,
}

impl PluginHarness {
    /// Load a built plugin file with no grants and `{}` configuration.
    pub fn load(path: impl Into<PathBuf>) -> Result<PluginHarness, HarnessError> {
        Self::builder(path).load()
    }

    /// Configure the loading of a built plugin file.
    pub fn builder(path: impl Into<PathBuf>) -> HarnessBuilder {
        HarnessBuilder::new(Source::File(path.into()))
    }

    /// Configure the loading of a Rust plugin crate: it is built with
    /// [`build_rust_plugin`] first. Pass `env!("CARGO_MANIFEST_DIR")` from
    /// the plugin's own tests.
    pub fn builder_for_crate(dir: impl Into<PathBuf>) -> HarnessBuilder {
        HarnessBuilder::new(Source::Crate(dir.into()))
    }

    /// Build a Rust plugin crate and load it with no grants.
    pub fn build(dir: impl Into<PathBuf>) -> Result<PluginHarness, HarnessError> {
        Self::builder_for_crate(dir).load()
    }

    /// The plugin's metadata, as returned by `describe`.
    pub fn info(&self) -> &PluginInfo {
        self.session.info()
    }

    /// The underlying async session (chat, user, status).
    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Speak in the group `id` from now on.
    pub fn in_group(&mut self, id: u64) -> &mut Self {
        self.session.in_group(id);
        self
    }

    /// Speak as user `id` named `name` from now on.
    pub fn from_user(&mut self, id: u64, name: &str) -> &mut Self {
        self.session.from_user(id, name);
        self
    }

    /// See [`Session::command`].
    pub fn command(&mut self, text: &str) -> Result<Vec<Action>, HarnessError> {
        self.rt.block_on(self.session.command(text))
    }

    /// See [`Session::message`].
    pub fn message(&mut self, text: &str) -> Result<Vec<Action>, HarnessError> {
        self.rt.block_on(self.session.message(text))
    }

    /// See [`Session::timer`].
    pub fn timer(&mut self, id: u64, payload: &str) -> Result<Vec<Action>, HarnessError> {
        self.rt.block_on(self.session.timer(id, payload))
    }

    /// See [`Session::call`].
    pub fn call(&mut self, call: Call) -> Result<Vec<Action>, HarnessError> {
        self.rt.block_on(self.session.call(call))
    }
}

/// Build a Rust plugin crate with `cargo build --release --target
/// wasm32-wasip2` (cargo's output goes to stderr) and return the path of the
/// component it produced, wherever the target directory is.
pub fn build_rust_plugin(dir: &Path) -> Result<PathBuf, HarnessError> {
    let fail = |message: String| HarnessError::Build {
        dir: dir.into(),
        message,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| fail(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        return Err(fail(format!(
            "cargo build failed ({}); is the target installed? rustup target add wasm32-wasip2",
            output.status
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let manifest = dir
        .join("Cargo.toml")
        .canonicalize()
        .unwrap_or_else(|_| dir.join("Cargo.toml"));
    wasm_artifact(&stdout, &manifest)
        .ok_or_else(|| fail("cargo built no cdylib .wasm (is crate-type = [\"cdylib\"]?)".into()))
}

/// The `.wasm` cdylib of the package at `manifest` in cargo's JSON messages.
fn wasm_artifact(messages: &str, manifest: &Path) -> Option<PathBuf> {
    let mut found = None;
    for line in messages.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let is_cdylib = msg["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "cdylib"));
        let ours = msg["manifest_path"]
            .as_str()
            .is_none_or(|m| Path::new(m) == manifest);
        if !is_cdylib || !ours {
            continue;
        }
        let wasm = msg["filenames"].as_array().and_then(|files| {
            files
                .iter()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(".wasm"))
        });
        if let Some(wasm) = wasm {
            found = Some(PathBuf::from(wasm));
        }
    }
    found
}

/// One action as one line: `reply: text` or `send to group 42: text`.
pub fn render(action: &Action) -> String {
    match action {
        Action::Reply(segments) => format!("reply: {}", segment_text(segments)),
        Action::Send(out) => format!(
            "send to {} {}: {}",
            match out.chat.kind {
                ChatKind::Friend => "friend",
                ChatKind::Group => "group",
                ChatKind::Discussion => "discussion",
                ChatKind::Session => "session",
            },
            out.chat.id,
            segment_text(&out.segments)
        ),
    }
}

/// The text of all replies, one line each (sends are left out).
pub fn reply_text(actions: &[Action]) -> String {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Reply(segments) => Some(segment_text(segments)),
            Action::Send(_) => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Segments as one line of text: faces as `[face:N]`, mentions as `@N`.
pub fn segment_text(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Segment::Text(t) => t.clone(),
            Segment::Face(id) => format!("[face:{id}]"),
            Segment::Mention(id) => format!("@{id}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cdylib_of_the_package() {
        let messages = r#"{"reason":"compiler-artifact","manifest_path":"/sdk/Cargo.toml","target":{"kind":["lib"]},"filenames":["/t/libsdk.rlib"]}
not json
{"reason":"compiler-artifact","manifest_path":"/p/Cargo.toml","target":{"kind":["cdylib"]},"filenames":["/t/wasm32-wasip2/release/hello.wasm"]}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            wasm_artifact(messages, Path::new("/p/Cargo.toml")),
            Some(PathBuf::from("/t/wasm32-wasip2/release/hello.wasm"))
        );
        assert_eq!(wasm_artifact(messages, Path::new("/q/Cargo.toml")), None);
    }

    #[test]
    fn renders_actions() {
        let actions = vec![
            Action::Reply(vec![
                Segment::Text("hi ".into()),
                Segment::Face(14),
                Segment::Mention(7),
            ]),
            Action::Send(crate::abi::Outgoing {
                chat: Chat {
                    kind: ChatKind::Group,
                    id: 42,
                },
                segments: vec![Segment::Text("yo".into())],
            }),
        ];
        assert_eq!(render(&actions[0]), "reply: hi [face:14]@7");
        assert_eq!(render(&actions[1]), "send to group 42: yo");
        assert_eq!(reply_text(&actions), "hi [face:14]@7");
    }
}
