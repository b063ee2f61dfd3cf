//! Rooms and subscriptions.
//!
//! Both are stored as their domain document (`doc`, JSON) plus the columns
//! queries filter on. Writes are read-modify-write of the whole document, so
//! `doc` and the columns never disagree. The `clock` column is the exception:
//! only clock.rs touches it, and `save_room` leaves it alone.

use crate::clock;
use crate::db::{count, exists, from_json, sql_int, to_json, Cached, Db};
use crate::users::{self, fold};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashSet;
use threadsync_domain::Timestamp;
use threadsync_domain::{Room, RoomType, Subscription, User};
use threadsync_storage::{
    Page, RoomChange, RoomListQuery, RosterChanges, StorageError, StorageResult, SubscriptionTombstone,
};

/// The key that finds a direct-message room by its members: the ids sorted
/// and deduplicated, as a JSON array.
fn dm_key(uids: &[String]) -> StorageResult<String> {
    let mut ids: Vec<&str> = uids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    to_json(&ids)
}

fn is_named_type(t: RoomType) -> bool {
    matches!(t, RoomType::Channel | RoomType::Group)
}

/// The extracted columns of a room, computed from its document.
struct RoomColumns {
    name_lower: Option<String>,
    dm_key: Option<String>,
    doc: String,
}

fn room_columns(room: &Room) -> StorageResult<RoomColumns> {
    Ok(RoomColumns {
        name_lower: room.name.as_deref().map(fold),
        dm_key: match room.t {
            RoomType::Direct => Some(dm_key(&room.uids)?),
            _ => None,
        },
        doc: to_json(room)?,
    })
}

pub(crate) fn load(conn: &Connection, id: &str) -> StorageResult<Option<Room>> {
    conn.cached_row("SELECT doc FROM rooms WHERE id = ?1", [id], |row| row.get::<_, String>(0))
        .optional()
        .db()?
        .map(|doc| from_json(&doc))
        .transpose()
}

/// Rewrites a room's document and columns (not its clock).
/// The type of a room, without its document.
pub(crate) fn type_of(conn: &Connection, id: &str) -> StorageResult<Option<RoomType>> {
    let t: Option<String> =
        conn.cached_row("SELECT t FROM rooms WHERE id = ?1", [id], |row| row.get(0)).optional().db()?;
    t.map(|t| RoomType::parse(&t).ok_or_else(|| StorageError::Backend(format!("unknown room type {t:?}"))))
        .transpose()
}

pub(crate) fn save(conn: &Connection, room: &Room) -> StorageResult<()> {
    let cols = room_columns(room)?;
    conn.cached_execute(
        "UPDATE rooms SET t = ?2, name = ?3, name_lower = ?4, dm_key = ?5, is_default = ?6, \
                          ts = ?7, updated_at = ?8, doc = ?9 \
         WHERE id = ?1",
        params![
            room.id,
            room.t.as_str(),
            room.name,
            cols.name_lower,
            cols.dm_key,
            room.is_default,
            room.ts.millis(),
            room.updated_at.millis(),
            cols.doc,
        ],
    )
    .db()?;
    Ok(())
}

/// Counts a new message in its room without decoding the room's document:
/// `msgs + 1`, `lm` = the message's stamp, `_updatedAt` = `updated`, done by
/// SQLite's JSON functions instead of loading, changing and [`save`]-ing the
/// room (this runs for every message written).
pub(crate) fn count_message(
    conn: &Connection,
    id: &str,
    stamp: threadsync_domain::Timestamp,
    updated: threadsync_domain::Timestamp,
) -> StorageResult<()> {
    conn.cached_execute(
        "UPDATE rooms SET updated_at = ?4, \
                          doc = json_set(doc, '$.msgs', coalesce(json_extract(doc, '$.msgs'), 0) + 1, \
                                              '$.lm', ?2, '$._updatedAt', ?3) \
         WHERE id = ?1",
        params![id, stamp.to_iso(), updated.to_iso(), updated.millis()],
    )
    .db()?;
    Ok(())
}

