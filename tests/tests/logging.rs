//! Plugin output and capability denials reach the host's log under the
//! plugin's name. A test binary of its own: tracing caches callsite interest
//! process-wide, so a capturing subscriber must not share the process with
//! other tests.

use wasmqq::abi::Action;
use wasmqq::capabilities::Grants;
use wasmqq::runtime::Call;
use wasmqq_tests::dispatch::{TestBot, group};
use wasmqq_tests::logs::capture_logs_at;
use wasmqq_tests::{command, runtime, wasm};

async fn ask(plugin: &wasmqq::runtime::PluginHandle, name: &str) -> String {
    let actions = plugin.call(Call::Command(command(name, ""))).await.unwrap();
    match actions.as_slice() {
        [Action::Reply(segments)] => wasmqq_tests::text(segments),
        other => panic!("expected one reply, got {other:?}"),
    }
}

#[tokio::test]
async fn plugin_output_and_denials_go_to_the_log_under_its_name() {
    let (logs, _guard) = capture_logs_at(tracing::Level::INFO);
    let rt = runtime();
    let hostile = rt.start(wasm("hostile"), Grants::NONE, "{}").await.unwrap();
    assert_eq!(ask(&hostile, "stdout").await, "printed");
    ask(&hostile, "kv").await;
    let text = logs.text();
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no log line with {needle:?} in:\n{text}"))
            .to_string()
    };
    let out = line("hostile says hello on stdout");
    assert!(
        out.contains("plugin=hostile") && out.contains("stream=\"stdout\""),
        "{out}"
    );
    assert!(line("hostile says hello on stderr").contains("stream=\"stderr\""));
    let denied = line("which it was not granted");
    assert!(
        denied.contains("WARN") && denied.contains("plugin=hostile"),
        "{denied}"
    );
}

/// One message can be followed into its plugin: what the plugin logs during
/// the call carries the message's span (its id and chat) and a per-call span
/// naming the plugin and the export.
#[tokio::test]
async fn a_plugin_call_logs_inside_the_message_span() {
    let (logs, _guard) = capture_logs_at(tracing::Level::INFO);
    let mut bot = TestBot::new(&["hostile"], TestBot::config()).await;
    let chat = group(7, "ops");
    bot.say(&chat, 42, "!stdout");
    assert_eq!(bot.reply_text().await, "printed");
    let line = logs
        .lines_with(&["hostile says hello on stdout"])
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no plugin output in:\n{}", logs.text()));
    assert!(
        line.contains("message{msg_id=2")
            && line.contains("call{plugin=hostile export=on-command}"),
        "{line}"
    );
}
