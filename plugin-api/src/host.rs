//! The host's services, one module per capability.
//!
//! [`log`] and [`clock`] are always available; the others need the capability
//! requested in `describe` and granted in the bot's configuration, and return
//! [`HostError::NotGranted`](crate::HostError::NotGranted) otherwise.

pub use crate::bindings::wasmqq::plugin::{clock, contacts, http, kv, messaging, timers};

/// Logging into the host's log under the plugin's name.
pub mod log {
    use crate::bindings::wasmqq::plugin::log::{Level, write};

    /// Log at debug level.
    pub fn debug(message: &str) {
        write(Level::Debug, message);
    }

    /// Log at info level.
    pub fn info(message: &str) {
        write(Level::Info, message);
    }

    /// Log at warn level.
    pub fn warn(message: &str) {
        write(Level::Warn, message);
    }

    /// Log at error level.
    pub fn error(message: &str) {
        write(Level::Error, message);
    }
}
