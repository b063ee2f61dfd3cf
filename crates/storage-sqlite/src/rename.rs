//! Renaming a user: every document holding the old name, in the
//! transaction that renames the users row (users::update; the rules:
//! `threadsync_storage::rename`).
//!
//! Each rewritten message, room and subscription takes a tick of its room's
//! clock, as an edit does, so `chat.syncMessages`, `chat.syncThreadMessages`,
//! `rooms.get` and `subscriptions.get` deltas carry the new name: a client
//! that synced before the rename is not left with the old one.
//!
//! Finding the messages reads every message document once (a user's name
//! can be in any room's messages: mentions, reactions), which on a large
//! store takes the writer for a while; a rename is a rare administrative
//! write, and the alternative, an index of every name in every document,
//! would cost every ordinary write.

use crate::db::{from_json, Db};
use crate::{clock, messages, rooms};
use rusqlite::Connection;
use std::collections::BTreeMap;
use threadsync_domain::{Room, RoomType, Subscription};
use threadsync_storage::rename::Rename;
use threadsync_storage::StorageResult;

/// Rewrites every document holding the old name (the users row is the
/// caller's: users::update).
pub(crate) fn rewrite_documents(conn: &Connection, rename: &Rename) -> StorageResult<()> {
    let needle = rename.needle();
    // Rooms first: a direct subscription's name is rewritten against its
    // room's member list.
    let mut direct: BTreeMap<String, Room> = BTreeMap::new();
    for room in docs::<Room>(conn, "SELECT doc FROM rooms WHERE instr(doc, ?1) > 0", &needle)? {
        let mut room = room;
        if rename.room(&mut room) {
            room.updated_at = clock::tick(conn, &room.id)?;
            rooms::save(conn, &room)?;
        }
        if room.t == RoomType::Direct && room.uids.contains(&rename.user_id) {
            direct.insert(room.id.clone(), room);
        }
    }
    let mut subscriptions =
        docs::<Subscription>(conn, "SELECT doc FROM subscriptions WHERE user_id = ?1", &rename.user_id)?;
    // The other members' subscriptions of the direct rooms (the user's own
    // are read above: each subscription is rewritten and stamped once).
    let mut stmt =
        conn.prepare_cached("SELECT doc FROM subscriptions WHERE rid = ?1 AND user_id <> ?2").db()?;
    for rid in direct.keys() {
        let rows = stmt.query_map([rid, &rename.user_id], |row| row.get::<_, String>(0)).db()?;
        for doc in rows {
            subscriptions.push(from_json(&doc.db()?)?);
        }
    }
    for mut subscription in subscriptions {
        let room = direct.get(&subscription.rid);
        if rename.subscription(&mut subscription, room) {
            subscription.updated_at = clock::tick(conn, &subscription.rid)?;
            rooms::save_subscription(conn, &subscription)?;
        }
    }
    // Ids first, then one message at a time: the candidates are not held
    // in memory together, and no row is rewritten under a running scan.
    let ids: Vec<String> = {
        let mut stmt = conn.prepare_cached("SELECT id FROM messages WHERE instr(doc, ?1) > 0").db()?;
        let rows = stmt.query_map([&needle], |row| row.get(0)).db()?;
        rows.collect::<Result<_, _>>().db()?
    };
    for id in ids {
        let Some(mut message) = messages::load(conn, &id)? else { continue };
        if rename.message(&mut message) {
            message.updated_at = clock::tick(conn, &message.rid)?;
            messages::update_row(conn, &message)?;
        }
    }
    Ok(())
}

fn docs<T: serde::de::DeserializeOwned>(conn: &Connection, sql: &str, arg: &str) -> StorageResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    let rows = stmt.query_map([arg], |row| row.get::<_, String>(0)).db()?;
    rows.map(|doc| from_json(&doc.db()?)).collect()
}
