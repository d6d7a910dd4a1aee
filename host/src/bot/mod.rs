//! The bot: the WebQQ client, the plugin registry, the dispatcher and the
//! outbox joined into one running product.
//!
//! Data flow: client events → [`Dispatcher`] → plugin actors → replies in
//! per-chat order → [`Outbox`] (persisted) → client sends. Timers from the
//! store come back through the dispatcher as `on-timer` calls.

pub mod budget;
pub mod journal;
mod sink;
pub mod threads;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use wasmqq_webqq::Observer;

use crate::abi::PluginInfo;
use crate::capabilities::kv::SqliteKv;
use crate::capabilities::{Grants, HttpFetcher, HttpSetupError, KvQuota, Services};
use crate::config::{AccountConfig, Config};
use crate::dispatch::{DispatchConfig, Dispatcher, Incoming, ReplySink};
use crate::outbox::{self, Outbox, OutboxError};
use crate::platform::{AccountContacts, Platform, PlatformDeliver, PlatformEvent};
use crate::registry::{Owners, OwnersError, Registry, SetupFn, Toggles, TogglesError, Watcher};
use crate::runtime::{PluginSetup, Runtime, RuntimeConfig, RuntimeError};
use crate::store::{Store, StoreError};
use crate::timers::{DueTimer, TimerService};
pub use sink::{AccountOut, OutboxSink};

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
    #[error("account {account:?}: WebQQ login failed: {source}")]
    Login {
        /// The account.
        account: String,
        /// The client's error.
        source: wasmqq_webqq::Error,
    },
    /// An account other than WebQQ could not start (OneBot connect, line
    /// chat listen).
    #[error("account {account:?} ({platform}): {message}")]
    Account {
        /// The account.
        account: String,
        /// Its platform.
        platform: &'static str,
        /// What failed.
        message: String,
    },
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
    /// The accounts, in configuration order.
    accounts: Vec<(Arc<str>, AccountOut)>,
    registry: Arc<Registry>,
    dispatcher: Arc<Dispatcher>,
    events: mpsc::Receiver<PlatformEvent>,
    timers: mpsc::Receiver<DueTimer>,
    timer_task: tokio::task::JoinHandle<()>,
    /// Stops the timer scheduler.
    timer_stop: wasmqq_shutdown::Signal,
    /// Loads the plugin folder at start (see [`Registry::load_in_background`]).
    loading: tokio::task::JoinHandle<usize>,
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
            .with_http_patterns(pc.http_allow.clone())
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

