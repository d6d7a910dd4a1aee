//! The [`Client`]: starts the configured mode, checks the account with
//! `get_login_info`, loads contacts, and is the handle the bot uses to
//! call actions, send (paced per chat), read contacts and shut down.
//!
//! Whatever the mode, calls go one of two ways: over the current WebSocket
//! API link (forward or reverse; there is none while disconnected, and a
//! call then fails at once with the transient [`Error::Disconnected`]),
//! or as HTTP requests. Events from every connection and the webhook flow
//! into one bounded channel read through [`Events`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;
use wasmqq_shutdown::{Shutdown, Signal};
use wasmqq_wire::backoff::Backoff;

use crate::config::{Config, Mode};
use crate::contacts::{self, Contacts};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::http::HttpApi;
use crate::message::{Segment, to_array};
use crate::pace::{Chat, Pacer};
use crate::shared::Shared;
use crate::{forward, http, reverse};

/// How long [`Client::shutdown`] waits for each background task.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// How often the wait for a reverse or HTTP implementation is logged.
const WAIT_LOG_EVERY: Duration = Duration::from_secs(10);

/// The stream of [`Event`]s of a client.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::Receiver<Event>,
    shutdown: Shutdown,
}

impl Events {
    /// The next event; `None` once the client is shut down and the events
    /// already received are drained.
    pub async fn recv(&mut self) -> Option<Event> {
        tokio::select! {
            biased;
            ev = self.rx.recv() => ev,
            () = self.shutdown.recv() => self.rx.try_recv().ok(),
        }
    }

    /// The next event if one is ready.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

struct Inner {
    shared: Arc<Shared>,
    http: Option<HttpApi>,
    nickname: Mutex<String>,
    contacts: RwLock<Arc<Contacts>>,
    pacer: Pacer,
    tasks: tokio::sync::Mutex<Vec<JoinHandle<()>>>,
    registration: Mutex<Option<reverse::Registration>>,
}

impl Drop for Inner {
    /// The last handle gone without [`Client::shutdown`]: stop the
    /// background tasks and the connections all the same.
    fn drop(&mut self) {
        self.shared.shutdown.fire();
    }
}

/// A connection to one account held by a OneBot v11 implementation.
/// Cheap to clone; all clones share the connection(s).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("mode", &self.inner.shared.config.mode.describe())
            .field("self_id", &self.self_id())
            .finish_non_exhaustive()
    }
}

fn check_scheme(url: &url::Url, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&url.scheme()) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{url}: scheme must be one of {allowed:?}"
        )))
    }
}

impl Client {
    /// Starts the mode's connection(s) and returns once the implementation
    /// is reachable and `get_login_info` answered; then loads contacts
    /// (failures there are logged, not fatal).
    ///
    /// Forward: dials with backoff until it connects. Reverse: binds (or
    /// joins) the listener and waits for the implementation to connect.
    /// HTTP: binds the webhook and calls `get_login_info` with backoff
    /// until it answers. All three wait indefinitely, logging; put a
    /// timeout around the call to bound it.
    ///
    /// Fails on a bad configuration, a listener that cannot be bound, a
    /// refused access token ([`Error::Unauthorized`]), a `get_login_info`
    /// that fails or names another account than
    /// [`Config::self_id`] ([`Error::WrongAccount`]).
    pub async fn connect(config: Config) -> Result<(Client, Events)> {
        let span = tracing::info_span!("onebot_connect", mode = %config.mode.describe());
        Self::connect_inner(config).instrument(span).await
    }

    async fn connect_inner(config: Config) -> Result<(Client, Events)> {
        match &config.mode {
            Mode::ForwardWs { url } => check_scheme(url, &["ws", "wss"])?,
            Mode::ForwardWsSplit { api, event } => {
                check_scheme(api, &["ws", "wss"])?;
                check_scheme(event, &["ws", "wss"])?;
            }
            Mode::ReverseWs { .. } => {}
            Mode::Http { api, .. } => check_scheme(api, &["http", "https"])?,
        }
        let (events_tx, events_rx) = mpsc::channel(config.event_buffer.max(1));
        let shutdown = Signal::new();
        let (api, _) = watch::channel(None);
        let http = match &config.mode {
            Mode::Http { api, .. } => Some(HttpApi::new(api, config.access_token.clone())?),
            _ => None,
        };
        let pacer = Pacer::new(config.send_interval);
        let mode = config.mode.clone();
        let shared = Arc::new(Shared {
            config,
            api,
            events: events_tx,
            shutdown,
            self_id: AtomicU64::new(0),
        });
        let events = Events {
            rx: events_rx,
            shutdown: shared.shutdown.listener(),
        };
        let client = Client {
            inner: Arc::new(Inner {
                shared: shared.clone(),
                http,
                nickname: Mutex::new(String::new()),
                contacts: RwLock::new(Arc::new(Contacts::default())),
                pacer,
                tasks: tokio::sync::Mutex::new(Vec::new()),
                registration: Mutex::new(None),
            }),
        };
        let started = client.start(&mode).await;
        let ready = match started {
            Ok(()) => client.login().await,
            Err(e) => Err(e),
        };
        if let Err(e) = ready {
            client.shutdown().await;
            return Err(e);
        }
        if let Err(e) = client.refresh_contacts().await {
            tracing::warn!(error = %e, "contacts not (fully) loaded");
        }
        Ok((client, events))
    }

