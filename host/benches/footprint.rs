//! Footprint benchmark (issue 12): what an idle bot's plugin runtime costs
//! in CPU and wake-ups, and how much memory N loaded plugins take.
//!
//! A bench binary (`harness = false`), not criterion: it reads the
//! process's own counters from `/proc` (Linux only).
//!
//! - `idle`: a `Runtime` with `bench-echo` started and called once, then
//!   2 s of doing nothing: CPU time of the whole process (the sum of
//!   `/proc/self/task/*/schedstat`, nanoseconds) and context switches of
//!   all its threads (`voluntary_ctxt_switches` + `nonvoluntary_…` in
//!   `/proc/self/task/*/status`: each is a thread going to sleep, so this
//!   counts wake-ups).
//! - `rss`: `VmRSS`, `RssAnon` and `RssFile` of `/proc/self/status` after
//!   starting N renamed copies of the `bench-plug` fixture (N = 100 unless
//!   `WASMQQ_BENCH_PLUGINS` says otherwise) from a warm component cache
//!   (the first run fills it under the target's `tmp/footprint-bench-cache`
//!   and says so; run again for warm figures), against the same process
//!   before loading them.
//! - `cold`: N `bench-plug` copies loaded into an empty cache as the bot
//!   starts (`Registry::load_in_background`): when the first plugin
//!   serves, when all are loaded, CPU and cores busy. `coldchild` (named
//!   only) the same with compiles in child processes, as the binary does.
//! - `python`: RSS around a cold start (compile) of the Python example
//!   plugin, then a start from the cache; `pychild` (named only) the same
//!   with the compile in a child process.
//!
//! Only public API is used, so the same file builds against older
//! revisions for before/after figures. Plugins are read from
//! `WASMQQ_WASM_DIR` as in the other benchmarks; see `docs/benchmarks.md`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wasmqq::abi::{Chat, ChatKind, Message, Segment};
use wasmqq::capabilities::Grants;
use wasmqq::runtime::{Call, Origin, PluginHandle, Runtime, RuntimeConfig};

use wasmqq_tests::wasm::wasm_path;

/// The bytes the `bench-plug` fixture's name, command and trigger are made of.
const MARKER: &[u8] = b"benchplug-000";

/// How long the idle measurement lasts.
const IDLE: Duration = Duration::from_secs(2);

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// CPU nanoseconds and context switches of every thread of this process.
/// CPU time of this process's waited-for children (compiler processes),
/// in seconds (`cutime` + `cstime` of `/proc/self/stat`, 100 ticks/s).
fn children_cpu() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // cutime and cstime are fields 16 and 17; `rest` starts at field 3.
    (fields.get(13).copied().unwrap_or(0) + fields.get(14).copied().unwrap_or(0)) as f64 / 100.0
}

fn cpu_and_switches() -> (u64, u64) {
    let mut cpu = 0;
    let mut switches = 0;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0);
    };
    for task in tasks.flatten() {
        let dir = task.path();
        if let Ok(stat) = std::fs::read_to_string(dir.join("schedstat")) {
            cpu += stat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
        if let Ok(status) = std::fs::read_to_string(dir.join("status")) {
            for line in status.lines() {
                if let Some(rest) = line
                    .strip_prefix("voluntary_ctxt_switches:")
                    .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
                {
                    switches += rest.trim().parse::<u64>().unwrap_or(0);
                }
            }
        }
    }
    (cpu, switches)
}

/// `VmRSS`, `RssAnon`, `RssFile` in KiB.
fn rss() -> (u64, u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("RssAnon:"), field("RssFile:"))
}

fn message() -> Message {
    Message {
        id: 1,
        chat: Chat {
            kind: ChatKind::Group,
            id: 10_001,
        },
        sender: 42,
        sender_name: "alice".into(),
        segments: vec![Segment::Text("hello".into())],
        time: 1_700_000_000,
    }
}

