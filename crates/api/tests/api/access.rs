//! The access matrix of docs/contract.md#rooms-and-access, table-driven.
//!
//! Users: an outsider (registered, not a member), a member, the room's
//! owner (its creator; in a DM the one who opened it) and an admin who is
//! not a member. Rooms: a public channel (`c`), a private group (`p`) and
//! a DM between the owner and the member (`d`). Endpoints: every one that
//! reads or writes messages or threads, and the room reads next to them.
//!
//! [`expected`] states the rule for each cell: a public channel is readable
//! by any logged-in user, and posting there joins it; a private group or a
//! DM is readable and writable only by its members, admins included
//! (editing and posting need membership too), with two documented
//! exceptions that are not room reads: an admin may delete any message
//! (Rocket.Chat's `force-delete-message`), and room owners (and moderators)
//! may delete others' messages. A denial is a 400 with the endpoint's own
//! text, and its body carries nothing of the room's content. A message in a
//! room the caller cannot read is not even said to exist: every endpoint
//! that takes a message id answers as for an id that does not exist
//! (admins excepted where they may act: deleting, editing).
//!
//! Each cell gets a fresh room of its own (a thread with a reply, a plain
//! message of each member and a deleted reply), so that a write in one
//! cell (posting joins, deleting removes) cannot decide another, and each
//! cell runs the endpoint on that room's real ids.

use crate::support::{Reply, Session, TestApp};
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Outsider,
    Member,
    Owner,
    Admin,
}

const WHO: &[Who] = &[Who::Outsider, Who::Member, Who::Owner, Who::Admin];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Channel,
    Group,
    Direct,
}

const KINDS: &[Kind] = &[Kind::Channel, Kind::Group, Kind::Direct];

