//! The [`Client`]: login (restore or QR), the background poll task, and
//! the handles the bot host uses (events, send, contacts, shutdown).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{RwLock, mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::config::ClientConfig;
use crate::contacts::{self, ContactBook, ContactCache};
use crate::content::Segment;
use crate::error::{Error, Result};
use crate::events::{ChatKind, ChatRef, Event};

/// Attempts of a whole login (QR or restore) when the server fails it
/// ([`Error::is_login_retryable`]): the first and three retries, 0.5 s to
/// 4 s apart.
const LOGIN_ATTEMPTS: u32 = 4;

/// Attempts of the session activation (`get_online_buddies2`) within one
/// login when the server fails it ([`Error::is_login_retryable`]).
const ACTIVATE_ATTEMPTS: u32 = 5;
use crate::login::{self, LoginStatus, Observer, QrSettings};
use crate::send::{self, SendReport, SendSettings, SendState};
use crate::session::{self, Auth, SavedSession};
use crate::transport::Transport;

/// State shared by the client handles and the poll task.
pub(crate) struct Inner {
    pub config: ClientConfig,
    pub transport: Transport,
    /// The live credentials. Held for writing during a relink or re-login,
    /// so sends wait for the session to come back instead of failing.
    pub auth: RwLock<Auth>,
    /// The account's QQ number, readable without waiting.
    pub uin: AtomicU64,
    pub contacts: ContactCache,
    pub send_state: SendState,
    pub observer: Observer,
    pub shutdown: watch::Sender<bool>,
}

/// The stream of [`Event`]s of a client.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::Receiver<Event>,
}

impl Events {
    /// The next event; `None` once the client stopped (shutdown, or
    /// [`Event::Stopped`] was delivered).
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is ready.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }

    /// The underlying tokio receiver (e.g. for `tokio_stream`'s
    /// `ReceiverStream`).
    pub fn into_inner(self) -> mpsc::Receiver<Event> {
        self.rx
    }
}

