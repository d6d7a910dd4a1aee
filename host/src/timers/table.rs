//! The `timers` table: durable plugin timers. The scheduling logic (waking
//! up, delivering, retrying) is [`crate::timers::TimerService`];
//! this module only stores rows.

use rusqlite::{Row, params};

use crate::abi::{Chat, ChatKind};
use crate::store::{Store, StoreError};

/// Schema of the `timers` table, one entry per version. `AUTOINCREMENT`
/// keeps ids unique across restarts, so a plugin never confuses an old id
/// with a new timer.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE timers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        plugin TEXT NOT NULL,
        due_ms INTEGER NOT NULL,
        payload TEXT NOT NULL,
        chat_kind TEXT,
        chat_id INTEGER,
        created_ms INTEGER NOT NULL
    );
    CREATE INDEX timers_plugin ON timers (plugin);",
    // v2: the account the timer was scheduled on (NULL: the default one).
    "ALTER TABLE timers ADD COLUMN account TEXT;",
];

/// One pending timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerRow {
    /// The id given to the plugin.
    pub id: u64,
    /// The plugin that scheduled it.
    pub plugin: String,
    /// When it is due, unix milliseconds.
    pub due_ms: u64,
    /// The plugin's payload.
    pub payload: String,
    /// The chat current when it was scheduled, if any.
    pub chat: Option<Chat>,
    /// The account current when it was scheduled (see [`crate::account`]).
    pub account: String,
}

/// The `timers` table of the host's database.
#[derive(Clone, Debug)]
pub struct TimerTable {
    store: Store,
}

fn row(r: &Row<'_>) -> rusqlite::Result<TimerRow> {
    let kind: Option<String> = r.get(4)?;
    let chat_id: Option<i64> = r.get(5)?;
    let chat = match (
        kind.as_deref().and_then(|k| k.parse::<ChatKind>().ok()),
        chat_id,
    ) {
        (Some(kind), Some(id)) => Some(Chat {
            kind,
            id: id as u64,
        }),
        _ => None,
    };
    Ok(TimerRow {
        id: r.get::<_, i64>(0)? as u64,
        plugin: r.get(1)?,
        due_ms: r.get::<_, i64>(2)?.max(0) as u64,
        payload: r.get(3)?,
        chat,
        account: r
            .get::<_, Option<String>>(6)?
            .unwrap_or_else(|| crate::account::DEFAULT_ACCOUNT.to_string()),
    })
}

impl TimerTable {
    /// Create the `timers` table if needed.
    pub fn new(store: &Store) -> Result<TimerTable, StoreError> {
        store.migrate("timers", MIGRATIONS)?;
        Ok(TimerTable {
            store: store.clone(),
        })
    }

    /// Store a new timer and return its id. `due_ms` must fit in an `i64`.
    pub fn insert(
        &self,
        plugin: &str,
        due_ms: u64,
        payload: &str,
        chat: Option<Chat>,
        account: &str,
        now_ms: u64,
    ) -> Result<u64, StoreError> {
        self.store.with(|c| {
            c.execute(
                "INSERT INTO timers (plugin, due_ms, payload, chat_kind, chat_id, created_ms, account)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    plugin,
                    due_ms as i64,
                    payload,
                    chat.map(|c| c.kind.name()),
                    chat.map(|c| c.id as i64),
                    now_ms as i64,
                    account
                ],
            )?;
            Ok(c.last_insert_rowid() as u64)
        })
    }

    /// Remove a timer; whether it was there.
    pub fn delete(&self, id: u64) -> Result<bool, StoreError> {
        self.store
            .with(|c| c.execute("DELETE FROM timers WHERE id = ?1", [id as i64]))
            .map(|n| n > 0)
    }

    /// Every pending timer, earliest first.
    pub fn all(&self) -> Result<Vec<TimerRow>, StoreError> {
        self.store.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, plugin, due_ms, payload, chat_kind, chat_id, account FROM timers
                 ORDER BY due_ms, id",
            )?;
            stmt.query_map([], row)?.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_ids_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let chat = Chat {
            kind: ChatKind::Group,
            id: u64::MAX - 1,
        };
        let first = {
            let t = TimerTable::new(&Store::open(&path).unwrap()).unwrap();
            let a = t.insert("p", 20, "later", None, "main", 1).unwrap();
            let b = t.insert("p", 10, "sooner", Some(chat), "main", 1).unwrap();
            assert!(t.delete(b).unwrap());
            assert!(!t.delete(b).unwrap());
            let c = t
                .insert("q", 10, "sooner", Some(chat), "second", 1)
                .unwrap();
            assert_eq!(
                t.all().unwrap(),
                vec![
                    TimerRow {
                        id: c,
                        plugin: "q".into(),
                        due_ms: 10,
                        payload: "sooner".into(),
                        chat: Some(chat),
                        account: "second".into(),
                    },
                    TimerRow {
                        id: a,
                        plugin: "p".into(),
                        due_ms: 20,
                        payload: "later".into(),
                        chat: None,
                        account: "main".into(),
                    },
                ]
            );
            t.delete(c).unwrap();
            c
        };
        let t = TimerTable::new(&Store::open(&path).unwrap()).unwrap();
        assert_eq!(t.all().unwrap().len(), 1);
        assert!(t.insert("p", 1, "", None, "main", 1).unwrap() > first);
    }
}
