//! Storage traits of threadsync, one per aggregate, and the conformance suite
//! every backend must pass.
//!
//! # Atomicity
//! Every method is one transaction: it either applies completely or not at
//! all. Operations that touch several aggregates because one rule demands it
//! (a thread reply updates the reply, its parent and the followers'
//! subscriptions) are single methods for that reason, rather than several
//! calls the service would have to make atomic itself.
//!
//! # The room clock (lossless sync, docs/sync.md)
//! Backends, never callers, assign `ts`, `_updatedAt`, `editedAt`, `tlm` and
//! `_deletedAt`. Each room has a clock; every document a write touches takes
//! the next tick, `max(now_ms, last + 1)`, and the clock is advanced inside
//! the same transaction, under the room's write lock. Hence within a room:
//! - no two documents share a timestamp (a page cut never splits a millisecond);
//! - a write that commits later never carries an earlier time than one a
//!   reader could already see, because the next writer cannot read the clock
//!   before the previous writer's transaction has committed.
//!
//! A client that always asks for "changes after the greatest stamp I have"
//! therefore never misses an update or a removal.

pub mod cache;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod files;
pub mod rename;
pub mod rules;
pub mod search;

use async_trait::async_trait;
use serde_json::Value;
use threadsync_domain::listing::Sort;
use threadsync_domain::permissions::{PermissionChange, Role};
use threadsync_domain::query::Filter;
use threadsync_domain::{
    Markup, Message, Room, RoomType, StoredMessage, Subscription, Timestamp, Tombstone, User, UserRef,
};

pub use files::{
    Avatar, AvatarStore, Blob, BlobError, BlobStore, ByteStream, FallbackBlobs, UploadListQuery,
    UploadSelection, UploadStore,
};
pub use search::{SearchOrder, SearchQuery, SearchTerm};
pub use threadsync_domain::message::{ChannelMention, Mention};

/// Errors a backend reports. Services translate them into domain errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness rule was violated; names the rule (`username`, `email`,
    /// `room_name`, `id`, ...).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// A document the operation depends on does not exist (or no longer does).
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The operation is not valid for the document's current state.
    #[error("invalid: {0}")]
    Invalid(&'static str),
    /// The backend failed (I/O, connection, corrupt data). Detail for the log.
    #[error("backend failure: {0}")]
    Backend(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

impl StorageError {
    /// A stored document that does not read back (not JSON, not UTF-8, or
    /// not the type it is stored as).
    pub fn corrupt_document(e: impl std::fmt::Display) -> Self {
        StorageError::Backend(format!("corrupt document in the database: {e}"))
    }
}

impl From<StorageError> for threadsync_domain::Error {
    fn from(e: StorageError) -> Self {
        threadsync_domain::Error::internal(e)
    }
}

/// One page of a listing and the total number of matching items.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// Changes to a user's profile (`users.update`, `users.setStatus`);
/// `None` keeps a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserPatch {
    /// A new username: the user is renamed everywhere (see
    /// [`UserStore::update_user`]).
    pub username: Option<String>,
    pub name: Option<String>,
    /// Becomes the user's only address.
    pub email: Option<threadsync_domain::Email>,
    pub password_hash: Option<String>,
    pub roles: Option<Vec<String>>,
    /// Grants (`true`) or takes (`false`) one global role, applied to the
    /// roles read inside the transaction, so two changes of different
    /// roles at once both stay (`roles.addUserToRole`,
    /// `roles.removeUserFromRole`).
    pub role: Option<(String, bool)>,
    pub active: Option<bool>,
    /// `users.setStatus`: the chosen status (`status_default`), shown as
    /// `status` at once, as Rocket.Chat does; the next change of the
    /// user's connections derives `status` again.
    pub status: Option<String>,
    pub status_text: Option<String>,
}

impl UserPatch {
    pub fn is_empty(&self) -> bool {
        *self == UserPatch::default()
    }
}

/// Users and their login tokens.
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn count_users(&self) -> StorageResult<u64>;
    /// Creates the user and, in the same transaction, the given subscriptions
    /// (the default channels a new user joins). Fails with
    /// `Conflict("id" | "username" | "email")`: usernames and email addresses
    /// are unique case-insensitively; `NotFound("room")` for a subscription
    /// to a missing room.
    async fn insert_user(&self, user: &User, joins: &[Subscription]) -> StorageResult<()>;
    async fn user_by_id(&self, id: &str) -> StorageResult<Option<User>>;
    /// Case-insensitive.
    async fn user_by_username(&self, username: &str) -> StorageResult<Option<User>>;
    /// Case-insensitive.
    async fn user_by_email(&self, email: &str) -> StorageResult<Option<User>>;
    /// The users among `usernames` that exist (case-insensitive), in any order.
    async fn users_by_usernames(&self, usernames: &[String]) -> StorageResult<Vec<User>>;
    /// Users holding any role besides `user` (admins, bots, ...), ordered
    /// by username (case-insensitively), at most `limit`.
    async fn users_with_extra_roles(&self, limit: u64) -> StorageResult<Vec<User>>;
    /// Removes the user, their tokens and their subscriptions (rooms'
    /// `usersCount` follow). Their messages stay. `false` if no such user.
    async fn delete_user(&self, id: &str) -> StorageResult<bool>;
    /// A page of users in `query`'s order, and how many match.
    async fn list_users(&self, query: &UserListQuery) -> StorageResult<Page<User>>;
    /// Sets user `id`'s `active` flag and stamps `_updatedAt` (now, and
    /// after the user's previous stamp). Deactivating also removes every
    /// login token of the user, so its sessions end at once, and refuses
    /// (`Invalid("last_active_admin")`) to deactivate the only active admin:
    /// decided inside the transaction, so two admins deactivating each other
    /// at once cannot leave none. `None` when there is no such user;
    /// setting what is already so changes nothing and returns the user.
    async fn set_user_active(&self, id: &str, active: bool) -> StorageResult<Option<User>>;
    /// Applies `patch` to user `id` in one transaction and stamps
    /// `_updatedAt` (now, and after the user's previous stamp). A new
    /// address replaces the user's addresses and must be free
    /// (`Conflict("email")`, case-insensitively); roles that take `admin`
    /// from the only active admin are refused (`Invalid("last_active_admin")`).
    /// `None` when there is no such user; an empty patch changes nothing.
    ///
    /// A new `username` (free, case-insensitively, or `Conflict("username")`)
    /// also rewrites every document holding the old name ([`rename`]) in
    /// the same transaction; each rewritten message, room and subscription
    /// takes a new stamp of its room's clock, so sync deltas carry the new
    /// name. Such a write touches any number of rooms, so it is announced
    /// as [`EventKind::Resync`] (every listener re-reads what it follows,
    /// caches holding the user are dropped); other patches as an
    /// [`EventKind::User`] event of the user.
    async fn update_user(&self, id: &str, patch: &UserPatch) -> StorageResult<Option<User>>;
    /// The preferences user `id` has set (an object; keys never set are
    /// absent). `None` when there is no such user.
    async fn user_preferences(
        &self,
        id: &str,
    ) -> StorageResult<Option<serde_json::Map<String, serde_json::Value>>>;
    /// Sets the given preference keys of user `id`, keeping the others
    /// ([`rules::merge_preferences`], inside the transaction, so two
    /// concurrent changes of different keys both stay), and returns them
    /// all. `None` when there is no such user.
    async fn merge_user_preferences(
        &self,
        id: &str,
        changes: &serde_json::Map<String, serde_json::Value>,
    ) -> StorageResult<Option<serde_json::Map<String, serde_json::Value>>>;
    /// Stores a login token, only ever as its hash, and its creation time
    /// as the user's `last_login`.
    async fn insert_login_token(
        &self,
        user_id: &str,
        token_hash: &str,
        created_at: Timestamp,
    ) -> StorageResult<()>;
    async fn user_by_login_token(&self, user_id: &str, token_hash: &str) -> StorageResult<Option<User>>;
    /// The owner of a token found by its hash alone (`login {resume}` carries
    /// no user id). Hashes are 256-bit, so collisions are not a concern.
    async fn user_by_token_hash(&self, token_hash: &str) -> StorageResult<Option<User>>;
    async fn delete_login_token(&self, user_id: &str, token_hash: &str) -> StorageResult<bool>;
}

