//! A message waiting in the simulator's queue, and the clock it is
//! stamped with (shared by the WebQQ and OneBot faces and the state).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::model::ChatKind;
use wasmqq_wire::content::Segment;

/// An incoming message waiting for a poll, in public terms.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub msg_id: u64,
    pub time: u64,
    pub chat: ChatKind,
    pub from: u64,
    /// Group number or discussion id (0 for friends).
    pub to: u64,
    pub segments: Vec<Segment>,
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
