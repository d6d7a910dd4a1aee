//! The wasmqq plugin SDK.
//!
//! A wasmqq plugin is a WebAssembly component that answers chat messages and
//! bot commands. This crate hides the generated component bindings behind one
//! trait, [`Plugin`], one macro, [`export_plugin!`], and a few helpers.
//!
//! # A complete plugin
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "echo"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! wasmqq-plugin-api = "0.1"
//! ```
//!
//! `src/lib.rs`:
//!
//! ```no_run
//! use wasmqq_plugin_api::prelude::*;
//!
//! #[derive(Default)]
//! struct Echo;
//!
//! impl Plugin for Echo {
//!     fn describe(&self) -> PluginInfo {
//!         PluginInfo::new("echo", env!("CARGO_PKG_VERSION"))
//!             .description("Repeats what you say")
//!             .command(CommandSpec::new("echo").usage("TEXT").help("say TEXT back"))
//!     }
//!
//!     fn on_command(&mut self, call: CommandCall) -> Vec<Action> {
//!         vec![reply(call.raw_args)]
//!     }
//! }
//!
//! export_plugin!(Echo);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` and drop
//! `target/wasm32-wasip2/release/echo.wasm` into the bot's plugin folder.
//!
//! # Calls and state
//!
//! The host creates one instance of your type and calls it one event at a
//! time, so `&mut self` state works as you expect. If a call traps (a panic,
//! running out of memory or time), the host throws the instance away and
//! builds a fresh one: keep anything that must survive in [`kv`] storage.
//!
//! # Capabilities
//!
//! [`log`] and [`clock`] are always available. [`kv`], [`timers`],
//! [`messaging`], [`contacts`] and [`http`] must be requested in
//! [`PluginInfo::capability`] *and* granted in the bot's configuration;
//! otherwise they return [`HostError::NotGranted`].

#![warn(missing_docs)]

mod bindings {
    #![allow(missing_docs)]
    wit_bindgen::generate!({
        path: "wit/since_v0.1.0",
        world: "plugin",
    });
}

mod build;
mod export;
pub mod host;

pub use bindings::exports::wasmqq::plugin::guest::Guest as __Guest;
pub use bindings::wasmqq::plugin::types::{
    Action, Capability, Chat, ChatKind, CommandCall, CommandSpec, HostError, Message, Outgoing,
    PluginInfo, Segment, TimerEvent,
};
pub use build::{reply, reply_segments, send, text};
pub use host::{clock, contacts, http, kv, log, messaging, timers};

/// The version of the WIT package (`wasmqq:plugin`) this SDK targets.
pub const ABI_VERSION: &str = "0.1.0";

/// Everything a plugin usually needs: `use wasmqq_plugin_api::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Action, Capability, Chat, ChatKind, CommandCall, CommandSpec, HostError, Message, Plugin,
        PluginInfo, Segment, TimerEvent, export_plugin, reply, reply_segments, send, text,
    };
}

/// A wasmqq plugin. Implement [`Plugin::describe`] and the events you care
/// about, then register the type with [`export_plugin!`].
///
/// Every method has a default that does nothing, except `describe`.
pub trait Plugin {
    /// Name, version, commands, triggers and capabilities of the plugin.
    /// Called once after loading; keep it free of side effects.
    fn describe(&self) -> PluginInfo;

    /// Set up with the plugin's configuration, a JSON object (`{}` if the bot's
    /// configuration gives none). Returning `Err` refuses the plugin and the
    /// text is logged by the host.
    fn init(&mut self, config: &str) -> Result<(), String> {
        let _ = config;
        Ok(())
    }

    /// One of the commands from `describe` was used. Return the replies.
    fn on_command(&mut self, call: CommandCall) -> Vec<Action> {
        let _ = call;
        Vec::new()
    }

    /// A message matched one of the triggers from `describe`.
    fn on_message(&mut self, msg: Message) -> Vec<Action> {
        let _ = msg;
        Vec::new()
    }

    /// A timer scheduled through [`timers`] fired.
    fn on_timer(&mut self, timer: TimerEvent) -> Vec<Action> {
        let _ = timer;
        Vec::new()
    }
}

/// Register a [`Plugin`] type (which must implement `Default`) as the
/// component's implementation. Use it once per plugin crate.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub fn __wasmqq_plugin_new() -> ::std::boxed::Box<dyn $crate::Plugin> {
            ::std::boxed::Box::new(<$plugin as ::core::default::Default>::default())
        }
    };
}
