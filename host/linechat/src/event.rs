//! What the bot learns from the room.
//!
//! Events come through one bounded channel, [`BotInbox`]. Each connection
//! sends its own events in order (a user's `Joined` comes before their first
//! `Said`, their `Left` after their last), and waits when the inbox is full
//! rather than drop one: see the crate docs on backpressure. The inbox ends
//! (`recv` gives `None`) once the room has shut down and every connection
//! has ended.

use tokio::sync::mpsc;

/// A person in the room, as of the event or call that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct User {
    /// The connection's id: unique per connection and never reused within
    /// the process (across all rooms). A user who reconnects gets a new id.
    pub id: u64,
    /// Their nickname at the time.
    pub nick: String,
    /// Whether they have authenticated with `/auth`.
    pub admin: bool,
}

/// Something that happened in the room that the bot should know.
///
/// `#[non_exhaustive]`: later versions may add events; match with a `_` arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoomEvent {
    /// `from` said `text` in the room (every non-command line, `/help` and
    /// `!roll` included). Text is sanitised: no control characters but tab.
    Said {
        /// Who said it.
        from: User,
        /// What they said.
        text: String,
    },
    /// `from` sent `text` privately to the bot (`/msg BOT text`).
    Private {
        /// Who sent it.
        from: User,
        /// What they sent.
        text: String,
    },
    /// `from` did `/me text` in the room. Not a command line: a bot should
    /// not run `/me !roll` as `!roll`.
    Action {
        /// Who acted.
        from: User,
        /// The action, without the nickname.
        text: String,
    },
    /// A user chose their nickname and is now in the room.
    Joined(User),
    /// A user changed nickname with `/nick`; `user` has the new one.
    Renamed {
        /// The user, with their new nickname.
        user: User,
        /// Their previous nickname.
        old: String,
    },
    /// A user left (quit, hung up, or was disconnected). Not sent for the
    /// users still connected when the room shuts down.
    Left(User),
}

/// The bot's end of the room: every [`RoomEvent`], in order per user.
#[derive(Debug)]
pub struct BotInbox {
    pub(crate) rx: mpsc::Receiver<RoomEvent>,
}

impl BotInbox {
    /// The next event; `None` once the room has shut down and every
    /// connection has ended. Cancel safe.
    pub async fn recv(&mut self) -> Option<RoomEvent> {
        self.rx.recv().await
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<RoomEvent> {
        self.rx.try_recv().ok()
    }
}
