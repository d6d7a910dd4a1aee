//! The room's state: who is connected, under which nickname, and fan-out.
//!
//! One `std::sync::Mutex` guards the whole room. It is never held across an
//! `.await`, and nothing done under it can wait: a line is *offered* to each
//! recipient's queue with `try_send`, and a recipient whose queue is full is
//! marked to be kicked (its connection task does the leaving, so the leave
//! broadcast never happens inside another broadcast). That is what keeps a
//! slow reader from ever blocking the room, the bot or other clients.
//!
//! Claiming a nickname and announcing it happen under the same lock, so
//! every member sees joins, lines and leaves in one order.
//!
//! A broadcast line is built once as an `Arc<str>` and shared by every
//! queue, so a full room costs one copy of a line, not one per member.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};
use wasmqq_shutdown::Signal;

use crate::config::RoomConfig;
use crate::error::Error;
use crate::event::User;
use crate::{nick, text};

/// One line queued for a client, without its line ending.
pub(crate) type Line = Arc<str>;

/// Connection ids: unique in the process, across rooms, never reused.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Why the room ends a connection from outside its own task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kick {
    /// Its outgoing queue was full.
    TooSlow,
    /// Its writer has ended (the socket failed).
    Gone,
}

/// Why a nickname could not be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Someone (or the bot) has it.
    Taken,
    /// The room is shutting down, or the connection is gone.
    Closed,
    /// It is already this user's nickname, exactly.
    Unchanged,
}

/// Why a new connection is turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// `max_clients` connections already.
    Full,
    /// The room is shutting down.
    Closed,
}

/// What a newly admitted connection needs to run.
#[derive(Debug)]
pub(crate) struct Registered {
    pub(crate) id: u64,
    pub(crate) queue: mpsc::Sender<Line>,
    pub(crate) outgoing: mpsc::Receiver<Line>,
    pub(crate) kick: watch::Receiver<Option<Kick>>,
}

#[derive(Debug)]
struct Conn {
    peer: SocketAddr,
    /// `None` until a nickname is chosen; only then is it a room member.
    nick: Option<String>,
    admin: bool,
    queue: mpsc::Sender<Line>,
    kick: watch::Sender<Option<Kick>>,
}

impl Conn {
    fn user(&self, id: u64) -> Option<User> {
        Some(User {
            id,
            nick: self.nick.clone()?,
            admin: self.admin,
        })
    }

    /// Offers `line` without waiting; a full queue marks the client too slow.
    fn deliver(&self, id: u64, line: &Line) {
        match self.queue.try_send(line.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.kick(id, Kick::TooSlow),
            Err(TrySendError::Closed(_)) => self.kick(id, Kick::Gone),
        }
    }

