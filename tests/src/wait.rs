//! How long tests wait, and waiting for a condition.

use std::time::Duration;

/// How long any wait for something that should happen may take before the
/// test fails (generous: the machine is shared and has two cores).
pub const WAIT: Duration = Duration::from_secs(10);

/// Waits until `f` holds (polling every 20 ms) or panics with `what` after
/// [`WAIT`].
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
