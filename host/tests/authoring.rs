//! Plugin authoring as an author does it: `wasmqq plugin new`, `wasmqq
//! plugin build`, then the plugin answering through `wasmqq plugin try` and
//! the test harness.
//!
//! The Rust test builds a fresh project with cargo. It shares the
//! workspace's target folder (`CARGO_TARGET_DIR`, else `target/`), where
//! `make plugins` already compiled the SDK for wasm32-wasip2, so only the new
//! crate is compiled.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wasmqq::harness::{PluginHarness, reply_text};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The target folder the plugins are built in (shared with `make plugins`).
fn shared_target() -> PathBuf {
    std::env::var_os("WASMQQ_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

fn wasmqq(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmqq"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "off")
        .env("CARGO_TARGET_DIR", shared_target())
        .output()
        .expect("run wasmqq")
}

fn ok(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "wasmqq failed:\n{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn new_rust_plugin_builds_and_answers() {
    let tmp = tempfile::tempdir().unwrap();
    // Outside the checkout: found through the binary's own checkout.
    let created = ok(wasmqq(tmp.path(), &["plugin", "new", "quiz-bot"]));
    assert!(
        created.starts_with("created Rust plugin \"quiz-bot\" in quiz-bot\n"),
        "{created}"
    );
    let project = tmp.path().join("quiz-bot");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        "tests/plugin.rs",
        "README.md",
    ] {
        assert!(project.join(file).is_file(), "{file} missing");
    }
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    let sdk = workspace().join("plugin-api");
    assert!(
        manifest.contains(&format!(
            "wasmqq-plugin-api = {{ path = {:?} }}",
            sdk.display().to_string()
        )),
        "{manifest}"
    );
    assert!(manifest.contains("\n[workspace]\n"), "{manifest}");

    // A second `new` into the same folder is refused.
    let again = wasmqq(tmp.path(), &["plugin", "new", "quiz-bot"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // Build into the drop-in folder (default plugins.d, relative to the cwd).
    let printed = ok(wasmqq(&project, &["plugin", "build"]));
    let wasm = project.join("plugins.d/quiz_bot.wasm");
    assert_eq!(printed.trim(), "plugins.d/quiz_bot.wasm");
    assert!(wasm.is_file());

    let out = ok(wasmqq(
        tmp.path(),
        &[
            "plugin",
            "try",
            wasm.to_str().unwrap(),
            "!quiz-bot hello world",
            "/quiz-bot",
            "--no-cache",
            "--expect",
            "call #2",
        ],
    ));
    assert_eq!(
        out,
        "> !quiz-bot hello world\nreply: tester, I heard 2 words: hello world (call #1)\n\
         > /quiz-bot\nreply: tester, I heard nothing (call #2)\n"
    );
    let failed = wasmqq(
        tmp.path(),
        &[
            "plugin",
            "try",
            wasm.to_str().unwrap(),
            "!quiz-bot",
            "--no-cache",
            "--expect",
            "something else",
        ],
    );
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("--expect: no reply contains"));

    // The same file through the library harness.
    let mut plugin = PluginHarness::load(&wasm).unwrap();
    assert_eq!(plugin.info().name, "quiz-bot");
    plugin.from_user(7, "Bob");
    assert_eq!(
        reply_text(&plugin.command("!quiz-bot one").unwrap()),
        "Bob, I heard 1 word: one (call #1)"
    );
}

#[test]
fn new_python_plugin_has_the_wit_and_a_test() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("py/greeter");
    let created = ok(wasmqq(
        tmp.path(),
        &[
            "plugin",
            "new",
            "greeter",
            "--lang",
            "python",
            "--dir",
            project.to_str().unwrap(),
        ],
    ));
    assert!(
        created.starts_with("created Python plugin \"greeter\" in py/greeter\n"),
        "{created}"
    );
    let app = std::fs::read_to_string(project.join("app.py")).unwrap();
    assert!(app.contains("class Guest(exports.Guest):"), "{app}");
    assert!(app.contains("name=\"greeter\""), "{app}");
    let world = std::fs::read_to_string(project.join("wit/world.wit")).unwrap();
    assert!(world.contains("package wasmqq:plugin@0.1.0;"), "{world}");
    assert!(project.join("wit/types.wit").is_file());
    let test = std::fs::read_to_string(project.join("test_app.py")).unwrap();
    assert!(test.contains("\"!greeter hello world\""), "{test}");

    let bad = wasmqq(tmp.path(), &["plugin", "new", "Bad_Name"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("plugin name \"Bad_Name\""));
}

/// The generated project's own `cargo test` (tests/plugin.rs through the
/// harness). Slow: it compiles the host crate as a dev-dependency.
#[test]
#[ignore = "slow: compiles the host inside the generated project"]
fn generated_rust_project_passes_its_own_test() {
    let tmp = tempfile::tempdir().unwrap();
    ok(wasmqq(tmp.path(), &["plugin", "new", "weather"]));
    let status = Command::new(env!("CARGO"))
        .arg("test")
        .current_dir(tmp.path().join("weather"))
        .env("CARGO_TARGET_DIR", shared_target())
        .status()
        .unwrap();
    assert!(status.success());
}