    fn kick(&self, id: u64, why: Kick) {
        let first = self.kick.send_if_modified(|k| {
            if k.is_none() {
                *k = Some(why);
                true
            } else {
                false
            }
        });
        if first {
            warn!(conn = id, peer = %self.peer, nick = ?self.nick, reason = ?why, "disconnecting client");
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Ordered by id, i.e. by arrival: the order of `/who`.
    conns: BTreeMap<u64, Conn>,
    /// `nick::key(nick)` → id, for members only.
    nicks: HashMap<String, u64>,
    /// Connections that have left the room but whose task is still ending
    /// (handing `Left` to the bot, flushing). They keep their place under
    /// `max_clients`, so a stuck bot cannot make ending tasks pile up.
    ending: usize,
    closed: bool,
}

impl State {
    fn broadcast(&self, line: &Line, except: Option<u64>) {
        for (&id, conn) in &self.conns {
            if conn.nick.is_some() && Some(id) != except {
                conn.deliver(id, line);
            }
        }
    }

    fn member(&self, id: u64) -> Option<&Conn> {
        self.conns.get(&id).filter(|c| c.nick.is_some())
    }

    fn by_nick(&self, nick: &str) -> Option<(u64, &Conn)> {
        let id = *self.nicks.get(&nick::key(nick))?;
        Some((id, self.conns.get(&id)?))
    }
}

/// Everything the room's tasks and handles share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: RoomConfig,
    pub(crate) local_addr: SocketAddr,
    state: Mutex<State>,
    /// Fired at shutdown; finished once the accept loop and every
    /// connection (each holding a listener) have ended.
    shutdown: Signal,
}

impl Shared {
    pub(crate) fn new(config: RoomConfig, local_addr: SocketAddr, shutdown: Signal) -> Shared {
        Shared {
            config,
            local_addr,
            state: Mutex::default(),
            shutdown,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing under the lock can leave the state half-updated, so a
        // panic elsewhere while holding it does not poison the room.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn closed(&self) -> Error {
        Error::Closed {
            room: self.config.room_name.clone(),
        }
    }

    /// Admits a connection if the room is open and below `max_clients`.
    pub(crate) fn register(&self, peer: SocketAddr) -> Result<Registered, Full> {
        let mut state = self.lock();
        if state.closed {
            return Err(Full::Closed);
        }
        if state.conns.len() + state.ending >= self.config.max_clients {
            return Err(Full::Full);
        }
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (queue, outgoing) = mpsc::channel(self.config.client_queue);
        let (kick_tx, kick) = watch::channel(None);
        state.conns.insert(
            id,
            Conn {
                peer,
                nick: None,
                admin: false,
                queue: queue.clone(),
                kick: kick_tx,
            },
        );
        Ok(Registered {
            id,
            queue,
            outgoing,
            kick,
        })
    }

    /// Marks a connection to be ended (e.g. its own reply queue was full).
    pub(crate) fn kick(&self, id: u64, why: Kick) {
        if let Some(conn) = self.lock().conns.get(&id) {
            conn.kick(id, why);
        }
    }

    fn nick_free(&self, state: &State, id: u64, wanted: &str) -> bool {
        let key = nick::key(wanted);
        key != nick::key(&self.config.bot_nick) && state.nicks.get(&key).is_none_or(|&o| o == id)
    }

    /// Gives connection `id` its first nickname and announces it to all
    /// members, the newcomer included. `wanted` must be valid.
    pub(crate) fn join(&self, id: u64, wanted: &str) -> Result<User, Refused> {
        let mut state = self.lock();
        if state.closed {
            return Err(Refused::Closed);
        }
        if !self.nick_free(&state, id, wanted) {
            return Err(Refused::Taken);
        }
        let conn = state.conns.get_mut(&id).ok_or(Refused::Closed)?;
        conn.nick = Some(wanted.to_owned());
        let user = User {
            id,
            nick: wanted.to_owned(),
            admin: conn.admin,
        };
        info!(conn = id, peer = %conn.peer, nick = wanted, "joined");
        state.nicks.insert(nick::key(wanted), id);
        state.broadcast(&Line::from(text::joined(wanted)), None);
        Ok(user)
    }

    /// Changes a member's nickname and announces it; returns the user (with
    /// the new nickname) and the old one. `wanted` must be valid.
    pub(crate) fn rename(&self, id: u64, wanted: &str) -> Result<(User, String), Refused> {
        let mut state = self.lock();
        if !self.nick_free(&state, id, wanted) {
            return Err(Refused::Taken);
        }
        let conn = state.conns.get_mut(&id).ok_or(Refused::Closed)?;
        if conn.nick.as_deref() == Some(wanted) {
            return Err(Refused::Unchanged);
        }
        let old = conn
            .nick
            .replace(wanted.to_owned())
            .ok_or(Refused::Closed)?;
        let user = User {
            id,
            nick: wanted.to_owned(),
            admin: conn.admin,
        };
        info!(conn = id, old = %old, new = wanted, "renamed");
        state.nicks.remove(&nick::key(&old));
        state.nicks.insert(nick::key(wanted), id);
        state.broadcast(&Line::from(text::renamed(&old, wanted)), None);
        Ok((user, old))
    }

    /// Says `text` in the room from member `id` (no echo to them); returns
    /// who said it, or `None` if they are no longer a member.
    pub(crate) fn say(&self, id: u64, text: &str) -> Option<User> {
        let state = self.lock();
        let user = state.member(id)?.user(id)?;
        state.broadcast(&Line::from(text::said(&user.nick, text)), Some(id));
        Some(user)
    }

    /// `/me text` from member `id` (no echo to them).
    pub(crate) fn act(&self, id: u64, text: &str) -> Option<User> {
        let state = self.lock();
        let user = state.member(id)?.user(id)?;
        state.broadcast(&Line::from(text::action(&user.nick, text)), Some(id));
        Some(user)
    }

    /// Member `id` as a [`User`], if it is one.
    pub(crate) fn member(&self, id: u64) -> Option<User> {
        self.lock().member(id)?.user(id)
    }

    /// A private line from member `from` to the member called `to`; `false`
    /// if there is no such member.
    pub(crate) fn private(&self, from: u64, to: &str, text: &str) -> bool {
        let state = self.lock();
        let Some(sender) = state.member(from).and_then(|c| c.nick.as_deref()) else {
            return false;
        };
        match state.by_nick(to) {
            Some((id, conn)) => {
                conn.deliver(id, &Line::from(text::private(sender, text)));
                true
            }
            None => false,
        }
    }

    /// The `/who` line.
    pub(crate) fn who(&self) -> String {
        let state = self.lock();
        let nicks: Vec<&str> = state
            .conns
            .values()
            .filter_map(|c| c.nick.as_deref())
            .collect();
        text::who(
            &self.config.room_name,
            &self.config.bot_nick,
            nicks.into_iter(),
        )
    }

    /// Marks `id` admin; `false` if it already was.
    pub(crate) fn make_admin(&self, id: u64) -> bool {
        let mut state = self.lock();
        match state.conns.get_mut(&id) {
            Some(conn) if !conn.admin => {
                conn.admin = true;
                info!(conn = id, nick = ?conn.nick, "authenticated as admin");
                true
            }
            _ => false,
        }
    }

    /// Whether `id` is admin.
    pub(crate) fn is_admin(&self, id: u64) -> bool {
        self.lock().conns.get(&id).is_some_and(|c| c.admin)
    }

    /// Removes connection `id`; if it was a member and the room is not
    /// shutting down, tells the others (`why` as in [`text::left`]).
    /// Returns the user it was, if it was a member. Its place under
    /// `max_clients` stays taken until [`Shared::ended`].
    pub(crate) fn leave(&self, id: u64, why: &str) -> Option<User> {
        let mut state = self.lock();
        let conn = state.conns.remove(&id)?;
        state.ending += 1;
        let user = conn.user(id)?;
        state.nicks.remove(&nick::key(&user.nick));
        info!(conn = id, nick = %user.nick, why, "left");
        if !state.closed {
            state.broadcast(&Line::from(text::left(&user.nick, why)), None);
        }
        Some(user)
    }

    /// A connection that left has finished ending: its place is free.
    pub(crate) fn ended(&self) {
        let mut state = self.lock();
        state.ending = state.ending.saturating_sub(1);
    }

    /// The bot says `text` (one room line per line of it) to all members.
    pub(crate) fn bot_say(&self, text: &str) -> Result<(), Error> {
        let state = self.lock();
        if state.closed {
            return Err(self.closed());
        }
        for line in text.lines() {
            let line = Line::from(text::said(&self.config.bot_nick, &text::sanitize(line)));
            state.broadcast(&line, None);
        }
        Ok(())
    }

    /// The bot tells member `id` `text` privately.
    pub(crate) fn bot_tell(&self, id: u64, text: &str) -> Result<(), Error> {
        let state = self.lock();
        if state.closed {
            return Err(self.closed());
        }
        let conn = state.member(id).ok_or(Error::NoSuchUser { id })?;
        self.tell(id, conn, text);
        Ok(())
    }

    /// The bot tells the member called `nick` `text` privately.
    pub(crate) fn bot_tell_nick(&self, nick: &str, text: &str) -> Result<(), Error> {
        let state = self.lock();
        if state.closed {
            return Err(self.closed());
        }
        let (id, conn) = state.by_nick(nick).ok_or_else(|| Error::NoSuchNick {
            nick: nick.to_owned(),
        })?;
        self.tell(id, conn, text);
        Ok(())
    }

    fn tell(&self, id: u64, conn: &Conn, text: &str) {
        for line in text.lines() {
            conn.deliver(
                id,
                &Line::from(text::private(&self.config.bot_nick, &text::sanitize(line))),
            );
        }
    }

    /// Members now, in arrival order.
    pub(crate) fn users(&self) -> Vec<User> {
        self.lock()
            .conns
            .iter()
            .filter_map(|(&id, c)| c.user(id))
            .collect()
    }

    /// Stops admitting and tells every task to finish; idempotent.
    pub(crate) fn begin_shutdown(&self) {
        let mut state = self.lock();
        if !state.closed {
            info!(room = %self.config.room_name, clients = state.conns.len(), "shutting down");
        }
        state.closed = true;
        drop(state);
        self.shutdown.fire();
    }

    /// Resolves once every task of the room has ended.
    pub(crate) async fn finished(&self) {
        self.shutdown.finished().await;
    }
}
