//! The soak: many commands through the simulator into the real `wasmqq run`
//! process, with every fault the simulator's control API has armed along
//! the way and kill -9 restarts of the bot; then lost, duplicated and
//! out-of-order answers are counted per chat. `host/tests/soak.rs` runs a
//! short one in the test suite, `host/benches/soak.rs` (`make soak`) the
//! long one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasmqq_sim::known;

use crate::control::SimControl;

/// What to run.
#[derive(Debug, Clone)]
pub struct SoakPlan {
    /// Commands in all.
    pub commands: usize,
    /// kill -9 restarts, spread evenly over the run.
    pub kills: usize,
    /// Commands injected per second.
    pub rate: u32,
}

/// What came out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SoakReport {
    /// Commands injected.
    pub commands: usize,
    /// Commands never answered.
    pub lost: usize,
    /// Extra answers (a command answered n times counts n − 1).
    pub duplicated: usize,
    /// Answers that came before the answer of an earlier command of their
    /// chat.
    pub out_of_order: usize,
    /// Faults armed.
    pub faults: usize,
    /// kill -9 restarts done.
    pub kills: usize,
    /// Seconds from the first command to the last answer.
    pub seconds: f64,
}

impl std::fmt::Display for SoakReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} commands, {} faults, {} kill -9: lost {}, duplicated {}, out of order {} ({:.1} s)",
            self.commands,
            self.faults,
            self.kills,
            self.lost,
            self.duplicated,
            self.out_of_order,
            self.seconds
        )
    }
}

/// The chats commands are said in: (kind, from, to, tag).
const CHATS: &[(&str, u64, Option<u64>, &str)] = &[
    ("friend", known::ALICE, None, "a"),
    ("friend", known::BOB, None, "b"),
    ("group", known::BOB, Some(known::DEV_GROUP), "g"),
    ("group", known::BOB, Some(known::FAMILY_GROUP), "f"),
];

/// Every fault of the control API, in the order they are armed (cycling).
/// Send faults that the server "delivers" anyway are the cases where WebQQ
/// itself cannot tell a resend from a new message.
fn faults() -> Vec<Value> {
    vec![
        json!({"endpoint": "poll2", "http_status": 502}),
        json!({"endpoint": "send_qun_msg2", "http_status": 500}),
        json!({"kick": true}),
        json!({"endpoint": "poll2", "reset": true}),
        json!({"endpoint": "send_buddy_msg2", "reset": true}),
        json!({"endpoint": "poll2", "malformed": true}),
        json!({"endpoint": "send_qun_msg2", "malformed": true}),
        json!({"endpoint": "poll2", "retcode": 103}),
        json!({"endpoint": "send_buddy_msg2", "retcode": 1202, "deliver": true}),
        json!({"endpoint": "poll2", "retcode": 116}),
        json!({"endpoint": "send_qun_msg2", "retcode": 100001}),
        json!({"endpoint": "get_online_buddies2", "http_status": 503}),
        json!({"endpoint": "send_buddy_msg2", "http_status": 502, "deliver": true}),
        json!({"endpoint": "poll2", "retcode": 121}),
        json!({"expire_session": true}),
    ]
}

/// Kills the child process when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Harness {
    control: SimControl,
    config: PathBuf,
    log: PathBuf,
    bin: PathBuf,
}

impl Harness {
    fn start_bot(&self) -> Running {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        Running(
            Command::new(&self.bin)
                .args(["run", "--config", self.config.to_str().unwrap()])
                .env("RUST_LOG", "info")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start wasmqq run"),
        )
    }

    async fn post(&self, path: &str, body: Value) -> bool {
        match self.control.try_post(path, &body).await {
            Ok(_) => true,
            Err(e) => {
                eprintln!("soak: {e}");
                false
            }
        }
    }
}

