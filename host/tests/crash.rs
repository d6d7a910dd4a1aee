//! kill -9 of the real `wasmqq run` process in the middle of a burst, then a
//! restart: every command received is answered, exactly once, in order (the
//! inbound journal and the outbox commit replies and the done mark
//! together). The first run has `wasmqq run`'s default one thread, the
//! restart two worker threads: both runtimes the bot can have go through
//! a kill.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wasmqq_sim::known;
use wasmqq_tests::control::SimControl;

/// Kills the child process when dropped, so a failing test leaves nothing behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_bot(config: &std::path::Path, log: &std::path::Path, threads: u16) -> Running {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Running(
        Command::new(env!("CARGO_BIN_EXE_wasmqq"))
            .args(["run", "--config", config.to_str().unwrap()])
            .args(["--worker-threads", &threads.to_string()])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start wasmqq run"),
    )
}

/// The texts the bot sent so far.
async fn sent(sim: &SimControl) -> Vec<String> {
    sim.sent()
        .await
        .into_iter()
        .map(|(_, _, text)| text)
        .collect()
}

async fn say(sim: &SimControl, text: &str) {
    sim.say("group", known::BOB, Some(known::DEV_GROUP), text)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_a_burst_loses_no_command_and_answers_each_once() {
    let sim = wasmqq_tests::e2e::start_simulator(wasmqq_sim::SimConfig::default()).await;
    let addr = sim.addr().to_string();
    let control = SimControl::new(sim.addr());
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plugins.d")).unwrap();
    std::fs::copy(
        wasmqq_tests::wasm::wasm_path("slow.wasm"),
        dir.path().join("plugins.d/slow.wasm"),
    )
    .unwrap();
    let config = dir.path().join("wasmqq.toml");
    std::fs::write(
        &config,
        format!(
            "[webqq]\nserver = \"{addr}\"\nsend_interval_ms = 10\n\
             [rate_limit]\nuser_cooldown_ms = 0\n"
        ),
    )
    .unwrap();
    let log = dir.path().join("bot.log");

    let mut bot = start_bot(&config, &log, 1);
    // Ready once it answers.
    say(&control, "!slow 0").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sent(&control).await.iter().any(|t| t == "slow 0") {
        assert!(
            Instant::now() < deadline,
            "the bot never answered; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    const BURST: usize = 60;
    for i in 1..=BURST {
        say(&control, &format!("!slow {i}")).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    bot.0.kill().expect("kill -9"); // SIGKILL: no shutdown, no flush
    bot.0.wait().unwrap();
    let before = sent(&control).await.len();
    assert!(
        before < BURST,
        "the kill came too late to test anything ({before} sent)"
    );

    let _bot = start_bot(&config, &log, 2);
    let want: Vec<String> = (1..=BURST).map(|i| format!("slow {i}")).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = sent(&control).await;
        if want.iter().all(|w| got.contains(w)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the restart, missing: {:?}",
            want.iter().filter(|w| !got.contains(w)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing more behind them.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got: Vec<String> = sent(&control)
        .await
        .into_iter()
        .filter(|t| t.starts_with("slow ") && t != "slow 0")
        .collect();
    assert_eq!(got, want, "each command answered once, in order");
}
