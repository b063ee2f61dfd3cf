//! Messages, thread bookkeeping and tombstones.
//!
//! A message row holds the full serde_json form of the domain `Message` in
//! `doc` (JSONB, so fields threadsync does not model round-trip) and copies
//! of the fields the queries use (`rid`, `tmid`, `ts`, `updated_at`, `tlm`,
//! `tcount`, `u_id`, `t`), rewritten from the document on every write.
//!
//! Every function here runs inside one write transaction. Its first tick of
//! the room clock (clock.rs) locks the room; only then does it load the
//! documents it will rewrite (the message, its thread parent, the room,
//! subscriptions), so a concurrent writer of the room, in this or another
//! server instance, can neither interleave nor be overwritten. A function
//! that must find a message before it knows the room reads the message's
//! room first, ticks, then loads the message again under the lock.

use crate::clock;
use crate::db::{self, get, to_json, Conn};
use crate::rooms;
use threadsync_domain::{Message, Timestamp};
use threadsync_storage::{rules, Deletion, MessageEdit, NewMessage, StorageError, StorageResult};

pub(crate) async fn load(c: &dyn Conn, id: &str) -> StorageResult<Option<Message>> {
    c.opt("SELECT doc FROM messages WHERE id = $1", &[&id]).await?.map(|row| db::doc(&row, 0)).transpose()
}

/// The room of a message, without its document.
pub(crate) async fn room_of(c: &dyn Conn, id: &str) -> StorageResult<Option<String>> {
    Ok(c.opt("SELECT rid FROM messages WHERE id = $1", &[&id]).await?.map(|row| row.get(0)))
}

pub(crate) async fn insert_row(c: &dyn Conn, m: &Message) -> StorageResult<()> {
    let doc = to_json(m)?;
    c.exec(
        "INSERT INTO messages (id, rid, tmid, ts, updated_at, tlm, tcount, u_id, t, doc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &m.id,
            &m.rid,
            &m.tmid,
            &m.ts.millis(),
            &m.updated_at.millis(),
            &m.tlm.map(Timestamp::millis),
            &m.tcount,
            &m.u.id,
            &m.t,
            &doc,
        ],
    )
    .await?;
    Ok(())
}

async fn update_row(c: &dyn Conn, m: &Message) -> StorageResult<()> {
    let doc = to_json(m)?;
    c.exec(
        "UPDATE messages SET rid = $2, tmid = $3, ts = $4, updated_at = $5, tlm = $6, tcount = $7, \
                             u_id = $8, t = $9, doc = $10 \
         WHERE id = $1",
        &[
            &m.id,
            &m.rid,
            &m.tmid,
            &m.ts.millis(),
            &m.updated_at.millis(),
            &m.tlm.map(Timestamp::millis),
            &m.tcount,
            &m.u.id,
            &m.t,
            &doc,
        ],
    )
    .await?;
    Ok(())
}

/// The room of message `id`, then its first tick (taking the room's lock),
/// then the message itself loaded again under the lock. `NotFound("message")`
/// if it does not exist, or no longer does once the lock is ours.
async fn lock_message(c: &dyn Conn, id: &str) -> StorageResult<(Message, Timestamp)> {
    let rid: String = match c.opt("SELECT rid FROM messages WHERE id = $1", &[&id]).await? {
        Some(row) => get(&row, 0)?,
        None => return Err(StorageError::NotFound("message")),
    };
    let stamp = match clock::tick(c, &rid).await {
        Ok(stamp) => stamp,
        // The room went away (and its messages with it) in the meantime.
        Err(StorageError::NotFound(_)) => return Err(StorageError::NotFound("message")),
        Err(e) => return Err(e),
    };
    let message = load(c, id).await?.filter(|m| m.rid == rid).ok_or(StorageError::NotFound("message"))?;
    Ok((message, stamp))
}

