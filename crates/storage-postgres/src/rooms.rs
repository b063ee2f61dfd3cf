//! Rooms and subscriptions.
//!
//! Both are stored as their domain document (`doc`, JSONB) plus the columns
//! queries filter on. Writes are read-modify-write of the whole document,
//! done under the room's clock lock (clock.rs), so `doc` and the columns
//! never disagree and no concurrent update is lost. The `clock` column is
//! the exception: only clock.rs touches it, and [`save`] leaves it alone.

use crate::clock;
use crate::db::{count, get, sql_int, to_json, Conn};
use crate::users::{self, fold};
use std::collections::HashSet;
use threadsync_domain::{Room, RoomType, Subscription, Timestamp, User};
use threadsync_storage::{
    Page, RoomChange, RoomListQuery, RosterChanges, StorageError, StorageResult, SubscriptionTombstone,
};

/// The key that finds a direct-message room by its members: the ids sorted
/// and deduplicated, as a JSON array (the same text as the SQLite backend).
fn dm_key(uids: &[String]) -> StorageResult<String> {
    let mut ids: Vec<&str> = uids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    serde_json::to_string(&ids).map_err(|e| StorageError::Backend(format!("serialising a dm key: {e}")))
}

fn is_named_type(t: RoomType) -> bool {
    matches!(t, RoomType::Channel | RoomType::Group)
}

fn name_lower(room: &Room) -> Option<String> {
    room.name.as_deref().map(fold)
}

fn room_dm_key(room: &Room) -> StorageResult<Option<String>> {
    match room.t {
        RoomType::Direct => Ok(Some(dm_key(&room.uids)?)),
        _ => Ok(None),
    }
}

pub(crate) async fn load(c: &dyn Conn, id: &str) -> StorageResult<Option<Room>> {
    c.opt("SELECT doc FROM rooms WHERE id = $1", &[&id]).await?.map(|row| crate::db::doc(&row, 0)).transpose()
}

/// The type of a room, without its document.
pub(crate) async fn type_of(c: &dyn Conn, id: &str) -> StorageResult<Option<RoomType>> {
    let Some(row) = c.opt("SELECT t FROM rooms WHERE id = $1", &[&id]).await? else { return Ok(None) };
    let t: String = crate::db::get(&row, 0)?;
    RoomType::parse(&t).map(Some).ok_or_else(|| StorageError::Backend(format!("unknown room type {t:?}")))
}

