//! The wire shapes the document names: what the handlers answer, and the
//! request bodies and query parameters that are not a handler's own type.
//!
//! These types are never built: the handlers write their answers with
//! `serde_json` or the domain types, and these describe those bytes. The API
//! tests check real answers against them (`tests/api/openapi.rs`), so a
//! change of shape that is not made here too fails a test.
#![allow(dead_code)] // Descriptions only: no value of these types is made.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

// ------------------------------------------------------------------ errors

/// Every failure: `{success: false, error, errorType?, details?}` (the 401
/// bodies also carry `status: "error"` and `message`).
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// The reason; when `errorType` is present it ends with ` [<errorType>]`.
    pub error: String,
    /// A stable code such as `error-invalid-params`, `error-not-allowed`,
    /// `error-unauthorized`, `error-too-many-requests`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// More about the failure, e.g. `{method}` for thread follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
    /// `error` (401 answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The same text as `error` (401 answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

// ------------------------------------------------------------------ common

/// A point in time: ISO-8601 UTC with milliseconds, `2019-04-16T18:30:46.615Z`.
#[derive(Serialize, ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2019-04-16T18:30:46.615Z")]
pub struct Date(String);

/// A body that only reports success: `{success: true}`.
#[derive(Serialize, ToSchema)]
pub struct Done {
    /// Always `true`.
    pub success: bool,
}

/// A user inside another document (`u`, `editedBy`).
#[derive(Serialize, ToSchema)]
pub struct UserRef {
    #[serde(rename = "_id")]
    pub id: String,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

// ------------------------------------------------------------------ users

/// An e-mail address of a user.
#[derive(Serialize, ToSchema)]
pub struct Email {
    pub address: String,
    pub verified: bool,
}

/// A user as others see them.
#[derive(Serialize, ToSchema)]
pub struct User {
    #[serde(rename = "_id")]
    pub id: String,
    /// `user` or `bot`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "createdAt")]
    pub created_at: Date,
    pub username: String,
    pub name: String,
    pub emails: Vec<Email>,
    /// Presence: `online`, `away`, `busy`, `offline`.
    pub status: String,
    pub active: bool,
    /// E.g. `user`, `admin`, `bot`.
    pub roles: Vec<String>,
    #[serde(rename = "utcOffset")]
    pub utc_offset: f64,
    #[serde(rename = "_updatedAt")]
    pub updated_at: Date,
    /// The status message; absent until one is set.
    #[serde(rename = "statusText", skip_serializing_if = "Option::is_none")]
    pub status_text: Option<String>,
}

/// A user's own preferences: the keys set with `users.setPreferences`.
#[derive(Serialize, ToSchema)]
pub struct MeSettings {
    pub preferences: Map<String, Value>,
}

/// The caller as they see themselves: their user, their settings and their
/// first e-mail address.
#[derive(Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    pub settings: MeSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When the caller last logged in.
    #[serde(rename = "lastLogin", skip_serializing_if = "Option::is_none")]
    pub last_login: Option<Date>,
    /// The status the caller chose: `online` (their connections decide),
    /// `away`, `busy`, `offline` (invisible).
    #[serde(rename = "statusDefault")]
    pub status_default: String,
    /// The status of the caller's realtime connections together: `online`,
    /// `away`, or `offline` when none is open.
    #[serde(rename = "statusConnection")]
    pub status_connection: String,
}

/// `{user}`.
#[derive(Serialize, ToSchema)]
pub struct UserAnswer {
    pub user: User,
    pub success: bool,
}

/// A user in `users.list`: as others see them, the addresses only for
/// holders of `view-full-other-user-info`.
#[derive(Serialize, ToSchema)]
pub struct ListedUser {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "createdAt")]
    pub created_at: Date,
    pub username: String,
    pub name: String,
    pub emails: Option<Vec<Email>>,
    pub status: String,
    pub active: bool,
    pub roles: Vec<String>,
    #[serde(rename = "utcOffset")]
    pub utc_offset: f64,
    #[serde(rename = "_updatedAt")]
    pub updated_at: Date,
    /// The status message; absent until one is set.
    #[serde(rename = "statusText", skip_serializing_if = "Option::is_none")]
    pub status_text: Option<String>,
}

