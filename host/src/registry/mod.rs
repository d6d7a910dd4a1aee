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
//!
//! Command names belong to the first plugin that claimed them, recorded in
//! `<data_dir>/commands.json` ([`Owners`]); a newcomer declaring a taken
//! name is refused that name, and `[bot.commands]` pins owners explicitly.

mod builtin;
mod loading;
mod owners;
mod snapshot;
mod toggles;
mod watch;

pub use builtin::Builtin;
pub use loading::{LoadOutcome, NoticeFn, Registry, ReloadError, SetupFn, name_matches_file};
pub use owners::{
    Assignment, Claim, FILE_NAME as OWNERS_FILE, Owner, Owners, OwnersError, Refusal,
    summary as refusal_summary,
};
pub use snapshot::{CommandTarget, Snapshot};
pub use toggles::{Scope, Toggles, TogglesError};
pub use watch::Watcher;
