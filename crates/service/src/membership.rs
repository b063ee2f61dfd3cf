//! Building subscriptions (the one place that decides what a new membership
//! looks like) and the system messages that announce room events.

use serde_json::{Map, Value};
use threadsync_domain::{id, Message, Room, RoomType, Subscription, Timestamp, User, UserRef};

/// A reference to `user` as stored inside other documents.
pub(crate) fn user_ref(user: &User) -> UserRef {
    UserRef { id: user.id.clone(), username: user.username.clone(), name: Some(user.name.clone()) }
}

/// A system message of type `t` in room `rid`, sent by `by` now: no thread
/// data, no mentions, no markup (a system message's text is data for the
/// client to phrase, not markup to draw), `extra` for its type's fields.
pub(crate) fn system_message(
    rid: &str,
    by: &User,
    t: &str,
    msg: String,
    extra: Map<String, Value>,
) -> Message {
    let now = Timestamp::now();
    Message {
        id: id::new_id(),
        rid: rid.to_owned(),
        msg,
        ts: now,
        u: user_ref(by),
        updated_at: now,
        mentions: Vec::new(),
        channels: Vec::new(),
        tmid: None,
        tshow: None,
        tcount: None,
        tlm: None,
        replies: None,
        t: Some(t.to_owned()),
        edited_at: None,
        edited_by: None,
        md: None,
        extra,
    }
}

/// A fresh subscription of `user` to `room`. In a direct message the
/// subscription is named after the other member (`other`), as Rocket.Chat does.
pub(crate) fn new_subscription(
    room: &Room,
    user: &User,
    other: Option<&User>,
    roles: Vec<String>,
) -> Subscription {
    let now = Timestamp::now();
    let (name, fname) = match (room.t, other) {
        (RoomType::Direct, Some(o)) => (o.username.clone(), o.name.clone()),
        _ => {
            let name = room.name.clone().unwrap_or_default();
            let fname = room.fname.clone().unwrap_or_else(|| name.clone());
            (name, fname)
        }
    };
    Subscription {
        id: id::new_id(),
        rid: room.id.clone(),
        u: UserRef { id: user.id.clone(), username: user.username.clone(), name: None },
        t: room.t,
        name,
        fname,
        ts: now,
        ls: Some(now),
        updated_at: now,
        open: true,
        alert: false,
        unread: 0,
        user_mentions: 0,
        group_mentions: 0,
        tunread: Vec::new(),
        roles,
        f: false,
        archived: false,
        ignored: Vec::new(),
    }
}
