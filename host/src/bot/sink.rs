//! Where replies and plugins' proactive messages go: the outbox, with chat
//! names from the contact cache so they survive a re-login.

use wasmqq_webqq::Client;

use super::budget::Budget;
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
    /// The plugins' output budgets.
    pub(crate) budget: Budget,
}

impl OutboxSink {
    fn message(
        &self,
        chat: Chat,
        segments: &[Segment],
        origin: &str,
        proactive: bool,
    ) -> OutMessage {
        let book = self.client.contacts();
        let target = convert::chat_ref(chat);
        let segments = self.budget.cut(segments.to_vec());
        OutMessage::new(
            target,
            convert::segments_out(&segments, &book, target),
            origin,
        )
        .named(&book)
        .as_proactive(proactive)
    }

    /// Whether the output budget lets `origin` queue one more message.
    fn admit(&self, origin: &str, proactive: bool) -> Result<(), String> {
        if origin == "host" || !proactive {
            return Ok(());
        }
        let queued = self
            .outbox
            .pending_from(origin)
            .map_err(|e| e.to_string())?;
        self.budget
            .admit(origin, proactive, queued, std::time::Instant::now())
    }

    fn enqueue(
        &self,
        chat: Chat,
        segments: &[Segment],
        origin: &str,
        proactive: bool,
    ) -> Result<u64, String> {
        let msg = self.message(chat, segments, origin, proactive);
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
            match self.enqueue(chat, &[Segment::Text(text.to_string())], "host", false) {
                Ok(_) => told += 1,
                Err(e) => tracing::error!(admin = qq, "admin notice not queued: {e}"),
            }
        }
        tracing::warn!(told, "for the admins: {text}");
    }

    fn drop_queued(&self, plugin: &str, chat: Option<&str>) -> usize {
        match self.outbox.drop_from(plugin, chat) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(plugin, "cannot drop its queued messages: {e}");
                0
            }
        }
    }

    fn send_handled(&self, replies: Vec<Reply>, handled: Option<u64>) {
        self.queue_handled(replies, handled);
    }

    fn send(&self, reply: Reply) {
        if let Err(e) = self.admit(&reply.origin, reply.proactive) {
            tracing::debug!(origin = %reply.origin, "reply dropped: {e}");
            return;
        }
        if let Err(e) = self.enqueue(
            reply.to.chat,
            &reply.segments,
            &reply.origin,
            reply.proactive,
        ) {
            tracing::error!(
                chat = %reply.to.key,
                origin = %reply.origin,
                "reply not queued: {e}"
            );
        }
    }
}

impl OutboxSink {
    /// The replies of one message and its journal mark, in one commit.
    fn queue_handled(&self, replies: Vec<Reply>, handled: Option<u64>) {
        // Over-budget messages are dropped here (the budget logs them).
        let msgs = replies
            .iter()
            .filter(|r| self.admit(&r.origin, r.proactive).is_ok())
            .map(|r| self.message(r.to.chat, &r.segments, &r.origin, r.proactive))
            .collect();
        if let Err(e) = self.outbox.enqueue_all(msgs, handled) {
            tracing::error!(
                journal = ?handled,
                replies = replies.len(),
                "replies not queued (the message is handled again at the next start): {e}"
            );
        }
    }
}

impl Outbound for OutboxSink {
    fn send(&self, plugin: &str, chat: Chat, segments: Vec<Segment>) -> Result<(), HostError> {
        self.admit(plugin, true).map_err(HostError::QuotaExceeded)?;
        self.enqueue(chat, &segments, plugin, true)
            .map(|_| ())
            .map_err(HostError::Unavailable)
    }
}
