//! `react`: answers messages by trigger rather than by command: thank the
//! bot and it says you're welcome, by name.
use wasmqq_plugin_api::prelude::*;

#[derive(Default)]
struct React;

impl Plugin for React {
    fn describe(&self) -> PluginInfo {
        PluginInfo::new("react", env!("CARGO_PKG_VERSION"))
            .description("Says you're welcome when thanked")
            .trigger(r"(?i)\b(thanks|thank you|谢谢)\b")
    }

    fn on_message(&mut self, msg: Message) -> Vec<Action> {
        vec![reply(format!("You're welcome, {}!", msg.sender_name))]
    }
}

export_plugin!(React);
