//! The [`Client`]: login (restore or QR), the background poll task, and
//! the handles the bot host uses (events, send, contacts, shutdown).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{RwLock, mpsc};
use tokio::task::JoinHandle;
use tracing::Instrument;
use wasmqq_shutdown::Signal;

use crate::config::ClientConfig;
use crate::contacts::{ContactBook, ContactCache};
use crate::content::Segment;
use crate::error::{Error, Result};
use crate::events::{ChatRef, Event};
use crate::login::Observer;
use crate::send::{self, SendReport, SendSettings, SendState};
use crate::session::Auth;
use crate::transport::Transport;

use crate::shared::Inner;

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
        let shutdown = Signal::new();
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
        if self.inner.shutdown.is_fired() {
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
                if inner.shutdown.is_fired() {
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
        self.inner.shutdown.fire();
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
