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
use threadsync_domain::{Message, Timestamp, Tombstone};
use threadsync_storage::{Deletion, MessageEdit, NewMessage, StorageError, StorageResult};

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

pub(crate) async fn insert(c: &dyn Conn, new: NewMessage) -> StorageResult<Message> {
    let NewMessage { mut message, reply, join } = new;
    // The reply takes tick t, its parent t + 1 (one tick per document). The
    // first tick locks the room (NotFound when there is none).
    let stamp = clock::tick(c, &message.rid).await?;
    let mut room = rooms::load(c, &message.rid).await?.ok_or(StorageError::NotFound("room"))?;
    if c.exists("SELECT 1 FROM messages WHERE id = $1", &[&message.id]).await? {
        return Err(StorageError::Conflict("id"));
    }
    // Validate the thread before writing anything. A message with `tmid` is
    // a reply whether or not the caller sent bookkeeping: the parent's
    // counters must count every reply. The parent is in the locked room.
    let parent = match &message.tmid {
        Some(tmid) => Some(
            load(c, tmid)
                .await?
                .filter(|p| p.rid == message.rid && p.tmid.is_none())
                .ok_or(StorageError::NotFound("thread"))?,
        ),
        None if reply.is_some() => return Err(StorageError::Invalid("reply without tmid")),
        None => None,
    };

    message.ts = stamp;
    message.updated_at = stamp;
    let mut last = stamp;
    if let Some(subscription) = &join {
        rooms::join(c, &mut room, subscription, stamp).await?;
    }
    // A re-used id lives again: drop its old tombstone, or sync would report
    // the message as both present and removed.
    c.exec("DELETE FROM tombstones WHERE id = $1", &[&message.id]).await?;
    insert_row(c, &message).await?;

    if let Some(mut parent) = parent {
        let parent_stamp = clock::tick(c, &message.rid).await?;
        last = parent_stamp;
        parent.tcount = Some(parent.tcount.unwrap_or(0) + 1);
        parent.tlm = Some(stamp);
        let mut followers = parent.replies.take().unwrap_or_default();
        for user_id in reply.map(|r| r.add_followers).unwrap_or_default() {
            if !followers.contains(&user_id) {
                followers.push(user_id);
            }
        }
        parent.updated_at = parent_stamp;
        parent.replies = Some(followers);
        update_row(c, &parent).await?;
        let followers = parent.replies.as_deref().unwrap_or_default();
        // Followers other than the sender who are members learn of the new
        // reply through `tunread`; subscriptions share the parent's tick
        // (they are another collection, and each belongs to another user).
        for user_id in followers.iter().filter(|u| **u != message.u.id) {
            if let Some(mut subscription) = rooms::subscription(c, &message.rid, user_id).await? {
                if !subscription.tunread.contains(&parent.id) {
                    subscription.tunread.push(parent.id.clone());
                    subscription.updated_at = parent_stamp;
                    rooms::save_subscription(c, &subscription).await?;
                }
            }
        }
    }

    room.msgs += 1;
    room.last_message_at = Some(stamp);
    room.updated_at = last;
    rooms::save(c, &room).await?;
    Ok(message)
}

pub(crate) async fn edit(c: &dyn Conn, id: &str, edit: MessageEdit) -> StorageResult<Message> {
    let (mut message, stamp) = lock_message(c, id).await?;
    message.msg = edit.msg;
    message.md = edit.md;
    message.mentions = edit.mentions;
    message.channels = edit.channels;
    message.edited_at = Some(stamp);
    message.edited_by = Some(edit.edited_by);
    message.updated_at = stamp;
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

pub(crate) async fn delete(c: &dyn Conn, id: &str) -> StorageResult<Deletion> {
    let (mut message, stamp) = lock_message(c, id).await?;

    if message.tcount.unwrap_or(0) > 0 {
        // A thread parent with replies stays as a placeholder, so the
        // replies keep their thread; its thread fields are kept.
        message.t = Some("rm".to_owned());
        message.msg.clear();
        message.md = None;
        message.mentions.clear();
        message.channels.clear();
        message.extra.clear();
        message.edited_at = None;
        message.edited_by = None;
        message.updated_at = stamp;
        update_row(c, &message).await?;
        return Ok(Deletion::Placeholder(message));
    }

    c.exec("DELETE FROM messages WHERE id = $1", &[&id]).await?;
    let tombstone = Tombstone {
        id: message.id.clone(),
        rid: message.rid.clone(),
        tmid: message.tmid.clone(),
        deleted_at: stamp,
    };
    // An upsert: the same id may have been deleted before and re-inserted.
    c.exec(
        "INSERT INTO tombstones (id, rid, tmid, deleted_at, was_thread) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET rid = EXCLUDED.rid, tmid = EXCLUDED.tmid, \
                                        deleted_at = EXCLUDED.deleted_at, was_thread = EXCLUDED.was_thread",
        &[
            &tombstone.id,
            &tombstone.rid,
            &tombstone.tmid,
            &tombstone.deleted_at.millis(),
            &message.tcount.is_some(),
        ],
    )
    .await?;

    let mut last = stamp;
    if let Some(tmid) = &message.tmid {
        if let Some(mut parent) = load(c, tmid).await? {
            let parent_stamp = clock::tick(c, &message.rid).await?;
            last = parent_stamp;
            parent.tcount = Some((parent.tcount.unwrap_or(0) - 1).max(0));
            parent.updated_at = parent_stamp;
            update_row(c, &parent).await?;
        }
    }
    if message.tcount.is_some() {
        // A thread that no longer exists cannot stay unread: drop it from
        // the followers' `tunread` in the same transaction.
        let rows = c
            .rows(
                "SELECT user_id FROM subscriptions WHERE rid = $1 AND doc -> 'tunread' ? $2",
                &[&message.rid, &message.id],
            )
            .await?;
        for row in rows {
            let user_id: String = row.get(0);
            if let Some(mut subscription) = rooms::subscription(c, &message.rid, &user_id).await? {
                subscription.tunread.retain(|t| *t != message.id);
                subscription.updated_at = stamp;
                rooms::save_subscription(c, &subscription).await?;
            }
        }
    }
    if let Some(mut room) = rooms::load(c, &message.rid).await? {
        room.msgs = (room.msgs - 1).max(0);
        room.updated_at = last;
        rooms::save(c, &room).await?;
    }
    Ok(Deletion::Removed(tombstone))
}

pub(crate) async fn set_following(
    c: &dyn Conn,
    tmid: &str,
    user_id: &str,
    follow: bool,
) -> StorageResult<Message> {
    let (mut message, stamp) = lock_message(c, tmid).await?;
    if follow {
        let followers = message.replies.get_or_insert_with(Vec::new);
        if !followers.iter().any(|u| u == user_id) {
            followers.push(user_id.to_owned());
        }
    } else if let Some(followers) = &mut message.replies {
        followers.retain(|u| u != user_id);
    }
    message.updated_at = stamp;
    update_row(c, &message).await?;
    if !follow {
        if let Some(mut subscription) = rooms::subscription(c, &message.rid, user_id).await? {
            if subscription.tunread.contains(&message.id) {
                subscription.tunread.retain(|t| *t != message.id);
                subscription.updated_at = stamp;
                rooms::save_subscription(c, &subscription).await?;
            }
        }
    }
    Ok(message)
}