/// Run `plan` with the `wasmqq` binary `bin` and the echo plugin `echo`.
pub async fn run(plan: &SoakPlan, bin: &Path, echo: &Path) -> SoakReport {
    let sim = crate::e2e::start_simulator(wasmqq_sim::SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plugins.d")).unwrap();
    std::fs::copy(echo, dir.path().join("plugins.d/echo.wasm")).unwrap();
    let config = dir.path().join("wasmqq.toml");
    std::fs::write(
        &config,
        format!(
            "[webqq]\nserver = \"{}\"\nsend_interval_ms = 0\n\
             [rate_limit]\nuser_cooldown_ms = 0\n\
             [outbox]\nretry_base_ms = 100\nretry_max_ms = 1000\nmax_attempts = 20\n",
            sim.addr()
        ),
    )
    .unwrap();
    let h = Harness {
        control: SimControl::new(sim.addr()),
        config,
        log: dir.path().join("bot.log"),
        bin: bin.to_path_buf(),
    };
    let mut bot = h.start_bot();
    // Ready once it answers (the login is not part of the soak).
    let ready = Instant::now();
    assert!(
        h.post(
            "/_sim/messages",
            json!({"chat": "friend", "from": 10001, "text": "!echo ready"})
        )
        .await
    );
    while !h.control.sent().await.iter().any(|m| m.2 == "ready") {
        assert!(
            ready.elapsed() < Duration::from_secs(60),
            "the bot never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let faults = faults();
    let fault_every = (plan.commands / (faults.len() * 2)).max(1);
    let kill_every = plan.commands / (plan.kills + 1);
    let pause = Duration::from_secs_f64(1.0 / f64::from(plan.rate.max(1)));
    let mut report = SoakReport {
        commands: plan.commands,
        ..SoakReport::default()
    };
    let started = Instant::now();
    let mut expected: HashMap<(String, u64), Vec<String>> = HashMap::new();
    for i in 0..plan.commands {
        let (kind, from, to, tag) = CHATS[i % CHATS.len()];
        let text = format!("{tag}/{i}");
        let body = match to {
            Some(to) => {
                json!({"chat": kind, "from": from, "to": to, "text": format!("!echo {text}")})
            }
            None => json!({"chat": kind, "from": from, "text": format!("!echo {text}")}),
        };
        assert!(h.post("/_sim/messages", body).await, "inject {text}");
        expected
            .entry((kind.to_string(), to.unwrap_or(from)))
            .or_default()
            .push(text);
        if i > 0 && i % fault_every == 0 {
            let fault = &faults[report.faults % faults.len()];
            // A kick or expiry without a session (the bot is logging in
            // again) is refused by the simulator: wait for the session.
            let deadline = Instant::now() + Duration::from_secs(90);
            while !h.post("/_sim/faults", fault.clone()).await {
                if Instant::now() > deadline {
                    let log = std::fs::read_to_string(&h.log).unwrap_or_default();
                    let _ = std::fs::write(std::env::temp_dir().join("wasmqq-soak-bot.log"), &log);
                    panic!(
                        "the bot never logged in again for {fault} (its log: {})",
                        std::env::temp_dir().join("wasmqq-soak-bot.log").display()
                    );
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            report.faults += 1;
        }
        if plan.kills > 0 && i > 0 && i % kill_every == 0 && report.kills < plan.kills {
            tokio::time::sleep(Duration::from_millis(300)).await;
            bot.0.kill().expect("kill -9");
            bot.0.wait().unwrap();
            report.kills += 1;
            bot = h.start_bot();
        }
        tokio::time::sleep(pause).await;
    }

    // Wait until every command is answered, or nothing new comes for 20 s.
    let total: usize = expected.values().map(Vec::len).sum();
    let mut last = (0, Instant::now());
    loop {
        let n = h.control.sent().await.len();
        if n != last.0 {
            last = (n, Instant::now());
        }
        let answered = answered(&h.control.sent().await, &expected);
        if answered >= total || last.1.elapsed() > Duration::from_secs(20) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    report.seconds = started.elapsed().as_secs_f64();
    // Anything late would show up now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent = h.control.sent().await;
    drop(bot);
    for ((kind, to), want) in &expected {
        let got: Vec<&str> = sent
            .iter()
            .filter(|m| &m.0 == kind && m.1 == *to && m.2 != "ready")
            .map(|m| m.2.as_str())
            .collect();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for g in &got {
            *seen.entry(g).or_default() += 1;
        }
        report.lost += want
            .iter()
            .filter(|w| !seen.contains_key(w.as_str()))
            .count();
        report.duplicated += seen.values().map(|n| n - 1).sum::<usize>();
        // Order of first answers against the order of the commands.
        let index: HashMap<&str, usize> = want
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_str(), i))
            .collect();
        let mut first = Vec::new();
        let mut once = std::collections::HashSet::new();
        for g in got {
            if let Some(i) = index.get(g)
                && once.insert(*i)
            {
                first.push(*i);
            }
        }
        report.out_of_order += first.windows(2).filter(|w| w[1] < w[0]).count();
    }
    if report.lost > 0 || report.out_of_order > 0 || std::env::var_os("SOAK_LOG").is_some() {
        let log = std::fs::read_to_string(&h.log).unwrap_or_default();
        let _ = std::fs::write(std::env::temp_dir().join("wasmqq-soak-bot.log"), &log);
        let tail: Vec<&str> = log
            .lines()
            .filter(|l| !l.contains('█') && !l.contains('▀') && !l.contains('▄'))
            .rev()
            .take(60)
            .collect();
        eprintln!("soak: {report}; last lines of the bot's log:");
        for line in tail.into_iter().rev() {
            eprintln!("  {line}");
        }
    }
    report
}

fn answered(
    sent: &[(String, u64, String)],
    expected: &HashMap<(String, u64), Vec<String>>,
) -> usize {
    let got: std::collections::HashSet<(&str, u64, &str)> = sent
        .iter()
        .map(|m| (m.0.as_str(), m.1, m.2.as_str()))
        .collect();
    expected
        .iter()
        .map(|((kind, to), want)| {
            want.iter()
                .filter(|w| got.contains(&(kind.as_str(), *to, w.as_str())))
                .count()
        })
        .sum()
}