/// A new message, in four statements after `BEGIN`: the room's ticks and
/// document (one `UPDATE ... RETURNING`, which takes the room's lock), the
/// id check and the thread parent (one `SELECT`), then one statement that
/// writes everything (tombstone dropped, message inserted, parent
/// rewritten, followers' `tunread`, room counters), then the `NOTIFY`.
/// The rules (which ticks, what changes on the parent, who gets `tunread`,
/// the room counters) are `threadsync_storage::rules`; this function only
/// locks, stamps and persists.
pub(crate) async fn insert(c: &dyn Conn, new: NewMessage) -> StorageResult<Message> {
    let NewMessage { mut message, reply, join } = new;
    // The message takes tick t, its parent (for a reply) t + 1: one tick
    // per document, both drawn at once under the room's lock.
    let ticks = if message.tmid.is_some() { 2 } else { 1 };
    let (stamp, mut room) = clock::tick_room(c, &message.rid, ticks).await?;
    // The id must be free, and a reply's parent must exist in this room:
    // read under the lock, so no writer of the room can change either.
    let row = c
        .one(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE id = $1), \
                    (SELECT doc FROM messages WHERE id = $2)",
            &[&message.id, &message.tmid],
        )
        .await?;
    if get::<bool>(&row, 0)? {
        return Err(StorageError::Conflict("id"));
    }
    let parent = get::<Option<serde_json::Value>>(&row, 1)?.map(db::from_json::<Message>).transpose()?;
    let mut parent = rules::check_parent(&message, reply.is_some(), parent)?;

    rules::stamp_new(&mut message, stamp);
    let mut last = stamp;
    if let Some(subscription) = &join {
        rooms::join(c, &mut room, subscription, stamp).await?;
    }
    if let Some(parent) = &mut parent {
        last = Timestamp(stamp.millis() + 1);
        rules::apply_reply(parent, &message, reply.map(|r| r.add_followers).unwrap_or_default(), last);
    }
    let unread = parent.as_ref().map(|p| rules::unread_followers(p, &message.u.id)).unwrap_or_default();
    rules::count_message(&mut room, stamp, last);

    let doc = to_json(&message)?;
    let parent_doc = parent.as_ref().map(to_json).transpose()?;
    let room_doc = to_json(&room)?;
    c.exec(
        // A re-used id lives again: its old tombstone goes, or sync would
        // report the message as both present and removed. Followers other
        // than the sender who are members and do not have the thread unread
        // yet get it, with the parent's tick, in one set-based UPDATE (the
        // others keep their stamp: nothing changed for them).
        "WITH gone AS (DELETE FROM tombstones WHERE id = $1), \
              reply AS (INSERT INTO messages (id, rid, tmid, ts, updated_at, tlm, tcount, u_id, t, doc) \
                        VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9)), \
              parent AS (UPDATE messages SET updated_at = $10, tlm = $11, tcount = $12, doc = $13 \
                         WHERE id = $3 AND $13::jsonb IS NOT NULL), \
              unread AS (UPDATE subscriptions \
                            SET updated_at = $10, \
                                doc = jsonb_set(jsonb_set(doc, '{tunread}', \
                                                          COALESCE(doc -> 'tunread', '[]'::jsonb) \
                                                          || jsonb_build_array($3::text)), \
                                                '{_updatedAt}', to_jsonb($14::text)) \
                          WHERE rid = $2 AND user_id = ANY($15::text[]) \
                            AND NOT COALESCE(doc -> 'tunread', '[]'::jsonb) ? $3::text) \
         UPDATE rooms SET updated_at = $16, doc = $17 WHERE id = $2",
        &[
            &message.id,
            &message.rid,
            &message.tmid,
            &stamp.millis(),
            &message.tlm.map(Timestamp::millis),
            &message.tcount,
            &message.u.id,
            &message.t,
            &doc,
            &last.millis(),
            &parent.as_ref().and_then(|p| p.tlm).map(Timestamp::millis),
            &parent.as_ref().and_then(|p| p.tcount),
            &parent_doc,
            &last.to_iso(),
            &unread,
            &room.updated_at.millis(),
            &room_doc,
        ],
    )
    .await?;
    Ok(message)
}

pub(crate) async fn edit(c: &dyn Conn, id: &str, edit: MessageEdit) -> StorageResult<Message> {
    let (mut message, stamp) = lock_message(c, id).await?;
    rules::apply_edit(&mut message, edit, stamp);
    update_row(c, &message).await?;
    Ok(message)
}