pub(crate) fn create(conn: &Connection, room: &Room, subscriptions: &[Subscription]) -> StorageResult<Room> {
    if exists(conn, "SELECT 1 FROM rooms WHERE id = ?1", [&room.id])? {
        return Err(StorageError::Conflict("id"));
    }
    let mut room = room.clone();
    if room.t == RoomType::Direct {
        // Keep the documented form: members sorted by id, no duplicates.
        room.uids.sort_unstable();
        room.uids.dedup();
    }
    let cols = room_columns(&room)?;
    if is_named_type(room.t) {
        if let Some(name_lower) = &cols.name_lower {
            if exists(conn, "SELECT 1 FROM rooms WHERE name_lower = ?1 AND t IN ('c', 'p')", [name_lower])? {
                return Err(StorageError::Conflict("room_name"));
            }
        }
    }
    conn.cached_execute(
        "INSERT INTO rooms (id, t, name, name_lower, dm_key, is_default, ts, updated_at, clock, doc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)",
        params![
            room.id,
            room.t.as_str(),
            room.name,
            cols.name_lower,
            cols.dm_key,
            room.is_default,
            room.ts.millis(),
            room.updated_at.millis(),
            cols.doc,
        ],
    )
    .db()?;
    // The room and its first subscriptions share the creation tick: they are
    // different collections, uniqueness of stamps matters within messages.
    let stamp = clock::tick(conn, &room.id)?;
    let mut members = HashSet::new();
    for subscription in subscriptions {
        if subscription.rid != room.id {
            return Err(StorageError::Invalid("subscription rid"));
        }
        // The same user listed twice is one membership.
        if !members.insert(subscription.u.id.as_str()) {
            continue;
        }
        let mut subscription = subscription.clone();
        subscription.updated_at = stamp;
        insert_subscription(conn, &subscription)?;
    }
    room.users_count = i64::try_from(members.len()).unwrap_or(i64::MAX);
    room.updated_at = stamp;
    save(conn, &room)?;
    Ok(room)
}

fn rooms_from(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StorageResult<Vec<Room>> {
    let mut stmt = conn.prepare(sql).db()?;
    let docs = stmt
        .query_map(params, |row| row.get::<_, String>(0))
        .db()?
        .collect::<rusqlite::Result<Vec<String>>>()
        .db()?;
    docs.iter().map(|doc| from_json(doc)).collect()
}

pub(crate) fn by_name(conn: &Connection, name: &str) -> StorageResult<Option<Room>> {
    // Same predicate as the partial unique index, so the index is used.
    conn.cached_row("SELECT doc FROM rooms WHERE name_lower = ?1 AND t IN ('c', 'p')", [fold(name)], |row| {
        row.get::<_, String>(0)
    })
    .optional()
    .db()?
    .map(|doc| from_json(&doc))
    .transpose()
}

pub(crate) fn direct(conn: &Connection, uids: &[String]) -> StorageResult<Option<Room>> {
    // Should two DMs with the same members exist (the trait has no rule
    // against it), the oldest one is the answer, consistently.
    let rooms = rooms_from(
        conn,
        "SELECT doc FROM rooms WHERE dm_key = ?1 AND t = 'd' ORDER BY ts, id LIMIT 1",
        [dm_key(uids)?],
    )?;
    Ok(rooms.into_iter().next())
}

pub(crate) fn defaults(conn: &Connection) -> StorageResult<Vec<Room>> {
    rooms_from(conn, "SELECT doc FROM rooms WHERE is_default = 1 ORDER BY coalesce(name_lower, ''), id", [])
}

pub(crate) fn delete(conn: &Connection, id: &str) -> StorageResult<bool> {
    if load(conn, id)?.is_none() {
        return Ok(false);
    }
    // Every member's subscription leaves a tombstone, each with its own tick.
    let members: Vec<(String, String)> = {
        let mut stmt =
            conn.prepare_cached("SELECT id, user_id FROM subscriptions WHERE rid = ?1 ORDER BY id").db()?;
        let rows = stmt.query_map([id], |row| Ok((row.get(0)?, row.get(1)?))).db()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().db()?
    };
    for (sid, user_id) in &members {
        bury(conn, sid, id, user_id, true)?;
    }
    // The foreign keys cascade too; explicit deletes keep the rule visible
    // and do not depend on `PRAGMA foreign_keys`.
    conn.cached_execute("DELETE FROM subscriptions WHERE rid = ?1", [id]).db()?;
    conn.cached_execute("DELETE FROM messages WHERE rid = ?1", [id]).db()?;
    conn.cached_execute("DELETE FROM tombstones WHERE rid = ?1", [id]).db()?;
    let removed = conn.cached_execute("DELETE FROM rooms WHERE id = ?1", [id]).db()?;
    Ok(removed > 0)
}

pub(crate) fn subscription(
    conn: &Connection,
    rid: &str,
    user_id: &str,
) -> StorageResult<Option<Subscription>> {
    conn.cached_row(
        "SELECT doc FROM subscriptions WHERE rid = ?1 AND user_id = ?2",
        params![rid, user_id],
        |row| row.get::<_, String>(0),
    )
    .optional()
    .db()?
    .map(|doc| from_json(&doc))
    .transpose()
}

fn insert_subscription(conn: &Connection, subscription: &Subscription) -> StorageResult<()> {
    conn.cached_execute(
        "INSERT INTO subscriptions (id, rid, user_id, updated_at, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            subscription.id,
            subscription.rid,
            subscription.u.id,
            subscription.updated_at.millis(),
            to_json(subscription)?,
        ],
    )
    .db()?;
    Ok(())
}

