//! The document rules of message and user writes, written once for every backend.
//!
//! A backend's write is three steps: lock (take the room clock's ticks in
//! the order the rules below ask for them), apply the rule (these pure
//! functions, which edit documents in memory and say what must happen
//! next), and persist (its own statements). Nothing here does I/O, so a
//! rule cannot differ between SQLite and PostgreSQL, and the conformance
//! suite checks one behaviour, not two that were meant to agree.
//!
//! Stamps are inputs: every function that changes a document takes the
//! tick the backend drew for that document from the room clock.

use crate::{Deletion, EventKind, MessageEdit, StorageError, StorageResult, StoreEvent, UserPatch};
use serde_json::{Map, Value};
use threadsync_domain::{presence, Message, Room, Subscription, Timestamp, Tombstone, User};

/// The thread parent a new reply (`message.tmid`) may go into: it exists,
/// is in the same room and is not itself a reply. `NotFound("thread")`
/// otherwise. A message without `tmid` needs no parent, and must then come
/// without reply bookkeeping (`Invalid("reply without tmid")`).
pub fn check_parent(
    message: &Message,
    has_bookkeeping: bool,
    parent: Option<Message>,
) -> StorageResult<Option<Message>> {
    match &message.tmid {
        Some(_) => Ok(Some(
            parent
                .filter(|p| p.rid == message.rid && p.tmid.is_none())
                .ok_or(StorageError::NotFound("thread"))?,
        )),
        None if has_bookkeeping => Err(StorageError::Invalid("reply without tmid")),
        None => Ok(None),
    }
}

/// A new message takes the room clock's tick as `ts` and `_updatedAt`
/// (whatever the caller put there is overwritten).
pub fn stamp_new(message: &mut Message, stamp: Timestamp) {
    message.ts = stamp;
    message.updated_at = stamp;
}

/// Reply bookkeeping on the parent, at the parent's own tick: `tcount + 1`,
/// `tlm` = the reply's `ts`, `replies ∪= add_followers` (in order, no
/// duplicates), `_updatedAt`. The thread's first reply makes the parent's
/// author a follower first (Rocket.Chat does): decided here, on the
/// parent as the store holds it under the room's lock, so the caller need
/// not read the parent (two first replies at once add the author once).
pub fn apply_reply(parent: &mut Message, reply: &Message, add_followers: Vec<String>, stamp: Timestamp) {
    let first = parent.tcount.unwrap_or(0) == 0;
    parent.tcount = Some(parent.tcount.unwrap_or(0) + 1);
    parent.tlm = Some(reply.ts);
    let author = first.then(|| parent.u.id.clone());
    let followers = parent.replies.get_or_insert_with(Vec::new);
    for user_id in author.into_iter().chain(add_followers) {
        if !followers.contains(&user_id) {
            followers.push(user_id);
        }
    }
    parent.updated_at = stamp;
}

/// The followers of `parent` whose `tunread` (in the room, when they are
/// members) gains the thread after a reply by `sender`: every follower but
/// the sender. Subscriptions that already list the thread are left as they
/// are (and keep their stamp).
pub fn unread_followers<'a>(parent: &'a Message, sender: &str) -> Vec<&'a str> {
    parent.replies.iter().flatten().filter(|u| *u != sender).map(String::as_str).collect()
}

/// Adds thread `tmid` to a subscription's `tunread` at `stamp`. `false`
/// (and nothing changed) when it was there already.
pub fn mark_unread(subscription: &mut Subscription, tmid: &str, stamp: Timestamp) -> bool {
    if subscription.tunread.iter().any(|t| t == tmid) {
        return false;
    }
    subscription.tunread.push(tmid.to_owned());
    subscription.updated_at = stamp;
    true
}

/// Removes thread `tmid` from a subscription's `tunread` at `stamp`.
/// `false` (and nothing changed, the stamp included) when it was not there.
pub fn mark_read(subscription: &mut Subscription, tmid: &str, stamp: Timestamp) -> bool {
    if !subscription.tunread.iter().any(|t| t == tmid) {
        return false;
    }
    subscription.tunread.retain(|t| t != tmid);
    subscription.updated_at = stamp;
    true
}

/// A new message's effect on its room's counters: `msgs + 1`, `lm` = the
/// message's tick, `_updatedAt` = the last tick the write took.
pub fn count_message(room: &mut Room, stamp: Timestamp, last: Timestamp) {
    room.msgs += 1;
    room.last_message_at = Some(stamp);
    room.updated_at = last;
}

