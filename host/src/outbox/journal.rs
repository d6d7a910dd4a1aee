//! The inbound journal: every received message is written here (in the
//! outbox's own file, table `inbox`) before it is dispatched, and marked
//! done in the same transaction that puts its replies into the outbox. After
//! a crash the messages not marked done are dispatched again at start, so
//! nothing received is lost; a message whose key was seen before is not
//! dispatched twice.
//!
//! The contract for plugins is **at least once**: a message is handled
//! once, except when the process dies after a plugin was called and before
//! its replies reached the outbox; then the message is handled again at the
//! next start (a plugin with side effects, e.g. a counter in `kv`, may count
//! it twice). Replies are never duplicated by the journal itself: they and
//! the done mark are one commit.
//!
//! Done entries are kept (newest [`KEEP_DONE`]) to recognise a message the
//! server delivers twice.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Outbox, OutboxError};
use crate::clock::unix_ms;

/// Done entries kept for de-duplication.
pub const KEEP_DONE: i64 = 10_000;

/// One journaled message not yet handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    /// Its journal sequence number (pass it back to mark it done).
    pub seq: u64,
    /// What was stored: the message, encoded by the caller.
    pub payload: String,
}

pub(crate) fn mark_done(conn: &Connection, seq: u64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE inbox SET done = 1 WHERE seq = ?1")?
        .execute([seq as i64])?;
    Ok(())
}

impl Outbox {
    /// Journal a received message under `key` (unique per message, stable
    /// across restarts) with its encoded `payload`. Returns its sequence
    /// number, or `None` when the key was journaled before (a duplicate:
    /// do not dispatch it). On disk when this returns.
    pub fn journal(&self, key: &str, payload: &str) -> Result<Option<u64>, OutboxError> {
        self.inner.shared.queue.with_conn(|conn| {
            let inserted = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO inbox (key, payload, received_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![key, payload, unix_ms() as i64])?;
            if inserted == 0 {
                return Ok(None);
            }
            let seq = conn.last_insert_rowid();
            if seq % 1024 == 0 {
                conn.prepare_cached("DELETE FROM inbox WHERE done = 1 AND seq <= ?1")?
                    .execute([seq - KEEP_DONE])?;
            }
            Ok(Some(seq as u64))
        })
    }

    /// Mark a journaled message handled without replies.
    pub fn journal_done(&self, seq: u64) -> Result<(), OutboxError> {
        self.inner
            .shared
            .queue
            .with_conn(|conn| mark_done(conn, seq))
    }

    /// The journaled messages not handled yet, oldest first.
    pub fn unfinished(&self) -> Result<Vec<Unfinished>, OutboxError> {
        self.inner.shared.queue.with_conn(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT seq, payload FROM inbox WHERE done = 0 ORDER BY seq")?;
            let rows = stmt.query_map([], |r| {
                Ok(Unfinished {
                    seq: r.get::<_, i64>(0)? as u64,
                    payload: r.get(1)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Whether `key` was journaled (for tests and tools).
    pub fn journaled(&self, key: &str) -> Result<bool, OutboxError> {
        self.inner.shared.queue.with_conn(|conn| {
            conn.prepare_cached("SELECT 1 FROM inbox WHERE key = ?1")?
                .query_row([key], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
        })
    }
}
