//! A running plugin: its one instance behind an async lock, called in the
//! caller's own task, one call at a time; rebuilt after a fault and
//! quarantined after too many consecutive faults.
//!
//! # Why a lock and not an actor task
//!
//! Each plugin used to be an actor: a task of its own owning the instance,
//! fed through a bounded channel and answering on a oneshot. On a
//! multi-threaded runtime that costs two cross-thread wake-ups per call
//! (the actor's and the caller's), which measured 6× the wasm call itself
//! (docs/benchmarks.md). Now the instance sits in a [`tokio::sync::Mutex`]
//! and [`PluginHandle::call`] runs the call in the caller's task once it
//! holds the lock:
//!
//! * **One call at a time, in order.** The lock is fair (FIFO), so calls
//!   into one plugin still run one after the other in the order they were
//!   made; calls into different plugins from different tasks run in
//!   parallel, as before.
//! * **The deadline** is unchanged: epoch interruption in
//!   [`Instance::call`] plus a tokio timeout [`GRACE`] past it for a call
//!   stuck in a host function.
//! * **Faults** are counted and the instance is dropped as before; the
//!   rebuild runs on a task of its own that holds the lock, so the failed
//!   call's caller gets its error at once and the next call waits for the
//!   fresh instance.
//! * **A call abandoned by its caller** (the caller's future dropped while
//!   the plugin runs) leaves the instance in an unknown state: the next call
//!   throws it away and rebuilds it first. This is not counted as a fault.
//!   (The actor finished such calls; nothing in the host drops a call
//!   midway except at shutdown.)
//! * **The log budget's summaries**, which the actor wrote while idle, are
//!   written by a timer task that exists only while a summary is pending
//!   ([`PluginLog::watch`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::Instrument;

use super::Runtime;
use super::error::CallError;
use super::instance::{Call, Instance, PluginSetup};
use super::load::Compiled;
use crate::abi::{Action, PluginInfo};
use crate::capabilities::log_budget::PluginLog;

/// Extra time past the deadline before a call stuck outside wasm (in a host
/// call) is abandoned.
const GRACE: Duration = Duration::from_millis(500);

/// Counters and state of a running plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginStatus {
    /// Calls answered successfully.
    pub calls: u64,
    /// Faults since the plugin was loaded.
    pub faults: u64,
    /// Faults in a row since the last success.
    pub consecutive_faults: u32,
    /// Whether the plugin is quarantined (no more calls until reloaded).
    pub quarantined: bool,
    /// The last fault, if any.
    pub last_fault: Option<String>,
}

struct Shared {
    runtime: Arc<Runtime>,
    info: PluginInfo,
    triggers: Option<regex::RegexSet>,
    compiled: Compiled,
    setup: PluginSetup,
    status: Mutex<PluginStatus>,
    /// The plugin's log budget, kept across instance rebuilds.
    log: Arc<PluginLog>,
    /// The instance; whoever holds the lock may call it.
    slot: Arc<tokio::sync::Mutex<Slot>>,
    /// The span rebuilds of this plugin run in (a call runs in its own
    /// `call` span under the caller's).
    span: tracing::Span,
}

/// The instance and whether it is fit for a call.
struct Slot {
    /// `None` after a fault until it is rebuilt.
    instance: Option<Instance>,
    /// Set while a call runs; still set when the lock is taken again, the
    /// last call was abandoned midway.
    in_call: bool,
}

/// A handle to a running plugin; cheap to clone. The plugin's instance is
/// dropped with the last handle.
#[derive(Clone)]
pub struct PluginHandle {
    shared: Arc<Shared>,
}

impl PluginHandle {
    pub(crate) fn spawn(
        runtime: Arc<Runtime>,
        compiled: Compiled,
        setup: PluginSetup,
        mut instance: Instance,
        info: PluginInfo,
    ) -> PluginHandle {
        // Compiled once, while the metadata was validated at start.
        let triggers = instance.take_triggers();
        let span = tracing::info_span!("plugin", plugin = %info.name);
        let log = instance.log();
        // `init` may have gone over the budget already.
        log.watch();
        let shared = Arc::new(Shared {
            runtime,
            triggers,
            info,
            compiled,
            setup,
            status: Mutex::new(PluginStatus::default()),
            log,
            slot: Arc::new(tokio::sync::Mutex::new(Slot {
                instance: Some(instance),
                in_call: false,
            })),
            span,
        });
        PluginHandle { shared }
    }

    /// Whether a warning the plugin caused at will (outside a host call:
    /// an action it returned that the host refuses) may be logged: counted
    /// against its log budget for host warnings, like the warnings of its
    /// refused host calls.
    pub(crate) fn may_warn(&self) -> bool {
        self.shared.log.host_warning()
    }

