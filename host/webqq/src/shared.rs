//! What the client handles and the poll task share: the account's live
//! state ([`Inner`]) and what both do with it (log in, relink, save the
//! session, refresh contacts). Kept apart from [`crate::client`] (which
//! spawns the poll task) and [`crate::poll`] (which runs it), so neither
//! imports the other.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::RwLock;
use wasmqq_shutdown::Signal;

use crate::config::ClientConfig;
use crate::contacts::{self, ContactCache};
use crate::error::{Error, Result};
use crate::events::{ChatKind, ChatRef};
use crate::login::{self, LoginStatus, Observer, QrSettings};
use crate::send::SendState;
use crate::session::{self, Auth, SavedSession};
use crate::transport::Transport;

/// Attempts of a whole login (QR or restore) when the server fails it
/// ([`Error::is_login_retryable`]): the first and three retries, 0.5 s to
/// 4 s apart.
const LOGIN_ATTEMPTS: u32 = 4;

/// Attempts of the session activation (`get_online_buddies2`) within one
/// login when the server fails it ([`Error::is_login_retryable`]).
const ACTIVATE_ATTEMPTS: u32 = 5;

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
    pub shutdown: Signal,
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
        self.shutdown.is_fired()
    }
}
