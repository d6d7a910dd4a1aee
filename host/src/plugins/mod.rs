//! The plugin registry: the drop-in folder, hot reload, the command and
//! trigger tables the dispatcher reads, and per-chat enable/disable.
//!
//! The folder is the source of truth: every `*.wasm` in it is loaded at
//! start; a file added or replaced is (re)loaded within a second, once per
//! change of its content, a removed one unloaded. A file that fails to load
//! is logged by name once per content and, when it replaced a working
//! version, that version keeps serving. A plugin is its file:
//! `counter.wasm` is plugin `counter`, and a file declaring another name is
//! refused; an optional pinned SHA-256 binds a name to one binary.

mod registry;
mod snapshot;
mod toggles;
mod watch;

pub use registry::{LoadOutcome, NoticeFn, Registry, SetupFn, name_matches_file};
pub use snapshot::{BUILTIN_COMMANDS, CommandTarget, Snapshot};
pub use toggles::{Scope, Toggles, TogglesError};
pub use watch::Watcher;
