//! The room clock (see the crate docs of `threadsync-storage`).
//!
//! Every document a write touches takes its own tick, `max(now_ms, last + 1)`,
//! and the tick is stored back in `rooms.clock` by the same statement, inside
//! the writing transaction. Two properties follow:
//! - ticks of one room are pairwise distinct and strictly increase, even when
//!   many writes land in the same millisecond (the `+ 1` wins over `now`);
//! - they increase in commit order: all writes go through the single writer
//!   thread (writer.rs), so the next transaction reads the clock only after
//!   the previous one has committed. A reader can therefore never see a stamp
//!   greater than one a later commit will hand out.
//!
//! If the wall clock steps backwards, stamps keep increasing from the last
//! tick; they catch up with real time once it passes them again.

use crate::db::{Cached, Db};
use rusqlite::{params, Connection, OptionalExtension};
use threadsync_domain::Timestamp;
use threadsync_storage::{StorageError, StorageResult};

/// Takes the next tick of room `rid`'s clock. Call once per document touched;
/// `NotFound("room")` if the room does not exist.
pub(crate) fn tick(conn: &Connection, rid: &str) -> StorageResult<Timestamp> {
    // Read the wall clock inside the transaction: the writer holds the
    // database's write lock, so no other tick of this room can interleave.
    let now = Timestamp::now().millis();
    conn.cached_row(
        "UPDATE rooms SET clock = max(?1, clock + 1) WHERE id = ?2 RETURNING clock",
        params![now, rid],
        |row| row.get::<_, i64>(0),
    )
    .optional()
    .db()?
    .map(Timestamp)
    .ok_or(StorageError::NotFound("room"))
}
