//! The room's errors.
//!
//! Only what the bot side can act on is an error: a bad configuration, a
//! socket that cannot be bound, a user who is gone, a room that is shut down.
//! What a *client* does wrong (over-long lines, bad nicknames, slowness) is
//! answered on that client's connection and logged, never returned here.

use std::io;
use std::net::SocketAddr;

/// Why a [`Room`](crate::Room) call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A [`RoomConfig`](crate::RoomConfig) field is unusable.
    #[error("chat room config: {field} {reason}")]
    Config {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The listening socket could not be bound.
    #[error("chat room: cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// No connected user (with a nickname) has this id; they may have left.
    #[error("chat room: no connected user with id {id}")]
    NoSuchUser {
        /// The id asked for.
        id: u64,
    },
    /// No connected user has this nickname (compared case-insensitively).
    #[error("chat room: no user is called {nick:?}")]
    NoSuchNick {
        /// The nickname asked for.
        nick: String,
    },
    /// The room has been shut down.
    #[error("chat room {room:?} is shut down")]
    Closed {
        /// The room's name.
        room: String,
    },
}