/// `users.list`: `{users, count, offset, total}`.
#[derive(Serialize, ToSchema)]
pub struct UsersAnswer {
    pub users: Vec<ListedUser>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// A user in `roles.getUsersInRole`.
#[derive(Serialize, ToSchema)]
pub struct RoleHolder {
    #[serde(rename = "_id")]
    pub id: String,
    pub username: String,
    pub name: String,
    pub emails: Vec<Email>,
    #[serde(rename = "createdAt")]
    pub created_at: Date,
    #[serde(rename = "_updatedAt")]
    pub updated_at: Date,
}

/// `roles.getUsersInRole`: `{users, total}`.
#[derive(Serialize, ToSchema)]
pub struct UsersInRoleAnswer {
    pub users: Vec<RoleHolder>,
    pub total: u64,
    pub success: bool,
}

/// `users.setActiveStatus`: `{user: {_id, active}}`.
#[derive(Serialize, ToSchema)]
pub struct ActiveStatusAnswer {
    pub user: ActiveStatus,
    pub success: bool,
}

/// A user's id and whether it is active.
#[derive(Serialize, ToSchema)]
pub struct ActiveStatus {
    #[serde(rename = "_id")]
    pub id: String,
    pub active: bool,
}

/// `GET me`: the caller's own user, with `success`.
#[derive(Serialize, ToSchema)]
pub struct MeAnswer {
    #[serde(flatten)]
    pub me: Me,
    pub success: bool,
}

/// What a login answers: the id and token to send as `X-User-Id` and
/// `X-Auth-Token`, and the user.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginData {
    pub user_id: String,
    pub auth_token: String,
    pub me: Me,
}

/// `{status: "success", data: {userId, authToken, me}}`.
#[derive(Serialize, ToSchema)]
pub struct LoginAnswer {
    /// `success`.
    pub status: String,
    pub data: LoginData,
    pub success: bool,
}

/// `{message: "You've been logged out!"}`.
#[derive(Serialize, ToSchema)]
pub struct LogoutData {
    pub message: String,
}

/// `{status: "success", data: {message}}`.
#[derive(Serialize, ToSchema)]
pub struct LogoutAnswer {
    pub status: String,
    pub data: LogoutData,
    pub success: bool,
}

/// A password sent as its SHA-256 digest rather than in plain text.
#[derive(Serialize, ToSchema)]
pub struct PasswordDigest {
    /// Lower-case hex SHA-256 of the password.
    pub digest: String,
    /// `sha-256`.
    pub algorithm: String,
}

/// A password: plain text, or its digest.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Password {
    Plain(String),
    Digest(PasswordDigest),
}

/// Credentials: a user (`user`, `username` or `email`) and a `password`, or
/// the `resume` token of an earlier login.
#[derive(Serialize, ToSchema)]
pub struct LoginRequest {
    /// A username or an e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Password>,
    /// An auth token from an earlier login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
}

// ------------------------------------------------------------------ settings

/// `{_id, value}`: a setting and its current value (boolean, number or string).
#[derive(Serialize, ToSchema)]
pub struct SettingAnswer {
    #[serde(rename = "_id")]
    pub id: String,
    pub value: Value,
    pub success: bool,
}

// ------------------------------------------------------------------ rooms

/// The room type: `c` public channel, `p` private group, `d` direct message.
#[derive(Serialize, ToSchema)]
pub enum RoomType {
    #[serde(rename = "c")]
    Channel,
    #[serde(rename = "p")]
    Group,
    #[serde(rename = "d")]
    Direct,
}

/// A room: a public channel, a private group or a direct message.
#[derive(Serialize, ToSchema)]
pub struct Room {
    #[serde(rename = "_id")]
    pub id: String,
    pub t: RoomType,
    /// Unique among channels and groups; absent for direct messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fname: Option<String>,
    /// The creator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub u: Option<UserRef>,
    pub ts: Date,
    #[serde(rename = "_updatedAt")]
    pub updated_at: Date,
    /// Number of messages.
    pub msgs: i64,
    #[serde(rename = "usersCount")]
    pub users_count: i64,
    /// Read-only: only owners may post.
    pub ro: bool,
    /// Joined by new users.
    pub default: bool,
    #[serde(rename = "sysMes")]
    pub sys_mes: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub announcement: Option<String>,
    /// Archived: readable, closed to new messages (present only when true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    /// Direct messages: the members' usernames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usernames: Option<Vec<String>>,
    /// Direct messages: the members' ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uids: Option<Vec<String>>,
    /// Time of the last message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lm: Option<Date>,
    /// A discussion's parent room.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prid: Option<String>,
    /// The room's custom fields (`setCustomFields`): any JSON object.
    #[serde(rename = "customFields", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Joining needs a code (`channels.setJoinCode`); the code itself is
    /// never answered. Present only when true.
    #[serde(rename = "joinCodeRequired", skip_serializing_if = "Option::is_none")]
    pub join_code_required: Option<bool>,
}

