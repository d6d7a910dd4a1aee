//! The shutdown signal, as a type every task holds (mini-redis's
//! `shutdown.rs` is the model).
//!
//! A component that runs tasks (the WebQQ poll loop, the OneBot client, the
//! outbox's delivery lanes, the timer scheduler, the line chat's
//! connections) owns a [`Signal`] and hands each task a [`Shutdown`]; the
//! task `select!`s on [`Shutdown::recv`] beside its work and ends when it
//! fires. [`Signal::fire`] tells every listener at once;
//! [`Signal::finished`] waits until every listener is gone, which is how the
//! owner knows its tasks ended.
//!
//! The order in which the bot stops its components (poll loops, dispatch,
//! plugin calls, timers, outboxes) is the bot's, in `Bot::run`: each
//! component is one [`Signal`].

use tokio::sync::watch;

/// The sending side: fire it once, then wait for the listeners to finish.
#[derive(Debug)]
pub struct Signal {
    tx: watch::Sender<bool>,
}

impl Default for Signal {
    fn default() -> Self {
        Signal::new()
    }
}

impl Signal {
    /// A signal not yet fired, with no listeners.
    pub fn new() -> Signal {
        let (tx, _) = watch::channel(false);
        Signal { tx }
    }

    /// A new listener (fired at once if the signal already was).
    pub fn listener(&self) -> Shutdown {
        Shutdown {
            rx: self.tx.subscribe(),
        }
    }

    /// Tells every listener, present and future, to stop. Idempotent.
    pub fn fire(&self) {
        self.tx.send_replace(true);
    }

    /// Whether [`Signal::fire`] was called.
    pub fn is_fired(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once every [`Shutdown`] made by this signal (and every
    /// clone of one) has been dropped: the tasks holding them have ended.
    /// Cancel safe; pair it with a timeout when a task may hang.
    pub async fn finished(&self) {
        self.tx.closed().await;
    }
}

/// A task's end of a [`Signal`]. Cheap to clone; the owner's
/// [`Signal::finished`] waits for every clone to drop.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    /// Whether shutdown has been signalled.
    pub fn is_shutdown(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown has been signalled (at once if it already
    /// was, or if the [`Signal`] is gone: an owner that went away is a
    /// shutdown too). Cancel safe.
    pub async fn recv(&mut self) {
        let _ = self.rx.wait_for(|&down| down).await;
    }

    /// Sleeps `d` unless shutdown comes first; true when it did.
    pub async fn sleep(&mut self, d: std::time::Duration) -> bool {
        if self.is_shutdown() {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(d) => self.is_shutdown(),
            () = self.recv() => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn every_listener_hears_the_signal_and_the_owner_sees_them_finish() {
        let signal = Signal::new();
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let mut down = signal.listener();
            tasks.push(tokio::spawn(async move {
                down.recv().await;
                down.is_shutdown()
            }));
        }
        assert!(!signal.is_fired());
        let unfinished = tokio::time::timeout(Duration::from_millis(20), signal.finished()).await;
        assert!(unfinished.is_err(), "listeners still running");
        signal.fire();
        signal.finished().await;
        for t in tasks {
            assert!(t.await.unwrap());
        }
        // A listener made after the fire hears it at once.
        let mut late = signal.listener();
        late.recv().await;
    }

    #[tokio::test]
    async fn sleep_is_cut_short_by_the_signal_and_a_dropped_owner() {
        let signal = Signal::new();
        let mut down = signal.listener();
        assert!(!down.sleep(Duration::from_millis(1)).await);
        let fire = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            signal.fire();
            signal
        });
        assert!(down.sleep(Duration::from_secs(60)).await);
        drop(fire.await.unwrap());
        let mut orphan = Signal::new().listener();
        orphan.recv().await;
        assert!(!orphan.is_shutdown(), "the owner went away without firing");
    }
}
