//! How a message leaves the outbox: the [`Deliver`] trait, its verdicts
//! ([`Delivery`]), and the implementation over the WebQQ
//! [`Client`](wasmqq_webqq::Client).
//!
//! The outbox only decides *when* to try (order, retries, persistence); a
//! deliverer decides *how* and classifies what happened. Tests use fakes.

use std::future::Future;

use wasmqq_webqq::{ChatRef, Client, ContactBook, Error, SendOutcome, SendReport};

use super::OutMessage;

/// What a delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the server (delivered, delivered with a warning, or
    /// "probably delivered" — 1202, never resent). The row is deleted.
    Delivered,
    /// The first parts of the message were accepted, the rest not: the row
    /// keeps only `remaining` (so delivered parts are never resent) and is
    /// retried like [`Delivery::Retry`].
    Partial {
        /// The segments still to send.
        remaining: Vec<wasmqq_webqq::Segment>,
        /// Why the rest failed.
        reason: String,
    },
    /// Not delivered, worth trying again later (network, 5xx, session
    /// trouble). Retried with backoff up to `max_attempts`.
    Retry(String),
    /// Can never be delivered (empty message, a chat kind that cannot be
    /// sent to, an ambiguous chat). Logged and moved to the `failed` table.
    Failed(String),
    /// The deliverer is gone (client shut down): the row is kept for the
    /// next start and this chat's delivery task ends.
    Stopped,
}

/// Something that can deliver an outgoing message. One call is one attempt;
/// the outbox calls it for one message of a chat at a time, in order.
///
/// Implementations should not retry for long themselves (the outbox
/// retries, persisting the attempt count), and must never report
/// [`Delivery::Retry`] for a message that may have reached the chat.
pub trait Deliver: Send + Sync + 'static {
    /// Tries to deliver `msg` once.
    fn deliver(&self, msg: &OutMessage) -> impl Future<Output = Delivery> + Send;
}

/// Delivery through the WebQQ client: [`Client::send`] splits, paces (per
/// chat, `send_interval`) and retries transient HTTP failures
/// (`send_retries`) itself; its report is mapped as follows.
///
/// * every part delivered / delivered with a warning / probably delivered
///   (1202) → [`Delivery::Delivered`];
/// * the first part not delivered → [`Delivery::Retry`]: WebQQ's send
///   retcodes (6 unknown target, 108 too fast, 100001 / 100012 session
///   trouble) and exhausted transient failures may all pass later, after a
///   re-login or a contacts refresh; `max_attempts` bounds it;
/// * a later part not delivered → [`Delivery::Partial`] with the parts left;
/// * `Err(Shutdown)` → [`Delivery::Stopped`]; an empty message or a
///   temporary-session chat → [`Delivery::Failed`].
///
/// Chat ids are session-local: after a full re-login they change. When the
/// contact book no longer knows `msg.chat` and the message carries a
/// `chat_name`, the chat of the same kind with that name is used (after one
/// contacts refresh if needed); no match → retry later, several → failed
/// (never guess between two chats). Without a name the id is tried as is.
impl Deliver for Client {
    async fn deliver(&self, msg: &OutMessage) -> Delivery {
        let chat = match resolve(self, msg).await {
            Ok(chat) => chat,
            Err(verdict) => return verdict,
        };
        if chat != msg.chat {
            tracing::info!(old = %msg.chat, new = %chat, name = ?msg.chat_name, "chat re-resolved by name");
        }
        match self.send(chat, &msg.segments).await {
            Ok(report) => {
                let verdict = verdict_of(&report);
                if report_says_unknown_target(&report) {
                    // The cached id may be stale: refresh so the next attempt
                    // re-resolves by name.
                    if let Err(e) = self.refresh_contacts().await {
                        tracing::debug!(error = %e, "contacts refresh after retcode 6 failed");
                    }
                }
                verdict
            }
            Err(Error::Shutdown) => Delivery::Stopped,
            Err(e) if e.is_transient() => Delivery::Retry(e.to_string()),
            Err(e) => Delivery::Failed(e.to_string()),
        }
    }
}

/// Maps a send report to a verdict (see the [`Deliver`] impl for `Client`).
pub fn verdict_of(report: &SendReport) -> Delivery {
    let Some(first_bad) = report.parts.iter().position(|p| !p.outcome.is_delivered()) else {
        return Delivery::Delivered;
    };
    let reason = match report.failure() {
        Some(SendOutcome::Failed { reason, .. }) => reason.clone(),
        _ => format!("part {} of {} not sent", first_bad + 1, report.parts.len()),
    };
    if first_bad == 0 {
        return Delivery::Retry(reason);
    }
    Delivery::Partial {
        remaining: report.parts[first_bad..]
            .iter()
            .flat_map(|p| p.segments.iter().cloned())
            .collect(),
        reason,
    }
}