/// Dispatch again every message received on `account` before the last
/// stop whose replies did not reach the outbox, oldest first.
fn replay_journal(account: &Arc<str>, outbox: &Outbox, dispatcher: &Arc<Dispatcher>) {
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
        account = %account,
        messages = unfinished.len(),
        "handling the messages received but not answered before the last stop"
    );
    for entry in unfinished {
        match journal::decode(&entry.payload, account) {
            Ok(incoming) => dispatcher.handle_replayed(incoming, entry.seq),
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
    /// Log in to every account (restoring saved sessions when the server
    /// accepts them), open the database and each account's outbox
    /// (resuming undelivered messages and unanswered ones), start loading
    /// the plugin folder and watching it. Returns while plugins may still
    /// be loading: each serves once loaded, and
    /// `bot.registry().loaded()` waits for them all.
    pub async fn start(config: Config, observer: Observer) -> Result<Bot, BotError> {
        let data = config.bot.data_dir.clone();
        create_dir(&data)?;
        create_dir(&config.bot.plugin_dir)?;

        let (event_tx, event_rx) = mpsc::channel(256);
        let mut accounts: Vec<(Arc<str>, AccountOut)> = Vec::new();
        for account in config.accounts() {
            let name: Arc<str> = account.name().into();
            let dir = crate::config::account_dir(&data, &name);
            create_dir(&dir)?;
            let platform = connect(
                &config,
                &account,
                name.clone(),
                observer.clone(),
                event_tx.clone(),
            )
            .await?;
            tracing::info!(account = %name, platform = platform.kind(), self_id = platform.self_id(), "account connected");
            let outbox = Outbox::open(
                &dir.join(outbox::FILE_NAME),
                Arc::new(PlatformDeliver(platform.clone())),
                config.outbox.delivery(),
            )?;
            accounts.push((name, AccountOut { platform, outbox }));
        }
        drop(event_tx);
        let sink = Arc::new(OutboxSink {
            accounts: accounts.iter().cloned().collect(),
            admins: config.bot.admins.clone(),
            budget: budget::Budget::new(budget::BudgetConfig {
                sends_per_minute: config.outbox.plugin_sends_per_minute,
                max_queued: config.outbox.plugin_max_queued,
                max_message_bytes: config.webqq.max_message_bytes
                    * config.outbox.max_reply_parts as usize,
            }),
        });
        let contacts: HashMap<_, _> = accounts
            .iter()
            .map(|(name, out)| (name.clone(), out.platform.contacts()))
            .collect();

        let store = Store::open(crate::store::default_path(&data))?;
        let timers = TimerService::open(&store, config.timers)?;
        let services = Services {
            kv: Some(Arc::new(SqliteKv::new(&store)?)),
            timers: Some(timers.clone()),
            outbound: Some(sink.clone()),
            contacts: Some(Arc::new(AccountContacts(contacts))),
            http: Some(HttpFetcher::new(config.http)?),
        };
        let runtime = Runtime::new(RuntimeConfig {
            limits: config.limits.clone(),
            cache_dir: Some(data.join("cache")),
            services,
        })?;

        let owners =
            Owners::open(data.join(crate::registry::OWNERS_FILE))?.with_pins(&config.bot.commands);
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
            if !pc.enabled {
                registry.disable(name);
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
        // The bot serves from here on: each plugin from the moment it is
        // loaded, the cached ones first, while the rest compile.
        let loading = registry
            .load_in_background()
            .map_err(|e| dir_err(e.to_string()))?;
        let watcher = Watcher::start(registry.clone()).map_err(|e| dir_err(e.to_string()))?;

        let toggles = Arc::new(Toggles::open(data.join("toggles.json"))?);
        let dispatcher = Dispatcher::new(
            DispatchConfig {
                prefixes: config.bot.prefixes.clone(),
                admins: config.bot.admins.clone(),
                rate_limit: config.rate_limit.clone(),
            },
            registry.clone(),
            toggles,
            sink,
        );
        for (name, out) in &accounts {
            replay_journal(name, &out.outbox, &dispatcher);
        }
        let (timer_tx, timer_rx) = mpsc::channel(64);
        let timer_stop = wasmqq_shutdown::Signal::new();
        let timer_task = timers.start(timer_tx, timer_stop.listener());
        Ok(Bot {
            accounts,
            registry,
            dispatcher,
            events: event_rx,
            timers: timer_rx,
            timer_task,
            timer_stop,
            loading,
            _watcher: watcher,
        })
    }

    /// Journal a received message in its account's journal, then
    /// dispatch it; a message journaled before (the server delivered it
    /// twice) is dropped.
    fn receive(&self, incoming: Incoming) {
        if let Some(seq) = self.journal(&incoming) {
            self.dispatcher.handle_journaled(incoming, seq);
        }
    }

    /// Journal a received message in its account's journal. `None`: not
    /// to be handled (an unknown account, or delivered twice by the
    /// server); `Some(None)`: to be handled though the journal failed.
    fn journal(&self, incoming: &Incoming) -> Option<Option<u64>> {
        let Some(out) = self.account(&incoming.chat.account) else {
            tracing::error!(account = %incoming.chat.account, "message from an unknown account dropped");
            return None;
        };
        match out
            .outbox
            .journal(&journal::key(incoming), &journal::encode(incoming))
        {
            Ok(Some(seq)) => Some(Some(seq)),
            Ok(None) => {
                tracing::info!(
                    msg_id = incoming.message.id,
                    chat = %incoming.chat.key,
                    "message received twice; handled once"
                );
                None
            }
            Err(e) => {
                tracing::error!(
                    msg_id = incoming.message.id,
                    "message not journaled (a crash now would lose it): {e}"
                );
                Some(None)
            }
        }
    }

    fn account(&self, name: &str) -> Option<&AccountOut> {
        self.accounts
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, out)| out)
    }

    /// The accounts, in configuration order.
    pub fn accounts(&self) -> impl Iterator<Item = (&str, &AccountOut)> {
        self.accounts.iter().map(|(n, out)| (&**n, out))
    }

    /// The plugin registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The outbox of the first account.
    pub fn outbox(&self) -> &Outbox {
        &self.accounts[0].1.outbox
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
                    Some(PlatformEvent::Message(incoming)) => self.receive(incoming),
                    Some(PlatformEvent::Stopped { account, reason }) => {
                        tracing::error!(account = %account, "account stopped: {reason}");
                        break;
                    }
                    None => {
                        tracing::error!("every account closed its events");
                        break;
                    }
                },
            }
        }
        // In order: no new timers; the messages already received but not
        // yet read are journaled and dispatched (the server will not send
        // them again); the messages being handled get a moment to have
        // their replies queued (the journal keeps the others); then the
        // outbox (a send in flight gets its grace period while the client
        // still works; undelivered messages stay on disk); then the client.
        self.timer_stop.fire();
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut self.timer_task)
            .await
            .is_err()
        {
            tracing::warn!("the timer scheduler did not stop in time");
            self.timer_task.abort();
        }
        while let Ok(event) = self.events.try_recv() {
            if let PlatformEvent::Message(incoming) = event {
                self.receive(incoming);
            }
        }
        let unfinished = self.dispatcher.drain(SHUTDOWN_GRACE).await;
        if unfinished > 0 {
            tracing::info!(
                unfinished,
                "shutting down with messages unfinished; they are handled at the next start"
            );
        }
        // A start-up still loading plugins stops here (the messages waiting
        // for it stay in the journal).
        self.loading.abort();
        for (_, out) in &self.accounts {
            out.outbox.shutdown().await;
        }
        for (_, out) in &self.accounts {
            out.platform.shutdown().await;
        }
        // Last, what the platforms handed over while stopping (their event
        // pumps end with their clients, closing the channel): journaled for
        // the next start, as nothing is dispatched any more.
        let rest = async {
            while let Some(event) = self.events.recv().await {
                if let PlatformEvent::Message(incoming) = event {
                    self.journal(&incoming);
                }
            }
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, rest).await.is_err() {
            tracing::warn!("a platform kept sending events after it was shut down");
        }
    }
}