/// A change of a user's presence ([`PresenceStore::update_presence`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PresenceChange {
    /// Realtime connection `id` (of instance `instance`) is open with
    /// `status` (`online` or `away`) until `expires_at` unless renewed: its
    /// login, or its client reporting the user active or idle. Inserted or
    /// replaced.
    Connection { id: String, instance: String, status: String, expires_at: Timestamp },
    /// Connection `id` closed (or logged out).
    Closed { id: String },
    /// The user chose a status (`UserPresence:setDefaultStatus`): stored as
    /// `status_default`, and `status` derived with the connections.
    Chosen { status: String },
    /// The user's connections whose lease ended are removed (their
    /// instance stopped without closing them).
    Expired,
}

/// Users' realtime connections, from which their `status` is derived
/// ([`rules::resolve_presence`]).
#[async_trait]
pub trait PresenceStore: Send + Sync {
    /// Applies `change` to user `user_id`'s connections or chosen status
    /// and derives the user's `status_connection` and `status` from the
    /// live connections (leases not expired), in one transaction, under a
    /// lock of the user's row so that two instances changing one user's
    /// connections at once cannot both derive from a stale set. When the
    /// status others see changed, announces an [`EventKind::Presence`]
    /// event of the user. `None` when there is no such user.
    async fn update_presence(&self, user_id: &str, change: &PresenceChange) -> StorageResult<Option<User>>;
    /// Extends the lease of every connection of `instance` to `expires_at`
    /// (the instance's heartbeat).
    async fn renew_presence(&self, instance: &str, expires_at: Timestamp) -> StorageResult<()>;
    /// The users having a connection whose lease has ended (each then
    /// gets [`PresenceChange::Expired`]), at most `limit`.
    async fn expired_presence(&self, limit: u64) -> StorageResult<Vec<String>>;
}

/// What remains of a removed subscription: the member left or was
/// removed, or the room was deleted. Kept for the `remove` lists of
/// `subscriptions.get` and `rooms.get` as message tombstones are for sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionTombstone {
    /// The subscription's id.
    pub id: String,
    pub rid: String,
    pub user_id: String,
    /// A tick of the room's clock, taken in the removing transaction.
    pub deleted_at: Timestamp,
    /// The room itself was deleted (not only the membership).
    pub room_deleted: bool,
}

/// A user's rooms or subscriptions changed after a stamp, read in one
/// snapshot: documents by `_updatedAt` ascending, removals by `_deletedAt`.
#[derive(Clone, Debug, PartialEq)]
pub struct RosterChanges<T> {
    pub updated: Vec<T>,
    pub removed: Vec<SubscriptionTombstone>,
}

/// A change of one member's subscription by [`RoomStore::set_read_state`]:
/// their read state, or their roles in the room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadChange {
    /// The room is read (`subscriptions.read`): `ls` moves to the write's
    /// stamp, `unread`, `alert`, `userMentions` and `groupMentions` are
    /// cleared, and with
    /// `threads` the unread threads (`tunread`) too.
    Read { threads: bool },
    /// The room is unread from a message on (`subscriptions.unread`): `ls`
    /// moves to just before `from`, `alert` and `open` are set.
    Unread { from: Timestamp },
    /// The member gains (`on`) or loses a room role (`owner`, `moderator`,
    /// `leader`). Removing `owner` from the room's only owner is refused
    /// (`Invalid("last owner")`), checked in the same transaction.
    Role { role: String, on: bool },
    /// The member marks the room as a favourite (`on`) or not
    /// (`rooms.favorite`).
    Favorite { on: bool },
    /// The member shows the room in its room list (`on`: `*.open`) or
    /// hides it (`*.close`), its subscription's `open` flag.
    Open { on: bool },
    /// The member ignores another member of the room (`on`), or stops
    /// (`chat.ignoreUser`).
    Ignore { user_id: String, on: bool },
}

impl ReadChange {
    /// Applies the change to a subscription, stamped `stamp`: the rule
    /// every backend runs inside its write.
    pub fn apply(self, subscription: &mut Subscription, stamp: Timestamp) {
        match self {
            ReadChange::Read { threads } => {
                subscription.ls = Some(stamp);
                subscription.unread = 0;
                subscription.alert = false;
                subscription.user_mentions = 0;
                subscription.group_mentions = 0;
                if threads {
                    subscription.tunread.clear();
                }
            }
            ReadChange::Unread { from } => {
                subscription.ls = Some(Timestamp(from.millis() - 1));
                subscription.alert = true;
                subscription.open = true;
            }
            ReadChange::Role { role, on: true } => {
                if !subscription.roles.contains(&role) {
                    subscription.roles.push(role);
                }
            }
            ReadChange::Role { role, on: false } => subscription.roles.retain(|r| *r != role),
            ReadChange::Favorite { on } => subscription.f = on,
            ReadChange::Open { on } => subscription.open = on,
            ReadChange::Ignore { user_id, on: true } => {
                if !subscription.ignored.contains(&user_id) {
                    subscription.ignored.push(user_id);
                }
            }
            ReadChange::Ignore { user_id, on: false } => subscription.ignored.retain(|u| *u != user_id),
        }
        subscription.updated_at = stamp;
    }
}

