//! Where the binary's log lines go: stderr, or (for `wasmqq demo`, whose
//! terminal is the chat) a file in the demo's data folder, chosen after
//! the subscriber is installed.
//!
//! Until the file is chosen the lines are held in memory (at most
//! [`PENDING_CAP`] bytes), so the lines written while the demo starts its
//! simulator are not lost.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use tracing_subscriber::fmt::MakeWriter;

/// The most bytes held before the log file is chosen; later lines are
/// dropped (and counted in a line written to the file).
pub const PENDING_CAP: usize = 1 << 20;

/// A cloneable log destination for `tracing_subscriber::fmt`.
#[derive(Debug, Clone)]
pub struct LogSink {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    /// Also write every line to stderr.
    tee_stderr: bool,
    target: Target,
}

#[derive(Debug)]
enum Target {
    /// Stderr only.
    Stderr,
    /// Held until [`LogSink::to_file`]; the count of bytes dropped past
    /// the cap.
    Pending(Vec<u8>, usize),
    File(File),
}

impl LogSink {
    /// Every line to stderr (the bot, the simulator, the plugin tools).
    pub fn stderr() -> LogSink {
        LogSink::new(Target::Stderr, false)
    }

    /// Lines held for a file named later; `tee_stderr` also shows them.
    pub fn deferred_file(tee_stderr: bool) -> LogSink {
        LogSink::new(Target::Pending(Vec::new(), 0), tee_stderr)
    }

    fn new(target: Target, tee_stderr: bool) -> LogSink {
        LogSink {
            inner: Arc::new(Mutex::new(Inner { tee_stderr, target })),
        }
    }

    /// Whether the lines are shown on stderr.
    pub fn shows_on_stderr(&self) -> bool {
        let inner = self.lock();
        inner.tee_stderr || matches!(inner.target, Target::Stderr)
    }

    /// Whether the fmt layer should colour its lines: only when they go to
    /// stderr alone and stderr is a terminal (never into a file).
    pub fn wants_ansi(&self) -> bool {
        matches!(self.lock().target, Target::Stderr) && io::IsTerminal::is_terminal(&io::stderr())
    }

    /// From now on write to `path` (appending), starting with the lines
    /// held so far. A sink writing to stderr only is left as it is.
    pub fn to_file(&self, path: &Path) -> io::Result<()> {
        let mut inner = self.lock();
        let Target::Pending(held, dropped) = &inner.target else {
            return Ok(());
        };
        let mut file = File::options().create(true).append(true).open(path)?;
        file.write_all(held)?;
        if *dropped > 0 {
            writeln!(
                file,
                "[{dropped} bytes of log lines dropped before this file was opened]"
            )?;
        }
        inner.target = Target::File(file);
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while writing a log line leaves nothing half-updated
        // that matters; keep logging.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut inner = self.lock();
        if inner.tee_stderr && !matches!(inner.target, Target::Stderr) {
            // Best effort: a closed stderr must not stop the file.
            let _ = io::stderr().write_all(buf);
        }
        match &mut inner.target {
            Target::Stderr => io::stderr().write_all(buf)?,
            Target::Pending(held, dropped) => {
                if held.len() + buf.len() <= PENDING_CAP {
                    held.extend_from_slice(buf);
                } else {
                    *dropped += buf.len();
                }
            }
            Target::File(file) => file.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.lock().target {
            Target::File(file) => file.flush(),
            _ => io::stderr().flush(),
        }
    }
}

impl<'a> MakeWriter<'a> for LogSink {
    type Writer = LogSink;

    fn make_writer(&'a self) -> LogSink {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_lines_reach_the_file_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wasmqq.log");
        let mut sink = LogSink::deferred_file(false);
        sink.write_all(b"before\n").unwrap();
        sink.to_file(&path).unwrap();
        sink.write_all(b"after\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "before\nafter\n");
        assert!(!sink.shows_on_stderr());
    }

    #[test]
    fn lines_past_the_cap_are_dropped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wasmqq.log");
        let mut sink = LogSink::deferred_file(false);
        sink.write_all(&vec![b'x'; PENDING_CAP]).unwrap();
        sink.write_all(b"lost\n").unwrap();
        sink.to_file(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("[5 bytes of log lines dropped before this file was opened]\n"));
        assert!(LogSink::deferred_file(true).shows_on_stderr());
        assert!(LogSink::stderr().shows_on_stderr());
    }
}
