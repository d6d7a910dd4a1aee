//! One connection's life: welcome, nickname, commands, farewell.
//!
//! The connection task owns the socket's read half (through a
//! [`LineReader`]) and reacts to three things at once: the client's next
//! line, a kick from the room (its queue overflowed), and the room's
//! shutdown. Everything it writes — answers, prompts — goes through the
//! client's own bounded queue like any broadcast, so its own replies can
//! never block it either; the writer task (`writer.rs`) does the socket
//! writes.
//!
//! Events for the bot are sent from here with `send().await`: this is the
//! one place a connection may wait, and it waits for the bot, not for
//! another client (see the crate docs on backpressure). Even that wait gives
//! way to a kick or a shutdown.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout, timeout_at};
use tracing::{Instrument, debug, info_span, warn};

use std::sync::Arc;

use crate::command::Command;
use crate::event::{RoomEvent, User};
use crate::line::{Frame, LineReader};
use crate::rate::Bucket;
use crate::state::{Kick, Line, Refused, Registered, Shared};
use crate::writer::{self, kicked};
use crate::{nick, text};
use wasmqq_shutdown::Shutdown;

/// How long a leaving client's last lines may take to be written.
const LINGER: Duration = Duration::from_secs(2);

/// Why a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// `/quit`.
    Quit,
    /// End of stream or a read error.
    HungUp,
    /// Kicked by the room.
    Kicked(Kick),
    /// No nickname within `nick_timeout`.
    NickTimeout,
    /// Too many wrong `/auth` passwords.
    AuthFailures,
    /// The room is shutting down.
    Shutdown,
}

impl End {
    /// The reason shown to the others in the leave line.
    fn why(self) -> &'static str {
        match self {
            End::Quit | End::HungUp | End::NickTimeout | End::Shutdown => "",
            End::Kicked(Kick::TooSlow) => "too slow",
            End::Kicked(Kick::Gone) => "connection lost",
            End::AuthFailures => "too many wrong passwords",
        }
    }
}

/// Serves one admitted connection until it ends; the caller spawns it.
pub(crate) async fn run(
    shared: Arc<Shared>,
    stream: TcpStream,
    registered: Registered,
    bot: mpsc::Sender<RoomEvent>,
    shutdown: Shutdown,
) {
    let peer = stream.peer_addr().ok();
    let Registered {
        id,
        queue,
        outgoing,
        kick,
    } = registered;
    let span = info_span!("conn", conn = id, peer = ?peer);
    async move {
        let (read, write) = stream.into_split();
        let mut writer: JoinHandle<()> = tokio::spawn(
            writer::run(
                id,
                write,
                outgoing,
                kick.clone(),
                shared.config.client_queue,
            )
            .in_current_span(),
        );
        let mut client = Client {
            id,
            lines: LineReader::new(read, shared.config.max_line_bytes),
            shared: Arc::clone(&shared),
            queue,
            kick,
            shutdown,
            bot,
            auth_failures: 0,
            joined: false,
            bucket: shared
                .config
                .line_rate
                .map(|r| Bucket::new(r, Instant::now())),
        };
        let end = client.session().await;
        debug!(?end, "connection ending");

        let left = shared.leave(id, end.why());
        let bye = match end {
            End::Quit => Some(text::BYE_QUIT.to_owned()),
            End::NickTimeout => Some(text::bye_nick_timeout(shared.config.nick_timeout)),
            End::AuthFailures => Some(text::BYE_AUTH.to_owned()),
            End::Shutdown => Some(text::BYE_SHUTDOWN.to_owned()),
            End::HungUp | End::Kicked(_) => None,
        };
        if let Some(bye) = bye {
            let _ = client.queue.try_send(Line::from(bye));
        }
        // The last sender and the read half go: the writer flushes and the
        // socket closes, while the bot may still be taking the `Left`.
        drop(client.queue);
        drop(client.lines);
        if let Some(user) = left
            && end != End::Shutdown
        {
            // Even a kicked user's leaving reaches the bot; only a shutdown
            // (which ends the inbox anyway) cuts the wait short.
            tokio::select! {
                biased;
                () = client.shutdown.recv() => {}
                _ = client.bot.send(RoomEvent::Left(user)) => {}
            }
        }
        if timeout(LINGER, &mut writer).await.is_err() {
            debug!("writer did not finish in time; dropped");
            writer.abort();
        }
        shared.ended();
    }
    .instrument(span)
    .await;
}

