//! Capturing the host's log for assertions about what was logged and how
//! often, two ways over one buffer type ([`Captured`]):
//!
//! * [`Captured::global`]: process-wide (a test binary of its own: tracing
//!   caches callsite interest per process), every test filtering it by what
//!   is unique to it, e.g. its temporary plugin folder;
//! * [`capture_logs`] / [`capture_logs_at`]: what is logged on the current
//!   thread until the guard drops (use a current-thread tokio runtime, the
//!   `#[tokio::test]` default, so plugin calls log there too).

use std::sync::{Arc, Mutex, OnceLock};

/// Everything logged at INFO and above since the capture was installed.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Install the capture as the global subscriber (once per process) and
    /// return it.
    pub fn global() -> Captured {
        static GLOBAL: OnceLock<Captured> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                let logs = Captured::default();
                let subscriber = tracing_subscriber::fmt()
                    .with_writer(logs.clone())
                    .with_ansi(false)
                    .with_max_level(tracing::Level::INFO)
                    .finish();
                tracing::subscriber::set_global_default(subscriber)
                    .expect("no other global subscriber");
                logs
            })
            .clone()
    }

    /// The log so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// The lines containing every one of `needles`.
    pub fn lines_with(&self, needles: &[&str]) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .map(str::to_string)
            .collect()
    }

    /// Wait (up to 10 s) until some line contains every one of `needles`;
    /// fails with the log.
    pub async fn wait_for(&self, needles: &[&str]) -> String {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(line) = self.lines_with(needles).into_iter().next() {
                return line;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no log line with {needles:?} in:\n{}",
                self.text()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Capture warnings and errors logged on this thread until the guard drops.
pub fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    capture_logs_at(tracing::Level::WARN)
}

/// Capture what is logged on this thread at `level` or above until the
/// guard drops.
pub fn capture_logs_at(level: tracing::Level) -> (Captured, tracing::subscriber::DefaultGuard) {
    // tracing caches each callsite's interest process-wide: a line first
    // hit on a thread of a test without a subscriber would be off for the
    // capturing thread too. A global subscriber that is interested (and
    // discards) keeps every callsite live for the per-thread captures.
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let discard = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(std::io::sink)
            .finish();
        let _ = tracing::subscriber::set_global_default(discard);
    });
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

/// Logs to the test's captured output, filtered by `RUST_LOG` (warnings
/// and errors when unset), for test binaries that do not assert on logs.
/// Only the first call in a process installs it.
pub fn to_test_output() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}