/// Rooms and subscriptions (membership and read state).
#[async_trait]
pub trait RoomStore: Send + Sync {
    /// Creates the room with its initial subscriptions; `usersCount` is set
    /// from them. Fails with `Conflict("id")`, or `Conflict("room_name")`
    /// when a `c`/`p` room already has that name (case-insensitively).
    async fn create_room(&self, room: &Room, subscriptions: &[Subscription]) -> StorageResult<Room>;
    async fn room_by_id(&self, id: &str) -> StorageResult<Option<Room>>;
    /// The type of room `id` (`None`: no such room), all an access check
    /// needs: a room's type never changes while it exists, so backends
    /// cache it (see [`cache`]).
    async fn room_type(&self, id: &str) -> StorageResult<Option<RoomType>> {
        Ok(self.room_by_id(id).await?.map(|r| r.t))
    }
    /// A `c` or `p` room by name, case-insensitive.
    async fn room_by_name(&self, name: &str) -> StorageResult<Option<Room>>;
    /// The direct-message room whose members are exactly `uids` (any order).
    async fn direct_room(&self, uids: &[String]) -> StorageResult<Option<Room>>;
    /// Rooms flagged `default` (new users join them).
    async fn default_rooms(&self) -> StorageResult<Vec<Room>>;
    /// Removes the room with its subscriptions, messages and tombstones;
    /// each subscription leaves a [`SubscriptionTombstone`] with `room_deleted`.
    async fn delete_room(&self, id: &str) -> StorageResult<bool>;
    /// Adds a member. `Ok(false)` if already subscribed; `NotFound("room")`.
    async fn add_subscription(&self, subscription: &Subscription) -> StorageResult<bool>;
    /// Removes a member, leaving a [`SubscriptionTombstone`]. `Ok(false)` if not subscribed.
    /// With `keep_an_owner`, refuses (`Invalid("last owner")`) to remove the
    /// room's only owner; the check and the removal are one transaction, so
    /// two owners leaving at once cannot both succeed.
    async fn remove_subscription(&self, rid: &str, user_id: &str, keep_an_owner: bool)
        -> StorageResult<bool>;
    async fn subscription(&self, rid: &str, user_id: &str) -> StorageResult<Option<Subscription>>;
    /// Removes thread `tmid` from the user's `tunread` in room `rid` and
    /// stamps the subscription with the room clock. Returns the updated
    /// subscription, or `None` when nothing changed (no subscription, or the
    /// thread was not unread).
    async fn mark_thread_read(
        &self,
        rid: &str,
        user_id: &str,
        tmid: &str,
    ) -> StorageResult<Option<Subscription>>;
    /// The user's subscriptions with `_updatedAt > since` (all with `None`),
    /// and the tombstones of their subscriptions removed after `since`
    /// (none with `None`). Removing a subscription (leaving, being removed,
    /// the room's deletion) leaves such a tombstone, stamped by the room's
    /// clock in the same transaction.
    async fn subscriptions_since(
        &self,
        user_id: &str,
        since: Option<Timestamp>,
    ) -> StorageResult<RosterChanges<Subscription>>;
    /// The rooms the user is subscribed to with `_updatedAt > since` (all
    /// with `None`), and the tombstones of the user's subscriptions to
    /// rooms deleted after `since` (`room_deleted`; none with `None`).
    async fn rooms_since(
        &self,
        user_id: &str,
        since: Option<Timestamp>,
    ) -> StorageResult<RosterChanges<Room>>;
    /// Changes the user's subscription to room `rid` ([`ReadChange::apply`]),
    /// stamped with the room clock. `None` when the user has no subscription.
    async fn set_read_state(
        &self,
        rid: &str,
        user_id: &str,
        change: ReadChange,
    ) -> StorageResult<Option<Subscription>>;
    /// Members of a room, ordered by username.
    async fn room_members(&self, rid: &str, offset: u64, count: u64) -> StorageResult<Page<User>>;
    /// Rooms of the given types the user is subscribed to, ordered by name.
    async fn rooms_of_user(
        &self,
        user_id: &str,
        types: &[RoomType],
        offset: u64,
        count: u64,
    ) -> StorageResult<Page<Room>>;
    /// Every room of the given types (members or not: `channels.list`,
    /// `rooms.adminRooms`), ordered by name (DMs, which have none, first by
    /// id), with the total.
    async fn list_rooms(&self, query: &RoomListQuery) -> StorageResult<Page<Room>>;
    /// Changes a room's settings in one transaction stamped by the room's
    /// clock: the room document, and its members' subscriptions where the
    /// change shows in them (name, type, archived). `None`: no such room.
    /// A name another `c`/`p` room has (case-insensitively) fails with
    /// `Conflict("room_name")`. Announced as a room event (no user), which
    /// also drops cached room types.
    async fn update_room(&self, rid: &str, change: &RoomChange) -> StorageResult<Option<Room>>;
    /// The subscriptions of room `rid` that hold a room role (owner,
    /// moderator, leader), ordered by username.
    async fn room_role_holders(&self, rid: &str) -> StorageResult<Vec<Subscription>>;
    /// The code joining room `rid` needs (`RoomChange::JoinCode`), or
    /// `None` (no code, or no such room).
    async fn room_join_code(&self, rid: &str) -> StorageResult<Option<String>>;
}

/// A change of a room's settings by [`RoomStore::update_room`]. `apply` and
/// `apply_to_subscription` are the rules every backend runs in its write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomChange {
    Topic(Option<String>),
    Description(Option<String>),
    Announcement(Option<String>),
    ReadOnly(bool),
    Archived(bool),
    /// Between `c` and `p` (a direct message never changes type).
    Type(RoomType),
    /// The room's name (and `fname`).
    Name(String),
    /// Joined by new users automatically.
    Default(bool),
    /// The room's custom fields, replaced whole.
    CustomFields(serde_json::Map<String, serde_json::Value>),
    /// The code joining needs (`None`: none). Backends keep the code in
    /// a column of its own, never in the room's document; the document
    /// only says `joinCodeRequired`.
    JoinCode(Option<String>),
}

