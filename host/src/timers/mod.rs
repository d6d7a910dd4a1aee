//! The timer scheduler: the [`TimerService`] that makes plugins' timers
//! durable and fires them. The `timers` capability (the interface plugins
//! call) is [`crate::capabilities::timers`].
//!
//! # Lifecycle of a timer
//!
//! 1. A plugin calls `schedule` / `schedule-at`; the timer is written to the
//!    `timers` table ([`TimerTable`]) before its id is returned, together
//!    with the chat of the event being handled (so `reply` from `on-timer`
//!    goes back there).
//! 2. When it is due, the service's task sends a [`DueTimer`] on the channel
//!    given to [`TimerService::start`]. The plugin registry delivers it as
//!    `Call::Timer(due.event)` to the plugin named `due.plugin`.
//! 3. Once the call was made, the registry calls [`DueTimer::delivered`],
//!    which deletes the row. A `DueTimer` dropped without that (the plugin is
//!    not loaded, is quarantined, the host is stopping) stays stored and is
//!    offered again after [`TimerLimits::retry_after_ms`] and at the next
//!    start.
//!
//! Timers survive restarts: [`TimerService::open`] loads every stored timer
//! and [`TimerService::start`] fires the late ones at once, each once, with
//! their original `due` time.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use wasmqq_shutdown::Shutdown;

use crate::abi::v0_1_0::wasmqq::plugin::types::HostError;
use crate::abi::{Chat, TimerEvent};
use crate::clock::unix_ms;
use crate::store::{Store, StoreError};

mod table;

pub use table::{TimerRow, TimerTable};

/// The longest the service sleeps before looking at the clock again, so a
/// wall-clock jump is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Limits and pacing of timers. Defaults: 1000 pending timers per plugin,
/// payloads up to 4 KiB, undelivered timers offered again after 30 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimerLimits {
    /// Pending timers one plugin may have; more is `quota-exceeded`.
    pub max_per_plugin: usize,
    /// Longest payload, in bytes; longer is `invalid`.
    pub max_payload_bytes: usize,
    /// Delay before a timer that could not be delivered is offered again.
    pub retry_after_ms: u64,
}

impl Default for TimerLimits {
    fn default() -> Self {
        TimerLimits {
            max_per_plugin: 1000,
            max_payload_bytes: 4096,
            retry_after_ms: 30_000,
        }
    }
}

/// Durable timers: stores them, and (once started) hands due ones to the
/// plugin registry. Cheap to clone; all clones share the same timers.
#[derive(Clone)]
pub struct TimerService {
    inner: Arc<Inner>,
}

struct Inner {
    table: TimerTable,
    limits: TimerLimits,
    state: Mutex<State>,
    wake: Notify,
}

#[derive(Default)]
struct State {
    /// Every stored timer, by id.
    rows: HashMap<u64, Pending>,
    /// (next attempt ms, id) of the timers not currently being delivered.
    queue: BTreeSet<(u64, u64)>,
}

struct Pending {
    row: TimerRow,
    /// The next attempt, or `None` while a [`DueTimer`] for it is out.
    next: Option<u64>,
}

/// A timer that is due, to deliver to `plugin` as `Call::Timer(event)`.
///
/// Call [`DueTimer::delivered`] once the plugin's `on-timer` was called
/// (whatever its outcome); dropping it instead keeps the timer for a later
/// attempt.
pub struct DueTimer {
    /// The plugin that scheduled the timer.
    pub plugin: String,
    /// The account it was scheduled on (its replies go out there).
    pub account: std::sync::Arc<str>,
    /// What to pass to its `on-timer`.
    pub event: TimerEvent,
    service: Option<Arc<Inner>>,
}

impl std::fmt::Debug for DueTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DueTimer")
            .field("plugin", &self.plugin)
            .field("event", &self.event)
            .finish()
    }
}

