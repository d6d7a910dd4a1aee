//! The test support of every test package and of the benches, in one crate:
//!
//! * shared by all: where the built plugins are ([`wasm`]), the
//!   simulator's population ([`population`]) and control API
//!   ([`control`]), waiting ([`wait`]), log capture ([`logs`]), segment
//!   text ([`text`]);
//! * one module per package under test: [`protocol`] (a hand-driven
//!   SmartQQ client, for the simulator's tests), [`onebot_ws`] (a OneBot
//!   client of the simulator's OneBot face), [`webqq`] (the WebQQ client
//!   against the simulator), [`onebot_peer`] (a fake OneBot implementation
//!   for the OneBot client), [`linechat`] (a line client for the chat room),
//!   [`capabilities`], [`dispatch`] and [`e2e`] (the host, from one plugin
//!   call to the whole bot), [`soak`] (the kill -9 soak);
//! * the host's test doubles ([`capabilities::ChannelOutbound`],
//!   [`capabilities::StaticContacts`]) live here, not in the host's API.
//!
//! Every package lists this crate as a dev-dependency (a cycle Cargo
//! allows: an integration test links the package's one library, which this
//! crate links too).
//!
//! The plugins and fixtures are built once per test run by `make plugins`
//! (`make test` does it first) into `target/wasm32-wasip2/release`.

pub mod capabilities;
pub mod control;
pub mod linechat;
pub mod onebot_peer;
pub mod onebot_ws;
pub mod population;
pub mod protocol;
pub mod soak;
pub mod wait;
pub mod wasm;
pub mod webqq;

use std::path::PathBuf;
use std::sync::Arc;

use wasmqq::abi::{Chat, ChatKind, CommandCall, Message, Segment};
use wasmqq::capabilities::Services;
use wasmqq::runtime::{Limits, Runtime, RuntimeConfig};

pub use wasm::wasm_dir;

/// The built component of a plugin or fixture crate (`-` becomes `_`).
/// Panics with the command to run if it has not been built.
pub fn wasm(name: &str) -> PathBuf {
    wasm::wasm_path(&format!("{}.wasm", name.replace('-', "_")))
}

/// Limits for tests: the defaults (a 1 s deadline: shorter ones make
/// well-behaved calls flaky on a loaded 2-core machine).
pub fn test_limits() -> Limits {
    Limits::default()
}

/// A runtime with test limits, in-memory kv and no component cache.
pub fn runtime() -> Arc<Runtime> {
    runtime_with(test_limits())
}

/// A runtime with `limits`, in-memory kv and no component cache.
pub fn runtime_with(limits: Limits) -> Arc<Runtime> {
    Runtime::new(RuntimeConfig {
        limits,
        cache_dir: None,
        services: Services::with_memory_kv(),
    })
    .expect("runtime")
}

/// A message in a friend chat with user 10001.
pub fn message(text: &str) -> Message {
    Message {
        id: 1,
        chat: Chat {
            kind: ChatKind::Friend,
            id: 10001,
        },
        sender: 10001,
        sender_name: "tester".into(),
        segments: vec![Segment::Text(text.into())],
        time: 0,
    }
}

/// A command call `name args…` as the dispatcher would build it.
pub fn command(name: &str, raw_args: &str) -> CommandCall {
    CommandCall {
        name: name.into(),
        args: raw_args.split_whitespace().map(String::from).collect(),
        raw_args: raw_args.into(),
        message: message(&format!("!{name} {raw_args}")),
    }
}

pub mod dispatch;
pub mod e2e;
pub mod logs;

/// The text of segments, faces as `[face:N]`.
pub fn text(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Segment::Text(t) => t.clone(),
            Segment::Face(n) => format!("[face:{n}]"),
            Segment::Mention(n) => format!("@{n}"),
        })
        .collect()
}