pub(crate) async fn set_reaction(
    c: &dyn Conn,
    id: &str,
    emoji: &str,
    username: &str,
    should_react: Option<bool>,
) -> StorageResult<Option<Message>> {
    // The tick first (the room's lock), then the document: no concurrent
    // reaction is lost. An unchanged message keeps its stamp; the tick
    // taken is simply not used.
    let (mut message, stamp) = lock_message(c, id).await?;
    if !threadsync_domain::reaction::toggle(&mut message.extra, emoji, username, should_react) {
        return Ok(None);
    }
    message.updated_at = stamp;
    update_row(c, &message).await?;
    Ok(Some(message))
}

pub(crate) async fn set_mark(
    c: &dyn Conn,
    id: &str,
    mark: &threadsync_storage::MessageMark,
) -> StorageResult<Option<Message>> {
    let (mut message, stamp) = lock_message(c, id).await?;
    if !mark.apply(&mut message, stamp) {
        return Ok(None);
    }
    update_row(c, &message).await?;
    Ok(Some(message))
}

pub(crate) async fn delete(c: &dyn Conn, id: &str, show_deleted_status: bool) -> StorageResult<Deletion> {
    let (mut message, stamp) = lock_message(c, id).await?;

    let was_thread = match rules::plan_deletion(&message, show_deleted_status) {
        rules::DeletionPlan::Placeholder { uncount_reply } => {
            rules::make_placeholder(&mut message, stamp);
            update_row(c, &message).await?;
            if uncount_reply {
                uncount_reply_of(c, &message).await?;
            }
            return Ok(Deletion::Placeholder(message));
        }
        rules::DeletionPlan::Remove { was_thread } => was_thread,
    };

    let tombstone = rules::tombstone_of(&message, stamp);
    // An upsert: the same id may have been deleted before and re-inserted.
    c.exec(
        "WITH gone AS (DELETE FROM messages WHERE id = $1) \
         INSERT INTO tombstones (id, rid, tmid, deleted_at, was_thread) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET rid = EXCLUDED.rid, tmid = EXCLUDED.tmid, \
                                        deleted_at = EXCLUDED.deleted_at, was_thread = EXCLUDED.was_thread",
        &[&tombstone.id, &tombstone.rid, &tombstone.tmid, &tombstone.deleted_at.millis(), &was_thread],
    )
    .await?;

    let last = uncount_reply_of(c, &message).await?.unwrap_or(stamp);
    if was_thread {
        // A thread that no longer exists cannot stay unread: it leaves every
        // follower's `tunread` in the same transaction, in one statement
        // (`jsonb - text` drops the matching array element).
        c.exec(
            "UPDATE subscriptions \
                SET updated_at = $3, \
                    doc = jsonb_set(jsonb_set(doc, '{tunread}', (doc -> 'tunread') - $2::text), \
                                    '{_updatedAt}', to_jsonb($4::text)) \
              WHERE rid = $1 AND doc -> 'tunread' ? $2::text",
            &[&message.rid, &message.id, &stamp.millis(), &stamp.to_iso()],
        )
        .await?;
    }
    if let Some(mut room) = rooms::load(c, &message.rid).await? {
        rules::uncount_message(&mut room, last);
        rooms::save(c, &room).await?;
    }
    Ok(Deletion::Removed(tombstone))
}

/// A reply stopped counting: its parent, if still there, loses one from
/// `tcount` at its own tick, which is returned.
async fn uncount_reply_of(c: &dyn Conn, reply: &Message) -> StorageResult<Option<Timestamp>> {
    let Some(tmid) = &reply.tmid else { return Ok(None) };
    let Some(mut parent) = load(c, tmid).await? else { return Ok(None) };
    let parent_stamp = clock::tick(c, &reply.rid).await?;
    rules::remove_reply(&mut parent, parent_stamp);
    update_row(c, &parent).await?;
    Ok(Some(parent_stamp))
}

pub(crate) async fn set_following(
    c: &dyn Conn,
    tmid: &str,
    user_id: &str,
    follow: bool,
) -> StorageResult<Message> {
    let (mut message, stamp) = lock_message(c, tmid).await?;
    rules::apply_following(&mut message, user_id, follow, stamp);
    update_row(c, &message).await?;
    if !follow {
        if let Some(mut subscription) = rooms::subscription(c, &message.rid, user_id).await? {
            if rules::mark_read(&mut subscription, &message.id, stamp) {
                rooms::save_subscription(c, &subscription).await?;
            }
        }
    }
    Ok(message)
}