/// Rewrites a subscription's document (found by its id).
pub(crate) fn save_subscription(conn: &Connection, subscription: &Subscription) -> StorageResult<()> {
    conn.cached_execute(
        "UPDATE subscriptions SET updated_at = ?2, doc = ?3 WHERE id = ?1",
        params![subscription.id, subscription.updated_at.millis(), to_json(subscription)?],
    )
    .db()?;
    Ok(())
}

/// Adds a member, stamped with `stamp`, and counts it in the room's
/// `usersCount`. `Ok(false)` if the user already has a subscription.
pub(crate) fn join(
    conn: &Connection,
    room: &mut Room,
    subscription: &Subscription,
    stamp: threadsync_domain::Timestamp,
) -> StorageResult<bool> {
    if subscription.rid != room.id {
        return Err(StorageError::Invalid("subscription rid"));
    }
    if exists(
        conn,
        "SELECT 1 FROM subscriptions WHERE rid = ?1 AND user_id = ?2",
        params![room.id, subscription.u.id],
    )? {
        return Ok(false);
    }
    let mut subscription = subscription.clone();
    subscription.updated_at = stamp;
    insert_subscription(conn, &subscription)?;
    room.users_count += 1;
    Ok(true)
}

pub(crate) fn add_subscription(conn: &Connection, subscription: &Subscription) -> StorageResult<bool> {
    let mut room = load(conn, &subscription.rid)?.ok_or(StorageError::NotFound("room"))?;
    if exists(
        conn,
        "SELECT 1 FROM subscriptions WHERE rid = ?1 AND user_id = ?2",
        params![room.id, subscription.u.id],
    )? {
        return Ok(false);
    }
    let stamp = clock::tick(conn, &room.id)?;
    join(conn, &mut room, subscription, stamp)?;
    room.updated_at = stamp;
    save(conn, &room)?;
    Ok(true)
}