/// An edit: the new text and mentions, `editedAt`/`editedBy`, `_updatedAt`.
pub fn apply_edit(message: &mut Message, edit: MessageEdit, stamp: Timestamp) {
    message.msg = edit.msg;
    // The markup tree is the parse of the new text (the service parsed it).
    message.md = edit.md;
    message.mentions = edit.mentions;
    message.channels = edit.channels;
    message.edited_at = Some(stamp);
    message.edited_by = Some(edit.edited_by);
    message.updated_at = stamp;
}

/// Adds (`follow`) or removes `user_id` in a thread parent's `replies`, at
/// `stamp` (the parent's `_updatedAt` moves either way, as Rocket.Chat's
/// does). Unfollowing also takes the thread off the user's `tunread`
/// ([`mark_read`] on their subscription, same tick).
pub fn apply_following(message: &mut Message, user_id: &str, follow: bool, stamp: Timestamp) {
    if follow {
        let followers = message.replies.get_or_insert_with(Vec::new);
        if !followers.iter().any(|u| u == user_id) {
            followers.push(user_id.to_owned());
        }
    } else if let Some(followers) = &mut message.replies {
        followers.retain(|u| u != user_id);
    }
    message.updated_at = stamp;
}

/// What deleting a message leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionPlan {
    /// The message stays as a `t: "rm"` placeholder ([`make_placeholder`]).
    Placeholder {
        /// The message is a reply that still counted in its parent's
        /// `tcount`: the parent loses one ([`remove_reply`], next tick).
        uncount_reply: bool,
    },
    /// The row goes, a tombstone records the removal ([`tombstone_of`]);
    /// the parent of a reply loses one from `tcount`; the room's `msgs`
    /// goes down by one.
    Remove {
        /// It was a thread parent (it has `tcount`): the thread is dropped
        /// from every follower's `tunread`, and thread-list feeds report the
        /// removal.
        was_thread: bool,
    },
}

/// Whether deleting `message` removes it or leaves a placeholder.
///
/// A thread parent with replies always stays as a placeholder, so its
/// replies keep their thread. With Rocket.Chat's `Message_ShowDeletedStatus`
/// on (`show_deleted_status`), every deleted message does: clients show
/// "message deleted" in its place. A reply placeholder no longer counts in
/// its parent's `tcount`; deleting a placeholder again changes no counter.
pub fn plan_deletion(message: &Message, show_deleted_status: bool) -> DeletionPlan {
    if message.tcount.unwrap_or(0) > 0 || show_deleted_status {
        DeletionPlan::Placeholder {
            uncount_reply: message.tmid.is_some() && !message.is_removed_placeholder(),
        }
    } else {
        DeletionPlan::Remove { was_thread: message.tcount.is_some() }
    }
}

/// A deleted message kept in place: `t: "rm"`, `msg: ""`, content fields
/// and edit marks cleared; its identity, author, `ts`, thread fields
/// (`tmid`, `tcount`, `tlm`, `replies`) kept; `_updatedAt` moves.
pub fn make_placeholder(message: &mut Message, stamp: Timestamp) {
    message.t = Some("rm".to_owned());
    message.msg.clear();
    // No text, nothing to draw.
    message.md = None;
    message.mentions.clear();
    message.channels.clear();
    message.extra.clear();
    message.edited_at = None;
    message.edited_by = None;
    message.updated_at = stamp;
}

/// The tombstone of a removed message.
pub fn tombstone_of(message: &Message, stamp: Timestamp) -> Tombstone {
    Tombstone {
        id: message.id.clone(),
        rid: message.rid.clone(),
        tmid: message.tmid.clone(),
        deleted_at: stamp,
    }
}

/// A reply stopped counting (removed, or became a placeholder): the
/// parent's `tcount - 1` (never below 0) at the parent's own tick; `tlm`
/// stays.
pub fn remove_reply(parent: &mut Message, stamp: Timestamp) {
    parent.tcount = Some((parent.tcount.unwrap_or(0) - 1).max(0));
    parent.updated_at = stamp;
}

/// A removed message's effect on its room: `msgs - 1`, `_updatedAt` = the
/// last tick the deletion took.
pub fn uncount_message(room: &mut Room, last: Timestamp) {
    room.msgs = (room.msgs - 1).max(0);
    room.updated_at = last;
}

