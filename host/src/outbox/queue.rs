//! The outbox's SQLite file: the `outbox` table of undelivered messages and
//! the `failed` table of messages given up on.
//!
//! # Why a file of its own
//!
//! The outbox writes on every reply (insert, then delete once accepted), so
//! it keeps its own database file (`outbox.db` in the data directory) and
//! its own connection: its writes never queue behind plugin key-value work
//! and a corrupt or locked outbox never takes plugin data down with it.
//!
//! # Durability and blocking
//!
//! The file is in WAL mode with `synchronous = NORMAL`, and SQLite's
//! automatic checkpoints are off (`wal_autocheckpoint = 0`): a commit is
//! a `write` into the WAL, never an fsync, so no serving thread ever waits
//! for the disk. The WAL is copied into the database file (and both are
//! fsynced) by a checkpoint thread of the queue's own (`wasmqq-outbox-wal`,
//! with a second connection): `PRAGMA wal_checkpoint(PASSIVE)` once
//! [`CHECKPOINT_COMMITS`] commits have gathered, or [`CHECKPOINT_DELAY`]
//! after the first commit since the last checkpoint, whichever comes
//! first. A passive checkpoint never blocks the writer, and the thread
//! sleeps without a timer while nothing was written.
//!
//! What can be lost:
//!
//! * **A kill -9 (or any crash of the process) loses nothing acknowledged.**
//!   A commit is in the WAL file, in the kernel's page cache, when the
//!   statement returns; the next open replays it. So a message
//!   [`enqueue`](super::Outbox::enqueue) returned an id for, a journal
//!   entry, and a journal entry's done mark with its replies (one commit,
//!   [`Queue::insert_all`]) all survive.
//! * **A power loss or an OS crash may lose the commits since the last
//!   checkpoint** (at most [`CHECKPOINT_DELAY`] or [`CHECKPOINT_COMMITS`]
//!   of them): the WAL is fsynced only by checkpoints. The file stays
//!   consistent (SQLite's WAL recovery drops a torn tail), commits are lost
//!   whole and in order, and a journal entry is never marked done without
//!   its replies. A lost journal entry is a message never received; a lost
//!   done mark (with its replies) makes the message be handled again.
//!
//! Every statement is short (one indexed row), prepared once per
//! connection (`prepare_cached`) and run on one connection behind a mutex.
//! The per-message statements run inline on the async threads, since a
//! commit never waits for the disk: `enqueue`'s insert, the delivery
//! task's read of its next row and the delete after delivery
//! (microseconds each; a trip to tokio's blocking pool would cost two
//! thread wake-ups). The rare ones (a failed attempt, a give-up, counts)
//! run on the blocking pool.
//!
//! # Schema (`PRAGMA user_version` = 3)
//!
//! ```sql
//! outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, chat_kind TEXT, chat_id INTEGER,
//!        chat_name TEXT NULL, segments TEXT /* JSON */, origin TEXT,
//!        enqueued_at INTEGER /* unix ms */, attempts INTEGER, last_error TEXT NULL,
//!        lane TEXT /* the logical chat: kind:name, or kind#id without a name */,
//!        proactive INTEGER /* 1: a plugin's own message; replies go first */)
//!   -- indexes: (lane, id); (origin) WHERE proactive = 1
//! failed(id INTEGER PRIMARY KEY, …the same but lane…, failed_at INTEGER, reason TEXT)
//! inbox(seq INTEGER PRIMARY KEY, key TEXT, payload TEXT,
//!       received_at INTEGER, done INTEGER) -- the journal, see super::journal
//! ```
//!
//! Every index is a page more in each commit that touches its table, so
//! there are only the two the delivery path reads: a reply writes its
//! outbox row, the lane index and the id counter; a journal entry one
//! page (its key is checked for duplicates in memory, see
//! [`JournalKeys`]); a delivered row's delete two. Version 2 had four
//! more (by chat, by origin for every row, the inbox's key and pending
//! indexes, and the inbox's id counter): about 15 pages per reply, now 7.
//!
//! Version 1 files (no `lane`, no `inbox`) and version 2 files (the
//! indexes above) are upgraded in place at open.
//!
//! `AUTOINCREMENT` keeps ids unique for the life of the file, so a row id
//! in a log line names one message forever, and ids grow in enqueue order,
//! which is the delivery order within a chat. `segments` is a JSON array of
//! `{"text": "…"}` and `{"face": N}` objects.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use wasmqq_webqq::{ChatKind, ChatRef, Segment};

use super::journal::JournalKeys;
use super::{OutMessage, OutboxError};
use crate::clock::unix_ms;

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 3;

