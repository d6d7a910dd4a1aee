//! A line-based chat room over plain TCP, with the wasmqq bot as a member.
//!
//! People connect with `nc` or `telnet`, choose a nickname and chat in one
//! room or privately; the bot sits in the room, sees every line said there
//! ([`RoomEvent::Said`]) and every private line sent to it
//! ([`RoomEvent::Private`]), and answers through [`Room::say`] and
//! [`Room::tell`]. It is the chat server of Twisted's tutorials, written the
//! way tokio-rs/mini-redis is: one concern per file.
//!
//! | file | concern |
//! | --- | --- |
//! | `config.rs` | [`RoomConfig`], its defaults and checks |
//! | `line.rs` | framing: bytes → bounded, sanitised lines |
//! | `command.rs` | a line → a room command (`/msg`, `/nick`, …) or speech |
//! | `text.rs` | every line the room itself writes to a user |
//! | `nick.rs` | what a nickname may be |
//! | `state.rs` | the room's members, nick index and fan-out |
//! | `writer.rs` | one client's bounded outgoing queue, drained to its socket |
//! | `client.rs` | one connection's life: nickname, commands, farewell |
//! | `server.rs` | the accept loop and the `max_clients` gate |
//! | `rate.rs` | flood control: a token bucket per connection |
//! | `shutdown.rs` | the shutdown signal every task listens to |
//! | `event.rs` | what the bot receives: [`RoomEvent`], [`User`], [`BotInbox`] |
//! | `room.rs` | the [`Room`] handle |
//!
//! # The bounds, and why each holds
//!
//! The room is meant to face hostile clients, so every resource a client can
//! make the room hold is bounded:
//!
//! - **Line length.** The reader keeps at most `max_line_bytes` (+ a `\r`)
//!   of an unfinished line plus one read chunk. A longer line is answered
//!   with a refusal and the rest of it, up to the next `\n`, is read and
//!   thrown away without being kept; the connection goes on.
//! - **Connections.** At most `max_clients` connections (with or without a
//!   nickname yet, or still ending: a connection that left keeps its place
//!   until the bot has taken its `Left`); the next one is told `room full`
//!   and closed at once.
//! - **Nickname time.** A connection that has not chosen a nickname within
//!   `nick_timeout` is closed.
//! - **Outgoing lines.** Each client has a queue of `client_queue` lines.
//!   The room never waits for a client's socket: it offers a line to the
//!   queue and, if the queue is full, disconnects that client as too slow.
//!   A client that never reads therefore costs at most `client_queue` lines
//!   (shared, reference-counted for broadcasts) and the kernel's socket
//!   buffers, and never slows the room or anyone else.
//! - **Incoming lines.** Each connection may send `line_rate.burst` lines
//!   at once, then `line_rate.per_second`; beyond that the room reads it
//!   more slowly (its flood waits in its own socket), so a flood reaches the
//!   others at a rate a reader can keep up with.
//! - **The bot's inbox.** It holds `bot_queue` events. A user's line is never
//!   dropped on the way to the bot: when the inbox is full, the *reader of
//!   the user who spoke* waits until the bot catches up (backpressure on that
//!   one connection; its line has already been shown to the room). Other
//!   users' readers are only held back if they speak too.
//!
//! # Conventions of the protocol
//!
//! The sender of a room line or private line gets no echo (their terminal
//! already shows what they typed, as on IRC); joins, leaves and nickname
//! changes are shown to everyone, the subject included. Lines the room
//! writes end in `\r\n` (for telnet); lines read may end in `\n` or `\r\n`.
//! Invalid UTF-8 is replaced with U+FFFD, and control characters other than
//! tab (C0, DEL, C1, and the Unicode bidirectional overrides) are removed from
//! everything relayed, the bot's own lines included, so nobody can send
//! terminal escape sequences to others. See `text.rs` for every line.

mod client;
mod command;
mod config;
mod error;
mod event;
mod line;
mod nick;
mod rate;
mod room;
mod server;
mod shutdown;
mod state;
mod text;
mod writer;

pub use config::RoomConfig;
pub use error::Error;
pub use event::{BotInbox, RoomEvent, User};
pub use nick::MAX_NICK_CHARS;
pub use rate::LineRate;
pub use room::Room;
