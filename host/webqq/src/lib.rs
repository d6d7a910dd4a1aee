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
//! persisted session), `poll` (the long-poll loop and retcode handling),
//! `events` (event types and decoding), `send` (splitting, pacing,
//! retries), `contacts` (the contact cache), `content` (the message
//! codec), `error`.

mod backoff;
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
mod transport;

pub use client::{Client, Events};
pub use config::ClientConfig;
pub use contacts::{ContactBook, Discussion, DiscussionMember, Friend, Group, Member, SelfInfo};
pub use content::Segment;
pub use error::{Error, Result};
pub use events::{ChatKind, ChatRef, Event, Message};
pub use login::{LoginStatus, Observer};
pub use send::{PartReport, SendOutcome, SendReport};