/// Whether `user_id` is the one owner of room `rid` (read inside the
/// writer's transaction, so the answer holds until it commits).
fn only_owner(conn: &Connection, rid: &str, user_id: &str) -> StorageResult<bool> {
    const IS_OWNER: &str = "EXISTS (SELECT 1 FROM json_each(doc, '$.roles') WHERE value = 'owner')";
    Ok(exists(
        conn,
        &format!("SELECT 1 FROM subscriptions WHERE rid = ?1 AND user_id = ?2 AND {IS_OWNER}"),
        params![rid, user_id],
    )? && !exists(
        conn,
        &format!("SELECT 1 FROM subscriptions WHERE rid = ?1 AND user_id != ?2 AND {IS_OWNER}"),
        params![rid, user_id],
    )?)
}

pub(crate) fn remove_subscription(
    conn: &Connection,
    rid: &str,
    user_id: &str,
    keep_an_owner: bool,
) -> StorageResult<bool> {
    if keep_an_owner && only_owner(conn, rid, user_id)? {
        return Err(StorageError::Invalid("last owner"));
    }
    let removed: Option<String> = conn
        .cached_row(
            "DELETE FROM subscriptions WHERE rid = ?1 AND user_id = ?2 RETURNING id",
            params![rid, user_id],
            |row| row.get(0),
        )
        .optional()
        .db()?;
    let Some(sid) = removed else {
        return Ok(false);
    };
    bury(conn, &sid, rid, user_id, false)?;
    if let Some(mut room) = load(conn, rid)? {
        room.users_count = (room.users_count - 1).max(0);
        room.updated_at = clock::tick(conn, rid)?;
        save(conn, &room)?;
    }
    Ok(true)
}

/// Leaves the tombstone of subscription `sid`, stamped with a tick of the
/// room's clock (the room must still exist).
fn bury(conn: &Connection, sid: &str, rid: &str, user_id: &str, room_deleted: bool) -> StorageResult<()> {
    let stamp = clock::tick(conn, rid)?;
    conn.cached_execute(
        "INSERT INTO subscription_tombstones (id, rid, user_id, deleted_at, room_deleted) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE \
         SET deleted_at = excluded.deleted_at, room_deleted = excluded.room_deleted",
        params![sid, rid, user_id, stamp.millis(), room_deleted],
    )
    .db()?;
    Ok(())
}

fn removals_since(
    conn: &Connection,
    user_id: &str,
    since: Option<Timestamp>,
    rooms_only: bool,
) -> StorageResult<Vec<SubscriptionTombstone>> {
    let Some(since) = since else {
        return Ok(Vec::new());
    };
    let sql = if rooms_only {
        "SELECT id, rid, user_id, deleted_at, room_deleted FROM subscription_tombstones \
         WHERE user_id = ?1 AND deleted_at > ?2 AND room_deleted = 1 ORDER BY deleted_at, id"
    } else {
        "SELECT id, rid, user_id, deleted_at, room_deleted FROM subscription_tombstones \
         WHERE user_id = ?1 AND deleted_at > ?2 ORDER BY deleted_at, id"
    };
    let mut stmt = conn.prepare_cached(sql).db()?;
    let rows = stmt
        .query_map(params![user_id, since.millis()], |row| {
            Ok(SubscriptionTombstone {
                id: row.get(0)?,
                rid: row.get(1)?,
                user_id: row.get(2)?,
                deleted_at: Timestamp(row.get(3)?),
                room_deleted: row.get(4)?,
            })
        })
        .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

fn docs<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    user_id: &str,
    since: Option<Timestamp>,
) -> StorageResult<Vec<T>> {
    let since = since.map_or(i64::MIN, Timestamp::millis);
    let mut stmt = conn.prepare_cached(sql).db()?;
    let rows = stmt.query_map(params![user_id, since], |row| row.get::<_, String>(0)).db()?;
    rows.map(|doc| from_json(&doc.db()?)).collect()
}

/// See [`threadsync_storage::RoomStore::subscriptions_since`]; run in one snapshot.
pub(crate) fn subscriptions_since(
    conn: &Connection,
    user_id: &str,
    since: Option<Timestamp>,
) -> StorageResult<RosterChanges<Subscription>> {
    let updated = docs(
        conn,
        "SELECT doc FROM subscriptions WHERE user_id = ?1 AND updated_at > ?2 ORDER BY updated_at, id",
        user_id,
        since,
    )?;
    Ok(RosterChanges { updated, removed: removals_since(conn, user_id, since, false)? })
}

