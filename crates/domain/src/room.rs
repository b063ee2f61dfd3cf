//! Rooms (public channels, private groups, direct messages) and subscriptions.

use crate::message::UserRef;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The room type, as Rocket.Chat's `t` field spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RoomType {
    /// `c`: a public channel, readable by every logged-in user.
    #[serde(rename = "c")]
    Channel,
    /// `p`: a private group, readable by its members only.
    #[serde(rename = "p")]
    Group,
    /// `d`: a direct message, readable by its members only.
    #[serde(rename = "d")]
    Direct,
}

impl RoomType {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomType::Channel => "c",
            RoomType::Group => "p",
            RoomType::Direct => "d",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "c" => Some(RoomType::Channel),
            "p" => Some(RoomType::Group),
            "d" => Some(RoomType::Direct),
            _ => None,
        }
    }
}

/// A room. Serialises to Rocket.Chat's room object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Room {
    #[serde(rename = "_id")]
    pub id: String,
    pub t: RoomType,
    /// Unique among `c`/`p` rooms; `None` for direct messages.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fname: Option<String>,
    /// The creator (`u`).
    #[serde(rename = "u", skip_serializing_if = "Option::is_none", default)]
    pub creator: Option<UserRef>,
    pub ts: Timestamp,
    #[serde(rename = "_updatedAt")]
    pub updated_at: Timestamp,
    pub msgs: i64,
    #[serde(rename = "usersCount")]
    pub users_count: i64,
    #[serde(rename = "ro")]
    pub read_only: bool,
    #[serde(rename = "default")]
    pub is_default: bool,
    #[serde(rename = "sysMes")]
    pub sys_mes: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub announcement: Option<String>,
    /// Archived: readable, closed to new messages. Rocket.Chat writes the
    /// field only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub archived: bool,
    /// Direct messages: the members' usernames and ids, sorted by id.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub usernames: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub uids: Vec<String>,
    /// Time of the last message (`lm`).
    #[serde(rename = "lm", skip_serializing_if = "Option::is_none", default)]
    pub last_message_at: Option<Timestamp>,
    /// A discussion's parent room (`rooms.createDiscussion`). The parent's
    /// `discussion-created` message has the discussion's id as its own.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prid: Option<String>,
    /// The room's custom fields (`channels.setCustomFields`): any JSON
    /// object, answered as it was set. Absent until set.
    #[serde(rename = "customFields", skip_serializing_if = "Option::is_none", default)]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Joining needs a code (`channels.setJoinCode`). The code itself is
    /// never part of the room: stores keep it apart, so no answer, event
    /// or log that carries a room can leak it.
    #[serde(rename = "joinCodeRequired", skip_serializing_if = "std::ops::Not::not", default)]
    pub join_code_required: bool,
}

impl Room {
    /// A new room of type `t` made at `now`, with every other field at its
    /// starting value (no name, no members counted, no messages, system
    /// messages on, nothing optional set). Callers set what differs with
    /// struct update syntax, so a field added to rooms is defaulted here
    /// once, not at every place a room is made.
    pub fn new(id: String, t: RoomType, now: Timestamp) -> Room {
        Room {
            id,
            t,
            name: None,
            fname: None,
            creator: None,
            ts: now,
            updated_at: now,
            msgs: 0,
            users_count: 0,
            read_only: false,
            is_default: false,
            sys_mes: true,
            topic: None,
            description: None,
            announcement: None,
            archived: false,
            usernames: Vec::new(),
            uids: Vec::new(),
            last_message_at: None,
            prid: None,
            custom_fields: None,
            join_code_required: false,
        }
    }
}

/// A user's membership of a room, with their read state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    #[serde(rename = "_id")]
    pub id: String,
    pub rid: String,
    pub u: UserRef,
    pub t: RoomType,
    /// The room's name as this user sees it (the other user's username in a DM).
    pub name: String,
    pub fname: String,
    pub ts: Timestamp,
    /// Last seen.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ls: Option<Timestamp>,
    #[serde(rename = "_updatedAt")]
    pub updated_at: Timestamp,
    pub open: bool,
    pub alert: bool,
    pub unread: i64,
    #[serde(rename = "userMentions")]
    pub user_mentions: i64,
    /// Unread messages mentioning `@all` or `@here`.
    #[serde(rename = "groupMentions", default)]
    pub group_mentions: i64,
    /// Threads with replies this user has not read.
    pub tunread: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// A favourite of its user (`rooms.favorite`). Rocket.Chat writes `f`
    /// only when it is true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub f: bool,
    /// The room is archived (Rocket.Chat marks its members' subscriptions
    /// too, so clients can sort them apart without the room).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
    /// Users whose messages this member asked not to see
    /// (`chat.ignoreUser`); clients hide them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}
