//! The runtime against real built components: the example plugins answer,
//! and every adversarial fixture is contained while a well-behaved plugin
//! keeps answering.

use std::time::Duration;

use wasmqq::abi::{Action, Segment};
use wasmqq::capabilities::Grants;
use wasmqq::runtime::{Call, CallError, LoadError, Origin, PluginHandle, Runtime};
use wasmqq_tests::{command, runtime, wasm};

fn reply_text(actions: &[Action]) -> String {
    match actions {
        [Action::Reply(segments)] => segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.clone(),
                other => format!("{other:?}"),
            })
            .collect(),
        other => panic!("expected one reply, got {other:?}"),
    }
}

async fn ask(plugin: &PluginHandle, name: &str, args: &str) -> Result<String, CallError> {
    plugin
        .call(Call::Command(command(name, args)))
        .await
        .map(|a| reply_text(&a))
}

async fn start(rt: &std::sync::Arc<Runtime>, name: &str) -> PluginHandle {
    rt.start(wasm(name), Grants::NONE, "{}")
        .await
        .unwrap_or_else(|e| panic!("start {name}: {e}"))
}

#[tokio::test]
async fn example_plugins_answer_their_commands() {
    let rt = runtime();
    let echo = start(&rt, "echo").await;
    assert_eq!(echo.info().name, "echo");
    assert_eq!(
        ask(&echo, "echo", "hello  world").await.unwrap(),
        "hello  world"
    );

    let dice = start(&rt, "dice").await;
    let rolled = ask(&dice, "roll", "2d6").await.unwrap();
    let total: u32 = rolled.rsplit("= ").next().unwrap().parse().unwrap();
    assert!((2..=12).contains(&total), "{rolled}");
    let polite = ask(&dice, "roll", "banana").await.unwrap();
    assert!(
        polite.starts_with("Sorry") && polite.contains("2d6"),
        "{polite}"
    );

    let counter = start(&rt, "counter").await;
    let first = ask(&counter, "count", "").await.unwrap();
    assert!(first.contains("1 (kept in memory only"), "{first}");
    let second = ask(&counter, "count", "").await.unwrap();
    assert!(second.contains("2 (kept in memory only"), "{second}");
}

#[tokio::test]
async fn counter_uses_storage_when_granted() {
    let rt = runtime();
    let grants = Grants::NONE.with(wasmqq::abi::Capability::Kv);
    let counter = rt.start(wasm("counter"), grants, "{}").await.unwrap();
    assert_eq!(
        ask(&counter, "count", "").await.unwrap(),
        "Count for this chat: 1"
    );
    assert_eq!(
        ask(&counter, "count", "").await.unwrap(),
        "Count for this chat: 2"
    );
}

/// Each attack fails only its own call; the hostile plugin is rebuilt and the
/// well-behaved echo answers throughout.
#[tokio::test]
async fn each_attack_fails_only_its_call() {
    let rt = runtime();
    let echo = start(&rt, "echo").await;
    for (attack, expect) in [
        ("loop", "timed out after 1000 ms"),
        ("bomb", "trapped"),
        ("panic", "trapped"),
        ("huge", "10485760 bytes of text, over the limit"),
        ("spam", "5000 actions, over the limit of 20"),
    ] {
        // A fresh plugin per attack so quarantine does not mask later ones.
        let hostile = start(&rt, "hostile").await;
        let (attacked, echoed) =
            tokio::join!(ask(&hostile, attack, ""), ask(&echo, "echo", attack));
        let err = attacked.expect_err(attack);
        assert!(err.is_fault(), "{attack}: {err}");
        assert!(err.to_string().contains(expect), "{attack}: {err}");
        assert_eq!(echoed.unwrap(), attack, "echo must answer during {attack}");
        // The instance was rebuilt: the same plugin answers the next call.
        assert_eq!(
            ask(&hostile, "ok", "").await.unwrap(),
            "ok",
            "after {attack}"
        );
        let status = hostile.status();
        assert_eq!(
            (status.faults, status.consecutive_faults, status.quarantined),
            (1, 0, false)
        );
    }
}

#[tokio::test]
async fn sandbox_denies_files_sockets_env_and_ungranted_capabilities() {
    let rt = runtime();
    let hostile = start(&rt, "hostile").await;

    let read = ask(&hostile, "readfile", "/etc/passwd").await.unwrap();
    assert!(read.starts_with("denied"), "{read}");
    let list = ask(&hostile, "listdir", "").await.unwrap();
    assert!(list.starts_with("denied"), "{list}");

    // A real listener the plugin tries to reach: it must never see a connection.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let socket = ask(&hostile, "socket", &addr).await.unwrap();
    assert!(socket.starts_with("denied"), "{socket}");
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "the plugin reached the host's socket");

    assert_eq!(
        ask(&hostile, "env", "").await.unwrap(),
        "env vars: 0 [], args: 0"
    );

    let kv = ask(&hostile, "kv", "").await.unwrap();
    assert!(kv.contains("NotGranted") && kv.contains("Kv"), "{kv}");
    // Denials are answers, not faults.
    assert_eq!(hostile.status().faults, 0);
}