/// See [`threadsync_storage::RoomStore::rooms_since`]; run in one snapshot.
pub(crate) fn rooms_since(
    conn: &Connection,
    user_id: &str,
    since: Option<Timestamp>,
) -> StorageResult<RosterChanges<Room>> {
    let updated = docs(
        conn,
        "SELECT r.doc FROM subscriptions s JOIN rooms r ON r.id = s.rid \
         WHERE s.user_id = ?1 AND r.updated_at > ?2 ORDER BY r.updated_at, r.id",
        user_id,
        since,
    )?;
    Ok(RosterChanges { updated, removed: removals_since(conn, user_id, since, true)? })
}

pub(crate) fn members(conn: &Connection, rid: &str, offset: u64, limit: u64) -> StorageResult<Page<User>> {
    let sql = format!(
        "SELECT {} FROM subscriptions s JOIN users u ON u.id = s.user_id \
         WHERE s.rid = ?1 ORDER BY u.username_lower, u.id LIMIT ?2 OFFSET ?3",
        users::COLUMNS
    );
    let mut stmt = conn.prepare(&sql).db()?;
    let items = stmt
        .query_map(params![rid, sql_int(limit), sql_int(offset)], users::from_row)
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    let total: i64 = conn
        .cached_row(
            "SELECT count(*) FROM subscriptions s JOIN users u ON u.id = s.user_id WHERE s.rid = ?1",
            [rid],
            |row| row.get(0),
        )
        .db()?;
    Ok(Page { items, total: count(total) })
}

pub(crate) fn of_user(
    conn: &Connection,
    user_id: &str,
    types: &[RoomType],
    offset: u64,
    limit: u64,
) -> StorageResult<Page<Room>> {
    let types: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    let types = to_json(&types)?;
    // DMs have no name: they sort first, by id.
    let items = rooms_from(
        conn,
        "SELECT r.doc FROM subscriptions s JOIN rooms r ON r.id = s.rid \
         WHERE s.user_id = ?1 AND r.t IN (SELECT value FROM json_each(?2)) \
         ORDER BY coalesce(r.name_lower, ''), r.id LIMIT ?3 OFFSET ?4",
        params![user_id, types, sql_int(limit), sql_int(offset)],
    )?;
    let total: i64 = conn
        .cached_row(
            "SELECT count(*) FROM subscriptions s JOIN rooms r ON r.id = s.rid \
             WHERE s.user_id = ?1 AND r.t IN (SELECT value FROM json_each(?2))",
            params![user_id, types],
            |row| row.get(0),
        )
        .db()?;
    Ok(Page { items, total: count(total) })
}

/// See [`threadsync_storage::RoomStore::update_room`]: the room and, where
/// the change shows there, every member's subscription, under one tick.
pub(crate) fn update(conn: &Connection, rid: &str, change: &RoomChange) -> StorageResult<Option<Room>> {
    let Some(mut room) = load(conn, rid)? else { return Ok(None) };
    if let RoomChange::Name(name) = change {
        let taken = "SELECT 1 FROM rooms WHERE name_lower = ?1 AND t IN ('c', 'p') AND id <> ?2";
        if exists(conn, taken, params![fold(name), rid])? {
            return Err(StorageError::Conflict("room_name"));
        }
    }
    let stamp = clock::tick(conn, rid)?;
    change.apply(&mut room, stamp);
    save(conn, &room)?;
    if let RoomChange::JoinCode(code) = change {
        conn.cached_execute("UPDATE rooms SET join_code = ?2 WHERE id = ?1", params![rid, code]).db()?;
    }
    if change.shows_in_subscriptions() {
        let mut stmt = conn.prepare_cached("SELECT doc FROM subscriptions WHERE rid = ?1").db()?;
        let docs = stmt.query_map([rid], |row| row.get::<_, String>(0)).db()?;
        let subscriptions: Vec<Subscription> =
            docs.map(|doc| from_json(&doc.db()?)).collect::<StorageResult<_>>()?;
        for mut subscription in subscriptions {
            change.apply_to_subscription(&mut subscription, stamp);
            save_subscription(conn, &subscription)?;
        }
    }
    Ok(Some(room))
}