fn idle() {
    let rt = tokio_rt();
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let handle = rt
        .block_on(runtime.start(wasm_path("bench_echo.wasm"), Grants::NONE, "{}"))
        .expect("start bench-echo");
    let call = Call::Message(message());
    let h = handle.clone();
    rt.block_on(async move { tokio::spawn(async move { h.call(call).await }).await })
        .expect("task")
        .expect("call");
    // Let whatever the call started settle.
    std::thread::sleep(Duration::from_millis(200));
    let (cpu0, sw0) = cpu_and_switches();
    let t0 = Instant::now();
    std::thread::sleep(IDLE);
    let (cpu1, sw1) = cpu_and_switches();
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "idle runtime (1 plugin, {secs:.1} s): {:.3} ms CPU per second, {:.1} context switches per second",
        (cpu1.saturating_sub(cpu0)) as f64 / 1e6 / secs,
        (sw1.saturating_sub(sw0)) as f64 / secs,
    );
    drop(handle);
}

/// Writes `n` renamed copies of the `bench-plug` fixture into `dir`.
fn write_bench_plugs(dir: &Path, n: usize) -> Vec<PathBuf> {
    let original = std::fs::read(wasm_path("bench_plug.wasm")).expect("read bench_plug.wasm");
    let at: Vec<usize> = original
        .windows(MARKER.len())
        .enumerate()
        .filter(|(_, w)| *w == MARKER)
        .map(|(i, _)| i)
        .collect();
    assert!(!at.is_empty(), "bench_plug.wasm has no marker");
    (1..=n)
        .map(|i| {
            let name = format!("benchplug-{i:03}");
            let mut bytes = original.clone();
            for &pos in &at {
                bytes[pos..pos + MARKER.len()].copy_from_slice(name.as_bytes());
            }
            let path = dir.join(format!("{name}.wasm"));
            std::fs::write(&path, bytes).expect("write plugin copy");
            path
        })
        .collect()
}

fn memory() {
    let n: usize = std::env::var("WASMQQ_BENCH_PLUGINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let rt = tokio_rt();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let plugins = root.join("footprint-bench-plugins");
    std::fs::create_dir_all(&plugins).expect("plugin folder");
    let paths = write_bench_plugs(&plugins, n);
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(root.join("footprint-bench-cache")),
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let (rss0, anon0, file0) = rss();
    let t0 = Instant::now();
    let handles: Vec<PluginHandle> = rt.block_on(async {
        let mut handles = Vec::new();
        for path in &paths {
            handles.push(
                runtime
                    .start(path, Grants::NONE, "{}")
                    .await
                    .expect("start plugin"),
            );
        }
        handles
    });
    let took = t0.elapsed();
    let (rss1, anon1, file1) = rss();
    if let Some(out) = std::env::var_os("WASMQQ_BENCH_SMAPS") {
        let _ = std::fs::copy("/proc/self/smaps", out);
    }
    let cold = handles
        .iter()
        .filter(|h| h.compiled().origin == Origin::Compiled)
        .count();
    let mb = |kib: u64| kib as f64 / 1024.0;
    println!(
        "{n} plugins started in {:.2} s{}",
        took.as_secs_f64(),
        if cold > 0 {
            format!(" ({cold} compiled: the cache was cold, run again for warm figures)")
        } else {
            " (warm cache)".into()
        }
    );
    println!(
        "  before: RSS {:.1} MB (anon {:.1}, file {:.1})",
        mb(rss0),
        mb(anon0),
        mb(file0)
    );
    println!(
        "  after:  RSS {:.1} MB (anon {:.1}, file {:.1}); added {:.1} MB, {:.0} KiB per plugin",
        mb(rss1),
        mb(anon1),
        mb(file1),
        mb(rss1.saturating_sub(rss0)),
        rss1.saturating_sub(rss0) as f64 / n as f64
    );
    // One message to every plugin, twice: the first round pages in the code
    // a call runs (if the load let it go), the second runs warm.
    for round in ["first", "second"] {
        let t0 = Instant::now();
        rt.block_on(async {
            for h in &handles {
                let mut msg = message();
                msg.segments = vec![Segment::Text(format!("{} hello", h.name()))];
                let h = h.clone();
                tokio::spawn(async move { h.call(Call::Message(msg)).await })
                    .await
                    .expect("task")
                    .expect("call");
            }
        });
        let per_call = t0.elapsed().as_secs_f64() * 1e6 / n as f64;
        let (rss2, anon2, file2) = rss();
        println!(
            "  after a {round} call to each: RSS {:.1} MB (anon {:.1}, file {:.1}); {per_call:.1} µs per call",
            mb(rss2),
            mb(anon2),
            mb(file2),
        );
    }
    drop(handles);
}

/// A cold start of N plugins (empty component cache) through
/// `Registry::load_all`: wall time, and the CPU time of the whole process
/// over it (cores kept busy = CPU / wall; wasmtime compiles each component's
/// functions in parallel on every core).
fn cold() {
    use wasmqq::registry::{Owners, Registry};
    let n: usize = std::env::var("WASMQQ_BENCH_PLUGINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let rt = tokio_rt();
    let root = tempfile::tempdir().expect("temp dir");
    let plugins = root.path().join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugin folder");
    write_bench_plugs(&plugins, n);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!("cold start, {n} plugins, empty cache, {cores} cores:");
    for round in 0..3 {
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(root.path().join(format!("cache-{round}"))),
            ..RuntimeConfig::default()
        })
        .expect("runtime");
        let registry = Registry::new(
            runtime,
            plugins.clone(),
            std::sync::Arc::new(|_| Some(wasmqq::runtime::PluginSetup::default())),
            Owners::in_memory(),
        );
        let (cpu0, _) = cpu_and_switches();
        let children0 = children_cpu();
        let t0 = Instant::now();
        let (first, loaded) = rt.block_on(async {
            // As the bot starts: in the background, serving each plugin
            // as soon as it is loaded.
            let mut snapshots = registry.subscribe();
            let task = registry.load_in_background().expect("plugin folder");
            snapshots
                .wait_for(|s| !s.plugins.is_empty())
                .await
                .expect("a plugin loads");
            let first = t0.elapsed().as_secs_f64();
            (first, task.await.expect("loading task"))
        });
        let wall = t0.elapsed().as_secs_f64();
        let (cpu1, _) = cpu_and_switches();
        assert_eq!(loaded, n);
        let cpu = (cpu1 - cpu0) as f64 / 1e9 + (children_cpu() - children0);
        println!(
            "  first plugin serving after {:.0} ms; all loaded: {wall:.2} s wall, {cpu:.2} s CPU with compiler children ({:.2} cores busy), {:.1} ms per plugin",
            first * 1e3,
            cpu / wall,
            wall * 1e3 / n as f64
        );
    }
}

