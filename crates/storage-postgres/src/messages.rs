//! Messages, thread bookkeeping and tombstones.
//!
//! A message row holds the full serde_json form of the domain `Message` in
//! `doc` (JSONB, so fields threadsync does not model round-trip) and copies
//! of the fields the queries use (`rid`, `tmid`, `ts`, `updated_at`, `tlm`,
//! `tcount`, `u_id`, `t`), rewritten from the document on every write.
//!
//! Every function here runs inside one write transaction. It first takes
//! the room's lock with the room's clock (clock.rs); only then does it load
//! the documents it will rewrite (the message, its thread parent, the room,
//! subscriptions), so a concurrent writer of the room, in this or another
//! server instance, can neither interleave nor be overwritten. The loads
//! are pipelined behind the lock (db::pipelined): one round trip, and they
//! still read what the room's previous writer committed. A function that
//! must find a message before it knows the room reads the message's room
//! first, then locks and loads the message again. The lock is held until
//! the commit, which the caller sends together with the write's last
//! statement (lib.rs, `WriteTx::finish`; docs/sync.md).

use crate::clock;
use crate::db::{self, get, to_json, Conn};
use crate::query::Param;
use crate::rooms;
use crate::Last;
use threadsync_domain::{Message, Timestamp};
use threadsync_storage::{
    rules, Deletion, MessageEdit, MessagePlace, NewMessage, StorageError, StorageResult,
};

const LOAD: &str = "SELECT doc FROM messages WHERE id = $1";

pub(crate) async fn load(c: &dyn Conn, id: &str) -> StorageResult<Option<Message>> {
    c.opt(LOAD, &[&id]).await?.map(|row| db::doc(&row, 0)).transpose()
}