impl Kind {
    fn letter(self) -> &'static str {
        match self {
            Kind::Channel => "c",
            Kind::Group => "p",
            Kind::Direct => "d",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ep {
    SendMessage,
    /// `chat.sendMessage` with `tmid`: a reply in the room's thread.
    SendReply,
    PostMessage,
    GetMessage,
    /// `chat.update` of the caller's own message (a member's for non-members).
    Update,
    /// `chat.delete` of the caller's own message (a member's for non-members).
    Delete,
    /// `chat.delete` of someone else's message.
    DeleteOther,
    /// `chat.update` of the member's message, naming another room (GENERAL).
    UpdateElsewhere,
    /// `chat.delete` of the member's message, naming another room (GENERAL).
    DeleteElsewhere,
    SyncThreadMessages,
    GetThreadMessages,
    GetThreadsList,
    SyncThreadsList,
    FollowMessage,
    UnfollowMessage,
    /// `chat.syncMessages?lastUpdate=`.
    SyncMessages,
    /// `chat.syncMessages?type=UPDATED&next=`.
    SyncMessagesUpdated,
    /// `chat.syncMessages?type=DELETED&next=`.
    SyncMessagesDeleted,
    GetDeletedMessages,
    RoomsInfo,
    ChannelsInfo,
    ChannelsMembers,
    ChannelsOnline,
    GroupsOnline,
    GroupsInfo,
    GroupsMembers,
    SubscriptionsGetOne,
    /// `chat.react` on the thread's parent.
    React,
    /// `subscriptions.read` of the room.
    SubscriptionsRead,
    /// `chat.starMessage` on the thread's parent.
    Star,
    /// `chat.pinMessage` on the thread's parent.
    Pin,
    /// The room family's `history` (`channels.`, `groups.` or `im.`).
    History,
    /// The room family's `messages` with a thread `query`.
    Messages,
    /// `chat.search` of a word of the room's messages.
    Search,
    /// `rooms.favorite` of the room.
    Favorite,
}

const ENDPOINTS: &[Ep] = &[
    Ep::SendMessage,
    Ep::SendReply,
    Ep::PostMessage,
    Ep::GetMessage,
    Ep::Update,
    Ep::Delete,
    Ep::DeleteOther,
    Ep::UpdateElsewhere,
    Ep::DeleteElsewhere,
    Ep::SyncThreadMessages,
    Ep::GetThreadMessages,
    Ep::GetThreadsList,
    Ep::SyncThreadsList,
    Ep::FollowMessage,
    Ep::UnfollowMessage,
    Ep::SyncMessages,
    Ep::SyncMessagesUpdated,
    Ep::SyncMessagesDeleted,
    Ep::GetDeletedMessages,
    Ep::RoomsInfo,
    Ep::ChannelsInfo,
    Ep::ChannelsMembers,
    Ep::ChannelsOnline,
    Ep::GroupsOnline,
    Ep::GroupsInfo,
    Ep::GroupsMembers,
    Ep::SubscriptionsGetOne,
    Ep::React,
    Ep::SubscriptionsRead,
    Ep::Star,
    Ep::Pin,
    Ep::History,
    Ep::Messages,
    Ep::Search,
    Ep::Favorite,
];

/// What a cell must answer.
#[derive(Clone, Debug, PartialEq)]
enum Expect {
    /// 200 with the room's real content.
    Allow,
    /// 400 with exactly this error, errorType (`None`: none) and details, and no content.
    Deny { error: &'static str, error_type: Option<&'static str>, details: Option<Value> },
    /// Exactly what the same call answers for a message id that does not
    /// exist (the id aside), so the message's existence is not revealed.
    Hidden,
    /// 200 that says nothing (`subscriptions.getOne` of a non-member: `null`).
    Nothing,
}

fn deny(error: &'static str, error_type: &'static str) -> Expect {
    Expect::Deny { error, error_type: Some(error_type), details: None }
}

const NOT_ALLOWED: &str = "Not allowed [error-not-allowed]";
const THREAD_NOT_ALLOWED: &str = "Not Allowed [error-not-allowed]";
const EDIT_NOT_ALLOWED: &str = "Message editing not allowed [error-action-not-allowed]";
const DELETE_NOT_ALLOWED: &str = "Not allowed [error-action-not-allowed]";
/// Rocket.Chat's text, without an `errorType`.
const ROOM_MISMATCH: &str = "The room id provided does not match where the message is from.";
const CHANNEL_NOT_FOUND: &str =
    "The required \"roomId\" or \"roomName\" param provided does not match any channel [error-room-not-found]";
/// `im.*` reads of a DM the caller is not in (Rocket.Chat's text: the code alone).
const INVALID_CHANNEL: &str = "[invalid-channel]";
const GROUP_NOT_FOUND: &str =
    "The required \"roomId\" or \"roomName\" param provided does not match any group [error-room-not-found]";

/// The rule: one answer per (user, room type, endpoint).
fn expected(who: Who, kind: Kind, ep: Ep) -> Expect {
    let member = matches!(who, Who::Member | Who::Owner);
    // canAccessRoom: public channels for everyone, the rest for members only.
    let reads = kind == Kind::Channel || member;
    let read = |error, error_type| if reads { Expect::Allow } else { deny(error, error_type) };
    // A message of a room the caller cannot read does not exist for them.
    let message = |answer: Expect| if reads { answer } else { Expect::Hidden };
    // Admins may delete (and edit) any message, so for these they learn the truth.
    let moderated = |answer: Expect| if reads || who == Who::Admin { answer } else { Expect::Hidden };
    let mismatch = Expect::Deny { error: ROOM_MISMATCH, error_type: None, details: None };
    match ep {
        // Posting needs what reading needs; posting to a channel joins it.
        Ep::SendMessage | Ep::SendReply | Ep::PostMessage => read(NOT_ALLOWED, "error-not-allowed"),
        Ep::GetMessage | Ep::SyncThreadMessages | Ep::GetThreadMessages => message(Expect::Allow),
        Ep::SyncMessages
        | Ep::SyncMessagesUpdated
        | Ep::SyncMessagesDeleted
        | Ep::GetDeletedMessages
        | Ep::Search
        | Ep::RoomsInfo => read(NOT_ALLOWED, "error-not-allowed"),
        Ep::GetThreadsList | Ep::SyncThreadsList => read(THREAD_NOT_ALLOWED, "error-not-allowed"),
        Ep::FollowMessage | Ep::UnfollowMessage | Ep::React => message(Expect::Allow),
        // The author edits; an admin edits any message, but only where they may post.
        Ep::Update => match who {
            Who::Member | Who::Owner => Expect::Allow,
            Who::Admin => read(NOT_ALLOWED, "error-not-allowed"),
            Who::Outsider => message(deny(EDIT_NOT_ALLOWED, "error-action-not-allowed")),
        },
        // The author deletes; an admin deletes any message (not a read).
        Ep::Delete => match who {
            Who::Member | Who::Owner | Who::Admin => Expect::Allow,
            Who::Outsider => message(deny(DELETE_NOT_ALLOWED, "error-action-not-allowed")),
        },
        // Others' messages: admins, and the owners of a channel or group
        // (a DM has no owner role).
        Ep::DeleteOther => match who {
            Who::Admin => Expect::Allow,
            Who::Owner if kind != Kind::Direct => Expect::Allow,
            _ => message(deny(DELETE_NOT_ALLOWED, "error-action-not-allowed")),
        },
        // The wrong room named: said only to those who may know the message.
        Ep::UpdateElsewhere | Ep::DeleteElsewhere => moderated(mismatch),
        // A family's endpoints see only rooms of their type ("not found"
        // otherwise), and a group only for its members.
        Ep::ChannelsInfo | Ep::ChannelsMembers => {
            if kind == Kind::Channel {
                Expect::Allow
            } else {
                deny(CHANNEL_NOT_FOUND, "error-room-not-found")
            }
        }
        // Any id that is not a public channel's, in Rocket.Chat's words.
        Ep::ChannelsOnline => {
            if kind == Kind::Channel {
                Expect::Allow
            } else {
                Expect::Deny { error: "Channel does not exists", error_type: None, details: None }
            }
        }
        // A group's members (an admin too, as for any read), others refused.
        Ep::GroupsOnline => match kind {
            Kind::Group => read(NOT_ALLOWED, "error-not-allowed"),
            _ => Expect::Deny { error: "Group does not exists", error_type: None, details: None },
        },
        Ep::GroupsInfo | Ep::GroupsMembers => {
            if kind == Kind::Group && member {
                Expect::Allow
            } else {
                deny(GROUP_NOT_FOUND, "error-room-not-found")
            }
        }
        // A family's reads: the family's own "not found" for others.
        Ep::History | Ep::Messages => match kind {
            Kind::Channel => Expect::Allow,
            Kind::Group => read(GROUP_NOT_FOUND, "error-room-not-found"),
            Kind::Direct => read(INVALID_CHANNEL, "invalid-channel"),
        },
        // Stars need a subscription to the room.
        Ep::Star => message(if member {
            Expect::Allow
        } else {
            Expect::Deny {
                error: "Not allowed [error-action-not-allowed]",
                error_type: Some("error-action-not-allowed"),
                details: Some(json!({"method": "starMessage", "action": "Message_starring"})),
            }
        }),
        // Pins need `pin-message`: admins, and owners of a channel or group.
        Ep::Pin => message(match who {
            Who::Admin => Expect::Allow,
            Who::Owner if kind != Kind::Direct => Expect::Allow,
            _ => Expect::Deny {
                error: "Not Authorized [not-authorized]",
                error_type: Some("not-authorized"),
                details: Some(json!({"method": "pinMessage"})),
            },
        }),
        // One's own read state: members only, whatever the room.
        Ep::SubscriptionsRead => {
            if member {
                Expect::Allow
            } else {
                Expect::Deny {
                    error: "Invalid subscription [error-invalid-subscription]",
                    error_type: Some("error-invalid-subscription"),
                    details: Some(json!({"method": "readMessages"})),
                }
            }
        }
        // One's own favourite: members only, whatever the room.
        Ep::Favorite => {
            if member {
                Expect::Allow
            } else {
                Expect::Deny {
                    error: "You must be part of a room to favorite it [error-invalid-subscription]",
                    error_type: Some("error-invalid-subscription"),
                    details: Some(json!({"method": "toggleFavorite"})),
                }
            }
        }
        // One's own subscription: `null` without one, whatever the room.
        Ep::SubscriptionsGetOne => {
            if member {
                Expect::Allow
            } else {
                Expect::Nothing
            }
        }
    }
}

/// A fresh room of one type with its people and messages.
struct Fixture {
    kind: Kind,
    rid: String,
    owner: Session,
    member: Session,
    outsider: Session,
    parent: String,
    reply: String,
    owner_note: String,
    member_note: String,
    removed: String,
    /// The `_id` a send in this cell asks for (so a denied send can be looked for).
    client_id: String,
    /// Texts (and a group's name) that no denial may contain.
    secrets: Vec<String>,
}

fn id(v: &Value) -> String {
    v["_id"].as_str().unwrap_or_else(|| panic!("no _id in {v}")).to_owned()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().unwrap_or_else(|| panic!("not an array: {list}")).iter().map(id).collect()
}

/// The users of the channel and group cells. Their rooms are fresh per
/// cell, so what one cell does (joining by posting, following) cannot
/// touch another; a DM is unique per pair, so each DM cell has a pair of
/// its own.
struct People {
    owner: Session,
    member: Session,
    outsider: Session,
}

async fn fixture(app: &TestApp, people: &People, kind: Kind, n: usize) -> Fixture {
    let (owner, member) = match kind {
        Kind::Direct => (app.user(&format!("dm-owner{n}")).await, app.user(&format!("dm-member{n}")).await),
        _ => (people.owner.clone(), people.member.clone()),
    };
    let outsider = people.outsider.clone();
    let name = format!("room-{n}-secret");
    let rid = match kind {
        Kind::Channel => app.channel(&owner, &name, &[&member]).await,
        Kind::Group => app.group(&owner, &name, &[&member]).await,
        Kind::Direct => app.direct(&owner, &member).await,
    };
    // The marker has a `~`, which no id has: a denial naming a random id
    // that happens to contain the marker's letters is not a leak.
    let secret = |what: &str| format!("secret {what} {n} z~q");
    let parent = id(&app.say(&owner, &rid, &secret("parent")).await);
    let reply = id(&app.reply_in(&member, &rid, &parent, &secret("reply")).await);
    let owner_note = id(&app.say(&owner, &rid, &secret("owner note")).await);
    let member_note = id(&app.say(&member, &rid, &secret("member note")).await);
    let removed = id(&app.reply_in(&owner, &rid, &parent, &secret("removed")).await);
    app.remove(&owner, &rid, &removed).await;
    let mut secrets = vec!["z~q".to_owned()];
    if kind == Kind::Group {
        secrets.push(name);
    }
    let client_id = format!("access-cell-{n}");
    Fixture {
        kind,
        rid,
        owner,
        member,
        outsider,
        parent,
        reply,
        owner_note,
        member_note,
        removed,
        client_id,
        secrets,
    }
}

impl Fixture {
    /// The endpoint family of the room's type.
    fn family(&self) -> &'static str {
        match self.kind {
            Kind::Channel => "channels",
            Kind::Group => "groups",
            Kind::Direct => "im",
        }
    }

    fn caller<'a>(&'a self, app: &'a TestApp, who: Who) -> &'a Session {
        match who {
            Who::Outsider => &self.outsider,
            Who::Member => &self.member,
            Who::Owner => &self.owner,
            Who::Admin => &app.admin,
        }
    }

    /// The message `chat.update` / `chat.delete` act on: the caller's own,
    /// or (for non-members, who have none) the member's.
    fn own_message(&self, who: Who) -> &str {
        match who {
            Who::Owner => &self.owner_note,
            _ => &self.member_note,
        }
    }

    /// Someone else's message: the owner's for the member, the member's for everyone else.
    fn others_message(&self, who: Who) -> &str {
        match who {
            Who::Member => &self.owner_note,
            _ => &self.member_note,
        }
    }

    /// The message `ep` acts on, for the endpoints that take a message id.
    fn message_of(&self, who: Who, ep: Ep) -> Option<&str> {
        match ep {
            Ep::GetMessage
            | Ep::SyncThreadMessages
            | Ep::GetThreadMessages
            | Ep::UnfollowMessage
            | Ep::React
            | Ep::Star
            | Ep::Pin => Some(&self.parent),
            Ep::FollowMessage => Some(&self.reply),
            Ep::Update | Ep::Delete => Some(self.own_message(who)),
            Ep::DeleteOther => Some(self.others_message(who)),
            Ep::UpdateElsewhere | Ep::DeleteElsewhere => Some(&self.member_note),
            _ => None,
        }
    }
}

const SINCE: &str = "2000-01-01T00:00:00.000Z";

/// Runs `ep` as `who` on the fixture's room.
async fn call(app: &TestApp, f: &Fixture, who: Who, ep: Ep) -> Reply {
    call_on(app, f, who, ep, None).await
}

/// Runs `ep` as `who` on the fixture's room; `message` replaces the id of
/// the message it acts on (see [`Fixture::message_of`]).
async fn call_on(app: &TestApp, f: &Fixture, who: Who, ep: Ep, message: Option<&str>) -> Reply {
    let me = Some(f.caller(app, who));
    let rid = &f.rid;
    let msg = message.or(f.message_of(who, ep)).unwrap_or_default();
    let get = |path: String| async move { app.get(&format!("/api/v1/{path}"), me).await };
    let post = |path: &str, body: Value| {
        let path = format!("/api/v1/{path}");
        async move { app.post(&path, me, body).await }
    };
    match ep {
        Ep::SendMessage => {
            post("chat.sendMessage", json!({"message": {"_id": f.client_id, "rid": rid, "msg": "hello"}}))
                .await
        }
        Ep::SendReply => {
            post(
                "chat.sendMessage",
                json!({"message": {"_id": f.client_id, "rid": rid, "msg": "re", "tmid": f.parent}}),
            )
            .await
        }
        Ep::PostMessage => post("chat.postMessage", json!({"roomId": rid, "text": "posted"})).await,
        Ep::GetMessage => get(format!("chat.getMessage?msgId={msg}")).await,
        Ep::Update => post("chat.update", json!({"roomId": rid, "msgId": msg, "text": "edited"})).await,
        Ep::Delete | Ep::DeleteOther => post("chat.delete", json!({"roomId": rid, "msgId": msg})).await,
        Ep::UpdateElsewhere => {
            post("chat.update", json!({"roomId": "GENERAL", "msgId": msg, "text": "edited"})).await
        }
        Ep::DeleteElsewhere => post("chat.delete", json!({"roomId": "GENERAL", "msgId": msg})).await,
        Ep::SyncThreadMessages => {
            get(format!("chat.syncThreadMessages?tmid={msg}&updatedSince={SINCE}")).await
        }
        Ep::GetThreadMessages => get(format!("chat.getThreadMessages?tmid={msg}")).await,
        Ep::GetThreadsList => get(format!("chat.getThreadsList?rid={rid}")).await,
        Ep::Search => get(format!("chat.search?roomId={rid}&searchText=secret%20-removed")).await,
        Ep::SyncThreadsList => get(format!("chat.syncThreadsList?rid={rid}&updatedSince={SINCE}")).await,
        Ep::FollowMessage => post("chat.followMessage", json!({"mid": msg})).await,
        Ep::UnfollowMessage => post("chat.unfollowMessage", json!({"mid": msg})).await,
        Ep::SyncMessages => get(format!("chat.syncMessages?roomId={rid}&lastUpdate={SINCE}")).await,
        Ep::SyncMessagesUpdated => get(format!("chat.syncMessages?roomId={rid}&type=UPDATED&next=0")).await,
        Ep::SyncMessagesDeleted => get(format!("chat.syncMessages?roomId={rid}&type=DELETED&next=0")).await,
        Ep::GetDeletedMessages => get(format!("chat.getDeletedMessages?roomId={rid}&since={SINCE}")).await,
        Ep::RoomsInfo => get(format!("rooms.info?roomId={rid}")).await,
        Ep::ChannelsInfo => get(format!("channels.info?roomId={rid}")).await,
        Ep::ChannelsMembers => get(format!("channels.members?roomId={rid}")).await,
        Ep::ChannelsOnline => get(format!("channels.online?_id={rid}")).await,
        Ep::GroupsOnline => get(format!("groups.online?_id={rid}")).await,
        Ep::GroupsInfo => get(format!("groups.info?roomId={rid}")).await,
        Ep::GroupsMembers => get(format!("groups.members?roomId={rid}")).await,
        Ep::SubscriptionsGetOne => get(format!("subscriptions.getOne?roomId={rid}")).await,
        Ep::Star => post("chat.starMessage", json!({"messageId": msg})).await,
        Ep::Pin => post("chat.pinMessage", json!({"messageId": msg})).await,
        Ep::SubscriptionsRead => post("subscriptions.read", json!({"rid": rid, "readThreads": true})).await,
        Ep::React => post("chat.react", json!({"messageId": msg, "emoji": "smile"})).await,
        Ep::Favorite => post("rooms.favorite", json!({"roomId": rid, "favorite": true})).await,
        Ep::History => get(format!("{}.history?roomId={rid}&count=0", f.family())).await,
        Ep::Messages => {
            let query = crate::support::enc(&json!({"tmid": f.parent}).to_string());
            get(format!("{}.messages?roomId={rid}&query={query}", f.family())).await
        }
    }
}

/// The follower list (`replies`) of the fixture's thread, from the store.
async fn followers(app: &TestApp, f: &Fixture) -> Vec<String> {
    let parent = app.services.store().message_by_id(&f.parent).await.expect("store").expect("parent");
    parent.replies.unwrap_or_default()
}

async fn message_exists(app: &TestApp, id: &str) -> bool {
    app.services.store().message_by_id(id).await.expect("store").is_some()
}

async fn subscribed(app: &TestApp, f: &Fixture, who: &Session) -> bool {
    app.services.store().subscription(&f.rid, &who.user_id).await.expect("store").is_some()
}

/// Checks an allowed answer: the endpoint did its work on the room's real ids.
async fn check_allowed(app: &TestApp, f: &Fixture, who: Who, ep: Ep, body: &Value) -> Result<(), String> {
    let me = f.caller(app, who);
    let has = |list: &Value, wanted: &str| ids(list).iter().any(|i| i == wanted);
    let ok = match ep {
        Ep::SendMessage => {
            body["message"]["_id"] == json!(f.client_id)
                && body["message"]["rid"] == json!(f.rid)
                && subscribed(app, f, me).await
        }
        Ep::SendReply => {
            body["message"]["tmid"] == json!(f.parent)
                && body["message"]["rid"] == json!(f.rid)
                && subscribed(app, f, me).await
        }
        Ep::PostMessage => {
            body["channel"] == json!(f.rid)
                && body["message"]["rid"] == json!(f.rid)
                && subscribed(app, f, me).await
        }
        Ep::GetMessage => {
            body["message"]["_id"] == json!(f.parent) && body["message"]["msg"].as_str().is_some()
        }
        Ep::Update => {
            let target = f.own_message(who);
            body["message"]["_id"] == json!(target) && body["message"]["msg"] == "edited"
        }
        Ep::Delete => {
            body["_id"] == json!(f.own_message(who)) && !message_exists(app, f.own_message(who)).await
        }
        Ep::DeleteOther => {
            body["_id"] == json!(f.others_message(who)) && !message_exists(app, f.others_message(who)).await
        }
        Ep::SyncThreadMessages => {
            has(&body["messages"]["update"], &f.reply) && has(&body["messages"]["remove"], &f.removed)
        }
        Ep::GetThreadMessages => has(&body["messages"], &f.reply),
        Ep::GetThreadsList => has(&body["threads"], &f.parent),
        // Thread replies are found; the deleted reply is not.
        Ep::Search => {
            has(&body["messages"], &f.parent)
                && has(&body["messages"], &f.reply)
                && has(&body["messages"], &f.member_note)
                && !has(&body["messages"], &f.removed)
        }
        Ep::SyncThreadsList => has(&body["threads"]["update"], &f.parent),
        Ep::FollowMessage => {
            *body == json!({"success": true}) && followers(app, f).await.contains(&me.user_id)
        }
        Ep::UnfollowMessage => {
            *body == json!({"success": true}) && !followers(app, f).await.contains(&me.user_id)
        }
        Ep::SyncMessages => {
            has(&body["result"]["updated"], &f.parent) && has(&body["result"]["deleted"], &f.removed)
        }
        Ep::SyncMessagesUpdated => has(&body["result"]["updated"], &f.parent),
        Ep::SyncMessagesDeleted => has(&body["result"]["deleted"], &f.removed),
        Ep::GetDeletedMessages => has(&body["messages"], &f.removed),
        Ep::RoomsInfo => body["room"]["_id"] == json!(f.rid) && body["room"]["t"] == f.kind.letter(),
        Ep::ChannelsInfo => body["channel"]["_id"] == json!(f.rid),
        Ep::GroupsInfo => body["group"]["_id"] == json!(f.rid),
        Ep::ChannelsMembers | Ep::GroupsMembers => {
            let names: Vec<&str> = body["members"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["username"].as_str())
                .collect();
            names.contains(&f.owner.username.as_str()) && names.contains(&f.member.username.as_str())
        }
        // Only the room's own members, each as `{_id, username}`.
        Ep::ChannelsOnline | Ep::GroupsOnline => body["online"].as_array().is_some_and(|online| {
            online.iter().all(|m| {
                m.as_object().is_some_and(|o| o.len() == 2)
                    && [&f.owner.username, &f.member.username].iter().any(|u| m["username"] == json!(u))
            })
        }),
        Ep::SubscriptionsGetOne => {
            body["subscription"]["rid"] == json!(f.rid)
                && body["subscription"]["u"]["_id"] == json!(me.user_id)
        }
        Ep::Star => {
            let parent = app.services.store().message_by_id(&f.parent).await.expect("store").expect("parent");
            *body == json!({"success": true})
                && parent.extra.get("starred") == Some(&json!([{"_id": me.user_id}]))
        }
        Ep::Pin => {
            let parent = app.services.store().message_by_id(&f.parent).await.expect("store").expect("parent");
            body["message"]["t"] == "message_pinned"
                && body["message"]["rid"] == json!(f.rid)
                && parent.extra.get("pinned") == Some(&json!(true))
        }
        Ep::SubscriptionsRead => {
            let sub = app.services.store().subscription(&f.rid, &me.user_id).await.expect("store");
            *body == json!({"success": true})
                && sub.is_some_and(|s| s.ls.is_some() && !s.alert && s.tunread.is_empty())
        }
        Ep::React => {
            let parent = app.services.store().message_by_id(&f.parent).await.expect("store").expect("parent");
            *body == json!({"success": true})
                && parent.extra.get("reactions") == Some(&json!({":smile:": {"usernames": [me.username]}}))
        }
        Ep::Favorite => {
            let sub = app.services.store().subscription(&f.rid, &me.user_id).await.expect("store");
            *body == json!({"success": true}) && sub.is_some_and(|s| s.f)
        }
        Ep::History => has(&body["messages"], &f.parent) && has(&body["messages"], &f.reply),
        Ep::Messages => ids(&body["messages"]) == vec![f.reply.clone()],
        // Never allowed: the message is not in the room named.
        Ep::UpdateElsewhere | Ep::DeleteElsewhere => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("allowed, but not the room's content: {body}"))
    }
}

