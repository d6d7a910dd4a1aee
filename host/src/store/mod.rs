//! Persistence: one SQLite database file for everything the host keeps
//! across restarts, each table owned by its module — plugin key-value data
//! ([`crate::capabilities::kv::SqliteKv`]), durable timers
//! ([`crate::timers::TimerTable`]), the outbox and the inbound journal.
//!
//! # One file, one connection
//!
//! [`Store::open`] opens (or creates) the database in WAL mode with
//! `synchronous = NORMAL`: readers never wait for the writer and a commit
//! costs no fsync until a checkpoint. The store holds one connection behind a
//! mutex; every query is short (single-row reads and writes, or a scan of one
//! plugin's rows), so holding it briefly is cheap.
//!
//! SQLite calls block. Async code must not run them on a runtime thread:
//! use [`Store::run`], which moves the closure to tokio's blocking pool. The
//! synchronous [`Store::with`] is for code already off the async threads
//! (start-up, `spawn_blocking` bodies, tests).
//!
//! # Tables of other modules
//!
//! Each module owns its tables and their schema. It declares its migrations
//! as a list of SQL batches and applies them once, when it is set up:
//!
//! ```no_run
//! # fn f(store: &wasmqq::store::Store) -> Result<(), wasmqq::store::StoreError> {
//! const OUTBOX: &[&str] = &[
//!     // version 1
//!     "CREATE TABLE outbox (id INTEGER PRIMARY KEY, chat TEXT NOT NULL, body TEXT NOT NULL)",
//!     // version 2 (appended later; never edit a released step)
//!     "ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
//! ];
//! store.migrate("outbox", OUTBOX)?;
//! let pending: i64 = store.with(|c| c.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0)))?;
//! # Ok(()) }
//! ```
//!
//! [`Store::migrate`] records each module's schema version in the
//! `schema_version` table and runs the missing steps in one transaction, so a
//! database written by an older host is brought up to date and one written by
//! a newer host (a version above the steps known) is refused by name.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

/// How long a statement waits for a lock held by another connection (another
/// process on the same file) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the store failed. Messages name the database file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or set up.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The database file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A migration step failed or the file is newer than this host.
    #[error("database {path}: migrating \"{component}\" to version {version}: {message}")]
    Migrate {
        /// The database file.
        path: String,
        /// The module whose tables were being migrated.
        component: String,
        /// The version being applied.
        version: usize,
        /// What went wrong.
        message: String,
    },
    /// A query failed.
    #[error("database {path}: {source}")]
    Query {
        /// The database file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A blocking task running a query panicked or was cancelled.
    #[error("database {path}: background query failed: {message}")]
    Task {
        /// The database file.
        path: String,
        /// The join error.
        message: String,
    },
}

/// The host's database: cheap to clone, shared by every module that persists
/// something. See the [module docs](self).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    /// For messages: the file path, or `:memory:`.
    name: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.name)
            .finish()
    }
}