impl RoomChange {
    /// Applies the change to the room, stamped `stamp`.
    pub fn apply(&self, room: &mut Room, stamp: Timestamp) {
        match self {
            RoomChange::Topic(v) => room.topic = v.clone(),
            RoomChange::Description(v) => room.description = v.clone(),
            RoomChange::Announcement(v) => room.announcement = v.clone(),
            RoomChange::ReadOnly(v) => room.read_only = *v,
            RoomChange::Archived(v) => room.archived = *v,
            RoomChange::Type(t) => room.t = *t,
            RoomChange::Name(name) => {
                room.name = Some(name.clone());
                room.fname = Some(name.clone());
            }
            RoomChange::Default(v) => room.is_default = *v,
            RoomChange::CustomFields(fields) => room.custom_fields = Some(fields.clone()),
            RoomChange::JoinCode(code) => room.join_code_required = code.is_some(),
        }
        room.updated_at = stamp;
    }

    /// Whether members' subscriptions carry what the change changes.
    pub fn shows_in_subscriptions(&self) -> bool {
        matches!(self, RoomChange::Archived(_) | RoomChange::Type(_) | RoomChange::Name(_))
    }

    /// Applies the change to a member's subscription, stamped `stamp`.
    /// Archiving also closes it (`open: false`) and unarchiving opens it
    /// again, as Rocket.Chat does.
    pub fn apply_to_subscription(&self, subscription: &mut Subscription, stamp: Timestamp) {
        match self {
            // Rocket.Chat's archiveByRoomId / unarchiveByRoomId: archiving
            // closes every member's subscription, unarchiving opens it
            // again, and both clear the alert.
            RoomChange::Archived(v) => {
                subscription.archived = *v;
                subscription.open = !*v;
                subscription.alert = false;
            }
            RoomChange::Type(t) => subscription.t = *t,
            RoomChange::Name(name) => {
                subscription.name = name.clone();
                subscription.fname = name.clone();
            }
            _ => return,
        }
        subscription.updated_at = stamp;
    }
}

/// The order of [`UserStore::list_users`]: one field, then the user id in
/// the same direction (so pages never overlap or skip).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserSortField {
    /// Byte order of the username.
    #[default]
    Username,
    /// Byte order of the display name.
    Name,
    CreatedAt,
    /// Inactive users first (ascending).
    Active,
}

/// A role users must hold to be listed by [`UserStore::list_users`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleFilter {
    /// A global role (in the user's `roles`).
    Global(String),
    /// A room role (in a subscription's `roles`): in room `rid`, or in any
    /// room with `None`.
    InRoom { role: String, rid: Option<String> },
}

/// Which users [`UserStore::list_users`] lists, in which order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserListQuery {
    /// Only the user with this address (compared case-insensitively).
    pub email: Option<String>,
    /// Only users holding this role.
    pub role: Option<RoleFilter>,
    /// Only users whose username or name contains this text, compared
    /// case-insensitively (plain text, never a pattern).
    pub text: Option<String>,
    /// Only users whose status is not `offline` (`users.presence`).
    pub present_only: bool,
    /// Only users changed (`updated_at`) at or after this time: a presence
    /// change counts, see [`rules::resolve_presence`].
    pub updated_since: Option<Timestamp>,
    /// Everyone but this user (the caller of `users.presence?from=`).
    pub except_id: Option<String>,
    pub sort: UserSortField,
    pub descending: bool,
    pub offset: u64,
    pub count: u64,
}

/// Which rooms [`RoomStore::list_rooms`] lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomListQuery {
    pub types: Vec<RoomType>,
    /// Only rooms whose name contains this text, compared case-insensitively
    /// (plain text, never a pattern: `%` and `_` are themselves).
    pub name_contains: Option<String>,
    pub offset: u64,
    pub count: u64,
}

/// Where a message lives: its room, and the thread it replies to. Fixed
/// for the message's life ([`MessageStore::message_place`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessagePlace {
    pub rid: String,
    pub tmid: Option<String>,
}

/// A new message for [`MessageStore::insert_message`]. The store assigns `ts`
/// and `_updatedAt`; whatever the caller put there is overwritten.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub message: Message,
    /// Set when the message replies in a thread (`message.tmid` is then the
    /// top-level parent's id, already resolved by the service).
    pub reply: Option<ReplyBookkeeping>,
    /// A subscription to create in the same transaction if the sender has
    /// none (posting to a public channel joins it).
    pub join: Option<Subscription>,
    /// What the message does to the room's subscriptions, in the same
    /// transaction; `None` for a message that touches none (a thread reply
    /// not shown in the room, which counts through `tunread`; a system
    /// message).
    pub counters: Option<MemberCounters>,
}

/// What a new message does to the room's subscriptions (Rocket.Chat's
/// `updateUsersSubscriptions`), decided by the service from the message's
/// mentions, the room type and the `Unread_Count` settings. Every member
/// but the sender is alerted (`alert`, `open`) and counts the message as
/// below; the sender has read the room up to it ([`MemberCounters::sender`]).
/// Both backends write it as one set-based statement per side, touching
/// only the subscriptions it changes (the others keep their stamp).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberCounters {
    /// Members mentioned by name (never the sender): `userMentions += 1`,
    /// `unread += mentioned_unread`.
    pub mentioned: Vec<String>,
    pub mentioned_unread: i64,
    /// Every other member: `groupMentions += others_group`,
    /// `unread += others_unread`.
    pub others_group: i64,
    pub others_unread: i64,
}

impl MemberCounters {
    /// Applies the message to the subscription of a member who did not
    /// send it, stamped `stamp`; `false` (and nothing stamped) when it
    /// changes nothing.
    pub fn apply(&self, subscription: &mut Subscription, stamp: Timestamp) -> bool {
        let mentioned = self.mentioned.contains(&subscription.u.id);
        let (unread, user_mentions, group_mentions) = if mentioned {
            (self.mentioned_unread, 1, 0)
        } else {
            (self.others_unread, 0, self.others_group)
        };
        if subscription.alert && subscription.open && unread == 0 && user_mentions == 0 && group_mentions == 0
        {
            return false;
        }
        subscription.alert = true;
        subscription.open = true;
        subscription.unread += unread;
        subscription.user_mentions += user_mentions;
        subscription.group_mentions += group_mentions;
        subscription.updated_at = stamp;
        true
    }

