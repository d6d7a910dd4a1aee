//! The Python example plugin (`plugins/hello-py`, built by componentize-py
//! from the same WIT as the Rust plugins) answered through the host.
//!
//! `make plugins` builds it when componentize-py can be installed; when the
//! component is missing the test tries `make python-plugins` itself, and
//! skips with a message only if that cannot produce it.
//!
//! A Python component is large (≈18 MB: the interpreter and the standard
//! library), so the runtime compiles it once into a component cache under the
//! target folder; later runs load it precompiled.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use wasmqq::abi::Capability;
use wasmqq::harness::{PluginHarness, reply_text};
use wasmqq::runtime::{Origin, Runtime, RuntimeConfig};
use wasmqq_tests::wasm_dir;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The built hello-py component, building it if needed; `None` (after a
/// printed explanation) when componentize-py is not available.
fn hello_py() -> Option<PathBuf> {
    let path = wasm_dir().join("hello_py.wasm");
    if !path.exists() {
        let status = Command::new("make")
            .arg("-C")
            .arg(workspace())
            .arg(format!("WASM_DIR={}", wasm_dir().display()))
            .arg("python-plugins")
            .status();
        if let Err(e) = status {
            eprintln!("cannot run make: {e}");
        }
    }
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: {} is missing and componentize-py could not be installed \
             (make python-plugins); the Python plugin is not tested",
            path.display()
        );
        None
    }
}

/// A component cache that outlives the test run: the first run compiles
/// the Python component (tens of seconds in a debug build), later runs load
/// it in milliseconds.
fn cache_dir() -> PathBuf {
    wasm_dir().join("../../wasmqq-test-cache")
}

#[test]
fn python_plugin_answers_through_the_host() {
    let Some(path) = hello_py() else { return };
    let mut plugin = PluginHarness::builder(&path)
        .grant(Capability::Kv)
        .cache_dir(cache_dir())
        .load()
        .expect("load hello-py");
    let info = plugin.info().clone();
    assert_eq!(info.name, "hello-py");
    assert_eq!(info.capabilities, [Capability::Kv]);
    assert_eq!(
        info.commands
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["hello", "pyversion"]
    );

    assert_eq!(
        reply_text(&plugin.command("!hello bob").unwrap()),
        "Hello, bob! (greeting #1, from Python)"
    );
    // The alias, the sender's name, and the count kept in kv.
    plugin.from_user(20002, "Alice");
    assert_eq!(
        reply_text(&plugin.command("!hi").unwrap()),
        "Hello, Alice! (greeting #2, from Python)"
    );
    let version = reply_text(&plugin.command("!pyversion").unwrap());
    assert!(version.starts_with("Python 3."), "{version}");
    assert!(version.ends_with("on wasi"), "{version}");
    assert!(plugin.message("no command here").unwrap().is_empty());
}

#[test]
fn python_plugin_without_kv_is_told_why() {
    let Some(path) = hello_py() else { return };
    let mut plugin = PluginHarness::builder(&path)
        .cache_dir(cache_dir())
        .load()
        .expect("load hello-py");
    assert_eq!(
        reply_text(&plugin.command("!hello").unwrap()),
        "Hello, tester! (not counting: kv is not granted, from Python)"
    );
}

fn time_compile(rt: &Runtime, path: &Path) -> (f64, Origin) {
    let start = Instant::now();
    let compiled = rt.compile(path).expect("compile");
    (start.elapsed().as_secs_f64() * 1000.0, compiled.origin)
}

/// First load (compile and store in the cache) against cached loads of the
/// Python component. Prints the figures; asserts only where each came from.
/// `cargo test --release -p wasmqq-tests --test python -- --ignored --nocapture`
#[test]
#[ignore = "timing report: run explicitly"]
fn python_load_times() {
    let Some(path) = hello_py() else { return };
    let cache = tempfile::tempdir().unwrap();
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache.path().into()),
        ..RuntimeConfig::default()
    })
    .unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    let (first, origin) = time_compile(&rt, &path);
    assert_eq!(origin, Origin::Compiled);
    let mut cached = Vec::new();
    for _ in 0..5 {
        let (ms, origin) = time_compile(&rt, &path);
        assert_eq!(origin, Origin::Cached);
        cached.push(ms);
    }
    cached.sort_by(f64::total_cmp);
    let cwasm: u64 = std::fs::read_dir(cache.path())
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let start = Instant::now();
    let handle = tokio
        .block_on(rt.start(&path, wasmqq::capabilities::Grants::NONE, "{}"))
        .unwrap();
    let started = start.elapsed().as_secs_f64() * 1000.0;
    drop(handle);
    println!(
        "hello_py.wasm {:.1} MB (cache entry {:.1} MB): first load (compile) {first:.0} ms; \
         cached load median {:.1} ms (min {:.1}, max {:.1}, 5 loads); \
         cached load + instantiate + describe + init {started:.0} ms",
        size as f64 / 1e6,
        cwasm as f64 / 1e6,
        cached[2],
        cached[0],
        cached[4],
    );
}
