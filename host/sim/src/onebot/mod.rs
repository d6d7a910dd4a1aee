//! The OneBot v11 face: the simulator plays the OneBot *implementation*
//! (what NapCat or Lagrange.OneBot are) for the population's bot, so bots
//! speaking OneBot v11 (NoneBot2, Koishi, wasmqq's own adapter) run
//! offline against the same simulated world as the WebQQ face.
//!
//! Written from the standard (`onebot-11`: communication, message, event,
//! api/public):
//!
//! | module | owns |
//! | --- | --- |
//! | [`config`] | [`OneBotFace`] and its parts |
//! | `auth` | access-token checks (401/403) |
//! | `message` | CQ-code strings and segment arrays |
//! | `events` | message and meta events from the queue |
//! | `hub` | live connections, the event pump, the drop fault |
//! | `actions` | the API and its answer envelope |
//! | `session` | one WebSocket connection (either side) |
//! | `ws_server` | forward WebSocket: `/`, `/api`, `/event` |
//! | `reverse` | reverse WebSocket client with reconnects |
//! | `http_api` | `GET`/`POST /<action>` |
//! | `http_post` | posting events, signed, with quick replies |
//!
//! Where things live: the forward WebSocket and the HTTP API share the
//! simulator's listener and port. While the face is on, a request whose
//! Host is not one of the WebQQ `*.qq.com` hosts (so `127.0.0.1`,
//! `localhost`, or any other name) is a OneBot request: an upgrade to
//! `/`, `/api` or `/event` becomes a WebSocket, anything else is an HTTP
//! API call; `/_sim/...` stays the control API on every host. Injected
//! messages are delivered as OneBot message events (not through poll2),
//! and injecting into a discussion is refused: OneBot v11 has none.

pub(crate) mod actions;
mod auth;
pub mod config;
pub(crate) mod conns;
pub(crate) mod events;
pub(crate) mod http_api;
mod http_post;
pub(crate) mod hub;
pub(crate) mod message;
mod reverse;
mod session;
pub(crate) mod ws_server;

use std::sync::Arc;

use tokio::task::JoinHandle;

pub use config::{HttpPost, MessageFormat, OneBotFace, ReverseTarget, ReverseWs};
pub use events::MalformedEvent;

use crate::state::Sim;

/// Starts the face's clients (reverse WebSocket, HTTP POST), if any.
pub(crate) fn start_clients(sim: &Arc<Sim>) -> Vec<JoinHandle<()>> {
    let Some(face) = sim.config.onebot.as_ref() else {
        return Vec::new();
    };
    let mut tasks = Vec::new();
    if let Some(rw) = &face.reverse_ws {
        tasks.extend(reverse::spawn(sim, rw));
    }
    if let Some(hp) = &face.http_post {
        tasks.push(http_post::spawn(sim, hp));
    }
    tasks
}
