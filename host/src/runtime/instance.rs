//! One live plugin instance: its store, its bindings, and calls into it under
//! a deadline with checked results.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::{Store, UpdateDeadline};

use super::engine::TickerHandle;
use super::error::{CallError, LoadError};
use super::load::Compiled;
use super::{Limits, Runtime};
use crate::abi::v0_1_0::Plugin as Bindings;
use crate::abi::{Action, Chat, CommandCall, Message, PluginInfo, Segment, TimerEvent};
use crate::capabilities::Grants;
use crate::capabilities::PluginState;
use crate::capabilities::log_budget::PluginLog;

/// What the configuration gives a plugin: its grants and its `init`
/// configuration (a JSON object).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginSetup {
    /// Capabilities and their settings.
    pub grants: Grants,
    /// The JSON object passed to `init` (`{}` when empty).
    pub config: String,
}

impl PluginSetup {
    /// Grants with an empty (`{}`) configuration.
    pub fn granted(grants: Grants) -> PluginSetup {
        PluginSetup {
            grants,
            config: "{}".into(),
        }
    }
}

/// Decides a plugin's setup once its metadata is known: its grants and
/// configuration, or why it may not run (the message names the reason; the
/// plugin's `init` is then never called).
pub type ChooseSetup<'a> = dyn Fn(&PluginInfo) -> Result<PluginSetup, String> + Send + Sync + 'a;

/// An event delivered to a plugin.
#[derive(Debug, Clone)]
pub enum Call {
    /// A message matched one of its triggers: `on-message`.
    Message(Message),
    /// One of its commands was used: `on-command`.
    Command(CommandCall),
    /// One of its timers fired: `on-timer`.
    Timer(TimerEvent),
}

impl Call {
    /// The name of the export this call goes to.
    pub fn export(&self) -> &'static str {
        match self {
            Call::Message(_) => "on-message",
            Call::Command(_) => "on-command",
            Call::Timer(_) => "on-timer",
        }
    }

    fn chat(&self) -> Option<Chat> {
        match self {
            Call::Message(m) => Some(m.chat),
            Call::Command(c) => Some(c.message.chat),
            Call::Timer(t) => t.chat,
        }
    }
}

/// A running instance of a plugin.
pub struct Instance {
    store: Store<PluginState>,
    bindings: Bindings,
    plugin: Arc<str>,
    limits: Limits,
    ticker: TickerHandle,
    /// The triggers compiled while validating the metadata at start
    /// (`None` after a rebuild, or without triggers); taken by the handle.
    triggers: Option<regex::RegexSet>,
}

impl Instance {
    /// Instantiate `compiled`, call `describe`, validate the metadata, then
    /// ask `setup` for the plugin's grants and configuration (by its
    /// metadata: the name is only known now) and call `init(config)`. A
    /// setup that refuses the plugin ends the start with
    /// [`LoadError::Refused`] before `init`.
    pub async fn start(
        runtime: &Runtime,
        compiled: &Compiled,
        setup: &ChooseSetup<'_>,
    ) -> Result<(Instance, PluginInfo, PluginSetup), LoadError> {
        Self::start_inner(runtime, compiled, setup, None).await
    }

    /// Like [`Instance::start`] for a plugin whose metadata was already
    /// validated (rebuilding after a fault): skips compiling its triggers,
    /// and keeps the plugin's log budget `log`.
    pub(crate) async fn restart(
        runtime: &Runtime,
        compiled: &Compiled,
        setup: &PluginSetup,
        log: Arc<PluginLog>,
    ) -> Result<Instance, LoadError> {
        let setup = setup.clone();
        Self::start_inner(runtime, compiled, &move |_| Ok(setup.clone()), Some(log))
            .await
            .map(|(instance, _, _)| instance)
    }

