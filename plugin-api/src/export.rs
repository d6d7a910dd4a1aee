//! The component export: forwards the `guest` interface to the plugin that
//! [`export_plugin!`](crate::export_plugin) registered.

use std::cell::RefCell;

use crate::Plugin;
use crate::bindings::exports::wasmqq::plugin::guest::Guest;
use crate::bindings::wasmqq::plugin::types::{
    Action, CommandCall, Message, PluginInfo, TimerEvent,
};

#[cfg(target_arch = "wasm32")]
unsafe extern "Rust" {
    /// Defined by `export_plugin!` in the plugin crate.
    fn __wasmqq_plugin_new() -> Box<dyn Plugin>;
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(non_snake_case)]
unsafe fn __wasmqq_plugin_new() -> Box<dyn Plugin> {
    panic!("wasmqq plugins only run as wasm32-wasip2 components")
}

thread_local! {
    static INSTANCE: RefCell<Option<Box<dyn Plugin>>> = const { RefCell::new(None) };
}

fn with_plugin<R>(f: impl FnOnce(&mut dyn Plugin) -> R) -> R {
    INSTANCE.with(|cell| {
        let mut slot = cell.borrow_mut();
        // SAFETY: the symbol is defined by `export_plugin!` with exactly this
        // signature; a plugin crate without it fails to link.
        let plugin = slot.get_or_insert_with(|| unsafe { __wasmqq_plugin_new() });
        f(plugin.as_mut())
    })
}

struct Component;

impl Guest for Component {
    fn describe() -> PluginInfo {
        with_plugin(|p| p.describe())
    }

    fn init(config: String) -> Result<(), String> {
        with_plugin(|p| p.init(&config))
    }

    fn on_message(msg: Message) -> Vec<Action> {
        with_plugin(|p| p.on_message(msg))
    }

    fn on_command(call: CommandCall) -> Vec<Action> {
        with_plugin(|p| p.on_command(call))
    }

    fn on_timer(timer: TimerEvent) -> Vec<Action> {
        with_plugin(|p| p.on_timer(timer))
    }
}

crate::bindings::export!(Component with_types_in crate::bindings);
