//! The room's configuration.
//!
//! Every bound the room enforces is a field here, with the default the lead
//! asked for; [`RoomConfig::validate`] refuses values that would make a bound
//! meaningless (a zero-length queue, a bot nickname no user could address).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::error::Error;
use crate::nick;
use crate::rate::LineRate;

/// How a [`Room`](crate::Room) listens, names itself and bounds its clients.
///
/// `Default` gives the documented defaults and listens on `127.0.0.1:0` (any
/// free port on loopback; see [`Room::local_addr`](crate::Room::local_addr)).
#[derive(Clone)]
pub struct RoomConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The bot's nickname in the room (default `wasmqq`); no user may take it.
    pub bot_nick: String,
    /// The room's name, shown in the welcome line and `/who` (default `lobby`).
    pub room_name: String,
    /// Longest line a client may send, in bytes, without its line ending
    /// (default 512). A longer line is refused and discarded.
    pub max_line_bytes: usize,
    /// Most connections at once, with or without a nickname (default 64).
    pub max_clients: usize,
    /// Lines buffered per client before it is disconnected as too slow
    /// (default 256).
    pub client_queue: usize,
    /// Time a new connection has to choose a nickname (default 60 s).
    pub nick_timeout: Duration,
    /// Password for `/auth`, which marks a connection admin; `None` (the
    /// default) disables `/auth`.
    pub admin_password: Option<String>,
    /// Events buffered for the bot before the users who speak wait for it
    /// (default 256). See the crate docs on backpressure.
    pub bot_queue: usize,
    /// Wrong `/auth` passwords a connection may send before it is closed
    /// (default 3: the third wrong one disconnects).
    pub max_auth_failures: u32,
    /// The kernel send buffer of each client socket, in bytes (`SO_SNDBUF`,
    /// set on the listener and inherited by accepted sockets). `None` (the
    /// default) leaves the operating system's autotuning, which on Linux
    /// may let a client that never reads hold a few MiB in the kernel before
    /// its queue starts to fill; set it to bound that too.
    pub socket_send_buffer: Option<u32>,
    /// Flood control: how fast one connection may send lines (default 20 at
    /// once, then 10 a second; see [`LineRate`]). Excess lines are read
    /// later, never dropped. `None` disables it.
    pub line_rate: Option<LineRate>,
}

impl Default for RoomConfig {
    fn default() -> Self {
        RoomConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            bot_nick: "wasmqq".to_owned(),
            room_name: "lobby".to_owned(),
            max_line_bytes: 512,
            max_clients: 64,
            client_queue: 256,
            nick_timeout: Duration::from_secs(60),
            admin_password: None,
            bot_queue: 256,
            max_auth_failures: 3,
            socket_send_buffer: None,
            line_rate: Some(LineRate::default()),
        }
    }
}

/// The password is never printed.
impl fmt::Debug for RoomConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoomConfig")
            .field("listen", &self.listen)
            .field("bot_nick", &self.bot_nick)
            .field("room_name", &self.room_name)
            .field("max_line_bytes", &self.max_line_bytes)
            .field("max_clients", &self.max_clients)
            .field("client_queue", &self.client_queue)
            .field("nick_timeout", &self.nick_timeout)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "<set>"),
            )
            .field("bot_queue", &self.bot_queue)
            .field("max_auth_failures", &self.max_auth_failures)
            .field("socket_send_buffer", &self.socket_send_buffer)
            .field("line_rate", &self.line_rate)
            .finish()
    }
}

impl RoomConfig {
    /// Checks the fields [`Room::start`](crate::Room::start) relies on.
    ///
    /// Fails with [`Error::Config`] naming the field when a bound is zero,
    /// the bot's nickname is not a valid nickname, or the room name is empty
    /// or holds control characters.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field: &'static str, reason: String| Err(Error::Config { field, reason });
        if let Err(e) = nick::validate(&self.bot_nick) {
            return bad("bot_nick", format!("{:?}: {e}", self.bot_nick));
        }
        if self.room_name.trim().is_empty() || self.room_name.chars().any(char::is_control) {
            return bad(
                "room_name",
                format!("{:?}: must be non-empty printable text", self.room_name),
            );
        }
        for (field, value) in [
            ("max_line_bytes", self.max_line_bytes),
            ("max_clients", self.max_clients),
            ("client_queue", self.client_queue),
            ("bot_queue", self.bot_queue),
        ] {
            if value == 0 {
                return bad(field, "must be at least 1".to_owned());
            }
        }
        if self.socket_send_buffer == Some(0) {
            return bad(
                "socket_send_buffer",
                "must be at least 1 (or None)".to_owned(),
            );
        }
        if let Some(rate) = self.line_rate
            && (rate.burst == 0 || rate.per_second == 0)
        {
            return bad(
                "line_rate",
                "burst and per_second must be at least 1 (or None)".to_owned(),
            );
        }
        if self.max_auth_failures == 0 {
            return bad("max_auth_failures", "must be at least 1".to_owned());
        }
        if self.nick_timeout.is_zero() {
            return bad("nick_timeout", "must be longer than zero".to_owned());
        }
        if self.admin_password.as_deref() == Some("") {
            return bad(
                "admin_password",
                "must not be empty (use None to disable /auth)".to_owned(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_as_documented() {
        let c = RoomConfig::default();
        c.validate().unwrap();
        assert_eq!(c.bot_nick, "wasmqq");
        assert_eq!(c.room_name, "lobby");
        assert_eq!(
            (c.max_line_bytes, c.max_clients, c.client_queue),
            (512, 64, 256)
        );
        assert_eq!(c.nick_timeout, Duration::from_secs(60));
    }

    #[test]
    fn zero_bounds_and_bad_names_are_refused() {
        let refused = |c: RoomConfig| match c.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        };
        let d = RoomConfig::default;
        assert_eq!(
            refused(RoomConfig {
                client_queue: 0,
                ..d()
            }),
            "client_queue"
        );
        assert_eq!(
            refused(RoomConfig {
                max_line_bytes: 0,
                ..d()
            }),
            "max_line_bytes"
        );
        assert_eq!(
            refused(RoomConfig {
                bot_nick: "a b".into(),
                ..d()
            }),
            "bot_nick"
        );
        assert_eq!(
            refused(RoomConfig {
                room_name: "x\x1b".into(),
                ..d()
            }),
            "room_name"
        );
        assert_eq!(
            refused(RoomConfig {
                admin_password: Some(String::new()),
                ..d()
            }),
            "admin_password"
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let c = RoomConfig {
            admin_password: Some("hunter2".into()),
            ..RoomConfig::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