    /// The sender has read the room up to their message (Rocket.Chat's
    /// `setAsReadByRoomIdAndUserId`): `ls` moves to it, the counters and
    /// `alert` are cleared, and the room is shown in their list.
    pub fn sender(subscription: &mut Subscription, stamp: Timestamp) {
        subscription.ls = Some(stamp);
        subscription.open = true;
        subscription.alert = false;
        subscription.unread = 0;
        subscription.user_mentions = 0;
        subscription.group_mentions = 0;
        subscription.updated_at = stamp;
    }
}

/// What a thread reply does to its parent and to the followers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyBookkeeping {
    /// Added to the parent's `replies` (the sender, the users mentioned in
    /// the reply), after the parent's author on the thread's first reply,
    /// whom the store adds itself ([`rules::apply_reply`]).
    pub add_followers: Vec<String>,
}

/// A change of a message's text by [`MessageStore::edit_message`].
#[derive(Clone, Debug)]
pub struct MessageEdit {
    pub msg: String,
    /// The markup tree of the new text (replaces the old one).
    pub md: Option<Markup>,
    pub mentions: Vec<Mention>,
    pub channels: Vec<ChannelMention>,
    pub edited_by: UserRef,
}

/// The colour of the attachment Rocket.Chat leaves where a pruned file was.
pub const PRUNED_FILE_COLOR: &str = "#FD745E";

/// A mark a user puts on a message by [`MessageStore::set_mark`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageMark {
    /// Starred by this user (`starred: [{_id}]`), or not.
    Star { user_id: String, on: bool },
    /// Pinned (`pinned`, `pinnedAt`, `pinnedBy`), or not.
    Pin { by: UserRef, on: bool },
    /// A `discussion-created` message follows its discussion: `dcount`
    /// messages, the last at `dlm`.
    Discussion { dcount: i64, dlm: Option<Timestamp> },
    /// The message's files were pruned (`rooms.cleanHistory` with
    /// `filesOnly`): `file` and `files` go, and `attachments` becomes the
    /// one notice Rocket.Chat leaves, `{color: "#FD745E", text}`. No change
    /// for a message that shares no file.
    FilesPruned { text: String },
}

impl MessageMark {
    /// Applies the mark, stamped `stamp`; whether anything changed (the
    /// rule every backend runs inside its write).
    pub fn apply(&self, message: &mut Message, stamp: Timestamp) -> bool {
        use serde_json::json;
        match self {
            MessageMark::Star { user_id, on } => {
                let mut starred: Vec<Value> =
                    message.extra.get("starred").and_then(Value::as_array).cloned().unwrap_or_default();
                let has = starred.iter().any(|s| s["_id"].as_str() == Some(user_id));
                if has == *on {
                    return false;
                }
                if *on {
                    starred.push(json!({"_id": user_id}));
                } else {
                    starred.retain(|s| s["_id"].as_str() != Some(user_id));
                }
                if starred.is_empty() {
                    message.extra.remove("starred");
                } else {
                    message.extra.insert("starred".to_owned(), Value::Array(starred));
                }
            }
            MessageMark::Pin { by, on } => {
                let pinned = message.extra.get("pinned").and_then(Value::as_bool).unwrap_or(false);
                if pinned == *on {
                    return false;
                }
                message.extra.insert("pinned".to_owned(), Value::Bool(*on));
                if *on {
                    message.extra.insert("pinnedAt".to_owned(), json!(stamp));
                    message
                        .extra
                        .insert("pinnedBy".to_owned(), json!({"_id": by.id, "username": by.username}));
                } else {
                    message.extra.remove("pinnedAt");
                    message.extra.remove("pinnedBy");
                }
            }
            MessageMark::Discussion { dcount, dlm } => {
                let (dcount, dlm) = (json!(dcount), dlm.map(|d| json!(d)).unwrap_or(Value::Null));
                let same = message.extra.get("dcount") == Some(&dcount)
                    && message.extra.get("dlm").unwrap_or(&Value::Null) == &dlm;
                if same {
                    return false;
                }
                message.extra.insert("dcount".to_owned(), dcount);
                message.extra.insert("dlm".to_owned(), dlm);
            }
            MessageMark::FilesPruned { text } => {
                if threadsync_domain::upload::message_file_ids(&message.extra).is_empty() {
                    return false;
                }
                message.extra.remove("file");
                message.extra.remove("files");
                message
                    .extra
                    .insert("attachments".to_owned(), json!([{"color": PRUNED_FILE_COLOR, "text": text}]));
            }
        }
        message.updated_at = stamp;
        true
    }
}

/// What [`MessageStore::delete_message`] did.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // one value per delete; boxing buys nothing
pub enum Deletion {
    /// The message is gone; the tombstone records its removal.
    Removed(Tombstone),
    /// A thread parent with replies stays in place as a `t: "rm"` placeholder.
    Placeholder(Message),
}

