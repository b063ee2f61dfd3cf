//! The bulk path (`ImportStore`): many documents in one writer transaction,
//! with prepared statements reused across rows.

use crate::db::Db;
use crate::{messages, rooms, users};
use rusqlite::{params, Connection};
use std::collections::BTreeSet;
use threadsync_storage::{ImportBatch, StorageResult};

pub(crate) fn import(conn: &Connection, batch: &ImportBatch) -> StorageResult<()> {
    for user in &batch.users {
        users::insert(conn, user)?;
    }
    for (room, subscriptions) in &batch.rooms {
        rooms::create(conn, room, subscriptions)?;
    }
    let mut touched = BTreeSet::new();
    for message in &batch.messages {
        messages::insert_row(conn, message)?;
        touched.insert(message.rid.as_str());
    }
    let mut tombstone = conn
        .prepare_cached(
            "INSERT INTO tombstones (id, rid, tmid, deleted_at, was_thread) VALUES (?1, ?2, ?3, ?4, 0)",
        )
        .db()?;
    for t in &batch.tombstones {
        tombstone.execute(params![t.id, t.rid, t.tmid, t.deleted_at.millis()]).db()?;
        touched.insert(t.rid.as_str());
    }
    // Later writes must stamp after everything imported (the room clock
    // rule), so each touched room's clock moves up to its greatest stamp.
    let mut advance = conn
        .prepare_cached(
            "UPDATE rooms SET clock = max(clock, \
                 coalesce((SELECT max(updated_at) FROM messages WHERE rid = ?1), 0), \
                 coalesce((SELECT max(deleted_at) FROM tombstones WHERE rid = ?1), 0)) \
             WHERE id = ?1",
        )
        .db()?;
    for rid in touched {
        advance.execute([rid]).db()?;
    }
    Ok(())
}