/// Rewrites a room's document and columns (not its clock).
pub(crate) async fn save(c: &dyn Conn, room: &Room) -> StorageResult<()> {
    let doc = to_json(room)?;
    c.exec(
        "UPDATE rooms SET t = $2, name = $3, name_lower = $4, dm_key = $5, is_default = $6, \
                          ts = $7, updated_at = $8, doc = $9 \
         WHERE id = $1",
        &[
            &room.id,
            &room.t.as_str(),
            &room.name,
            &name_lower(room),
            &room_dm_key(room)?,
            &room.is_default,
            &room.ts.millis(),
            &room.updated_at.millis(),
            &doc,
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn create(c: &dyn Conn, room: &Room, subscriptions: &[Subscription]) -> StorageResult<Room> {
    if c.exists("SELECT 1 FROM rooms WHERE id = $1", &[&room.id]).await? {
        return Err(StorageError::Conflict("id"));
    }
    let mut room = room.clone();
    if room.t == RoomType::Direct {
        // Keep the documented form: members sorted by id, no duplicates.
        room.uids.sort_unstable();
        room.uids.dedup();
    }
    let lower = name_lower(&room);
    if is_named_type(room.t) {
        if let Some(lower) = &lower {
            if c.exists("SELECT 1 FROM rooms WHERE name_lower = $1 AND t IN ('c', 'p')", &[lower]).await? {
                return Err(StorageError::Conflict("room_name"));
            }
        }
    }
    let doc = to_json(&room)?;
    // A concurrent create of the same id or name waits on the unique index
    // and then fails on it (Conflict, mapped in db.rs).
    c.exec(
        "INSERT INTO rooms (id, t, name, name_lower, dm_key, is_default, ts, updated_at, clock, doc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)",
        &[
            &room.id,
            &room.t.as_str(),
            &room.name,
            &lower,
            &room_dm_key(&room)?,
            &room.is_default,
            &room.ts.millis(),
            &room.updated_at.millis(),
            &doc,
        ],
    )
    .await?;
    // The room and its first subscriptions share the creation tick: they are
    // different collections, uniqueness of stamps matters within messages.
    let stamp = clock::tick(c, &room.id).await?;
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
        insert_subscription(c, &subscription).await?;
    }
    room.users_count = i64::try_from(members.len()).unwrap_or(i64::MAX);
    room.updated_at = stamp;
    save(c, &room).await?;
    Ok(room)
}

async fn rooms_from(c: &dyn Conn, sql: &str, params: crate::db::Params<'_>) -> StorageResult<Vec<Room>> {
    c.rows(sql, params).await?.iter().map(|row| crate::db::doc(row, 0)).collect()
}

pub(crate) async fn by_name(c: &dyn Conn, name: &str) -> StorageResult<Option<Room>> {
    // Same predicate as the partial unique index, so the index is used.
    let lower = fold(name);
    c.opt("SELECT doc FROM rooms WHERE name_lower = $1 AND t IN ('c', 'p')", &[&lower])
        .await?
        .map(|row| crate::db::doc(&row, 0))
        .transpose()
}

pub(crate) async fn direct(c: &dyn Conn, uids: &[String]) -> StorageResult<Option<Room>> {
    // Should two DMs with the same members exist (the trait has no rule
    // against it), the oldest one is the answer, consistently.
    let key = dm_key(uids)?;
    let rooms =
        rooms_from(c, "SELECT doc FROM rooms WHERE dm_key = $1 AND t = 'd' ORDER BY ts, id LIMIT 1", &[&key])
            .await?;
    Ok(rooms.into_iter().next())
}

pub(crate) async fn defaults(c: &dyn Conn) -> StorageResult<Vec<Room>> {
    rooms_from(
        c,
        "SELECT doc FROM rooms WHERE is_default ORDER BY coalesce(name_lower, '') COLLATE \"C\", id",
        &[],
    )
    .await
}

pub(crate) async fn delete(c: &dyn Conn, id: &str) -> StorageResult<bool> {
    // The room's lock first: writers of the room in flight finish before,
    // later ones find no room.
    if !c.exists("SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE", &[&id]).await? {
        return Ok(false);
    }
    // Every member's subscription leaves a tombstone, each with its own tick.
    let members = c.rows("SELECT id, user_id FROM subscriptions WHERE rid = $1 ORDER BY id", &[&id]).await?;
    for row in &members {
        let (sid, user_id): (String, String) = (get(row, 0)?, get(row, 1)?);
        bury(c, &sid, id, &user_id, true).await?;
    }
    // The foreign keys cascade too; explicit deletes keep the rule visible.
    c.exec("DELETE FROM subscriptions WHERE rid = $1", &[&id]).await?;
    c.exec("DELETE FROM messages WHERE rid = $1", &[&id]).await?;
    c.exec("DELETE FROM tombstones WHERE rid = $1", &[&id]).await?;
    let removed = c.exec("DELETE FROM rooms WHERE id = $1", &[&id]).await?;
    Ok(removed > 0)
}

pub(crate) async fn subscription(
    c: &dyn Conn,
    rid: &str,
    user_id: &str,
) -> StorageResult<Option<Subscription>> {
    c.opt("SELECT doc FROM subscriptions WHERE rid = $1 AND user_id = $2", &[&rid, &user_id])
        .await?
        .map(|row| crate::db::doc(&row, 0))
        .transpose()
}

async fn insert_subscription(c: &dyn Conn, subscription: &Subscription) -> StorageResult<()> {
    let doc = to_json(subscription)?;
    c.exec(
        "INSERT INTO subscriptions (id, rid, user_id, updated_at, doc) VALUES ($1, $2, $3, $4, $5)",
        &[&subscription.id, &subscription.rid, &subscription.u.id, &subscription.updated_at.millis(), &doc],
    )
    .await?;
    Ok(())
}

/// Rewrites a subscription's document (found by its id).
pub(crate) async fn save_subscription(c: &dyn Conn, subscription: &Subscription) -> StorageResult<()> {
    let doc = to_json(subscription)?;
    c.exec(
        "UPDATE subscriptions SET updated_at = $2, doc = $3 WHERE id = $1",
        &[&subscription.id, &subscription.updated_at.millis(), &doc],
    )
    .await?;
    Ok(())
}

/// Adds a member, stamped with `stamp`, and counts it in the room's
/// `usersCount`. `Ok(false)` if the user already has a subscription. The
/// caller holds the room's lock.
pub(crate) async fn join(
    c: &dyn Conn,
    room: &mut Room,
    subscription: &Subscription,
    stamp: Timestamp,
) -> StorageResult<bool> {
    if subscription.rid != room.id {
        return Err(StorageError::Invalid("subscription rid"));
    }
    if c.exists(
        "SELECT 1 FROM subscriptions WHERE rid = $1 AND user_id = $2",
        &[&room.id, &subscription.u.id],
    )
    .await?
    {
        return Ok(false);
    }
    let mut subscription = subscription.clone();
    subscription.updated_at = stamp;
    insert_subscription(c, &subscription).await?;
    room.users_count += 1;
    Ok(true)
}

pub(crate) async fn add_subscription(c: &dyn Conn, subscription: &Subscription) -> StorageResult<bool> {
    // The tick first: it locks the room (NotFound when there is none), so
    // the membership check below cannot race another join.
    let stamp = clock::tick(c, &subscription.rid).await?;
    let mut room = load(c, &subscription.rid).await?.ok_or(StorageError::NotFound("room"))?;
    if !join(c, &mut room, subscription, stamp).await? {
        return Ok(false);
    }
    room.updated_at = stamp;
    save(c, &room).await?;
    Ok(true)
}

pub(crate) async fn remove_subscription(
    c: &dyn Conn,
    rid: &str,
    user_id: &str,
    keep_an_owner: bool,
) -> StorageResult<bool> {
    // The room's lock first: two owners leaving at once are serialised, so
    // the second sees that the first is gone. No room, no subscriptions
    // (they cascade with it).
    let stamp = match clock::tick(c, rid).await {
        Ok(stamp) => stamp,
        Err(StorageError::NotFound(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    const IS_OWNER: &str = "doc->'roles' ? 'owner'";
    if keep_an_owner
        && c.exists(
            &format!("SELECT 1 FROM subscriptions WHERE rid = $1 AND user_id = $2 AND {IS_OWNER}"),
            &[&rid, &user_id],
        )
        .await?
        && !c
            .exists(
                &format!(
                    "SELECT 1 FROM subscriptions WHERE rid = $1 AND user_id <> $2 AND {IS_OWNER} LIMIT 1"
                ),
                &[&rid, &user_id],
            )
            .await?
    {
        return Err(StorageError::Invalid("last owner"));
    }
    let Some(removed) = c
        .opt("DELETE FROM subscriptions WHERE rid = $1 AND user_id = $2 RETURNING id", &[&rid, &user_id])
        .await?
    else {
        return Ok(false);
    };
    let sid: String = get(&removed, 0)?;
    bury(c, &sid, rid, user_id, false).await?;
    if let Some(mut room) = load(c, rid).await? {
        room.users_count = (room.users_count - 1).max(0);
        room.updated_at = stamp;
        save(c, &room).await?;
    }
    Ok(true)
}

/// Leaves the tombstone of subscription `sid`, stamped with a tick of the
/// room's clock (the room must still exist).
async fn bury(c: &dyn Conn, sid: &str, rid: &str, user_id: &str, room_deleted: bool) -> StorageResult<()> {
    let stamp = clock::tick(c, rid).await?;
    c.exec(
        "INSERT INTO subscription_tombstones (id, rid, user_id, deleted_at, room_deleted) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE \
         SET deleted_at = EXCLUDED.deleted_at, room_deleted = EXCLUDED.room_deleted",
        &[&sid, &rid, &user_id, &stamp.millis(), &room_deleted],
    )
    .await?;
    Ok(())
}

async fn removals_since(
    c: &dyn Conn,
    user_id: &str,
    since: Option<Timestamp>,
    rooms_only: bool,
) -> StorageResult<Vec<SubscriptionTombstone>> {
    let Some(since) = since else {
        return Ok(Vec::new());
    };
    let sql = if rooms_only {
        "SELECT id, rid, user_id, deleted_at, room_deleted FROM subscription_tombstones \
         WHERE user_id = $1 AND deleted_at > $2 AND room_deleted ORDER BY deleted_at, id"
    } else {
        "SELECT id, rid, user_id, deleted_at, room_deleted FROM subscription_tombstones \
         WHERE user_id = $1 AND deleted_at > $2 ORDER BY deleted_at, id"
    };
    c.rows(sql, &[&user_id, &since.millis()])
        .await?
        .iter()
        .map(|row| {
            Ok(SubscriptionTombstone {
                id: get(row, 0)?,
                rid: get(row, 1)?,
                user_id: get(row, 2)?,
                deleted_at: Timestamp(get(row, 3)?),
                room_deleted: get(row, 4)?,
            })
        })
        .collect()
}

/// See [`threadsync_storage::RoomStore::subscriptions_since`] (the caller
/// runs it in one REPEATABLE READ transaction).
pub(crate) async fn subscriptions_since(
    c: &dyn Conn,
    user_id: &str,
    since: Option<Timestamp>,
) -> StorageResult<RosterChanges<Subscription>> {
    let after = since.map_or(i64::MIN, Timestamp::millis);
    let updated = c
        .rows(
            "SELECT doc FROM subscriptions WHERE user_id = $1 AND updated_at > $2 ORDER BY updated_at, id",
            &[&user_id, &after],
        )
        .await?
        .iter()
        .map(|row| crate::db::doc(row, 0))
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(RosterChanges { updated, removed: removals_since(c, user_id, since, false).await? })
}

/// See [`threadsync_storage::RoomStore::rooms_since`] (one REPEATABLE READ
/// transaction, as [`subscriptions_since`]).
pub(crate) async fn rooms_since(
    c: &dyn Conn,
    user_id: &str,
    since: Option<Timestamp>,
) -> StorageResult<RosterChanges<Room>> {
    let after = since.map_or(i64::MIN, Timestamp::millis);
    let updated = rooms_from(
        c,
        "SELECT r.doc FROM subscriptions s JOIN rooms r ON r.id = s.rid \
         WHERE s.user_id = $1 AND r.updated_at > $2 ORDER BY r.updated_at, r.id",
        &[&user_id, &after],
    )
    .await?;
    Ok(RosterChanges { updated, removed: removals_since(c, user_id, since, true).await? })
}

/// Members of a room by username; the page and the total read one snapshot
/// (the caller runs both in one REPEATABLE READ transaction).
pub(crate) async fn members(c: &dyn Conn, rid: &str, offset: u64, limit: u64) -> StorageResult<Page<User>> {
    let sql = format!(
        "SELECT {} FROM subscriptions s JOIN users u ON u.id = s.user_id \
         WHERE s.rid = $1 ORDER BY u.username_lower, u.id LIMIT $2 OFFSET $3",
        users::COLUMNS
    );
    let items = c
        .rows(&sql, &[&rid, &sql_int(limit), &sql_int(offset)])
        .await?
        .iter()
        .map(users::from_row)
        .collect::<StorageResult<Vec<_>>>()?;
    let row = c
        .one(
            "SELECT count(*) FROM subscriptions s JOIN users u ON u.id = s.user_id WHERE s.rid = $1",
            &[&rid],
        )
        .await?;
    Ok(Page { items, total: count(get(&row, 0)?) })
}

/// Rooms of a user by name (DMs, which have none, first by id); page and
/// total in one snapshot, as [`members`].
pub(crate) async fn of_user(
    c: &dyn Conn,
    user_id: &str,
    types: &[RoomType],
    offset: u64,
    limit: u64,
) -> StorageResult<Page<Room>> {
    let types: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    let items = rooms_from(
        c,
        "SELECT r.doc FROM subscriptions s JOIN rooms r ON r.id = s.rid \
         WHERE s.user_id = $1 AND r.t = ANY($2) \
         ORDER BY coalesce(r.name_lower, '') COLLATE \"C\", r.id LIMIT $3 OFFSET $4",
        &[&user_id, &types, &sql_int(limit), &sql_int(offset)],
    )
    .await?;
    let row = c
        .one(
            "SELECT count(*) FROM subscriptions s JOIN rooms r ON r.id = s.rid \
             WHERE s.user_id = $1 AND r.t = ANY($2)",
            &[&user_id, &types],
        )
        .await?;
    Ok(Page { items, total: count(get(&row, 0)?) })
}

/// See [`threadsync_storage::RoomStore::update_room`]: the room (locked by
/// its tick) and, where the change shows there, every member's
/// subscription, in the caller's transaction.
pub(crate) async fn update(c: &dyn Conn, rid: &str, change: &RoomChange) -> StorageResult<Option<Room>> {
    let Some(stamp) = tick_if_room(c, rid).await? else { return Ok(None) };
    let Some(mut room) = load(c, rid).await? else { return Ok(None) };
    if let RoomChange::Name(name) = change {
        // A concurrent rename to the same name is caught by the unique
        // index (Conflict, mapped in db.rs).
        let taken = "SELECT 1 FROM rooms WHERE name_lower = $1 AND t IN ('c', 'p') AND id <> $2";
        if c.exists(taken, &[&fold(name), &rid]).await? {
            return Err(StorageError::Conflict("room_name"));
        }
    }
    change.apply(&mut room, stamp);
    save(c, &room).await?;
    if let RoomChange::JoinCode(code) = change {
        c.exec("UPDATE rooms SET join_code = $2 WHERE id = $1", &[&rid, code]).await?;
    }
    if change.shows_in_subscriptions() {
        let rows = c.rows("SELECT doc FROM subscriptions WHERE rid = $1", &[&rid]).await?;
        for row in &rows {
            let mut subscription: Subscription = crate::db::doc(row, 0)?;
            change.apply_to_subscription(&mut subscription, stamp);
            save_subscription(c, &subscription).await?;
        }
    }
    Ok(Some(room))
}

/// See [`threadsync_storage::RoomStore::room_join_code`].
pub(crate) async fn join_code(c: &dyn Conn, rid: &str) -> StorageResult<Option<String>> {
    let rows = c.rows("SELECT join_code FROM rooms WHERE id = $1", &[&rid]).await?;
    match rows.first() {
        Some(row) => get(row, 0),
        None => Ok(None),
    }
}

/// See [`threadsync_storage::RoomStore::room_role_holders`] (usernames in
/// byte order, as SQLite compares them).
pub(crate) async fn role_holders(c: &dyn Conn, rid: &str) -> StorageResult<Vec<Subscription>> {
    c.rows(
        "SELECT doc FROM subscriptions WHERE rid = $1 \
         AND jsonb_array_length(coalesce(doc->'roles', '[]'::jsonb)) > 0 \
         ORDER BY doc->'u'->>'username' COLLATE \"C\", id",
        &[&rid],
    )
    .await?
    .iter()
    .map(|row| crate::db::doc(row, 0))
    .collect()
}

/// Every room of the query's types whose name contains the text, by name
/// (byte order, as SQLite and the other listings sort).
pub(crate) async fn list(c: &dyn Conn, query: &RoomListQuery) -> StorageResult<Page<Room>> {
    let types: Vec<&str> = query.types.iter().map(|t| t.as_str()).collect();
    // `strpos` on the folded name: the text is matched as it is, no pattern.
    let needle = query.name_contains.as_deref().map(fold).unwrap_or_default();
    let filter = "r.t = ANY($1) AND strpos(coalesce(r.name_lower, ''), $2) > 0";
    let items = rooms_from(
        c,
        &format!(
            "SELECT r.doc FROM rooms r WHERE {filter} \
             ORDER BY coalesce(r.name_lower, '') COLLATE \"C\", r.id LIMIT $3 OFFSET $4"
        ),
        &[&types, &needle, &sql_int(query.count), &sql_int(query.offset)],
    )
    .await?;
    let row = c.one(&format!("SELECT count(*) FROM rooms r WHERE {filter}"), &[&types, &needle]).await?;
    Ok(Page { items, total: count(get(&row, 0)?) })
}

/// Removes `tmid` from the user's `tunread`. The room clock is taken first:
/// its row lock orders this against a concurrent reply that adds to the same
/// `tunread`, so neither write can overwrite the other's.
/// The room's next tick, or `None` when there is no such room: a read-state
/// change for a room that does not exist (or no longer does) finds no
/// subscription, like one for a room the user is not in. The tick comes
/// first because it takes the room's row lock, which keeps the
/// subscription's read-modify-write below from racing another writer.
async fn tick_if_room(c: &dyn Conn, rid: &str) -> StorageResult<Option<Timestamp>> {
    match clock::tick(c, rid).await {
        Ok(stamp) => Ok(Some(stamp)),
        Err(StorageError::NotFound("room")) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) async fn set_read_state(
    c: &dyn Conn,
    rid: &str,
    user_id: &str,
    change: threadsync_storage::ReadChange,
) -> StorageResult<Option<Subscription>> {
    let Some(stamp) = tick_if_room(c, rid).await? else { return Ok(None) };
    let Some(mut subscription) = subscription(c, rid, user_id).await? else { return Ok(None) };
    // Under the room's lock (taken by the tick): two owners demoting each
    // other at once are serialised, so the second sees the first's change.
    if matches!(&change, threadsync_storage::ReadChange::Role { role, on: false } if role == "owner")
        && subscription.roles.iter().any(|r| r == "owner")
        && !c
            .exists(
                "SELECT 1 FROM subscriptions WHERE rid = $1 AND user_id <> $2 AND doc->'roles' ? 'owner' LIMIT 1",
                &[&rid, &user_id],
            )
            .await?
    {
        return Err(StorageError::Invalid("last owner"));
    }
    change.apply(&mut subscription, stamp);
    save_subscription(c, &subscription).await?;
    Ok(Some(subscription))
}

pub(crate) async fn mark_thread_read(
    c: &dyn Conn,
    rid: &str,
    user_id: &str,
    tmid: &str,
) -> StorageResult<Option<Subscription>> {
    let Some(stamp) = tick_if_room(c, rid).await? else { return Ok(None) };
    let Some(mut subscription) = subscription(c, rid, user_id).await? else { return Ok(None) };
    if !subscription.tunread.iter().any(|t| t == tmid) {
        return Ok(None);
    }
    subscription.tunread.retain(|t| t != tmid);
    subscription.updated_at = stamp;
    save_subscription(c, &subscription).await?;
    Ok(Some(subscription))
}
