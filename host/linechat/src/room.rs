//! The [`Room`] handle: what the bot (and the host that runs it) holds.
//!
//! Every call but [`Room::shutdown`] is synchronous and never waits for a
//! client: lines are offered to the recipients' bounded queues (see
//! `state.rs`), so a plugin's reply can be sent from any context without
//! holding up the bot.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::mpsc;

use crate::config::RoomConfig;
use crate::error::Error;
use crate::event::{BotInbox, User};
use crate::server;
use crate::state::Shared;
use wasmqq_shutdown::Signal;

/// A running chat room. Cheap to clone; all clones are the same room.
///
/// The room runs until [`Room::shutdown`]; dropping every handle does not
/// stop it.
#[derive(Debug, Clone)]
pub struct Room {
    shared: Arc<Shared>,
}

impl Room {
    /// Checks `config`, binds `config.listen` and starts serving on the
    /// current tokio runtime.
    ///
    /// Returns the handle and the bot's inbox. Fails with [`Error::Config`]
    /// if a field is unusable and [`Error::Bind`] if the address cannot be
    /// listened on.
    pub async fn start(config: RoomConfig) -> Result<(Room, BotInbox), Error> {
        config.validate()?;
        let addr = config.listen;
        let listener = listen(addr, config.socket_send_buffer)
            .map_err(|source| Error::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let (bot_tx, bot_rx) = mpsc::channel(config.bot_queue);
        let signal = Signal::new();
        let shutdown = signal.listener();
        let shared = Arc::new(Shared::new(config, local_addr, signal));
        tokio::spawn(server::run(listener, Arc::clone(&shared), bot_tx, shutdown));
        Ok((Room { shared }, BotInbox { rx: bot_rx }))
    }

    /// The address the room listens on (the real port when `listen` asked
    /// for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The room's configuration, as started.
    pub fn config(&self) -> &RoomConfig {
        &self.shared.config
    }

    /// The bot says `text` in the room: each line of it becomes one
    /// `<BOT> line` seen by every user with a nickname.
    ///
    /// Never waits: a user whose queue is full is disconnected as too slow
    /// instead. Fails only with [`Error::Closed`] after shutdown.
    pub fn say(&self, text: &str) -> Result<(), Error> {
        self.shared.bot_say(text)
    }

    /// The bot tells user `user_id` `text` privately (`*BOT* line` per line),
    /// seen by that user only.
    ///
    /// Fails with [`Error::NoSuchUser`] if no user with a nickname has that
    /// id (they left, or have not chosen a nickname yet), and
    /// [`Error::Closed`] after shutdown.
    pub fn tell(&self, user_id: u64, text: &str) -> Result<(), Error> {
        self.shared.bot_tell(user_id, text)
    }

    /// As [`Room::tell`], to the user called `nick` (case-insensitively);
    /// fails with [`Error::NoSuchNick`] if nobody is.
    pub fn tell_nick(&self, nick: &str, text: &str) -> Result<(), Error> {
        self.shared.bot_tell_nick(nick, text)
    }

    /// The users in the room now (those with a nickname), in the order they
    /// arrived. The bot is not among them.
    pub fn users(&self) -> Vec<User> {
        self.shared.users()
    }

    /// User `id` as they are now, if they are in the room.
    pub fn user(&self, id: u64) -> Option<User> {
        self.shared.member(id)
    }

    /// Stops the room: no new connections, every client is told the room is
    /// shutting down (given up to 2 s to read it) and closed, then the bot's
    /// inbox ends. Returns when all of that is done; idempotent, and any
    /// number of clones may call it.
    pub async fn shutdown(&self) {
        self.shared.begin_shutdown();
        self.shared.finished().await;
    }
}

/// Binds a listener; a send buffer size set here is inherited by every
/// accepted socket.
fn listen(addr: SocketAddr, send_buffer: Option<u32>) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As servers do: a restarted room can bind while old connections linger.
    socket.set_reuseaddr(true)?;
    if let Some(bytes) = send_buffer {
        socket.set_send_buffer_size(bytes)?;
    }
    socket.bind(addr)?;
    socket.listen(1024)
}
