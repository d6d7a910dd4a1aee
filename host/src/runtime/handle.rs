//! One task per plugin: owns the instance, takes one call at a time from a
//! bounded inbox, rebuilds the instance after a fault and quarantines the
//! plugin after too many consecutive faults.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::Runtime;
use super::abi::{Action, PluginInfo};
use super::error::CallError;
use super::host::log_budget::PluginLog;
use super::instance::{Call, Instance, PluginSetup};
use super::load::Compiled;

/// Calls that may wait in a plugin's inbox before senders are held back.
const INBOX: usize = 64;

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
    info: PluginInfo,
    triggers: Option<regex::RegexSet>,
    compiled: Compiled,
    setup: PluginSetup,
    status: Mutex<PluginStatus>,
}

struct Request {
    call: Call,
    reply: oneshot::Sender<Result<Vec<Action>, CallError>>,
}

/// A handle to a running plugin; cheap to clone. The plugin stops when the
/// last handle is dropped.
#[derive(Clone)]
pub struct PluginHandle {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Request>,
}

impl PluginHandle {
    pub(crate) fn spawn(
        runtime: Arc<Runtime>,
        compiled: Compiled,
        setup: PluginSetup,
        instance: Instance,
        info: PluginInfo,
    ) -> PluginHandle {
        let (tx, rx) = mpsc::channel(INBOX);
        // Validated at load; a set that does not compile matches nothing.
        let triggers = super::info::compile_triggers(&info.triggers).unwrap_or_else(|e| {
            tracing::error!(plugin = %info.name, "triggers off: {e}");
            None
        });
        let shared = Arc::new(Shared {
            triggers,
            info,
            compiled,
            setup: setup.clone(),
            status: Mutex::new(PluginStatus::default()),
        });
        let actor = Actor {
            runtime,
            shared: shared.clone(),
            setup,
            log: instance.log(),
            instance: Some(instance),
        };
        let span = tracing::info_span!("plugin", plugin = %shared.info.name);
        tokio::spawn(actor.run(rx).instrument(span));
        PluginHandle { shared, tx }
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
    pub fn grants(&self) -> &crate::runtime::Grants {
        &self.shared.setup.grants
    }

    /// A snapshot of the plugin's counters.
    pub fn status(&self) -> PluginStatus {
        self.shared
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Deliver an event and wait for the plugin's actions. Calls are handled
    /// one at a time, in the order they were made.
    pub async fn call(&self, call: Call) -> Result<Vec<Action>, CallError> {
        let stopped = || CallError::Stopped {
            plugin: self.name().to_string(),
        };
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request { call, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The next request; meanwhile, write the log budget's summary of dropped
/// lines when it falls due.
async fn next(log: &PluginLog, rx: &mut mpsc::Receiver<Request>) -> Option<Request> {
    loop {
        let Some(due) = log.next_summary() else {
            return rx.recv().await;
        };
        tokio::select! {
            request = rx.recv() => return request,
            _ = tokio::time::sleep_until(due.into()) => log.flush(false),
        }
    }
}

struct Actor {
    runtime: Arc<Runtime>,
    shared: Arc<Shared>,
    setup: PluginSetup,
    /// The plugin's log budget, kept across instance rebuilds.
    log: Arc<PluginLog>,
    instance: Option<Instance>,
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        while let Some(Request { call, reply }) = next(&self.log, &mut rx).await {
            let result = self.handle(call).await;
            let _ = reply.send(result);
            if self.instance.is_none() && !self.status().quarantined {
                self.rebuild().await;
            }
        }
        tracing::debug!("plugin stopped");
    }

    fn status(&self) -> std::sync::MutexGuard<'_, PluginStatus> {
        self.shared.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn handle(&mut self, call: Call) -> Result<Vec<Action>, CallError> {
        let name = self.shared.info.name.clone();
        {
            let status = self.status();
            if status.quarantined {
                return Err(CallError::Quarantined {
                    plugin: name,
                    faults: status.consecutive_faults,
                });
            }
        }
        let export = call.export();
        let limit = self.runtime.limits().call_timeout() + GRACE;
        let result = match self.instance.as_mut() {
            Some(instance) => match tokio::time::timeout(limit, instance.call(&call)).await {
                Ok(result) => result,
                Err(_) => Err(CallError::Timeout {
                    plugin: name.clone(),
                    export,
                    ms: self.runtime.limits().call_timeout_ms,
                }),
            },
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
                self.instance = None;
                let max = self.runtime.limits().max_faults;
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

    async fn rebuild(&mut self) {
        let log = self.log.clone();
        match Instance::restart(&self.runtime, &self.shared.compiled, &self.setup, log).await {
            Ok(instance) => self.instance = Some(instance),
            Err(e) => tracing::error!("cannot rebuild the plugin instance: {e}"),
        }
    }
}