impl Store {
    /// Open or create the database at `path` (its folder must exist), in WAL
    /// mode, and create the `schema_version` table. Fails if the file is not
    /// a SQLite database or cannot be written.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let open_err = |source| StoreError::Open {
            path: name.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %name, "database is in {mode} journal mode, not WAL");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        Self::setup(conn, name)
    }

    /// A private in-memory database (tests, `plugin try`); gone when the
    /// last clone is dropped.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let name = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        Self::setup(conn, name)
    }

    fn setup(conn: Connection, name: String) -> Result<Store, StoreError> {
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE IF NOT EXISTS schema_version (
                 component TEXT PRIMARY KEY NOT NULL,
                 version INTEGER NOT NULL
             );",
        )
        .map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        Ok(Store {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                name,
            }),
        })
    }

    /// The database file (`:memory:` for an in-memory store).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Bring `component`'s tables to the latest version: `steps[i]` is the SQL
    /// (one or more statements) taking the schema from version `i` to `i + 1`.
    /// Steps already applied are skipped; the missing ones run in one
    /// transaction. Steps are append-only: never edit one that was released.
    ///
    /// Fails if a step fails (nothing is applied) or if the database records
    /// a version above `steps.len()` (written by a newer host).
    pub fn migrate(&self, component: &str, steps: &[&str]) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let fail = |version: usize, message: String| StoreError::Migrate {
            path: self.inner.name.clone(),
            component: component.to_string(),
            version,
            message,
        };
        let tx = conn
            .transaction()
            .map_err(|e| fail(0, format!("cannot start a transaction: {e}")))?;
        let current: usize = tx
            .query_row(
                "SELECT version FROM schema_version WHERE component = ?1",
                [component],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map_err(|e| fail(0, format!("cannot read the schema version: {e}")))?
            .unwrap_or(0)
            .try_into()
            .unwrap_or(0);
        if current > steps.len() {
            return Err(fail(
                current,
                format!(
                    "the database is at version {current} but this host knows only {}; \
                     it was written by a newer wasmqq",
                    steps.len()
                ),
            ));
        }
        if current == steps.len() {
            return Ok(());
        }
        for (i, step) in steps.iter().enumerate().skip(current) {
            tx.execute_batch(step)
                .map_err(|e| fail(i + 1, e.to_string()))?;
        }
        tx.execute(
            "INSERT INTO schema_version (component, version) VALUES (?1, ?2)
             ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            rusqlite::params![component, steps.len() as i64],
        )
        .map_err(|e| fail(steps.len(), e.to_string()))?;
        tx.commit()
            .map_err(|e| fail(steps.len(), format!("commit: {e}")))?;
        tracing::debug!(
            path = %self.inner.name,
            component,
            from = current,
            to = steps.len(),
            "database migrated"
        );
        Ok(())
    }

    /// The schema version recorded for `component` (0 if none).
    pub fn schema_version(&self, component: &str) -> Result<usize, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT version FROM schema_version WHERE component = ?1",
                [component],
                |r| r.get::<_, i64>(0),
            )
            .optional()
        })
        .map(|v| v.unwrap_or(0).try_into().unwrap_or(0))
    }

    /// Run `f` on the connection, blocking the current thread (for
    /// synchronous code; async code uses [`Store::run`]). Errors are wrapped
    /// with the database's name.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        f(&mut conn).map_err(|source| self.query_error(source))
    }

    /// Run `f` on the connection in tokio's blocking pool and wait for it
    /// without blocking the async runtime.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.with(f))
            .await
            .map_err(|e| StoreError::Task {
                path: self.inner.name.clone(),
                message: e.to_string(),
            })?
    }

    /// Wrap a SQLite error with the database's name.
    pub fn query_error(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Query {
            path: self.inner.name.clone(),
            source,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.inner.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A path for the database inside a data folder: `<dir>/wasmqq.db`.
pub fn default_path(data_dir: &Path) -> PathBuf {
    data_dir.join("wasmqq.db")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let steps = &[
            "CREATE TABLE t (a INTEGER)",
            "ALTER TABLE t ADD COLUMN b TEXT",
        ];
        {
            let store = Store::open(&path).unwrap();
            store.migrate("t", &steps[..1]).unwrap();
            assert_eq!(store.schema_version("t").unwrap(), 1);
            store.migrate("t", steps).unwrap();
            store.migrate("t", steps).unwrap();
            assert_eq!(store.schema_version("t").unwrap(), 2);
            store
                .with(|c| c.execute("INSERT INTO t (a, b) VALUES (1, 'x')", []))
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        store.migrate("t", steps).unwrap();
        let n: i64 = store
            .with(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(n, 1);
        let journal: String = store
            .with(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(journal.to_lowercase(), "wal");
    }

    #[test]
    fn a_newer_database_is_refused_and_a_failed_step_applies_nothing() {
        let store = Store::open_in_memory().unwrap();
        store
            .migrate("t", &["CREATE TABLE t (a INTEGER)"; 1])
            .unwrap();
        let err = store.migrate("t", &[]).unwrap_err().to_string();
        assert!(err.contains("newer wasmqq"), "{err}");
        let err = store
            .migrate(
                "t",
                &["CREATE TABLE t (a INTEGER)", "CREATE TABLE u (x); NOT SQL"],
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"t\" to version 2"), "{err}");
        assert_eq!(store.schema_version("t").unwrap(), 1);
        let exists: i64 = store
            .with(|c| {
                c.query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'u'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(exists, 0);
    }

    #[tokio::test]
    async fn run_moves_queries_off_the_runtime() {
        let store = Store::open_in_memory().unwrap();
        let v: i64 = store
            .run(|c| c.query_row("SELECT 41 + 1", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(v, 42);
    }
}
