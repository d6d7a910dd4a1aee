//! Per-chat ordering of replies: work for a chat starts at once, in
//! parallel, but its replies leave in the order the messages came.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{ChatAddress, Reply, ReplySink};

/// Replies being computed for one message, and its journal entry (marked
/// done with them).
pub(crate) struct Pending {
    pub(crate) work: JoinHandle<Vec<Reply>>,
    pub(crate) handled: Option<u64>,
    /// Removed from the in-flight set once its replies are queued.
    pub(crate) token: u64,
}

/// The messages being worked on: token → (message id, chat key); see
/// [`super::Dispatcher::drain`].
#[derive(Default)]
pub(crate) struct InFlight {
    pub(crate) messages: Mutex<HashMap<u64, (u64, String)>>,
    pub(crate) idle: tokio::sync::Notify,
}

impl InFlight {
    fn done(&self, token: u64) {
        let mut m = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        m.remove(&token);
        if m.is_empty() {
            self.idle.notify_waiters();
        }
    }
}

/// One ordering queue per chat.
pub(crate) struct Sequencer {
    sink: Arc<dyn ReplySink>,
    pub(crate) inflight: Arc<InFlight>,
    chats: Mutex<HashMap<ChatAddress, mpsc::UnboundedSender<Pending>>>,
}

impl Sequencer {
    pub(crate) fn new(sink: Arc<dyn ReplySink>) -> Self {
        Sequencer {
            sink,
            inflight: Arc::new(InFlight::default()),
            chats: Mutex::new(HashMap::new()),
        }
    }

    /// Queue the replies of the next message in `chat`.
    pub(crate) fn push(&self, chat: ChatAddress, pending: Pending) {
        let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        let tx = chats.entry(chat.clone()).or_insert_with(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<Pending>();
            let sink = self.sink.clone();
            let inflight = self.inflight.clone();
            let chat = chat.clone();
            tokio::spawn(async move {
                while let Some(Pending {
                    work,
                    handled,
                    token,
                }) = rx.recv().await
                {
                    match work.await {
                        Ok(replies) => sink.send_handled(&chat, replies, handled),
                        Err(e) if e.is_cancelled() => {
                            // Shutting down: the journal keeps the message.
                            tracing::info!(journal = ?handled, "message handling cancelled; it is handled again at the next start");
                        }
                        Err(e) => {
                            tracing::error!(journal = ?handled, "message handling task failed: {e}");
                            sink.send_handled(&chat, Vec::new(), handled);
                        }
                    }
                    inflight.done(token);
                }
            });
            tx
        });
        if let Err(mpsc::error::SendError(pending)) = tx.send(pending) {
            // The chat's task ended (runtime shutting down); the journal
            // keeps the message for the next start.
            pending.work.abort();
        }
    }
}
