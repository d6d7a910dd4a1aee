//! A bot without the network: registry over a temporary drop-in folder,
//! dispatcher, and a sink collecting replies.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use wasmqq::abi::{Chat, ChatKind, Message, Segment};
use wasmqq::dispatch::{ChatAddress, DispatchConfig, Dispatcher, Incoming, Reply, ReplySink};
use wasmqq::registry::{Owners, Registry, Toggles, Watcher};
use wasmqq::runtime::PluginSetup;

use crate::{runtime, wasm};

struct Collector(mpsc::UnboundedSender<Reply>);

impl ReplySink for Collector {
    fn send(&self, reply: Reply) {
        let _ = self.0.send(reply);
    }
}

/// The admin's QQ number in [`TestBot`]s.
pub const ADMIN: u64 = wasmqq_sim::known::ALICE;

/// A group chat address for tests.
pub fn group(id: u64, name: &str) -> ChatAddress {
    ChatAddress::new(
        Chat {
            kind: ChatKind::Group,
            id,
        },
        Some(name.into()),
    )
}

/// Dispatcher + registry + watched temporary plugin folder.
pub struct TestBot {
    /// The dispatcher under test.
    pub dispatcher: Arc<Dispatcher>,
    /// The registry over [`TestBot::dir`].
    pub registry: Arc<Registry>,
    replies: mpsc::UnboundedReceiver<Reply>,
    dir: tempfile::TempDir,
    _watcher: Watcher,
    next_id: u64,
}

impl TestBot {
    /// A bot whose folder starts with the named built plugins.
    pub async fn new(plugins: &[&str], config: DispatchConfig) -> TestBot {
        TestBot::with_runtime(plugins, config, runtime()).await
    }

    /// [`TestBot::new`] on `runtime` (other limits, say).
    pub async fn with_runtime(
        plugins: &[&str],
        config: DispatchConfig,
        runtime: Arc<wasmqq::runtime::Runtime>,
    ) -> TestBot {
        let dir = tempfile::tempdir().expect("tempdir");
        let plugin_dir = dir.path().join("plugins");
        std::fs::create_dir_all(&plugin_dir).expect("plugin dir");
        for name in plugins {
            std::fs::copy(wasm(name), plugin_dir.join(format!("{name}.wasm"))).expect("copy");
        }
        let registry = Registry::new(
            runtime,
            plugin_dir,
            Arc::new(|_| Some(PluginSetup::default())),
            Owners::in_memory(),
        );
        registry.load_all().await.expect("load plugins");
        let watcher = Watcher::start(registry.clone()).expect("watch");
        let toggles = Arc::new(Toggles::open(dir.path().join("toggles.json")).unwrap());
        let (tx, replies) = mpsc::unbounded_channel();
        let dispatcher =
            Dispatcher::new(config, registry.clone(), toggles, Arc::new(Collector(tx)));
        TestBot {
            dispatcher,
            registry,
            replies,
            dir,
            _watcher: watcher,
            next_id: 1,
        }
    }

    /// Default dispatch settings with [`ADMIN`] and no cooldowns.
    pub fn config() -> DispatchConfig {
        DispatchConfig {
            admins: vec![ADMIN],
            rate_limit: wasmqq::dispatch::RateLimitConfig {
                user_cooldown_ms: 0,
                chat_cooldown_ms: 0,
            },
            ..DispatchConfig::default()
        }
    }

    /// The drop-in folder.
    pub fn plugin_dir(&self) -> PathBuf {
        self.registry.dir().to_path_buf()
    }

    /// Where the toggles live.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `sender` (whose QQ is `sender` too) says `text` in `chat`.
    pub fn say(&mut self, chat: &ChatAddress, sender: u64, text: &str) {
        self.next_id += 1;
        let message = Message {
            id: self.next_id,
            chat: chat.chat,
            sender,
            sender_name: format!("user{sender}"),
            segments: vec![Segment::Text(text.into())],
            time: 0,
        };
        self.dispatcher.handle(Incoming {
            message,
            chat: chat.clone(),
            sender_qq: Some(sender),
            sender_admin: false,
        });
    }

    /// The next reply (fails after 5 s).
    pub async fn reply(&mut self) -> Reply {
        tokio::time::timeout(Duration::from_secs(5), self.replies.recv())
            .await
            .expect("no reply within 5 s")
            .expect("sink closed")
    }

    /// The next reply's text.
    pub async fn reply_text(&mut self) -> String {
        crate::text(&self.reply().await.segments)
    }

    /// Asserts nothing is replied within `wait`.
    pub async fn no_reply(&mut self, wait: Duration) {
        if let Ok(Some(r)) = tokio::time::timeout(wait, self.replies.recv()).await {
            panic!("unexpected reply: {r:?}");
        }
    }
}
