//! The outbox: ordered, paced, retried and persisted delivery of outgoing
//! messages, so that a reply a plugin produced is delivered, retried, or
//! reported — and survives a restart.
//!
//! ```no_run
//! # async fn demo(client: wasmqq_webqq::Client, chat: wasmqq_webqq::ChatRef)
//! #     -> Result<(), wasmqq::outbox::OutboxError> {
//! use std::sync::Arc;
//! use wasmqq::outbox::{OutMessage, Outbox, OutboxConfig};
//! use wasmqq_webqq::Segment;
//!
//! let client = Arc::new(client);
//! let outbox = Outbox::open("data/outbox.db".as_ref(), client.clone(), OutboxConfig::default())?;
//! let msg = OutMessage::new(chat, vec![Segment::text("pong")], "ping-plugin").named(&client.contacts());
//! let row = outbox.enqueue(msg)?; // on disk when this returns
//! // …
//! outbox.shutdown().await; // undelivered rows stay for the next start
//! # Ok(()) }
//! ```
//!
//! # Semantics
//!
//! * **Persisted first.** [`Outbox::enqueue`] writes the message to the
//!   outbox's own SQLite file (see [`queue`](self::queue) for the schema and
//!   durability) before it returns. A row is deleted right after the
//!   deliverer reports it accepted — including WebQQ's 1202 "probably
//!   delivered", which is never resent.
//! * **Ordered per chat, chats independent.** Each logical chat (its
//!   *lane*: kind and name, `group:wasmqq dev`, or kind and id when the
//!   name is unknown — so a full re-login, which changes every id, keeps
//!   one queue per chat) with work gets one delivery task (spawned on the first message, living until shutdown or
//!   until the deliverer reports [`Delivery::Stopped`]). It delivers the
//!   chat's rows strictly in row-id (= enqueue) order, one at a time: a
//!   message is only attempted once every earlier message of its chat was
//!   delivered or given up. A slow or failing chat never holds up another.
//! * **Paced** by the deliverer: the WebQQ client keeps `send_interval`
//!   between parts to one chat; the outbox adds no extra delay.
//! * **Retried.** [`Delivery::Retry`] (and [`Delivery::Partial`], which
//!   first shrinks the row to the parts not yet accepted) waits a capped
//!   exponential backoff with jitter — `retry_base · 2^(n−1)`, capped at
//!   `retry_max`, times a random factor in [0.5, 1] — and tries again. The
//!   attempt count is persisted, so it carries across restarts. After
//!   `max_attempts` failed attempts, or at once for [`Delivery::Failed`],
//!   the message is logged at `error` with its chat and row id and moved to
//!   the `failed` table (the newest 1000 are kept; see
//!   [`Outbox::failed`]). The chat then goes on with its next message.
//! * **Restart.** [`Outbox::open`] starts a task for every chat with rows
//!   left, so undelivered messages go out at once, each exactly once unless
//!   the previous run was cut off *while* a send was in flight (then the
//!   server may have it already: at-least-once in that window only).
//! * **Shutdown.** [`Outbox::shutdown`] stops every task: idle and
//!   backing-off tasks at once, a send in flight is given
//!   `shutdown_grace` to finish (so its row is deleted if it went out), then
//!   aborted. Rows not delivered stay in the file.
//!
//! # Blocking
//!
//! SQLite calls block. The delivery tasks run theirs (read the next row,
//! delete, record an attempt) on tokio's blocking pool. `enqueue`,
//! `pending` and `failed` run inline: each is one short statement on a
//! connection held for microseconds (WAL, no fsync per commit), so they
//! may be called from async code and from synchronous host functions.
//!
//! # Logs
//!
//! Each delivery task runs in a span `outbox{chat}`, each message in
//! `msg{row, origin}`, so a message can be followed from its enqueue
//! (`debug`) through retries (`warn`) to delivery (`debug`) or give-up
//! (`error`).

mod deliver;
pub mod journal;
mod queue;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::Instrument;
use wasmqq_shutdown::{Shutdown, Signal};
use wasmqq_webqq::{ChatKind, ChatRef, ContactBook, Segment};

pub use deliver::{Deliver, Delivery, verdict_of};
pub use queue::FailedMessage;
use queue::{Queue, Row};

/// The outbox's file name in the data directory.
pub const FILE_NAME: &str = "outbox.db";

