//! The `kv` table: plugin key-value data, namespaced by plugin name, with a
//! per-plugin quota checked on every write.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{KvQuota, KvStore};
use crate::abi::HostError;
use crate::store::{Store, StoreError};

/// Schema of the `kv` table, one entry per version (see [`Store::migrate`]).
const MIGRATIONS: &[&str] = &["CREATE TABLE kv (
        plugin TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (plugin, key)
    ) WITHOUT ROWID"];

/// A [`KvStore`] in the host's SQLite database. Data survives restarts; each
/// plugin sees only its own keys. Calls block briefly on the store's
/// connection: the host interface runs them on the blocking pool.
#[derive(Clone, Debug)]
pub struct SqliteKv {
    store: Store,
}

impl SqliteKv {
    /// Create the `kv` table if needed. Fails if the database cannot be
    /// migrated.
    pub fn new(store: &Store) -> Result<SqliteKv, StoreError> {
        store.migrate("kv", MIGRATIONS)?;
        Ok(SqliteKv {
            store: store.clone(),
        })
    }

    /// How much `plugin` stores: (keys, bytes of keys and values).
    pub fn usage(&self, plugin: &str) -> Result<(u64, u64), StoreError> {
        self.store.with(|c| usage(c, plugin, None))
    }

    fn failed(&self, plugin: &str, op: &str, e: StoreError) -> HostError {
        tracing::error!(plugin, "key-value {op} failed: {e}");
        HostError::Unavailable(format!("key-value storage failed during {op}"))
    }
}

/// Keys and bytes used by `plugin`, not counting `except`.
fn usage(
    conn: &rusqlite::Connection,
    plugin: &str,
    except: Option<&str>,
) -> rusqlite::Result<(u64, u64)> {
    conn.query_row(
        "SELECT count(*), coalesce(sum(length(CAST(key AS BLOB)) + length(value)), 0)
         FROM kv WHERE plugin = ?1 AND key IS NOT ?2",
        params![plugin, except],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
}

enum SetOutcome {
    Stored,
    Over(String),
}

impl KvStore for SqliteKv {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        self.store
            .with(|c| {
                c.query_row(
                    "SELECT value FROM kv WHERE plugin = ?1 AND key = ?2",
                    params![plugin, key],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(|e| self.failed(plugin, "get", e))
    }

    fn set(&self, plugin: &str, key: &str, value: &[u8], quota: KvQuota) -> Result<(), HostError> {
        let outcome = self
            .store
            .with(|c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let (keys, bytes) = usage(&tx, plugin, Some(key))?;
                if let Some(over) = quota.check(keys + 1, bytes + (key.len() + value.len()) as u64)
                {
                    return Ok(SetOutcome::Over(over));
                }
                tx.execute(
                    "INSERT INTO kv (plugin, key, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value",
                    params![plugin, key, value],
                )?;
                tx.commit()?;
                Ok(SetOutcome::Stored)
            })
            .map_err(|e| self.failed(plugin, "set", e))?;
        match outcome {
            SetOutcome::Stored => Ok(()),
            SetOutcome::Over(why) => Err(HostError::QuotaExceeded(why)),
        }
    }

    fn delete(&self, plugin: &str, key: &str) -> Result<bool, HostError> {
        self.store
            .with(|c| {
                c.execute(
                    "DELETE FROM kv WHERE plugin = ?1 AND key = ?2",
                    params![plugin, key],
                )
            })
            .map(|n| n > 0)
            .map_err(|e| self.failed(plugin, "delete", e))
    }

    fn keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, HostError> {
        self.store
            .with(|c| {
                // Keys compare as bytes (BINARY collation), so the keys with
                // the prefix form one run starting at the prefix itself.
                let mut stmt = c.prepare_cached(
                    "SELECT key FROM kv WHERE plugin = ?1 AND key >= ?2 ORDER BY key",
                )?;
                let mut rows = stmt.query(params![plugin, prefix])?;
                let mut keys = Vec::new();
                while let Some(row) = rows.next()? {
                    let key: String = row.get(0)?;
                    if !key.starts_with(prefix) {
                        break;
                    }
                    keys.push(key);
                }
                Ok(keys)
            })
            .map_err(|e| self.failed(plugin, "keys", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv() -> SqliteKv {
        SqliteKv::new(&Store::open_in_memory().unwrap()).unwrap()
    }

    #[test]
    fn namespaced_round_trip_and_prefix_listing() {
        let kv = kv();
        let q = KvQuota::default();
        kv.set("a", "x/1", b"one", q).unwrap();
        kv.set("a", "x/2", b"two", q).unwrap();
        kv.set("a", "y", b"why", q).unwrap();
        kv.set("b", "x/3", b"other plugin", q).unwrap();
        assert_eq!(kv.get("a", "x/1").unwrap(), Some(b"one".to_vec()));
        assert_eq!(kv.get("b", "x/1").unwrap(), None);
        assert_eq!(kv.keys("a", "x/").unwrap(), vec!["x/1", "x/2"]);
        assert_eq!(kv.keys("a", "").unwrap(), vec!["x/1", "x/2", "y"]);
        assert!(kv.delete("a", "x/1").unwrap());
        assert!(!kv.delete("a", "x/1").unwrap());
        assert_eq!(kv.usage("a").unwrap(), (2, 3 + 3 + 1 + 3));
    }

    #[test]
    fn quota_counts_keys_and_bytes_and_replacing_is_not_double_counted() {
        let kv = kv();
        let q = KvQuota {
            max_keys: 2,
            max_bytes: 20,
        };
        kv.set("p", "a", &[0; 9], q).unwrap(); // 10 bytes
        kv.set("p", "a", &[0; 9], q).unwrap(); // replaced, still 10
        kv.set("p", "b", &[0; 9], q).unwrap(); // 20 bytes, 2 keys
        match kv.set("p", "c", b"", q) {
            Err(HostError::QuotaExceeded(why)) => assert!(why.contains("2 keys"), "{why}"),
            other => panic!("{other:?}"),
        }
        match kv.set("p", "b", &[0; 10], q) {
            Err(HostError::QuotaExceeded(why)) => assert!(why.contains("20 bytes"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(kv.get("p", "b").unwrap(), Some(vec![0; 9]));
    }
}
