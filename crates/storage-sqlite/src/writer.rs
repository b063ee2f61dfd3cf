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
//! Group commit: the thread takes every job waiting in the queue (up to
//! [`MAX_BATCH`]) and runs them in one `BEGIN IMMEDIATE` transaction (the
//! write lock is taken up front, so a transaction never fails half-way for
//! lack of it), each job under its own savepoint: a job that fails or panics
//! is rolled back alone, the others stand. One COMMIT then makes the whole
//! batch durable and visible at once, which is what makes many small writes
//! cheap. A job's answer travels back to its async caller on a oneshot
//! channel only after that COMMIT, so nobody is told "done" for a write that
//! could still be lost, and a caller that reads right after its write sees
//! it. Jobs run in queue order, so commit order is still submission order.
//!
//! Bulk writes (imports) are the exception: each runs alone in its own
//! transaction, without a savepoint, between two batches ([`Mode::Alone`]).
//!
//! A caller that stops waiting (its future dropped) does not cancel a job
//! already queued: the write still happens, only the answer is lost.
//!
//! Checkpoints (copying the WAL back into the database file) run mostly on
//! a second thread with its own connection, every [`CHECKPOINT_EVERY`], in
//! `PASSIVE` mode, which never blocks the writer nor the readers: SQLite's
//! default is to checkpoint inside the COMMIT that crosses 1,000 WAL pages,
//! on the writer thread, and the profile of `s4` showed the writer blocked
//! in the checkpoint's writes and fsync for about 9% of its time. The
//! writer still checkpoints itself when the WAL passes 4,000 pages (16 MiB,
//! `wal_autocheckpoint` in lib.rs), for a reason found by measuring: the
//! WAL file only starts over from its beginning after a checkpoint that
//! copied every frame, and under sustained writes a checkpoint on another
//! thread never catches up with a writer that keeps appending (the WAL grew
//! to 4 GB in 30 s of `s4`). The writer's own checkpoint runs between two
//! batches, so it completes, and it only has the frames left since the
//! last background pass to copy.

use crate::db::{closed, lock, Cached, Db};
use rusqlite::Connection;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use threadsync_storage::{StorageError, StorageResult};
use tokio::sync::oneshot;

/// Most jobs committed together.
const MAX_BATCH: usize = 256;

/// How often the checkpointer thread copies the WAL into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// A queued write. It runs inside the batch's transaction (or learns that
/// the transaction could not begin), and returns whether it succeeded and
/// how to deliver its outcome once the batch's COMMIT is known.
type Job = Box<dyn FnOnce(&Connection, Result<(), &StorageError>) -> (bool, Delivery) + Send + 'static>;

/// How a job shares its transaction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// With the other jobs waiting, each under its own savepoint.
    Batched,
    /// Alone in its transaction, without a savepoint: a failure rolls back
    /// the whole transaction. For bulk writes (imports): SQLite journals
    /// each statement in memory and, at the statement's end, walks the
    /// journal of every enclosing savepoint from its start to cut it back,
    /// so under a savepoint a transaction of n statements costs n² (the
    /// seed of 200k messages took 53 s instead of 3 s once the search
    /// index's triggers gave every message's INSERT a statement journal).
    Alone,
}

/// Delivers a job's outcome: given `None` when the batch committed, or the
/// error that undid the batch.
type Delivery = Box<dyn FnOnce(Option<&StorageError>) + Send + 'static>;

pub(crate) struct Writer {
    /// `None` once shutdown began: no new jobs are accepted.
    jobs: Mutex<Option<mpsc::Sender<(Mode, Job)>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Stops (by dropping the sender) and joins the checkpointer thread.
    checkpointer: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
    /// Jobs sent and not yet finished (the write queue, for /metrics).
    pending: Arc<AtomicUsize>,
    /// Jobs finished since start.
    done: Arc<AtomicU64>,
}

