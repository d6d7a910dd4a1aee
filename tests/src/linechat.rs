//! For the line chat's tests: start a room, and a real TCP client that
//! reads and writes lines the way `nc` would.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use wasmqq_linechat::{BotInbox, Room, RoomConfig, RoomEvent};

pub use crate::wait::WAIT;
/// How long a test waits to be sure a line does *not* come.
pub const QUIET: Duration = Duration::from_millis(300);

/// Test defaults: loopback, any port, the documented bounds otherwise.
pub fn config() -> RoomConfig {
    RoomConfig::default()
}

pub async fn start(config: RoomConfig) -> (Room, BotInbox) {
    Room::start(config).await.expect("room starts")
}

/// A person at a terminal.
pub struct Client {
    pub reader: BufReader<OwnedReadHalf>,
    pub writer: OwnedWriteHalf,
    pub nick: String,
}

impl Client {
    /// Connects without reading anything.
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Client::from_stream(stream)
    }

    pub fn from_stream(stream: TcpStream) -> Client {
        let (r, w) = stream.into_split();
        Client {
            reader: BufReader::new(r),
            writer: w,
            nick: String::new(),
        }
    }

    /// Connects, reads the welcome and prompt, chooses `nick` and reads its
    /// own join line.
    pub async fn join(addr: SocketAddr, nick: &str) -> Client {
        let mut c = Client::connect(addr).await;
        c.expect_prefix("* Welcome to ").await;
        c.expect("Choose a nickname:").await;
        c.send(nick).await;
        c.expect(&format!("* {nick} joined")).await;
        c.nick = nick.to_owned();
        c
    }

    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write");
    }

    /// The next line (without `\r\n`), `None` at end of stream or on a
    /// reset; panics if none comes within [`WAIT`].
    pub async fn line(&mut self) -> Option<String> {
        match tokio::time::timeout(WAIT, self.raw_line()).await {
            Ok(line) => line.map(|b| String::from_utf8(b).expect("room sends UTF-8")),
            Err(_) => panic!("{}: no line within {WAIT:?}", self.nick),
        }
    }

    /// The next line as bytes, with its `\r\n` removed.
    pub async fn raw_line(&mut self) -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        match self.reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                assert!(buf.ends_with(b"\r\n"), "room lines end in CRLF: {buf:?}");
                buf.truncate(buf.len() - 2);
                Some(buf)
            }
        }
    }

    /// The next line must be `want`.
    pub async fn expect(&mut self, want: &str) {
        let got = self.line().await;
        assert_eq!(got.as_deref(), Some(want), "{}: unexpected line", self.nick);
    }

    /// The next line must start with `prefix`; returns it.
    pub async fn expect_prefix(&mut self, prefix: &str) -> String {
        let got = self.line().await;
        match got {
            Some(line) if line.starts_with(prefix) => line,
            other => panic!(
                "{}: wanted a line starting {prefix:?}, got {other:?}",
                self.nick
            ),
        }
    }

    /// Reads until a line equal to `want`, returning the lines before it.
    pub async fn until(&mut self, want: &str) -> Vec<String> {
        let mut before = Vec::new();
        loop {
            match self.line().await {
                Some(line) if line == want => return before,
                Some(line) => before.push(line),
                None => panic!(
                    "{}: stream ended before {want:?}; saw {before:?}",
                    self.nick
                ),
            }
        }
    }

    /// Nothing arrives for [`QUIET`].
    pub async fn expect_quiet(&mut self) {
        if let Ok(line) = tokio::time::timeout(QUIET, self.raw_line()).await {
            panic!(
                "{}: expected silence, got {:?}",
                self.nick,
                line.map(String::from_utf8)
            );
        }
    }

    /// The stream ends (EOF or reset) within [`WAIT`], after any lines.
    pub async fn expect_closed(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            match self.line().await {
                Some(line) => lines.push(line),
                None => return lines,
            }
        }
    }
}

/// The next bot event, within [`WAIT`].
pub async fn event(inbox: &mut BotInbox) -> RoomEvent {
    match tokio::time::timeout(WAIT, inbox.recv()).await {
        Ok(Some(e)) => e,
        Ok(None) => panic!("bot inbox ended"),
        Err(_) => panic!("no bot event within {WAIT:?}"),
    }
}

/// Skips `Joined` events (and returns the first other one).
pub async fn event_skipping_joins(inbox: &mut BotInbox) -> RoomEvent {
    loop {
        match event(inbox).await {
            RoomEvent::Joined(_) => continue,
            e => return e,
        }
    }
}