/// See [`threadsync_storage::RoomStore::room_join_code`].
pub(crate) fn join_code(conn: &Connection, rid: &str) -> StorageResult<Option<String>> {
    let mut stmt = conn.prepare_cached("SELECT join_code FROM rooms WHERE id = ?1").db()?;
    let code = stmt.query_row([rid], |row| row.get::<_, Option<String>>(0)).optional().db()?;
    Ok(code.flatten())
}

/// See [`threadsync_storage::RoomStore::room_role_holders`].
pub(crate) fn role_holders(conn: &Connection, rid: &str) -> StorageResult<Vec<Subscription>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT doc FROM subscriptions WHERE rid = ?1 \
             AND json_array_length(coalesce(json_extract(doc, '$.roles'), '[]')) > 0 \
             ORDER BY json_extract(doc, '$.u.username'), id",
        )
        .db()?;
    let docs = stmt.query_map([rid], |row| row.get::<_, String>(0)).db()?;
    docs.map(|doc| from_json(&doc.db()?)).collect()
}

/// Every room of the query's types whose name contains the text, by name.
pub(crate) fn list(conn: &Connection, query: &RoomListQuery) -> StorageResult<Page<Room>> {
    let types: Vec<&str> = query.types.iter().map(|t| t.as_str()).collect();
    let types = to_json(&types)?;
    // `instr` on the folded name: the text is matched as it is, no pattern.
    let needle = query.name_contains.as_deref().map(fold).unwrap_or_default();
    let filter = "r.t IN (SELECT value FROM json_each(?1)) AND instr(coalesce(r.name_lower, ''), ?2) > 0";
    let items = rooms_from(
        conn,
        &format!(
            "SELECT r.doc FROM rooms r WHERE {filter} \
             ORDER BY coalesce(r.name_lower, ''), r.id LIMIT ?3 OFFSET ?4"
        ),
        params![types, needle, sql_int(query.count), sql_int(query.offset)],
    )?;
    let total: i64 = conn
        .cached_row(&format!("SELECT count(*) FROM rooms r WHERE {filter}"), params![types, needle], |row| {
            row.get(0)
        })
        .db()?;
    Ok(Page { items, total: count(total) })
}

/// Removes `tmid` from the user's `tunread`, stamping the subscription with
/// the room clock; `None` when there was nothing to clear.
pub(crate) fn set_read_state(
    conn: &Connection,
    rid: &str,
    user_id: &str,
    change: threadsync_storage::ReadChange,
) -> StorageResult<Option<Subscription>> {
    let Some(mut subscription) = subscription(conn, rid, user_id)? else { return Ok(None) };
    if matches!(&change, threadsync_storage::ReadChange::Role { role, on: false } if role == "owner")
        && only_owner(conn, rid, user_id)?
    {
        return Err(StorageError::Invalid("last owner"));
    }
    change.apply(&mut subscription, crate::clock::tick(conn, rid)?);
    save_subscription(conn, &subscription)?;
    Ok(Some(subscription))
}

pub(crate) fn mark_thread_read(
    conn: &Connection,
    rid: &str,
    user_id: &str,
    tmid: &str,
) -> StorageResult<Option<Subscription>> {
    let Some(mut subscription) = subscription(conn, rid, user_id)? else { return Ok(None) };
    if !subscription.tunread.iter().any(|t| t == tmid) {
        return Ok(None);
    }
    subscription.tunread.retain(|t| t != tmid);
    subscription.updated_at = crate::clock::tick(conn, rid)?;
    save_subscription(conn, &subscription)?;
    Ok(Some(subscription))
}