/// The room and thread of a message, without its document.
pub(crate) async fn place_of(c: &dyn Conn, id: &str) -> StorageResult<Option<MessagePlace>> {
    let row = c.opt("SELECT rid, tmid FROM messages WHERE id = $1", &[&id]).await?;
    Ok(row.map(|row| MessagePlace { rid: row.get(0), tmid: row.get(1) }))
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

/// The room of message `id`, then, in one round trip, its first tick
/// (taking the room's lock) and the message itself loaded again after the
/// lock was granted (db::pipelined). `NotFound("message")` if it does not
/// exist, or no longer does once the lock is ours.
async fn lock_message(c: &dyn Conn, id: &str) -> StorageResult<(Message, Timestamp)> {
    let rid: String = match c.opt("SELECT rid FROM messages WHERE id = $1", &[&id]).await? {
        Some(row) => get(&row, 0)?,
        None => return Err(StorageError::NotFound("message")),
    };
    let (tick, load) = (c.statement(clock::TICK).await?, c.statement(LOAD).await?);
    let now = Timestamp::now().millis();
    let (ticked, loaded) =
        db::pipelined(c.query_prepared(&tick, &[&now, &rid]), c.query_prepared(&load, &[&id])).await?;
    // No room: it went away (and its messages with it) in the meantime.
    let stamp = Timestamp(get(ticked.first().ok_or(StorageError::NotFound("message"))?, 0)?);
    let message = match loaded.first() {
        Some(row) => db::doc::<Message>(row, 0)?,
        None => return Err(StorageError::NotFound("message")),
    };
    if message.rid != rid {
        return Err(StorageError::NotFound("message"));
    }
    Ok((message, stamp))
}

/// Takes room `rid`'s lock and reads its clock and document. `FOR NO KEY
/// UPDATE` is the lock an `UPDATE` of the clock takes (clock.rs), so it
/// queues with every other writer of the room, and not with the foreign-key
/// checks of rows inserted into the room.
pub(crate) const LOCK_ROOM: &str = "SELECT clock, doc FROM rooms WHERE id = $1 FOR NO KEY UPDATE";

/// For each message of a batch, in order (`$1` their ids, `$2` their
/// `tmid`s): is its id taken (NULL if free), and the document of its
/// thread parent.
///
/// Both are scalar subqueries, never `EXISTS`: PostgreSQL may plan an
/// `EXISTS` as a *hashed* subplan (a hash of every id of `messages`, built
/// by a sequential scan on each execution), and chooses it when the table
/// looks small. Write transactions keep their generic plans for the
/// connection's life (lib.rs, `force_generic_plan`), so a plan made while
/// a new database's table was empty stayed until autovacuum next sampled
/// it, and every send hashed the whole table (BENCHMARKS.md, issue 14: a
/// new database's sends into one room at about half their rate, falling as
/// the table grew). A
/// scalar subquery on the primary key is a probe of its index whatever the
/// table's size.
pub(crate) const IDS_AND_PARENTS: &str = "SELECT (SELECT true FROM messages m WHERE m.id = q.id), \
                                      (SELECT doc FROM messages m WHERE m.id = q.tmid) \
                                 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(id, tmid, n) \
                                ORDER BY q.n";

/// Writes a new message and everything it changes, in one statement, the
/// last of its transaction (sent with `COMMIT`, lib.rs `finish`). A re-used
/// id lives again: its old tombstone goes, or sync would report the message
/// as both present and removed. Followers other than the sender who are
/// members and do not have the thread unread yet get it, with the parent's
/// tick, in one set-based UPDATE (the others keep their stamp: nothing
/// changed for them). The room's document and its clock (the last tick the
/// write took) last. A NULL parent or room document skips that write: a
/// later statement of the same batch writes it.
pub(crate) const INSERT_ALL: &str = "WITH gone AS (DELETE FROM tombstones WHERE id = $1), \
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
                    AND NOT COALESCE(doc -> 'tunread', '[]'::jsonb) ? $3::text), \
      alerted AS (UPDATE subscriptions \
                     SET updated_at = $4, \
                         doc = doc || jsonb_build_object('alert', true, 'open', true, \
                            'unread', COALESCE((doc ->> 'unread')::bigint, 0) \
                                      + CASE WHEN user_id = ANY($19::text[]) THEN $20::bigint ELSE $21::bigint END, \
                            'userMentions', COALESCE((doc ->> 'userMentions')::bigint, 0) \
                                            + CASE WHEN user_id = ANY($19::text[]) THEN 1 ELSE 0 END, \
                            'groupMentions', COALESCE((doc ->> 'groupMentions')::bigint, 0) \
                                             + CASE WHEN user_id = ANY($19::text[]) THEN 0 ELSE $22::bigint END, \
                            '_updatedAt', $23::text) \
                   WHERE $18 AND rid = $2 AND user_id <> $7 \
                     AND (user_id = ANY($19::text[]) OR $21::bigint <> 0 OR $22::bigint <> 0 \
                          OR doc -> 'alert' IS DISTINCT FROM 'true'::jsonb \
                          OR doc -> 'open' IS DISTINCT FROM 'true'::jsonb)), \
      seen AS (UPDATE subscriptions \
                  SET updated_at = $4, \
                      doc = doc || jsonb_build_object('ls', $23::text, 'open', true, 'alert', false, \
                               'unread', 0, 'userMentions', 0, 'groupMentions', 0, '_updatedAt', $23::text) \
                WHERE $18 AND rid = $2 AND user_id = $7) \
 UPDATE rooms SET updated_at = $16, doc = $17, clock = $10 WHERE id = $2 AND $17::jsonb IS NOT NULL";

/// `INSERT_ALL`'s parameters that a later message of the same batch makes
/// needless ([`insert`]): the parent's document (`$13`) and the room's
/// (`$17`), each rewritten whole by the batch's last statement that
/// touches it. NULL skips the write.
const PARENT_DOC: usize = 12;
const ROOM_DOC: usize = 16;