/// An outgoing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutMessage {
    /// Where it goes (a session-local id: see `chat_name`).
    pub chat: ChatRef,
    /// The chat's name when the message was made (friend display name,
    /// group remark or name, discussion name — what
    /// [`ContactBook::chat_name`] gives). After a full re-login changes the
    /// ids, the chat is found again by this name. `None`: the id only.
    pub chat_name: Option<String>,
    /// The content; the deliverer splits it into parts.
    pub segments: Vec<Segment>,
    /// Who produced it: a plugin name, or `"host"`. For logs and budgets.
    pub origin: String,
    /// A plugin's own message (a send, a timer's answer) rather than a
    /// reply to a user: within a chat, queued replies leave first.
    pub proactive: bool,
}

impl OutMessage {
    /// A message to `chat` with no chat name (see [`OutMessage::named`]).
    pub fn new(chat: ChatRef, segments: Vec<Segment>, origin: impl Into<String>) -> OutMessage {
        OutMessage {
            chat,
            chat_name: None,
            segments,
            origin: origin.into(),
            proactive: false,
        }
    }

    /// Marks the message as proactive (see [`OutMessage::proactive`]).
    pub fn as_proactive(mut self, proactive: bool) -> OutMessage {
        self.proactive = proactive;
        self
    }

    /// Fills `chat_name` from the contacts (left `None` if they do not know
    /// the chat).
    pub fn named(mut self, book: &ContactBook) -> OutMessage {
        self.chat_name = book.chat_name(self.chat);
        self
    }

    /// The logical chat this message is queued in: `kind:name`, or
    /// `kind#id` without a name. Messages of one lane leave in order.
    pub fn lane(&self) -> String {
        crate::abi::Chat::from(self.chat).lane(self.chat_name.as_deref())
    }
}

/// Retry and shutdown settings.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// Attempts per message before it is given up (at least 1; the WebQQ
    /// client retries transient HTTP failures inside each attempt too).
    /// Default: 5.
    pub max_attempts: u32,
    /// Backoff after the first failed attempt. Default: 1 s.
    pub retry_base: Duration,
    /// Backoff cap. Default: 60 s.
    pub retry_max: Duration,
    /// How long [`Outbox::shutdown`] lets sends in flight finish before
    /// aborting them. Default: 10 s.
    pub shutdown_grace: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            max_attempts: 5,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

impl OutboxConfig {
    /// The delay after the `attempt`-th failed attempt (1-based), with
    /// jitter: `min(retry_base · 2^(attempt−1), retry_max) · [0.5, 1]`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let raw = self
            .retry_base
            .saturating_mul(1u32 << exp)
            .min(self.retry_max.max(self.retry_base));
        raw.mul_f64(rand::rng().random_range(0.5..=1.0))
    }
}

/// Why the outbox failed. Messages name the database file or the message.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database could not be opened or set up.
    #[error("outbox database {}: cannot open: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The file was written by a newer wasmqq.
    #[error("outbox database {}: schema version {found} is newer than this wasmqq supports ({supported})", path.display())]
    Schema {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A statement failed.
    #[error("outbox database {}: {source}", path.display())]
    Query {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A background database task panicked or was cancelled.
    #[error("outbox database {}: background task failed: {message}", path.display())]
    Task {
        /// The file.
        path: PathBuf,
        /// The join error.
        message: String,
    },
    /// [`Outbox::open`] was called outside a tokio runtime.
    #[error("the outbox must be opened inside a tokio runtime")]
    NoRuntime,
    /// The message has nothing to send.
    #[error("outbox: empty message from {origin:?} to {chat} refused")]
    Empty {
        /// The target.
        chat: ChatRef,
        /// Who made it.
        origin: String,
    },
    /// The chat kind cannot be sent to (temporary sessions: SmartQQ has no
    /// send endpoint for them).
    #[error("outbox: message from {origin:?} to {chat} refused: cannot send to a {} chat", chat.kind)]
    Unsendable {
        /// The target.
        chat: ChatRef,
        /// Who made it.
        origin: String,
    },
}

/// The outbox: a cheap-to-clone handle; all clones share the file and the
/// delivery tasks. See the [module docs](self) for the semantics.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.inner.shared.queue.path())
            .finish()
    }
}

/// Owned by the handles: dropping the last one drops the `JoinSet`, which
/// aborts every delivery task (rows stay in the file).
struct Inner {
    shared: Arc<Shared>,
    runtime: tokio::runtime::Handle,
    stop: Signal,
    tasks: Mutex<JoinSet<()>>,
}

/// What the delivery tasks share (not the tasks themselves: no cycle).
struct Shared {
    queue: Arc<Queue>,
    deliver: Arc<dyn DynDeliver>,
    config: OutboxConfig,
    /// The wake-up of each lane's task; a lane is here while its task runs.
    chats: Mutex<HashMap<String, Arc<Notify>>>,
}

