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
//! | (`wasmqq-shutdown`) | the shutdown signal every task listens to |
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
mod state;
mod text;
mod writer;

pub use config::RoomConfig;
pub use error::Error;
pub use event::{BotInbox, RoomEvent, User};
pub use nick::MAX_NICK_CHARS;
pub use rate::LineRate;
pub use room::Room;

/// Entry points for the cargo-fuzz targets of `fuzz/` (`linechat_input`),
/// not part of the crate's API: the framing ([`LineReader`](line) over
/// chunks of bytes held in memory), the room command parser and text
/// sanitising are private to the crate, and a fuzz target, being another
/// crate, can only reach what is `pub`. Thin wrappers, no logic of their
/// own beyond driving the reader; hidden from the docs and subject to
/// change without notice.
#[doc(hidden)]
pub mod fuzzing {
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use tokio::io::{AsyncRead, ReadBuf};

    pub use crate::command::Command;
    pub use crate::line::Frame;

    /// Bytes the reader reads from its socket at a time.
    pub const READ_CHUNK: usize = crate::line::READ_CHUNK;

    /// What [`frames`] read.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Framed {
        /// Every frame, up to end of stream.
        pub frames: Vec<Frame>,
        /// The most bytes the reader held between two frames.
        pub peak_buffered: usize,
    }

    /// Runs the connection's line reader (limit `max`) over `chunks`, each
    /// delivered by one read of the socket (split further if longer than a
    /// read), to end of stream. Empty chunks are skipped (a read of 0 bytes
    /// is end of stream).
    pub fn frames(chunks: &[&[u8]], max: usize) -> Framed {
        let mut reader = crate::line::LineReader::new(Chunks { chunks, at: 0 }, max);
        let mut frames = Vec::new();
        let mut peak_buffered = 0;
        loop {
            // The source is always ready, so one poll completes the read.
            let frame = {
                let next = std::pin::pin!(reader.next());
                match next.poll(&mut Context::from_waker(Waker::noop())) {
                    Poll::Ready(r) => r.expect("reading memory does not fail"),
                    Poll::Pending => unreachable!("an in-memory source never waits"),
                }
            };
            peak_buffered = peak_buffered.max(reader.buffered());
            match frame {
                Some(f) => frames.push(f),
                None => break,
            }
        }
        Framed {
            frames,
            peak_buffered,
        }
    }

    /// [`text::sanitize`](crate::text): what the room applies to every line
    /// it relays.
    pub fn sanitize(s: &str) -> String {
        crate::text::sanitize(s)
    }

    /// An in-memory socket that returns one chunk (or what fits) per read.
    struct Chunks<'a> {
        chunks: &'a [&'a [u8]],
        at: usize,
    }

    impl AsyncRead for Chunks<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = &mut *self;
            while let Some((first, rest)) = this.chunks.split_first() {
                let chunk = &first[this.at..];
                if chunk.is_empty() {
                    this.chunks = rest;
                    this.at = 0;
                    continue;
                }
                let n = chunk.len().min(buf.remaining());
                buf.put_slice(&chunk[..n]);
                this.at += n;
                break;
            }
            Poll::Ready(Ok(()))
        }
    }
}