    /// Starts the connection(s) of `mode`.
    async fn start(&self, mode: &Mode) -> Result<()> {
        let shared = &self.inner.shared;
        match mode {
            Mode::ForwardWs { .. } | Mode::ForwardWsSplit { .. } => {
                let first = forward::first_connect(shared).await?;
                let task = tokio::spawn(
                    forward::supervise(shared.clone(), first).instrument(tracing::Span::current()),
                );
                self.inner.tasks.lock().await.push(task);
            }
            Mode::ReverseWs { listen, path } => {
                let reg = reverse::register(shared.clone(), *listen, path).await?;
                *self
                    .inner
                    .registration
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(reg);
                let mut rx = shared.api.subscribe();
                loop {
                    tokio::select! {
                        r = rx.wait_for(|l| l.is_some()) => {
                            if r.is_err() {
                                return Err(Error::Shutdown);
                            }
                            break;
                        }
                        _ = tokio::time::sleep(WAIT_LOG_EVERY) => {
                            tracing::info!("waiting for the OneBot implementation to connect to ws://{listen}{path}");
                        }
                        _ = shared.stopped() => return Err(Error::Shutdown),
                    }
                }
            }
            Mode::Http { listen, path, .. } => {
                let task = http::start_webhook(shared.clone(), *listen, path).await?;
                self.inner.tasks.lock().await.push(task);
            }
        }
        Ok(())
    }

    /// `get_login_info`, retried while it fails transiently (the link is
    /// not up yet, the HTTP API not reachable); checks the account.
    async fn login(&self) -> Result<()> {
        let config = &self.inner.shared.config;
        let mut backoff = Backoff::new(
            config.reconnect_base.min(Duration::from_secs(1)),
            config.reconnect_max,
        );
        let mut last_log = None::<tokio::time::Instant>;
        let (user_id, nickname) = loop {
            match self.get_login_info().await {
                Ok(info) => break info,
                Err(e) if e.is_transient() => {
                    if last_log.is_none_or(|t| t.elapsed() >= WAIT_LOG_EVERY) {
                        tracing::info!(error = %e, "waiting for the OneBot implementation to answer get_login_info");
                        last_log = Some(tokio::time::Instant::now());
                    }
                    if self
                        .inner
                        .shared
                        .sleep_or_shutdown(backoff.next_delay())
                        .await
                    {
                        return Err(Error::Shutdown);
                    }
                }
                Err(e) => return Err(e),
            }
        };
        if let Some(expected) = config.self_id
            && expected != user_id
        {
            return Err(Error::WrongAccount {
                expected,
                actual: user_id,
            });
        }
        self.inner.shared.self_id.store(user_id, Ordering::Relaxed);
        *self
            .inner
            .nickname
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = nickname.clone();
        tracing::info!(self_id = user_id, %nickname, "OneBot account ready");
        Ok(())
    }

    /// The account's QQ number (from `get_login_info`).
    pub fn self_id(&self) -> u64 {
        self.inner.shared.self_id.load(Ordering::Relaxed)
    }

