//! Connections shared by concurrent hot reads.
//!
//! A pooled connection serves one operation at a time: each hot sync takes
//! one, sends its single statement alone, and gives it back. tokio-postgres
//! can do better for statements that need no transaction: one `Client` used
//! by many tasks at once pipelines their statements on its connection, so
//! requests that arrive together leave in one `write(2)`, PostgreSQL's
//! backend reads them in one go and runs them back to back, and their answers
//! come back in one read. On a loaded machine that is fewer system calls and
//! fewer wake-ups per statement on both sides (measured in BENCHMARKS.md,
//! "Hot reads on shared connections").
//!
//! What may run here: a single statement outside any transaction (one
//! statement reads one snapshot, as on a pooled connection in autocommit)
//! whose cost is bounded by what it returns, because a statement queued
//! behind another on the same connection waits for it. The thread and room
//! change feeds without a client query qualify (sync.rs); anything that scans
//! (a client query, a deep offset), locks or writes stays on the pool.
//!
//! The connections open lazily, on first use of their slot, so an idle
//! server holds none; a connection that closed (the database restarted, the
//! network dropped it) is replaced on the next use of its slot, and the
//! statement that saw it close fails as it would have on the pool.

use crate::db::{err, Conn, Params};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use threadsync_storage::{StorageError, StorageResult};
use tokio_postgres::{Client, Row, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The shared connections of a store: a fixed number of slots, taken in
/// turn.
pub(crate) struct Readers {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    /// `host:port/dbname`, for logs.
    target: String,
    /// Each slot's connection once opened. The lock is held only to look at
    /// or replace the slot, never across an await.
    slots: Box<[Mutex<Option<Arc<Reader>>>]>,
    next: AtomicUsize,
}

/// One shared connection and the statements prepared on it.
pub(crate) struct Reader {
    client: Client,
    /// Static SQL only (the feed's texts), as in the pool's statement
    /// cache, so it cannot grow without bound. Two tasks that miss at once
    /// both prepare; one statement is kept, the other closed when dropped.
    statements: RwLock<HashMap<String, Statement>>,
}

impl Readers {
    /// `count` slots (at least one) connecting with the pool's settings.
    pub(crate) fn new(
        config: tokio_postgres::Config,
        tls: MakeRustlsConnect,
        target: String,
        count: usize,
    ) -> Self {
        let slots = (0..count.max(1)).map(|_| Mutex::new(None)).collect();
        Readers { config, tls, target, slots, next: AtomicUsize::new(0) }
    }

    /// The next slot's connection, opened (again) if it has none or its
    /// connection closed.
    pub(crate) async fn get(&self) -> StorageResult<Arc<Reader>> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        if let Some(reader) = lock(slot).as_ref().filter(|r| !r.client.is_closed()) {
            return Ok(Arc::clone(reader));
        }
        // Connect without the slot's lock held; tasks that find the slot
        // empty at once may each connect, and the first one stored wins.
        let (client, connection) = self.config.connect(self.tls.clone()).await.map_err(err)?;
        let target = self.target.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(target = %target, error = %e, "postgres shared read connection closed");
            }
        });
        let opened = Arc::new(Reader { client, statements: RwLock::new(HashMap::new()) });
        let mut guard = lock(slot);
        match guard.as_ref().filter(|r| !r.client.is_closed()) {
            Some(stored) => Ok(Arc::clone(stored)),
            None => {
                *guard = Some(Arc::clone(&opened));
                Ok(opened)
            }
        }
    }

    /// Connections currently open (for metrics).
    pub(crate) fn open(&self) -> usize {
        self.slots.iter().filter(|slot| lock(slot).as_ref().is_some_and(|r| !r.client.is_closed())).count()
    }

    /// The number of slots.
    pub(crate) fn size(&self) -> usize {
        self.slots.len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Reader {
    async fn prepared(&self, sql: &str) -> StorageResult<Statement> {
        if let Some(stmt) = self.statements.read().unwrap_or_else(PoisonError::into_inner).get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(sql).await.map_err(err)?;
        let mut statements = self.statements.write().unwrap_or_else(PoisonError::into_inner);
        Ok(statements.entry(sql.to_owned()).or_insert(stmt).clone())
    }
}

/// A shared connection runs single statements; a transaction's statements
/// (`batch`, used for `BEGIN` and the like) are refused, since another task's
/// statement could land inside it.
#[async_trait]
impl Conn for Reader {
    async fn rows(&self, sql: &str, params: Params<'_>) -> StorageResult<Vec<Row>> {
        let stmt = self.prepared(sql).await?;
        self.client.query(&stmt, params).await.map_err(err)
    }

    async fn rows_dyn(&self, sql: &str, params: Params<'_>) -> StorageResult<Vec<Row>> {
        self.client.query(sql, params).await.map_err(err)
    }

    async fn opt(&self, sql: &str, params: Params<'_>) -> StorageResult<Option<Row>> {
        let stmt = self.prepared(sql).await?;
        self.client.query_opt(&stmt, params).await.map_err(err)
    }

    async fn exec(&self, sql: &str, params: Params<'_>) -> StorageResult<u64> {
        let stmt = self.prepared(sql).await?;
        self.client.execute(&stmt, params).await.map_err(err)
    }

    async fn statement(&self, sql: &str) -> StorageResult<Statement> {
        self.prepared(sql).await
    }

    async fn query_prepared(&self, stmt: &Statement, params: Params<'_>) -> StorageResult<Vec<Row>> {
        self.client.query(stmt, params).await.map_err(err)
    }

    async fn batch(&self, _sql: &str) -> StorageResult<()> {
        Err(StorageError::Backend("postgres: a shared read connection runs no batches".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::database_url;
    use std::time::Duration;

    async fn backend_pid(reader: &Reader) -> i32 {
        reader.one("SELECT pg_backend_pid()", &[]).await.expect("pid").get(0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
    async fn connections_open_lazily_are_shared_and_replaced_once_closed() {
        let url = database_url();
        let mut config: tokio_postgres::Config = url.parse().expect("test URL");
        crate::tls::default_to_disable(&mut config, &url);
        let readers = Readers::new(
            config,
            crate::tls::connector(tokio_postgres::config::SslMode::Disable, None).expect("tls"),
            "test".into(),
            1,
        );
        assert_eq!((readers.open(), readers.size()), (0, 1), "nothing opened before the first read");

        let first = readers.get().await.expect("first connection");
        let pid = backend_pid(&first).await;
        let again = readers.get().await.expect("the slot again");
        assert!(Arc::ptr_eq(&first, &again), "one slot: every read shares its connection");
        assert_eq!(readers.open(), 1);
        assert!(first.batch("BEGIN").await.is_err(), "no transaction on a shared connection");

        // PostgreSQL ends the session (a restart, an administrator, a
        // network cut look the same to the client).
        let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("admin");
        tokio::spawn(connection);
        admin.execute("SELECT pg_terminate_backend($1)", &[&pid]).await.expect("terminate");
        for _ in 0..250 {
            if first.client.is_closed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(first.client.is_closed(), "the client sees its session end");
        assert_eq!(readers.open(), 0);
        assert!(first.rows("SELECT 1", &[]).await.is_err(), "a read on the closed connection is an error");

        let replaced = readers.get().await.expect("a new connection");
        assert!(!Arc::ptr_eq(&first, &replaced));
        assert_ne!(backend_pid(&replaced).await, pid, "a new session");
        assert_eq!(readers.open(), 1);
    }
}
