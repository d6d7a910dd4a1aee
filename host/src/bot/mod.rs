//! The bot: the WebQQ client, the plugin registry, the dispatcher and the
//! outbox joined into one running product.
//!
//! Data flow: client events → [`Dispatcher`] → plugin actors → replies in
//! per-chat order → [`Outbox`] (persisted) → client sends. Timers from the
//! store come back through the dispatcher as `on-timer` calls.

pub mod budget;
mod contacts;
pub mod convert;
pub mod journal;
mod sink;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use wasmqq_webqq::{Client, Event, Events, Observer};

use crate::config::Config;
use crate::dispatch::{DispatchConfig, Dispatcher, Incoming, ReplySink};
use crate::outbox::{self, Outbox, OutboxError};
use crate::plugins::{Owners, OwnersError, Registry, SetupFn, Toggles, TogglesError, Watcher};
use crate::runtime::abi::PluginInfo;
use crate::runtime::host::{
    DueTimer, HttpFetcher, HttpSetupError, KvQuota, Services, TimerService,
};
use crate::runtime::{Grants, PluginSetup, Runtime, RuntimeConfig, RuntimeError};
use crate::store::{SqliteKv, Store, StoreError};
pub use contacts::ClientContacts;
pub use sink::OutboxSink;

/// Why the bot could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// A folder could not be created.
    #[error("{path}: cannot create folder: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Logging in to WebQQ failed.
    #[error("WebQQ login failed: {0}")]
    Login(#[from] wasmqq_webqq::Error),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The toggles file failed.
    #[error(transparent)]
    Toggles(#[from] TogglesError),
    /// The command ownership file failed.
    #[error(transparent)]
    Owners(#[from] OwnersError),
    /// The plugin runtime could not start.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The HTTP client for plugins could not be built.
    #[error(transparent)]
    Http(#[from] HttpSetupError),
    /// The plugin folder could not be read or watched.
    #[error("plugin folder {path}: {message}")]
    PluginDir {
        /// The folder.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// How long a shutdown waits for the messages being handled.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// A running bot.
pub struct Bot {
    client: Client,
    registry: Arc<Registry>,
    dispatcher: Arc<Dispatcher>,
    outbox: Outbox,
    events: Events,
    timers: mpsc::Receiver<DueTimer>,
    timer_task: tokio::task::JoinHandle<()>,
    _watcher: Watcher,
}

/// Grants and `init` configuration of each plugin from `[plugins.<name>]`.
fn plugin_setup(config: &Config) -> SetupFn {
    let plugins = config.plugins.clone();
    Arc::new(move |info: &PluginInfo| {
        let pc = plugins.get(&info.name).cloned().unwrap_or_default();
        if !pc.enabled {
            return None;
        }
        let grants: Grants = pc.grants.iter().copied().collect();
        let grants = grants
            .with_http_allow(&pc.http_allow)
            .unwrap_or_else(|e| {
                tracing::error!(plugin = %info.name, "http_allow ignored: {e}");
                Grants::NONE
            })
            .with_kv_quota(KvQuota {
                max_bytes: pc.kv_quota_bytes,
                max_keys: pc.kv_quota_keys,
            });
        for cap in &info.capabilities {
            if !grants.allows(*cap) {
                tracing::info!(
                    plugin = %info.name,
                    "plugin requests capability \"{cap}\", which the configuration does not grant"
                );
            }
        }
        Some(PluginSetup {
            grants,
            config: pc.init_json(),
        })
    })
}

/// Dispatch again every message received before the last stop whose
/// replies did not reach the outbox, oldest first.
fn replay_journal(outbox: &Outbox, dispatcher: &Arc<Dispatcher>) {
    let unfinished = match outbox.unfinished() {
        Ok(u) => u,
        Err(e) => {
            tracing::error!("cannot read the inbound journal: {e}");
            return;
        }
    };
    if unfinished.is_empty() {
        return;
    }
    tracing::info!(
        messages = unfinished.len(),
        "handling the messages received but not answered before the last stop"
    );
    for entry in unfinished {
        match journal::decode(&entry.payload) {
            Ok(incoming) => dispatcher.handle_journaled(incoming, Some(entry.seq)),
            Err(e) => {
                tracing::error!(
                    journal = entry.seq,
                    "journaled message unreadable, skipped: {e}"
                );
                if let Err(e) = outbox.journal_done(entry.seq) {
                    tracing::error!(journal = entry.seq, "{e}");
                }
            }
        }
    }
}

fn create_dir(path: &std::path::Path) -> Result<(), BotError> {
    std::fs::create_dir_all(path).map_err(|source| BotError::Folder {
        path: path.into(),
        source,
    })
}

impl Bot {
    /// Log in (restoring the saved session when the server accepts it),
    /// open the database and the outbox (resuming undelivered messages),
    /// load the plugin folder and start watching it.
    pub async fn start(config: Config, observer: Observer) -> Result<Bot, BotError> {
        let data = config.bot.data_dir.clone();
        create_dir(&data)?;
        create_dir(&config.bot.plugin_dir)?;

        let client = Client::connect(config.client_config(), observer).await?;
        let outbox = Outbox::open(
            &data.join(outbox::FILE_NAME),
            Arc::new(client.clone()),
            outbox::OutboxConfig {
                max_attempts: config.outbox.max_attempts,
                retry_base: std::time::Duration::from_millis(config.outbox.retry_base_ms),
                retry_max: std::time::Duration::from_millis(config.outbox.retry_max_ms),
                ..outbox::OutboxConfig::default()
            },
        )?;
        let sink = Arc::new(OutboxSink {
            outbox: outbox.clone(),
            client: client.clone(),
            admins: config.bot.admins.clone(),
            budget: budget::Budget::new(budget::BudgetConfig {
                sends_per_minute: config.outbox.plugin_sends_per_minute,
                max_queued: config.outbox.plugin_max_queued,
                max_message_bytes: config.webqq.max_message_bytes
                    * config.outbox.max_reply_parts as usize,
            }),
        });

        let store = Store::open(crate::store::default_path(&data))?;
        let timers = TimerService::open(&store, config.timers)?;
        let services = Services {
            kv: Some(Arc::new(SqliteKv::new(&store)?)),
            timers: Some(timers.clone()),
            outbound: Some(sink.clone()),
            contacts: Some(Arc::new(ClientContacts(client.clone()))),
            http: Some(HttpFetcher::new(config.http)?),
        };
        let runtime = Runtime::new(RuntimeConfig {
            limits: config.limits.clone(),
            cache_dir: Some(data.join("cache")),
            services,
        })?;

        let owners =
            Owners::open(data.join(crate::plugins::OWNERS_FILE))?.with_pins(&config.bot.commands);
        let registry = Registry::new(
            runtime,
            &config.bot.plugin_dir,
            plugin_setup(&config),
            owners,
        );
        for (name, pc) in &config.plugins {
            if let Some(hash) = &pc.sha256 {
                registry.pin(name, hash);
            }
        }
        let notice_sink = sink.clone();
        registry.set_notice(Arc::new(move |text: &str| notice_sink.notify_admins(text)));
        let unload_sink = sink.clone();
        registry.set_on_unload(Arc::new(move |plugin: &str| {
            let dropped = unload_sink.drop_queued(plugin, None);
            if dropped > 0 {
                tracing::warn!(
                    plugin,
                    dropped,
                    "unloaded: its queued messages were dropped"
                );
            }
        }));
        let dir_err = |message: String| BotError::PluginDir {
            path: config.bot.plugin_dir.clone(),
            message,
        };
        let loaded = registry
            .load_all()
            .await
            .map_err(|e| dir_err(e.to_string()))?;
        let watcher = Watcher::start(registry.clone()).map_err(|e| dir_err(e.to_string()))?;
        tracing::info!(loaded, dir = %config.bot.plugin_dir.display(), "plugins loaded");

        let toggles = Arc::new(Toggles::open(data.join("toggles.json"))?);
        let dispatcher = Dispatcher::new(
            DispatchConfig {
                prefixes: config.bot.prefixes.clone(),
                admins: config.bot.admins.clone(),
                user_cooldown: config.rate_limit.user_cooldown(),
                chat_cooldown: config.rate_limit.chat_cooldown(),
            },
            registry.clone(),
            toggles,
            sink,
        );
        replay_journal(&outbox, &dispatcher);
        let (timer_tx, timer_rx) = mpsc::channel(64);
        let timer_task = timers.start(timer_tx);
        let events = client
            .events()
            .expect("a freshly connected client hands out its events");
        Ok(Bot {
            client,
            registry,
            dispatcher,
            outbox,
            events,
            timers: timer_rx,
            timer_task,
            _watcher: watcher,
        })
    }

    /// Journal a received message, then dispatch it; a message journaled
    /// before (the server delivered it twice) is dropped.
    fn receive(&self, incoming: Incoming) {
        match self
            .outbox
            .journal(&journal::key(&incoming), &journal::encode(&incoming))
        {
            Ok(Some(seq)) => self.dispatcher.handle_journaled(incoming, Some(seq)),
            Ok(None) => tracing::info!(
                msg_id = incoming.message.id,
                chat = %incoming.chat.key,
                "message received twice; handled once"
            ),
            Err(e) => {
                tracing::error!(
                    msg_id = incoming.message.id,
                    "message not journaled (a crash now would lose it): {e}"
                );
                self.dispatcher.handle(incoming);
            }
        }
    }

    /// The logged-in client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The plugin registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The outbox.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Handle events until `shutdown` completes or the client stops, then
    /// stop cleanly: the poll loop ends, the session is saved, undelivered
    /// messages stay in the outbox for the next start.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => {
                    tracing::info!("shutting down");
                    break;
                }
                due = self.timers.recv() => {
                    if let Some(due) = due {
                        self.dispatcher.handle_timer(due);
                    }
                }
                event = self.events.recv() => match event {
                    Some(Event::Message(m)) => {
                        let book = self.client.contacts();
                        let own = self.client.uin();
                        if m.sender == own {
                            continue;
                        }
                        let incoming = convert::incoming(&m, &book, own);
                        self.receive(incoming);
                    }
                    Some(Event::Stopped { reason }) => {
                        tracing::error!("WebQQ client stopped: {reason}");
                        break;
                    }
                    Some(other) => tracing::info!(event = ?other, "WebQQ event"),
                    None => {
                        tracing::error!("WebQQ client closed its events");
                        break;
                    }
                },
            }
        }
        // In order: no new timers; the messages being handled get a moment
        // to have their replies queued (the journal keeps the others); then
        // the outbox (a send in flight gets its grace period while the
        // client still works; undelivered messages stay on disk); then the
        // client.
        self.timer_task.abort();
        let unfinished = self.dispatcher.drain(SHUTDOWN_GRACE).await;
        if unfinished > 0 {
            tracing::info!(
                unfinished,
                "shutting down with messages unfinished; they are handled at the next start"
            );
        }
        self.outbox.shutdown().await;
        self.client.shutdown().await;
    }
}