/// Messages, thread bookkeeping and tombstones.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Inserts the message, stamped by the room clock, and in the same
    /// transaction: the room's `msgs`/`lm`; for a reply, the parent's
    /// `tcount += 1`, `tlm`, `replies ∪= add_followers` (after the parent's
    /// author, at the first reply), `_updatedAt`, and
    /// the parent id added to the `tunread` of every follower other than the
    /// sender who is subscribed to the room; the `join` subscription; the
    /// members' counters ([`MemberCounters`]), all stamped with the
    /// message's tick.
    /// Fails with `Conflict("id")`, `NotFound("room")`, `NotFound("thread")`
    /// (parent missing, in another room, or itself a reply).
    async fn insert_message(&self, new: NewMessage) -> StorageResult<Message>;
    async fn message_by_id(&self, id: &str) -> StorageResult<Option<Message>>;
    /// The room and thread of message `id`, without decoding its document:
    /// the access check of every thread request and the thread check of
    /// every reply need only that, and a popular thread's parent carries a
    /// long `replies` list. Neither ever changes while the message lives,
    /// so backends cache it.
    async fn message_place(&self, id: &str) -> StorageResult<Option<MessagePlace>> {
        Ok(self.message_by_id(id).await?.map(|m| MessagePlace { rid: m.rid, tmid: m.tmid }))
    }
    /// The room of message `id` ([`MessageStore::message_place`]).
    async fn message_room(&self, id: &str) -> StorageResult<Option<String>> {
        Ok(self.message_place(id).await?.map(|place| place.rid))
    }
    /// Replaces the text; sets `editedAt`, `editedBy` and `_updatedAt`.
    /// `NotFound("message")`.
    async fn edit_message(&self, id: &str, edit: MessageEdit) -> StorageResult<Message>;
    /// Deletes a message ([`rules::plan_deletion`]): a thread parent with
    /// replies, or any message when `show_deleted_status` (Rocket.Chat's
    /// `Message_ShowDeletedStatus`) is on, becomes a placeholder (`t: "rm"`,
    /// `msg: ""`, content cleared, `tcount/tlm/replies` kept); anything else
    /// is removed and leaves a tombstone. A reply's parent gets
    /// `tcount -= 1` and a new `_updatedAt` (once: deleting a reply
    /// placeholder again changes no counter). `NotFound("message")`.
    async fn delete_message(&self, id: &str, show_deleted_status: bool) -> StorageResult<Deletion>;
    /// Toggles `username`'s reaction `emoji` (already `:name:`) on the
    /// message, or sets it to `should_react`
    /// ([`threadsync_domain::reaction::toggle`]). A change stamps the
    /// message with the room clock like an edit (so it reaches every sync
    /// feed) and returns it; `None` when nothing changed (nothing stamped).
    /// `NotFound("message")`.
    async fn set_reaction(
        &self,
        id: &str,
        emoji: &str,
        username: &str,
        should_react: Option<bool>,
    ) -> StorageResult<Option<Message>>;
    /// Stars or pins the message (or takes the mark off) by
    /// [`MessageMark::apply`], stamped by the room clock like an edit.
    /// Returns the message when it changed, `None` when the mark was
    /// already so. `NotFound("message")`.
    async fn set_mark(&self, id: &str, mark: MessageMark) -> StorageResult<Option<Message>>;
    /// Adds (`follow`) or removes the user in the thread parent's `replies`
    /// and moves its `_updatedAt`; unfollowing also removes the thread from
    /// the user's `tunread` in that room. Returns the updated parent.
    async fn set_following(&self, tmid: &str, user_id: &str, follow: bool) -> StorageResult<Message>;
    /// Messages written before `md` existed (docs/markup.md#messages-stored-before-md):
    /// those with a non-empty `msg` and no `md`, except `rm` placeholders and
    /// end-to-end encrypted texts (`t: "e2e"`), with an id greater than
    /// `after`, in id order, at most `limit`: `(id, msg)` pairs. Walking
    /// with the last id returned visits every such message once.
    async fn messages_without_markup(&self, after: &str, limit: u64) -> StorageResult<Vec<(String, String)>>;
    /// Stores `md` on message `id` if it still has none and its text is
    /// still `msg` (an edit in between parsed it already). **Not stamped**:
    /// `_updatedAt` and the room clock do not move and no event is
    /// announced, because `md` is derived from `msg`, which did not change.
    /// Returns whether it was stored.
    async fn set_missing_markup(&self, id: &str, msg: &str, md: &Markup) -> StorageResult<bool>;
    /// Whether [`Self::mark_markup_backfilled`] was recorded: a walk found
    /// no message left to give `md`, so later starts skip the walk.
    async fn markup_backfilled(&self) -> StorageResult<bool>;
    /// Records that a walk of [`Self::messages_without_markup`] found
    /// nothing left to do (kept in the store, so every instance and every
    /// later start sees it). Idempotent.
    async fn mark_markup_backfilled(&self) -> StorageResult<()>;
}

/// Which documents a change feed covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeScope<'a> {
    /// The replies of one thread (`chat.syncThreadMessages`): messages with
    /// this `tmid`, and tombstones of such replies.
    Thread(&'a str),
    /// The thread parents of a room (`chat.syncThreadsList`): messages with
    /// `tcount`, and tombstones of messages that had it.
    ThreadParents(&'a str),
    /// Every message of a room (`chat.syncMessages`).
    Room(&'a str),
}

/// A page of a change feed: documents updated and removed after a stamp,
/// oldest change first across both lists. Because stamps are unique within a
/// room, "everything after the last stamp of this page" resumes exactly.
///
/// Backends return the documents as stored ([`StoredMessage`]); the page is
/// decoded into [`Message`]s ([`Changes::decode`]) only where a rule needs
/// their fields, so a page served whole is never decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Changes<D = Message> {
    /// Updated documents, by `_updatedAt` ascending.
    pub updated: Vec<D>,
    /// Removals, by `_deletedAt` ascending.
    pub removed: Vec<Tombstone>,
    /// Whether more changes exist beyond this page.
    pub more: bool,
}

impl<D> Default for Changes<D> {
    fn default() -> Self {
        Changes { updated: Vec::new(), removed: Vec::new(), more: false }
    }
}

/// A document with the stamp the change feeds file it under.
pub trait Stamped {
    /// Its `_updatedAt`.
    fn stamp(&self) -> Timestamp;
}

impl Stamped for Message {
    fn stamp(&self) -> Timestamp {
        self.updated_at
    }
}

impl Stamped for StoredMessage {
    fn stamp(&self) -> Timestamp {
        self.updated_at()
    }
}

impl<D: Stamped> Changes<D> {
    /// The greatest stamp in the page: where the next page starts.
    pub fn last_stamp(&self) -> Option<Timestamp> {
        let u = self.updated.last().map(Stamped::stamp);
        let r = self.removed.last().map(|t| t.deleted_at);
        u.max(r)
    }
}

impl Changes<StoredMessage> {
    /// The same page with every document decoded; a stored text that is not
    /// a message is a corrupt store (`Backend`).
    pub fn decode(self) -> StorageResult<Changes> {
        let updated = self
            .updated
            .iter()
            .map(|doc| doc.decode().map_err(StorageError::corrupt_document))
            .collect::<StorageResult<Vec<Message>>>()?;
        Ok(Changes { updated, removed: self.removed, more: self.more })
    }
}

/// Which thread parents `chat.getThreadsList` lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreadKind {
    /// Every thread of the room.
    All,
    /// Threads this user follows (is in `replies`).
    Following(String),
    /// Threads with these ids (the caller's `tunread`).
    Among(Vec<String>),
}

/// A `chat.getThreadsList` request, after validation.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadListQuery {
    pub rid: String,
    pub kind: ThreadKind,
    /// Case-insensitive (Unicode) substring of `msg`.
    pub text: Option<String>,
    /// The client's `query`, ANDed in.
    pub filter: Filter,
    /// Empty: `tlm` descending.
    pub sort: Sort,
    pub offset: u64,
    pub count: u64,
}

