//! Messages, thread bookkeeping and tombstones.
//!
//! A message row holds the full serde_json form of the domain `Message` in
//! `doc` (so fields threadsync does not model round-trip) and copies of the
//! fields the queries use (`rid`, `tmid`, `ts`, `updated_at`, `tlm`,
//! `tcount`, `u_id`, `t`), rewritten from the document on every write.
//!
//! Every function here runs inside one writer transaction, and stamps every
//! document it touches with its own tick of the room clock (clock.rs).

use crate::clock;
use crate::db::{exists, from_json, to_json, Cached, Db};
use crate::rooms;
use rusqlite::{params, Connection, OptionalExtension};
use threadsync_domain::{Message, Timestamp};
use threadsync_storage::{
    rules, Deletion, MemberCounters, MessageEdit, MessagePlace, NewMessage, StorageError, StorageResult,
};

pub(crate) fn load(conn: &Connection, id: &str) -> StorageResult<Option<Message>> {
    conn.cached_row("SELECT doc FROM messages WHERE id = ?1", [id], |row| row.get::<_, String>(0))
        .optional()
        .db()?
        .map(|doc| from_json(&doc))
        .transpose()
}

/// The room and thread of a message, without decoding its document.
pub(crate) fn place_of(conn: &Connection, id: &str) -> StorageResult<Option<MessagePlace>> {
    conn.cached_row("SELECT rid, tmid FROM messages WHERE id = ?1", [id], |row| {
        Ok(MessagePlace { rid: row.get(0)?, tmid: row.get(1)? })
    })
    .optional()
    .db()
}

pub(crate) fn insert_row(conn: &Connection, m: &Message) -> StorageResult<()> {
    conn.cached_execute(
        "INSERT INTO messages (id, rid, tmid, ts, updated_at, tlm, tcount, u_id, t, doc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            m.id,
            m.rid,
            m.tmid,
            m.ts.millis(),
            m.updated_at.millis(),
            m.tlm.map(Timestamp::millis),
            m.tcount,
            m.u.id,
            m.t,
            to_json(m)?,
        ],
    )
    .db()?;
    Ok(())
}

/// Rewrites a stored message. A message's room, thread, `ts` and author id
/// are fixed when it is inserted (edits, reactions, marks, placeholders,
/// thread bookkeeping and renames change none of them), so only the
/// columns that can change are set: SQLite rewrites the entries of every
/// index over a column the statement sets, changed or not, and setting the
/// fixed ones too had each reply rewrite its parent's entries in the room's
/// and thread's `ts` indexes for nothing (pages written to the WAL).
pub(crate) fn update_row(conn: &Connection, m: &Message) -> StorageResult<()> {
    conn.cached_execute(
        "UPDATE messages SET updated_at = ?2, tlm = ?3, tcount = ?4, t = ?5, doc = ?6 WHERE id = ?1",
        params![m.id, m.updated_at.millis(), m.tlm.map(Timestamp::millis), m.tcount, m.t, to_json(m)?,],
    )
    .db()?;
    Ok(())
}

