//! What every capability call knows of its caller, and the view each
//! capability's host side is implemented on.
//!
//! A plugin's store holds one [`Caller`] (who is calling, what it was
//! granted, its log budget, the event being handled, the call's deadline)
//! and one slice per capability (its backend and per-plugin settings). A
//! capability implements its WIT interface on [`Ctx`]`<its slice>`: it sees
//! the caller and its own slice, nothing of the other capabilities.

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::HasData;

use super::log_budget::PluginLog;
use crate::abi::{Capability, CapabilitySet, Chat, HostError};

/// The calling plugin, as every capability sees it.
pub struct Caller {
    /// The plugin's name.
    pub(crate) plugin: Arc<str>,
    /// What it was granted.
    pub(crate) granted: CapabilitySet,
    /// Its log budget, shared with its stdout/stderr.
    pub(crate) log: Arc<PluginLog>,
    /// The chat of the event being handled, if any.
    pub(crate) chat: Option<Chat>,
    /// When the current call must end.
    pub(crate) deadline: Instant,
}

impl Caller {
    pub(crate) fn new(plugin: Arc<str>, granted: CapabilitySet, log: Arc<PluginLog>) -> Caller {
        Caller {
            plugin,
            granted,
            log,
            chat: None,
            deadline: Instant::now(),
        }
    }

    /// Whether a warning about this plugin's host call may be logged now.
    /// Every warning a plugin can cause at will by calling the host goes
    /// through this: it is counted against the plugin's log budget for host
    /// warnings, so a refused call in a loop logs a bounded number of lines.
    pub(crate) fn may_warn(&self) -> bool {
        self.log.host_warning()
    }

    /// The grant check, the only one of each capability: `not-granted`
    /// (and a warning within the log budget) unless `capability` was
    /// granted.
    pub(crate) fn require(&self, capability: Capability) -> Result<(), HostError> {
        if self.granted.contains(capability) {
            Ok(())
        } else {
            if self.may_warn() {
                tracing::warn!(
                    plugin = %self.plugin,
                    %capability,
                    "plugin used capability \"{capability}\" which it was not granted; refused"
                );
            }
            Err(HostError::NotGranted(capability))
        }
    }
}

/// A capability's view of a call: the caller (read-only, through `Deref`)
/// and the capability's own slice of the plugin's state.
pub struct Ctx<'a, S> {
    /// Who is calling.
    pub(crate) caller: &'a Caller,
    /// The capability's slice.
    pub(crate) own: &'a mut S,
}

impl<S> Deref for Ctx<'_, S> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        self.caller
    }
}

/// The `HasData` marker linking an interface to [`Ctx`]`<S>`.
pub(crate) struct Uses<S>(PhantomData<fn() -> S>);

impl<S: 'static> HasData for Uses<S> {
    type Data<'a> = Ctx<'a, S>;
}

/// The `HasData` marker of the interfaces that need only the caller
/// (`log`, `clock`).
pub(crate) struct CallerOnly;

impl HasData for CallerOnly {
    type Data<'a> = &'a Caller;
}

/// Short text for the `unavailable` error of a capability without a backend.
pub(crate) fn not_available(what: &str) -> HostError {
    HostError::Unavailable(format!("{what} is not available in this host"))
}

/// Run a backend call that may block (disk) on tokio's blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HostError> + Send + 'static,
) -> Result<T, HostError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        tracing::error!("host call task failed: {e}");
        Err(HostError::Unavailable(
            "the host failed to run the call".into(),
        ))
    })
}