/// The members' counters ([`threadsync_storage::MemberCounters`]) alone, for a reply shown in
/// the room (`tshow`): its followers' `tunread` and the counters may touch
/// the same subscriptions, and one statement may not update a row twice,
/// so these go first, in a statement of their own. Parameters as
/// `INSERT_ALL`'s `$18`–`$23`, with the room, the sender and the stamp.
pub(crate) const COUNT_FOR_MEMBERS: &str = "WITH alerted AS (UPDATE subscriptions \
                     SET updated_at = $3, \
                         doc = doc || jsonb_build_object('alert', true, 'open', true, \
                            'unread', COALESCE((doc ->> 'unread')::bigint, 0) \
                                      + CASE WHEN user_id = ANY($4::text[]) THEN $5::bigint ELSE $6::bigint END, \
                            'userMentions', COALESCE((doc ->> 'userMentions')::bigint, 0) \
                                            + CASE WHEN user_id = ANY($4::text[]) THEN 1 ELSE 0 END, \
                            'groupMentions', COALESCE((doc ->> 'groupMentions')::bigint, 0) \
                                             + CASE WHEN user_id = ANY($4::text[]) THEN 0 ELSE $7::bigint END, \
                            '_updatedAt', $8::text) \
                   WHERE rid = $1 AND user_id <> $2 \
                     AND (user_id = ANY($4::text[]) OR $6::bigint <> 0 OR $7::bigint <> 0 \
                          OR doc -> 'alert' IS DISTINCT FROM 'true'::jsonb \
                          OR doc -> 'open' IS DISTINCT FROM 'true'::jsonb)) \
 UPDATE subscriptions \
    SET updated_at = $3, \
        doc = doc || jsonb_build_object('ls', $8::text, 'open', true, 'alert', false, \
                 'unread', 0, 'userMentions', 0, 'groupMentions', 0, '_updatedAt', $8::text) \
  WHERE rid = $1 AND user_id = $2";

/// New messages of one room (a batch gathered by send_queue.rs; most
/// often one), in three round trips whatever their number: `BEGIN`; the
/// room's lock, clock and document, pipelined with the id checks and the
/// thread parents (read after the lock was granted, so they are what the
/// room's previous writer committed); then the statements that write
/// everything (per message: tombstone of a re-used id, the message, the
/// parent, followers' `tunread`, the room's counters and clock), returned
/// for the caller to send with `COMMIT` and the event. The room is locked
/// for one round trip plus the commit (docs/sync.md), however many
/// messages share it.
///
/// The messages are applied one after the other, exactly as separate
/// transactions would apply them in this order: each takes the ticks after
/// the previous one's, a parent two of them reply to carries both replies.
/// The caller keeps out of one batch what that cannot hold for (a message
/// whose id or parent is another message of the batch, or that joins the
/// room: send_queue.rs). A message refused by the rules (its id taken, no
/// such thread) gets its error in its place and writes nothing; the others
/// go on. The rules (which ticks, what changes on the parent, who gets
/// `tunread`, the room counters) are `threadsync_storage::rules`; this
/// function only locks, stamps and persists.
pub(crate) async fn insert(
    c: &dyn Conn,
    batch: Vec<NewMessage>,
) -> StorageResult<(Vec<StorageResult<Message>>, Vec<Last>)> {
    let Some(rid) = batch.first().map(|new| new.message.rid.clone()) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let ids: Vec<&str> = batch.iter().map(|new| new.message.id.as_str()).collect();
    let tmids: Vec<Option<&str>> = batch.iter().map(|new| new.message.tmid.as_deref()).collect();
    let (lock, check) = (c.statement(LOCK_ROOM).await?, c.statement(IDS_AND_PARENTS).await?);
    let (locked, checked) =
        db::pipelined(c.query_prepared(&lock, &[&rid]), c.query_prepared(&check, &[&ids, &tmids])).await?;
    let Some(locked) = locked.first() else {
        return Ok((batch.iter().map(|_| Err(StorageError::NotFound("room"))).collect(), Vec::new()));
    };
    if checked.len() != batch.len() {
        return Err(StorageError::Backend("postgres: one id check row per message expected".into()));
    }
    let mut room: threadsync_domain::Room = db::doc(locked, 1)?;
    let mut clock: i64 = get(locked, 0)?;
    // Parents already rewritten by an earlier message of the batch: the
    // rows read above do not have those replies yet.
    let mut parents: std::collections::HashMap<String, Message> = std::collections::HashMap::new();
    let mut results = Vec::with_capacity(batch.len());
    let mut lasts = Vec::with_capacity(batch.len());
    // The statement that writes the room's document so far, and each
    // parent's (their index in `lasts`).
    let mut room_written: Option<usize> = None;
    let mut parent_written: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (new, row) in batch.into_iter().zip(&checked) {
        crate::test_hooks::after_room_lock(&new.message.msg).await;
        if get::<Option<bool>>(row, 0)?.is_some() {
            results.push(Err(StorageError::Conflict("id")));
            continue;
        }
        let stored_parent = match &new.message.tmid {
            Some(tmid) if parents.contains_key(tmid) => parents.remove(tmid),
            _ => get::<Option<db::RawJson>>(row, 1)?.map(|doc| doc.decode::<Message>()).transpose()?,
        };
        // A parent taken from `parents` passed this check for an earlier
        // message of the batch (same room, a top-level message), so it
        // passes again: only a parent read from its row can be refused,
        // and nothing of the batch is lost with it.
        match rules::check_parent(&new.message, new.reply.is_some(), stored_parent) {
            Ok(parent) => {
                let (message, parent) = insert_one(c, new, parent, &mut room, &mut clock, &mut lasts).await?;
                // The room and the parent are rewritten whole by this
                // statement: an earlier one of the batch need not write
                // them (each write is a new row version with all its index
                // entries, and a parent with many followers is TOASTed).
                // The room's clock goes with its document, in the batch's
                // last statement: nothing reads it in between.
                let at = lasts.len() - 1;
                if let Some(earlier) = room_written.replace(at) {
                    lasts[earlier].params[ROOM_DOC] = Box::new(None::<db::JsonText>);
                }
                if let Some(parent) = parent {
                    if let Some(earlier) = parent_written.insert(parent.id.clone(), at) {
                        lasts[earlier].params[PARENT_DOC] = Box::new(None::<db::JsonText>);
                    }
                    parents.insert(parent.id.clone(), parent);
                }
                results.push(Ok(message));
            }
            Err(refused) => results.push(Err(refused)),
        }
    }
    Ok((results, lasts))
}

