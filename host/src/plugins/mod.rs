//! The plugin registry: the drop-in folder, hot reload, the command and
//! trigger tables the dispatcher reads, and per-chat enable/disable.
//!
//! The folder is the source of truth: every `*.wasm` in it is loaded at
//! start; a file added or replaced is (re)loaded within a second, a removed
//! one unloaded. A file that fails to load is logged by name and, when it
//! replaced a working version, that version keeps serving. Plugins are keyed
//! by the name they declare in `describe`; two files declaring the same name
//! are a conflict and the later one is refused.

mod registry;
mod snapshot;
mod toggles;
mod watch;

pub use registry::{Registry, SetupFn};
pub use snapshot::{BUILTIN_COMMANDS, CommandTarget, Snapshot};
pub use toggles::{Scope, Toggles, TogglesError};
pub use watch::Watcher;
