//! Dispatch and end-to-end benchmark: messages per second and host-added
//! latency (p50/p99) through the dispatcher with 1 and 100 plugins loaded,
//! and through the whole bot over loopback against the simulator.
//!
//! In process, messages go to [`Dispatcher::handle`] and the replies to a
//! sink that stamps their arrival: a reply's latency is the time from just
//! before `handle` to the sink (parse, rate limit, routing, the plugin's
//! actor, per-chat ordering). End to end, messages are injected into the
//! in-process simulator and timed until the bot's reply shows in its sent
//! list (poll2 over loopback, the client, dispatch, the plugin, the
//! persisted outbox, send over loopback).
//!
//! Each scenario is measured two ways:
//! * **one at a time**: a message, wait for its reply, the next — latency
//!   without queueing, reported as p50/p99;
//! * **burst**: many messages handed over at once across several chats —
//!   messages/s from the first `handle` to the last reply.
//!
//! A bench binary of its own (`harness = false`) rather than criterion:
//! criterion reports a mean time per iteration, while this needs the
//! throughput of a burst and percentiles of single messages, measured with
//! our own clocks. `cargo bench` passes `--bench`; without it (`cargo test
//! --benches`) the binary does nothing. `-- inproc` or `-- e2e` runs one
//! half only.
//!
//! Plugins are read from `WASMQQ_WASM_DIR` (default: the workspace's
//! `target/wasm32-wasip2/release`); build them first with `make plugins`.
//! The 100-plugin registry holds `echo`, `bench-echo` and 98 copies of the
//! `bench-plug` fixture, each renamed by patching its name marker in the
//! `.wasm` (see `tests/fixtures/bench-plug`). Compiled components are cached
//! under the bench's target tmp dir, so only the first run compiles them.
//! Figures and how to reproduce them: `docs/benchmarks.md`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use wasmqq::abi::{Chat, ChatKind, CommandCall, Message, Segment};
use wasmqq::bot::Bot;
use wasmqq::config::Config;
use wasmqq::dispatch::{ChatAddress, DispatchConfig, Dispatcher, Incoming, Reply, ReplySink};
use wasmqq::registry::{Owners, Registry, Toggles};
use wasmqq::runtime::{Call, PluginHandle, PluginSetup, Runtime, RuntimeConfig};
use wasmqq_sim::{InjectMessage, SimConfig, SimHandle};
use wasmqq_webqq::Observer;

/// In process: rounds, each running every scenario in turn (so that a
/// change of machine load hits all of them alike); per round and scenario,
/// messages timed one at a time, then one burst.
const ROUNDS: usize = 40;
const SINGLE: usize = 400;
const BURST: usize = 3000;
/// Chats an in-process burst is spread over.
const CHATS: u64 = 8;
/// Messages sent before timing, per scenario.
const WARMUP: usize = 500;
/// Routing-table look-ups: rounds, and look-ups per round.
const LOOKUP_ROUNDS: usize = 50;
const LOOKUPS: usize = 10_000;

/// End to end: rounds, each timing per scenario messages one at a time,
/// then one burst.
const E2E_ROUNDS: usize = 5;
const E2E_SINGLE: usize = 200;
const E2E_BURST: usize = 1000;
/// End to end: the client's minimum time between two sends to one chat.
const E2E_SEND_INTERVAL_MS: u64 = 0;

/// The marker in `bench_plug.wasm` that each copy replaces.
const MARKER: &[u8] = b"benchplug-000";