/// `{discussion}`: the new discussion, with its id also as `rid`.
#[derive(Serialize, ToSchema)]
pub struct DiscussionAnswer {
    pub discussion: DirectRoom,
    pub success: bool,
}

/// A direct message room, which also carries its id as `rid`.
#[derive(Serialize, ToSchema)]
pub struct DirectRoom {
    #[serde(flatten)]
    pub room: Room,
    pub rid: String,
}

/// `{channel}`.
#[derive(Serialize, ToSchema)]
pub struct ChannelAnswer {
    pub channel: Room,
    pub success: bool,
}

/// `{group}`.
#[derive(Serialize, ToSchema)]
pub struct GroupAnswer {
    pub group: Room,
    pub success: bool,
}

/// `{room}`.
#[derive(Serialize, ToSchema)]
pub struct RoomAnswer {
    pub room: Room,
    pub success: bool,
}

/// `{room}`: a direct message room.
#[derive(Serialize, ToSchema)]
pub struct DirectRoomAnswer {
    pub room: DirectRoom,
    pub success: bool,
}

/// A room member.
#[derive(Serialize, ToSchema)]
pub struct Member {
    #[serde(rename = "_id")]
    pub id: String,
    pub username: String,
    pub name: String,
    pub status: String,
    #[serde(rename = "_updatedAt")]
    pub updated_at: Date,
}

/// A member who is online, as `channels.online` lists them.
#[derive(Serialize, ToSchema)]
pub struct OnlineMember {
    #[serde(rename = "_id")]
    pub id: String,
    pub username: String,
}

/// `{online}`: the channel's members who are not offline.
#[derive(Serialize, ToSchema)]
pub struct OnlineAnswer {
    pub online: Vec<OnlineMember>,
    pub success: bool,
}

