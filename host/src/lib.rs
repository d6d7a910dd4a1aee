//! wasmqq host library: the plugin runtime, routing, and the command line.
//! The WebQQ client (`wasmqq-webqq`) and simulator (`wasmqq-sim`) are crates
//! of their own under `host/`.

pub mod abi;
pub mod account;
pub mod bot;
pub mod capabilities;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dispatch;
pub mod harness;
pub mod helper_thread;
pub mod outbox;
mod panic;
pub mod platform;
pub mod registry;
pub mod runtime;
pub mod store;
pub mod timers;