/// One side of a cursor page (`chat.syncMessages` with `next` / `previous`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// Stamps strictly greater, ascending.
    After(Timestamp),
    /// Stamps strictly smaller, descending.
    Before(Timestamp),
}

/// Read paths of threads and sync. Every method reads one consistent
/// snapshot: a page never mixes the state before and after a write (a
/// change feed built from two snapshots could skip a change).
#[async_trait]
pub trait SyncStore: Send + Sync {
    /// Changes in `scope` with a stamp greater than `since`, oldest first:
    /// skips `offset` changes, then returns at most `limit` (the two lists
    /// together). `filter` (the client's `query`) narrows the updates;
    /// removals carry no content and are all reported. Cost follows
    /// `offset + limit`, not the thread or room size. The documents come as
    /// stored, not decoded.
    async fn stored_changes_since(
        &self,
        scope: ChangeScope<'_>,
        since: Timestamp,
        filter: &Filter,
        offset: u64,
        limit: u64,
    ) -> StorageResult<Changes<StoredMessage>>;
    /// [`SyncStore::stored_changes_since`] with the documents decoded.
    async fn changes_since(
        &self,
        scope: ChangeScope<'_>,
        since: Timestamp,
        filter: &Filter,
        offset: u64,
        limit: u64,
    ) -> StorageResult<Changes> {
        self.stored_changes_since(scope, since, filter, offset, limit).await?.decode()
    }
    /// The replies of a thread (the parent excluded) that match `filter`.
    /// Empty sort: `ts` ascending. `_id` breaks ties.
    async fn thread_replies(
        &self,
        tmid: &str,
        filter: &Filter,
        sort: &Sort,
        offset: u64,
        count: u64,
    ) -> StorageResult<Page<Message>>;
    /// Messages of a room (thread replies included) that match `filter`.
    /// Empty sort: `ts` ascending. `_id` breaks ties. Served by the room's
    /// `(rid, ts)` index.
    async fn room_messages(
        &self,
        rid: &str,
        filter: &Filter,
        sort: &Sort,
        offset: u64,
        count: u64,
    ) -> StorageResult<Page<Message>>;
    /// Thread parents of a room (messages with `tcount`), filtered and paged.
    async fn thread_parents(&self, query: &ThreadListQuery) -> StorageResult<Page<Message>>;
    /// Messages of a room by `_updatedAt` relative to the cursor, at most `count`.
    async fn room_updates(&self, rid: &str, cursor: Cursor, count: u64) -> StorageResult<Vec<Message>>;
    /// Tombstones of a room by `_deletedAt` relative to the cursor, at most `count`.
    async fn room_removals(&self, rid: &str, cursor: Cursor, count: u64) -> StorageResult<Vec<Tombstone>>;
    /// Tombstones of a room deleted after `since`, oldest first, paged with total.
    async fn room_tombstones(
        &self,
        rid: &str,
        since: Timestamp,
        offset: u64,
        count: u64,
    ) -> StorageResult<Page<Tombstone>>;
    /// Drops tombstones (of messages and of subscriptions) deleted before `before` and records `before` as the
    /// horizon: changes older than it can no longer be reported. Returns how
    /// many were dropped.
    async fn prune_tombstones(&self, before: Timestamp) -> StorageResult<u64>;
    /// The horizon of [`SyncStore::prune_tombstones`], if tombstones were ever pruned.
    async fn tombstone_horizon(&self) -> StorageResult<Option<Timestamp>>;
}

/// Documents for [`ImportStore::import`], fully formed by the caller.
#[derive(Clone, Debug, Default)]
pub struct ImportBatch {
    pub users: Vec<User>,
    pub rooms: Vec<(Room, Vec<Subscription>)>,
    /// Messages with their stamps, thread counters and followers already set.
    pub messages: Vec<Message>,
    pub tombstones: Vec<Tombstone>,
}

/// The bulk path (`threadsync seed`, imports): writes documents as given,
/// many per transaction, without the per-write bookkeeping of
/// [`MessageStore`]. The caller makes the documents consistent (thread
/// counters, followers, unique stamps per room). Each room's clock is moved
/// up to the greatest stamp imported into it, so later writes keep stamping
/// after the imported ones and sync stays lossless.
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// One transaction: all of the batch or nothing.
    async fn import(&self, batch: ImportBatch) -> StorageResult<()>;
}

/// Full-text search of messages ([`search`]).
#[async_trait]
pub trait SearchStore: Send + Sync {
    /// The messages of room `query.rid` that contain every positive term
    /// (words folded for case and diacritics; a phrase's words in order; a
    /// prefix term any word starting with it), none of the negated terms,
    /// and match `query.filter`, in `query.order`, paged. Thread replies
    /// are included; removed messages are not (a deleted message is gone
    /// from the index in the deleting transaction, a `t: "rm"` placeholder
    /// has no text and is excluded anyway). Served by the backend's text
    /// index, never by scanning the room.
    async fn search_messages(&self, query: &SearchQuery) -> StorageResult<Vec<Message>>;
}

/// Persisted configuration: settings (only values that differ from the
/// defaults need be stored) and the admin's changes to the permission
/// table. Both announce [`EventKind::Settings`] after commit, which is how
/// every instance learns to reload them.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn load_settings(&self) -> StorageResult<Vec<(String, Value)>>;
    async fn save_setting(&self, id: &str, value: &Value) -> StorageResult<()>;
    /// Every stored permission change (the defaults are not stored).
    async fn load_permissions(&self) -> StorageResult<Vec<PermissionChange>>;
    /// Stores `changes` in one transaction (each replaces the stored roles
    /// of its permission).
    async fn save_permissions(&self, changes: &[PermissionChange]) -> StorageResult<()>;
    /// Every role an admin created, by name (the built-in roles are not
    /// stored).
    async fn load_roles(&self) -> StorageResult<Vec<Role>>;
    /// Creates or replaces (by id) an admin's role. A name another role
    /// has fails with `Conflict("role_name")`.
    async fn save_role(&self, role: &Role) -> StorageResult<()>;
    /// Deletes an admin's role, remembering when (for `removed_roles`);
    /// whether there was one.
    async fn delete_role(&self, id: &str, at: Timestamp) -> StorageResult<bool>;
    /// The ids of the admins' roles deleted after `since`, with when.
    async fn removed_roles(&self, since: Timestamp) -> StorageResult<Vec<(String, Timestamp)>>;
}

