//! Building subscriptions: the one place that decides what a new membership looks like.

use threadsync_domain::{id, Room, RoomType, Subscription, Timestamp, User, UserRef};

/// A reference to `user` as stored inside other documents.
pub(crate) fn user_ref(user: &User) -> UserRef {
    UserRef { id: user.id.clone(), username: user.username.clone(), name: Some(user.name.clone()) }
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
        tunread: Vec::new(),
        roles,
    }
}