pub(crate) fn insert(conn: &Connection, new: NewMessage) -> StorageResult<Message> {
    let NewMessage { mut message, reply, join, counters } = new;
    // The room's document is decoded only when the sender joins with this
    // message (`join` edits it); its message counters are always edited in
    // place (`rooms::count_message`), which keeps the writer's work per
    // message small (BENCHMARKS.md, `s4`).
    let joined_room = match &join {
        Some(_) => Some(rooms::load(conn, &message.rid)?.ok_or(StorageError::NotFound("room"))?),
        None if exists(conn, "SELECT 1 FROM rooms WHERE id = ?1", [&message.rid])? => None,
        None => return Err(StorageError::NotFound("room")),
    };
    if exists(conn, "SELECT 1 FROM messages WHERE id = ?1", [&message.id])? {
        return Err(StorageError::Conflict("id"));
    }
    // Validate the thread before writing anything.
    let parent = match &message.tmid {
        Some(tmid) => load(conn, tmid)?,
        None => None,
    };
    let parent = rules::check_parent(&message, reply.is_some(), parent)?;

    // The reply takes tick t, its parent t + 1 (one tick per document).
    let stamp = clock::tick(conn, &message.rid)?;
    rules::stamp_new(&mut message, stamp);
    let mut last = stamp;
    if let (Some(subscription), Some(mut room)) = (&join, joined_room) {
        rooms::join(conn, &mut room, subscription, stamp)?;
        rooms::save(conn, &room)?;
    }
    // A re-used id lives again: drop its old tombstone, or sync would report
    // the message as both present and removed.
    conn.cached_execute("DELETE FROM tombstones WHERE id = ?1", [&message.id]).db()?;
    insert_row(conn, &message)?;
    if let Some(counters) = &counters {
        count_for_members(conn, &message, counters, stamp)?;
    }

    if let Some(mut parent) = parent {
        let parent_stamp = clock::tick(conn, &message.rid)?;
        last = parent_stamp;
        rules::apply_reply(
            &mut parent,
            &message,
            reply.map(|r| r.add_followers).unwrap_or_default(),
            parent_stamp,
        );
        update_row(conn, &parent)?;
        mark_thread_unread(conn, &parent, &message.u.id, parent_stamp)?;
    }

    rooms::count_message(conn, &message.rid, stamp, last)?;
    Ok(message)
}