/// What a committed write changed: the seam for realtime fan-out. Events
/// are announced only after the transaction committed, so a listener that
/// reacts by reading sees the change. On a shared database every instance
/// receives every instance's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreEvent {
    /// The room the write touched, when it touched one.
    pub rid: Option<String>,
    pub kind: EventKind,
    /// The one user whose membership or read state in `rid` the write
    /// changed (a join, a leave, a thread marked read), when there is one;
    /// for an [`EventKind::User`] event, the account that changed (its
    /// profile, active flag or login tokens), so its open sessions can
    /// check that their login still holds.
    pub user: Option<String>,
    /// The payload of an [`EventKind::Ephemeral`] event (JSON text).
    pub data: Option<String>,
}

impl StoreEvent {
    /// A write to room `rid`.
    pub fn room(kind: EventKind, rid: &str) -> StoreEvent {
        StoreEvent { rid: Some(rid.to_owned()), kind, user: None, data: None }
    }

    /// The configuration changed (settings, permissions, roles): every
    /// instance reloads it.
    pub fn settings() -> StoreEvent {
        StoreEvent { rid: None, kind: EventKind::Settings, user: None, data: None }
    }

    /// User `user_id`'s account changed (profile, active flag, tokens).
    pub fn account(user_id: &str) -> StoreEvent {
        StoreEvent { rid: None, kind: EventKind::User, user: Some(user_id.to_owned()), data: None }
    }

    /// User `user_id`'s status or status message changed (and so their
    /// account: see [`EventKind::Presence`]).
    pub fn presence(user_id: &str) -> StoreEvent {
        StoreEvent { rid: None, kind: EventKind::Presence, user: Some(user_id.to_owned()), data: None }
    }

    /// What a profile change announces: a rename touches documents of
    /// any number of rooms, so every listener re-reads ([`EventKind::Resync`]);
    /// a new status or status message is a presence change; any other
    /// change is the account's.
    pub fn profile(user_id: &str, patch: &UserPatch) -> StoreEvent {
        if patch.username.is_some() {
            return StoreEvent { rid: None, kind: EventKind::Resync, user: None, data: None };
        }
        if patch.status.is_some() || patch.status_text.is_some() {
            return StoreEvent::presence(user_id);
        }
        StoreEvent::account(user_id)
    }

    /// One user joined or left room `rid`.
    pub fn membership(rid: &str, user_id: &str) -> StoreEvent {
        StoreEvent {
            rid: Some(rid.to_owned()),
            kind: EventKind::Room,
            user: Some(user_id.to_owned()),
            data: None,
        }
    }

    /// One member's read state in room `rid` changed.
    pub fn read_state(rid: &str, user_id: &str) -> StoreEvent {
        StoreEvent {
            rid: Some(rid.to_owned()),
            kind: EventKind::Subscription,
            user: Some(user_id.to_owned()),
            data: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A message was created, edited, deleted, or its thread data changed.
    Message,
    /// A room or its membership changed (with `user`: that member joined
    /// or left).
    Room,
    /// One member's read state changed (`user`), not the membership.
    Subscription,
    /// A user or their tokens changed.
    User,
    /// User `user`'s status or status message changed (their presence,
    /// [`PresenceStore`], or `users.setStatus`). Also an account change:
    /// whatever handles [`EventKind::User`] handles it too.
    Presence,
    /// A setting changed.
    Settings,
    /// Tombstones were pruned: the tombstone horizon moved.
    Tombstones,
    /// Announcements may have been lost (an instance's listener reconnected),
    /// or one write changed documents of any number of rooms (a user's
    /// rename): listeners re-read what they follow from their own positions.
    Resync,
    /// Not a write: a short-lived signal between instances (typing), carried
    /// in `data`. Never stored, and lost if an instance misses it.
    Ephemeral,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Message => "message",
            EventKind::Room => "room",
            EventKind::Subscription => "subscription",
            EventKind::User => "user",
            EventKind::Presence => "presence",
            EventKind::Settings => "settings",
            EventKind::Tombstones => "tombstones",
            EventKind::Resync => "resync",
            EventKind::Ephemeral => "ephemeral",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Some(match s {
            "message" => EventKind::Message,
            "room" => EventKind::Room,
            "subscription" => EventKind::Subscription,
            "user" => EventKind::User,
            "presence" => EventKind::Presence,
            "settings" => EventKind::Settings,
            "tombstones" => EventKind::Tombstones,
            "resync" => EventKind::Resync,
            "ephemeral" => EventKind::Ephemeral,
            _ => return None,
        })
    }
}

/// Events a store's channel keeps for its slowest receiver (see
/// [`Store::subscribe`]).
pub const EVENT_BUFFER: usize = 1024;

/// The largest payload of [`Store::publish`] (PostgreSQL's `NOTIFY` takes
/// at most 8000 bytes, with the envelope).
pub const MAX_EPHEMERAL_BYTES: usize = 6000;

/// A complete backend.
#[async_trait]
pub trait Store:
    UserStore
    + PresenceStore
    + RoomStore
    + MessageStore
    + SyncStore
    + SearchStore
    + SettingsStore
    + ImportStore
    + UploadStore
    + AvatarStore
    + Send
    + Sync
{
    /// A short name for logs (`sqlite`, `postgres`).
    fn backend_name(&self) -> &'static str;
    /// Events of committed writes (see [`StoreEvent`]). A slow receiver
    /// loses the oldest events (`RecvError::Lagged`) rather than slowing
    /// writers down. Shared (`Arc`): every receiver clones what it
    /// receives, and the channel's buffer holds [`EVENT_BUFFER`] of them
    /// from start, a pointer each rather than a whole event.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<std::sync::Arc<StoreEvent>>;
    /// Sends an [`EventKind::Ephemeral`] event to every instance's
    /// subscribers, this one included. At most [`MAX_EPHEMERAL_BYTES`] of
    /// data; best effort.
    async fn publish(&self, data: String) -> StorageResult<()>;
    /// Named figures for monitoring (pool use, write queue): gauges, except
    /// figures whose name ends in `_total`, which are counters (they only
    /// grow while the process runs).
    fn stats(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
    /// Whether the store answers: one cheap read of its own tables, so a
    /// lost database, a dropped schema or a closed store all fail (the
    /// readiness check, `GET /readyz`).
    async fn ping(&self) -> StorageResult<()>;
    /// Finishes in-flight writes and releases the database cleanly.
    async fn close(&self);
}
