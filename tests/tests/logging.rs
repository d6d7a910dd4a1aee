//! Plugin output and capability denials reach the host's log under the
//! plugin's name. A test binary of its own: tracing caches callsite interest
//! process-wide, so a capturing subscriber must not share the process with
//! other tests.

use wasmqq::runtime::abi::Action;
use wasmqq::runtime::{Call, Grants};
use wasmqq_tests::{command, runtime, wasm};

async fn ask(plugin: &wasmqq::runtime::PluginHandle, name: &str) -> String {
    let actions = plugin.call(Call::Command(command(name, ""))).await.unwrap();
    match actions.as_slice() {
        [Action::Reply(segments)] => wasmqq_tests::text(segments),
        other => panic!("expected one reply, got {other:?}"),
    }
}

/// A `MakeWriter` collecting log output for assertions.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn plugin_output_and_denials_go_to_the_log_under_its_name() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = runtime();
    let hostile = rt.start(wasm("hostile"), Grants::NONE, "{}").await.unwrap();
    assert_eq!(ask(&hostile, "stdout").await, "printed");
    ask(&hostile, "kv").await;
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
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