/// Connects one account on its platform.
async fn connect(
    config: &Config,
    account: &AccountConfig,
    name: Arc<str>,
    observer: Observer,
    events: mpsc::Sender<PlatformEvent>,
) -> Result<Arc<dyn Platform>, BotError> {
    match account {
        AccountConfig::Webqq(a) => {
            let client_config = config.webqq_client_config(a);
            let account = crate::platform::webqq::WebqqAccount::connect(
                name.clone(),
                client_config,
                observer,
                events,
            )
            .await
            .map_err(|source| BotError::Login {
                account: name.to_string(),
                source,
            })?;
            Ok(Arc::new(account))
        }
        AccountConfig::Onebot(a) => {
            let fail = |message: String| BotError::Account {
                account: name.to_string(),
                platform: "onebot",
                message,
            };
            let client_config = a
                .client_config()
                .map_err(|(key, why)| fail(format!("{key} {why}")))?;
            tracing::info!(account = %name, mode = %client_config.mode.describe(), "connecting to the OneBot implementation");
            let account = crate::platform::onebot::OnebotAccount::connect(
                name.clone(),
                client_config,
                events,
            )
            .await
            .map_err(|e| fail(e.to_string()))?;
            Ok(Arc::new(account))
        }
        AccountConfig::Linechat(a) => {
            let fail = |message: String| BotError::Account {
                account: name.to_string(),
                platform: "linechat",
                message,
            };
            let room = a
                .room_config()
                .map_err(|(key, why)| fail(format!("{key} {why}")))?;
            let account =
                crate::platform::linechat::LinechatAccount::start(name.clone(), room, events)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
            Ok(Arc::new(account))
        }
    }
}