    /// The account's nickname (from `get_login_info`).
    pub fn nickname(&self) -> String {
        self.inner
            .nickname
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether an API connection is up (always `true` in HTTP mode, where
    /// every call is its own request).
    pub fn is_connected(&self) -> bool {
        self.inner.http.is_some() || self.inner.shared.api.borrow().is_some()
    }

    /// Calls `action` with `params` (an object, or null for none) and
    /// returns the response's `data` (null for `async` responses).
    ///
    /// Fails with [`Error::Failed`] when the implementation answers
    /// `failed`, [`Error::Timeout`] after
    /// [`Config::action_timeout`], [`Error::Disconnected`] when there is
    /// no WebSocket link or it drops before the response (the action may
    /// or may not have been done), and the HTTP errors in HTTP mode.
    pub async fn call(&self, action: &str, params: Value) -> Result<Value> {
        let shared = &self.inner.shared;
        if shared.is_shut_down() {
            return Err(Error::Shutdown);
        }
        let params = if params.is_null() { json!({}) } else { params };
        let timeout = shared.config.action_timeout;
        let span = tracing::debug_span!("onebot_call", action);
        async {
            let result = match &self.inner.http {
                Some(http) => http.call(action, &params, timeout).await,
                None => {
                    let link = shared.api.borrow().clone();
                    match link {
                        Some(link) => link.call(action, &params, timeout).await,
                        None => Err(Error::Disconnected {
                            action: action.to_string(),
                        }),
                    }
                }
            };
            if let Err(e) = &result {
                tracing::debug!(error = %e, "call failed");
            }
            result
        }
        .instrument(span)
        .await
    }

    /// `get_login_info`: the account's QQ number and nickname.
    pub async fn get_login_info(&self) -> Result<(u64, String)> {
        let data = self.call("get_login_info", json!({})).await?;
        let user_id = match data.get("user_id") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| Error::Malformed {
            action: "get_login_info".into(),
            detail: format!("no user_id in {}", crate::message::short(&data)),
        })?;
        let nickname = data
            .get("nickname")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Ok((user_id, nickname))
    }

    /// Sends `message` (array form) to a friend or a temporary session;
    /// returns the message id.
    ///
    /// Waits first for the chat's pacing slot ([`Config::send_interval`]).
    /// Returns 0 when the implementation accepted the message without
    /// giving an id (an `async` answer). Fails like [`Client::call`], and
    /// on an empty message.
    pub async fn send_private_msg(&self, user_id: u64, message: &[Segment]) -> Result<i64> {
        let params = json!({"user_id": user_id, "message": to_array(message)});
        self.send("send_private_msg", Chat::Private(user_id), message, params)
            .await
    }

    /// Sends `message` (array form) to a group; returns the message id.
    /// As [`Client::send_private_msg`].
    pub async fn send_group_msg(&self, group_id: u64, message: &[Segment]) -> Result<i64> {
        let params = json!({"group_id": group_id, "message": to_array(message)});
        self.send("send_group_msg", Chat::Group(group_id), message, params)
            .await
    }

    async fn send(
        &self,
        action: &str,
        chat: Chat,
        message: &[Segment],
        params: Value,
    ) -> Result<i64> {
        if message.is_empty() {
            return Err(Error::EmptyMessage {
                action: action.to_string(),
            });
        }
        self.inner.pacer.wait(chat).await;
        let data = self.call(action, params).await?;
        let id = match data.get("message_id") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        match id {
            Some(id) => Ok(id),
            None => {
                tracing::debug!(action, data = %crate::message::short(&data), "send accepted without a message_id");
                Ok(0)
            }
        }
    }

    /// The cached contacts (a snapshot; see [`Client::refresh_contacts`]).
    pub fn contacts(&self) -> Arc<Contacts> {
        self.inner
            .contacts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reloads the contacts: `get_friend_list`, `get_group_list`, and
    /// `get_group_member_list` for each group. What fails keeps its
    /// previous value (a group whose member list fails keeps its old
    /// members) and is logged; the new snapshot is stored in any case.
    /// Fails with the first error of the two list calls, if any.
    pub async fn refresh_contacts(&self) -> Result<()> {
        let mut next = (*self.contacts()).clone();
        let mut first_err = None;
        fn malformed(action: &'static str) -> impl Fn(String) -> Error {
            move |detail| Error::Malformed {
                action: action.to_string(),
                detail,
            }
        }
        let friends = self.call("get_friend_list", json!({})).await;
        match friends
            .and_then(|d| contacts::decode_friends(&d).map_err(malformed("get_friend_list")))
        {
            Ok(f) => next.friends = f,
            Err(e) => {
                tracing::warn!(error = %e, "friend list not refreshed");
                first_err.get_or_insert(e);
            }
        }
        let groups = self.call("get_group_list", json!({})).await;
        match groups.and_then(|d| contacts::decode_groups(&d).map_err(malformed("get_group_list")))
        {
            Ok(mut groups) => {
                for (group_id, group) in groups.iter_mut() {
                    let members = self
                        .call("get_group_member_list", json!({"group_id": group_id}))
                        .await;
                    match members.and_then(|d| {
                        contacts::decode_members(&d).map_err(malformed("get_group_member_list"))
                    }) {
                        Ok(m) => group.members = m,
                        Err(e) => {
                            tracing::warn!(group_id, error = %e, "group members not refreshed");
                            if let Some(old) = next.groups.get(group_id) {
                                group.members = old.members.clone();
                            }
                        }
                    }
                }
                next.groups = groups;
            }
            Err(e) => {
                tracing::warn!(error = %e, "group list not refreshed");
                first_err.get_or_insert(e);
            }
        }
        tracing::info!(
            friends = next.friends.len(),
            groups = next.groups.len(),
            "contacts loaded"
        );
        *self
            .inner
            .contacts
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        first_err.map_or(Ok(()), Err)
    }

    /// Closes the connections and listeners and ends [`Events`] (after
    /// the events already received). Calls in flight fail with
    /// [`Error::Disconnected`], later ones with [`Error::Shutdown`].
    /// Idempotent.
    pub async fn shutdown(&self) {
        let shared = &self.inner.shared;
        shared.shutdown.fire();
        if let Some(link) = shared.api.send_replace(None) {
            link.pending.fail_all();
        }
        drop(
            self.inner
                .registration
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        let tasks: Vec<_> = self.inner.tasks.lock().await.drain(..).collect();
        for mut task in tasks {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                tracing::warn!("a OneBot task did not stop in time; aborted");
                task.abort();
            }
        }
    }
}