#[tokio::test]
async fn consecutive_faults_quarantine_the_plugin() {
    let rt = runtime();
    let hostile = start(&rt, "hostile").await;
    let echo = start(&rt, "echo").await;
    for _ in 0..3 {
        assert!(ask(&hostile, "panic", "").await.unwrap_err().is_fault());
    }
    let err = ask(&hostile, "ok", "").await.unwrap_err();
    assert_eq!(
        err,
        CallError::Quarantined {
            plugin: "hostile".into(),
            faults: 3
        }
    );
    let status = hostile.status();
    assert!(status.quarantined);
    assert!(status.last_fault.unwrap().contains("trapped"));
    assert_eq!(
        ask(&echo, "echo", "still here").await.unwrap(),
        "still here"
    );
}

#[tokio::test]
async fn a_success_resets_the_fault_count() {
    let rt = runtime();
    let hostile = start(&rt, "hostile").await;
    for _ in 0..5 {
        assert!(ask(&hostile, "panic", "").await.is_err());
        assert!(ask(&hostile, "panic", "").await.is_err());
        assert_eq!(ask(&hostile, "ok", "").await.unwrap(), "ok");
    }
    let status = hostile.status();
    assert_eq!((status.faults, status.quarantined), (10, false));
}

#[tokio::test]
async fn bad_files_are_refused_with_clear_errors() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();

    let text = dir.path().join("notes.wasm");
    std::fs::write(&text, "hello").unwrap();
    let err = rt.compile(&text).err().unwrap();
    assert!(matches!(err, LoadError::NotWasm { .. }), "{err}");
    assert!(err.to_string().contains("notes.wasm"));

    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let err = rt.compile(&core).err().unwrap();
    assert!(matches!(err, LoadError::NotComponent { .. }), "{err}");
    assert!(err.to_string().contains("wasm32-wasip2"));

    let err = rt.compile(wasm("future-abi")).err().unwrap();
    assert!(
        err.to_string()
            .contains("built for wasmqq:plugin@9.9.0, but this host supports wasmqq:plugin@0.1.0"),
        "{err}"
    );

    let err = rt.compile(wasm("not-a-plugin")).err().unwrap();
    assert!(
        err.to_string()
            .contains("does not export wasmqq:plugin/guest"),
        "{err}"
    );

    let err = rt
        .start(wasm("bad-describe"), Grants::NONE, "{}")
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("describe failed"), "{err}");

    let err = rt.compile(dir.path().join("missing.wasm")).err().unwrap();
    assert!(
        err.to_string().contains("missing.wasm: cannot read"),
        "{err}"
    );
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk() {
    let cache = tempfile::tempdir().unwrap();
    let rt = Runtime::new(wasmqq::runtime::RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    let first = rt.compile(wasm("echo")).unwrap();
    assert_eq!(first.origin, Origin::Compiled);
    let second = rt.compile(wasm("echo")).unwrap();
    assert_eq!(second.origin, Origin::Cached);
    assert_eq!(first.hash, second.hash);
    let files = std::fs::read_dir(cache.path()).unwrap().count();
    assert_eq!(files, 1);

    // A corrupt cache entry is discarded and recompiled, not fatal.
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"garbage").unwrap();
    }
    let third = rt.compile(wasm("echo")).unwrap();
    assert_eq!(third.origin, Origin::Compiled);
    let plugin = rt
        .start_compiled(third, &|_| Ok(Default::default()))
        .await
        .unwrap();
    assert_eq!(ask(&plugin, "echo", "cached").await.unwrap(), "cached");
}

/// A plugin started from a cache entry has its image's pages given back
/// after `init` (runtime/residency.rs): its code must still run, trap,
/// rebuild and run again, also for a second runtime mapping the same entry
/// and after the first runtime is gone.
#[tokio::test]
async fn plugins_mapped_from_the_cache_run_after_their_pages_are_released() {
    let cache = tempfile::tempdir().unwrap();
    let new_rt = || {
        Runtime::new(wasmqq::runtime::RuntimeConfig {
            cache_dir: Some(cache.path().to_path_buf()),
            ..Default::default()
        })
        .unwrap()
    };
    let first = new_rt();
    // Compiled now, then mapped back from the entry just written.
    let compiled = first
        .start(wasm("hostile"), Grants::NONE, "{}")
        .await
        .unwrap();
    assert_eq!(compiled.compiled().origin, Origin::Compiled);
    let second = new_rt();
    let cached = second
        .start(wasm("hostile"), Grants::NONE, "{}")
        .await
        .unwrap();
    assert_eq!(cached.compiled().origin, Origin::Cached);
    for plugin in [&compiled, &cached] {
        assert_eq!(ask(plugin, "ok", "").await.unwrap(), "ok");
        let err = ask(plugin, "panic", "").await.unwrap_err();
        assert!(err.to_string().contains("trapped"), "{err}");
        // Rebuilt from the same (released) image.
        assert_eq!(ask(plugin, "ok", "").await.unwrap(), "ok");
    }
    drop(compiled);
    drop(first);
    assert_eq!(ask(&cached, "ok", "").await.unwrap(), "ok");
}
