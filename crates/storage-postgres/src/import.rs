//! The bulk path (`ImportStore`): many documents in one transaction.

use crate::db::Conn;
use crate::{messages, rooms, users};
use std::collections::BTreeSet;
use threadsync_storage::{ImportBatch, StorageResult};

pub(crate) async fn import(c: &dyn Conn, batch: &ImportBatch) -> StorageResult<()> {
    for user in &batch.users {
        users::insert(c, user, &[]).await?;
    }
    for (room, subscriptions) in &batch.rooms {
        rooms::create(c, room, subscriptions).await?;
    }
    let mut touched = BTreeSet::new();
    for message in &batch.messages {
        messages::insert_row(c, message).await?;
        touched.insert(message.rid.as_str());
    }
    for t in &batch.tombstones {
        c.exec(
            "INSERT INTO tombstones (id, rid, tmid, deleted_at, was_thread) VALUES ($1, $2, $3, $4, FALSE)",
            &[&t.id, &t.rid, &t.tmid, &t.deleted_at.millis()],
        )
        .await?;
        touched.insert(t.rid.as_str());
    }
    // Later writes must stamp after everything imported (the room clock rule).
    for rid in touched {
        c.exec(
            "UPDATE rooms SET clock = GREATEST(clock, \
                 COALESCE((SELECT max(updated_at) FROM messages WHERE rid = $1), 0), \
                 COALESCE((SELECT max(deleted_at) FROM tombstones WHERE rid = $1), 0)) \
             WHERE id = $1",
            &[&rid],
        )
        .await?;
    }
    Ok(())
}