/// Checks that a denied write changed nothing.
async fn check_unchanged(app: &TestApp, f: &Fixture, who: Who, ep: Ep) -> Result<(), String> {
    let me = f.caller(app, who);
    let unchanged = match ep {
        Ep::SendMessage | Ep::SendReply | Ep::PostMessage => {
            !message_exists(app, &f.client_id).await && !subscribed(app, f, me).await
        }
        Ep::Update | Ep::UpdateElsewhere => {
            let target = f.message_of(who, ep).unwrap_or_default();
            let target = app.services.store().message_by_id(target).await.expect("store");
            target.is_some_and(|m| m.msg != "edited")
        }
        Ep::Delete => message_exists(app, f.own_message(who)).await,
        Ep::DeleteElsewhere => message_exists(app, &f.member_note).await,
        Ep::DeleteOther => message_exists(app, f.others_message(who)).await,
        Ep::FollowMessage => !followers(app, f).await.contains(&me.user_id),
        Ep::React | Ep::Star | Ep::Pin => {
            let parent = app.services.store().message_by_id(&f.parent).await.expect("store").expect("parent");
            ["reactions", "starred", "pinned"].iter().all(|k| !parent.extra.contains_key(*k))
        }
        _ => true,
    };
    if unchanged {
        Ok(())
    } else {
        Err("denied, but the write happened".to_owned())
    }
}

