//! Per-chat ordering of replies: work for a chat starts at once, in
//! parallel, but its replies leave in the order the messages came.
//!
//! Each message is one task: it computes its replies, then waits for its
//! turn in its chat (a ticket taken when the message arrived) and queues
//! them itself. A message whose chat has nothing else in flight — the
//! usual case — never waits, so no other task is woken to pass its
//! replies on; a later message that finishes first parks until the one
//! before it has queued its replies (or was cancelled) and hands it the
//! turn.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use tokio::sync::oneshot;
use tracing::Instrument;

use super::{ChatAddress, Reply, ReplySink};

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

/// One chat's turns: tickets handed out, the one whose replies go next,
/// the later ones parked until theirs, and later ones already gone
/// (cancelled before their turn).
#[derive(Default)]
struct Turns {
    next: u64,
    serving: u64,
    parked: HashMap<u64, oneshot::Sender<()>>,
    gone: std::collections::HashSet<u64>,
}

/// The per-chat turns of every chat with messages in flight (a chat's
/// entry is removed when its last message is done).
pub(crate) struct Sequencer {
    sink: Arc<dyn ReplySink>,
    pub(crate) inflight: Arc<InFlight>,
    chats: Mutex<HashMap<ChatAddress, Turns>>,
}

impl Sequencer {
    pub(crate) fn new(sink: Arc<dyn ReplySink>) -> Self {
        Sequencer {
            sink,
            inflight: Arc::new(InFlight::default()),
            chats: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `work` (a message's or a timer's handling, in `span`) in a task
    /// of its own and queues its replies — with the journal entry
    /// `handled` marked done — once every earlier message of `chat` has
    /// queued theirs. `token` is removed from the in-flight set then.
    pub(crate) fn run(
        self: &Arc<Self>,
        chat: ChatAddress,
        handled: Option<u64>,
        token: u64,
        span: tracing::Span,
        work: impl Future<Output = Vec<Reply>> + Send + 'static,
    ) {
        let ticket = {
            let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
            let turns = chats.entry(chat.clone()).or_default();
            turns.next += 1;
            turns.next - 1
        };
        let turn = Turn {
            sequencer: self.clone(),
            chat,
            ticket,
            token,
            handled,
            finished: false,
        };
        tokio::spawn(
            async move {
                let result = AssertUnwindSafe(work).catch_unwind().await;
                let mut turn = turn;
                turn.wait().await;
                let replies = result.unwrap_or_else(|panic| {
                    let what = crate::panic::message(&*panic);
                    tracing::error!(journal = ?turn.handled, "message handling task failed: panicked: {what}");
                    Vec::new()
                });
                turn.sequencer
                    .sink
                    .send_handled(&turn.chat, replies, turn.handled);
                turn.finished = true;
            }
            .instrument(span),
        );
    }
}

/// A message's place in its chat. Dropped — after its replies were
/// queued, or with its task when the runtime shuts down — it hands the
/// turn to the next message of the chat.
struct Turn {
    sequencer: Arc<Sequencer>,
    chat: ChatAddress,
    ticket: u64,
    token: u64,
    handled: Option<u64>,
    finished: bool,
}

impl Turn {
    /// Waits until every earlier message of the chat is done.
    async fn wait(&self) {
        let parked = {
            let mut chats = self
                .sequencer
                .chats
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let turns = chats.get_mut(&self.chat).expect("a chat with a ticket out");
            if turns.serving == self.ticket {
                return;
            }
            let (tx, rx) = oneshot::channel();
            turns.parked.insert(self.ticket, tx);
            rx
        };
        // The sender is dropped only by the turn before this one handing
        // it over, so either way it is this message's turn.
        let _ = parked.await;
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if !self.finished {
            // Shutting down: the journal keeps the message.
            tracing::info!(journal = ?self.handled, "message handling cancelled; it is handled again at the next start");
        }
        {
            let mut chats = self
                .sequencer
                .chats
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(turns) = chats.get_mut(&self.chat) {
                if turns.serving == self.ticket {
                    turns.serving += 1;
                    while turns.gone.remove(&turns.serving) {
                        turns.serving += 1;
                    }
                    if turns.serving == turns.next {
                        chats.remove(&self.chat);
                    } else if let Some(next) = turns.parked.remove(&turns.serving) {
                        let _ = next.send(());
                    }
                } else {
                    // Cancelled before its turn: skipped when it comes.
                    turns.parked.remove(&self.ticket);
                    turns.gone.insert(self.ticket);
                }
            }
        }
        self.sequencer.inflight.done(self.token);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::abi::{Chat, ChatKind, Segment};

    /// What one `send_handled` got: chat id, reply texts, journal entry.
    type Queued = (u64, Vec<String>, Option<u64>);

    /// Records what was queued, in order.
    #[derive(Default)]
    struct Record(Mutex<Vec<Queued>>);

    impl ReplySink for Record {
        fn send(&self, _: Reply) {
            unreachable!("the sequencer queues with send_handled")
        }
        fn send_handled(&self, chat: &ChatAddress, replies: Vec<Reply>, handled: Option<u64>) {
            let texts = replies
                .iter()
                .map(|r| super::super::plain_text(&r.segments))
                .collect();
            self.0.lock().unwrap().push((chat.chat.id, texts, handled));
        }
    }

    fn chat(id: u64) -> ChatAddress {
        ChatAddress::on(
            "main".into(),
            Chat {
                kind: ChatKind::Group,
                id,
            },
            None,
        )
    }

    fn reply(to: u64, text: &str) -> Vec<Reply> {
        vec![Reply {
            to: chat(to),
            segments: vec![Segment::Text(text.into())],
            origin: "test".into(),
            proactive: false,
        }]
    }

    fn sequencer() -> (Arc<Record>, Arc<Sequencer>) {
        let record = Arc::new(Record::default());
        (record.clone(), Arc::new(Sequencer::new(record)))
    }

    fn track(seq: &Sequencer, token: u64) -> u64 {
        seq.inflight
            .messages
            .lock()
            .unwrap()
            .insert(token, (token, String::new()));
        token
    }

    async fn settle(seq: &Sequencer) {
        for _ in 0..500 {
            if seq.inflight.messages.lock().unwrap().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("messages still in flight");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_later_message_that_finishes_first_waits_for_the_earlier_one() {
        let (record, seq) = sequencer();
        let (release, released) = oneshot::channel::<()>();
        let span = tracing::Span::none;
        seq.run(chat(1), Some(10), track(&seq, 0), span(), async move {
            let _ = released.await;
            reply(1, "first")
        });
        seq.run(chat(1), Some(11), track(&seq, 1), span(), async {
            reply(1, "second")
        });
        // Another chat is not held up.
        seq.run(chat(2), None, track(&seq, 2), span(), async {
            reply(2, "other")
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            *record.0.lock().unwrap(),
            [(2, vec!["other".to_string()], None)]
        );
        release.send(()).unwrap();
        settle(&seq).await;
        let got = record.0.lock().unwrap().clone();
        assert_eq!(
            got[1..],
            [
                (1, vec!["first".to_string()], Some(10)),
                (1, vec!["second".to_string()], Some(11)),
            ]
        );
        assert!(
            seq.chats.lock().unwrap().is_empty(),
            "idle chats are forgotten"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_message_marks_its_entry_done_and_passes_the_turn() {
        let (record, seq) = sequencer();
        seq.run(
            chat(1),
            Some(1),
            track(&seq, 0),
            tracing::Span::none(),
            async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                panic!("a bug in the host")
            },
        );
        seq.run(
            chat(1),
            Some(2),
            track(&seq, 1),
            tracing::Span::none(),
            async { reply(1, "after") },
        );
        settle(&seq).await;
        assert_eq!(
            *record.0.lock().unwrap(),
            [
                (1, vec![], Some(1)),
                (1, vec!["after".to_string()], Some(2)),
            ]
        );
    }

    #[test]
    fn messages_cancelled_at_shutdown_leave_no_turn_behind() {
        let (record, seq) = sequencer();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            for token in 0..3 {
                seq.run(
                    chat(1),
                    Some(token),
                    track(&seq, token),
                    tracing::Span::none(),
                    std::future::pending(),
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        });
        drop(rt);
        assert!(record.0.lock().unwrap().is_empty(), "nothing queued");
        assert!(seq.inflight.messages.lock().unwrap().is_empty());
        assert!(seq.chats.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_message_cancelled_before_its_turn_is_skipped() {
        let (record, seq) = sequencer();
        let (release, released) = oneshot::channel::<()>();
        seq.run(
            chat(1),
            Some(1),
            track(&seq, 0),
            tracing::Span::none(),
            async move {
                let _ = released.await;
                reply(1, "first")
            },
        );
        // The second message's turn is taken, then dropped unfinished.
        let ticket = {
            let mut chats = seq.chats.lock().unwrap();
            let turns = chats.get_mut(&chat(1)).unwrap();
            turns.next += 1;
            turns.next - 1
        };
        drop(Turn {
            sequencer: seq.clone(),
            chat: chat(1),
            ticket,
            token: track(&seq, 1),
            handled: Some(2),
            finished: false,
        });
        seq.run(
            chat(1),
            Some(3),
            track(&seq, 2),
            tracing::Span::none(),
            async { reply(1, "third") },
        );
        release.send(()).unwrap();
        settle(&seq).await;
        assert_eq!(
            *record.0.lock().unwrap(),
            [
                (1, vec!["first".to_string()], Some(1)),
                (1, vec!["third".to_string()], Some(3)),
            ]
        );
        assert!(seq.chats.lock().unwrap().is_empty());
    }
}
