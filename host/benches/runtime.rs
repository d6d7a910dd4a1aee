//! Runtime benchmark (issue 2): what the host runtime costs on top of
//! wasmtime, and what wasm costs on top of native code.
//!
//! - `on-message`: one warm call of the same export of the same component
//!   (`tests/fixtures/bench-echo`, which replies with the message's text)
//!   through the host ([`Instance::call`] and the production path
//!   [`PluginHandle::call`] from a task on a two-worker tokio runtime, and
//!   on a single-threaded one), through bare wasmtime (own store and linker,
//!   the generated bindings, no deadline callback, no limiter, no result
//!   checks), and as a native Rust function doing the same work.
//! - `instantiate`: a fresh instance from a compiled component, with
//!   `describe` and `init`, through the host and through bare wasmtime.
//! - `load`: `Runtime::compile` from the on-disk cache vs compiling afresh.
//!
//! The plugins are read from `WASMQQ_WASM_DIR` (default: the workspace's
//! `target/wasm32-wasip2/release`); build them first with `make plugins`.
//! Figures and how to reproduce them: `docs/benchmarks.md`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use wasmqq::abi::v0_1_0::{Plugin as Bindings, PluginPre};
use wasmqq::abi::{Action, Chat, ChatKind, Message, PluginInfo, Segment};
use wasmqq::capabilities::Grants;
use wasmqq::runtime::{
    Call, Compiled, Instance, Origin, PluginHandle, PluginSetup, Runtime, RuntimeConfig,
};

/// The component every call benchmark runs.
const PLUGIN: &str = "bench_echo.wasm";

/// Message texts the call benchmarks use: a typical chat line and a long one.
const TEXTS: &[(&str, usize)] = &[("short", 32), ("1KiB", 1024)];

/// Interleaved ratio measurement: rounds, and calls per path per round.
const ROUNDS: usize = 200;
const BATCH: usize = 500;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

use wasmqq_tests::wasm::wasm_path;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn message(len: usize) -> Message {
    let text: String = "hello from the wasmqq benchmark! "
        .chars()
        .cycle()
        .take(len)
        .collect();
    Message {
        id: 1,
        chat: Chat {
            kind: ChatKind::Group,
            id: 10_001,
        },
        sender: 42,
        sender_name: "alice".into(),
        segments: vec![Segment::Text(text)],
        time: 1_700_000_000,
    }
}