/// The event of a message write (insert, edit, deletion of either kind) in
/// room `rid`: listeners re-read the room's feed, where a placeholder is a
/// changed message and a removal a tombstone.
pub fn message_event(rid: &str) -> StoreEvent {
    StoreEvent::room(EventKind::Message, rid)
}

/// The event of a deletion. A removal names the removed id in `data`, so
/// caches keyed by message id (a message's room) can forget it: the id may
/// be used again later, in another room.
pub fn deletion_event(deletion: &Deletion) -> StoreEvent {
    match deletion {
        Deletion::Removed(t) => StoreEvent { data: Some(t.id.clone()), ..message_event(&t.rid) },
        Deletion::Placeholder(m) => message_event(&m.rid),
    }
}

/// The event of a follow or unfollow by `user_id`: the parent changed, and
/// the follower's `tunread` may have.
pub fn following_event(parent: &Message, user_id: &str) -> StoreEvent {
    StoreEvent { user: Some(user_id.to_owned()), ..message_event(&parent.rid) }
}

/// Applies a profile change to `user` in memory and stamps it (after its
/// previous stamp). Returns whether the change takes an active admin away
/// (deactivated, or `admin` removed from its roles): the backend must then
/// refuse it when no other active admin exists, inside its transaction.
pub fn apply_user_patch(user: &mut User, patch: &UserPatch, now: Timestamp) -> bool {
    let was_active_admin = user.active && user.is_admin();
    if let Some(username) = &patch.username {
        user.username.clone_from(username);
    }
    if let Some(name) = &patch.name {
        user.name.clone_from(name);
    }
    if let Some(email) = &patch.email {
        user.emails = vec![email.clone()];
    }
    if let Some(hash) = &patch.password_hash {
        user.password_hash = Some(hash.clone());
    }
    if let Some(roles) = &patch.roles {
        user.roles.clone_from(roles);
    }
    match &patch.role {
        Some((role, true)) if !user.roles.contains(role) => user.roles.push(role.clone()),
        Some((role, false)) => user.roles.retain(|r| r != role),
        _ => {}
    }
    if let Some(active) = patch.active {
        user.active = active;
    }
    // Rocket.Chat's users.setStatus sets the chosen status and shows it at
    // once; the next change of the user's connections derives `status`
    // again ([`resolve_presence`]).
    if let Some(status) = &patch.status {
        user.status.clone_from(status);
        user.status_default.clone_from(status);
    }
    if let Some(text) = &patch.status_text {
        user.status_text.clone_from(text);
    }
    user.updated_at = user_stamp(user, now);
    was_active_admin && !(user.active && user.is_admin())
}

/// The stamp of a change of user `user` at `now`: `now`, or 1 ms past the
/// user's last stamp when the clock has not passed it yet (two changes in
/// one millisecond, a clock stepped back), so a client that lists users
/// changed since a stamp it saw (`users.presence?from=`, the users' deltas)
/// never misses the second change.
pub fn user_stamp(user: &User, now: Timestamp) -> Timestamp {
    now.max(Timestamp(user.updated_at.millis() + 1))
}

/// Derives user `user`'s `status_connection` and `status` from the
/// statuses of their live connections and their chosen status
/// ([`threadsync_domain::presence`]); whether the status others see
/// changed (what a presence event announces). Such a change stamps the
/// user's `updated_at` at `now` (as Rocket.Chat's `_updatedAt`), so
/// `users.presence?from=` finds who changed since.
pub fn resolve_presence<'a>(
    user: &mut User,
    live: impl IntoIterator<Item = &'a str>,
    now: Timestamp,
) -> bool {
    let connection = presence::connection_status(live);
    let status = presence::status(connection, &user.status_default);
    user.status_connection = connection.to_owned();
    let changed = user.status != status;
    user.status = status.to_owned();
    if changed {
        user.updated_at = user_stamp(user, now);
    }
    changed
}