/// A logged-in WebQQ client. Cheap to clone; all clones share one session.
///
/// Created by [`Client::connect`], which logs in (restoring the saved
/// session when possible) and starts the poll loop in the background.
/// Incoming messages arrive on [`Client::events`]; re-logins after session
/// loss happen by themselves, through the same [`Observer`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    events: Arc<std::sync::Mutex<Option<Events>>>,
    task: Arc<tokio::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("uin", &self.uin())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Logs in and starts polling.
    ///
    /// With a [`session_file`](ClientConfig::session_file) holding a saved
    /// session, a cookie re-login (login2 + getvfwebqq + activation) is
    /// tried first; if the server refuses it, or there is none, a QR login
    /// runs: the code is saved as PNG and handed to `observer`, which also
    /// sees every status line. Returns once the session is up, contacts are
    /// loaded and the session is activated.
    ///
    /// Fails on network errors during the QR login, on an unexpected
    /// `ptqrlogin` answer, after [`qr_max_codes`](ClientConfig::qr_max_codes)
    /// expired codes, and on an unreadable session file.
    pub async fn connect(config: ClientConfig, observer: Observer) -> Result<Client> {
        let transport = Transport::new(config.server, config.request_timeout)?;
        let (shutdown, _) = watch::channel(false);
        let buffer = config.event_buffer.max(1);
        let inner = Arc::new(Inner {
            config,
            transport,
            auth: RwLock::new(Auth::default()),
            uin: AtomicU64::new(0),
            contacts: ContactCache::default(),
            send_state: SendState::new(),
            observer,
            shutdown,
        });
        let auth = inner
            .login(true)
            .instrument(tracing::info_span!("connect"))
            .await?;
        *inner.auth.write().await = auth;
        let (tx, rx) = mpsc::channel(buffer);
        let task = tokio::spawn(
            crate::poll::run(inner.clone(), tx).instrument(tracing::info_span!("poll")),
        );
        Ok(Client {
            inner,
            events: Arc::new(std::sync::Mutex::new(Some(Events { rx }))),
            task: Arc::new(tokio::sync::Mutex::new(Some(task))),
        })
    }

    /// Takes the event stream. The first call returns it; later calls (from
    /// any clone) return `None`. Events queue up (up to
    /// [`event_buffer`](ClientConfig::event_buffer), then polling pauses)
    /// until it is taken.
    pub fn events(&self) -> Option<Events> {
        match self.events.lock() {
            Ok(mut e) => e.take(),
            Err(p) => p.into_inner().take(),
        }
    }

    /// The account's QQ number.
    pub fn uin(&self) -> u64 {
        self.inner.uin.load(Ordering::Relaxed)
    }

    /// Sends `segments` to `chat`, split into parts of at most
    /// [`max_message_bytes`](ClientConfig::max_message_bytes), paced per
    /// chat and retried on transient failures. Waits while a relink or
    /// re-login is in progress.
    ///
    /// Control characters (but `\n`, `\t`) are stripped and faces outside
    /// `0..=255` dropped first ([`content::clean_outgoing`](crate::content::clean_outgoing)).
    ///
    /// Fails (`Err`) only for an empty message (or one left empty by that), a
    /// [`ChatKind::Session`] target (SmartQQ cannot send there) or after
    /// shutdown; delivery problems are reported per part in the
    /// [`SendReport`].
    pub async fn send(&self, chat: ChatRef, segments: &[Segment]) -> Result<SendReport> {
        if *self.inner.shutdown.borrow() {
            return Err(Error::Shutdown);
        }
        let c = &self.inner.config;
        let settings = SendSettings {
            interval: c.send_interval,
            retries: c.send_retries,
            backoff_base: c.backoff_base,
            backoff_max: c.backoff_max,
            max_bytes: c.max_message_bytes,
        };
        let face = match self.inner.contacts.snapshot().me.face {
            0 => 522,
            f => f,
        };
        let inner = &self.inner;
        send::send(
            &inner.transport,
            &inner.send_state,
            &settings,
            face,
            || async {
                if *inner.shutdown.borrow() {
                    return Err(Error::Shutdown);
                }
                Ok(inner.auth.read().await.clone())
            },
            chat,
            segments,
        )
        .instrument(tracing::info_span!("send", %chat))
        .await
    }

    /// The current contacts snapshot (cheap; never blocks on the network).
    pub fn contacts(&self) -> Arc<ContactBook> {
        self.inner.contacts.snapshot()
    }

    /// Reloads friends, groups, discussions (and their members when
    /// [`load_members`](ClientConfig::load_members) is set) and returns the
    /// new snapshot. Fails if the friend, group or discussion list cannot
    /// be fetched.
    pub async fn refresh_contacts(&self) -> Result<Arc<ContactBook>> {
        let auth = self.inner.auth.read().await.clone();
        self.inner.refresh_contacts(&auth, true).await?;
        Ok(self.contacts())
    }

    /// Fetches the members of a group or discussion now (they are otherwise
    /// loaded at login or when an unknown member speaks). Fails for a chat
    /// the contacts do not know, or when the request fails.
    pub async fn load_members(&self, chat: ChatRef) -> Result<Arc<ContactBook>> {
        let auth = self.inner.auth.read().await.clone();
        self.inner.load_members(&auth, chat).await?;
        Ok(self.contacts())
    }

    /// Writes the current session to the session file (done by itself after
    /// every login, ptwebqq update and at shutdown).
    pub async fn save_session(&self) -> Result<()> {
        let auth = self.inner.auth.read().await.clone();
        self.inner.save_session(&auth)
    }

    /// Stops the poll loop (interrupting a long-poll or a re-login), saves
    /// the session so the next start can restore it, and closes the event
    /// stream. Sends started afterwards fail with [`Error::Shutdown`].
    /// Idempotent.
    pub async fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        let task = self.task.lock().await.take();
        if let Some(task) = task {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "poll task ended abnormally");
            }
            let auth = self.inner.auth.read().await.clone();
            if auth.uin != 0
                && let Err(e) = self.inner.save_session(&auth)
            {
                tracing::warn!(error = %e, "could not save the session at shutdown");
            }
            tracing::info!("client shut down");
        }
    }
}

