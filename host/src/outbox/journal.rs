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
//! server delivers twice. Their keys are not indexed in the file (an
//! index would be one more page written per message): [`JournalKeys`]
//! holds a hash of each in memory, loaded at open, and a key whose hash
//! was seen is confirmed against the file.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use rusqlite::{Connection, OptionalExtension, params};

use super::queue::Db;
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

/// The journal's keys in memory, as hashes (8 bytes a key, ≈ 200 KB at
/// [`KEEP_DONE`]), with how many entries have each hash. A hash seen
/// means "maybe a duplicate": the file decides. A hash not seen means the
/// key is not in the file, since every entry's hash is here.
#[derive(Debug)]
pub(crate) struct JournalKeys {
    hasher: RandomState,
    counts: HashMap<u64, u32>,
}

impl JournalKeys {
    /// The hashes of every key in the file.
    pub(crate) fn load(conn: &Connection) -> rusqlite::Result<JournalKeys> {
        let mut keys = JournalKeys {
            hasher: RandomState::new(),
            counts: HashMap::new(),
        };
        let mut stmt = conn.prepare("SELECT key FROM inbox")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            keys.add(row.get_ref(0)?.as_str()?);
        }
        Ok(keys)
    }

    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    fn add(&mut self, key: &str) {
        *self.counts.entry(self.hash(key)).or_default() += 1;
    }

    fn remove(&mut self, key: &str) {
        let hash = self.hash(key);
        if let Some(n) = self.counts.get_mut(&hash) {
            *n -= 1;
            if *n == 0 {
                self.counts.remove(&hash);
            }
        }
    }

    /// Whether `key` is in the journal (the file is asked only when its
    /// hash was seen).
    fn contains(&self, conn: &Connection, key: &str) -> rusqlite::Result<bool> {
        if !self.counts.contains_key(&self.hash(key)) {
            return Ok(false);
        }
        conn.prepare_cached("SELECT 1 FROM inbox WHERE key = ?1 LIMIT 1")?
            .query_row([key], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
    }
}

pub(crate) fn mark_done(conn: &Connection, seq: u64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE inbox SET done = 1 WHERE seq = ?1")?
        .execute([seq as i64])?;
    Ok(())
}

/// Journals `payload` under `key` unless the key is there (see
/// [`Outbox::journal`]); prunes old done entries every 1024th.
pub(crate) fn insert(db: &mut Db, key: &str, payload: &str) -> rusqlite::Result<Option<u64>> {
    if db.keys.contains(&db.conn, key)? {
        return Ok(None);
    }
    let conn = &db.conn;
    conn.prepare_cached("INSERT INTO inbox (key, payload, received_at) VALUES (?1, ?2, ?3)")?
        .execute(params![key, payload, unix_ms() as i64])?;
    let seq = conn.last_insert_rowid();
    db.keys.add(key);
    if seq % 1024 == 0 {
        let pruned = conn
            .prepare_cached("DELETE FROM inbox WHERE done = 1 AND seq <= ?1 RETURNING key")?
            .query_map([seq - KEEP_DONE], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for key in &pruned {
            db.keys.remove(key);
        }
    }
    Ok(Some(seq as u64))
}

impl Outbox {
    /// Journal a received message under `key` (unique per message, stable
    /// across restarts) with its encoded `payload`. Returns its sequence
    /// number, or `None` when the key was journaled before (a duplicate:
    /// do not dispatch it). On disk when this returns.
    pub fn journal(&self, key: &str, payload: &str) -> Result<Option<u64>, OutboxError> {
        self.inner
            .shared
            .queue
            .with_db(|db| insert(db, key, payload))
    }

    /// Mark a journaled message handled without replies.
    pub fn journal_done(&self, seq: u64) -> Result<(), OutboxError> {
        self.inner.shared.queue.with_db(|db| mark_done(db, seq))
    }

    /// The journaled messages not handled yet, oldest first.
    pub fn unfinished(&self) -> Result<Vec<Unfinished>, OutboxError> {
        self.inner.shared.queue.with_db(|db| {
            let mut stmt =
                db.prepare_cached("SELECT seq, payload FROM inbox WHERE done = 0 ORDER BY seq")?;
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
        self.inner
            .shared
            .queue
            .with_db(|db| db.keys.contains(&db.conn, key))
    }
}