/// Compile in child processes running the `wasmqq` binary from now on,
/// as the bot does (`runtime::compiler`).
fn compile_in_children() {
    wasmqq::runtime::compiler::compile_in_child_processes(env!("CARGO_BIN_EXE_wasmqq").into());
    println!("(compiling in child processes)");
}

/// Like [`python`], with the compile in a child process.
fn python_in_child() {
    compile_in_children();
    python();
}

/// RSS of this process around a cold start (empty cache: a full compile)
/// of the Python example plugin, then around a start from the cache.
fn python() {
    let path = wasm_path("hello_py.wasm");
    if !path.exists() {
        println!(
            "python: {} not built (make python-plugins); skipped",
            path.display()
        );
        return;
    }
    let rt = tokio_rt();
    let cache = tempfile::tempdir().expect("temp dir");
    let mb = |kib: u64| kib as f64 / 1024.0;
    for round in ["cold (compile)", "warm (cache)"] {
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(cache.path().to_path_buf()),
            ..RuntimeConfig::default()
        })
        .expect("runtime");
        let (rss0, _, _) = rss();
        let t0 = Instant::now();
        let handle = rt
            .block_on(runtime.start(&path, Grants::NONE, "{}"))
            .expect("start hello-py");
        let took = t0.elapsed().as_secs_f64();
        let (rss1, anon1, file1) = rss();
        println!(
            "python plugin, {round}: {took:.1} s; RSS {:.1} → {:.1} MB (anon {:.1}, file {:.1})",
            mb(rss0),
            mb(rss1),
            mb(anon1),
            mb(file1)
        );
        drop(handle);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("footprint benchmark: skipped (run it with `cargo bench --bench footprint`)");
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let wanted =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    if wanted("idle") {
        idle();
    }
    if wanted("rss") {
        memory();
    }
    if wanted("cold") {
        cold();
    }
    // Named only: from here on this process compiles in child processes.
    let named = |name: &str| filters.iter().any(|f| *f == name);
    if named("coldchild") {
        compile_in_children();
        cold();
    }
    if wanted("python") {
        python();
    }
    if named("pychild") {
        python_in_child();
    }
}
