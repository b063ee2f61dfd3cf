//! The single writer: one connection, owned by one OS thread, fed by a queue.
//!
//! Why one writer: SQLite admits a single writer at a time. With several
//! writing connections, every write would race for the lock and some would
//! fail with `SQLITE_BUSY` (or sleep in the busy handler). Funnelling all
//! writes through one thread removes that contention entirely, and makes the
//! commit order exactly the submission order, which the room clock relies on
//! (clock.rs). Readers are unaffected: in WAL mode they read a consistent
//! snapshot while the writer appends to the log (pool.rs).
//!
//! Each job runs inside one `BEGIN IMMEDIATE` transaction (the write lock is
//! taken up front, so a transaction never fails half-way for lack of it) and
//! is committed or rolled back as a whole; the result travels back to the
//! async caller on a oneshot channel.
//!
//! A caller that stops waiting (its future dropped) does not cancel a job
//! already queued: the write still happens, only the answer is lost.

use crate::db::{closed, lock, Db};
use rusqlite::{Connection, TransactionBehavior};
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use threadsync_storage::{StorageError, StorageResult};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&mut Connection) + Send + 'static>;

pub(crate) struct Writer {
    /// `None` once shutdown began: no new jobs are accepted.
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer thread, which owns `conn` from now on.
    pub(crate) fn start(conn: Connection) -> StorageResult<Writer> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("threadsync-sqlite-writer".to_owned())
            .spawn(move || run(conn, receiver))
            .map_err(|e| StorageError::Backend(format!("cannot start the sqlite writer thread: {e}")))?;
        Ok(Writer { jobs: Mutex::new(Some(sender)), thread: Mutex::new(Some(thread)) })
    }

    /// Runs `job` in its own write transaction on the writer thread.
    pub(crate) async fn execute<T, F>(&self, job: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        let (done, answer) = oneshot::channel();
        let boxed: Job = Box::new(move |conn| {
            // The caller may have gone away; the write stands regardless.
            let _ = done.send(in_transaction(conn, job));
        });
        {
            // Held only to send (the channel is unbounded, sending never
            // blocks); shutdown takes the sender under the same lock, so a
            // job is either queued before the queue closes or refused.
            let jobs = lock(&self.jobs);
            let sender = jobs.as_ref().ok_or_else(closed)?;
            sender.send(boxed).map_err(|_| closed())?;
        }
        answer.await.map_err(|_| StorageError::Backend("the sqlite writer thread stopped".to_owned()))?
    }

    /// Stops accepting jobs, lets the thread finish every queued one,
    /// checkpoint the WAL and close its connection, and waits for it.
    /// Idempotent.
    pub(crate) async fn shutdown(&self) {
        // Dropping the sender ends the thread's receive loop once the queue
        // is drained.
        drop(lock(&self.jobs).take());
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            match tokio::task::spawn_blocking(move || thread.join()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => tracing::error!("the sqlite writer thread panicked"),
                Err(e) => tracing::error!("waiting for the sqlite writer thread failed: {e}"),
            }
        }
    }
}

fn run(mut conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(job) = jobs.recv() {
        job(&mut conn);
    }
    // The queue is closed and drained. Move everything from the WAL into the
    // main file and truncate the WAL, so the database is one clean file.
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get::<_, i64>(0)) {
        Ok(0) => {}
        Ok(_) => tracing::warn!(
            "sqlite checkpoint at close was blocked by a reader; the WAL stays until next open"
        ),
        Err(e) => tracing::warn!("sqlite checkpoint at close failed: {e}"),
    }
    if let Err((_, e)) = conn.close() {
        tracing::warn!("closing the sqlite writer connection failed: {e}");
    }
}

/// One job, one `BEGIN IMMEDIATE` transaction: commit on `Ok`, roll back on
/// `Err` or panic (a panicking job must not take the writer thread down).
fn in_transaction<T>(
    conn: &mut Connection,
    job: impl FnOnce(&Connection) -> StorageResult<T>,
) -> StorageResult<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).db()?;
    match panic::catch_unwind(AssertUnwindSafe(|| job(&tx))) {
        Ok(Ok(value)) => {
            // A failed COMMIT drops `tx`, which rolls back.
            tx.commit().db()?;
            Ok(value)
        }
        Ok(Err(e)) => {
            if let Err(rollback) = tx.rollback() {
                tracing::error!("sqlite rollback failed: {rollback}");
            }
            Err(e)
        }
        Err(_) => {
            if let Err(rollback) = tx.rollback() {
                tracing::error!("sqlite rollback failed: {rollback}");
            }
            Err(StorageError::Backend("a sqlite write panicked and was rolled back".to_owned()))
        }
    }
}
