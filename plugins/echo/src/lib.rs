//! `echo`: the smallest useful plugin: says back what it is given.
use wasmqq_plugin_api::prelude::*;

#[derive(Default)]
struct Echo;

impl Plugin for Echo {
    fn describe(&self) -> PluginInfo {
        PluginInfo::new("echo", env!("CARGO_PKG_VERSION"))
            .description("Repeats what you say")
            .command(CommandSpec::new("echo").usage("TEXT").help("say TEXT back"))
    }

    fn on_command(&mut self, call: CommandCall) -> Vec<Action> {
        vec![reply(call.raw_args)]
    }
}

export_plugin!(Echo);
