//! The wasmqq WebQQ (SmartQQ) client.
//!
//! Speaks the protocol of `webqq-protocol.md` to the real WebQQ hosts, or —
//! with [`ClientConfig::server`] — to the wasmqq simulator, over a real
//! cookie jar. One [`Client`] is one logged-in account:
//!
//! ```no_run
//! # async fn demo() -> Result<(), wasmqq_webqq::Error> {
//! use wasmqq_webqq::{ChatRef, Client, ClientConfig, Event, Observer, Segment};
//!
//! let config = ClientConfig {
//!     session_file: Some("session.json".into()),
//!     ..ClientConfig::default()
//! };
//! let client = Client::connect(config, Observer::stderr()).await?;
//! let mut events = client.events().expect("first call");
//! while let Some(event) = events.recv().await {
//!     if let Event::Message(m) = event {
//!         client.send(m.chat, &[Segment::text(format!("echo: {}", m.text()))]).await?;
//!     }
//! }
//! client.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules, one concern each: [`transport`](crate) (hosts, cookies, server
//! override), `login` (QR flow, relink, activation), `session` (the
//! persisted session), `shared` (the account's live state and what the
//! client handles and the poll task both do with it), `client` (the
//! handles; spawns the poll task), `poll` (the long-poll loop and retcode
//! handling),
//! `events` (event types and decoding), `send` (splitting, pacing,
//! retries), `contacts` (the contact cache), `content` (the message
//! codec), `error`.

mod client;
mod config;
mod contacts;
pub mod content;
mod error;
mod events;
mod login;
mod poll;
mod qr;
mod send;
mod session;
mod shared;
mod transport;

pub use client::{Client, Events};
pub use config::ClientConfig;
pub use contacts::{ContactBook, Discussion, DiscussionMember, Friend, Group, Member, SelfInfo};
pub use content::Segment;
pub use error::{Error, Result};
pub use events::{ChatKind, ChatRef, Event, Message};
pub use login::{LoginStatus, Observer};
pub use send::{PartReport, SendOutcome, SendReport};

/// The pure decoders of what the WebQQ server sends, without any I/O: the
/// poll2 answer and its events, the list answers. The client uses them on
/// every answer; they are public for the fuzz targets (`fuzz/`) and the
/// property tests, which feed them arbitrary bodies.
pub mod decode {
    pub use crate::contacts::{
        decode_discussion_members, decode_discussions, decode_friends, decode_group_members,
        decode_groups, decode_self,
    };
    pub use crate::events::decode_event;
    pub use crate::poll::{Action, classify_body};

    /// The `result` of an API answer body (§1.3): the body must be a JSON
    /// object with `retcode` 0 and a `result`, as the client requires of
    /// every list endpoint; `endpoint` names it in the error.
    ///
    /// Fails with [`Error::Malformed`](crate::Error::Malformed) for a body
    /// that is not JSON or lacks `retcode`/`result`, and with
    /// [`Error::Retcode`](crate::Error::Retcode) for a non-zero retcode.
    pub fn result_of(endpoint: &'static str, body: &str) -> crate::Result<serde_json::Value> {
        crate::transport::result_of(endpoint, crate::transport::parse_json(endpoint, body)?)
    }
}