use wasmqq_tests::wasm::wasm_path;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The message number carried in a reply: the first run of digits.
fn number_in(text: &str) -> Option<usize> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn text_of(segments: &[Segment]) -> String {
    segments
        .iter()
        .filter_map(|s| match s {
            Segment::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// What one scenario measured.
#[derive(Default)]
struct Figures {
    /// Throughput of each burst, messages per second.
    rates: Vec<f64>,
    /// Latencies of messages sent one at a time.
    single: Vec<Duration>,
}

impl Figures {
    fn row(&mut self, label: &str) {
        self.single.sort();
        self.rates.sort_by(f64::total_cmp);
        let rate = |r: f64| {
            if r >= 10_000.0 {
                format!("{:.0}k", r / 1000.0)
            } else {
                format!("{r:.0}")
            }
        };
        let rates = match self.rates.as_slice() {
            [] => "—".to_string(),
            [only] => rate(*only),
            all => format!(
                "{} ({}–{})",
                rate(all[all.len() / 2]),
                rate(all[0]),
                rate(all[all.len() - 1])
            ),
        };
        println!(
            "| {label:<46} | {rates:>16} | {:>9} | {:>9} |",
            us(percentile(&self.single, 50.0)),
            us(percentile(&self.single, 99.0)),
        );
    }
}

fn us(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

fn print_header(title: &str) {
    println!("\n{title}");
    println!(
        "| {:<46} | {:>16} | {:>9} | {:>9} |",
        "scenario", "msgs/s (min–max)", "p50", "p99"
    );
    println!("|{:-<48}|{:->18}|{:->11}|{:->11}|", "", ":", ":", ":");
}

// ---------------------------------------------------------------------
// In process
// ---------------------------------------------------------------------

/// A sink stamping each reply's arrival.
struct Stamping(mpsc::UnboundedSender<(Instant, Reply)>);

impl ReplySink for Stamping {
    fn send(&self, reply: Reply) {
        let _ = self.0.send((Instant::now(), reply));
    }
}

fn group(id: u64) -> ChatAddress {
    ChatAddress::new(
        Chat {
            kind: ChatKind::Group,
            id,
        },
        Some(format!("bench group {id}")),
    )
}

/// A dispatcher over a registry loaded from one folder, its replies going
/// to a stamping sink.
struct Harness {
    dispatcher: Arc<Dispatcher>,
    registry: Arc<Registry>,
    replies: mpsc::UnboundedReceiver<(Instant, Reply)>,
    chats: Vec<ChatAddress>,
    next_id: u64,
}

/// How a scenario's messages reach the plugin.
#[derive(Clone, Copy)]
enum Route {
    /// Through `Dispatcher::handle`; replies expected from this origin.
    Dispatch { origin: &'static str },
    /// `PluginHandle::call` of `echo`'s `echo` command, no dispatcher.
    Direct,
}

/// One line of the in-process table.
struct Scenario {
    label: &'static str,
    /// Index into the harnesses.
    harness: usize,
    route: Route,
    text: fn(usize) -> String,
}

impl Harness {
    async fn new(runtime: Arc<Runtime>, dir: &Path, data: &Path, plugins: usize) -> Harness {
        let registry = Registry::new(
            runtime,
            dir,
            Arc::new(|_| Some(PluginSetup::default())),
            Owners::in_memory(),
        );
        let loaded = registry.load_all().await.expect("load plugins");
        assert_eq!(loaded, plugins, "plugins loaded from {}", dir.display());
        std::fs::create_dir_all(data).expect("data dir");
        let toggles = Arc::new(Toggles::open(data.join("toggles.json")).expect("toggles"));
        let (tx, replies) = mpsc::unbounded_channel();
        let config = DispatchConfig {
            rate_limit: wasmqq::dispatch::RateLimitConfig {
                user_cooldown_ms: 0,
                chat_cooldown_ms: 0,
            },
            ..DispatchConfig::default()
        };
        let dispatcher = Dispatcher::new(config, registry.clone(), toggles, Arc::new(Stamping(tx)));
        Harness {
            dispatcher,
            registry,
            replies,
            chats: (1..=CHATS).map(group).collect(),
            next_id: 0,
        }
    }

    fn message(&mut self, n: usize, text: &str) -> (Message, &ChatAddress) {
        self.next_id += 1;
        let chat = &self.chats[n % self.chats.len()];
        let sender = 10_000 + (n % 5) as u64;
        let message = Message {
            id: self.next_id,
            chat: chat.chat,
            sender,
            sender_name: format!("user{sender}"),
            segments: vec![Segment::Text(text.to_string())],
            time: 1_700_000_000,
        };
        (message, chat)
    }

    /// Hand message `n` to the dispatcher in chat `n % CHATS`, from one of
    /// a few senders.
    fn send(&mut self, n: usize, text: &str) {
        let (message, chat) = self.message(n, text);
        let incoming = Incoming {
            sender_qq: Some(message.sender),
            sender_admin: false,
            chat: chat.clone(),
            message,
        };
        self.dispatcher.handle(incoming);
    }

    /// The next reply at the sink; checks it comes from `origin` and
    /// returns its arrival and message number.
    async fn reply(&mut self, origin: &str) -> (Instant, usize) {
        let (at, reply) = tokio::time::timeout(Duration::from_secs(10), self.replies.recv())
            .await
            .expect("no reply within 10 s")
            .expect("sink closed");
        let text = text_of(&reply.segments);
        assert_eq!(reply.origin, origin, "unexpected reply: {text:?}");
        (
            at,
            number_in(&text).expect("reply carries its message number"),
        )
    }

    /// The `!echo N` command as the dispatcher would hand it to `echo`.
    fn echo_call(&mut self, n: usize) -> Call {
        let (message, _) = self.message(n, &format!("!echo {n}"));
        Call::Command(CommandCall {
            name: "echo".into(),
            args: vec![n.to_string()],
            raw_args: n.to_string(),
            message,
        })
    }

    fn echo(&self) -> PluginHandle {
        self.registry
            .snapshot()
            .plugin("echo")
            .cloned()
            .expect("echo is loaded")
    }

    /// `count` messages, each sent once the previous one was answered;
    /// their latencies.
    async fn one_at_a_time(&mut self, scenario: &Scenario, count: usize) -> Vec<Duration> {
        let mut latencies = Vec::with_capacity(count);
        let echo = self.echo_if(scenario.route);
        for n in 0..count {
            let text = (scenario.text)(n);
            match scenario.route {
                Route::Dispatch { origin } => {
                    let start = Instant::now();
                    self.send(n, &text);
                    let (at, got) = self.reply(origin).await;
                    assert_eq!(got, n, "reply to another message");
                    latencies.push(at - start);
                }
                Route::Direct => {
                    let call = self.echo_call(n);
                    let echo = echo.as_ref().expect("echo");
                    let start = Instant::now();
                    let actions = echo.call(call).await.expect("echo call");
                    latencies.push(start.elapsed());
                    assert_eq!(actions.len(), 1);
                }
            }
        }
        latencies
    }

    /// `count` messages handed over at once; messages per second from the
    /// first hand-over to the last reply.
    async fn burst(&mut self, scenario: &Scenario, count: usize) -> f64 {
        let texts: Vec<String> = (0..count).map(scenario.text).collect();
        match scenario.route {
            Route::Dispatch { origin } => {
                let mut answered = vec![false; count];
                let start = Instant::now();
                for (n, text) in texts.iter().enumerate() {
                    self.send(n, text);
                }
                let mut last = start;
                for _ in 0..count {
                    let (at, n) = self.reply(origin).await;
                    assert!(!std::mem::replace(&mut answered[n], true), "answered twice");
                    last = last.max(at);
                }
                count as f64 / (last - start).as_secs_f64()
            }
            Route::Direct => {
                let echo = self.echo();
                let calls: Vec<Call> = (0..count).map(|n| self.echo_call(n)).collect();
                let start = Instant::now();
                let results = join_all(calls.into_iter().map(|c| echo.call(c))).await;
                let elapsed = start.elapsed();
                assert!(results.iter().all(|r| r.is_ok()), "echo call failed");
                count as f64 / elapsed.as_secs_f64()
            }
        }
    }

    fn echo_if(&self, route: Route) -> Option<PluginHandle> {
        matches!(route, Route::Direct).then(|| self.echo())
    }

    /// Asserts that no plugin outside `answering` was called, and none
    /// faulted.
    fn assert_only_called(&self, answering: &[&str]) {
        for plugin in &self.registry.snapshot().plugins {
            let status = plugin.status();
            assert_eq!(
                status.faults,
                0,
                "plugin {} faulted: {status:?}",
                plugin.name()
            );
            if !answering.contains(&plugin.name()) {
                assert_eq!(status.calls, 0, "plugin {} was called", plugin.name());
            }
        }
    }
}

/// Times the two look-ups routing does in the registry's snapshot: the
/// command table (`echo`) and one pass of the trigger `RegexSet` over a
/// plain message.
fn lookups(harness: &Harness, label: &str) {
    let snapshot = harness.registry.snapshot();
    let time = |f: &dyn Fn() -> usize| {
        let mut rounds: Vec<f64> = (0..LOOKUP_ROUNDS)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..LOOKUPS {
                    black_box(f());
                }
                start.elapsed().as_nanos() as f64 / LOOKUPS as f64
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        rounds[rounds.len() / 2]
    };
    let command = time(&|| snapshot.command(black_box("echo")).is_some() as usize);
    let triggers = time(&|| snapshot.triggered(black_box("hello 12345")).len());
    println!(
        "  {label:>11} ({} trigger patterns): command table {command:.0} ns, trigger set {triggers:.0} ns",
        snapshot
            .plugins
            .iter()
            .map(|p| p.info().triggers.len())
            .sum::<usize>()
    );
}

/// Writes `n` renamed copies of the `bench-plug` fixture into `dir`.
fn write_bench_plugs(dir: &Path, n: usize) {
    let original = std::fs::read(wasm_path("bench_plug.wasm")).expect("read bench_plug.wasm");
    let at: Vec<usize> = original
        .windows(MARKER.len())
        .enumerate()
        .filter(|(_, w)| *w == MARKER)
        .map(|(i, _)| i)
        .collect();
    assert!(
        !at.is_empty(),
        "bench_plug.wasm has no {:?} marker",
        String::from_utf8_lossy(MARKER)
    );
    for i in 1..=n {
        let name = format!("benchplug-{i:03}");
        assert_eq!(name.len(), MARKER.len());
        let mut bytes = original.clone();
        for &pos in &at {
            bytes[pos..pos + MARKER.len()].copy_from_slice(name.as_bytes());
        }
        std::fs::write(dir.join(format!("{name}.wasm")), bytes).expect("write plugin copy");
    }
}

fn folder(root: &Path, name: &str, plugins: &[&str]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("plugin folder");
    for file in plugins {
        std::fs::copy(wasm_path(file), dir.join(file)).expect("copy plugin");
    }
    dir
}

fn unknown_command(n: usize) -> String {
    format!("!nosuch{n}")
}

fn echo_command(n: usize) -> String {
    format!("!echo {n}")
}

fn plain_text(n: usize) -> String {
    format!("hello {n}")
}

fn in_process() {
    let rt = tokio_rt();
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path();
    // Compiled components survive between runs here: only the first run
    // pays ~100 compilations.
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dispatch-bench-cache");
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache),
        ..RuntimeConfig::default()
    })
    .expect("runtime");

    let hundred = folder(root, "hundred", &["echo.wasm", "bench_echo.wasm"]);
    write_bench_plugs(&hundred, 98);
    let folders: [(PathBuf, usize); 4] = [
        (folder(root, "none", &[]), 0),
        (folder(root, "echo", &["echo.wasm"]), 1),
        (folder(root, "bench-echo", &["bench_echo.wasm"]), 1),
        (hundred, 100),
    ];
    let (none, echo, bench_echo, hundred) = (0, 1, 2, 3);

    let mut harnesses: Vec<Harness> = Vec::new();
    for (i, (dir, plugins)) in folders.iter().enumerate() {
        let load = Instant::now();
        let data = root.join(format!("data-{i}"));
        harnesses.push(rt.block_on(Harness::new(runtime.clone(), dir, &data, *plugins)));
        if *plugins > 1 {
            println!(
                "{plugins} plugins loaded in {:.2} s",
                load.elapsed().as_secs_f64()
            );
        }
    }

    let host = Route::Dispatch { origin: "host" };
    let scenarios = [
        Scenario {
            label: "unknown command → host reply (0 plugins)",
            harness: none,
            route: host,
            text: unknown_command,
        },
        Scenario {
            label: "unknown command → host reply (100 plugins)",
            harness: hundred,
            route: host,
            text: unknown_command,
        },
        Scenario {
            label: "`!echo N` command (1 plugin)",
            harness: echo,
            route: Route::Dispatch { origin: "echo" },
            text: echo_command,
        },
        Scenario {
            label: "`!echo N` command (100 plugins)",
            harness: hundred,
            route: Route::Dispatch { origin: "echo" },
            text: echo_command,
        },
        Scenario {
            label: "trigger `.*`, `hello N` (1 plugin)",
            harness: bench_echo,
            route: Route::Dispatch {
                origin: "bench-echo",
            },
            text: plain_text,
        },
        Scenario {
            label: "trigger `.*`, `hello N` (100 plugins)",
            harness: hundred,
            route: Route::Dispatch {
                origin: "bench-echo",
            },
            text: plain_text,
        },
        Scenario {
            label: "reference: `echo` called directly, no dispatch",
            harness: echo,
            route: Route::Direct,
            text: echo_command,
        },
    ];

    println!("\nrouting tables, per look-up (median of {LOOKUP_ROUNDS} rounds of {LOOKUPS}):");
    for (label, i) in [
        ("1 plugin", echo),
        ("1 plugin", bench_echo),
        ("100 plugins", hundred),
    ] {
        lookups(&harnesses[i], label);
    }

    // The messages are handed over from a tokio task, as the bot's event
    // loop does, not from the thread blocked in `block_on`.
    let (harnesses, figures) = rt
        .block_on(rt.spawn(async move {
            let mut figures: Vec<Figures> = scenarios.iter().map(|_| Figures::default()).collect();
            for scenario in &scenarios {
                let harness = &mut harnesses[scenario.harness];
                harness.one_at_a_time(scenario, WARMUP).await;
                harness.burst(scenario, BURST).await;
            }
            for _ in 0..ROUNDS {
                for (scenario, figures) in scenarios.iter().zip(&mut figures) {
                    let harness = &mut harnesses[scenario.harness];
                    figures
                        .single
                        .extend(harness.one_at_a_time(scenario, SINGLE).await);
                    figures.rates.push(harness.burst(scenario, BURST).await);
                }
            }
            (
                harnesses,
                scenarios.into_iter().map(|s| s.label).zip(figures),
            )
        }))
        .expect("benchmark task");
    for harness in &harnesses {
        harness.assert_only_called(&["echo", "bench-echo"]);
    }

    print_header(&format!(
        "in-process dispatch ({ROUNDS} rounds, scenarios interleaved; per round and scenario \
         {SINGLE} messages one at a time and a burst of {BURST} over {CHATS} chats)"
    ));
    for (label, mut figures) in figures {
        figures.row(label);
    }
}

// ---------------------------------------------------------------------
// End to end
// ---------------------------------------------------------------------

/// The chats of the built-in population an end-to-end burst is spread
/// over: three friends, two groups, one discussion.
fn e2e_chats() -> Vec<(wasmqq_sim::ChatKind, u64, Option<u64>)> {
    use wasmqq_sim::ChatKind::*;
    use wasmqq_sim::known::*;
    vec![
        (Friend, ALICE, None),
        (Friend, BOB, None),
        (Friend, CAROL, None),
        (Group, BOB, Some(DEV_GROUP)),
        (Group, CAROL, Some(FAMILY_GROUP)),
        (Discussion, DAVE, Some(WEEKEND)),
    ]
}

/// `text(n)` said in chat `n % 6` of [`e2e_chats`].
fn inject(sim: &SimHandle, n: usize, text: fn(usize) -> String) {
    let chats = e2e_chats();
    let (chat, from, to) = chats[n % chats.len()];
    sim.inject(&InjectMessage {
        chat,
        from,
        to,
        text: text(n),
    })
    .expect("inject");
}

/// `DELETE /_sim/sent` over loopback (the control API's call has no
/// typed twin on `SimHandle`). `SimHandle::sent` and `wait_sent` clone the
/// whole list on every look, so it is kept short: cleared before each timed
/// message and each burst, outside the timing.
async fn clear_sent(sim: &SimHandle) {
    let mut stream = TcpStream::connect(sim.addr()).await.expect("connect");
    stream
        .write_all(
            b"DELETE /_sim/sent HTTP/1.1\r\nHost: localhost\r\n\
              Content-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await
        .expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "DELETE /_sim/sent: {}",
        String::from_utf8_lossy(&response)
    );
}

/// The message number of the one reply expected since the list was
/// cleared, and when it was seen.
async fn next_reply(sim: &SimHandle) -> (Instant, usize) {
    let sent = sim.wait_sent(1, Duration::from_secs(30)).await;
    let at = Instant::now();
    assert_eq!(sent.len(), 1, "expected one reply, got {sent:?}");
    (
        at,
        number_in(&sent[0].text).expect("reply carries its message number"),
    )
}

/// Waits until `count` replies are in the (cleared) sent list, looking at
/// its length every millisecond; the time the last one was seen.
async fn burst_done(sim: &SimHandle, count: usize) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sent = sim.state().sent;
        let now = Instant::now();
        if sent >= count {
            return now;
        }
        assert!(
            now < deadline,
            "burst: {sent} of {count} replies after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The end-to-end simulator: QR confirmed after 100 ms, polls held 5 s.
fn e2e_sim_config() -> SimConfig {
    SimConfig {
        qr_auto_confirm: Some(Duration::from_millis(100)),
        poll_hold: Duration::from_secs(5),
        ..SimConfig::default()
    }
}

/// A bot against `sim` with `echo` loaded, no cooldowns, files under `dir`.
fn e2e_config(sim: &SimHandle, dir: &Path) -> Config {
    let mut config = Config::default();
    config.bot.data_dir = dir.join("data");
    config.bot.plugin_dir = folder(dir, "plugins", &["echo.wasm"]);
    config.webqq.server = Some(sim.addr());
    config.webqq.send_interval_ms = E2E_SEND_INTERVAL_MS;
    config.rate_limit.user_cooldown_ms = 0;
    config.rate_limit.chat_cooldown_ms = 0;
    config
}

async fn end_to_end() -> [Figures; 2] {
    let sim = wasmqq_sim::start(e2e_sim_config(), "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("simulator");
    let temp = tempfile::tempdir().expect("temp dir");
    let config = e2e_config(&sim, temp.path());
    let bot = RunningBot::start(config).await;

    let texts: [fn(usize) -> String; 2] = [echo_command, unknown_command];
    for text in texts {
        for n in 0..100 {
            clear_sent(&sim).await;
            inject(&sim, n, text);
            next_reply(&sim).await;
        }
    }

    let mut figures = [Figures::default(), Figures::default()];
    for round in 0..E2E_ROUNDS {
        for (text, figures) in texts.into_iter().zip(&mut figures) {
            for i in 0..E2E_SINGLE {
                let n = round * E2E_SINGLE + i;
                clear_sent(&sim).await;
                let start = Instant::now();
                inject(&sim, n, text);
                let (at, got) = next_reply(&sim).await;
                assert_eq!(got, n, "reply to another message");
                figures.single.push(at - start);
            }
            clear_sent(&sim).await;
            let start = Instant::now();
            for n in 0..E2E_BURST {
                inject(&sim, n, text);
            }
            let last = burst_done(&sim, E2E_BURST).await;
            figures
                .rates
                .push(E2E_BURST as f64 / (last - start).as_secs_f64());
            let mut answered = vec![false; E2E_BURST];
            for m in sim.sent() {
                let n = number_in(&m.text).expect("reply carries its message number");
                assert!(!std::mem::replace(&mut answered[n], true), "answered twice");
            }
            assert!(answered.iter().all(|a| *a), "a message went unanswered");
        }
    }

    bot.stop();
    sim.shutdown().await;
    figures
}

fn e2e() {
    let rt = tokio_rt();
    let [mut echo, mut host] = rt.block_on(end_to_end());
    print_header(&format!(
        "end to end over loopback (simulator and driver on one runtime, the bot on a thread of \
         its own as `wasmqq run` ({} worker threads), one process, `echo` loaded, \
         send_interval_ms = {E2E_SEND_INTERVAL_MS}; {E2E_ROUNDS} rounds, per round and \
         scenario {E2E_SINGLE} messages one at a time and a burst of {E2E_BURST} over {} chats)",
        bot_workers(),
        e2e_chats().len()
    ));
    host.row("unknown command → host reply");
    echo.row("`!echo N` command");
}

// ---------------------------------------------------------------------
// End to end, steady: the bot's own CPU per reply, and latency at 20 msg/s
// ---------------------------------------------------------------------

/// Messages per CPU measurement, and the paced run's rate and length.
const STEADY_CPU_MESSAGES: usize = 2000;
const STEADY_RATE_HZ: u64 = 20;
const STEADY_PACED: usize = 600;

/// The bot's threads' CPU nanoseconds and context switches (voluntary and
/// not): every thread of this process but those named `sim-*` and
/// `drive-*` and the main thread.
fn bot_usage() -> (u64, u64) {
    let main = std::process::id().to_string();
    let (mut cpu, mut switches) = (0, 0);
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let comm = comm.trim();
        if comm.starts_with("sim-") || comm.starts_with("drive-") {
            continue;
        }
        if task.file_name().to_str() == Some(main.as_str()) {
            continue;
        }
        cpu += std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        switches += status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    (cpu, switches)
}

/// The bot's worker threads: `wasmqq run`'s default, or BENCH_BOT_WORKERS.
fn bot_workers() -> usize {
    std::env::var("BENCH_BOT_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(wasmqq::bot::threads::DEFAULT_WORKER_THREADS.into())
}

/// A bot run as `wasmqq run` runs it: the runtime of
/// `wasmqq::bot::threads::runtime` with [`bot_workers`] threads, driven by
/// a thread of its own (`bot-main`, as `main` would be).
struct RunningBot {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl RunningBot {
    /// Starts the bot and waits until its plugins are loaded.
    async fn start(config: Config) -> RunningBot {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, is_ready) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bot-main".into())
            .spawn(move || {
                let rt = wasmqq::bot::threads::runtime(bot_workers()).expect("the bot's runtime");
                rt.block_on(async move {
                    let bot = Bot::start(config, Observer::silent())
                        .await
                        .expect("bot starts");
                    bot.registry().loaded().await;
                    let _ = ready.send(());
                    bot.run(async {
                        let _ = stopped.await;
                    })
                    .await
                });
            })
            .expect("the bot's thread");
        is_ready.await.expect("the bot started");
        RunningBot { stop, thread }
    }

    /// Stops the bot as ctrl-c would and waits for its thread.
    fn stop(self) {
        let _ = self.stop.send(());
        self.thread
            .join()
            .expect("the bot's thread ends without a panic");
    }
}

fn named_rt(name: &'static str, workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The simulator on a runtime of its own (threads `sim-*`), the bot as
/// `wasmqq run` runs it ([`RunningBot`]: thread `bot-main`, tokio's
/// workers when it has more than one, the blocking pool, the epoch ticker
/// and the outbox's), driven from a third (`drive-*`, on the main thread),
/// so the bot's CPU can be read off its threads alone.
fn steady() {
    let sim_rt = named_rt("sim-worker", 1);
    let drive = named_rt("drive-worker", 1);
    let sim = sim_rt
        .block_on(wasmqq_sim::start(
            e2e_sim_config(),
            "127.0.0.1:0".parse().expect("address"),
        ))
        .expect("simulator");
    let temp = tempfile::tempdir().expect("temp dir");
    let config = e2e_config(&sim, temp.path());
    let bot = drive.block_on(RunningBot::start(config));
    let plain: fn(usize) -> String = plain_text;
    drive.block_on(async {
        for n in 0..200 {
            clear_sent(&sim).await;
            inject(&sim, n, echo_command);
            next_reply(&sim).await;
        }
        println!("\n{}", format_args!(
            "end to end, the bot's own CPU (threads of its runtime, the epoch ticker, the outbox;              not the simulator's nor the driver's), {STEADY_CPU_MESSAGES} messages per run"
        ));
        // Plain text no plugin handles: what receiving alone costs.
        for (label, text, replies) in [
            ("plain text, no reply (receive only)", plain, false),
            ("`!echo N` → reply", echo_command as fn(usize) -> String, true),
        ] {
            let mut per = Vec::new();
            let mut switches = Vec::new();
            for _ in 0..3 {
                clear_sent(&sim).await;
                let received0 = sim.state().delivered_events as usize;
                let (cpu0, switches0) = bot_usage();
                for n in 0..STEADY_CPU_MESSAGES {
                    inject(&sim, n, text);
                }
                if replies {
                    burst_done(&sim, STEADY_CPU_MESSAGES).await;
                } else {
                    // No reply to wait for: wait until the client fetched them all.
                    let deadline = Instant::now() + Duration::from_secs(60);
                    while (sim.state().delivered_events as usize) < received0 + STEADY_CPU_MESSAGES {
                        assert!(Instant::now() < deadline, "the client stopped fetching");
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    // Let the dispatcher finish the last ones.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let (cpu1, switches1) = bot_usage();
                per.push((cpu1 - cpu0) as f64 / STEADY_CPU_MESSAGES as f64);
                switches.push((switches1 - switches0) as f64 / STEADY_CPU_MESSAGES as f64);
            }
            switches.sort_by(f64::total_cmp);
            let mut sorted = per.clone();
            sorted.sort_by(f64::total_cmp);
            println!(
                "  {label:<40} {:.3} ms CPU per message (median of 3 runs: {}); {:.1} context switches",
                sorted[1] / 1e6,
                per.iter().map(|p| format!("{:.3}", p / 1e6)).collect::<Vec<_>>().join(", "),
                switches[1],
            );
        }

        println!("\n{}", format_args!(
            "end to end at {STEADY_RATE_HZ} msg/s: {STEADY_PACED} `!echo N`, one every {} ms,              inject → the reply in the simulator's sent list",
            1000 / STEADY_RATE_HZ
        ));
        let mut latencies = Vec::with_capacity(STEADY_PACED);
        let mut turnarounds = Vec::with_capacity(STEADY_PACED);
        let mut tick = tokio::time::interval(Duration::from_millis(1000 / STEADY_RATE_HZ));
        for n in 0..STEADY_PACED {
            tick.tick().await;
            clear_sent(&sim).await;
            let start = Instant::now();
            inject(&sim, n, echo_command);
            let (at, got) = next_reply(&sim).await;
            assert_eq!(got, n, "reply to another message");
            latencies.push(at - start);
            turnarounds.push(sim.last_turnaround().expect("a send after the event"));
        }
        let line = |label: &str, mut all: Vec<Duration>| {
            all.sort();
            println!(
                "  {label:<44} p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
                us(percentile(&all, 50.0)),
                us(percentile(&all, 90.0)),
                us(percentile(&all, 99.0)),
                us(percentile(&all, 99.9)),
                us(*all.last().expect("latencies")),
            );
        };
        let slow = latencies.iter().filter(|l| **l > Duration::from_millis(5)).count();
        line("inject → reply seen by the driver", latencies);
        // The definition: from the poll2 answer carrying the
        // message to the send arriving, both stamped in the simulator.
        line("host-added (poll2 answer → send received)", turnarounds);
        println!("  replies over 5 ms: {slow} of {STEADY_PACED}");
    });
    bot.stop();
    sim_rt.block_on(sim.shutdown());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        // `cargo test --benches` runs bench binaries without `--bench`.
        println!("dispatch benchmark: skipped (run it with `cargo bench --bench dispatch`)");
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let wanted =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let start = Instant::now();
    if wanted("inproc") {
        in_process();
    }
    if wanted("e2e") {
        e2e();
    }
    if wanted("steady") {
        steady();
    }
    println!("\ntotal {:.0} s", start.elapsed().as_secs_f64());
}
