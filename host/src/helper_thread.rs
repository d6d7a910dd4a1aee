//! The helper threads beside the serving thread: the epoch ticker
//! (`wasmqq-epoch`) and the outbox's checkpoint thread
//! (`wasmqq-outbox-wal`).
//!
//! The serving thread wakes each of them in the middle of handling a
//! message: the ticker when a plugin call starts after an idle spell, the
//! checkpoint thread on the first commit after a checkpoint. At the same
//! priority, Linux's scheduler usually ran the woken thread at once on the
//! waker's CPU, preempting the serving thread for two context switches
//! (the ticker only goes back to sleep): on the 20 msg/s benchmark 348 of
//! 500 replies were preempted by the ticker so. A helper runs at
//! [`HELPER_NICE`] instead: it still gets the CPU it needs (a tick is a
//! few microseconds every 5 ms; a checkpoint a few milliseconds a second)
//! when a CPU is free or after the serving thread's slice, but a wake-up
//! no longer takes the serving thread's CPU away.

/// The nice value of a helper thread (the serving threads keep the bot's
/// own, normally 0).
pub const HELPER_NICE: i32 = 10;

/// Lowers the calling thread's priority to [`HELPER_NICE`]. Best effort:
/// a helper at the bot's own priority works, only less politely. Linux
/// only (elsewhere `setpriority` sets a whole process's priority).
pub fn lower_priority() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: setpriority takes plain integers; on Linux, PRIO_PROCESS
        // with id 0 names the calling thread.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HELPER_NICE) };
        if rc != 0 {
            tracing::debug!(
                "could not lower a helper thread's priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// The nice value of this process's thread called `name` (the first one
/// found), from `/proc/self/task/*/stat`.
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn nice_of(name: &str) -> Option<i32> {
    std::fs::read_dir("/proc/self/task")
        .ok()?
        .flatten()
        .find_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            if comm.trim() != name {
                return None;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            // After the `(comm)` field: state is field 3, nice field 19.
            let rest = &stat[stat.rfind(')')? + 2..];
            rest.split_whitespace().nth(16)?.parse().ok()
        })
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// The main thread's nice value (field 19 of /proc/self/stat).
    fn process_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        rest.split_whitespace().nth(16).unwrap().parse().unwrap()
    }

    #[test]
    fn a_helper_thread_runs_at_the_helper_nice_value() {
        let before = process_nice();
        let (ready, wait) = std::sync::mpsc::channel();
        let (done, finish) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("helper-probe".into())
            .spawn(move || {
                lower_priority();
                ready.send(()).unwrap();
                let _ = finish.recv();
            })
            .unwrap();
        wait.recv().unwrap();
        assert_eq!(nice_of("helper-probe"), Some(HELPER_NICE));
        // Only that thread: the process's main thread keeps its own.
        assert_eq!(process_nice(), before);
        drop(done);
        thread.join().unwrap();
    }
}