impl Writer {
    /// Starts the writer thread, which owns `conn` from now on, and the
    /// checkpointer thread, which owns `checkpointer` (a connection to the
    /// same database).
    pub(crate) fn start(conn: Connection, checkpointer: Connection) -> StorageResult<Writer> {
        let (sender, receiver) = mpsc::channel::<(Mode, Job)>();
        let thread = std::thread::Builder::new()
            .name("threadsync-sqlite-writer".to_owned())
            .spawn(move || run(conn, receiver))
            .map_err(|e| StorageError::Backend(format!("cannot start the sqlite writer thread: {e}")))?;
        let (stop, stopped) = mpsc::channel::<()>();
        let checkpoints = std::thread::Builder::new()
            .name("threadsync-sqlite-checkpoint".to_owned())
            .spawn(move || checkpoint_loop(checkpointer, stopped))
            .map_err(|e| StorageError::Backend(format!("cannot start the sqlite checkpoint thread: {e}")))?;
        Ok(Writer {
            jobs: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            checkpointer: Mutex::new(Some((stop, checkpoints))),
            pending: Arc::new(AtomicUsize::new(0)),
            done: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Runs `job` on the writer thread, committed with the other jobs
    /// waiting (group commit) under a savepoint of its own.
    pub(crate) async fn execute<T, F>(&self, job: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        self.submit(Mode::Batched, job).await
    }

    /// Runs `job` on the writer thread in a transaction of its own, without
    /// a savepoint (see [`Mode::Alone`]): for bulk writes of many rows.
    pub(crate) async fn execute_alone<T, F>(&self, job: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        self.submit(Mode::Alone, job).await
    }

    async fn submit<T, F>(&self, mode: Mode, job: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        let (done, answer) = oneshot::channel();
        let (pending, finished) = (Arc::clone(&self.pending), Arc::clone(&self.done));
        let boxed: Job = Box::new(move |conn, began| {
            let result = match (began, mode) {
                (Ok(()), Mode::Batched) => in_savepoint(conn, job),
                (Ok(()), Mode::Alone) => catch_panic(|| job(conn)),
                (Err(e), _) => Err(e.clone()),
            };
            let succeeded = result.is_ok();
            let delivery: Delivery = Box::new(move |commit_error| {
                let outcome = match (result, commit_error) {
                    (Ok(_), Some(e)) => Err(e.clone()),
                    (result, _) => result,
                };
                // Counted before answering, so a caller that has its answer
                // never sees its own write still counted as queued.
                pending.fetch_sub(1, Ordering::Relaxed);
                finished.fetch_add(1, Ordering::Relaxed);
                // The caller may have gone away; the write stands regardless.
                let _ = done.send(outcome);
            });
            (succeeded, delivery)
        });
        {
            // Held only to send (the channel is unbounded, sending never
            // blocks); shutdown takes the sender under the same lock, so a
            // job is either queued before the queue closes or refused.
            let jobs = lock(&self.jobs);
            let sender = jobs.as_ref().ok_or_else(closed)?;
            self.pending.fetch_add(1, Ordering::Relaxed);
            if sender.send((mode, boxed)).is_err() {
                self.pending.fetch_sub(1, Ordering::Relaxed);
                return Err(closed());
            }
        }
        answer.await.map_err(|_| StorageError::Backend("the sqlite writer thread stopped".to_owned()))?
    }

    /// Whether jobs are still accepted (false once shutdown began).
    pub(crate) fn is_open(&self) -> bool {
        lock(&self.jobs).is_some()
    }

    /// Write jobs queued or running, and finished since start.
    pub(crate) fn stats(&self) -> (usize, u64) {
        (self.pending.load(Ordering::Relaxed), self.done.load(Ordering::Relaxed))
    }

    /// Stops accepting jobs, lets the thread finish every queued one,
    /// checkpoint the WAL and close its connection, and waits for it.
    /// Idempotent.
    pub(crate) async fn shutdown(&self) {
        // The checkpointer stops first: the writer's final TRUNCATE
        // checkpoint must not find it holding the checkpoint lock.
        let checkpointer = lock(&self.checkpointer).take();
        if let Some((stop, thread)) = checkpointer {
            drop(stop);
            if let Err(e) = tokio::task::spawn_blocking(move || thread.join()).await {
                tracing::error!("waiting for the sqlite checkpoint thread failed: {e}");
            }
        }
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

fn run(conn: Connection, jobs: mpsc::Receiver<(Mode, Job)>) {
    // A job that must run alone, met while gathering a batch: it runs
    // right after that batch, keeping the queue's order.
    let mut next: Option<(Mode, Job)> = None;
    while let Some((mode, first)) = next.take().or_else(|| jobs.recv().ok()) {
        let mut batch = vec![first];
        if mode == Mode::Batched {
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok((Mode::Batched, job)) => batch.push(job),
                    Ok(alone) => {
                        next = Some(alone);
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
        run_batch(&conn, batch, mode);
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

/// Checkpoints every [`CHECKPOINT_EVERY`] until `stop` is dropped.
fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        // PASSIVE: copies what no reader still needs, waits for nobody.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!("sqlite background checkpoint failed: {e}");
        }
    }
    if let Err((_, e)) = conn.close() {
        tracing::warn!("closing the sqlite checkpoint connection failed: {e}");
    }
}

/// Runs a batch in one transaction and delivers every outcome after COMMIT.
fn run_batch(conn: &Connection, batch: Vec<Job>, mode: Mode) {
    let began = conn.cached_execute("BEGIN IMMEDIATE", []).map(drop).db();
    let mut all_succeeded = true;
    let deliveries: Vec<Delivery> = batch
        .into_iter()
        .map(|job| {
            let (succeeded, delivery) = job(conn, began.as_ref().map(|_| ()));
            all_succeeded &= succeeded;
            delivery
        })
        .collect();
    let commit_error = match began {
        Err(e) => Some(e),
        // A job alone without a savepoint failed: nothing of it may stay.
        // (A batched job that failed was rolled back to its savepoint.)
        Ok(()) if mode == Mode::Alone && !all_succeeded => {
            if let Err(rollback) = conn.execute_batch("ROLLBACK") {
                tracing::error!("sqlite rollback failed: {rollback}");
            }
            None
        }
        // The batch's search index changes are applied last, after every
        // job's savepoint, so FTS5 writes them as one segment (search.rs).
        Ok(()) => match crate::search::apply_queued(conn)
            .and_then(|()| conn.cached_execute("COMMIT", []).map(drop).db())
        {
            Ok(()) => None,
            Err(e) => {
                tracing::error!("sqlite commit failed, the batch is rolled back: {e}");
                if let Err(rollback) = conn.execute_batch("ROLLBACK") {
                    tracing::error!("sqlite rollback failed: {rollback}");
                }
                Some(e)
            }
        },
    };
    for deliver in deliveries {
        deliver(commit_error.as_ref());
    }
}

/// Runs `job`, turning a panic into an error (a panicking job must not take
/// the writer thread down).
fn catch_panic<T>(job: impl FnOnce() -> StorageResult<T>) -> StorageResult<T> {
    panic::catch_unwind(AssertUnwindSafe(job)).unwrap_or_else(|_| {
        Err(StorageError::Backend("a sqlite write panicked and was rolled back".to_owned()))
    })
}

/// One job under one savepoint: released on `Ok`, rolled back on `Err` or
/// panic (a panicking job must not take the writer thread down, nor the
/// other jobs of its batch).
fn in_savepoint<T>(conn: &Connection, job: impl FnOnce(&Connection) -> StorageResult<T>) -> StorageResult<T> {
    // Cached statements: these two run for every write, so parsing them
    // each time showed in the writer's profile.
    conn.cached_execute("SAVEPOINT job", []).db()?;
    let outcome = catch_panic(|| job(conn));
    let end = if outcome.is_ok() {
        conn.cached_execute("RELEASE job", []).map(drop)
    } else {
        conn.execute_batch("ROLLBACK TO job; RELEASE job")
    };
    if let Err(e) = end {
        // The job's changes must not commit with an error answered: undo
        // them (if even that fails, the batch's COMMIT will fail too).
        tracing::error!("sqlite savepoint end failed: {e}");
        let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
        return Err(StorageError::Backend(format!("sqlite savepoint: {e}")));
    }
    outcome
}
