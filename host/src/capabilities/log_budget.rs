//! The log budget of a plugin: how many lines and bytes per second of the
//! host's log one plugin may fill.
//!
//! A plugin reaches the log three ways: `log.write`, its stdout/stderr, and
//! host calls the host refuses with a warning (a timer over the quota, a
//! capability not granted). All three are under the plugin's control, so
//! each is budgeted per plugin with a token bucket over lines and bytes
//! ([`LogBudget`], defaults in [`LogLimits`]): a burst may pass at once, then
//! the rate holds. What is over the budget is dropped, counted, and
//! summarised in one warning per [`SUMMARY_INTERVAL`] at most: `plugin
//! "dice": dropped 99800 log lines (3 MB) over the log budget`.
//!
//! The plugin's own output (`log.write`, stdout and stderr together) has one
//! bucket; the host's warnings about its calls have a bucket of the same
//! size of their own, so a plugin's chatter cannot hide why its calls are
//! refused, and a refusal loop cannot silence its output.
//!
//! A summary is written when the call that dropped lines ends (unless one
//! was written less than an interval ago), otherwise once an interval has
//! passed since the first line it counts, or when the plugin is unloaded.
//! [`LogBudget`] takes the time as an argument, so it is tested with a
//! made-up clock; [`PluginLog`] is the shared, locked wrapper the host uses
//! with the real one.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Shortest time between two summaries of one bucket of one plugin.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// What ends a line that was cut at [`LogLimits::line_bytes`].
pub const TRUNCATED: &str = "…[truncated]";

/// The budget of one plugin's log. Defaults: 50 lines per second with
/// bursts of 200, 64 KiB per second with bursts of 256 KiB, lines cut at
/// 2 KiB. Set in the `[limits]` section (`log_lines_per_sec`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Lines per second, sustained.
    pub lines_per_sec: u32,
    /// Lines that may be written at once after a quiet spell.
    pub burst_lines: u32,
    /// Bytes per second, sustained.
    pub bytes_per_sec: u64,
    /// Bytes that may be written at once after a quiet spell.
    pub burst_bytes: u64,
    /// Longest line, in bytes (marker included); longer ones are cut.
    pub line_bytes: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            lines_per_sec: 50,
            burst_lines: 200,
            bytes_per_sec: 64 << 10,
            burst_bytes: 256 << 10,
            line_bytes: 2048,
        }
    }
}

/// Lines dropped over a budget, and their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Lines dropped.
    pub lines: u64,
    /// Their bytes, as they would have been logged.
    pub bytes: u64,
}

/// A token bucket over lines and bytes, with the count of what it dropped
/// since its last summary. Time is given by the caller.
#[derive(Debug, Clone)]
pub struct LogBudget {
    limits: LogLimits,
    lines: f64,
    bytes: f64,
    refilled: Instant,
    dropped: Dropped,
    first_drop: Option<Instant>,
    last_summary: Option<Instant>,
}

impl LogBudget {
    /// A full budget at `now`.
    pub fn new(limits: LogLimits, now: Instant) -> LogBudget {
        LogBudget {
            limits,
            lines: f64::from(limits.burst_lines),
            bytes: limits.burst_bytes as f64,
            refilled: now,
            dropped: Dropped::default(),
            first_drop: None,
            last_summary: None,
        }
    }

    /// Whether a line of `bytes` bytes may be logged at `now`; if not, it is
    /// counted as dropped. A line larger than the byte burst costs the
    /// whole burst (lines are cut shorter than that before they get here).
    pub fn admit(&mut self, now: Instant, bytes: usize) -> bool {
        self.refill(now);
        let cost = (bytes as f64).min(self.limits.burst_bytes as f64);
        if self.lines >= 1.0 && self.bytes >= cost {
            self.lines -= 1.0;
            self.bytes -= cost;
            return true;
        }
        self.dropped.lines += 1;
        self.dropped.bytes += bytes as u64;
        self.first_drop.get_or_insert(now);
        false
    }

