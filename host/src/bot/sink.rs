//! Where replies and plugins' proactive messages go: the outbox of the
//! account each belongs to, with chat names from that account's contacts
//! so they survive a re-login.

use std::collections::HashMap;
use std::sync::Arc;

use super::budget::Budget;
use crate::abi::{Chat, HostError, Segment};
use crate::capabilities::Outbound;
use crate::dispatch::{ChatAddress, Reply, ReplySink};
use crate::outbox::{OutMessage, Outbox, OutboxError};
use crate::platform::Platform;

/// One account's way out: its protocol and its outbox.
#[derive(Clone)]
pub struct AccountOut {
    /// The account's protocol.
    pub platform: Arc<dyn Platform>,
    /// The account's outbox (and inbound journal).
    pub outbox: Outbox,
}

/// Replies into the outboxes.
pub struct OutboxSink {
    pub(crate) accounts: HashMap<Arc<str>, AccountOut>,
    /// Admins' QQ numbers, for [`ReplySink::notify_admins`].
    pub(crate) admins: Vec<u64>,
    /// The plugins' output budgets (over all accounts).
    pub(crate) budget: Budget,
}

impl OutboxSink {
    fn account(&self, name: &str) -> Result<&AccountOut, String> {
        self.accounts
            .get(name)
            .ok_or_else(|| format!("no account named \"{name}\""))
    }

    fn message(
        &self,
        out: &AccountOut,
        chat: Chat,
        segments: &[Segment],
        origin: &str,
        proactive: bool,
    ) -> OutMessage {
        let segments = self.budget.cut(segments.to_vec());
        out.platform
            .outgoing(chat, &segments, origin)
            .as_proactive(proactive)
    }

    /// Whether the output budget lets `origin` queue one more message.
    fn admit(&self, origin: &str, proactive: bool) -> Result<(), String> {
        if origin == "host" || !proactive {
            return Ok(());
        }
        let mut queued = 0;
        for out in self.accounts.values() {
            queued += out.outbox.pending_from(origin).map_err(|e| e.to_string())?;
        }
        self.budget
            .admit(origin, proactive, queued, std::time::Instant::now())
    }

    fn enqueue(
        &self,
        account: &str,
        chat: Chat,
        segments: &[Segment],
        origin: &str,
        proactive: bool,
    ) -> Result<u64, String> {
        let out = self.account(account)?;
        let msg = self.message(out, chat, segments, origin, proactive);
        out.outbox.enqueue(msg).map_err(|e| e.to_string())
    }

    /// The replies of one message and its journal mark, in one commit of
    /// the account's outbox.
    fn queue_handled(&self, chat: &ChatAddress, replies: Vec<Reply>, handled: Option<u64>) {
        let result = self.account(&chat.account).and_then(|out| {
            // Over-budget messages are dropped here (the budget logs them);
            // replies to another account's chat go through that account.
            let mut here = Vec::new();
            for r in &replies {
                if self.admit(&r.origin, r.proactive).is_err() {
                    continue;
                }
                if r.to.account == chat.account {
                    here.push(self.message(out, r.to.chat, &r.segments, &r.origin, r.proactive));
                } else if let Err(e) = self.enqueue(
                    &r.to.account,
                    r.to.chat,
                    &r.segments,
                    &r.origin,
                    r.proactive,
                ) {
                    tracing::error!(chat = %r.to.key, origin = %r.origin, "reply not queued: {e}");
                }
            }
            out.outbox
                .enqueue_all(here, handled)
                .map_err(|e: OutboxError| e.to_string())
        });
        if let Err(e) = result {
            tracing::error!(
                journal = ?handled,
                chat = %chat.key,
                replies = replies.len(),
                "replies not queued (the message is handled again at the next start): {e}"
            );
        }
    }
}

impl ReplySink for OutboxSink {
    /// A private message to every admin the bot can reach, on every
    /// account (see [`Platform::admin_chats`]).
    fn notify_admins(&self, text: &str) {
        let mut told = 0;
        for (name, out) in &self.accounts {
            for chat in out.platform.admin_chats(&self.admins) {
                match self.enqueue(
                    name,
                    chat,
                    &[Segment::Text(text.to_string())],
                    "host",
                    false,
                ) {
                    Ok(_) => told += 1,
                    Err(e) => {
                        tracing::error!(account = %name, ?chat, "admin notice not queued: {e}")
                    }
                }
            }
        }
        tracing::warn!(told, "for the admins: {text}");
    }

    fn drop_queued(&self, plugin: &str, chat: Option<&ChatAddress>) -> usize {
        let mut dropped = 0;
        for (name, out) in &self.accounts {
            let lane = match chat {
                Some(c) if c.account != *name => continue,
                Some(c) => Some(c.lane()),
                None => None,
            };
            match out.outbox.drop_from(plugin, lane.as_deref()) {
                Ok(n) => dropped += n,
                Err(e) => {
                    tracing::error!(account = %name, plugin, "cannot drop its queued messages: {e}")
                }
            }
        }
        dropped
    }

    fn send_handled(&self, chat: &ChatAddress, replies: Vec<Reply>, handled: Option<u64>) {
        self.queue_handled(chat, replies, handled);
    }

    fn send(&self, reply: Reply) {
        if let Err(e) = self.admit(&reply.origin, reply.proactive) {
            tracing::debug!(origin = %reply.origin, "reply dropped: {e}");
            return;
        }
        if let Err(e) = self.enqueue(
            &reply.to.account,
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

/// A plugin's `send`: to the chat on the account of the message or timer
/// being handled (see [`crate::account`]).
impl Outbound for OutboxSink {
    fn send(&self, plugin: &str, chat: Chat, segments: Vec<Segment>) -> Result<(), HostError> {
        self.admit(plugin, true).map_err(HostError::QuotaExceeded)?;
        let account = crate::account::current();
        self.enqueue(&account, chat, &segments, plugin, true)
            .map(|_| ())
            .map_err(HostError::Unavailable)
    }
}
