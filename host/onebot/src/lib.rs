//! The wasmqq OneBot v11 adapter, in the framework role: wasmqq is the
//! bot framework (what NoneBot2 or Koishi are); an implementation such as
//! NapCat or Lagrange holds the QQ account and speaks OneBot v11 to us.
//!
//! All four communication modes of the standard are supported
//! ([`Mode`]): forward WebSocket (one Universal connection, or `/api` +
//! `/event`), reverse WebSocket (a listener that several accounts can
//! share), and HTTP API + HTTP POST webhook. One [`Client`] is one
//! account:
//!
//! ```no_run
//! # async fn demo() -> Result<(), wasmqq_onebot::Error> {
//! use wasmqq_onebot::{Client, Config, Event, MessageType, Segment};
//!
//! let (client, mut events) = Client::connect(Config::default()).await?;
//! while let Some(event) = events.recv().await {
//!     if let Event::Message(m) = event {
//!         let reply = [Segment::text(format!("echo: {}", m.text()))];
//!         match (m.message_type, m.group_id) {
//!             (MessageType::Group, Some(g)) => client.send_group_msg(g, &reply).await?,
//!             _ => client.send_private_msg(m.user_id, &reply).await?,
//!         };
//!     }
//! }
//! client.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules, one concern each: `config` (modes and settings), [`message`]
//! (segments, array form) and [`cq`] (the CQ-code string form), [`event`]
//! (event types and decoding), [`action`] (request and response envelopes,
//! echo matching), [`auth`] (tokens, `X-Signature`), `conn` (the
//! WebSocket read/write loop shared by both directions), `forward`,
//! `reverse` and `http` (the modes), `pace` (per-chat send pacing),
//! `contacts` (the contact cache), `client`, `shared` (what the client
//! shares with its connection tasks), `error`.
//!
//! Input from the implementation is never trusted: frames or bodies that
//! are not JSON, events of unknown types or missing fields, responses
//! with an unknown echo are logged with `tracing::warn!` and skipped.

#![warn(missing_docs)]

pub mod action;
pub mod auth;
mod client;
mod config;
mod conn;
pub mod contacts;
mod error;
pub mod event;
mod forward;
mod http;
pub mod message;
pub use message::cq;
mod pace;
mod reverse;
mod shared;

pub use client::{Client, Events};
pub use config::{Config, Mode};
pub use contacts::{Contacts, Friend, Group, Member};
pub use error::{Error, Result};
pub use event::{DecodeError, Event, MessageEvent, MessageType, MetaEvent, Role, Sender};
pub use message::{AtTarget, MessageError, Segment, plain_text};
