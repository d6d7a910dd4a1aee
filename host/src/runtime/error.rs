//! Errors of loading plugins and calling into them.

use std::path::PathBuf;

/// Why a plugin file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The plugin file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not WebAssembly at all.
    #[error("{path}: not a WebAssembly file (no \\0asm header)")]
    NotWasm {
        /// The plugin file.
        path: PathBuf,
    },
    /// A core module rather than a component.
    #[error(
        "{path}: a core WebAssembly module, not a component; build it for the wasm32-wasip2 target (cargo build --target wasm32-wasip2)"
    )]
    NotComponent {
        /// The plugin file.
        path: PathBuf,
    },
    /// Compilation failed.
    #[error("{path}: invalid component: {message}")]
    Compile {
        /// The plugin file.
        path: PathBuf,
        /// What the compiler said.
        message: String,
    },
    /// The component exports a `wasmqq:plugin/guest` of a version this host
    /// does not support.
    #[error(
        "{path}: built for wasmqq:plugin@{found}, but this host supports wasmqq:plugin@{supported}"
    )]
    UnsupportedAbi {
        /// The plugin file.
        path: PathBuf,
        /// The version the plugin was built against.
        found: String,
        /// The versions this host supports.
        supported: String,
    },
    /// The component is not a wasmqq plugin, or lacks part of the ABI.
    #[error("{path}: not a wasmqq plugin: {message}")]
    MissingExport {
        /// The plugin file.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
    /// The component imports something the host does not provide.
    #[error("{path}: cannot be linked: {message}")]
    Link {
        /// The plugin file.
        path: PathBuf,
        /// What the linker said.
        message: String,
    },
    /// Instantiation, `describe` or `init` failed.
    #[error("{path}: {stage} failed: {message}")]
    Start {
        /// The plugin file.
        path: PathBuf,
        /// `instantiate`, `describe` or `init`.
        stage: &'static str,
        /// The trap or the plugin's error text.
        message: String,
    },
    /// The host's policy refused the plugin after `describe` (its name does
    /// not match its file, another file holds the name, a pinned hash
    /// differs, or the configuration disables it).
    #[error("{path}: refused: {message}")]
    Refused {
        /// The plugin file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The configuration switches the plugin off (`[plugins.<name>]
    /// enabled = false`): it is not started.
    #[error("{path}: plugin \"{plugin}\" is disabled in the configuration (enabled = false)")]
    Disabled {
        /// The plugin file.
        path: PathBuf,
        /// The plugin's name.
        plugin: String,
    },
    /// This content of the file was refused before (see the error logged
    /// then); it is not compiled again until the file changes.
    #[error("{path}: this content was refused before; it is loaded again once the file changes")]
    AlreadyRefused {
        /// The plugin file.
        path: PathBuf,
    },
    /// `describe` returned invalid metadata.
    #[error("{path}: invalid metadata: {error}")]
    Metadata {
        /// The plugin file.
        path: PathBuf,
        /// What is wrong.
        error: super::info::InfoError,
    },
}

/// Why one call into a plugin failed. Only the call fails: the host and the
/// other plugins carry on.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CallError {
    /// The call ran past its deadline and was interrupted.
    #[error("plugin \"{plugin}\": call {export} timed out after {ms} ms")]
    Timeout {
        /// The plugin.
        plugin: String,
        /// The export called.
        export: &'static str,
        /// The deadline.
        ms: u64,
    },
    /// The plugin trapped (panic, out of memory, unreachable, ...).
    #[error("plugin \"{plugin}\": call {export} trapped: {message}")]
    Trap {
        /// The plugin.
        plugin: String,
        /// The export called.
        export: &'static str,
        /// The trap, first line.
        message: String,
    },
    /// The plugin returned more than the limits allow.
    #[error("plugin \"{plugin}\": {export} returned {what}, over the limit of {limit}")]
    OverLimit {
        /// The plugin.
        plugin: String,
        /// The export called.
        export: &'static str,
        /// What was too big, e.g. "1048576 bytes of text".
        what: String,
        /// The limit.
        limit: usize,
    },
    /// The plugin is quarantined after repeated faults.
    #[error("plugin \"{plugin}\" is quarantined after {faults} consecutive faults")]
    Quarantined {
        /// The plugin.
        plugin: String,
        /// The faults counted.
        faults: u32,
    },
    /// The plugin's task has stopped (unloaded or shutting down).
    #[error("plugin \"{plugin}\" is not running")]
    Stopped {
        /// The plugin.
        plugin: String,
    },
}

impl CallError {
    /// Whether this error counts as a fault of the plugin (towards quarantine).
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            CallError::Timeout { .. } | CallError::Trap { .. } | CallError::OverLimit { .. }
        )
    }
}
