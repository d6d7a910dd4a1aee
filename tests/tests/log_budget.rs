//! The log budget with the `log-flood` fixture: floods through `log.write`,
//! stdout and refused host calls reach the host's log as a bounded number of
//! lines and one summary naming the plugin and what was dropped, while a
//! well-behaved plugin's few lines all get through.
//!
//! A test binary of its own, every test capturing at INFO: tracing caches
//! callsite interest process-wide.

use std::time::{Duration, Instant};

use tracing::Level;
use wasmqq::abi::Capability;
use wasmqq::capabilities::Grants;
use wasmqq::runtime::{Limits, PluginHandle};
use wasmqq::timers::TimerLimits;
use wasmqq_tests::capabilities::{CapsHost, Logs, capture_logs_at, say};
use wasmqq_tests::{runtime_with, test_limits, wasm};

/// The `[limits]` defaults: `log_burst_lines` and `log_lines_per_sec`.
const BURST: usize = 200;
const PER_SEC: f64 = 50.0;

/// Lines the floods write in one call.
const FLOOD: usize = 100_000;

/// Test limits with a deadline long enough for a 100,000-line call on a
/// slow machine.
fn long_calls() -> Limits {
    Limits {
        call_timeout_ms: 30_000,
        ..test_limits()
    }
}

async fn flood_plugin() -> PluginHandle {
    runtime_with(long_calls())
        .start(wasm("log-flood"), Grants::NONE, "{}")
        .await
        .expect("log-flood starts")
}

/// Run `name args` and return its reply, what it logged and how long it took.
async fn logged_by(
    logs: &Logs,
    plugin: &PluginHandle,
    name: &str,
    args: &str,
) -> (String, String, Duration) {
    let from = logs.text().len();
    let started = Instant::now();
    let answer = say(plugin, name, args).await;
    let took = started.elapsed();
    (answer, logs.text()[from..].to_string(), took)
}

/// At most the burst plus the rate over the call's duration, and a few lines
/// more (summaries); well under 1 MB.
fn assert_bounded(text: &str, took: Duration) {
    let lines = text.lines().count();
    let max = BURST + (PER_SEC * took.as_secs_f64()).ceil() as usize + 4;
    assert!(
        lines <= max,
        "{lines} lines logged in {took:?}, at most {max} expected"
    );
    assert!(text.len() < 256 << 10, "{} bytes logged", text.len());
}

/// The count in the summary line `plugin "log-flood": dropped N <what>`.
fn dropped(text: &str, what: &str) -> usize {
    let prefix = "plugin \"log-flood\": dropped ";
    let line = text
        .lines()
        .find(|l| l.contains(prefix) && l.contains(what) && l.contains("over the log budget"))
        .unwrap_or_else(|| panic!("no summary of dropped {what} in:\n{}", tail(text)));
    let n = line.split(prefix).nth(1).and_then(|s| s.split(' ').next());
    n.and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line}"))
}

/// The last lines of a long log, for failure messages.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn count(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn the_bounds_checked_are_the_default_budget() {
    let limits = long_calls();
    assert_eq!(limits.log_burst_lines as usize, BURST);
    assert_eq!(f64::from(limits.log_lines_per_sec), PER_SEC);
}

#[tokio::test]
async fn a_log_write_flood_is_cut_to_the_budget_and_summarised() {
    let (logs, _guard) = capture_logs_at(Level::INFO);
    let flood = flood_plugin().await;
    let (answer, text, took) = logged_by(&logs, &flood, "log", &FLOOD.to_string()).await;
    assert_eq!(answer, format!("logged {FLOOD}"));
    assert_bounded(&text, took);
    let logged = count(&text, "through log.write");
    assert!(logged >= BURST, "only {logged} lines got through");
    assert_eq!(
        logged + dropped(&text, "log lines ("),
        FLOOD,
        "{}",
        tail(&text)
    );
}

#[tokio::test]
async fn a_stdout_flood_is_cut_to_the_budget_and_summarised() {
    let (logs, _guard) = capture_logs_at(Level::INFO);
    let flood = flood_plugin().await;
    let (answer, text, took) = logged_by(&logs, &flood, "print", &FLOOD.to_string()).await;
    assert_eq!(answer, format!("printed {FLOOD}"));
    assert_bounded(&text, took);
    let logged = count(&text, "on stdout") + count(&text, "on stderr");
    assert!(logged >= BURST, "only {logged} lines got through");
    // Every line written, the one on stderr too, is logged or counted.
    assert_eq!(
        logged + dropped(&text, "log lines ("),
        FLOOD + 1,
        "{}",
        tail(&text)
    );
}

