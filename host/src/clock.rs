//! The host's one clock helper: wall-clock time in unix milliseconds, as
//! plugins, timers, the journal and the harness see it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in unix milliseconds (0 if the system clock is before 1970).
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