/// How many given-up messages the `failed` table keeps (oldest pruned).
pub(crate) const FAILED_KEEP: i64 = 1000;

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Commits after which the WAL is checkpointed at once (about 330
/// replies, a WAL of ≈ 2,300 pages, ≈ 9 MB; below 1,000 commits a second
/// the delay comes first). A checkpoint copies each page once however
/// often it was rewritten, so fewer, larger ones cost less: at 100 the
/// checkpoint thread took ≈ 4 % of the bot's CPU, at 1,000 ≈ 2 %.
pub(crate) const CHECKPOINT_COMMITS: u32 = 1000;

/// The longest a commit waits for the checkpoint that fsyncs it.
pub(crate) const CHECKPOINT_DELAY: Duration = Duration::from_secs(1);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_kind TEXT NOT NULL,
    chat_id INTEGER NOT NULL,
    chat_name TEXT,
    segments TEXT NOT NULL,
    origin TEXT NOT NULL,
    enqueued_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    lane TEXT NOT NULL DEFAULT '',
    proactive INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_by_lane ON outbox (lane, id);
CREATE INDEX IF NOT EXISTS outbox_proactive ON outbox (origin) WHERE proactive = 1;
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS failed (
    id INTEGER PRIMARY KEY,
    chat_kind TEXT NOT NULL,
    chat_id INTEGER NOT NULL,
    chat_name TEXT,
    segments TEXT NOT NULL,
    origin TEXT NOT NULL,
    enqueued_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    failed_at INTEGER NOT NULL,
    reason TEXT NOT NULL
);
";

/// One undelivered message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// The row id (unique for the life of the file).
    pub id: u64,
    /// The message.
    pub msg: OutMessage,
    /// Unix milliseconds of the enqueue.
    pub enqueued_at: u64,
    /// Delivery attempts that failed transiently so far (across restarts).
    pub attempts: u32,
}

/// A message the outbox gave up on, kept in the `failed` table (the newest
/// [`FAILED_KEEP`] of them) for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedMessage {
    /// The row id it had in the outbox.
    pub id: u64,
    /// The message (its remaining parts, if some were delivered).
    pub msg: OutMessage,
    /// Delivery attempts made.
    pub attempts: u32,
    /// Unix milliseconds of the enqueue.
    pub enqueued_at: u64,
    /// Unix milliseconds when it was given up.
    pub failed_at: u64,
    /// Why.
    pub reason: String,
}

/// Upgrades a version 2 file: drops the indexes version 3 does without
/// and rebuilds the inbox without its key index and id counter (rowids
/// stay increasing: the newest entry is never pruned).
const UPGRADE_FROM_2: &str = "
DROP INDEX IF EXISTS outbox_by_origin;
DROP INDEX IF EXISTS outbox_by_chat;
DROP INDEX IF EXISTS inbox_pending;
CREATE TABLE inbox_v3 (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);
INSERT INTO inbox_v3 (seq, key, payload, received_at, done)
    SELECT seq, key, payload, received_at, done FROM inbox;
DROP TABLE inbox;
ALTER TABLE inbox_v3 RENAME TO inbox;
DELETE FROM sqlite_sequence WHERE name = 'inbox';
";

/// The connection and what is kept in memory beside it, under one lock.
#[derive(Debug)]
pub(crate) struct Db {
    pub(crate) conn: Connection,
    /// The journal's keys (see [`JournalKeys`]).
    pub(crate) keys: JournalKeys,
}