/// `{members, count, offset, total}`: `count` items from `offset` of `total`.
#[derive(Serialize, ToSchema)]
pub struct MembersPage {
    pub members: Vec<Member>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// `{channels, count, offset, total}`.
#[derive(Serialize, ToSchema)]
pub struct ChannelsPage {
    pub channels: Vec<Room>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// `rooms.cleanHistory`: the room's id and how many messages went.
#[derive(Serialize, ToSchema)]
pub struct CleanHistoryAnswer {
    #[serde(rename = "_id")]
    pub id: String,
    pub count: u64,
    pub success: bool,
}

/// A room-settings route's answer: the text it set (`setTopic`:
/// `{topic}`, ...), or the room (`setReadOnly`, `rename`, `setType`:
/// `{channel}` / `{group}`), or nothing else (`archive`, `unarchive`).
#[derive(Serialize, ToSchema)]
pub struct RoomSettingAnswer {
    pub topic: Option<String>,
    pub description: Option<String>,
    pub purpose: Option<String>,
    pub announcement: Option<String>,
    pub channel: Option<Room>,
    pub group: Option<Room>,
    pub success: bool,
}

/// `*.counters`: `null` where the caller may not know.
#[derive(Serialize, ToSchema)]
pub struct RoomCountersAnswer {
    pub joined: bool,
    pub members: Option<i64>,
    pub unreads: Option<u64>,
    #[serde(rename = "unreadsFrom")]
    pub unreads_from: Option<Date>,
    pub msgs: Option<i64>,
    pub latest: Option<Date>,
    #[serde(rename = "userMentions")]
    pub user_mentions: Option<i64>,
    pub success: bool,
}

/// A member's room roles: `{rid, u, roles}`.
#[derive(Serialize, ToSchema)]
pub struct RoomRoleHolder {
    #[serde(rename = "_id")]
    pub id: String,
    pub rid: String,
    pub u: UserRef,
    pub roles: Vec<String>,
}

/// `{roles: [{_id, rid, u, roles}]}`.
#[derive(Serialize, ToSchema)]
pub struct RoomRolesAnswer {
    pub roles: Vec<RoomRoleHolder>,
    pub success: bool,
}

/// `{moderators: [{_id, username}]}`.
#[derive(Serialize, ToSchema)]
pub struct ModeratorsAnswer {
    pub moderators: Vec<UserRef>,
    pub success: bool,
}

/// `{ims, count, offset, total}`.
#[derive(Serialize, ToSchema)]
pub struct ImsPage {
    pub ims: Vec<Room>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// `{rooms, count, offset, total}`.
#[derive(Serialize, ToSchema)]
pub struct RoomsPage {
    pub rooms: Vec<Room>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// `{groups, count, offset, total}`.
#[derive(Serialize, ToSchema)]
pub struct GroupsPage {
    pub groups: Vec<Room>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// A user's membership of a room, with their read state.
#[derive(Serialize, ToSchema)]
pub struct Subscription {
    #[serde(rename = "_id")]
    pub id: String,
    pub rid: String,
    pub u: UserRef,
    pub t: RoomType,
    /// The room's name as this user sees it (the other user in a DM).
    pub name: String,
    pub fname: String,
    pub ts: Date,
    /// Last seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ls: Option<Date>,
    #[serde(rename = "_updatedAt")]
    pub updated_at: Date,
    pub open: bool,
    pub alert: bool,
    pub unread: i64,
    #[serde(rename = "userMentions")]
    pub user_mentions: i64,
    /// Unread messages mentioning `@all` or `@here`.
    #[serde(rename = "groupMentions")]
    pub group_mentions: i64,
    /// Threads with replies this user has not read.
    pub tunread: Vec<String>,
    pub roles: Vec<String>,
    /// A favourite (present only when true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f: Option<bool>,
    /// The room is archived (present only when true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    /// Ids of the members this user ignores (present only when not empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<Vec<String>>,
}

/// `{subscription}`: `null` when the caller has none.
#[derive(Serialize, ToSchema)]
pub struct SubscriptionAnswer {
    pub subscription: Option<Subscription>,
    pub success: bool,
}

/// A removal: `{_id, _deletedAt}`.
#[derive(Serialize, ToSchema)]
pub struct Removal {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "_deletedAt")]
    pub deleted_at: Date,
}

/// `{update: [room], remove: [{_id, _deletedAt}]}`.
#[derive(Serialize, ToSchema)]
pub struct RoomsDelta {
    pub update: Vec<Room>,
    /// Rooms deleted (by room id).
    pub remove: Vec<Removal>,
    pub success: bool,
}

/// `{update: [subscription], remove: [{_id, _deletedAt}]}`.
#[derive(Serialize, ToSchema)]
pub struct SubscriptionsDelta {
    pub update: Vec<Subscription>,
    /// Subscriptions removed (by subscription id).
    pub remove: Vec<Removal>,
    pub success: bool,
}

// ------------------------------------------------------------------ messages

/// A user mentioned in a message (`@username`, or `all` / `here`).
#[derive(Serialize, ToSchema)]
pub struct Mention {
    #[serde(rename = "_id")]
    pub id: String,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A channel named in a message (`#name`).
#[derive(Serialize, ToSchema)]
pub struct ChannelMention {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
}

/// A message document. The server's fields are listed; the client fields a
/// message keeps (`alias`, `emoji`, `avatar`, `attachments`, `customFields`,
/// ...) come back as they were sent. With a `fields` projection only the
/// chosen fields are returned.
#[derive(Serialize, ToSchema)]
pub struct Message {
    #[serde(rename = "_id")]
    pub id: String,
    /// The room.
    pub rid: String,
    /// The text.
    pub msg: String,
    /// The markup tree of the text (Rocket.Chat's `md`: PARAGRAPH, BOLD,
    /// MENTION_USER... nodes, as `@rocket.chat/message-parser` builds them;
    /// docs/markup.md). Absent when there is no text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md: Option<Vec<Value>>,
    pub ts: Date,
    /// The sender.
    pub u: UserRef,
    /// Bumped by every change; what sync pages by.
    #[serde(rename = "_updatedAt")]
    pub updated_at: Date,
    pub mentions: Vec<Mention>,
    pub channels: Vec<ChannelMention>,
    /// The thread this message replies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmid: Option<String>,
    /// A thread reply also shown in the room.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tshow: Option<bool>,
    /// Thread parents: the number of replies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcount: Option<i64>,
    /// Thread parents: the time of the last reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tlm: Option<Date>,
    /// Thread parents: the ids of the users following the thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replies: Option<Vec<String>>,
    /// The message type; `rm` marks a deleted thread parent kept as a placeholder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t: Option<String>,
    #[serde(rename = "editedAt", skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Date>,
    #[serde(rename = "editedBy", skip_serializing_if = "Option::is_none")]
    pub edited_by: Option<UserRef>,
    /// The client fields the message keeps, as sent.
    #[serde(flatten)]
    pub client_fields: Map<String, Value>,
}

/// A message as a client sends it to `chat.sendMessage`.
#[derive(Serialize, ToSchema)]
pub struct NewMessage {
    /// A client-chosen id (kept), or absent for a server one.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The room.
    pub rid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// Makes the message a reply in this thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmid: Option<String>,
    /// A thread reply also shown in the room.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tshow: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<Value>>,
    #[serde(rename = "customFields", skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<Map<String, Value>>,
    /// Other client fields Rocket.Chat keeps on a message.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `{message}`.
#[derive(Serialize, ToSchema)]
pub struct MessageAnswer {
    pub message: Message,
    pub success: bool,
}

/// `{ts, channel, message}`.
#[derive(Serialize, ToSchema)]
pub struct PostedAnswer {
    /// The message's time, in epoch milliseconds.
    pub ts: i64,
    /// The target as given.
    pub channel: String,
    pub message: Message,
    pub success: bool,
}

/// What remains of a deleted message in `chat.delete`'s answer.
#[derive(Serialize, ToSchema)]
pub struct DeletedRef {
    #[serde(rename = "_id")]
    pub id: String,
    pub rid: String,
    pub u: UserRef,
}

/// `{_id, ts, message: {_id, rid, u}}`.
#[derive(Serialize, ToSchema)]
pub struct DeletedAnswer {
    #[serde(rename = "_id")]
    pub id: String,
    /// The time of the deletion.
    pub ts: Date,
    pub message: DeletedRef,
    pub success: bool,
}

// ------------------------------------------------------------------ threads and sync

/// A removed message as the thread feeds report it.
#[derive(Serialize, ToSchema)]
pub struct Tombstone {
    #[serde(rename = "_id")]
    pub id: String,
    pub rid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmid: Option<String>,
    #[serde(rename = "_deletedAt")]
    pub deleted_at: Date,
}

/// A removed message as the room feeds report it.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "_deletedAt")]
    pub deleted_at: Date,
}

/// `{update, remove}`: documents changed and removed since the given time,
/// oldest first.
#[derive(Serialize, ToSchema)]
pub struct Changes {
    pub update: Vec<Message>,
    pub remove: Vec<Tombstone>,
}

/// `{messages: {update, remove}}`.
#[derive(Serialize, ToSchema)]
pub struct ThreadMessagesSync {
    pub messages: Changes,
    pub success: bool,
}

/// `{threads: {update, remove}}`.
#[derive(Serialize, ToSchema)]
pub struct ThreadsSync {
    pub threads: Changes,
    pub success: bool,
}

/// `{messages, count, offset, total}`.
#[derive(Serialize, ToSchema)]
pub struct MessagesPage {
    pub messages: Vec<Message>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// `{messages}`: `chat.search` (no total, as Rocket.Chat).
#[derive(Serialize, ToSchema)]
pub struct MessagesFound {
    pub messages: Vec<Message>,
    pub success: bool,
}

/// `{threads, count, offset, total}`: thread parents.
#[derive(Serialize, ToSchema)]
pub struct ThreadsPage {
    pub threads: Vec<Message>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// Where a cursor page ends: the newest (`next`) and oldest (`previous`)
/// stamp of the page as strings of epoch milliseconds; `null` for an empty page.
#[derive(Serialize, ToSchema)]
pub struct Cursor {
    pub next: Option<String>,
    pub previous: Option<String>,
}

/// The delta form `{updated, deleted}`, or a cursor form: `{updated, cursor}`
/// (`type=UPDATED`) or `{deleted, cursor}` (`type=DELETED`).
#[derive(Serialize, ToSchema)]
pub struct RoomSync {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<Vec<Message>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Vec<Deleted>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

/// `{result}`.
#[derive(Serialize, ToSchema)]
pub struct RoomSyncAnswer {
    pub result: RoomSync,
    pub success: bool,
}

/// `{messages: [{_id, _deletedAt}], count, offset, total}`.
#[derive(Serialize, ToSchema)]
pub struct DeletedPage {
    pub messages: Vec<Deleted>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

// ------------------------------------------------------------------ server

/// `{version, threadsyncVersion}`.
#[derive(Serialize, ToSchema)]
pub struct InfoAnswer {
    /// The Rocket.Chat version whose API threadsync follows (what clients
    /// check support and pick code paths by).
    pub version: String,
    /// threadsync's own version.
    #[serde(rename = "threadsyncVersion")]
    pub threadsync_version: String,
    /// Server details, for callers with `get-server-info` (admins) only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<ServerInfo>,
    pub success: bool,
}

/// `/api/info`'s `info`: the versions and the build's platform.
#[derive(Serialize, ToSchema)]
pub struct ServerInfo {
    pub version: String,
    #[serde(rename = "threadsyncVersion")]
    pub threadsync_version: String,
    pub build: ServerBuild,
}

/// The platform threadsync was built for, and the CPUs it may use.
#[derive(Serialize, ToSchema)]
pub struct ServerBuild {
    /// E.g. `linux`.
    pub platform: String,
    /// E.g. `x86_64`.
    pub arch: String,
    pub cpus: u64,
}

// ------------------------------------------------------------------ start-up

/// A setting and its value.
#[derive(Serialize, ToSchema)]
pub struct SettingValue {
    #[serde(rename = "_id")]
    pub id: String,
    /// A boolean, number or string.
    pub value: Value,
}

/// `{settings, count, offset, total}`.
#[derive(Serialize, ToSchema)]
pub struct SettingsPage {
    pub settings: Vec<SettingValue>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// `{services: []}`.
#[derive(Serialize, ToSchema)]
pub struct OAuthServices {
    /// Always empty: no OAuth login.
    pub services: Vec<Map<String, Value>>,
    pub success: bool,
}

/// A permission and the roles holding it.
#[derive(Serialize, ToSchema)]
pub struct Permission {
    #[serde(rename = "_id")]
    pub id: String,
    pub roles: Vec<String>,
    #[serde(rename = "_updatedAt")]
    pub updated_at: Date,
}

/// `{update: [permission], remove: []}`.
#[derive(Serialize, ToSchema)]
pub struct PermissionsAnswer {
    pub update: Vec<Permission>,
    /// Always empty: built-in permissions are never removed.
    pub remove: Vec<Map<String, Value>>,
    pub success: bool,
}

/// `{permissions: [permission]}`: every permission after a change.
#[derive(Serialize, ToSchema)]
pub struct PermissionsUpdateAnswer {
    pub permissions: Vec<Permission>,
    pub success: bool,
}

/// A role.
#[derive(Serialize, ToSchema)]
pub struct Role {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
    /// `Users` (everywhere) or `Subscriptions` (per room).
    pub scope: String,
    pub description: String,
    /// Built-in roles cannot be deleted.
    pub protected: bool,
    pub mandatory2fa: bool,
    #[serde(rename = "_updatedAt")]
    pub updated_at: Date,
}

/// `{roles}`.
#[derive(Serialize, ToSchema)]
pub struct RolesAnswer {
    pub roles: Vec<Role>,
    pub success: bool,
}

/// A user or a room that `spotlight` found: a few fields each.
#[derive(Serialize, ToSchema)]
pub struct SpotlightAnswer {
    /// `{_id, username, name, status, statusText?}`.
    #[schema(value_type = Vec<Object>)]
    pub users: Vec<serde_json::Value>,
    /// `{_id, t, name, fname, joinCodeRequired?}`.
    #[schema(value_type = Vec<Object>)]
    pub rooms: Vec<serde_json::Value>,
    pub success: bool,
}

/// A page of `directory`: users or channels.
#[derive(Serialize, ToSchema)]
pub struct DirectoryAnswer {
    /// Users (`{_id, username, name, status, createdAt}`) or rooms.
    #[schema(value_type = Vec<Object>)]
    pub result: Vec<serde_json::Value>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// A role deleted after the date `roles.sync` was given.
#[derive(Serialize, ToSchema)]
pub struct RemovedRole {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "_deletedAt")]
    pub deleted_at: Date,
}

/// `roles.sync`'s two lists.
#[derive(Serialize, ToSchema)]
pub struct RolesDelta {
    pub update: Vec<Role>,
    pub remove: Vec<RemovedRole>,
}

/// `{roles: {update, remove}}`.
#[derive(Serialize, ToSchema)]
pub struct RolesSyncAnswer {
    pub roles: RolesDelta,
    pub success: bool,
}

/// `{role}`.
#[derive(Serialize, ToSchema)]
pub struct RoleAnswer {
    pub role: Role,
    pub success: bool,
}

/// A user and their roles.
#[derive(Serialize, ToSchema)]
pub struct UserRoles {
    #[serde(rename = "_id")]
    pub id: String,
    pub username: String,
    pub roles: Vec<String>,
}

/// `{users}`.
#[derive(Serialize, ToSchema)]
pub struct UsersInRolesAnswer {
    pub users: Vec<UserRoles>,
    pub success: bool,
}

/// A user's presence.
#[derive(Serialize, ToSchema)]
pub struct Presence {
    #[serde(rename = "_id")]
    pub id: String,
    pub username: String,
    pub name: String,
    pub status: String,
    /// The status message; empty when none is set.
    #[serde(rename = "statusText")]
    pub status_text: String,
    #[serde(rename = "utcOffset")]
    pub utc_offset: f64,
}

/// `{users, full}`.
#[derive(Serialize, ToSchema)]
pub struct PresenceAnswer {
    pub users: Vec<Presence>,
    /// `true` when the list is every user not offline; `false` for the
    /// users named by `ids` or changed since `from`.
    pub full: bool,
    pub success: bool,
}

/// `{_id, status, connectionStatus, message}`.
#[derive(Serialize, ToSchema)]
pub struct StatusAnswer {
    #[serde(rename = "_id")]
    pub id: String,
    pub status: String,
    /// The caller's own only: the state of their connections together
    /// (`online`, `away`, `offline`).
    #[serde(rename = "connectionStatus", skip_serializing_if = "Option::is_none")]
    pub connection_status: Option<String>,
    /// The status message (`statusText`; empty when none is set).
    pub message: String,
    pub success: bool,
}

/// `users.getPreferences`: `{preferences}`, the keys the user has set.
#[derive(Serialize, ToSchema)]
pub struct PreferencesAnswer {
    #[schema(value_type = Object)]
    pub preferences: serde_json::Value,
    pub success: bool,
}

/// `users.setPreferences`: `{user: {_id, settings: {preferences}}}`.
#[derive(Serialize, ToSchema)]
pub struct SetPreferencesAnswer {
    pub user: UserPreferences,
    pub success: bool,
}

/// A user's id and preferences.
#[derive(Serialize, ToSchema)]
pub struct UserPreferences {
    #[serde(rename = "_id")]
    pub id: String,
    pub settings: PreferenceSettings,
}

/// `{preferences}`.
#[derive(Serialize, ToSchema)]
pub struct PreferenceSettings {
    #[schema(value_type = Object)]
    pub preferences: serde_json::Value,
}

/// `users.createToken`: `{data: {userId, authToken}}`.
#[derive(Serialize, ToSchema)]
pub struct CreateTokenAnswer {
    pub data: TokenData,
    pub success: bool,
}

/// A user's id and a new login token.
#[derive(Serialize, ToSchema)]
pub struct TokenData {
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "authToken")]
    pub auth_token: String,
}

/// `users.getUsernameSuggestion`: `{result}`, a free username.
#[derive(Serialize, ToSchema)]
pub struct UsernameSuggestionAnswer {
    pub result: String,
    pub success: bool,
}

/// `{presence, connectionStatus?}`.
#[derive(Serialize, ToSchema)]
pub struct PresenceOfAnswer {
    pub presence: String,
    /// The caller's own only.
    #[serde(rename = "connectionStatus", skip_serializing_if = "Option::is_none")]
    pub connection_status: Option<String>,
    /// The caller's own only: when it last logged in (`null` if unknown).
    #[serde(rename = "lastLogin", skip_serializing_if = "Option::is_none")]
    pub last_login: Option<Option<Date>>,
    pub success: bool,
}

/// `{update: [], remove: []}`.
#[derive(Serialize, ToSchema)]
pub struct EmptyDelta {
    pub update: Vec<Map<String, Value>>,
    pub remove: Vec<Map<String, Value>>,
}

/// `{emojis: {update: [], remove: []}}`.
#[derive(Serialize, ToSchema)]
pub struct EmojiAnswer {
    pub emojis: EmptyDelta,
    pub success: bool,
}

/// `{commands: [], count, offset, total}`.
#[derive(Serialize, ToSchema)]
pub struct CommandsPage {
    pub commands: Vec<Map<String, Value>>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// A push registration as Rocket.Chat answers it.
#[derive(Serialize, ToSchema)]
pub struct PushToken {
    #[serde(rename = "_id")]
    pub id: String,
    /// `{apn: token}` or `{gcm: token}`.
    pub token: Map<String, Value>,
    #[serde(rename = "appName")]
    pub app_name: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    pub enabled: bool,
    #[serde(rename = "createdAt")]
    pub created_at: Date,
    #[serde(rename = "updatedAt")]
    pub updated_at: Date,
}

/// `{result}`.
#[derive(Serialize, ToSchema)]
pub struct PushTokenAnswer {
    pub result: PushToken,
    pub success: bool,
}

/// `{message}`: a DDP method call for the REST fallback.
#[derive(Serialize, ToSchema)]
pub struct MethodCall {
    /// The DDP `method` message as an EJSON string:
    /// `{"msg":"method","id":"1","method":"<name>","params":[...]}`.
    pub message: String,
}

/// `{message, success}`: the DDP `result` frame of the call as an EJSON
/// string; a method error is inside it (`error`), still with status 200.
#[derive(Serialize, ToSchema)]
pub struct MethodResult {
    /// `{"msg":"result","id":"1","result":...}` or `{..., "error": {...}}`.
    pub message: String,
    pub success: bool,
}

/// `GET /sockjs/info`.
#[derive(Serialize, ToSchema)]
pub struct SockJsInfo {
    pub websocket: bool,
    pub origins: Vec<String>,
    pub cookie_needed: bool,
    pub entropy: u32,
}

/// `{status: "ok"}`: a health check passed.
#[derive(Serialize, ToSchema)]
pub struct HealthAnswer {
    /// Always `ok`.
    pub status: String,
    pub success: bool,
}

// ------------------------------------------------------------------ query parameters

// Paging, listing and room selection are real request types, read by the
// handlers: see crate::requests.
pub use crate::requests::{ListQuery, PageQuery, RoomQuery};

/// An upload form (`multipart/form-data`).
#[derive(Serialize, ToSchema)]
pub struct UploadForm {
    /// The file (exactly one, in this field).
    #[schema(format = Binary, value_type = String)]
    pub file: String,
    /// `rooms.upload`: the message's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// `rooms.upload`: the file's description, shown under it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `rooms.upload`: share the file as a reply in this thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmid: Option<String>,
    /// `rooms.upload`: a thread reply also shown in the room (`true`/`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tshow: Option<String>,
    /// `rooms.upload`: an object as JSON text, kept on the message.
    #[serde(rename = "customFields", skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<String>,
}

/// `rooms.mediaConfirm`'s body: the message that shares the file.
#[derive(Serialize, ToSchema)]
pub struct MediaConfirmBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// Shown under the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tshow: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(rename = "customFields", skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<Map<String, Value>>,
}

/// A stored, not yet shared file: `{_id, url}`.
#[derive(Serialize, ToSchema)]
pub struct MediaFile {
    #[serde(rename = "_id")]
    pub id: String,
    /// Where it is served: `/file-upload/<_id>/<name>`.
    pub url: String,
}

/// `{file}`.
#[derive(Serialize, ToSchema)]
pub struct MediaAnswer {
    pub file: MediaFile,
    pub success: bool,
}

/// A shared file as the rooms' `files` listings give it.
#[derive(Serialize, ToSchema)]
pub struct UploadedFile {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
    /// Bytes.
    pub size: i64,
    /// The media type.
    #[serde(rename = "type")]
    pub content_type: String,
    pub rid: String,
    /// The uploader.
    #[serde(rename = "userId")]
    pub user_id: String,
    /// Always `FileSystem:Uploads`.
    pub store: String,
    pub complete: bool,
    pub uploading: bool,
    pub progress: i64,
    /// The name's extension, lower-cased.
    pub extension: String,
    /// The media type's first part.
    #[serde(rename = "typeGroup")]
    pub type_group: String,
    #[serde(rename = "uploadedAt")]
    pub uploaded_at: Date,
    #[serde(rename = "_updatedAt")]
    pub updated_at: Date,
    /// `/file-upload/<_id>/<name>`.
    pub path: String,
    /// The same as `path`.
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The uploader, when the account still exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRef>,
}

/// `{files, count, offset, total}`.
#[derive(Serialize, ToSchema)]
pub struct FilesPage {
    pub files: Vec<UploadedFile>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// `users.setAvatar`'s form (`multipart/form-data`).
#[derive(Serialize, ToSchema)]
pub struct AvatarForm {
    /// The picture: an image of at most 5 MiB.
    #[schema(format = Binary, value_type = String)]
    pub image: String,
    /// Another user's picture (needs `edit-other-user-avatar`).
    #[serde(rename = "userId", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Another user's picture, by username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// A user named by `userId` or `username`.
#[derive(Serialize, ToSchema)]
pub struct UserTarget {
    #[serde(rename = "userId", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// `{mentions, count, offset, total}`: `channels.getAllUserMentionsByChannel`.
#[derive(Serialize, ToSchema)]
pub struct MentionsPage {
    pub mentions: Vec<Message>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}

/// `{integrations, count, offset, total}`: always empty (no integrations run here).
#[derive(Serialize, ToSchema)]
pub struct IntegrationsPage {
    pub integrations: Vec<Value>,
    pub count: u64,
    pub offset: u64,
    pub total: u64,
    pub success: bool,
}