struct Client {
    id: u64,
    lines: LineReader<OwnedReadHalf>,
    shared: Arc<Shared>,
    queue: mpsc::Sender<Line>,
    kick: watch::Receiver<Option<Kick>>,
    shutdown: Shutdown,
    bot: mpsc::Sender<RoomEvent>,
    auth_failures: u32,
    /// Has a nickname (is a member).
    joined: bool,
    /// Flood control, if configured.
    bucket: Option<Bucket>,
}

impl Client {
    async fn session(&mut self) -> End {
        let config = &self.shared.config;
        let welcome = text::welcome(&config.room_name, &config.bot_nick);
        if let Err(end) = self.reply(welcome).and_then(|()| self.reply(text::PROMPT)) {
            return end;
        }
        let deadline = Instant::now() + config.nick_timeout;
        let user = match timeout_at(deadline, self.choose_nick()).await {
            Ok(Ok(user)) => user,
            Ok(Err(end)) => return end,
            Err(_) => return End::NickTimeout,
        };
        self.joined = true;
        if let Err(end) = self.send_bot(RoomEvent::Joined(user)).await {
            return end;
        }
        loop {
            let line = match self.next_line().await {
                Ok(line) => line,
                Err(end) => return end,
            };
            if let Err(end) = self.command(&line).await {
                return end;
            }
            // One line at a time: a flooder's lines are read in bursts (a
            // whole read chunk is ready at once); yielding lets the writers
            // of the people it floods run between its lines, so a queue
            // overflows only for a reader who really does not keep up.
            tokio::task::yield_now().await;
        }
    }

    /// Asks until a nickname is valid and free.
    async fn choose_nick(&mut self) -> Result<User, End> {
        loop {
            let line = self.next_line().await?;
            let wanted = line.trim();
            if wanted.eq_ignore_ascii_case("/quit") {
                return Err(End::Quit);
            }
            if wanted.is_empty() {
                self.reply(text::PROMPT)?;
                continue;
            }
            if let Err(why) = nick::validate(wanted) {
                self.reply(text::nick_invalid(wanted, why))?;
                self.reply(text::PROMPT)?;
                continue;
            }
            match self.shared.join(self.id, wanted) {
                Ok(user) => return Ok(user),
                Err(Refused::Taken) => {
                    self.reply(text::nick_taken(wanted))?;
                    self.reply(text::PROMPT)?;
                }
                Err(Refused::Closed | Refused::Unchanged) => return Err(End::Shutdown),
            }
        }
    }

    /// Does what a member's line asks.
    async fn command(&mut self, line: &str) -> Result<(), End> {
        let gone = End::Kicked(Kick::Gone);
        match Command::parse(line) {
            Command::Nothing => {}
            Command::Say(said) => {
                let from = self.shared.say(self.id, said).ok_or(gone)?;
                self.send_bot(RoomEvent::Said {
                    from,
                    text: said.to_owned(),
                })
                .await?;
            }
            Command::Me(action) => {
                let from = self.shared.act(self.id, action).ok_or(gone)?;
                self.send_bot(RoomEvent::Action {
                    from,
                    text: action.to_owned(),
                })
                .await?;
            }
            Command::Msg { to, text: said } => {
                if nick::key(to) == nick::key(&self.shared.config.bot_nick) {
                    let from = self.shared.member(self.id).ok_or(gone)?;
                    self.send_bot(RoomEvent::Private {
                        from,
                        text: said.to_owned(),
                    })
                    .await?;
                } else if !self.shared.private(self.id, to, said) {
                    self.reply(text::no_such_nick(to))?;
                }
            }
            Command::Nick(wanted) => match nick::validate(wanted) {
                Err(why) => self.reply(text::nick_invalid(wanted, why))?,
                Ok(()) => match self.shared.rename(self.id, wanted) {
                    Ok((user, old)) => self.send_bot(RoomEvent::Renamed { user, old }).await?,
                    Err(Refused::Taken) => self.reply(text::nick_taken(wanted))?,
                    Err(Refused::Unchanged) => self.reply(text::nick_unchanged(wanted))?,
                    Err(Refused::Closed) => return Err(gone),
                },
            },
            Command::Who => self.reply(self.shared.who())?,
            Command::Auth(password) => self.auth(password)?,
            Command::Quit => return Err(End::Quit),
            Command::Usage(cmd) => self.reply(text::usage(cmd))?,
        }
        Ok(())
    }