impl std::ops::Deref for Db {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl std::ops::DerefMut for Db {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// The outbox database: one connection behind a mutex. Every method blocks
/// for one short statement or transaction.
#[derive(Debug)]
pub(crate) struct Queue {
    conn: Arc<Mutex<Db>>,
    path: PathBuf,
    checkpoints: Checkpointer,
}

impl Queue {
    /// Opens or creates the file at `path` (its folder must exist) in WAL
    /// mode and creates the tables. Fails when the file is not a SQLite
    /// database, cannot be written, or was written by a newer schema.
    pub(crate) fn open(path: &Path) -> Result<Queue, OutboxError> {
        let open_err = |source| OutboxError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), "outbox database is in {mode} journal mode, not WAL");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        // Checkpoints run on the checkpoint thread, never inside a commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(open_err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open_err)?;
        if version > SCHEMA_VERSION {
            return Err(OutboxError::Schema {
                path: path.to_owned(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version == 1 {
            // Version 1 keyed delivery by the session's chat id only.
            conn.execute_batch(
                "ALTER TABLE outbox ADD COLUMN lane TEXT NOT NULL DEFAULT '';
                 ALTER TABLE outbox ADD COLUMN proactive INTEGER NOT NULL DEFAULT 0;
                 UPDATE outbox SET lane = CASE WHEN chat_name IS NULL
                     THEN chat_kind || '#' || chat_id ELSE chat_kind || ':' || chat_name END;",
            )
            .map_err(open_err)?;
        }
        if version == 2 {
            conn.execute_batch(&format!("BEGIN; {UPGRADE_FROM_2} COMMIT;"))
                .map_err(open_err)?;
        }
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(open_err)?;
        let keys = JournalKeys::load(&conn).map_err(open_err)?;
        let conn = Arc::new(Mutex::new(Db { conn, keys }));
        let checkpoints = Checkpointer::start(path, conn.clone())?;
        Ok(Queue {
            conn,
            path: path.to_owned(),
            checkpoints,
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Db> {
        lock_db(&self.conn)
    }

    fn query_err(&self, source: rusqlite::Error) -> OutboxError {
        OutboxError::Query {
            path: self.path.clone(),
            source,
        }
    }

    /// Stores `msg`; returns its row id.
    pub(crate) fn insert(&self, msg: &OutMessage) -> Result<u64, OutboxError> {
        let conn = self.lock();
        let id = insert_row(&conn, msg).map_err(|e| self.query_err(e))?;
        self.checkpoints.committed();
        Ok(id)
    }

    /// Stores `msgs` and marks the journal entry `handled` (if any) done,
    /// all in one transaction: a crash keeps either both or neither.
    pub(crate) fn insert_all(
        &self,
        msgs: &[OutMessage],
        handled: Option<u64>,
    ) -> Result<Vec<u64>, OutboxError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.query_err(e))?;
        let mut ids = Vec::with_capacity(msgs.len());
        for msg in msgs {
            ids.push(insert_row(&tx, msg).map_err(|e| self.query_err(e))?);
        }
        if let Some(seq) = handled {
            super::journal::mark_done(&tx, seq).map_err(|e| self.query_err(e))?;
        }
        tx.commit().map_err(|e| self.query_err(e))?;
        self.checkpoints.committed();
        Ok(ids)
    }

    /// Runs `f` on the connection and the journal's keys (for the
    /// journal's statements).
    pub(crate) fn with_db<T>(
        &self,
        f: impl FnOnce(&mut Db) -> rusqlite::Result<T>,
    ) -> Result<T, OutboxError> {
        let result = f(&mut self.lock()).map_err(|e| self.query_err(e));
        self.checkpoints.committed();
        result
    }

    /// The lanes (logical chats) with undelivered messages, in order of
    /// their oldest one.
    pub(crate) fn lanes(&self) -> Result<Vec<String>, OutboxError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT lane, min(id) AS first FROM outbox GROUP BY lane ORDER BY first",
            )
            .map_err(|e| self.query_err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.query_err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.query_err(e))
    }

    /// The next message of `lane`: the oldest reply with an id above
    /// `after.0`, else the oldest proactive message above `after.1`. A row
    /// that cannot be decoded is moved to `failed` and skipped.
    pub(crate) fn next(&self, lane: &str, after: (u64, u64)) -> Result<Option<Row>, OutboxError> {
        loop {
            let raw = {
                let conn = self.lock();
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, chat_name, segments, origin, enqueued_at, attempts,
                                chat_kind, chat_id, proactive FROM outbox
                         WHERE lane = ?1 AND ((proactive = 0 AND id > ?2) OR (proactive = 1 AND id > ?3))
                         ORDER BY proactive, id LIMIT 1",
                    )
                    .map_err(|e| self.query_err(e))?;
                stmt.query_row(params![lane, after.0 as i64, after.1 as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)? as u64,
                        r.get::<_, i64>(5)?.clamp(0, u32::MAX as i64) as u32,
                        r.get::<_, String>(6)?,
                        r.get::<_, i64>(7)? as u64,
                        r.get::<_, i64>(8)? != 0,
                    ))
                })
                .optional()
                .map_err(|e| self.query_err(e))?
            };
            let Some((
                id,
                chat_name,
                segments,
                origin,
                enqueued_at,
                attempts,
                kind,
                chat_id,
                proactive,
            )) = raw
            else {
                return Ok(None);
            };
            let Some(kind) = parse_kind(&kind) else {
                let reason = format!("unknown chat kind {kind:?}");
                tracing::error!(path = %self.path.display(), row = id, lane, reason, "outbox row dropped");
                self.fail(id, &reason)?;
                continue;
            };
            let chat = ChatRef { kind, id: chat_id };
            match decode_segments(&segments) {
                Ok(segments) => {
                    return Ok(Some(Row {
                        id,
                        msg: OutMessage {
                            chat,
                            chat_name,
                            segments,
                            origin,
                            proactive,
                        },
                        enqueued_at,
                        attempts,
                    }));
                }
                Err(e) => {
                    let reason = format!("unreadable segments column: {e}");
                    tracing::error!(path = %self.path.display(), row = id, %chat, reason, "outbox row dropped");
                    self.fail(id, &reason)?;
                }
            }
        }
    }

    /// Deletes a delivered message.
    pub(crate) fn delete(&self, id: u64) -> Result<(), OutboxError> {
        let conn = self.lock();
        conn.prepare_cached("DELETE FROM outbox WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute([id as i64]))
            .map_err(|e| self.query_err(e))?;
        self.checkpoints.committed();
        Ok(())
    }

    /// Records a failed attempt.
    pub(crate) fn record_attempt(
        &self,
        id: u64,
        attempts: u32,
        error: &str,
    ) -> Result<(), OutboxError> {
        self.lock()
            .prepare_cached("UPDATE outbox SET attempts = ?2, last_error = ?3 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![id as i64, attempts as i64, error]))
            .map_err(|e| self.query_err(e))?;
        self.checkpoints.committed();
        Ok(())
    }

    /// Replaces the segments of a message whose first parts were delivered.
    pub(crate) fn set_segments(&self, id: u64, segments: &[Segment]) -> Result<(), OutboxError> {
        self.lock()
            .prepare_cached("UPDATE outbox SET segments = ?2 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![id as i64, encode_segments(segments)]))
            .map_err(|e| self.query_err(e))?;
        self.checkpoints.committed();
        Ok(())
    }

    /// Moves a message to the `failed` table (pruned to the newest
    /// [`FAILED_KEEP`]) in one transaction.
    pub(crate) fn fail(&self, id: u64, reason: &str) -> Result<(), OutboxError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.query_err(e))?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO failed
                 (id, chat_kind, chat_id, chat_name, segments, origin, enqueued_at, attempts, failed_at, reason)
             SELECT id, chat_kind, chat_id, chat_name, segments, origin, enqueued_at, attempts, ?2, ?3
             FROM outbox WHERE id = ?1",
        )
        .and_then(|mut stmt| stmt.execute(params![id as i64, unix_ms() as i64, reason]))
        .map_err(|e| self.query_err(e))?;
        tx.prepare_cached("DELETE FROM outbox WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute([id as i64]))
            .map_err(|e| self.query_err(e))?;
        tx.prepare_cached(
            "DELETE FROM failed WHERE id NOT IN (SELECT id FROM failed ORDER BY id DESC LIMIT ?1)",
        )
        .and_then(|mut stmt| stmt.execute([FAILED_KEEP]))
        .map_err(|e| self.query_err(e))?;
        tx.commit().map_err(|e| self.query_err(e))?;
        self.checkpoints.committed();
        Ok(())
    }

    /// How many proactive messages of `origin` wait for delivery.
    pub(crate) fn count_from(&self, origin: &str) -> Result<usize, OutboxError> {
        let conn = self.lock();
        conn.prepare_cached("SELECT count(*) FROM outbox WHERE origin = ?1 AND proactive = 1")
            .and_then(|mut stmt| stmt.query_row([origin], |r| r.get::<_, i64>(0)))
            .map(|n| n as usize)
            .map_err(|e| self.query_err(e))
    }

    /// Deletes the queued messages of `origin` (in `lane` only, if given);
    /// returns how many.
    pub(crate) fn delete_from(
        &self,
        origin: &str,
        lane: Option<&str>,
    ) -> Result<usize, OutboxError> {
        let conn = self.lock();
        let deleted = match lane {
            Some(lane) => conn
                .prepare_cached("DELETE FROM outbox WHERE origin = ?1 AND lane = ?2")
                .and_then(|mut stmt| stmt.execute(params![origin, lane])),
            None => conn
                .prepare_cached("DELETE FROM outbox WHERE origin = ?1")
                .and_then(|mut stmt| stmt.execute([origin])),
        }
        .map_err(|e| self.query_err(e))?;
        self.checkpoints.committed();
        Ok(deleted)
    }

    /// How many messages wait for delivery.
    pub(crate) fn count(&self) -> Result<usize, OutboxError> {
        self.lock()
            .prepare_cached("SELECT count(*) FROM outbox")
            .and_then(|mut stmt| stmt.query_row([], |r| r.get::<_, i64>(0)))
            .map(|n| n as usize)
            .map_err(|e| self.query_err(e))
    }

    /// The newest `limit` messages given up on, newest first.
    pub(crate) fn failed(&self, limit: usize) -> Result<Vec<FailedMessage>, OutboxError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, chat_kind, chat_id, chat_name, segments, origin, enqueued_at,
                        attempts, failed_at, reason
                 FROM failed ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.query_err(e))?;
        let rows = stmt
            .query_map([limit.min(i64::MAX as usize) as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)? as u64,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)? as u64,
                    r.get::<_, i64>(7)?.clamp(0, u32::MAX as i64) as u32,
                    r.get::<_, i64>(8)? as u64,
                    r.get::<_, String>(9)?,
                ))
            })
            .map_err(|e| self.query_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                kind,
                chat_id,
                chat_name,
                segments,
                origin,
                enqueued_at,
                attempts,
                failed_at,
                reason,
            ) = row.map_err(|e| self.query_err(e))?;
            let Some(kind) = parse_kind(&kind) else {
                continue;
            };
            out.push(FailedMessage {
                id,
                msg: OutMessage {
                    chat: ChatRef { kind, id: chat_id },
                    chat_name,
                    // An unreadable row is shown with no segments rather
                    // than hiding the record.
                    segments: decode_segments(&segments).unwrap_or_default(),
                    origin,
                    proactive: false,
                },
                attempts,
                enqueued_at,
                failed_at,
                reason,
            });
        }
        Ok(out)
    }
}

