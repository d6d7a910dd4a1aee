//! `counter`: counts messages per chat with `count`, kept in key-value
//! storage. When storage is not granted or not available it keeps counting in
//! memory and says so.
use std::collections::HashMap;

use wasmqq_plugin_api::kv;
use wasmqq_plugin_api::prelude::*;

#[derive(Default)]
struct Counter {
    memory: HashMap<String, u64>,
}

fn chat_key(chat: &Chat) -> String {
    let kind = match chat.kind {
        ChatKind::Friend => "friend",
        ChatKind::Group => "group",
        ChatKind::Discussion => "discussion",
        ChatKind::Session => "session",
    };
    format!("count/{kind}/{}", chat.id)
}

fn stored(key: &str) -> Result<u64, HostError> {
    Ok(kv::get(key)?
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

impl Counter {
    fn bump(&mut self, key: String) -> Result<u64, (u64, HostError)> {
        let kv_result = stored(&key).and_then(|n| {
            kv::set(&key, (n + 1).to_string().as_bytes())?;
            Ok(n + 1)
        });
        kv_result.map_err(|e| {
            let n = self.memory.entry(key).or_insert(0);
            *n += 1;
            (*n, e)
        })
    }
}

impl Plugin for Counter {
    fn describe(&self) -> PluginInfo {
        PluginInfo::new("counter", env!("CARGO_PKG_VERSION"))
            .description("Counts how often `count` was used in each chat")
            .command(CommandSpec::new("count").help("add one to this chat's counter and show it"))
            .capability(Capability::Kv)
    }

    fn on_command(&mut self, call: CommandCall) -> Vec<Action> {
        match self.bump(chat_key(&call.message.chat)) {
            Ok(n) => vec![reply(format!("Count for this chat: {n}"))],
            Err((n, why)) => {
                let why = match why {
                    HostError::NotGranted(_) => "storage is not granted to me".to_string(),
                    HostError::Unavailable(s)
                    | HostError::Invalid(s)
                    | HostError::QuotaExceeded(s) => s,
                };
                vec![reply(format!(
                    "Count for this chat: {n} (kept in memory only, {why}; it resets when I restart)"
                ))]
            }
        }
    }
}

export_plugin!(Counter);