    fn refill(&mut self, now: Instant) {
        let secs = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.refilled = self.refilled.max(now);
        let l = &self.limits;
        self.lines = (self.lines + secs * f64::from(l.lines_per_sec)).min(f64::from(l.burst_lines));
        self.bytes = (self.bytes + secs * l.bytes_per_sec as f64).min(l.burst_bytes as f64);
    }

    /// When the drops counted so far are due to be summarised even without
    /// the end of a call; `None` if nothing was dropped.
    pub fn due(&self) -> Option<Instant> {
        self.first_drop.map(|t| t + SUMMARY_INTERVAL)
    }

    /// The drops to summarise now, if any are due: an interval after the
    /// first of them, or at the end of a call (`call_ended`) unless the last
    /// summary was less than an interval ago. Taking them starts a new count.
    pub fn summary(&mut self, now: Instant, call_ended: bool) -> Option<Dropped> {
        let due = self.due()?;
        let quiet = self
            .last_summary
            .is_none_or(|t| now.saturating_duration_since(t) >= SUMMARY_INTERVAL);
        if now >= due || (call_ended && quiet) {
            self.last_summary = Some(now);
            self.take()
        } else {
            None
        }
    }

    /// The drops counted so far, whether due or not (the plugin is going);
    /// starts a new count.
    pub fn take(&mut self) -> Option<Dropped> {
        self.first_drop.take()?;
        Some(std::mem::take(&mut self.dropped))
    }
}

/// `text` made safe to log as one line of at most `max` bytes: control
/// characters other than tab (newlines, terminal escapes) are shown escaped,
/// so a plugin cannot forge log lines, and a longer line is cut at a
/// character boundary and ends with [`TRUNCATED`].
pub fn clip_line(text: &str, max: usize) -> Cow<'_, str> {
    let plain = |c: char| !c.is_control() || c == '\t';
    if text.len() <= max && text.chars().all(plain) {
        return Cow::Borrowed(text);
    }
    let width = |c: char| {
        if plain(c) {
            c.len_utf8()
        } else {
            c.escape_default().count()
        }
    };
    // Whether the whole line fits once escaped (counting stops past `max`).
    let mut total = 0;
    let whole = text.chars().all(|c| {
        total += width(c);
        total <= max
    });
    let room = if whole {
        max
    } else {
        max.saturating_sub(TRUNCATED.len())
    };
    let mut out = String::with_capacity(room + TRUNCATED.len());
    for c in text.chars() {
        if out.len() + width(c) > room {
            break;
        }
        if plain(c) {
            out.push(c);
        } else {
            let _ = write!(out, "{}", c.escape_default());
        }
    }
    if !whole {
        out.push_str(TRUNCATED);
    }
    Cow::Owned(out)
}

/// Which of a plugin's two buckets a line goes to.
#[derive(Debug, Clone, Copy)]
enum Bucket {
    Output,
    Host,
}

/// The log of one plugin: its name and its two budgets (its output; the
/// host's warnings about its calls). Shared by the plugin's store, its
/// stdout/stderr and its handle, so it survives instance rebuilds; pending
/// summaries are written when they fall due ([`PluginLog::watch`]) and when
/// it is dropped.
pub(crate) struct PluginLog {
    limits: LogLimits,
    inner: Mutex<Inner>,
    /// Whether a timer task waits to write a pending summary.
    watched: AtomicBool,
}

struct Inner {
    name: Arc<str>,
    output: LogBudget,
    host: LogBudget,
}

impl Inner {
    fn bucket(&mut self, bucket: Bucket) -> &mut LogBudget {
        match bucket {
            Bucket::Output => &mut self.output,
            Bucket::Host => &mut self.host,
        }
    }
}