/// [`Deliver`] made object-safe, so `Outbox` needs no type parameter.
trait DynDeliver: Send + Sync + 'static {
    fn deliver_boxed<'a>(
        &'a self,
        msg: &'a OutMessage,
    ) -> Pin<Box<dyn Future<Output = Delivery> + Send + 'a>>;
}

impl<D: Deliver> DynDeliver for D {
    fn deliver_boxed<'a>(
        &'a self,
        msg: &'a OutMessage,
    ) -> Pin<Box<dyn Future<Output = Delivery> + Send + 'a>> {
        Box::pin(self.deliver(msg))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Outbox {
    /// Opens (or creates) the outbox file at `path` — conventionally
    /// [`FILE_NAME`] in the data directory, whose folder must exist — and
    /// starts delivering the messages left in it through `deliver` at once.
    /// Must be called inside a tokio runtime (the tasks are spawned on it);
    /// the open itself blocks briefly.
    ///
    /// Fails when the file cannot be opened or written, is not an outbox
    /// database, or was written by a newer wasmqq.
    pub fn open<D: Deliver>(
        path: &Path,
        deliver: Arc<D>,
        config: OutboxConfig,
    ) -> Result<Outbox, OutboxError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| OutboxError::NoRuntime)?;
        let queue = Queue::open(path)?;
        let chats = queue.lanes()?;
        let pending = queue.count()?;
        let stop = Signal::new();
        let outbox = Outbox {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared {
                    queue: Arc::new(queue),
                    deliver,
                    config,
                    chats: Mutex::new(HashMap::new()),
                }),
                runtime,
                stop,
                tasks: Mutex::new(JoinSet::new()),
            }),
        };
        tracing::info!(
            path = %path.display(),
            pending,
            chats = chats.len(),
            "outbox opened"
        );
        for chat in chats {
            outbox.wake(chat);
        }
        Ok(outbox)
    }

    /// Queues `msg` behind the earlier messages of its chat and returns its
    /// row id (unique for the life of the file; it appears in every log
    /// line about the message). The message is on disk when this returns.
    ///
    /// After [`shutdown`](Outbox::shutdown) the message is still stored
    /// and goes out at the next start. Fails for a message with nothing to
    /// send, for a temporary-session chat (SmartQQ cannot send there), or
    /// when the database cannot be written.
    pub fn enqueue(&self, msg: OutMessage) -> Result<u64, OutboxError> {
        check(&msg)?;
        let id = self.inner.shared.queue.insert(&msg)?;
        self.queued(id, &msg);
        Ok(id)
    }

    /// Queues `msgs` (each behind the earlier messages of its chat) and
    /// marks the journal entry `handled` done, in one commit. A message
    /// that cannot be sent (empty, temporary session) is logged and left
    /// out; the others are queued. Returns the row ids of those queued.
    pub fn enqueue_all(
        &self,
        msgs: Vec<OutMessage>,
        handled: Option<u64>,
    ) -> Result<Vec<u64>, OutboxError> {
        let msgs: Vec<OutMessage> = msgs
            .into_iter()
            .filter(|m| match check(m) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!("{e}");
                    false
                }
            })
            .collect();
        let ids = self.inner.shared.queue.insert_all(&msgs, handled)?;
        for (id, msg) in ids.iter().zip(&msgs) {
            self.queued(*id, msg);
        }
        Ok(ids)
    }

    fn queued(&self, id: u64, msg: &OutMessage) {
        if self.inner.stop.is_fired() {
            tracing::info!(row = id, chat = %msg.chat, origin = msg.origin, "outbox is shut down: message kept for the next start");
        } else {
            tracing::debug!(row = id, chat = %msg.chat, origin = msg.origin, "message queued");
            self.wake(msg.lane());
        }
    }

    /// How many proactive messages of `origin` (a plugin name) wait for
    /// delivery.
    pub fn pending_from(&self, origin: &str) -> Result<usize, OutboxError> {
        self.inner.shared.queue.count_from(origin)
    }

    /// Drops the queued messages of `origin`, in the chat `lane` only when
    /// given (see [`OutMessage::lane`]); returns how many. A message being
    /// sent right now still goes out.
    pub fn drop_from(&self, origin: &str, lane: Option<&str>) -> Result<usize, OutboxError> {
        self.inner.shared.queue.delete_from(origin, lane)
    }

    /// How many messages wait for delivery (including those being retried).
    pub fn pending(&self) -> Result<usize, OutboxError> {
        self.inner.shared.queue.count()
    }

    /// The newest `limit` messages given up on, newest first (the file
    /// keeps the last 1000).
    pub fn failed(&self, limit: usize) -> Result<Vec<FailedMessage>, OutboxError> {
        self.inner.shared.queue.failed(limit)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.inner.shared.queue.path()
    }

    /// Stops every delivery task (idle and backing-off ones at once; a
    /// send in flight gets `shutdown_grace` to finish, then is aborted) and
    /// waits for them. Undelivered messages stay in the file. Idempotent;
    /// affects every clone.
    pub async fn shutdown(&self) {
        self.inner.stop.fire();
        let mut tasks = std::mem::take(&mut *lock(&self.inner.tasks));
        let grace = self.inner.shared.config.shutdown_grace;
        let drained =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!(
                tasks = tasks.len(),
                ?grace,
                "outbox: sends still in flight at shutdown; aborting them (their messages stay queued)"
            );
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        lock(&self.inner.shared.chats).clear();
        let queue = self.inner.shared.queue.clone();
        match tokio::task::spawn_blocking(move || queue.count()).await {
            Ok(Ok(pending)) => tracing::info!(pending, "outbox stopped"),
            Ok(Err(e)) => tracing::warn!(error = %e, "outbox stopped"),
            Err(e) => tracing::warn!(error = %e, "outbox stopped"),
        }
    }

    /// Wakes `lane`'s delivery task, spawning it if there is none.
    fn wake(&self, lane: String) {
        let shared = &self.inner.shared;
        let mut chats = lock(&shared.chats);
        if let Some(notify) = chats.get(&lane) {
            notify.notify_one();
            return;
        }
        let notify = Arc::new(Notify::new());
        chats.insert(lane.clone(), notify.clone());
        let mut tasks = lock(&self.inner.tasks);
        while tasks.try_join_next().is_some() {}
        let span = tracing::info_span!("outbox", chat = %lane);
        let chat = lane;
        tasks.spawn_on(
            run_chat(shared.clone(), chat, notify, self.inner.stop.listener()).instrument(span),
            &self.inner.runtime,
        );
    }
}