    fn auth(&mut self, password: &str) -> Result<(), End> {
        let config = &self.shared.config;
        let Some(expected) = config.admin_password.as_deref() else {
            return self.reply(text::AUTH_DISABLED);
        };
        if self.shared.is_admin(self.id) {
            return self.reply(text::AUTH_ALREADY);
        }
        if constant_time_eq(password.as_bytes(), expected.as_bytes()) {
            self.shared.make_admin(self.id);
            return self.reply(text::AUTH_OK);
        }
        self.auth_failures += 1;
        warn!(failures = self.auth_failures, "wrong /auth password");
        let max = config.max_auth_failures;
        if self.auth_failures >= max {
            return Err(End::AuthFailures);
        }
        self.reply(text::auth_wrong(max - self.auth_failures))
    }

    /// The next line, answering over-long ones; or why the connection ends.
    async fn next_line(&mut self) -> Result<String, End> {
        loop {
            if let Some(wait) = self.bucket.as_mut().and_then(|b| b.take(Instant::now())) {
                tokio::select! {
                    biased;
                    why = kicked(&mut self.kick) => return Err(End::Kicked(why)),
                    () = self.shutdown.recv() => return Err(End::Shutdown),
                    () = tokio::time::sleep(wait) => {}
                }
            }
            let frame = tokio::select! {
                biased;
                why = kicked(&mut self.kick) => return Err(End::Kicked(why)),
                () = self.shutdown.recv() => return Err(End::Shutdown),
                frame = self.lines.next() => frame,
            };
            match frame {
                Ok(Some(Frame::Line(line))) => return Ok(line),
                Ok(Some(Frame::TooLong)) => {
                    debug!("over-long line refused");
                    self.reply(text::too_long(self.shared.config.max_line_bytes))?;
                    if !self.joined {
                        self.reply(text::PROMPT)?;
                    }
                }
                Ok(None) => return Err(End::HungUp),
                Err(e) => {
                    debug!(error = %e, "read failed");
                    return Err(End::HungUp);
                }
            }
        }
    }

    /// Queues a line for this client, without waiting.
    fn reply(&self, line: impl Into<Line>) -> Result<(), End> {
        match self.queue.try_send(line.into()) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.shared.kick(self.id, Kick::TooSlow);
                Err(End::Kicked(Kick::TooSlow))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(End::Kicked(Kick::Gone)),
        }
    }

    /// Hands an event to the bot, waiting for room in its inbox unless this
    /// connection is kicked or the room shuts down. An inbox nobody holds any
    /// more swallows events.
    async fn send_bot(&mut self, event: RoomEvent) -> Result<(), End> {
        tokio::select! {
            biased;
            why = kicked(&mut self.kick) => Err(End::Kicked(why)),
            () = self.shutdown.recv() => Err(End::Shutdown),
            _ = self.bot.send(event) => Ok(()),
        }
    }
}

/// Compares without an early exit, so the time taken does not tell how much
/// of a guessed password was right (its length aside).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secre"));
        assert!(constant_time_eq(b"", b""));
    }
}