/// Runs one cell; `Err` describes how it differs from the rule.
async fn check_cell(app: &TestApp, f: &Fixture, who: Who, ep: Ep, expect: &Expect) -> Result<(), String> {
    let reply = call(app, f, who, ep).await;
    let (status, body) = (reply.status.as_u16(), reply.body);
    match expect {
        Expect::Allow => {
            if status != 200 || body["success"] != json!(true) {
                return Err(format!("expected 200, got {status}: {body}"));
            }
            check_allowed(app, f, who, ep, &body).await
        }
        Expect::Nothing => {
            if status == 200 && body == json!({"subscription": null, "success": true}) {
                Ok(())
            } else {
                Err(format!("expected an empty 200, got {status}: {body}"))
            }
        }
        Expect::Deny { error, error_type, details } => {
            let shape = status == 400
                && body["success"] == json!(false)
                && body["error"] == json!(error)
                && body.get("errorType") == error_type.map(|t| json!(t)).as_ref()
                && body.get("details") == details.as_ref();
            if !shape {
                return Err(format!(
                    "expected 400 {error:?} ({error_type:?}, details {details:?}), got {status}: {body}"
                ));
            }
            check_denial(app, f, who, ep, &body).await
        }
        Expect::Hidden => {
            let real = f.message_of(who, ep).unwrap_or_default();
            let missing = format!("no-such-message-{}", f.client_id);
            let absent = call_on(app, f, who, ep, Some(&missing)).await;
            let same = status == absent.status.as_u16()
                && body.to_string().replace(real, "<id>")
                    == absent.body.to_string().replace(&missing, "<id>");
            if status != 400 || !same {
                return Err(format!(
                    "answers {status}: {body}, but an id that does not exist gets {}: {}",
                    absent.status.as_u16(),
                    absent.body
                ));
            }
            check_denial(app, f, who, ep, &body).await
        }
    }
}

