//! The whole bot against the in-process simulator, driven as a user would:
//! through the simulator's HTTP control API and a plugin folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use wasmqq::bot::Bot;
use wasmqq::config::Config;
use wasmqq_sim::{SimConfig, SimHandle};
use wasmqq_webqq::Observer;

use crate::control::SimControl;
use crate::wasm;

/// The built-in population's numbers: Alice is the admin of test bots,
/// Bob a non-admin; the groups "wasmqq dev" and "Family".
pub use crate::population::{ALICE, BOB, DEV, FAMILY};

/// The simulator as the bot's tests run it: `config` with the QR code
/// confirmed after 100 ms and a 5 s poll hold, on a loopback port.
pub async fn start_simulator(config: SimConfig) -> SimHandle {
    wasmqq_sim::start(
        SimConfig {
            qr_auto_confirm: Some(Duration::from_millis(100)),
            poll_hold: Duration::from_secs(5),
            ..config
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("simulator")
}

/// A simulator plus the folders a bot keeps its state and plugins in.
pub struct World {
    /// The in-process simulator.
    pub sim: SimHandle,
    /// Its control API.
    pub control: SimControl,
    dir: tempfile::TempDir,
}

/// A running bot; stop it with [`RunningBot::stop`].
pub struct RunningBot {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    /// The outbox, to look at pending messages.
    pub outbox: wasmqq::outbox::Outbox,
    /// The plugin registry, to look at what is loaded.
    pub registry: std::sync::Arc<wasmqq::registry::Registry>,
}

impl RunningBot {
    /// Stop the bot as ctrl-c would, waiting for a clean shutdown.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("the bot's task ends without a panic");
    }
}

impl World {
    /// A simulator with the built-in population and an empty plugin folder.
    pub async fn new() -> World {
        World::with(SimConfig::default()).await
    }

    /// Like [`World::new`] with simulator settings of the test's own (the
    /// QR confirmation and poll hold are shortened for speed).
    pub async fn with(config: SimConfig) -> World {
        let sim = start_simulator(config).await;
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        World {
            control: SimControl::new(sim.addr()),
            sim,
            dir,
        }
    }

    /// The bot's drop-in folder.
    pub fn plugin_dir(&self) -> PathBuf {
        self.dir.path().join("plugins")
    }

    /// Copy a built plugin into the folder as `file`.
    pub fn drop_plugin(&self, name: &str, file: &str) {
        let tmp = self.plugin_dir().join(format!("{file}.part"));
        std::fs::copy(wasm(name), &tmp).unwrap();
        std::fs::rename(&tmp, self.plugin_dir().join(file)).unwrap();
    }

    /// Copy a built plugin into the folder as `file`, made a different file
    /// of the same plugin: a custom section named `variant` is appended, so
    /// its content hash differs while the component behaves the same.
    pub fn drop_plugin_variant(&self, name: &str, file: &str, variant: &str) {
        let mut bytes = std::fs::read(wasm(name)).unwrap();
        let mut contents = leb128(variant.len());
        contents.extend_from_slice(variant.as_bytes());
        bytes.push(0); // custom section
        bytes.extend(leb128(contents.len()));
        bytes.extend(contents);
        let tmp = self.plugin_dir().join(format!("{file}.part"));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, self.plugin_dir().join(file)).unwrap();
    }

    /// The bot configuration: this simulator, Alice as admin, quick pacing,
    /// no cooldowns.
    pub fn config(&self) -> Config {
        let mut config = Config::default();
        config.bot.data_dir = self.dir.path().join("data");
        config.bot.plugin_dir = self.plugin_dir();
        config.bot.admins = vec![ALICE];
        config.webqq.server = Some(self.sim.addr());
        config.webqq.send_interval_ms = 50;
        config.rate_limit.user_cooldown_ms = 0;
        config.outbox.retry_base_ms = 100;
        config.outbox.retry_max_ms = 500;
        config
    }

    /// Start a bot with `config` (logging in, or restoring the session),
    /// its plugin folder loaded.
    pub async fn start_bot(&self, config: Config) -> RunningBot {
        let bot = self.start_bot_loading(config).await;
        bot.registry.loaded().await;
        bot
    }

    /// Start a bot with `config` and return at once, as `Bot::start` does:
    /// its plugin folder may still be loading.
    pub async fn start_bot_loading(&self, config: Config) -> RunningBot {
        let bot = Bot::start(config, Observer::silent())
            .await
            .expect("bot starts");
        let outbox = bot.outbox().clone();
        let registry = bot.registry().clone();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(bot.run(async {
            let _ = stopped.await;
        }));
        RunningBot {
            stop,
            task,
            outbox,
            registry,
        }
    }

    /// `POST /_sim/messages`: `from` says `text` in a group.
    pub async fn say_in_group(&self, group: u64, from: u64, text: &str) {
        self.control.say("group", from, Some(group), text).await;
    }

    /// `POST /_sim/messages`: a friend says `text` to the bot.
    pub async fn say_as_friend(&self, from: u64, text: &str) {
        self.control.say("friend", from, None, text).await;
    }

    /// `POST /_sim/faults`.
    pub async fn fault(&self, spec: Value) {
        self.control.fault(spec).await;
    }

    /// `DELETE /_sim/faults`: clear every armed fault.
    pub async fn clear_faults(&self) {
        self.control.clear_faults().await;
    }

    /// `GET /_sim/sent`: everything the bot sent, as (chat kind, to, text).
    pub async fn sent(&self) -> Vec<(String, u64, String)> {
        self.control.sent().await
    }

    /// Wait (up to 10 s) for the `n`th message the bot sends (1-based) and
    /// return its text; fails naming what was sent instead.
    pub async fn nth_sent(&self, n: usize) -> (String, u64, String) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let sent = self.sent().await;
            if sent.len() >= n {
                return sent[n - 1].clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the bot sent {} messages, waited for {n}: {sent:?}",
                sent.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait (up to 10 s) for the first message sent to `kind` `to` after the
    /// first `after` messages, and return its text.
    pub async fn next_in(&self, after: usize, kind: &str, to: u64) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let sent = self.sent().await;
            if let Some(m) = sent.iter().skip(after).find(|m| m.0 == kind && m.1 == to) {
                return m.2.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nothing sent to {kind} {to} after message {after}: {sent:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `from` says `text` in `group`; the bot's next answer there.
    pub async fn ask(&self, group: u64, from: u64, text: &str) -> String {
        let n = self.sent().await.len();
        self.say_in_group(group, from, text).await;
        self.next_in(n, "group", group).await
    }

    /// The private messages the bot sent to the admin [`ALICE`] so far.
    pub async fn admin_notices(&self) -> Vec<String> {
        self.sent()
            .await
            .into_iter()
            .filter(|m| m.0 == "friend" && m.1 == ALICE)
            .map(|m| m.2)
            .collect()
    }

    /// Say `text` in `group` until the bot's next answer there is `want`
    /// (the folder watcher takes a moment); up to 5 s.
    pub async fn until_group_answer(&self, group: u64, from: u64, text: &str, want: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let n = self.sent().await.len();
            self.say_in_group(group, from, text).await;
            let (_, to, got) = self.nth_sent(n + 1).await;
            assert_eq!(to, group);
            if got == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still {got:?}, wanted {want:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

/// `n` as unsigned LEB128 (the wasm binary format's integers).
fn leb128(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}
