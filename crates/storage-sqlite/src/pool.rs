//! The readers: a fixed pool of read-only connections.
//!
//! In WAL mode a reader sees the last committed state as of the start of its
//! transaction and is never blocked by the writer (nor blocks it), so reads
//! scale with the pool while the single writer (writer.rs) keeps writing.
//! SQLite calls block, so reads that may scan (pages, feeds, listings) run
//! on tokio's blocking pool ([`Readers::execute`]); single-row lookups by a
//! unique index run on the calling task ([`Readers::execute_point`]): they
//! cost a few microseconds on a warm cache, less than the hand-off to a
//! blocking thread and back, which profiles of the hot sync path showed
//! as the largest cost of a request that makes four such lookups (token,
//! thread, room, horizon) before its feed query. The semaphore bounds the
//! reads in flight to the number of connections, which guarantees a permit
//! holder finds an idle connection in the vector.

use crate::db::{closed, lock, Db};
use rusqlite::Connection;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use threadsync_storage::{StorageError, StorageResult};
use tokio::sync::Semaphore;

pub(crate) struct Readers {
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
    size: u32,
}

impl Readers {
    pub(crate) fn new(connections: Vec<Connection>) -> Readers {
        let size = connections.len();
        Readers {
            idle: Arc::new(Mutex::new(connections)),
            permits: Arc::new(Semaphore::new(size)),
            size: u32::try_from(size).unwrap_or(u32::MAX),
        }
    }

    /// Runs `read` on an idle connection, inside one read transaction so that
    /// multi-statement reads (a page and its total) see a single snapshot.
    pub(crate) async fn execute<T, F>(&self, read: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits).acquire_owned().await.map_err(|_| closed())?;
        let idle = Arc::clone(&self.idle);
        // The permit and the connection move into the blocking task and are
        // given back there, not here: if the caller's future is dropped
        // mid-read, the task still returns the connection before releasing
        // the permit.
        tokio::task::spawn_blocking(move || {
            let _permit = permit; // dropped last, after the connection is back
            let mut conn =
                lock(&idle).pop().ok_or_else(|| StorageError::Backend("no idle sqlite reader".to_owned()))?;
            let result = panic::catch_unwind(AssertUnwindSafe(|| snapshot(&mut conn, read)));
            lock(&idle).push(conn);
            result.unwrap_or_else(|_| Err(StorageError::Backend("a sqlite read panicked".to_owned())))
        })
        .await
        .map_err(|e| StorageError::Backend(format!("sqlite read task failed: {e}")))?
    }

    /// Runs a single-statement lookup by a unique index on the calling
    /// thread (see the module docs for why). A single statement reads one
    /// consistent snapshot by itself, so no explicit transaction is opened.
    /// There is no `.await` between taking the connection and giving it
    /// back, so a dropped caller cannot lose it.
    pub(crate) async fn execute_point<T, F>(&self, read: F) -> StorageResult<T>
    where
        F: FnOnce(&Connection) -> StorageResult<T>,
    {
        let _permit = self.permits.acquire().await.map_err(|_| closed())?;
        let conn = lock(&self.idle)
            .pop()
            .ok_or_else(|| StorageError::Backend("no idle sqlite reader".to_owned()))?;
        let result = panic::catch_unwind(AssertUnwindSafe(|| read(&conn)));
        lock(&self.idle).push(conn);
        result.unwrap_or_else(|_| Err(StorageError::Backend("a sqlite read panicked".to_owned())))
    }

    /// Reader connections in use and in all.
    pub(crate) fn stats(&self) -> (u32, u32) {
        let idle = u32::try_from(lock(&self.idle).len()).unwrap_or(0);
        (self.size.saturating_sub(idle), self.size)
    }

    /// Waits for the reads in flight, refuses new ones and closes the
    /// connections (so none holds a snapshot that would block the final
    /// checkpoint). Idempotent.
    pub(crate) async fn shutdown(&self) {
        if let Ok(all) = self.permits.acquire_many(self.size).await {
            all.forget();
        }
        self.permits.close();
        let connections = std::mem::take(&mut *lock(&self.idle));
        for conn in connections {
            if let Err((_, e)) = conn.close() {
                tracing::warn!("closing a sqlite reader failed: {e}");
            }
        }
    }
}

fn snapshot<T>(
    conn: &mut Connection,
    read: impl FnOnce(&Connection) -> StorageResult<T>,
) -> StorageResult<T> {
    let tx = conn.transaction().db()?;
    let result = read(&tx);
    // Nothing was written (the connection is read-only); ending the
    // transaction releases the snapshot so checkpoints can proceed.
    if let Err(e) = tx.rollback() {
        tracing::warn!("ending a sqlite read transaction failed: {e}");
    }
    result
}