impl TimerService {
    /// Create the `timers` table if needed and load every stored timer.
    /// Nothing fires until [`TimerService::start`].
    pub fn open(store: &Store, limits: TimerLimits) -> Result<TimerService, StoreError> {
        let table = TimerTable::new(store)?;
        let mut state = State::default();
        for row in table.all()? {
            state.queue.insert((row.due_ms, row.id));
            state.rows.insert(
                row.id,
                Pending {
                    next: Some(row.due_ms),
                    row,
                },
            );
        }
        if !state.rows.is_empty() {
            tracing::info!(timers = state.rows.len(), "loaded pending plugin timers");
        }
        Ok(TimerService {
            inner: Arc::new(Inner {
                table,
                limits,
                state: Mutex::new(state),
                wake: Notify::new(),
            }),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &TimerLimits {
        &self.inner.limits
    }

    /// Start firing: spawn the task that sends each due timer on `tx`, the
    /// late ones (due before now, e.g. while the host was down) at once.
    /// Start it once the plugins are loaded, so late timers find them. The
    /// task ends at `shutdown` or when the receiver is dropped; call `start`
    /// once per service.
    pub fn start(&self, tx: mpsc::Sender<DueTimer>, mut shutdown: Shutdown) -> JoinHandle<()> {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            loop {
                let now = unix_ms();
                let (due, next) = take_due(&inner, now);
                for timer in due {
                    tracing::debug!(
                        plugin = %timer.plugin,
                        timer = timer.event.id,
                        late_ms = now.saturating_sub(timer.event.due),
                        "timer due"
                    );
                    tokio::select! {
                        sent = tx.send(timer) => if sent.is_err() { return },
                        () = shutdown.recv() => return,
                    }
                }
                let sleep = next
                    .map(|at| Duration::from_millis(at.saturating_sub(unix_ms())))
                    .unwrap_or(MAX_SLEEP)
                    .min(MAX_SLEEP);
                tokio::select! {
                    _ = tokio::time::sleep(sleep) => {}
                    _ = inner.wake.notified() => {}
                    _ = tx.closed() => return,
                    () = shutdown.recv() => return,
                }
            }
        })
    }

    /// Store a timer for `plugin` due at `due_ms` (unix ms; a past time fires
    /// at once) and return its id. Blocks briefly on the database.
    ///
    /// Fails with `invalid` for an oversized payload or an absurd time,
    /// `quota-exceeded` when the plugin has too many pending timers (not
    /// logged here: the caller logs it within the plugin's log budget), and
    /// `unavailable` if the database fails.
    pub fn schedule(
        &self,
        plugin: &str,
        due_ms: u64,
        payload: &str,
        chat: Option<Chat>,
        account: &str,
    ) -> Result<u64, HostError> {
        let limits = &self.inner.limits;
        if payload.len() > limits.max_payload_bytes {
            return Err(HostError::Invalid(format!(
                "timer payload is {} bytes, at most {} allowed",
                payload.len(),
                limits.max_payload_bytes
            )));
        }
        if due_ms > i64::MAX as u64 {
            return Err(HostError::Invalid(format!(
                "timer due time {due_ms} ms is out of range"
            )));
        }
        let mut state = self.inner.lock();
        let count = state
            .rows
            .values()
            .filter(|p| p.row.plugin == plugin)
            .count();
        if count >= limits.max_per_plugin {
            let why = format!(
                "timer quota: at most {} pending timers per plugin",
                limits.max_per_plugin
            );
            return Err(HostError::QuotaExceeded(why));
        }
        let id = self
            .inner
            .table
            .insert(plugin, due_ms, payload, chat, account, unix_ms())
            .map_err(|e| {
                tracing::error!(plugin, "cannot store a timer: {e}");
                HostError::Unavailable("timer storage failed".into())
            })?;
        state.queue.insert((due_ms, id));
        state.rows.insert(
            id,
            Pending {
                row: TimerRow {
                    id,
                    plugin: plugin.to_string(),
                    due_ms,
                    payload: payload.to_string(),
                    chat,
                    account: account.to_string(),
                },
                next: Some(due_ms),
            },
        );
        drop(state);
        self.inner.wake.notify_one();
        tracing::debug!(plugin, timer = id, due_ms, "timer scheduled");
        Ok(id)
    }

    /// Cancel `plugin`'s timer `id`; whether it was pending. A plugin cannot
    /// cancel another plugin's timers (that answers `false`). A timer already
    /// handed out for delivery is removed but its delivery may still happen.
    pub fn cancel(&self, plugin: &str, id: u64) -> Result<bool, HostError> {
        let mut state = self.inner.lock();
        match state.rows.get(&id) {
            Some(p) if p.row.plugin == plugin => {}
            _ => return Ok(false),
        }
        self.inner.table.delete(id).map_err(|e| {
            tracing::error!(plugin, timer = id, "cannot delete a timer: {e}");
            HostError::Unavailable("timer storage failed".into())
        })?;
        if let Some(p) = state.rows.remove(&id)
            && let Some(next) = p.next
        {
            state.queue.remove(&(next, id));
        }
        tracing::debug!(plugin, timer = id, "timer cancelled");
        Ok(true)
    }

    /// The pending timers, of one plugin or all, earliest first.
    pub fn pending(&self, plugin: Option<&str>) -> Vec<TimerRow> {
        let state = self.inner.lock();
        let mut rows: Vec<TimerRow> = state
            .rows
            .values()
            .filter(|p| plugin.is_none_or(|name| p.row.plugin == name))
            .map(|p| p.row.clone())
            .collect();
        rows.sort_by_key(|r| (r.due_ms, r.id));
        rows
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Take the timers due at `now` out of the queue; also the next attempt time.
fn take_due(inner: &Arc<Inner>, now: u64) -> (Vec<DueTimer>, Option<u64>) {
    let mut state = inner.lock();
    let mut due = Vec::new();
    while let Some(&(at, id)) = state.queue.first() {
        if at > now {
            break;
        }
        state.queue.pop_first();
        if let Some(p) = state.rows.get_mut(&id) {
            p.next = None;
            due.push(DueTimer {
                plugin: p.row.plugin.clone(),
                account: p.row.account.as_str().into(),
                event: TimerEvent {
                    id,
                    payload: p.row.payload.clone(),
                    chat: p.row.chat,
                    due: p.row.due_ms,
                },
                service: Some(inner.clone()),
            });
        }
    }
    (due, state.queue.first().map(|&(at, _)| at))
}

impl DueTimer {
    /// The plugin's `on-timer` was called: forget the timer, in memory and
    /// in the database. If the database fails the error is logged and the
    /// timer fires again after the next restart.
    pub async fn delivered(mut self) {
        let Some(inner) = self.service.take() else {
            return;
        };
        let id = self.event.id;
        let plugin = self.plugin.clone();
        inner.lock().rows.remove(&id);
        let table = inner.table.clone();
        let result = tokio::task::spawn_blocking(move || table.delete(id)).await;
        match result {
            Ok(Ok(_)) => tracing::debug!(plugin, timer = id, "timer delivered"),
            Ok(Err(e)) => tracing::error!(
                plugin,
                timer = id,
                "timer delivered but not removed from the database (it fires again after a restart): {e}"
            ),
            Err(e) => tracing::error!(plugin, timer = id, "timer removal task failed: {e}"),
        }
    }
}

impl Drop for DueTimer {
    fn drop(&mut self) {
        let Some(inner) = self.service.take() else {
            return;
        };
        let id = self.event.id;
        let retry = inner.limits.retry_after_ms;
        let mut state = inner.lock();
        let at = unix_ms().saturating_add(retry);
        if let Some(p) = state.rows.get_mut(&id) {
            p.next = Some(at);
            state.queue.insert((at, id));
            tracing::warn!(
                plugin = %self.plugin,
                timer = id,
                "timer was not delivered; offering it again in {retry} ms"
            );
        }
        drop(state);
        inner.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(store: &Store) -> TimerService {
        TimerService::open(
            store,
            TimerLimits {
                max_per_plugin: 2,
                max_payload_bytes: 8,
                retry_after_ms: 50,
            },
        )
        .unwrap()
    }

    #[tokio::test]
    async fn due_timers_fire_undelivered_ones_return_delivered_ones_go() {
        let store = Store::open_in_memory().unwrap();
        let svc = service(&store);
        let (tx, mut rx) = mpsc::channel(8);
        let stop = wasmqq_shutdown::Signal::new();
        let task = svc.start(tx, stop.listener());
        let id = svc
            .schedule("p", unix_ms() + 20, "hi", None, "main")
            .unwrap();
        let first = rx.recv().await.unwrap();
        assert_eq!((first.plugin.as_str(), first.event.id), ("p", id));
        drop(first); // not delivered: offered again after 50 ms
        let again = rx.recv().await.unwrap();
        assert_eq!(again.event.id, id);
        again.delivered().await;
        assert!(svc.pending(None).is_empty());
        assert!(TimerTable::new(&store).unwrap().all().unwrap().is_empty());
        stop.fire();
        task.await.unwrap();
    }

    #[test]
    fn limits_and_cancel() {
        let store = Store::open_in_memory().unwrap();
        let svc = service(&store);
        assert!(matches!(
            svc.schedule("p", 1, "123456789", None, "main"),
            Err(HostError::Invalid(_))
        ));
        let a = svc.schedule("p", u64::MAX >> 2, "", None, "main").unwrap();
        svc.schedule("p", 1, "", None, "main").unwrap();
        assert!(matches!(
            svc.schedule("p", 1, "", None, "main"),
            Err(HostError::QuotaExceeded(_))
        ));
        svc.schedule("q", 1, "", None, "main").unwrap();
        assert!(!svc.cancel("q", a).unwrap());
        assert!(svc.cancel("p", a).unwrap());
        assert!(!svc.cancel("p", a).unwrap());
        assert_eq!(svc.pending(Some("p")).len(), 1);
        assert_eq!(service(&store).pending(None).len(), 2);
    }
}
