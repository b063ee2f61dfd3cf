//! Renaming a user: every document holding the old name, in the
//! transaction that renames the users row (users::update; the rules:
//! `threadsync_storage::rename`).
//!
//! Candidates are found first, without locks (documents whose JSON text
//! holds the old name as a string); then room by room, in id order, the
//! room's row lock is taken (as a send takes it: `FOR NO KEY UPDATE`, see
//! clock.rs), the room's candidates are read again under it, rewritten,
//! and stamped with consecutive ticks of the room's clock, written back
//! with the room's clock in the same statements. Reading after the lock
//! is what keeps a concurrent edit of the same message from being lost;
//! taking the locks in id order is what keeps two such multi-room writers
//! from deadlocking each other (single-room writers cannot: they wait for
//! one lock and hold no other).
//!
//! A room's messages are written with one statement whatever their number
//! (`unnest` of the ids, documents and stamps).

use crate::clock;
use crate::db::{self, get, Conn};
use crate::rooms;
use std::collections::BTreeMap;
use threadsync_domain::{Message, Room, RoomType, Subscription};
use threadsync_storage::rename::Rename;
use threadsync_storage::{StorageError, StorageResult};

/// What one room holds of the old name, found before any lock.
#[derive(Default)]
struct Candidates {
    room: bool,
    subscriptions: Vec<String>,
    messages: Vec<String>,
}

/// Rewrites every document holding the old name (the users row is the
/// caller's: users::update, which holds the user's row lock).
pub(crate) async fn rewrite_documents(c: &dyn Conn, rename: &Rename) -> StorageResult<()> {
    let needle = rename.needle();
    let mut by_room: BTreeMap<String, Candidates> = BTreeMap::new();
    for row in c.rows("SELECT id, t FROM rooms WHERE strpos(doc::text, $1) > 0", &[&needle]).await? {
        let rid: String = get(&row, 0)?;
        let t: String = get(&row, 1)?;
        by_room.entry(rid.clone()).or_default().room = true;
        if t == RoomType::Direct.as_str() {
            // Every member's subscription of a direct room names the others.
            for sub in c.rows("SELECT id FROM subscriptions WHERE rid = $1", &[&rid]).await? {
                by_room.entry(rid.clone()).or_default().subscriptions.push(get(&sub, 0)?);
            }
        }
    }
    for row in c.rows("SELECT id, rid FROM subscriptions WHERE user_id = $1", &[&rename.user_id]).await? {
        let (id, rid): (String, String) = (get(&row, 0)?, get(&row, 1)?);
        let subs = &mut by_room.entry(rid).or_default().subscriptions;
        if !subs.contains(&id) {
            subs.push(id);
        }
    }
    for row in c.rows("SELECT id, rid FROM messages WHERE strpos(doc::text, $1) > 0", &[&needle]).await? {
        by_room.entry(get(&row, 1)?).or_default().messages.push(get(&row, 0)?);
    }
    for (rid, candidates) in by_room {
        rename_in_room(c, rename, &rid, candidates).await?;
    }
    Ok(())
}

/// Rewrites one room's candidates under the room's lock.
async fn rename_in_room(c: &dyn Conn, rename: &Rename, rid: &str, found: Candidates) -> StorageResult<()> {
    let Some(row) = c.opt("SELECT clock, doc FROM rooms WHERE id = $1 FOR NO KEY UPDATE", &[&rid]).await?
    else {
        // Deleted since the candidates were found: nothing left to rewrite.
        return Ok(());
    };
    let mut clock_value: i64 = get(&row, 0)?;
    let mut room: Room = db::doc(&row, 1)?;
    let mut tick = || {
        let stamp = clock::next(clock_value);
        clock_value = stamp.millis();
        stamp
    };

    let room_changed = found.room && rename.room(&mut room);
    if room_changed {
        room.updated_at = tick();
    }
    let mut subscriptions: Vec<Subscription> = Vec::new();
    if !found.subscriptions.is_empty() {
        let rows =
            c.rows("SELECT doc FROM subscriptions WHERE id = ANY($1)", &[&found.subscriptions]).await?;
        for row in rows {
            let mut subscription: Subscription = db::doc(&row, 0)?;
            if rename.subscription(&mut subscription, Some(&room)) {
                subscription.updated_at = tick();
                subscriptions.push(subscription);
            }
        }
    }
    let (mut ids, mut docs, mut stamps) = (Vec::new(), Vec::new(), Vec::new());
    if !found.messages.is_empty() {
        let rows = c
            .rows(
                "SELECT doc FROM messages WHERE id = ANY($1) AND rid = $2 ORDER BY id",
                &[&found.messages, &rid],
            )
            .await?;
        for row in rows {
            let mut message: Message = db::doc(&row, 0)?;
            if rename.message(&mut message) {
                message.updated_at = tick();
                ids.push(message.id.clone());
                stamps.push(message.updated_at.millis());
                docs.push(
                    serde_json::to_string(&message)
                        .map_err(|e| StorageError::Backend(format!("serialising a document: {e}")))?,
                );
            }
        }
    }
    if !room_changed && subscriptions.is_empty() && ids.is_empty() {
        return Ok(());
    }
    if room_changed {
        rooms::save(c, &room).await?;
    }
    for subscription in &subscriptions {
        rooms::save_subscription(c, subscription).await?;
    }
    if !ids.is_empty() {
        c.exec(
            "UPDATE messages AS m SET doc = v.doc::jsonb, updated_at = v.updated_at \
             FROM unnest($1::text[], $2::text[], $3::int8[]) AS v(id, doc, updated_at) WHERE m.id = v.id",
            &[&ids, &docs, &stamps],
        )
        .await?;
    }
    c.exec("UPDATE rooms SET clock = $2 WHERE id = $1", &[&rid, &clock_value]).await?;
    Ok(())
}
