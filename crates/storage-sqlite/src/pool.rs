//! The readers: a fixed pool of read-only connections.
//!
//! In WAL mode a reader sees the last committed state as of the start of its
//! transaction and is never blocked by the writer (nor blocks it), so reads
//! scale with the pool while the single writer (writer.rs) keeps writing.
//! SQLite calls block, so reads that may scan (pages, feeds, listings) run
//! on the pool's own threads, one per connection ([`Readers::execute`]),
//! not on tokio's blocking pool: that pool grew to 50-80 threads under
//! load, and glibc's allocator keeps freed memory per thread arena, so a
//! page of 1,000 messages decoded on ever new threads left RSS tens of
//! megabytes above the live data (BENCHMARKS.md, `s2`). Single-row lookups by a
//! unique index run on the calling task ([`Readers::execute_point`]): they
//! cost a few microseconds on a warm cache, less than the hand-off to a
//! reader thread and back, which profiles of the hot sync path showed
//! as the largest cost of a request that makes four such lookups (token,
//! thread, room, horizon) before its feed query. The semaphore bounds the
//! reads in flight to the number of connections, which guarantees a permit
//! holder finds an idle connection in the vector.

use crate::db::{closed, lock, Db};
use rusqlite::Connection;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use threadsync_storage::{StorageError, StorageResult};
use tokio::sync::{oneshot, Semaphore};

/// A read for a reader thread; it answers on its own channel.
type ReadJob = Box<dyn FnOnce() + Send + 'static>;

pub(crate) struct Readers {
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
    size: u32,
    /// `None` once shut down.
    jobs: Mutex<Option<mpsc::Sender<ReadJob>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Readers {
    /// The pool and its threads, one per connection: a permit holder always
    /// finds both an idle connection and an idle thread.
    pub(crate) fn new(connections: Vec<Connection>) -> StorageResult<Readers> {
        let size = connections.len();
        let (sender, receiver) = mpsc::channel::<ReadJob>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut threads = Vec::with_capacity(size);
        for i in 0..size {
            let receiver = Arc::clone(&receiver);
            let thread = std::thread::Builder::new()
                .name(format!("threadsync-sqlite-reader-{i}"))
                .spawn(move || loop {
                    // The lock is held only to take the next job.
                    let job = lock(&receiver).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => break, // the pool shut down
                    }
                })
                .map_err(|e| StorageError::Backend(format!("cannot start a sqlite reader thread: {e}")))?;
            threads.push(thread);
        }
        Ok(Readers {
            idle: Arc::new(Mutex::new(connections)),
            permits: Arc::new(Semaphore::new(size)),
            size: u32::try_from(size).unwrap_or(u32::MAX),
            jobs: Mutex::new(Some(sender)),
            threads: Mutex::new(threads),
        })
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
        let (answer, answered) = oneshot::channel();
        // The permit and the connection move into the job and are given
        // back there, not here: if the caller's future is dropped mid-read,
        // the job still returns the connection before releasing the permit.
        let job: ReadJob = Box::new(move || {
            // The permit is dropped last, after the connection is back.
            let _permit = permit;
            let result = on_idle(&idle, |conn| snapshot(conn, read));
            // The caller may have gone away; nothing to undo for a read.
            let _ = answer.send(result);
        });
        lock(&self.jobs).as_ref().ok_or_else(closed)?.send(job).map_err(|_| closed())?;
        answered.await.map_err(|_| StorageError::Backend("a sqlite reader thread stopped".to_owned()))?
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
        on_idle(&self.idle, |conn| read(conn))
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
        // Closing the queue ends the threads (no job is running: every
        // permit is held here).
        drop(lock(&self.jobs).take());
        let threads = std::mem::take(&mut *lock(&self.threads));
        for thread in threads {
            if tokio::task::spawn_blocking(move || thread.join()).await.is_err() {
                tracing::warn!("waiting for a sqlite reader thread failed");
            }
        }
    }
}

/// Runs `read` on a connection taken from `idle` and gives it back, also
/// when `read` panics. Callers hold a permit, so one is idle.
fn on_idle<T>(
    idle: &Mutex<Vec<Connection>>,
    read: impl FnOnce(&mut Connection) -> StorageResult<T>,
) -> StorageResult<T> {
    // The guard of this statement ends with it: `read` runs unlocked.
    let mut conn =
        lock(idle).pop().ok_or_else(|| StorageError::Backend("no idle sqlite reader".to_owned()))?;
    let result = panic::catch_unwind(AssertUnwindSafe(|| read(&mut conn)));
    lock(idle).push(conn);
    result.unwrap_or_else(|_| Err(StorageError::Backend("a sqlite read panicked".to_owned())))
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