/// Followers other than the sender who are members learn of a new reply
/// through `tunread`: the thread is appended to the `tunread` of each of
/// their subscriptions in the room that does not hold it yet, stamped
/// `stamp` (the parent's tick: subscriptions are another collection, and
/// each belongs to another user). Subscriptions that already list the
/// thread are not touched, so they keep their stamp (nothing changed for
/// their user).
///
/// Which followers to look at: all of them, unless `thread_unread_marks`
/// (migration 13) still holds a row for the thread with the same follower
/// list. That row says every follower but the previous reply's sender has
/// the thread already (its triggers forget it whenever a subscription loses
/// the thread or someone joins the room), so only that sender can lack it.
/// In a busy thread that turns a visit of every follower (dozens) into one
/// key lookup; the visit was a quarter of the writer thread's time in the
/// profile of `s4` (BENCHMARKS.md).
///
/// The followers looked at are updated in one statement, editing the
/// documents in place with SQLite's JSON functions, and finding those that
/// need it through `subscription_tunread` (migration 3) instead of decoding
/// each document: the followers who already have the thread are one range
/// of its primary key. Loading, decoding, re-encoding and saving each
/// subscription in Rust was 40% of the writer thread's time in an earlier
/// profile. The update trigger adds the new rows of `subscription_tunread`.
fn mark_thread_unread(
    conn: &Connection,
    parent: &Message,
    sender: &str,
    stamp: Timestamp,
) -> StorageResult<()> {
    let followers = rules::unread_followers(parent, sender);
    let digest = followers_digest(parent);
    let last_mark: Option<(String, i64)> = conn
        .cached_row(
            "SELECT sender, followers FROM thread_unread_marks WHERE tmid = ?1",
            [&parent.id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .db()?;
    match last_mark {
        // The common case: at most the last sender lacks the thread. One
        // key lookup; the statement below opens temporary b-trees for its
        // list and its EXCEPT, which cost more than the lookup itself.
        Some((last_sender, last_digest)) if last_digest == digest => {
            if followers.contains(&last_sender.as_str()) {
                conn.cached_execute(
                    "UPDATE subscriptions \
                        SET updated_at = ?3, doc = json_set(doc, '$.tunread[#]', ?2, '$._updatedAt', ?4) \
                      WHERE rid = ?1 AND user_id = ?5 \
                        AND NOT EXISTS (SELECT 1 FROM subscription_tunread \
                                         WHERE rid = ?1 AND tmid = ?2 AND user_id = ?5)",
                    params![parent.rid, parent.id, stamp.millis(), stamp.to_iso(), last_sender],
                )
                .db()?;
            }
        }
        _ if followers.is_empty() => {}
        _ => {
            let followers =
                serde_json::to_string(&followers).map_err(|e| StorageError::Backend(e.to_string()))?;
            conn.cached_execute(
                "UPDATE subscriptions \
                    SET updated_at = ?3, doc = json_set(doc, '$.tunread[#]', ?2, '$._updatedAt', ?4) \
                  WHERE rid = ?1 \
                    AND user_id IN (SELECT value FROM json_each(?5) \
                                    EXCEPT SELECT user_id FROM subscription_tunread WHERE rid = ?1 AND tmid = ?2)",
                params![parent.rid, parent.id, stamp.millis(), stamp.to_iso(), followers],
            )
            .db()?;
        }
    }
    // Written after the update: whatever its triggers forgot, every
    // follower but `sender` now has the thread. A thread's room never
    // changes (a parent's deletion deletes its row before its id can be
    // reused), so a conflict leaves `rid` and its index entry alone.
    conn.cached_execute(
        "INSERT INTO thread_unread_marks (tmid, rid, sender, followers) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (tmid) DO UPDATE SET sender = excluded.sender, followers = excluded.followers",
        params![parent.id, parent.rid, sender, digest],
    )
    .db()?;
    Ok(())
}

/// A digest of a thread's follower list, to tell whether it changed since
/// the last reply's mark. Any hash will do: one that differs after an
/// upgrade of the toolchain only costs one full visit of the followers;
/// two lists with the same 64-bit digest are the only way a change goes
/// unseen.
fn followers_digest(parent: &Message) -> i64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    parent.replies.hash(&mut hasher);
    // Stored as SQLite's signed integer, bit for bit.
    hasher.finish() as i64
}

/// The new message's effect on the room's subscriptions
/// ([`MemberCounters`], whose `apply` and `sender` this mirrors), stamped
/// with the message's tick: one statement for the other members, touching
/// only the subscriptions that change (in a busy room most members are
/// already alerted, and keep their stamp), and one for the sender's.
fn count_for_members(
    conn: &Connection,
    message: &Message,
    counters: &MemberCounters,
    stamp: Timestamp,
) -> StorageResult<()> {
    let mentioned =
        serde_json::to_string(&counters.mentioned).map_err(|e| StorageError::Backend(e.to_string()))?;
    conn.cached_execute(
        "WITH mentioned(uid) AS (SELECT value FROM json_each(?4))          UPDATE subscriptions             SET updated_at = ?3,                 doc = json_set(doc, '$.alert', json('true'), '$.open', json('true'),                    '$.unread', coalesce(json_extract(doc, '$.unread'), 0)                                + CASE WHEN user_id IN mentioned THEN ?5 ELSE ?6 END,                    '$.userMentions', coalesce(json_extract(doc, '$.userMentions'), 0)                                      + CASE WHEN user_id IN mentioned THEN 1 ELSE 0 END,                    '$.groupMentions', coalesce(json_extract(doc, '$.groupMentions'), 0)                                       + CASE WHEN user_id IN mentioned THEN 0 ELSE ?7 END,                    '$._updatedAt', ?8)           WHERE rid = ?1 AND user_id <> ?2             AND (user_id IN mentioned OR ?6 <> 0 OR ?7 <> 0                  OR coalesce(json_extract(doc, '$.alert'), 0) <> 1                  OR coalesce(json_extract(doc, '$.open'), 0) <> 1)",
        params![
            message.rid,
            message.u.id,
            stamp.millis(),
            mentioned,
            counters.mentioned_unread,
            counters.others_unread,
            counters.others_group,
            stamp.to_iso(),
        ],
    )
    .db()?;
    conn.cached_execute(
        "UPDATE subscriptions             SET updated_at = ?3,                 doc = json_set(doc, '$.ls', ?4, '$.open', json('true'), '$.alert', json('false'),                                '$.unread', 0, '$.userMentions', 0, '$.groupMentions', 0,                                '$._updatedAt', ?4)           WHERE rid = ?1 AND user_id = ?2",
        params![message.rid, message.u.id, stamp.millis(), stamp.to_iso()],
    )
    .db()?;
    Ok(())
}

pub(crate) fn edit(conn: &Connection, id: &str, edit: MessageEdit) -> StorageResult<Message> {
    let mut message = load(conn, id)?.ok_or(StorageError::NotFound("message"))?;
    let stamp = clock::tick(conn, &message.rid)?;
    rules::apply_edit(&mut message, edit, stamp);
    update_row(conn, &message)?;
    Ok(message)
}

pub(crate) fn set_reaction(
    conn: &Connection,
    id: &str,
    emoji: &str,
    username: &str,
    should_react: Option<bool>,
) -> StorageResult<Option<Message>> {
    let mut message = load(conn, id)?.ok_or(StorageError::NotFound("message"))?;
    if !threadsync_domain::reaction::toggle(&mut message.extra, emoji, username, should_react) {
        return Ok(None);
    }
    message.updated_at = clock::tick(conn, &message.rid)?;
    update_row(conn, &message)?;
    Ok(Some(message))
}

pub(crate) fn set_mark(
    conn: &Connection,
    id: &str,
    mark: &threadsync_storage::MessageMark,
) -> StorageResult<Option<Message>> {
    let mut message = load(conn, id)?.ok_or(StorageError::NotFound("message"))?;
    // The stamp is taken only when the mark changes something.
    let mut probe = message.clone();
    if !mark.apply(&mut probe, message.updated_at) {
        return Ok(None);
    }
    let stamp = clock::tick(conn, &message.rid)?;
    mark.apply(&mut message, stamp);
    update_row(conn, &message)?;
    Ok(Some(message))
}

pub(crate) fn delete(conn: &Connection, id: &str, show_deleted_status: bool) -> StorageResult<Deletion> {
    let mut message = load(conn, id)?.ok_or(StorageError::NotFound("message"))?;
    let stamp = clock::tick(conn, &message.rid)?;

    let was_thread = match rules::plan_deletion(&message, show_deleted_status) {
        rules::DeletionPlan::Placeholder { uncount_reply } => {
            rules::make_placeholder(&mut message, stamp);
            update_row(conn, &message)?;
            if uncount_reply {
                uncount_reply_of(conn, &message)?;
            }
            return Ok(Deletion::Placeholder(message));
        }
        rules::DeletionPlan::Remove { was_thread } => was_thread,
    };

    conn.cached_execute("DELETE FROM messages WHERE id = ?1", [id]).db()?;
    let tombstone = rules::tombstone_of(&message, stamp);
    // An upsert: the same id may have been deleted before and re-inserted.
    conn.cached_execute(
        "INSERT INTO tombstones (id, rid, tmid, deleted_at, was_thread) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (id) DO UPDATE SET rid = excluded.rid, tmid = excluded.tmid, \
                                        deleted_at = excluded.deleted_at, was_thread = excluded.was_thread",
        params![tombstone.id, tombstone.rid, tombstone.tmid, tombstone.deleted_at.millis(), was_thread],
    )
    .db()?;

    let last = uncount_reply_of(conn, &message)?.unwrap_or(stamp);
    if was_thread {
        // A thread that no longer exists cannot stay unread: drop it from
        // the followers' `tunread` in the same transaction.
        let mut stmt = conn
            .prepare_cached("SELECT user_id FROM subscription_tunread WHERE rid = ?1 AND tmid = ?2")
            .db()?;
        let users = stmt
            .query_map(params![message.rid, message.id], |row| row.get::<_, String>(0))
            .db()?
            .collect::<rusqlite::Result<Vec<String>>>()
            .db()?;
        for user_id in users {
            if let Some(mut subscription) = rooms::subscription(conn, &message.rid, &user_id)? {
                if rules::mark_read(&mut subscription, &message.id, stamp) {
                    rooms::save_subscription(conn, &subscription)?;
                }
            }
        }
    }
    if let Some(mut room) = rooms::load(conn, &message.rid)? {
        rules::uncount_message(&mut room, last);
        rooms::save(conn, &room)?;
    }
    Ok(Deletion::Removed(tombstone))
}

/// A reply stopped counting: its parent, if still there, loses one from
/// `tcount` at its own tick, which is returned.
fn uncount_reply_of(conn: &Connection, reply: &Message) -> StorageResult<Option<Timestamp>> {
    let Some(tmid) = &reply.tmid else { return Ok(None) };
    let Some(mut parent) = load(conn, tmid)? else { return Ok(None) };
    let parent_stamp = clock::tick(conn, &reply.rid)?;
    rules::remove_reply(&mut parent, parent_stamp);
    update_row(conn, &parent)?;
    Ok(Some(parent_stamp))
}

pub(crate) fn set_following(
    conn: &Connection,
    tmid: &str,
    user_id: &str,
    follow: bool,
) -> StorageResult<Message> {
    let mut message = load(conn, tmid)?.ok_or(StorageError::NotFound("message"))?;
    let stamp = clock::tick(conn, &message.rid)?;
    rules::apply_following(&mut message, user_id, follow, stamp);
    update_row(conn, &message)?;
    if !follow {
        if let Some(mut subscription) = rooms::subscription(conn, &message.rid, user_id)? {
            if rules::mark_read(&mut subscription, &message.id, stamp) {
                rooms::save_subscription(conn, &subscription)?;
            }
        }
    }
    Ok(message)
}

/// Messages with a text and no `md` after `after` in id order (the
/// primary key walks them; see `MessageStore::messages_without_markup`).
pub(crate) fn without_markup(
    conn: &Connection,
    after: &str,
    limit: u64,
) -> StorageResult<Vec<(String, String)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, json_extract(doc, '$.msg') FROM messages \
              WHERE id > ?1 AND json_type(doc, '$.md') IS NULL \
                AND coalesce(json_extract(doc, '$.msg'), '') <> '' \
                AND coalesce(t, '') NOT IN ('rm', 'e2e') \
              ORDER BY id LIMIT ?2",
        )
        .db()?;
    let rows = stmt
        .query_map(params![after, i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

/// The `meta` key recording that the markup backfill is complete.
const MARKUP_BACKFILLED_KEY: &str = "markup_backfilled";

/// See `MessageStore::markup_backfilled`.
pub(crate) fn markup_backfilled(conn: &Connection) -> StorageResult<bool> {
    exists(conn, "SELECT 1 FROM meta WHERE key = ?1", [MARKUP_BACKFILLED_KEY])
}

/// See `MessageStore::mark_markup_backfilled`.
pub(crate) fn mark_markup_backfilled(conn: &Connection) -> StorageResult<()> {
    conn.cached_execute(
        "INSERT INTO meta (key, value) VALUES (?1, '1') ON CONFLICT (key) DO NOTHING",
        [MARKUP_BACKFILLED_KEY],
    )
    .db()?;
    Ok(())
}

/// Stores `md` without stamping (see `MessageStore::set_missing_markup`):
/// only the document changes, edited in place, and only while it still has
/// no `md` and the same text.
pub(crate) fn set_missing_markup(
    conn: &Connection,
    id: &str,
    msg: &str,
    md: &threadsync_domain::Markup,
) -> StorageResult<bool> {
    let changed = conn
        .cached_execute(
            "UPDATE messages SET doc = json_set(doc, '$.md', json(?3)) \
              WHERE id = ?1 AND json_type(doc, '$.md') IS NULL AND json_extract(doc, '$.msg') = ?2",
            params![id, msg, md.json()],
        )
        .db()?;
    Ok(changed > 0)
}
