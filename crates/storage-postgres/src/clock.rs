//! The room clock across server instances (see the crate docs of
//! `threadsync-storage` for the invariant, and docs/sync.md).
//!
//! Every write transaction that touches documents of a room first takes the
//! room's row lock and a tick of the room's clock. A send reads the clock
//! under `SELECT ... FOR NO KEY UPDATE` and writes its last tick back in its
//! final statement ([`next`], messages::insert); every other write ticks:
//!
//! ```sql
//! UPDATE rooms SET clock = GREATEST($now_ms, clock + 1) WHERE id = $1 RETURNING clock
//! ```
//!
//! and every further document it touches takes another tick the same way.
//! The `UPDATE` takes the row lock of the room, held until the transaction
//! commits or rolls back. A second writer of the same room, in this process
//! or in another server instance sharing the database, blocks on that lock
//! until the first has committed; PostgreSQL then re-evaluates the `UPDATE`
//! against the newly committed row (READ COMMITTED re-check), so it reads the
//! first writer's last tick and goes past it. Hence, within a room:
//! - stamps are pairwise distinct and strictly increase, even for many
//!   writes in one millisecond (the `+ 1` wins over `now`), and even if the
//!   instances' wall clocks disagree;
//! - they increase in **commit order**: a transaction can only take a tick
//!   after every earlier holder of the lock has committed, so no reader can
//!   ever see a stamp while a smaller one is still in flight.
//!
//! Why not a sequence, or `now()` / `clock_timestamp()`? Those values are
//! handed out when the statement runs, not when the transaction commits, and
//! nothing orders the commits. Writer A could take 10, writer B 11, and B
//! commit first: a reader then sees 11 while 10 is still in flight, and a
//! client that syncs from 11 ("everything after the greatest stamp I have")
//! never receives 10. The row lock closes that window: B cannot get past the
//! `UPDATE` until A has committed, so B's stamp is assigned after A's is
//! visible.
//!
//! Because all writers of a room serialise on this lock, a transaction that
//! holds it can read-modify-write the room's documents (a thread parent's
//! `tcount`/`replies`, the room's counters, the subscriptions' `tunread`)
//! without losing updates — as long as it loads them *after* taking the
//! tick, which every function in messages.rs and rooms.rs does.
//!
//! If the wall clock steps backwards, stamps keep increasing from the last
//! tick; they catch up with real time once it passes them again.

use crate::db::Conn;
use threadsync_domain::Timestamp;
use threadsync_storage::{StorageError, StorageResult};

/// The next tick after a room's clock value `clock`, read under the room's
/// lock: `max(now_ms, clock + 1)`, as [`tick`] computes it in SQL. The
/// caller writes the last tick it takes back into the clock before its
/// commit (messages::insert).
pub(crate) fn next(clock: i64) -> Timestamp {
    Timestamp(Timestamp::now().millis().max(clock + 1))
}

/// `$1` now (ms), `$2` the room.
pub(crate) const TICK: &str =
    "UPDATE rooms SET clock = GREATEST($1, clock + 1) WHERE id = $2 RETURNING clock";

/// Takes the next tick of room `rid`'s clock (and with the first tick of a
/// transaction, the room's row lock). Call once per document touched;
/// `NotFound("room")` if the room does not exist.
pub(crate) async fn tick(c: &dyn Conn, rid: &str) -> StorageResult<Timestamp> {
    let now = Timestamp::now().millis();
    let row = c.opt(TICK, &[&now, &rid]).await?;
    match row {
        Some(row) => Ok(Timestamp(crate::db::get::<i64>(&row, 0)?)),
        None => Err(StorageError::NotFound("room")),
    }
}