/// The WAL checkpoints: a thread with a connection of its own that runs
/// `PRAGMA wal_checkpoint(PASSIVE)` when enough commits gathered or the
/// oldest unchecked one is [`CHECKPOINT_DELAY`] old (module docs), and
/// once more when the queue is dropped.
#[derive(Debug)]
struct Checkpointer {
    state: Arc<(Mutex<Pending>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Pending {
    /// Commits since the last checkpoint started.
    commits: u32,
    /// When the first of them was made.
    since: Option<Instant>,
    stop: bool,
}

impl Checkpointer {
    fn start(path: &Path, db: Arc<Mutex<Db>>) -> Result<Checkpointer, OutboxError> {
        let open_err = |source| OutboxError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let state = Arc::new((Mutex::new(Pending::default()), Condvar::new()));
        let shared = state.clone();
        let name = path.display().to_string();
        let thread = std::thread::Builder::new()
            .name("wasmqq-outbox-wal".into())
            .spawn(move || {
                crate::helper_thread::lower_priority();
                checkpoint_loop(&conn, &db, &shared, &name)
            })
            .map_err(|e| OutboxError::Task {
                path: path.to_owned(),
                message: format!("cannot start the checkpoint thread: {e}"),
            })?;
        Ok(Checkpointer {
            state,
            thread: Some(thread),
        })
    }

    /// Counts one commit; wakes the thread on the first commit after a
    /// checkpoint (to start its delay) and at [`CHECKPOINT_COMMITS`].
    fn committed(&self) {
        let (lock, wake) = &*self.state;
        let mut pending = lock.lock().unwrap_or_else(|p| p.into_inner());
        pending.commits = pending.commits.saturating_add(1);
        if pending.since.is_none() {
            pending.since = Some(Instant::now());
            wake.notify_one();
        } else if pending.commits == CHECKPOINT_COMMITS {
            wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.state;
        lock.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
        wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn checkpoint_loop(
    conn: &Connection,
    db: &Mutex<Db>,
    state: &(Mutex<Pending>, Condvar),
    path: &str,
) {
    let (lock, wake) = state;
    let mut pending = lock.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let stop = pending.stop;
        let due = match pending.since {
            None if stop => return,
            // Nothing written: sleep until something is (no timer).
            None => {
                pending = wake.wait(pending).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            Some(since) => since + CHECKPOINT_DELAY,
        };
        let now = Instant::now();
        if !stop && pending.commits < CHECKPOINT_COMMITS && now < due {
            pending = wake
                .wait_timeout(pending, due - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            continue;
        }
        pending.commits = 0;
        pending.since = None;
        drop(pending);
        let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        match result {
            Ok((busy, log, done)) => {
                tracing::trace!(path, busy, log, done, "outbox WAL checkpoint");
                if !stop && busy == 0 && log > 0 && done == log {
                    restart_wal(db, path);
                }
            }
            Err(e) => tracing::warn!(path, "outbox WAL checkpoint failed: {e}"),
        }
        pending = lock.lock().unwrap_or_else(|p| p.into_inner());
    }
}

/// Starts the WAL over from its first frame, on the checkpoint thread.
///
/// Once a checkpoint has copied every frame, the next commit writes the
/// WAL from the start again, and SQLite fsyncs the new WAL header before
/// that commit's frames (in every `synchronous` mode but `OFF`: an
/// unsynced header could let a power loss mix two generations of frames).
/// Left to the next commit, that fsync ran on a serving thread once per
/// checkpoint, 0.3–0.6 ms each on this project's test machine. So the
/// checkpoint thread makes that commit itself: it rewrites
/// `PRAGMA user_version` (the same value, one page) on the serving
/// connection, under its lock, so a serving statement that comes meanwhile
/// waits for the lock instead of SQLite's busy handler (whose first sleep
/// is 1 ms). This commit is not counted towards the next checkpoint: an
/// idle queue stays idle.
fn restart_wal(db: &Mutex<Db>, path: &str) {
    let db = lock_db(db);
    let touch = format!("BEGIN IMMEDIATE; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;");
    if let Err(e) = db.execute_batch(&touch) {
        tracing::warn!(path, "outbox WAL restart failed: {e}");
        let _ = db.execute_batch("ROLLBACK");
    }
}

/// Locks the serving connection. A panic while holding the lock cannot
/// leave a half-done statement behind (SQLite rolls back), so a poisoned
/// lock is still usable.
fn lock_db(db: &Mutex<Db>) -> MutexGuard<'_, Db> {
    db.lock().unwrap_or_else(|p| p.into_inner())
}

/// Inserts one message row (its lane from [`OutMessage::lane`]).
fn insert_row(conn: &Connection, msg: &OutMessage) -> rusqlite::Result<u64> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO outbox (chat_kind, chat_id, chat_name, segments, origin, enqueued_at, lane, proactive)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    stmt.execute(params![
        msg.chat.kind.as_str(),
        msg.chat.id as i64,
        msg.chat_name,
        encode_segments(&msg.segments),
        msg.origin,
        unix_ms() as i64,
        msg.lane(),
        msg.proactive,
    ])?;
    Ok(conn.last_insert_rowid() as u64)
}

fn parse_kind(s: &str) -> Option<ChatKind> {
    match s {
        "friend" => Some(ChatKind::Friend),
        "group" => Some(ChatKind::Group),
        "discussion" => Some(ChatKind::Discussion),
        "session" => Some(ChatKind::Session),
        _ => None,
    }
}

/// Segments as the JSON text stored in the `segments` column.
pub(crate) fn encode_segments(segments: &[Segment]) -> String {
    let v: Vec<Value> = segments
        .iter()
        .map(|s| match s {
            Segment::Text(t) => json!({ "text": t }),
            Segment::Face(n) => json!({ "face": n }),
        })
        .collect();
    Value::Array(v).to_string()
}

/// The inverse of [`encode_segments`]; the error says what is wrong.
pub(crate) fn decode_segments(s: &str) -> Result<Vec<Segment>, String> {
    let v: Value = serde_json::from_str(s).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Array(items) = v else {
        return Err("not a JSON array".into());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            if let Some(t) = item.get("text").and_then(Value::as_str) {
                Ok(Segment::Text(t.to_owned()))
            } else if let Some(n) = item
                .get("face")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
            {
                Ok(Segment::Face(n))
            } else {
                Err(format!("segment {i} is neither text nor face: {item}"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(chat: ChatRef, text: &str) -> OutMessage {
        OutMessage {
            chat,
            chat_name: Some("dev".into()),
            segments: vec![Segment::text(text), Segment::Face(14)],
            origin: "echo".into(),
            proactive: false,
        }
    }

    #[test]
    fn segments_round_trip() {
        let segs = vec![
            Segment::text("a \"quoted\"\nline 汉字"),
            Segment::Face(14),
            Segment::text(""),
        ];
        assert_eq!(decode_segments(&encode_segments(&segs)).unwrap(), segs);
        assert!(decode_segments("{").is_err());
        assert!(decode_segments("{}").is_err());
        assert!(decode_segments(r#"[{"face":-1}]"#).is_err());
    }

    #[test]
    fn rows_flow_in_order_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.db");
        let (g, f) = (ChatRef::group(7), ChatRef::friend(1u64 << 62));
        {
            let q = Queue::open(&path).unwrap();
            assert_eq!(q.insert(&msg(g, "g1")).unwrap(), 1);
            assert_eq!(q.insert(&msg(f, "f1")).unwrap(), 2);
            assert_eq!(q.insert(&msg(g, "g2")).unwrap(), 3);
            q.record_attempt(1, 2, "HTTP 502").unwrap();
        }
        let q = Queue::open(&path).unwrap();
        assert_eq!(q.count().unwrap(), 3);
        let (gl, fl) = (msg(g, "").lane(), msg(f, "").lane());
        assert_eq!(q.lanes().unwrap(), vec![gl.clone(), fl.clone()]);
        let first = q.next(&gl, (0, 0)).unwrap().unwrap();
        assert_eq!((first.id, first.attempts), (1, 2));
        assert_eq!(first.msg, msg(g, "g1"));
        assert_eq!(q.next(&gl, (1, 1)).unwrap().unwrap().id, 3);
        assert_eq!(q.next(&fl, (0, 0)).unwrap().unwrap().msg.chat, f);
        q.delete(1).unwrap();
        q.fail(3, "gave up").unwrap();
        assert_eq!(q.next(&gl, (0, 0)).unwrap(), None);
        let failed = q.failed(10).unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!((failed[0].id, failed[0].reason.as_str()), (3, "gave up"));
        assert_eq!(failed[0].msg, msg(g, "g2"));
        // Ids are never reused, even after the newest row is deleted.
        q.delete(2).unwrap();
        assert_eq!(q.insert(&msg(f, "f2")).unwrap(), 4);
    }

    #[test]
    fn unreadable_rows_are_moved_to_failed() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(&dir.path().join("outbox.db")).unwrap();
        let g = ChatRef::group(7);
        q.insert(&msg(g, "bad")).unwrap();
        q.insert(&msg(g, "good")).unwrap();
        q.lock()
            .execute("UPDATE outbox SET segments = 'nope' WHERE id = 1", [])
            .unwrap();
        let row = q.next(&msg(g, "").lane(), (0, 0)).unwrap().unwrap();
        assert_eq!(row.id, 2);
        assert_eq!(q.failed(10).unwrap()[0].id, 1);
    }

    #[test]
    fn a_version_1_file_is_upgraded_with_lanes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, chat_kind TEXT NOT NULL,
                   chat_id INTEGER NOT NULL, chat_name TEXT, segments TEXT NOT NULL,
                   origin TEXT NOT NULL, enqueued_at INTEGER NOT NULL,
                   attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
                 INSERT INTO outbox (chat_kind, chat_id, chat_name, segments, origin, enqueued_at)
                   VALUES ('group', 7, 'dev', '[{\"text\":\"old\"}]', 'echo', 1),
                          ('friend', 9, NULL, '[{\"text\":\"anon\"}]', 'echo', 2);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let q = Queue::open(&path).unwrap();
        assert_eq!(q.lanes().unwrap(), vec!["group:dev", "friend#9"]);
        let row = q.next("group:dev", (0, 0)).unwrap().unwrap();
        assert_eq!(row.msg.segments, vec![Segment::text("old")]);
        assert_eq!(row.msg.chat, ChatRef::group(7));
    }

    /// Pages `conn` has written (to the WAL) since the last call.
    fn pages_written(conn: &Connection) -> i32 {
        let (mut current, mut high) = (0, 0);
        // SAFETY: the handle is live for the borrow of `conn`, and
        // sqlite3_db_status only reads the connection's counters.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_db_status(
                conn.handle(),
                rusqlite::ffi::SQLITE_DBSTATUS_CACHE_WRITE,
                &mut current,
                &mut high,
                1,
            )
        };
        assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
        current
    }

    #[test]
    fn a_message_and_its_reply_write_seven_pages() {
        // Each page a commit touches is one more WAL frame written; on a
        // journal with its key index, a pending index, three outbox
        // indexes and two id counters it was about 15 a reply.
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(&dir.path().join("outbox.db")).unwrap();
        let g = ChatRef::group(7);
        let cycle = |n: usize| -> [i32; 3] {
            let key = format!("main/group:dev|{n}|1700000000");
            let payload = format!("{{\"text\":\"!echo {n} with a payload of some length\"}}");
            let seq = q
                .with_db(|db| super::super::journal::insert(db, &key, &payload))
                .unwrap()
                .unwrap();
            let journaled = pages_written(&q.lock());
            let ids = q
                .insert_all(&[msg(g, &format!("reply {n}"))], Some(seq))
                .unwrap();
            let replied = pages_written(&q.lock());
            q.delete(ids[0]).unwrap();
            [journaled, replied, pages_written(&q.lock())]
        };
        // Enough messages that the tables and indexes have inner pages.
        for n in 0..2000 {
            cycle(n);
        }
        let mut total = [0; 3];
        for n in 2000..2100 {
            for (t, p) in total.iter_mut().zip(cycle(n)) {
                *t += p;
            }
        }
        let per = total.map(|t| t as f64 / 100.0);
        assert!(
            per[0] <= 1.1,
            "journal entry: {per:?} pages (journal, reply, delete)"
        );
        assert!(per[1] <= 4.1, "reply and done mark: {per:?} pages");
        assert!(per[2] <= 2.1, "delete: {per:?} pages");
    }

    /// The WAL header's checkpoint sequence number: it grows by one each
    /// time the WAL is started over (and its new header fsynced).
    fn wal_generation(db: &Path) -> u32 {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let bytes = std::fs::read(&wal).unwrap();
        u32::from_be_bytes(bytes[12..16].try_into().unwrap())
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn the_checkpoint_thread_runs_at_the_helper_nice_value() {
        // Woken by a serving commit, it must not preempt the serving
        // thread (see crate::helper_thread). The kernel keeps 15 bytes of
        // a thread's name.
        let dir = tempfile::tempdir().unwrap();
        let _q = Queue::open(&dir.path().join("outbox.db")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let nice = || crate::helper_thread::nice_of("wasmqq-outbox-w");
        while nice() != Some(crate::helper_thread::HELPER_NICE) {
            assert!(
                Instant::now() < deadline,
                "the checkpoint thread's nice value is {:?}",
                nice()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn the_checkpoint_thread_starts_the_wal_over_itself() {
        // Starting the WAL over costs an fsync of its new header; left to
        // the next commit, a serving thread paid it once per checkpoint.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.db");
        let q = Queue::open(&path).unwrap();
        let sent = msg(ChatRef::friend(1), "hello");
        q.insert(&sent).unwrap();
        let before = wal_generation(&path);
        let deadline = Instant::now() + CHECKPOINT_DELAY * 10;
        // No commit of ours from here on.
        while wal_generation(&path) == before {
            assert!(
                Instant::now() < deadline,
                "the WAL was not started over after its checkpoint"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let after = wal_generation(&path);
        assert_eq!(after, before.wrapping_add(1));
        // The restart's own commit does not call for another checkpoint:
        // an idle queue stays idle.
        std::thread::sleep(CHECKPOINT_DELAY * 2 + Duration::from_millis(500));
        assert_eq!(
            wal_generation(&path),
            after,
            "an idle queue kept restarting its WAL"
        );
        // And the queue still works on the new WAL.
        let row = q.next(&q.lanes().unwrap()[0], (0, 0)).unwrap().unwrap();
        assert_eq!(row.msg, sent);
    }

    #[test]
    fn a_version_2_file_is_upgraded_keeping_its_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, chat_kind TEXT NOT NULL,
                   chat_id INTEGER NOT NULL, chat_name TEXT, segments TEXT NOT NULL,
                   origin TEXT NOT NULL, enqueued_at INTEGER NOT NULL,
                   attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
                   lane TEXT NOT NULL DEFAULT '', proactive INTEGER NOT NULL DEFAULT 0);
                 CREATE INDEX outbox_by_origin ON outbox (origin, proactive);
                 CREATE INDEX outbox_by_chat ON outbox (chat_kind, chat_id, id);
                 CREATE INDEX outbox_by_lane ON outbox (lane, id);
                 CREATE TABLE inbox (seq INTEGER PRIMARY KEY AUTOINCREMENT,
                   key TEXT NOT NULL UNIQUE, payload TEXT NOT NULL,
                   received_at INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0);
                 CREATE INDEX inbox_pending ON inbox (done, seq);
                 CREATE TABLE failed (id INTEGER PRIMARY KEY, chat_kind TEXT NOT NULL,
                   chat_id INTEGER NOT NULL, chat_name TEXT, segments TEXT NOT NULL,
                   origin TEXT NOT NULL, enqueued_at INTEGER NOT NULL, attempts INTEGER NOT NULL,
                   failed_at INTEGER NOT NULL, reason TEXT NOT NULL);
                 INSERT INTO outbox (chat_kind, chat_id, chat_name, segments, origin, enqueued_at, lane, proactive)
                   VALUES ('group', 7, 'dev', '[{\"text\":\"queued\"}]', 'echo', 1, 'group:dev', 1);
                 INSERT INTO inbox (key, payload, received_at, done)
                   VALUES ('a', '{}', 1, 1), ('b', '{\"x\":1}', 2, 0), ('c', '{}', 3, 1);
                 DELETE FROM inbox WHERE key = 'c';
                 PRAGMA user_version = 2;",
            )
            .unwrap();
        }
        let q = Queue::open(&path).unwrap();
        let version: i64 = q
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let indexes: Vec<String> = q
            .with_db(|db| {
                db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")?
                    .query_map([], |r| r.get(0))?
                    .collect()
            })
            .unwrap();
        assert_eq!(indexes, ["outbox_by_lane", "outbox_proactive"]);
        assert_eq!(q.count_from("echo").unwrap(), 1);
        let row = q.next("group:dev", (0, 0)).unwrap().unwrap();
        assert_eq!(row.msg.segments, vec![Segment::text("queued")]);
        let insert = |key: &str| {
            q.with_db(|db| super::super::journal::insert(db, key, "{}"))
                .unwrap()
        };
        // Keys journaled before the upgrade are still recognised…
        assert_eq!(insert("a"), None);
        assert_eq!(insert("b"), None);
        // …the pending entry is still pending, and new entries number on.
        let pending: Vec<(i64, String)> = q
            .with_db(|db| {
                db.prepare("SELECT seq, payload FROM inbox WHERE done = 0")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .unwrap();
        assert_eq!(pending, [(2, "{\"x\":1}".to_string())]);
        assert_eq!(insert("d"), Some(3));
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 9)
            .unwrap();
        let e = Queue::open(&path).unwrap_err();
        assert!(e.to_string().contains("version 9"), "{e}");
    }
}