/// A user's preferences after `users.setPreferences`: the keys given
/// replace the stored ones; the others stay.
pub fn merge_preferences(stored: &mut Map<String, Value>, changes: &Map<String, Value>) {
    for (key, value) in changes {
        stored.insert(key.clone(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadsync_domain::UserRef;

    fn message(id: &str, tmid: Option<&str>, tcount: Option<i64>) -> Message {
        let mut m: Message = serde_json::from_value(serde_json::json!({
            "_id": id, "rid": "R", "msg": "hello", "ts": {"$date": 1}, "_updatedAt": {"$date": 1},
            "u": {"_id": "a", "username": "alice"}
        }))
        .expect("a message document");
        m.tmid = tmid.map(str::to_owned);
        m.tcount = tcount;
        m
    }

    #[test]
    fn a_reply_counts_once_and_adds_each_follower_once() {
        let mut parent = message("P", None, None);
        let mut reply = message("r", Some("P"), None);
        reply.ts = Timestamp(10);
        apply_reply(&mut parent, &reply, vec!["a".into(), "b".into(), "a".into()], Timestamp(11));
        apply_reply(&mut parent, &reply, vec!["b".into(), "c".into()], Timestamp(12));
        assert_eq!(parent.tcount, Some(2));
        assert_eq!(parent.tlm, Some(Timestamp(10)));
        assert_eq!(parent.replies, Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]));
        assert_eq!(parent.updated_at, Timestamp(12));
        assert_eq!(unread_followers(&parent, "b"), vec!["a", "c"]);
    }

    #[test]
    fn the_first_reply_makes_the_parents_author_a_follower_first() {
        let mut parent = message("P", None, None);
        parent.u.id = "author".into();
        let reply = message("r", Some("P"), None);
        apply_reply(&mut parent, &reply, vec!["b".into()], Timestamp(11));
        assert_eq!(parent.replies, Some(vec!["author".to_owned(), "b".to_owned()]));
        // Not again: an author who stopped following stays out.
        parent.replies = Some(vec!["b".to_owned()]);
        apply_reply(&mut parent, &reply, vec!["c".into()], Timestamp(12));
        assert_eq!(parent.replies, Some(vec!["b".to_owned(), "c".to_owned()]));
        // A parent whose replies were all removed (tcount back at 0) starts
        // a thread again, as in Rocket.Chat.
        let mut emptied = message("E", None, Some(0));
        emptied.u.id = "author".into();
        apply_reply(&mut emptied, &reply, vec!["author".into()], Timestamp(13));
        assert_eq!(emptied.replies, Some(vec!["author".to_owned()]));
    }

    #[test]
    fn deletion_keeps_a_placeholder_for_parents_with_replies_or_when_the_setting_asks() {
        let reply = message("r", Some("P"), None);
        let parent = message("P", None, Some(2));
        let emptied = message("E", None, Some(0));
        assert_eq!(plan_deletion(&reply, false), DeletionPlan::Remove { was_thread: false });
        assert_eq!(plan_deletion(&emptied, false), DeletionPlan::Remove { was_thread: true });
        assert_eq!(plan_deletion(&parent, false), DeletionPlan::Placeholder { uncount_reply: false });
        assert_eq!(plan_deletion(&reply, true), DeletionPlan::Placeholder { uncount_reply: true });
        let mut gone = reply.clone();
        make_placeholder(&mut gone, Timestamp(5));
        assert_eq!(plan_deletion(&gone, true), DeletionPlan::Placeholder { uncount_reply: false });
        assert_eq!((gone.t.as_deref(), gone.msg.as_str(), gone.updated_at), (Some("rm"), "", Timestamp(5)));
    }

    #[test]
    fn edits_and_following_move_the_stamp() {
        let mut m = message("m", None, Some(1));
        let by = UserRef { id: "b".into(), username: "bob".into(), name: None };
        apply_edit(
            &mut m,
            MessageEdit {
                msg: "new".into(),
                md: Some(threadsync_domain::Markup::from_value(&serde_json::json!([{"type": "PARAGRAPH"}]))),
                mentions: vec![],
                channels: vec![],
                edited_by: by.clone(),
            },
            Timestamp(7),
        );
        assert_eq!(
            (m.msg.as_str(), m.edited_at, m.edited_by.clone(), m.updated_at),
            ("new", Some(Timestamp(7)), Some(by), Timestamp(7))
        );
        assert_eq!(
            m.md.as_ref().map(|md| md.to_value()),
            Some(serde_json::json!([{"type": "PARAGRAPH"}])),
            "the edit's parse replaces md"
        );
        make_placeholder(&mut m, Timestamp(8));
        assert_eq!(m.md, None, "a placeholder has nothing to draw");
        apply_following(&mut m, "x", true, Timestamp(9));
        apply_following(&mut m, "x", true, Timestamp(9));
        assert_eq!(m.replies, Some(vec!["x".to_owned()]));
        apply_following(&mut m, "x", false, Timestamp(10));
        assert_eq!((m.replies.clone(), m.updated_at), (Some(vec![]), Timestamp(10)));
    }
}