/// One message of [`insert`]'s batch, its checks passed: stamps it after
/// `clock` (moved past its ticks), applies it to the room and its parent,
/// and adds its statements to `lasts`. Returns the message and its parent
/// as rewritten.
async fn insert_one(
    c: &dyn Conn,
    new: NewMessage,
    mut parent: Option<Message>,
    room: &mut threadsync_domain::Room,
    clock: &mut i64,
    lasts: &mut Vec<Last>,
) -> StorageResult<(Message, Option<Message>)> {
    let NewMessage { mut message, reply, join, counters } = new;
    // The message takes tick t, its parent (for a reply) t + 1: the room's
    // clock goes past both in the message's last statement.
    let stamp = clock::next(*clock);
    rules::stamp_new(&mut message, stamp);
    let mut last = stamp;
    if let Some(subscription) = &join {
        // Runs at once, before the statements of earlier messages of the
        // batch: which is why a joining message is always alone in its
        // batch (send_queue.rs).
        rooms::join(c, room, subscription, stamp).await?;
    }
    if let Some(parent) = &mut parent {
        last = Timestamp(stamp.millis() + 1);
        rules::apply_reply(parent, &message, reply.map(|r| r.add_followers).unwrap_or_default(), last);
    }
    *clock = last.millis();
    let unread: Vec<String> = parent
        .as_ref()
        .map(|p| rules::unread_followers(p, &message.u.id).into_iter().map(str::to_owned).collect())
        .unwrap_or_default();
    rules::count_message(room, stamp, last);
    // The counters go in the last statement, unless followers' `tunread`
    // may touch the same rows there (a reply shown in the room): one
    // statement may not update a row twice, so they go first, alone.
    let counters_last = match counters {
        Some(counters) if !unread.is_empty() => {
            lasts.push(Last {
                sql: COUNT_FOR_MEMBERS,
                params: vec![
                    Box::new(message.rid.clone()),
                    Box::new(message.u.id.clone()),
                    Box::new(stamp.millis()),
                    Box::new(counters.mentioned),
                    Box::new(counters.mentioned_unread),
                    Box::new(counters.others_unread),
                    Box::new(counters.others_group),
                    Box::new(stamp.to_iso()),
                ],
            });
            None
        }
        other => other,
    };

    let params: Vec<Param> = vec![
        Box::new(message.id.clone()),
        Box::new(message.rid.clone()),
        Box::new(message.tmid.clone()),
        Box::new(stamp.millis()),
        Box::new(message.tlm.map(Timestamp::millis)),
        Box::new(message.tcount),
        Box::new(message.u.id.clone()),
        Box::new(message.t.clone()),
        Box::new(to_json(&message)?),
        Box::new(last.millis()),
        Box::new(parent.as_ref().and_then(|p| p.tlm).map(Timestamp::millis)),
        Box::new(parent.as_ref().and_then(|p| p.tcount)),
        Box::new(parent.as_ref().map(to_json).transpose()?),
        Box::new(last.to_iso()),
        Box::new(unread),
        Box::new(room.updated_at.millis()),
        Box::new(Some(to_json(&*room)?)),
        Box::new(counters_last.is_some()),
        Box::new(counters_last.as_ref().map(|c| c.mentioned.clone()).unwrap_or_default()),
        Box::new(counters_last.as_ref().map_or(0, |c| c.mentioned_unread)),
        Box::new(counters_last.as_ref().map_or(0, |c| c.others_unread)),
        Box::new(counters_last.as_ref().map_or(0, |c| c.others_group)),
        Box::new(stamp.to_iso()),
    ];
    lasts.push(Last { sql: INSERT_ALL, params });
    Ok((message, parent))
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

/// Messages with a text and no `md` after `after` in id order (the primary
/// key walks them; see `MessageStore::messages_without_markup`).
pub(crate) async fn without_markup(
    c: &dyn Conn,
    after: &str,
    limit: u64,
) -> StorageResult<Vec<(String, String)>> {
    let rows = c
        .rows(
            "SELECT id, doc->>'msg' FROM messages \
              WHERE id > $1 AND NOT doc ? 'md' AND coalesce(doc->>'msg', '') <> '' \
                AND coalesce(t, '') NOT IN ('rm', 'e2e') \
              ORDER BY id LIMIT $2",
            &[&after, &db::sql_int(limit)],
        )
        .await?;
    rows.iter().map(|row| Ok((get(row, 0)?, get(row, 1)?))).collect()
}

/// The `meta` key recording that the markup backfill is complete.
const MARKUP_BACKFILLED_KEY: &str = "markup_backfilled";

/// See `MessageStore::markup_backfilled`.
pub(crate) async fn markup_backfilled(c: &dyn Conn) -> StorageResult<bool> {
    Ok(c.opt("SELECT 1 FROM meta WHERE key = $1", &[&MARKUP_BACKFILLED_KEY]).await?.is_some())
}

/// See `MessageStore::mark_markup_backfilled`.
pub(crate) async fn mark_markup_backfilled(c: &dyn Conn) -> StorageResult<()> {
    c.exec(
        "INSERT INTO meta (key, value) VALUES ($1, '1') ON CONFLICT (key) DO NOTHING",
        &[&MARKUP_BACKFILLED_KEY],
    )
    .await?;
    Ok(())
}

/// Stores `md` without stamping (see `MessageStore::set_missing_markup`).
/// One conditional statement, no room lock: a writer that holds the lock
/// and rewrites the document either comes first (an edit then changed
/// `msg` or set `md`, and the condition fails) or after (it loaded the
/// document before this and writes it back without `md`: the message is
/// simply found again by the backfill's next walk, see
/// `Services::backfill_markup`).
pub(crate) async fn set_missing_markup(
    c: &dyn Conn,
    id: &str,
    msg: &str,
    md: &threadsync_domain::Markup,
) -> StorageResult<bool> {
    let md = md.to_value();
    let changed = c
        .exec(
            "UPDATE messages SET doc = jsonb_set(doc, '{md}', $3) \
              WHERE id = $1 AND NOT doc ? 'md' AND doc->>'msg' = $2",
            &[&id, &msg, &md],
        )
        .await?;
    Ok(changed > 0)
}