#[tokio::test]
async fn long_lines_are_cut_with_a_marker() {
    let (logs, _guard) = capture_logs_at(Level::INFO);
    let flood = flood_plugin().await;
    let (answer, text, _) = logged_by(&logs, &flood, "long", "1000000").await;
    assert_eq!(answer, "long 1000000");
    for needle in ["long line yyy", "long stdout yyy"] {
        let lines: Vec<&str> = text.lines().filter(|l| l.contains(needle)).collect();
        assert_eq!(lines.len(), 1, "{needle}: {} lines", lines.len());
        assert!(lines[0].contains("…[truncated]"), "{needle}: no marker");
        assert!(lines[0].len() < 2300, "{needle}: {} bytes", lines[0].len());
    }
    // The rest of the long line is skipped up to its newline, no further.
    assert_eq!(count(&text, "after the long line"), 1, "{text}");
    // A newline inside a line cannot forge a line of its own.
    assert_eq!(count(&text, "a line\\nforged: INFO"), 1, "{text}");
    assert!(!text.lines().any(|l| l.starts_with("forged")), "{text}");
    assert!(text.len() < 8 << 10, "{} bytes logged", text.len());
}

#[tokio::test]
async fn refused_host_calls_in_a_loop_log_a_bounded_number_of_warnings() {
    let (logs, _guard) = capture_logs_at(Level::INFO);
    let flood = flood_plugin().await;
    // Four refused calls a round, none granted.
    let (answer, text, took) = logged_by(&logs, &flood, "refused", "5000").await;
    assert_eq!(answer, "refused 20000");
    assert_bounded(&text, took);
    let warned = count(&text, "which it was not granted; refused");
    assert!(warned >= 1, "no refusal was logged");
    assert_eq!(
        warned + dropped(&text, "host warnings"),
        20_000,
        "{}",
        tail(&text)
    );
}

#[tokio::test]
async fn refused_timer_requests_over_the_quota_log_a_bounded_number_of_warnings() {
    let (logs, _guard) = capture_logs_at(Level::INFO);
    let dir = tempfile::tempdir().expect("tempdir");
    let timers = TimerLimits {
        max_per_plugin: 10,
        ..TimerLimits::default()
    };
    let host = CapsHost::open_with(&dir.path().join("wasmqq.db"), long_calls(), timers);
    let grants: Grants = [Capability::Timers].into_iter().collect();
    let flood = host.start("log-flood", grants).await;
    let (answer, text, took) = logged_by(&logs, &flood, "timers", "20000").await;
    assert_eq!(answer, "timers 10 refused 19990");
    assert_bounded(&text, took);
    let warned = count(&text, "timer refused: timer quota");
    assert!(warned >= 1, "no refusal was logged");
    assert_eq!(
        warned + dropped(&text, "host warnings"),
        19_990,
        "{}",
        tail(&text)
    );
}

#[tokio::test]
async fn a_well_behaved_plugin_logs_every_line_next_to_a_flooding_one() {
    let (logs, _guard) = capture_logs_at(Level::INFO);
    let flood = flood_plugin().await;
    say(&flood, "log", &FLOOD.to_string()).await;
    let quiet = flood_plugin().await;
    let (answer, text, _) = logged_by(&logs, &quiet, "quiet", "").await;
    assert_eq!(answer, "quiet");
    for i in 0..5 {
        assert_eq!(count(&text, &format!("quiet log line {i}")), 1, "{text}");
        assert_eq!(count(&text, &format!("quiet stdout line {i}")), 1, "{text}");
    }
    assert!(!text.contains("over the log budget"), "{text}");
}

/// Send actions returned without the `send` grant are dropped by the
/// dispatcher with a warning each, within the plugin's budget for host
/// warnings: 1,000 refused actions log a bounded number of lines.
#[tokio::test]
async fn refused_send_actions_log_a_bounded_number_of_warnings() {
    use wasmqq_tests::dispatch::{TestBot, group};
    let (logs, _guard) = capture_logs_at(Level::INFO);
    // `!spam` returns 50 send actions; `flood` is granted nothing here.
    let runtime = runtime_with(Limits {
        actions: 50,
        ..long_calls()
    });
    let mut bot = TestBot::with_runtime(&["flood"], TestBot::config(), runtime).await;
    let g = group(1, "dev");
    let from = logs.text().len();
    let started = Instant::now();
    for _ in 0..20 {
        bot.say(&g, wasmqq_sim::known::BOB, "!spam");
    }
    bot.no_reply(Duration::from_millis(1_500)).await;
    let took = started.elapsed();
    let text = logs.text()[from..].to_string();
    let warned = count(&text, "without the \"send\" capability");
    assert!(warned >= 1, "no refusal was logged: {}", tail(&text));
    assert_bounded(&text, took);
    assert!(warned < 1_000, "every refused action was logged");
}