fn report_says_unknown_target(report: &SendReport) -> bool {
    matches!(
        report.failure(),
        Some(SendOutcome::Failed {
            retcode: Some(6),
            ..
        })
    )
}

/// The chat to send `msg` to now: its own id if the contacts know it, else
/// the chat of the same kind and name.
async fn resolve(client: &Client, msg: &OutMessage) -> Result<ChatRef, Delivery> {
    let book = client.contacts();
    if book.chat_name(msg.chat).is_some() {
        return Ok(msg.chat);
    }
    let Some(name) = msg.chat_name.as_deref() else {
        return Ok(msg.chat);
    };
    if let Some(chat) = by_name(&book, msg.chat, name)? {
        return Ok(chat);
    }
    let book = match client.refresh_contacts().await {
        Ok(book) => book,
        Err(Error::Shutdown) => return Err(Delivery::Stopped),
        Err(e) => {
            return Err(Delivery::Retry(format!(
                "{} ({name:?}) is not in the contacts and refreshing them failed: {e}",
                msg.chat
            )));
        }
    };
    if book.chat_name(msg.chat).is_some() {
        return Ok(msg.chat);
    }
    by_name(&book, msg.chat, name)?.ok_or_else(|| {
        Delivery::Retry(format!(
            "{} ({name:?}) is not in the contacts (any more)",
            msg.chat
        ))
    })
}

/// The one chat of `old`'s kind named `name`; `Err(Failed)` if several.
fn by_name(book: &ContactBook, old: ChatRef, name: &str) -> Result<Option<ChatRef>, Delivery> {
    let ids: Vec<u64> = match old.kind {
        wasmqq_webqq::ChatKind::Friend => book.friends.keys().copied().collect(),
        wasmqq_webqq::ChatKind::Group => book.groups.keys().copied().collect(),
        wasmqq_webqq::ChatKind::Discussion => book.discussions.keys().copied().collect(),
        wasmqq_webqq::ChatKind::Session => Vec::new(),
    };
    let found: Vec<ChatRef> = ids
        .into_iter()
        .map(|id| ChatRef { kind: old.kind, id })
        .filter(|c| book.chat_name(*c).as_deref() == Some(name))
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(Delivery::Failed(format!(
            "{old} is gone and {} {}s are named {name:?}; not guessing",
            many.len(),
            old.kind
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmqq_webqq::{Group, PartReport, Segment};

    fn part(text: &str, outcome: SendOutcome) -> PartReport {
        PartReport {
            msg_id: 1,
            segments: vec![Segment::text(text)],
            attempts: 1,
            outcome,
        }
    }

    fn failed() -> SendOutcome {
        SendOutcome::Failed {
            retcode: None,
            reason: "send_qun_msg2: HTTP status 502".into(),
        }
    }

    #[test]
    fn reports_map_to_verdicts() {
        let report = |parts| SendReport {
            chat: ChatRef::group(1),
            parts,
        };
        assert_eq!(
            verdict_of(&report(vec![
                part("a", SendOutcome::Delivered),
                part("b", SendOutcome::ProbablyDelivered),
                part("c", SendOutcome::DeliveredWithWarning { retcode: 100100 }),
            ])),
            Delivery::Delivered
        );
        assert_eq!(
            verdict_of(&report(vec![
                part("a", failed()),
                part("b", SendOutcome::NotSent)
            ])),
            Delivery::Retry("send_qun_msg2: HTTP status 502".into())
        );
        assert_eq!(
            verdict_of(&report(vec![
                part("a", SendOutcome::Delivered),
                part("b", failed()),
                part("c", SendOutcome::NotSent),
            ])),
            Delivery::Partial {
                remaining: vec![Segment::text("b"), Segment::text("c")],
                reason: "send_qun_msg2: HTTP status 502".into(),
            }
        );
    }

    #[test]
    fn chats_are_found_by_unique_name() {
        let group = |gid, name: &str| Group {
            gid,
            code: gid + 1,
            name: name.into(),
            remark: None,
            members: Default::default(),
            members_loaded: false,
        };
        let mut book = ContactBook::default();
        book.groups.insert(10, group(10, "dev"));
        book.groups.insert(11, group(11, "twins"));
        book.groups.insert(12, group(12, "twins"));
        let old = ChatRef::group(99);
        assert_eq!(by_name(&book, old, "dev"), Ok(Some(ChatRef::group(10))));
        assert_eq!(by_name(&book, old, "nobody"), Ok(None));
        assert!(matches!(
            by_name(&book, old, "twins"),
            Err(Delivery::Failed(_))
        ));
        assert_eq!(by_name(&book, ChatRef::friend(99), "dev"), Ok(None));
    }
}
