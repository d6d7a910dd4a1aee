//! Where replies and plugins' proactive messages go: the outbox, with chat
//! names from the contact cache so they survive a re-login.

use wasmqq_webqq::Client;

use super::convert;
use crate::dispatch::{Reply, ReplySink};
use crate::outbox::{OutMessage, Outbox};
use crate::runtime::abi::{Chat, ChatKind, HostError, Segment};
use crate::runtime::host::Outbound;

/// Replies into the outbox.
pub struct OutboxSink {
    pub(crate) outbox: Outbox,
    pub(crate) client: Client,
    /// Admins' QQ numbers, for [`ReplySink::notify_admins`].
    pub(crate) admins: Vec<u64>,
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
    /// A private message to every admin the bot can reach: one whose QQ
    /// number it knows (see `convert::real_qq`) and who is its friend.
    fn notify_admins(&self, text: &str) {
        let book = self.client.contacts();
        let mut told = 0;
        for qq in &self.admins {
            let Some(uin) = convert::uin_of(&book, *qq) else {
                continue;
            };
            if !book.friends.contains_key(&uin) {
                continue;
            }
            let chat = Chat {
                kind: ChatKind::Friend,
                id: uin,
            };
            match self.enqueue(chat, &[Segment::Text(text.to_string())], "host") {
                Ok(_) => told += 1,
                Err(e) => tracing::error!(admin = qq, "admin notice not queued: {e}"),
            }
        }
        tracing::warn!(told, "for the admins: {text}");
    }

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
