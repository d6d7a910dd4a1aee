//! The wasmtime engine configuration and the epoch ticker that drives
//! per-call deadlines.
//!
//! The ticker ticks only while wasm runs: every call into a plugin (and
//! every instantiation) holds a [`Running`] guard, and the ticker thread
//! parks when none is held. An idle bot therefore has no wake-ups at all
//! from the runtime; a busy one pays one atomic increment and decrement per
//! call, plus one unpark when the first call starts after an idle spell.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use wasmtime::{Config, Engine};

/// How often the engine's epoch advances while a call runs; the granularity
/// of deadlines and of yields back to the tokio scheduler while a plugin
/// computes.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The deepest wasm stack a plugin may use. Deeper recursion traps with a
/// stack overflow (a fault).
pub const MAX_WASM_STACK: usize = 1 << 20;

/// The size of each fiber stack a call runs on: the wasm stack plus room
/// for the host functions it calls (WASI, the wasmqq host interfaces),
/// which run on the same stack. Only the pages a call touches take memory.
pub const ASYNC_STACK: usize = 2 << 20;

/// Build the engine every plugin runs in: component model, async calls,
/// epoch interruption.
pub fn new_engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(ASYNC_STACK);
    Engine::new(&config)
}

/// What the callers and the ticker thread share.
#[derive(Debug)]
struct Shared {
    /// Calls (and instantiations) running now.
    running: AtomicUsize,
    /// Set by the thread just before it parks.
    parked: AtomicBool,
    stop: AtomicBool,
    thread: Thread,
}

/// A thread that advances the engine's epoch every [`EPOCH_TICK`] while at
/// least one [`Running`] guard is alive, and sleeps otherwise; stopped when
/// dropped.
pub struct EpochTicker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Keeps the ticker ticking while alive; see [`EpochTicker::running`].
#[derive(Debug)]
pub struct Running(Arc<Shared>);

/// A cheap handle that makes [`Running`] guards; cloned into each instance.
#[derive(Debug, Clone)]
pub struct TickerHandle(Arc<Shared>);

impl EpochTicker {
    /// Start ticking `engine` (on demand).
    pub fn start(engine: Engine) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel::<Arc<Shared>>();
        let thread = std::thread::Builder::new()
            .name("wasmqq-epoch".into())
            .spawn(move || {
                let Ok(shared) = rx.recv() else { return };
                crate::helper_thread::lower_priority();
                tick(&engine, &shared);
            })?;
        let shared = Arc::new(Shared {
            running: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            thread: thread.thread().clone(),
        });
        // The thread exits at once if this fails, and `drop` joins it.
        let _ = tx.send(shared.clone());
        Ok(EpochTicker {
            shared,
            thread: Some(thread),
        })
    }

    /// A handle to hand to instances.
    pub fn handle(&self) -> TickerHandle {
        TickerHandle(self.shared.clone())
    }
}

impl TickerHandle {
    /// Tick while the returned guard lives (wasm is running).
    pub fn running(&self) -> Running {
        let shared = &self.0;
        if shared.running.fetch_add(1, Ordering::SeqCst) == 0
            && shared.parked.swap(false, Ordering::SeqCst)
        {
            shared.thread.unpark();
        }
        Running(shared.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The thread's loop: tick while calls run, park otherwise.
fn tick(engine: &Engine, shared: &Shared) {
    while !shared.stop.load(Ordering::SeqCst) {
        if shared.running.load(Ordering::SeqCst) == 0 {
            // Publish `parked` before looking again, so a call starting
            // now either is seen here or sees `parked` and unparks.
            shared.parked.store(true, Ordering::SeqCst);
            if shared.running.load(Ordering::SeqCst) == 0 && !shared.stop.load(Ordering::SeqCst) {
                std::thread::park();
            }
            shared.parked.store(false, Ordering::SeqCst);
            continue;
        }
        std::thread::sleep(EPOCH_TICK);
        engine.increment_epoch();
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.thread.unpark();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn the_ticker_runs_at_the_helper_nice_value() {
        // A ticker woken at a call's start must not preempt the serving
        // thread (see crate::helper_thread).
        let engine = new_engine().expect("engine");
        let _ticker = EpochTicker::start(engine).expect("ticker");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while crate::helper_thread::nice_of("wasmqq-epoch")
            != Some(crate::helper_thread::HELPER_NICE)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the ticker thread's nice value is {:?}",
                crate::helper_thread::nice_of("wasmqq-epoch")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn ticks_only_while_running() {
        let engine = new_engine().expect("engine");
        let ticker = EpochTicker::start(engine.clone()).expect("ticker");
        let handle = ticker.handle();
        // The thread sets `parked` when it has nothing to do.
        let wait_parked = || {
            for _ in 0..400 {
                if ticker.shared.parked.load(Ordering::SeqCst) {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            false
        };
        assert!(wait_parked(), "the idle ticker should park");
        let guard = handle.running();
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            !ticker.shared.parked.load(Ordering::SeqCst),
            "the ticker should tick while a call runs"
        );
        drop(guard);
        assert!(wait_parked(), "the ticker should park again once idle");
        drop(ticker);
    }
}