impl Shared {
    /// Runs a queue call on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Queue) -> Result<T, OutboxError> + Send + 'static,
    ) -> Result<T, OutboxError> {
        let queue = self.queue.clone();
        tokio::task::spawn_blocking(move || f(&queue))
            .await
            .map_err(|e| OutboxError::Task {
                path: self.queue.path().to_owned(),
                message: e.to_string(),
            })?
    }
}

/// How a message's processing ended for its chat's task.
enum Flow {
    /// Go on with the chat's next message.
    Next,
    /// The deliverer stopped: end this chat's task, keep the row.
    Stopped,
    /// The outbox is shutting down.
    Shutdown,
}

/// Whether `msg` can be queued at all.
fn check(msg: &OutMessage) -> Result<(), OutboxError> {
    if msg.chat.kind == ChatKind::Session {
        return Err(OutboxError::Unsendable {
            chat: msg.chat,
            origin: msg.origin.clone(),
        });
    }
    if msg
        .segments
        .iter()
        .all(|s| matches!(s, Segment::Text(t) if t.is_empty()))
    {
        return Err(OutboxError::Empty {
            chat: msg.chat,
            origin: msg.origin.clone(),
        });
    }
    Ok(())
}

/// One lane's delivery task: its rows in id order, one at a time.
async fn run_chat(shared: Arc<Shared>, chat: String, wake: Arc<Notify>, mut stop: Shutdown) {
    // Rows at or below the cursors (replies, proactive messages) were
    // handled by this task; skipping them means a row whose delete failed
    // is not sent twice by this process.
    let mut cursor = (0u64, 0u64);
    loop {
        if stop.is_shutdown() {
            return;
        }
        // Inline, as `enqueue` is: one indexed read, microseconds; a trip
        // to the blocking pool would cost two thread wake-ups per message.
        let row = match shared.queue.next(&chat, cursor) {
            Ok(row) => row,
            Err(e) => {
                tracing::error!(error = %e, "outbox: cannot read the next message; trying again");
                let pause = shared.config.retry_max.min(Duration::from_secs(5));
                if stop.sleep(pause).await {
                    return;
                }
                continue;
            }
        };
        let Some(row) = row else {
            tokio::select! {
                _ = wake.notified() => {}
                () = stop.recv() => return,
            }
            continue;
        };
        if row.msg.proactive {
            cursor.1 = row.id;
        } else {
            cursor.0 = row.id;
        }
        let span = tracing::info_span!("msg", row = row.id, origin = %row.msg.origin);
        match process(&shared, row, &mut stop).instrument(span).await {
            Flow::Next => {}
            Flow::Shutdown => return,
            Flow::Stopped => {
                let mut chats = lock(&shared.chats);
                if chats.get(&chat).is_some_and(|n| Arc::ptr_eq(n, &wake)) {
                    chats.remove(&chat);
                }
                return;
            }
        }
    }
}