    /// Start an instance; a new plugin (`log` is `None`) has its metadata
    /// validated and gets a fresh log budget.
    async fn start_inner(
        runtime: &Runtime,
        compiled: &Compiled,
        setup: &ChooseSetup<'_>,
        log: Option<Arc<PluginLog>>,
    ) -> Result<(Instance, PluginInfo, PluginSetup), LoadError> {
        let validate = log.is_none();
        let path = compiled.path();
        let fail = |stage: &'static str, message: String| LoadError::Start {
            path: path.into(),
            stage,
            message,
        };
        // The name is not known before `describe`; use the file stem meanwhile.
        let provisional: Arc<str> = path
            .file_stem()
            .map(|s| s.to_string_lossy().into())
            .unwrap_or_else(|| "plugin".into());
        let limits = runtime.limits().clone();
        let ticker = runtime.ticker();
        let _running = ticker.running();
        let log = log.unwrap_or_else(|| PluginLog::new(provisional.clone(), limits.log()));
        let mut store = new_store(runtime, provisional, Grants::NONE, &limits, log.clone());
        arm(&mut store, &limits);
        let bindings = compiled
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| fail("instantiate", trap_message(&store, &e, &limits)))?;
        arm(&mut store, &limits);
        let info = bindings
            .wasmqq_plugin_guest()
            .call_describe(&mut store)
            .await
            .map_err(|e| fail("describe", trap_message(&store, &e, &limits)))?;
        let triggers = if validate {
            compiled
                .validate(&info)
                .map_err(|error| LoadError::Metadata {
                    path: path.into(),
                    error,
                })?
        } else {
            None
        };
        let plugin: Arc<str> = Arc::from(info.name.as_str());
        let setup = setup(&info).map_err(|message| LoadError::Refused {
            path: path.into(),
            message,
        })?;
        store.data_mut().caller.plugin = plugin.clone();
        store.data_mut().grant(&setup.grants);
        log.rename(plugin.clone());
        arm(&mut store, &limits);
        let init = bindings
            .wasmqq_plugin_guest()
            .call_init(&mut store, &setup.config)
            .await;
        log.flush(true);
        init.map_err(|e| fail("init", trap_message(&store, &e, &limits)))?
            .map_err(|message| fail("init", message))?;
        Ok((
            Instance {
                store,
                bindings,
                plugin,
                limits,
                ticker,
                triggers,
            },
            info,
            setup,
        ))
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.plugin
    }

    /// The triggers compiled at start, once (later calls get `None`).
    pub(crate) fn take_triggers(&mut self) -> Option<regex::RegexSet> {
        self.triggers.take()
    }

    /// The plugin's log budget, to keep across rebuilds.
    pub(crate) fn log(&self) -> Arc<PluginLog> {
        self.store.data().caller.log.clone()
    }

    /// Deliver one event. Fails with [`CallError::Timeout`] past the deadline,
    /// [`CallError::Trap`] if the plugin traps and [`CallError::OverLimit`] if
    /// it returns too much. After a failed call the instance must not be used
    /// again: build a new one.
    pub async fn call(&mut self, call: &Call) -> Result<Vec<Action>, CallError> {
        let export = call.export();
        let _running = self.ticker.running();
        self.store.data_mut().caller.chat = call.chat();
        arm(&mut self.store, &self.limits);
        let guest = self.bindings.wasmqq_plugin_guest();
        let result = match call {
            Call::Message(m) => guest.call_on_message(&mut self.store, m).await,
            Call::Command(c) => guest.call_on_command(&mut self.store, c).await,
            Call::Timer(t) => guest.call_on_timer(&mut self.store, t).await,
        };
        self.store.data().caller.log.flush(true);
        let actions = result.map_err(|e| {
            if self.store.data().timed_out {
                CallError::Timeout {
                    plugin: self.plugin.to_string(),
                    export,
                    ms: self.limits.call_timeout_ms,
                }
            } else {
                CallError::Trap {
                    plugin: self.plugin.to_string(),
                    export,
                    message: trap_message(&self.store, &e, &self.limits),
                }
            }
        })?;
        self.check(export, &actions)?;
        Ok(actions)
    }

    fn check(&self, export: &'static str, actions: &[Action]) -> Result<(), CallError> {
        let over = |what: String, limit: usize| CallError::OverLimit {
            plugin: self.plugin.to_string(),
            export,
            what,
            limit,
        };
        if actions.len() > self.limits.actions {
            return Err(over(
                format!("{} actions", actions.len()),
                self.limits.actions,
            ));
        }
        let bytes: usize = actions
            .iter()
            .map(|a| match a {
                Action::Reply(segs) => segments_size(segs),
                Action::Send(out) => segments_size(&out.segments),
            })
            .sum();
        if bytes > self.limits.reply_bytes {
            return Err(over(
                format!("{bytes} bytes of text"),
                self.limits.reply_bytes,
            ));
        }
        Ok(())
    }
}

fn segments_size(segments: &[Segment]) -> usize {
    segments.iter().map(Segment::size).sum()
}

fn new_store(
    runtime: &Runtime,
    plugin: Arc<str>,
    grants: Grants,
    limits: &Limits,
    log: Arc<PluginLog>,
) -> Store<PluginState> {
    let state = PluginState::new(
        plugin,
        limits.store_limits(),
        &grants,
        runtime.services().clone(),
        log,
    );
    let mut store = Store::new(runtime.engine(), state);
    store.limiter(|s| &mut s.limits);
    store.epoch_deadline_callback(|mut ctx| {
        let state = ctx.data_mut();
        if Instant::now() >= state.caller.deadline {
            state.timed_out = true;
            wasmtime::bail!("deadline exceeded");
        }
        // Give the thread back, then check again next tick. Tokio's
        // `yield_now` resumes the call only after the scheduler has run the
        // other ready tasks *and polled for I/O*; a plain yield (a self
        // wake) would be polled again before the I/O driver looks, so on a
        // one-thread bot a spinning plugin would hold every other chat's
        // network reads for many ticks.
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(tokio::task::yield_now()),
        ))
    });
    store
}

/// Start the deadline clock for the next call.
fn arm(store: &mut Store<PluginState>, limits: &Limits) {
    let state = store.data_mut();
    state.caller.deadline = Instant::now() + limits.call_timeout();
    state.timed_out = false;
    store.set_epoch_deadline(1);
}

/// A one-line description of why a call failed.
fn trap_message(store: &Store<PluginState>, err: &wasmtime::Error, limits: &Limits) -> String {
    if store.data().timed_out {
        return format!("timed out after {} ms", limits.call_timeout_ms);
    }
    let mut msg = err.to_string();
    if let Some(trap) = err.downcast_ref::<wasmtime::Trap>() {
        msg = trap.to_string();
    }
    let root = format!("{err:#}");
    if !root.contains(&msg) {
        msg = root;
    }
    let first = msg.lines().next().unwrap_or("").to_string();
    if first.len() > 300 {
        let mut cut = 300;
        while !first.is_char_boundary(cut) {
            cut -= 1;
        }
        return format!("{}…", &first[..cut]);
    }
    first
}
