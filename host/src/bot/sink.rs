//! Where replies and plugins' proactive messages go: the outbox, with chat
//! names from the contact cache so they survive a re-login.

use wasmqq_webqq::Client;

use super::convert;
use crate::dispatch::{Reply, ReplySink};
use crate::outbox::{OutMessage, Outbox};
use crate::runtime::abi::{Chat, HostError, Segment};
use crate::runtime::host::Outbound;

/// Replies into the outbox.
pub struct OutboxSink {
    pub(crate) outbox: Outbox,
    pub(crate) client: Client,
}

impl OutboxSink {
    fn enqueue(&self, chat: Chat, segments: &[Segment], origin: &str) -> Result<u64, String> {
        let book = self.client.contacts();
        let target = convert::chat_ref(chat);
        let msg = OutMessage::new(
            target,
            convert::segments_out(segments, &book, target),
            origin,
        )
        .named(&book);
        self.outbox.enqueue(msg).map_err(|e| e.to_string())
    }
}

impl ReplySink for OutboxSink {
    fn send(&self, reply: Reply) {
        if let Err(e) = self.enqueue(reply.to.chat, &reply.segments, &reply.origin) {
            tracing::error!(
                chat = %reply.to.key,
                origin = %reply.origin,
                "reply not queued: {e}"
            );
        }
    }
}

impl Outbound for OutboxSink {
    fn send(&self, plugin: &str, chat: Chat, segments: Vec<Segment>) -> Result<(), HostError> {
        self.enqueue(chat, &segments, plugin)
            .map(|_| ())
            .map_err(HostError::Unavailable)
    }
}
