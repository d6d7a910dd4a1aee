//! The threads a bot's async work runs on.
//!
//! By default one: the bot is an event loop on the thread that runs it
//! (tokio's current-thread runtime), the Twisted/Tornado model. Every
//! message's journey (poll answer, journal, routing, the plugin call,
//! the outbox, the send) then hands over between tasks without waking
//! another thread; a plugin call yields to the loop every epoch tick
//! (5 ms), so a busy plugin delays other chats by at most a tick per
//! turn, and its deadline still ends it.
//! Compiles (child processes), checkpoints and other blocking work have
//! threads of their own either way.
//!
//! Measured on 2 shared vCPUs (docs/benchmarks.md, fifth pass): one
//! thread against two workers, CPU per `!echo` reply 0.266 against
//! 0.363 ms (medians of 5 interleaved pairs), 0.2 against 4.5–5.2 context
//! switches per reply, and 29 % more replies per second in bursts. More
//! threads (`--worker-threads`) let CPU-heavy plugins (a Python plugin's
//! calls take milliseconds) of different chats run on several cores at
//! once.

use tokio::runtime::{Builder, Runtime};

/// The default: one thread, the event loop.
pub const DEFAULT_WORKER_THREADS: u16 = 1;

/// The runtime for a bot with `worker_threads` threads: the current-thread
/// runtime for 1 (the thread calling `block_on` runs everything), a
/// multi-thread one with that many workers otherwise. Timers and I/O are
/// enabled.
pub fn runtime(worker_threads: usize) -> std::io::Result<Runtime> {
    if worker_threads <= 1 {
        Builder::new_current_thread().enable_all().build()
    } else {
        Builder::new_multi_thread()
            .worker_threads(worker_threads)
            .enable_all()
            .build()
    }
}