/// Delivers one row: attempts, backoff, and the bookkeeping of each verdict.
async fn process(shared: &Arc<Shared>, mut row: Row, stop: &mut Shutdown) -> Flow {
    let id = row.id;
    let max_attempts = shared.config.max_attempts.max(1);
    loop {
        let verdict = attempt(shared, &row.msg).await;
        let reason = match verdict {
            Delivery::Delivered => {
                // Inline: a one-row commit into the WAL, no fsync (see
                // `queue`), like `enqueue`'s insert.
                if let Err(e) = shared.queue.delete(id) {
                    tracing::error!(error = %e, "message delivered but its row could not be deleted; a restart may send it again");
                } else {
                    tracing::debug!(attempts = row.attempts + 1, "message delivered");
                }
                return Flow::Next;
            }
            Delivery::Failed(reason) => {
                tracing::error!(
                    reason,
                    attempts = row.attempts + 1,
                    "message cannot be delivered; given up (kept in the failed table)"
                );
                give_up(shared, id, reason).await;
                return Flow::Next;
            }
            Delivery::Stopped => {
                tracing::info!("deliverer stopped; message kept for the next start");
                return Flow::Stopped;
            }
            Delivery::Partial { remaining, reason } => {
                let segments = remaining.clone();
                if let Err(e) = shared
                    .blocking(move |q| q.set_segments(id, &segments))
                    .await
                {
                    tracing::error!(error = %e, "could not record the parts already delivered; a restart may send them again");
                }
                tracing::warn!(reason, left = remaining.len(), "message partly delivered");
                row.msg.segments = remaining;
                reason
            }
            Delivery::Retry(reason) => reason,
        };
        row.attempts = row.attempts.saturating_add(1);
        if row.attempts >= max_attempts {
            let reason = format!("{reason} (after {} attempts)", row.attempts);
            tracing::error!(
                reason,
                "message not delivered; given up (kept in the failed table)"
            );
            let attempts = row.attempts;
            let r = reason.clone();
            if let Err(e) = shared
                .blocking(move |q| q.record_attempt(id, attempts, &r))
                .await
            {
                tracing::warn!(error = %e, "could not record the attempt");
            }
            give_up(shared, id, reason).await;
            return Flow::Next;
        }
        let delay = shared.config.backoff(row.attempts);
        tracing::warn!(
            reason,
            attempt = row.attempts,
            ?delay,
            "delivery failed; retrying"
        );
        let (attempts, r) = (row.attempts, reason);
        if let Err(e) = shared
            .blocking(move |q| q.record_attempt(id, attempts, &r))
            .await
        {
            tracing::warn!(error = %e, "could not record the attempt");
        }
        if stop.sleep(delay).await {
            return Flow::Shutdown;
        }
    }
}

/// One delivery attempt. A panicking deliverer costs one attempt, not the
/// chat's task: the panic is caught here, in the task (a task of its own
/// per attempt cost two hand-offs per message). Cancelled with the caller.
async fn attempt(shared: &Arc<Shared>, msg: &OutMessage) -> Delivery {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(shared.deliver.deliver_boxed(msg))
        .catch_unwind()
        .await
    {
        Ok(verdict) => verdict,
        Err(panic) => Delivery::Retry(format!(
            "the deliverer failed: panicked: {}",
            crate::panic::message(&*panic)
        )),
    }
}

/// Moves a row to the `failed` table.
async fn give_up(shared: &Arc<Shared>, id: u64, reason: String) {
    if let Err(e) = shared.blocking(move |q| q.fail(id, &reason)).await {
        tracing::error!(error = %e, "could not move the message to the failed table; a restart will try it again");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let c = OutboxConfig {
            retry_base: Duration::from_millis(100),
            retry_max: Duration::from_secs(1),
            ..OutboxConfig::default()
        };
        for _ in 0..50 {
            let d1 = c.backoff(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = c.backoff(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d30 = c.backoff(30);
            assert!(d30 >= Duration::from_millis(500) && d30 <= Duration::from_secs(1));
        }
    }
}
