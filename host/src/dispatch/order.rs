//! Per-chat ordering of replies: work for a chat starts at once, in
//! parallel, but its replies leave in the order the messages came.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{ChatAddress, Reply, ReplySink};

/// Replies computed for one message.
pub(crate) type Pending = JoinHandle<Vec<Reply>>;

/// One ordering queue per chat.
pub(crate) struct Sequencer {
    sink: Arc<dyn ReplySink>,
    chats: Mutex<HashMap<ChatAddress, mpsc::UnboundedSender<Pending>>>,
}

impl Sequencer {
    pub(crate) fn new(sink: Arc<dyn ReplySink>) -> Self {
        Sequencer {
            sink,
            chats: Mutex::new(HashMap::new()),
        }
    }

    /// Queue the replies of the next message in `chat`.
    pub(crate) fn push(&self, chat: ChatAddress, pending: Pending) {
        let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        let tx = chats.entry(chat.clone()).or_insert_with(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<Pending>();
            let sink = self.sink.clone();
            tokio::spawn(async move {
                while let Some(pending) = rx.recv().await {
                    match pending.await {
                        Ok(replies) => {
                            for reply in replies {
                                sink.send(reply);
                            }
                        }
                        Err(e) => tracing::error!("message handling task failed: {e}"),
                    }
                }
            });
            tx
        });
        if let Err(mpsc::error::SendError(pending)) = tx.send(pending) {
            // The chat's task ended (runtime shutting down); drop quietly.
            pending.abort();
        }
    }
}
