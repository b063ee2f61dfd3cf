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
//! reads in flight to the number of connections: a permit holder finds an
//! idle connection in the vector, or opens one when fewer than the pool's
//! size exist yet.
//!
//! Connections are opened on demand, not all at start: each one holds
//! SQLite's per-connection memory (its allocation slots and, once used, its
//! parsed schema), about 140 KiB with the schema of this store, so an idle
//! server with four readers held about 0.4 MiB for connections it had not
//! needed yet (BENCHMARKS.md, idle RSS). The first one is opened at start,
//! so a database that cannot be read fails there.

use crate::db::{closed, lock, Db};
use rusqlite::Connection;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use threadsync_storage::{StorageError, StorageResult};
use tokio::sync::{oneshot, Semaphore};

/// A read for a reader thread; it answers on its own channel.
type ReadJob = Box<dyn FnOnce() + Send + 'static>;

/// Opens one more reader connection, set up like the others.
pub(crate) type Opener = Arc<dyn Fn() -> StorageResult<Connection> + Send + Sync>;

pub(crate) struct Readers {
    idle: Arc<Mutex<Vec<Connection>>>,
    open: Opener,
    permits: Arc<Semaphore>,
    size: u32,
    /// `None` once shut down.
    jobs: Mutex<Option<mpsc::Sender<ReadJob>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Readers {
    /// A pool of `size` connections (at least one) and its threads, one per
    /// connection: a permit holder always finds an idle thread, and an idle
    /// connection or room for one more. The first connection is opened now.
    pub(crate) fn new(size: usize, open: Opener) -> StorageResult<Readers> {
        let size = size.max(1);
        let first = open()?;
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
            idle: Arc::new(Mutex::new(vec![first])),
            open,
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
        let (idle, open) = (Arc::clone(&self.idle), Arc::clone(&self.open));
        let (answer, answered) = oneshot::channel();
        // The permit and the connection move into the job and are given
        // back there, not here: if the caller's future is dropped mid-read,
        // the job still returns the connection before releasing the permit.
        let job: ReadJob = Box::new(move || {
            let result = on_idle(&idle, &open, |conn| snapshot(conn, read));
            // The permit goes after the connection is back, and before the
            // answer, so a caller that has its answer never sees its read
            // still counted in flight.
            drop(permit);
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
        on_idle(&self.idle, &self.open, |conn| read(conn))
    }

    /// Reads in flight and the pool's size.
    pub(crate) fn stats(&self) -> (u32, u32) {
        let available = u32::try_from(self.permits.available_permits()).unwrap_or(0);
        (self.size.saturating_sub(available), self.size)
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

/// Runs `read` on a connection taken from `idle`, or on a new one when none
/// is idle, and gives it back to `idle`, also when `read` panics. Callers
/// hold a permit, so at most as many connections as permits ever exist:
/// when none is idle, every existing one is held by another permit holder.
fn on_idle<T>(
    idle: &Mutex<Vec<Connection>>,
    open: &Opener,
    read: impl FnOnce(&mut Connection) -> StorageResult<T>,
) -> StorageResult<T> {
    // The guard of this statement ends with it: `read` (and opening a
    // connection) run unlocked.
    let taken = lock(idle).pop();
    let mut conn = match taken {
        Some(conn) => conn,
        None => open()?,
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A pool over an in-memory database that counts the connections it opens.
    fn counted(size: usize) -> (Readers, Arc<AtomicUsize>) {
        let opened = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&opened);
        let open: Opener = Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Connection::open_in_memory().db()
        });
        (Readers::new(size, open).expect("pool"), opened)
    }

    /// One connection at start; more only while reads overlap, never more
    /// than the pool's size, and each opened one is reused afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn connections_are_opened_on_demand_up_to_the_size() {
        let (readers, opened) = counted(3);
        assert_eq!(opened.load(Ordering::SeqCst), 1, "the first connection is opened at start");
        for _ in 0..20 {
            readers
                .execute(|conn| conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).db())
                .await
                .expect("read");
            readers
                .execute_point(|conn| conn.query_row("SELECT 2", [], |r| r.get::<_, i64>(0)).db())
                .await
                .expect("point");
        }
        assert_eq!(opened.load(Ordering::SeqCst), 1, "reads one at a time share one connection");

        let readers = Arc::new(readers);
        // Reads that only finish three at a time: three must be in flight at
        // once, each on a connection of its own.
        let together = Arc::new(std::sync::Barrier::new(3));
        let reads: Vec<_> = (0..12)
            .map(|_| {
                let (readers, together) = (Arc::clone(&readers), Arc::clone(&together));
                tokio::spawn(async move {
                    readers
                        .execute(move |_| {
                            together.wait();
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        for read in reads {
            read.await.expect("task").expect("read");
        }
        assert_eq!(opened.load(Ordering::SeqCst), 3, "overlapping reads open up to the size, no more");
        assert_eq!(lock(&readers.idle).len(), 3, "every connection is back");
        assert_eq!(readers.stats(), (0, 3));
        readers.shutdown().await;
    }

    /// A connection that cannot be opened fails that read alone; the pool
    /// keeps serving with the connections it has.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_open_fails_only_its_read() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&attempts);
        let open: Opener = Arc::new(move || {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                Connection::open_in_memory().db()
            } else {
                Err(StorageError::Backend("cannot open".to_owned()))
            }
        });
        let readers = Arc::new(Readers::new(2, open).expect("pool"));
        // The first read holds the only connection until told to finish.
        let (started, has_started) = std::sync::mpsc::channel::<()>();
        let (finish, may_finish) = std::sync::mpsc::channel::<()>();
        let slow = {
            let readers = Arc::clone(&readers);
            tokio::spawn(async move {
                readers
                    .execute(move |_| {
                        started.send(()).expect("started");
                        may_finish.recv().expect("finish");
                        Ok(())
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || has_started.recv())
            .await
            .expect("join")
            .expect("the read started");
        let second = readers.execute_point(|_| Ok(())).await;
        finish.send(()).expect("finish");
        assert_eq!(second, Err(StorageError::Backend("cannot open".to_owned())));
        slow.await.expect("task").expect("the first read");
        readers.execute_point(|_| Ok(())).await.expect("the first connection still serves");
        assert_eq!(readers.stats(), (0, 2));
        readers.shutdown().await;
    }
}