/// The plugin's work, natively: join the text segments and reply with them.
/// It takes the message by value, as the guest receives its own copy.
fn native_echo(msg: Message) -> Vec<Action> {
    let text: String = msg
        .segments
        .iter()
        .filter_map(|s| match s {
            Segment::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    vec![Action::Reply(vec![Segment::Text(text)])]
}

/// The store data of the bare-wasmtime baseline: WASI with nothing in it.
struct RawState {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for RawState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A bare wasmtime setup for `component`: WASI p2 linked, the wasmqq host
/// imports defined as traps (the benchmarked exports never call them).
fn raw_pre(engine: &Engine, component: &Component) -> PluginPre<RawState> {
    let mut linker = Linker::<RawState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("link WASI");
    linker
        .define_unknown_imports_as_traps(component)
        .expect("define host imports");
    PluginPre::new(linker.instantiate_pre(component).expect("instantiate_pre")).expect("bindings")
}

fn raw_store(engine: &Engine) -> Store<RawState> {
    let mut store = Store::new(
        engine,
        RawState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        },
    );
    // On an engine with epoch interruption, never interrupt.
    store.set_epoch_deadline(u64::MAX / 2);
    store
}

/// Instantiate and initialise like the host does, minus its checks.
async fn raw_start(engine: &Engine, pre: &PluginPre<RawState>) -> (Store<RawState>, Bindings) {
    let mut store = raw_store(engine);
    let bindings = pre
        .instantiate_async(&mut store)
        .await
        .expect("instantiate");
    let guest = bindings.wasmqq_plugin_guest();
    black_box(guest.call_describe(&mut store).await.expect("describe"));
    guest
        .call_init(&mut store, "{}")
        .await
        .expect("init")
        .expect("init refused");
    (store, bindings)
}

/// A host instance with no capability granted and `{}` as configuration.
async fn host_start(runtime: &Runtime, compiled: &Compiled) -> Instance {
    let no_grants = |_: &PluginInfo| Ok(PluginSetup::granted(Grants::NONE));
    let (instance, _, _) = Instance::start(runtime, compiled, &no_grants)
        .await
        .expect("start");
    instance
}

fn runtime() -> Arc<Runtime> {
    Runtime::new(RuntimeConfig::default()).expect("runtime")
}

/// `iters` calls of `handle` from a task spawned on `rt`, as the
/// dispatcher makes them (the production path: the caller is a task on a
/// worker thread, not the thread blocking on the runtime); the time the
/// task measured.
fn handle_batch(
    rt: &tokio::runtime::Runtime,
    handle: &PluginHandle,
    call: &Call,
    iters: usize,
) -> Duration {
    let (handle, call) = (handle.clone(), call.clone());
    rt.block_on(rt.spawn(async move {
        let start = Instant::now();
        for _ in 0..iters {
            let actions = handle.call(black_box(call.clone())).await;
            black_box(actions.expect("handle call"));
        }
        start.elapsed()
    }))
    .expect("bench task")
}

fn on_message(c: &mut Criterion) {
    let rt = tokio_rt();
    let path = wasm_path(PLUGIN);
    let runtime = runtime();
    let compiled = runtime.compile(&path).expect("compile");
    // The same engine and the same bytes: identical machine code.
    let component = Component::from_file(runtime.engine(), &path).expect("component");
    let raw = raw_pre(runtime.engine(), &component);
    // A plain engine without epoch interruption, to show what the per-loop
    // epoch checks cost in the compiled code itself.
    let plain = Engine::new(Config::new().wasm_component_model(true)).expect("engine");
    let plain_component = Component::from_file(&plain, &path).expect("component");
    let plain_pre = raw_pre(&plain, &plain_component);

    let mut instance = rt.block_on(host_start(&runtime, &compiled));
    let handle = rt
        .block_on(runtime.start(&path, Grants::NONE, "{}"))
        .expect("start plugin");
    // The same on a single-threaded tokio runtime: no thread hops at all.
    let rt1 = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let handle1 = rt1
        .block_on(runtime.start(&path, Grants::NONE, "{}"))
        .expect("start plugin");
    let (mut raw_store, raw_bindings) = rt.block_on(raw_start(runtime.engine(), &raw));
    let (mut plain_store, plain_bindings) = rt.block_on(raw_start(&plain, &plain_pre));

    let mut group = c.benchmark_group("on-message");
    for &(label, len) in TEXTS {
        let msg = message(len);
        let call = Call::Message(msg.clone());
        // Same answer everywhere before timing anything.
        let want = native_echo(msg.clone());
        let got = rt.block_on(instance.call(&call)).expect("host call");
        assert_eq!(got, want, "bench-echo does not answer as expected");
        group.throughput(Throughput::Bytes(len as u64));

        group.bench_function(BenchmarkId::new("native", label), |b| {
            b.iter(|| native_echo(black_box(msg.clone())))
        });
        group.bench_function(BenchmarkId::new("wasmtime-raw", label), |b| {
            let guest = raw_bindings.wasmqq_plugin_guest();
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let actions = guest.call_on_message(&mut raw_store, black_box(&msg)).await;
                        black_box(actions.expect("raw call"));
                    }
                    start.elapsed()
                })
            })
        });
        group.bench_function(BenchmarkId::new("wasmtime-raw-no-epoch", label), |b| {
            let guest = plain_bindings.wasmqq_plugin_guest();
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let actions = guest
                            .call_on_message(&mut plain_store, black_box(&msg))
                            .await;
                        black_box(actions.expect("raw call"));
                    }
                    start.elapsed()
                })
            })
        });
        group.bench_function(BenchmarkId::new("host-instance", label), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let actions = instance.call(black_box(&call)).await;
                        black_box(actions.expect("host call"));
                    }
                    start.elapsed()
                })
            })
        });
        group.bench_function(BenchmarkId::new("host-handle", label), |b| {
            b.iter_custom(|iters| handle_batch(&rt, &handle, &call, iters as usize))
        });
        group.bench_function(BenchmarkId::new("host-handle-1-thread", label), |b| {
            b.iter_custom(|iters| {
                rt1.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let actions = handle1.call(black_box(call.clone())).await;
                        black_box(actions.expect("handle call"));
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();

    // Criterion runs one benchmark after the other, so on a shared machine
    // a change of load between two of them skews their ratio. Measure the
    // ratios again with the paths interleaved, batch by batch.
    println!("\ninterleaved medians ({ROUNDS} rounds of {BATCH} calls per path):");
    for &(label, len) in TEXTS {
        let msg = message(len);
        let call = Call::Message(msg.clone());
        let raw_guest = raw_bindings.wasmqq_plugin_guest();
        let mut times: [Vec<f64>; 5] = Default::default();
        for _ in 0..ROUNDS {
            let per_call = |start: Instant| start.elapsed().as_nanos() as f64 / BATCH as f64;
            times[0].push({
                let start = Instant::now();
                for _ in 0..BATCH {
                    black_box(native_echo(black_box(msg.clone())));
                }
                per_call(start)
            });
            times[1].push(rt.block_on(async {
                let start = Instant::now();
                for _ in 0..BATCH {
                    let actions = raw_guest.call_on_message(&mut raw_store, black_box(&msg));
                    black_box(actions.await.expect("raw call"));
                }
                per_call(start)
            }));
            times[2].push(rt.block_on(async {
                let start = Instant::now();
                for _ in 0..BATCH {
                    black_box(instance.call(black_box(&call)).await.expect("host call"));
                }
                per_call(start)
            }));
            times[3].push(rt1.block_on(async {
                let start = Instant::now();
                for _ in 0..BATCH {
                    let actions = handle1.call(black_box(call.clone())).await;
                    black_box(actions.expect("handle call"));
                }
                per_call(start)
            }));
            times[4]
                .push(handle_batch(&rt, &handle, &call, BATCH).as_nanos() as f64 / BATCH as f64);
        }
        let [native, raw, host, handle1, handle] = times.map(median);
        println!(
            "  {label:>5}: native {native:.0} ns, wasmtime-raw {raw:.0} ns, \
             host-instance {host:.0} ns ({:.2}x raw), host-handle-1-thread {handle1:.0} ns \
             ({:.2}x raw), host-handle {handle:.0} ns ({:.2}x raw)",
            host / raw,
            handle1 / raw,
            handle / raw,
        );
    }

    for handle in [&handle, &handle1] {
        let status = handle.status();
        assert_eq!(status.faults, 0, "the plugin faulted: {status:?}");
    }
}

fn instantiate(c: &mut Criterion) {
    let rt = tokio_rt();
    let path = wasm_path(PLUGIN);
    // With a component cache, so that fresh components (`host-first`
    // below) are cheap to make.
    let cache = tempfile::tempdir().expect("temp dir");
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let compiled = runtime.compile(&path).expect("compile");
    let component = Component::from_file(runtime.engine(), &path).expect("component");
    let raw = raw_pre(runtime.engine(), &component);

    let mut group = c.benchmark_group("instantiate");
    group.bench_function("host", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(host_start(&runtime, &compiled).await);
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("wasmtime-raw", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(raw_start(runtime.engine(), &raw).await);
                }
                start.elapsed()
            })
        })
    });
    group.finish();

    // The same two paths interleaved (see `on_message`). `host` reuses the
    // metadata validated by the component's first instance, as a rebuild
    // after a fault does; `host-first` is a component's first start, which
    // also compiles its triggers (a fresh `Compiled` each time).
    const ROUNDS: usize = 60;
    const BATCH: usize = 40;
    let mut times: [Vec<f64>; 3] = Default::default();
    let per = |start: Instant| start.elapsed().as_nanos() as f64 / BATCH as f64;
    for round in 0..ROUNDS {
        times[0].push(rt.block_on(async {
            let start = Instant::now();
            for _ in 0..BATCH {
                black_box(host_start(&runtime, &compiled).await);
            }
            per(start)
        }));
        times[1].push(rt.block_on(async {
            let start = Instant::now();
            for _ in 0..BATCH {
                black_box(raw_start(runtime.engine(), &raw).await);
            }
            per(start)
        }));
        if round % 6 == 0 {
            // Fresh components are costly to make: sample this path less.
            let batch: Vec<Compiled> = (0..BATCH)
                .map(|_| runtime.compile(&path).expect("load from the cache"))
                .collect();
            times[2].push(rt.block_on(async {
                let start = Instant::now();
                for c in &batch {
                    black_box(host_start(&runtime, c).await);
                }
                per(start)
            }));
        }
    }
    let [host, raw, first] = times.map(median);
    println!(
        "\ninterleaved medians ({ROUNDS} rounds of {BATCH} starts per path): \
         host {:.1} µs ({:.2}x raw), wasmtime-raw {:.1} µs, host-first {:.1} µs ({:.2}x raw)",
        host / 1e3,
        host / raw,
        raw / 1e3,
        first / 1e3,
        first / raw,
    );
}

fn load(c: &mut Criterion) {
    let path = wasm_path(PLUGIN);
    let cache = tempfile::tempdir().expect("temp dir");
    let cached = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let first = cached.compile(&path).expect("compile");
    assert_eq!(first.origin, Origin::Compiled);
    let fresh = runtime();

    let mut group = c.benchmark_group("load");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.bench_function("cached", |b| {
        b.iter(|| {
            let compiled = cached.compile(&path).expect("load");
            assert_eq!(compiled.origin, Origin::Cached);
            compiled
        })
    });
    group.bench_function("compile", |b| {
        b.iter(|| {
            let compiled = fresh.compile(&path).expect("compile");
            assert_eq!(compiled.origin, Origin::Compiled);
            compiled
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = on_message, instantiate, load
}
criterion_main!(benches);
