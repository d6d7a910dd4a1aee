//! The state the [`crate::Client`] shares with its connection tasks (the
//! forward and reverse WebSocket links, the HTTP webhook): the settings,
//! the current API link, the event channel and the shutdown signal. It is
//! a room of its own so that the modes and the client do not import each
//! other.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use wasmqq_shutdown::Signal;

use crate::config::Config;
use crate::conn::ApiLink;
use crate::event::Event;

/// State shared by the client and its connection tasks.
pub(crate) struct Shared {
    pub config: Config,
    /// The WebSocket link calls go over, when there is one.
    pub api: watch::Sender<Option<Arc<ApiLink>>>,
    pub events: mpsc::Sender<Event>,
    pub shutdown: Signal,
    /// The account, once known (0 before).
    pub self_id: AtomicU64,
}

impl Shared {
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown.is_fired()
    }

    /// Resolves once the client is shut down, with that as the reason.
    pub(crate) async fn stopped(&self) -> String {
        self.shutdown.listener().recv().await;
        "shut down".to_string()
    }

    /// Sleeps `delay`; `true` if the client was shut down meanwhile.
    pub(crate) async fn sleep_or_shutdown(&self, delay: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(delay) => self.is_shut_down(),
            _ = self.stopped() => true,
        }
    }

    /// Delivers an event, waiting for room (but not past shutdown).
    pub(crate) async fn emit(&self, event: Event) {
        tokio::select! {
            _ = self.events.send(event) => {}
            _ = self.stopped() => {}
        }
    }
}