    /// The plugin's metadata from `describe`.
    pub fn info(&self) -> &PluginInfo {
        &self.shared.info
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.shared.info.name
    }

    /// The plugin's triggers, compiled once at load; `None` without any.
    pub fn triggers(&self) -> Option<&regex::RegexSet> {
        self.shared.triggers.as_ref()
    }

    /// The compiled component (path, hash, ABI version).
    pub fn compiled(&self) -> &Compiled {
        &self.shared.compiled
    }

    /// What the plugin was granted.
    pub fn grants(&self) -> &crate::capabilities::Grants {
        &self.shared.setup.grants
    }

    /// A snapshot of the plugin's counters.
    pub fn status(&self) -> PluginStatus {
        self.shared.status().clone()
    }

    /// Deliver an event and wait for the plugin's actions. Calls are handled
    /// one at a time, in the order they were made; the call runs in the
    /// caller's task. Dropping the returned future mid-call abandons the
    /// call and the plugin's in-memory state (the instance is rebuilt before
    /// the next call).
    pub async fn call(&self, call: Call) -> Result<Vec<Action>, CallError> {
        let shared = &self.shared;
        // A child of the caller's span (the message's or the timer's), so
        // one message can be followed into its plugin.
        let span = tracing::info_span!("call", plugin = %shared.info.name, export = %call.export());
        let mut slot = shared.slot.clone().lock_owned().await;
        let result = shared.call(&mut slot, call).instrument(span).await;
        if slot.instance.is_none() && !shared.status().quarantined {
            // Rebuild holding the lock, without making this caller wait.
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    let this = shared.clone();
                    let span = shared.span.clone();
                    rt.spawn(async move { this.rebuild(&mut slot).await }.instrument(span));
                }
                Err(_) => {
                    shared
                        .rebuild(&mut slot)
                        .instrument(shared.span.clone())
                        .await
                }
            }
        }
        shared.log.watch();
        result
    }
}

impl Shared {
    fn status(&self) -> std::sync::MutexGuard<'_, PluginStatus> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn call(&self, slot: &mut Slot, call: Call) -> Result<Vec<Action>, CallError> {
        let name = &self.info.name;
        {
            let status = self.status();
            if status.quarantined {
                return Err(CallError::Quarantined {
                    plugin: name.clone(),
                    faults: status.consecutive_faults,
                });
            }
        }
        if slot.in_call {
            // `in_call` stays set until the rebuild is done, so a rebuild
            // abandoned in turn is tried again by the next call.
            tracing::info!("the last call was abandoned midway; rebuilding the instance");
            slot.instance = None;
            self.rebuild(slot).await;
            slot.in_call = false;
        }
        let export = call.export();
        let limits = self.runtime.limits();
        let result = match slot.instance.as_mut() {
            Some(instance) => {
                slot.in_call = true;
                let limit = limits.call_timeout() + GRACE;
                let result = match tokio::time::timeout(limit, instance.call(&call)).await {
                    Ok(result) => result,
                    Err(_) => Err(CallError::Timeout {
                        plugin: name.clone(),
                        export,
                        ms: limits.call_timeout_ms,
                    }),
                };
                slot.in_call = false;
                result
            }
            None => Err(CallError::Trap {
                plugin: name.clone(),
                export,
                message: "the instance could not be rebuilt after an earlier fault".into(),
            }),
        };
        match &result {
            Ok(_) => {
                let mut status = self.status();
                status.calls += 1;
                status.consecutive_faults = 0;
            }
            Err(e) if e.is_fault() => {
                slot.instance = None;
                let max = limits.max_faults;
                let mut status = self.status();
                status.faults += 1;
                status.consecutive_faults += 1;
                status.last_fault = Some(e.to_string());
                tracing::warn!(export, "{e}; rebuilding the instance");
                if status.consecutive_faults >= max {
                    status.quarantined = true;
                    tracing::error!(
                        faults = status.consecutive_faults,
                        "plugin \"{name}\" quarantined after {} consecutive faults (last: {e}); \
                         it gets no more calls until it is reloaded",
                        status.consecutive_faults
                    );
                }
            }
            Err(_) => {}
        }
        result
    }

    async fn rebuild(&self, slot: &mut Slot) {
        let log = self.log.clone();
        match Instance::restart(&self.runtime, &self.compiled, &self.setup, log).await {
            Ok(instance) => slot.instance = Some(instance),
            Err(e) => tracing::error!("cannot rebuild the plugin instance: {e}"),
        }
        self.log.watch();
    }
}