/// Checks a refusal: nothing of the room in the answer (only the error
/// envelope, no message text, no group name), and no write happened.
async fn check_denial(app: &TestApp, f: &Fixture, who: Who, ep: Ep, body: &Value) -> Result<(), String> {
    let keys: Vec<&str> = body.as_object().into_iter().flatten().map(|(k, _)| k.as_str()).collect();
    if keys.iter().any(|k| !["success", "error", "errorType", "details"].contains(k)) {
        return Err(format!("a denial with more than the error envelope: {body}"));
    }
    let text = body.to_string();
    if let Some(leak) = f.secrets.iter().find(|s| text.contains(s.as_str())) {
        return Err(format!("a denial that reveals {leak:?}: {body}"));
    }
    check_unchanged(app, f, who, ep).await
}

fn symbol(expect: &Expect) -> &'static str {
    match expect {
        Expect::Allow => "allow",
        Expect::Deny { .. } => "deny",
        Expect::Hidden => "hidden",
        Expect::Nothing => "null",
    }
}

/// Every cell of users × room types × endpoints, on real rooms, against [`expected`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_matrix() {
    let app = TestApp::unlimited().await;
    let mut cells = Vec::new();
    for &kind in KINDS {
        for &ep in ENDPOINTS {
            for &who in WHO {
                cells.push((kind, ep, who, expected(who, kind, ep)));
            }
        }
    }
    let people = People {
        owner: app.user("owner").await,
        member: app.user("member").await,
        outsider: app.user("outsider").await,
    };
    let mut failures = Vec::new();
    let mut table = String::new();
    for (n, (kind, ep, who, expect)) in cells.iter().enumerate() {
        let f = fixture(&app, &people, *kind, n).await;
        if let Err(e) = check_cell(&app, &f, *who, *ep, expect).await {
            failures.push(format!("{who:?} × {} × {ep:?}: {e}", kind.letter()));
        }
    }
    // The matrix, printed: one row per endpoint, one column per (room type, user).
    table.push_str(&format!("{:<22}", "endpoint"));
    for kind in KINDS {
        for who in WHO {
            table.push_str(&format!(
                " {:>9}",
                format!("{}:{who:?}", kind.letter()).chars().take(9).collect::<String>()
            ));
        }
    }
    table.push('\n');
    for &ep in ENDPOINTS {
        table.push_str(&format!("{:<22}", format!("{ep:?}")));
        for &kind in KINDS {
            for &who in WHO {
                table.push_str(&format!(" {:>9}", symbol(&expected(who, kind, ep))));
            }
        }
        table.push('\n');
    }
    println!(
        "access matrix: {} users × {} room types × {} endpoints = {} cells\n{table}",
        WHO.len(),
        KINDS.len(),
        ENDPOINTS.len(),
        cells.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cells differ from the rule:\n{}",
        failures.len(),
        cells.len(),
        failures.join("\n")
    );
}
