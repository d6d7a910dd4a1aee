//! The shutdown signal, as a type every task holds.
//!
//! As in mini-redis, shutdown is not an afterthought: the accept loop and
//! every connection hold a [`Shutdown`] and `select!` on it beside their
//! work. [`Room::shutdown`](crate::Room::shutdown) flips the one
//! [`watch`] value; every listener wakes, says goodbye and ends; the accept
//! loop waits for all connections and then reports completion, which is what
//! `Room::shutdown` awaits.

use tokio::sync::watch;

/// Listens for the room's shutdown signal. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    /// A signal and its first listener.
    pub(crate) fn new() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown { rx })
    }

    /// Resolves once shutdown has been signalled (at once if it already
    /// was). Cancel safe.
    pub(crate) async fn recv(&mut self) {
        // A dropped sender means the room is gone: that is a shutdown too.
        let _ = self.rx.wait_for(|&down| down).await;
    }
}
