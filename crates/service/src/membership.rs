//! Building subscriptions (the one place that decides what a new membership
//! looks like) and the system messages that announce room events.

use serde_json::{Map, Value};
use threadsync_domain::{id, Message, Room, Subscription, Timestamp, User, UserRef};

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

/// A fresh subscription of `user` to a channel, group or discussion, named
/// after the room.
pub(crate) fn new_subscription(room: &Room, user: &User, roles: Vec<String>) -> Subscription {
    let name = room.name.clone().unwrap_or_default();
    let fname = room.fname.clone().unwrap_or_else(|| name.clone());
    subscription(room, user, name, fname, roles)
}

/// What a user is called where Rocket.Chat shows a name: the display name,
/// or the username when there is none.
fn shown_name(user: &User) -> &str {
    if user.name.trim().is_empty() {
        &user.username
    } else {
        &user.name
    }
}

/// A fresh subscription of `user` to the direct message `room`, whose
/// other members are `others`. As Rocket.Chat's `createDirectRoom`: it is
/// named after the others, `name` their usernames and `fname` their
/// display names, each joined with ", " in the order of the display names;
/// a DM with oneself (no others) is named after oneself.
pub(crate) fn direct_subscription(room: &Room, user: &User, others: &[&User]) -> Subscription {
    let mut others: Vec<&User> = others.iter().copied().filter(|o| o.id != user.id).collect();
    if others.is_empty() {
        others.push(user);
    }
    // Rocket.Chat sorts with `localeCompare`, which puts case after letters:
    // compared case-insensitively first, then exactly, for a stable order.
    others.sort_by(|a, b| {
        let (a, b) = (shown_name(a), shown_name(b));
        a.to_lowercase().cmp(&b.to_lowercase()).then_with(|| a.cmp(b))
    });
    let name = others.iter().map(|o| o.username.as_str()).collect::<Vec<_>>().join(", ");
    let fname = others.iter().map(|o| shown_name(o)).collect::<Vec<_>>().join(", ");
    subscription(room, user, name, fname, Vec::new())
}

fn subscription(room: &Room, user: &User, name: String, fname: String, roles: Vec<String>) -> Subscription {
    let now = Timestamp::now();
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

#[cfg(test)]
mod tests {
    use super::*;
    use threadsync_domain::RoomType;

    fn user(id: &str, username: &str, name: &str) -> User {
        let now = Timestamp::now();
        User {
            id: id.to_owned(),
            username: username.to_owned(),
            name: name.to_owned(),
            emails: Vec::new(),
            password_hash: None,
            roles: vec!["user".to_owned()],
            active: true,
            status: "offline".to_owned(),
            status_text: String::new(),
            status_default: "online".into(),
            status_connection: "offline".into(),
            last_login: None,
            utc_offset: 0.0,
            kind: "user".to_owned(),
            created_at: now,
            updated_at: now,
        }
    }

    fn direct(members: &[&User]) -> Room {
        let now = Timestamp::now();
        Room {
            usernames: members.iter().map(|u| u.username.clone()).collect(),
            uids: members.iter().map(|u| u.id.clone()).collect(),
            ..Room::new(members.iter().map(|u| u.id.as_str()).collect(), RoomType::Direct, now)
        }
    }

    #[test]
    fn a_direct_subscription_is_named_after_the_others() {
        let ann = user("a", "ann", "Zoe");
        let ben = user("b", "ben", "adam");
        let cat = user("c", "cat", "");
        let everyone = [&ann, &ben, &cat];
        let room = direct(&everyone);
        // The others by display name, case-insensitively; no name: the username.
        let names = |who: &User| {
            let sub = direct_subscription(&room, who, &everyone);
            assert_eq!(
                (sub.t, sub.rid.as_str(), sub.u.id.as_str()),
                (RoomType::Direct, "abc", who.id.as_str())
            );
            assert!(sub.open && sub.roles.is_empty());
            (sub.name, sub.fname)
        };
        assert_eq!(names(&ann), ("ben, cat".to_owned(), "adam, cat".to_owned()));
        assert_eq!(names(&ben), ("cat, ann".to_owned(), "cat, Zoe".to_owned()));
        assert_eq!(names(&cat), ("ben, ann".to_owned(), "adam, Zoe".to_owned()));
        // A 1:1 DM: the other one; with oneself: oneself.
        let pair = direct(&[&ann, &ben]);
        let sub = direct_subscription(&pair, &ann, &[&ann, &ben]);
        assert_eq!((sub.name.as_str(), sub.fname.as_str()), ("ben", "adam"));
        let alone = direct(&[&cat]);
        let sub = direct_subscription(&alone, &cat, &[&cat]);
        assert_eq!((sub.name.as_str(), sub.fname.as_str()), ("cat", "cat"));
    }
}