impl PluginLog {
    pub(crate) fn new(name: Arc<str>, limits: LogLimits) -> Arc<PluginLog> {
        let now = Instant::now();
        Arc::new(PluginLog {
            limits,
            inner: Mutex::new(Inner {
                name,
                output: LogBudget::new(limits, now),
                host: LogBudget::new(limits, now),
            }),
            watched: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The limits in force.
    pub(crate) fn limits(&self) -> LogLimits {
        self.limits
    }

    /// The plugin's name, as its lines are logged.
    pub(crate) fn name(&self) -> Arc<str> {
        self.lock().name.clone()
    }

    /// Log under `name` from now on (once `describe` told it).
    pub(crate) fn rename(&self, name: Arc<str>) {
        self.lock().name = name;
    }

    /// Whether a line of the plugin's output of `bytes` bytes (already cut
    /// with [`clip_line`]) may be logged now.
    pub(crate) fn output(&self, bytes: usize) -> bool {
        self.admit(Bucket::Output, bytes)
    }

    /// Whether a host warning about one of the plugin's calls may be logged
    /// now. Host warnings count lines only: their text is the host's.
    pub(crate) fn host_warning(&self) -> bool {
        self.admit(Bucket::Host, 0)
    }

    fn admit(&self, bucket: Bucket, bytes: usize) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        let budget = inner.bucket(bucket);
        let admitted = budget.admit(now, bytes);
        let due = budget.summary(now, false);
        let name = inner.name.clone();
        drop(inner);
        if let Some(dropped) = due {
            summarise(&name, bucket, dropped);
        }
        admitted
    }

    /// Write the summaries that are due; `call_ended` after a call.
    pub(crate) fn flush(&self, call_ended: bool) {
        let now = Instant::now();
        let mut inner = self.lock();
        let output = inner.output.summary(now, call_ended);
        let host = inner.host.summary(now, call_ended);
        let name = inner.name.clone();
        drop(inner);
        report(&name, output, host);
    }

    /// Make sure the pending summaries, if any, are written when due even if
    /// no call ends meanwhile: spawns a timer task on the current tokio
    /// runtime unless one already waits. The task holds the log weakly (an
    /// unloaded plugin's drop writes its summaries) and ends when nothing
    /// is pending, so a plugin within its budget costs no task and no
    /// wake-up. Cheap when nothing is pending (one uncontended lock).
    pub(crate) fn watch(self: &Arc<Self>) {
        if self.watched.load(Ordering::Acquire) || self.next_summary().is_none() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.watched.swap(true, Ordering::AcqRel) {
            return;
        }
        let log = Arc::downgrade(self);
        runtime.spawn(async move {
            loop {
                let Some(due) = log.upgrade().and_then(|l| l.next_summary()) else {
                    let Some(l) = log.upgrade() else { return };
                    l.watched.store(false, Ordering::Release);
                    // A drop counted after the look above and before the
                    // flag was cleared would have found the flag set.
                    if l.next_summary().is_some() && !l.watched.swap(true, Ordering::AcqRel) {
                        continue;
                    }
                    return;
                };
                tokio::time::sleep_until(due.into()).await;
                match log.upgrade() {
                    Some(l) => l.flush(false),
                    None => return,
                }
            }
        });
    }

    /// When the next summary is due without a call ending, if any is pending.
    pub(crate) fn next_summary(&self) -> Option<Instant> {
        let inner = self.lock();
        match (inner.output.due(), inner.host.due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Drop for PluginLog {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        let (output, host) = (inner.output.take(), inner.host.take());
        report(&inner.name, output, host);
    }
}

fn report(name: &str, output: Option<Dropped>, host: Option<Dropped>) {
    if let Some(dropped) = output {
        summarise(name, Bucket::Output, dropped);
    }
    if let Some(dropped) = host {
        summarise(name, Bucket::Host, dropped);
    }
}

fn summarise(plugin: &str, bucket: Bucket, dropped: Dropped) {
    let Dropped { lines, bytes } = dropped;
    match bucket {
        Bucket::Output => tracing::warn!(
            plugin,
            dropped_lines = lines,
            dropped_bytes = bytes,
            "plugin \"{plugin}\": dropped {lines} log lines ({bytes} bytes) over the log budget"
        ),
        Bucket::Host => tracing::warn!(
            plugin,
            dropped_lines = lines,
            "plugin \"{plugin}\": dropped {lines} host warnings about its calls over the log budget"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LogLimits {
        LogLimits {
            lines_per_sec: 10,
            burst_lines: 20,
            bytes_per_sec: 1000,
            burst_bytes: 4000,
            line_bytes: 100,
        }
    }

    /// How many of `n` lines of `bytes` bytes pass at `now`.
    fn passed(budget: &mut LogBudget, now: Instant, n: usize, bytes: usize) -> usize {
        (0..n).filter(|_| budget.admit(now, bytes)).count()
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let t0 = Instant::now();
        let mut b = LogBudget::new(limits(), t0);
        assert_eq!(passed(&mut b, t0, 1000, 10), 20);
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(passed(&mut b, t1, 1000, 10), 5);
        // A long quiet spell refills to the burst, not beyond.
        let t2 = t1 + Duration::from_secs(3600);
        assert_eq!(passed(&mut b, t2, 1000, 10), 20);
    }

    #[test]
    fn bytes_are_budgeted_too() {
        let t0 = Instant::now();
        let mut b = LogBudget::new(limits(), t0);
        assert_eq!(passed(&mut b, t0, 100, 1000), 4);
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(passed(&mut b, t1, 100, 1000), 2);
        // A line larger than the burst costs the whole burst, no more.
        let t2 = t1 + Duration::from_secs(4);
        assert!(b.admit(t2, 1 << 20));
        assert!(!b.admit(t2, 1));
    }

    #[test]
    fn drops_are_counted_and_summarised_once_per_interval() {
        let t0 = Instant::now();
        let mut b = LogBudget::new(limits(), t0);
        assert_eq!(b.summary(t0, true), None, "nothing dropped");
        passed(&mut b, t0, 120, 7);
        // Not mid-call before an interval has passed since the first drop...
        assert_eq!(b.summary(t0, false), None);
        assert_eq!(b.due(), Some(t0 + SUMMARY_INTERVAL));
        // ...but at once when the call ends: the first summary.
        let first = Dropped {
            lines: 100,
            bytes: 700,
        };
        assert_eq!(b.summary(t0, true), Some(first));
        assert_eq!(b.due(), None);

        // More drops soon after: not even at the end of the call.
        let t1 = t0 + Duration::from_secs(1);
        passed(&mut b, t1, 50, 1);
        assert_eq!(b.summary(t1, true), None);
        // Once an interval passed since their first, mid-call too.
        let t2 = t1 + SUMMARY_INTERVAL;
        assert!(!b.admit(t1, 1));
        assert_eq!(b.summary(t2 - Duration::from_millis(1), false), None);
        let second = b.summary(t2, false).expect("due");
        assert_eq!(second.lines, 50 - 10 + 1);
        assert_eq!(b.take(), None);
    }

    #[test]
    fn take_hands_over_pending_drops() {
        let t0 = Instant::now();
        let mut b = LogBudget::new(limits(), t0);
        passed(&mut b, t0, 25, 1);
        assert_eq!(b.take(), Some(Dropped { lines: 5, bytes: 5 }));
        assert_eq!(b.take(), None);
    }

    #[test]
    fn a_clock_going_back_does_not_refill() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut b = LogBudget::new(limits(), t0);
        passed(&mut b, t0, 20, 1);
        assert!(!b.admit(t0 - Duration::from_secs(5), 1));
        assert!(!b.admit(t0, 1));
    }

    #[test]
    fn lines_are_cut_with_a_marker_and_escaped() {
        assert!(matches!(clip_line("hello\tworld", 100), Cow::Borrowed(_)));
        assert_eq!(clip_line("a\nb\r\u{1b}[31m", 100), "a\\nb\\r\\u{1b}[31m");
        let long = "é".repeat(100);
        let cut = clip_line(&long, 50);
        assert!(cut.len() <= 50, "{}", cut.len());
        assert!(cut.ends_with(TRUNCATED), "{cut}");
        assert!(cut.starts_with("éé"));
        // Exactly at the limit: kept whole.
        let exact = "x".repeat(50);
        assert_eq!(clip_line(&exact, 50), exact);
        assert_eq!(clip_line(&"x".repeat(51), 50).len(), 50);
        // Escapes that still fit keep the line whole.
        let escaped = format!("\n{}", "x".repeat(45));
        assert_eq!(clip_line(&escaped, 50).len(), 47);
    }
}