impl Inner {
    /// Logs in: cookie re-login from the session file if `try_restore` and
    /// one exists, else (or when refused) the QR flow; then contacts and
    /// activation. Reports `LoggedIn` and saves the session.
    pub(crate) async fn login(&self, try_restore: bool) -> Result<Auth> {
        // A failure of the server's (network, 5xx, an error retcode, a
        // malformed answer) anywhere in the login is retried with backoff
        // a few times before it is an error.
        let mut delay = std::time::Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            match self.login_once(try_restore).await {
                Err(e) if e.is_login_retryable() && attempt < LOGIN_ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, ?delay, "login failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(16));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn login_once(&self, try_restore: bool) -> Result<Auth> {
        if try_restore
            && let Some(path) = &self.config.session_file
            && let Some(saved) = session::load(path)?
        {
            self.observer
                .report(LoginStatus::RestoringSession { path: path.clone() });
            match self.restore(saved).await {
                Ok(auth) => {
                    self.logged_in(&auth, true);
                    return Ok(auth);
                }
                Err(e) => {
                    self.observer.report(LoginStatus::SessionRefused {
                        reason: e.to_string(),
                    });
                }
            }
        }
        let qr = QrSettings {
            png_path: self.config.qr_png_path.clone(),
            poll_interval: self.config.qr_poll_interval,
            max_codes: self.config.qr_max_codes,
        };
        let auth = login::qr_login(&self.transport, &qr, &self.observer).await?;
        self.establish(&auth).await?;
        self.logged_in(&auth, false);
        Ok(auth)
    }

    fn logged_in(&self, auth: &Auth, restored: bool) {
        self.uin.store(auth.uin, Ordering::Relaxed);
        if let Err(e) = self.save_session(auth) {
            tracing::warn!(error = %e, "could not save the session");
        }
        self.observer.report(LoginStatus::LoggedIn {
            uin: auth.uin,
            restored,
        });
    }

    /// Cookie re-login from a saved session (§2.9).
    async fn restore(&self, saved: SavedSession) -> Result<Auth> {
        self.transport
            .import_cookies(&saved.cookies)
            .map_err(|detail| Error::Malformed {
                endpoint: "session file",
                detail,
            })?;
        let ptwebqq = self
            .transport
            .cookie("ptwebqq")
            .filter(|p| !p.is_empty())
            .unwrap_or(saved.ptwebqq);
        let auth = login::finish_login(&self.transport, ptwebqq, "").await?;
        self.establish(&auth).await?;
        Ok(auth)
    }

    /// Relink after poll2 120/121 (§2.9): login2 with the current
    /// psessionid, getvfwebqq, activation, contacts reload.
    pub(crate) async fn relink(&self, current: &Auth) -> Result<Auth> {
        let auth = login::finish_login(
            &self.transport,
            current.ptwebqq.clone(),
            &current.psessionid,
        )
        .await?;
        self.establish(&auth).await?;
        self.logged_in(&auth, false);
        Ok(auth)
    }

    /// After login2: load contacts (failures are logged, not fatal), then
    /// activate the session with get_online_buddies2 (fatal).
    async fn establish(&self, auth: &Auth) -> Result<()> {
        self.contacts.reset();
        self.contacts.update(|b| b.me.uin = auth.uin);
        if let Err(e) = self.refresh_contacts(auth, self.config.load_members).await {
            tracing::warn!(error = %e, "could not load contacts; continuing");
        }
        // Activation is idempotent: a failure (a 5xx, a reset, a timeout,
        // an error retcode, a malformed answer) is retried with backoff
        // rather than failing the login.
        let mut delay = std::time::Duration::from_millis(250);
        for attempt in 1.. {
            match login::activate(&self.transport, auth).await {
                Ok(_) => break,
                Err(e) if e.is_login_retryable() && attempt < ACTIVATE_ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, ?delay, "session activation failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(8));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Fetches all lists; with `members`, every group's and discussion's
    /// members too (individual failures are logged).
    pub(crate) async fn refresh_contacts(&self, auth: &Auth, members: bool) -> Result<()> {
        let t = &self.transport;
        let friends = contacts::fetch_friends(t, auth).await?;
        let groups = contacts::fetch_groups(t, auth).await?;
        let discussions = contacts::fetch_discussions(t, auth).await?;
        let me = match contacts::fetch_self(t, auth).await {
            Ok(me) => Some(me),
            Err(e) => {
                tracing::warn!(error = %e, "could not load own profile");
                None
            }
        };
        let ids: Vec<ChatRef> = groups
            .keys()
            .map(|g| ChatRef::group(*g))
            .chain(discussions.keys().map(|d| ChatRef::discussion(*d)))
            .collect();
        self.contacts.update(|b| {
            // Keep members already loaded for groups that still exist.
            let mut groups = groups;
            for (gid, g) in groups.iter_mut() {
                if let Some(old) = b.groups.get(gid).filter(|o| o.members_loaded) {
                    g.members = old.members.clone();
                    g.members_loaded = true;
                }
            }
            let mut discussions = discussions;
            for (did, d) in discussions.iter_mut() {
                if let Some(old) = b.discussions.get(did).filter(|o| o.members_loaded) {
                    d.members = old.members.clone();
                    d.members_loaded = true;
                }
            }
            b.friends = friends;
            b.groups = groups;
            b.discussions = discussions;
            if let Some(me) = me {
                b.me = me;
            }
            b.me.uin = auth.uin;
        });
        if members {
            for chat in ids {
                if let Err(e) = self.load_members(auth, chat).await {
                    tracing::warn!(%chat, error = %e, "could not load members");
                }
            }
        }
        Ok(())
    }

    /// Fetches one group's or discussion's members into the cache.
    pub(crate) async fn load_members(&self, auth: &Auth, chat: ChatRef) -> Result<()> {
        let t = &self.transport;
        match chat.kind {
            ChatKind::Group => {
                let code = self
                    .contacts
                    .snapshot()
                    .groups
                    .get(&chat.id)
                    .map(|g| g.code)
                    .ok_or_else(|| Error::Malformed {
                        endpoint: "get_group_info_ext2",
                        detail: format!("unknown group gid {}", chat.id),
                    })?;
                let members = contacts::fetch_group_members(t, auth, code).await?;
                self.contacts.update(|b| {
                    if let Some(g) = b.groups.get_mut(&chat.id) {
                        g.members = members;
                        g.members_loaded = true;
                    }
                });
            }
            ChatKind::Discussion => {
                let members = contacts::fetch_discussion_members(t, auth, chat.id).await?;
                self.contacts.update(|b| {
                    if let Some(d) = b.discussions.get_mut(&chat.id) {
                        d.members = members;
                        d.members_loaded = true;
                    }
                });
            }
            ChatKind::Friend | ChatKind::Session => {}
        }
        Ok(())
    }

    /// Persists `auth` and the cookie jar, if a session file is configured.
    pub(crate) fn save_session(&self, auth: &Auth) -> Result<()> {
        let Some(path) = &self.config.session_file else {
            return Ok(());
        };
        let cookies = self
            .transport
            .export_cookies()
            .map_err(|detail| Error::SessionFile {
                path: path.clone(),
                source: std::io::Error::other(detail),
            })?;
        session::save(path, &SavedSession::new(auth, cookies))
    }

    /// Whether shutdown was requested.
    pub(crate) fn is_shut_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}
