//! The simulator's built-in population (one spelling, in the simulator's
//! `known` module), with the short names the end-to-end tests use.

pub use wasmqq_sim::known::{ALICE, BOB, BOT, CAROL, DAVE, DEV_GROUP, FAMILY_GROUP, WEEKEND};

/// The group "wasmqq dev" (Alice, Bob, Dave).
pub const DEV: u64 = DEV_GROUP;
/// The group "Family" (Carol, Bob).
pub const FAMILY: u64 = FAMILY_GROUP;
