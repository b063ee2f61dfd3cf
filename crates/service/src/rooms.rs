//! Rooms: public channels (`c`), private groups (`p`) and direct messages
//! (`d`); creating them, reading them, and membership
//! (docs/contract.md#rooms-and-access).
//!
//! The `channels.*` and `groups.*` endpoint families share these methods and
//! name their family with a [`RoomType`]: a room of another type is "not
//! found" for that family, as in Rocket.Chat. The error texts are
//! Rocket.Chat's.

use crate::membership::{direct_subscription, new_subscription, user_ref};
use crate::paging::Paging;
use crate::Services;
use serde_json::json;
use std::collections::HashSet;
use std::sync::OnceLock;
use threadsync_domain::{id, Error, Result, Room, RoomType, Subscription, Timestamp, User};
use threadsync_domain::{Param, Reject};
use threadsync_storage::StorageError;

/// The longest channel or group name accepted.
const MAX_ROOM_NAME_LEN: usize = 64;
/// The subscription role that owns a room.
pub(crate) const OWNER_ROLE: &str = "owner";

/// Which room a request names: `roomId`, or else `roomName` (case-insensitive).
/// Empty or blank values count as absent; when both are given the id wins.
#[derive(Clone, Copy, Debug, Default)]
pub struct RoomSelector<'a> {
    pub room_id: Option<&'a str>,
    pub room_name: Option<&'a str>,
}

/// Which user a request names: `userId`, or else `username` (case-insensitive).
#[derive(Clone, Copy, Debug, Default)]
pub struct UserSelector<'a> {
    pub user_id: Option<&'a str>,
    pub username: Option<&'a str>,
}

/// One page of a listing and the total number of matching items.
#[derive(Clone, Debug, PartialEq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// The most users `channels.addAll` adds (Rocket.Chat's `API_User_Limit` default).
pub const ADD_ALL_LIMIT: u64 = 500;

/// What the caller is about to do with a room found through its family:
/// reading gives admins no exemption for `p`/`d`; managing (invite, kick,
/// delete) does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    Read,
    Manage,
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

/// Rocket.Chat's "not found" for a family; also what a non-member gets for a
/// private group, so that its existence does not leak.
fn room_not_found(t: RoomType) -> Error {
    Error::from(Reject::RoomNotFoundIn { family: t })
}

/// Neither `roomId` nor `roomName` was given. Rocket.Chat's `groups.*` spell
/// the code `error-room-param-not-provided`, everything else
/// `error-roomid-param-not-provided`.
fn room_param_missing(t: Option<RoomType>) -> Error {
    Error::from(Reject::RoomSelectorMissing { family: t })
}

fn room_name_pattern() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    // Rocket.Chat's default `UTF8_Channel_Names_Validation`.
    RE.get_or_init(|| regex::Regex::new(r"^[0-9a-zA-Z\-_.]+$").expect("valid pattern"))
}

fn escape_html(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#x27;".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

/// A channel or group name: Rocket.Chat's default pattern, at most 64
/// characters, not a mention keyword.
pub(crate) fn validate_room_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_ROOM_NAME_LEN
        && room_name_pattern().is_match(name)
        && !matches!(name.to_ascii_lowercase().as_str(), "all" | "here");
    if ok {
        Ok(())
    } else {
        let shown: String = name.chars().take(MAX_ROOM_NAME_LEN + 1).collect();
        Err(Error::from(Reject::RoomNameInvalid { shown: escape_html(&shown) }))
    }
}

/// Rocket.Chat's answer for a direct message with a user who does not exist.
fn invalid_user() -> Error {
    Error::from(Reject::InvalidUser)
}

pub(crate) fn duplicate_name(name: &str) -> Error {
    Error::from(Reject::ChannelNameTaken { name: name.to_owned() })
}

/// The store refuses to remove a room's only owner (atomically with the removal).
pub(crate) fn keep_an_owner(e: StorageError) -> Error {
    match e {
        StorageError::Invalid("last owner") => last_owner(),
        other => other.into(),
    }
}

fn last_owner() -> Error {
    Error::from(Reject::YouAreLastOwner)
}

/// The usernames a request names besides the caller's: trimmed, without a
/// leading `@`, each once (case-insensitively), blanks dropped. Sets, not
/// scans: a body may list a hundred thousand names, and comparing each with
/// every other would pin a worker for minutes.
pub(crate) fn other_usernames(caller: &User, names: &[String]) -> Vec<String> {
    let mut wanted: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::from([caller.username.to_ascii_lowercase()]);
    for username in names {
        let username = username.trim().trim_start_matches('@');
        if !username.is_empty() && seen.insert(username.to_ascii_lowercase()) {
            wanted.push(username.to_owned());
        }
    }
    wanted
}

/// Whether a secret given by a client is the stored one, in time that does
/// not depend on where they first differ (a join code must not be guessable
/// a character at a time from answer times).
fn same_secret(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected.bytes().zip(given.bytes()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// The id Rocket.Chat gives a direct message: its members' ids, sorted and
/// concatenated. Deterministic, so two concurrent opens collide on the id.
fn direct_room_id(uids: &[String]) -> String {
    uids.concat()
}

impl Services {
    /// `channels.create` (`t` = `c`) / `groups.create` (`t` = `p`): a new room
    /// named `name` with the caller as its `owner` and `members` (usernames)
    /// as plain members. Needs `create-c` / `create-p` (every user by
    /// default), else 403. Unknown usernames are refused; the caller listed
    /// among `members` is ignored.
    pub async fn create_room(
        &self,
        caller: &User,
        t: RoomType,
        name: &str,
        members: &[String],
        read_only: bool,
    ) -> Result<Room> {
        if t == RoomType::Direct {
            return Err(Error::internal("create_room called for a direct message"));
        }
        self.require_global_permission(caller, if t == RoomType::Channel { "create-c" } else { "create-p" })?;
        validate_room_name(name)?;
        let wanted = other_usernames(caller, members);
        let found =
            if wanted.is_empty() { Vec::new() } else { self.store.users_by_usernames(&wanted).await? };
        let found_names: HashSet<String> = found.iter().map(|u| u.username.to_ascii_lowercase()).collect();
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|w| !found_names.contains(&w.to_ascii_lowercase()))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            let names = missing.into_iter().map(str::to_owned).collect();
            return Err(Error::from(Reject::UsernamesUnknown { names }));
        }
        // A friendly early answer; the store's unique index is the guarantee.
        if self.store.room_by_name(name).await?.is_some() {
            return Err(duplicate_name(name));
        }
        let now = Timestamp::now();
        let room = Room {
            name: Some(name.to_owned()),
            fname: Some(name.to_owned()),
            creator: Some(user_ref(caller)),
            read_only,
            sys_mes: !read_only,
            ..Room::new(id::new_id(), t, now)
        };
        let mut subscriptions = vec![new_subscription(&room, caller, vec![OWNER_ROLE.to_owned()])];
        subscriptions.extend(found.iter().map(|member| new_subscription(&room, member, Vec::new())));
        self.store.create_room(&room, &subscriptions).await.map_err(|e| match e {
            StorageError::Conflict("room_name") => duplicate_name(name),
            other => other.into(),
        })
    }

    /// `channels.info` / `groups.info`: a public channel is readable by every
    /// logged-in user; a private group only by its members (others get "not
    /// found", admins included).
    pub async fn room_info(&self, caller: &User, t: RoomType, room: RoomSelector<'_>) -> Result<Room> {
        let (room, _) = self.family_room(caller, t, room, Need::Read).await?;
        Ok(room)
    }

    /// `rooms.info`: a room of any type the caller may read. A room that does
    /// not exist and one the caller may not read give the same
    /// `Not allowed`, as in Rocket.Chat.
    pub async fn any_room_info(&self, caller: &User, room: RoomSelector<'_>) -> Result<Room> {
        let found = self.find_room(room).await?.ok_or_else(|| room_param_missing(None))?;
        match found {
            Some(room) if self.can_read_room(caller, &room).await? => Ok(room),
            _ => Err(Error::not_allowed()),
        }
    }

    /// `channels.join`: joins a public channel (a no-op for a member). Private
    /// groups and direct messages cannot be joined: `Not allowed`. A
    /// channel with a join code needs it, unless the caller holds
    /// `join-without-join-code` (admins, bots): none given is `Code
    /// required [error-code-required]`, a wrong one `Invalid code
    /// [error-code-invalid]`, checked for members too, as Rocket.Chat's
    /// `Room.join` does.
    pub async fn join_room(
        &self,
        caller: &User,
        room: RoomSelector<'_>,
        join_code: Option<&str>,
    ) -> Result<Room> {
        let room = self
            .find_room(room)
            .await?
            .ok_or_else(|| room_param_missing(Some(RoomType::Channel)))?
            .ok_or_else(|| room_not_found(RoomType::Channel))?;
        if room.t != RoomType::Channel {
            return Err(Error::not_allowed());
        }
        if room.join_code_required && !self.has_global_permission(caller, "join-without-join-code") {
            let details = json!({"method": "joinRoom"});
            let given = join_code
                .filter(|code| !code.is_empty())
                .ok_or_else(|| Error::from(Reject::JoinCodeRequired).with_details(details.clone()))?;
            let expected = self.store.room_join_code(&room.id).await?;
            if !expected.is_some_and(|expected| same_secret(&expected, given)) {
                return Err(Error::from(Reject::JoinCodeInvalid).with_details(details));
            }
        }
        if self.store.subscription(&room.id, &caller.id).await?.is_none() {
            self.store.add_subscription(&new_subscription(&room, caller, Vec::new())).await?;
        }
        self.reload(&room).await
    }

    /// `channels.invite` / `groups.invite`: adds a user (a no-op if already a
    /// member). Rocket.Chat's `addUsersToRoom` rule: a member holding
    /// `add-user-to-joined-room` in the room (owners, moderators), or anyone
    /// holding `add-user-to-any-c-room` / `add-user-to-any-p-room` (admins,
    /// for channels) may add; otherwise `Not allowed [error-not-allowed]`.
    pub async fn invite_to_room(
        &self,
        caller: &User,
        t: RoomType,
        room: RoomSelector<'_>,
        target: UserSelector<'_>,
    ) -> Result<Room> {
        let (room, own) = self.family_room(caller, t, room, Need::Manage).await?;
        let any_room =
            if t == RoomType::Channel { "add-user-to-any-c-room" } else { "add-user-to-any-p-room" };
        let may_add = (own.is_some() && self.holds_here(caller, own.as_ref(), "add-user-to-joined-room"))
            || self.has_global_permission(caller, any_room);
        if !may_add {
            return Err(Error::not_allowed());
        }
        let target = self.target_user(target).await?;
        if self.store.subscription(&room.id, &target.id).await?.is_none() {
            self.store.add_subscription(&new_subscription(&room, &target, Vec::new())).await?;
        }
        self.reload(&room).await
    }

    /// `channels.addAll` / `groups.addAll`: makes every user (every active
    /// one with `activeUsersOnly`) a member. Needs `add-all-to-room`
    /// (admins, by default) and a server of at most [`ADD_ALL_LIMIT`] users,
    /// as Rocket.Chat's `API_User_Limit`.
    pub async fn add_all_to_room(
        &self,
        caller: &User,
        t: RoomType,
        room: RoomSelector<'_>,
        active_only: bool,
    ) -> Result<Room> {
        let (room, _) = self.family_room(caller, t, room, Need::Manage).await?;
        if !self.has_global_permission(caller, "add-all-to-room") {
            return Err(Error::not_allowed());
        }
        if self.store.count_users().await? > ADD_ALL_LIMIT {
            return Err(Error::from(Reject::UserLimitExceeded));
        }
        let query =
            threadsync_storage::UserListQuery { offset: 0, count: ADD_ALL_LIMIT, ..Default::default() };
        for user in self.store.list_users(&query).await?.items {
            if active_only && !user.active {
                continue;
            }
            if self.store.subscription(&room.id, &user.id).await?.is_none() {
                self.store.add_subscription(&new_subscription(&room, &user, Vec::new())).await?;
            }
        }
        self.reload(&room).await
    }

    /// `channels.getIntegrations` / `groups.getIntegrations`: the checks of
    /// Rocket.Chat's route (a manager of incoming or outgoing integrations,
    /// else 403; then the room, by the family's rules). threadsync runs no
    /// integrations, so the listing that follows is always empty.
    pub async fn room_integrations(
        &self,
        caller: &User,
        t: RoomType,
        room: RoomSelector<'_>,
    ) -> Result<Room> {
        let managers = [
            "manage-outgoing-integrations",
            "manage-own-outgoing-integrations",
            "manage-incoming-integrations",
            "manage-own-incoming-integrations",
        ];
        if !managers.iter().any(|p| self.has_global_permission(caller, p)) {
            return Err(Error::Forbidden);
        }
        let (room, _) = self.family_room(caller, t, room, Need::Read).await?;
        Ok(room)
    }

    /// `channels.kick` / `groups.kick`: removes a member. The caller must
    /// hold `remove-user` in the room (admins, owners, moderators by
    /// default); the room's last owner cannot be removed.
    pub async fn kick_from_room(
        &self,
        caller: &User,
        t: RoomType,
        room: RoomSelector<'_>,
        target: UserSelector<'_>,
    ) -> Result<Room> {
        let (room, own) = self.family_room(caller, t, room, Need::Manage).await?;
        if !self.holds_here(caller, own.as_ref(), "remove-user") {
            return Err(Error::not_allowed());
        }
        let target = self.target_user(target).await?;
        if self.store.subscription(&room.id, &target.id).await?.is_none() {
            return Err(Error::from(Reject::UserNotInRoom));
        }
        self.store.remove_subscription(&room.id, &target.id, true).await.map_err(keep_an_owner)?;
        self.reload(&room).await
    }

    /// `channels.leave` / `groups.leave`: the caller leaves the room; the last
    /// owner must first make someone else owner.
    pub async fn leave_room(&self, caller: &User, t: RoomType, room: RoomSelector<'_>) -> Result<Room> {
        let (room, own) = self.family_room(caller, t, room, Need::Read).await?;
        if own.is_none() {
            return Err(Error::from(Reject::CallerNotInRoom));
        }
        self.store.remove_subscription(&room.id, &caller.id, true).await.map_err(keep_an_owner)?;
        self.reload(&room).await
    }

    /// `channels.delete` / `groups.delete`: removes the room with its
    /// memberships and messages. Needs `delete-c` / `delete-p` in the room
    /// (owners of the room and admins, by default).
    pub async fn delete_room(&self, caller: &User, t: RoomType, room: RoomSelector<'_>) -> Result<()> {
        let (room, own) = self.family_room(caller, t, room, Need::Manage).await?;
        let permission = if t == RoomType::Channel { "delete-c" } else { "delete-p" };
        if !self.holds_here(caller, own.as_ref(), permission) {
            return Err(Error::not_allowed());
        }
        if self.store.delete_room(&room.id).await? {
            self.remove_room_files(&room.id).await;
            Ok(())
        } else {
            Err(room_not_found(t))
        }
    }

    /// `channels.members` / `groups.members`: the room's members ordered by
    /// username, with the same read rule as [`Services::room_info`].
    pub async fn room_members(
        &self,
        caller: &User,
        t: RoomType,
        room: RoomSelector<'_>,
        paging: Paging,
    ) -> Result<Listing<User>> {
        let (room, _) = self.family_room(caller, t, room, Need::Read).await?;
        let page = self.store.room_members(&room.id, paging.offset, paging.count).await?;
        Ok(Listing { items: page.items, total: page.total })
    }

    /// `channels.online?_id=` / `groups.online?_id=`: the members of a
    /// public channel (`t` = `c`) or private group (`p`) who are not
    /// offline, by username. Checks, in Rocket.Chat's order: `_id` given
    /// (`Invalid query`); a room of that type with that id (`Channel does
    /// not exists` / `Group does not exists`, Rocket.Chat's texts); the
    /// caller may read it (`Not allowed`: a group is read by its members).
    /// Every member is looked at, a page at a time, so the memory used stays
    /// that of one page however big the room.
    ///
    /// Edges read the room id trimmed ([`required_trimmed`](threadsync_domain::param::required_trimmed),
    /// [`Reject::InvalidQueryLegacy`]).
    pub async fn room_online(&self, caller: &User, t: RoomType, id: Param<&str>) -> Result<Vec<User>> {
        const PAGE: u64 = 500;
        let id = id?;
        let missing = || {
            Error::from(if t == RoomType::Group {
                Reject::GroupDoesNotExist
            } else {
                Reject::ChannelDoesNotExist
            })
        };
        let room = self.store.room_by_id(id).await?.filter(|room| room.t == t).ok_or_else(missing)?;
        if self.readable_room(caller, &room.id).await?.is_none() {
            return Err(Error::not_allowed());
        }
        let mut online = Vec::new();
        let mut offset = 0;
        loop {
            let page = self.store.room_members(&room.id, offset, PAGE).await?;
            let got = u64::try_from(page.items.len()).unwrap_or(u64::MAX);
            online.extend(page.items.into_iter().filter(|member| member.status != "offline"));
            offset = offset.saturating_add(got);
            if got < PAGE || offset >= page.total {
                break;
            }
        }
        Ok(online)
    }

    /// `channels.list.joined` / `groups.list`: the rooms of type `t` the
    /// caller is a member of, ordered by name.
    pub async fn joined_rooms(&self, caller: &User, t: RoomType, paging: Paging) -> Result<Listing<Room>> {
        let page = self.store.rooms_of_user(&caller.id, &[t], paging.offset, paging.count).await?;
        Ok(Listing { items: page.items, total: page.total })
    }

    /// `subscriptions.getOne`: the caller's own subscription to the room, or
    /// `None` when they have none (or the room does not exist).
    pub async fn own_subscription(&self, caller: &User, room_id: &str) -> Result<Option<Subscription>> {
        Ok(self.store.subscription(room_id, &caller.id).await?)
    }

    /// The direct-message room between `caller` and `username`, created if
    /// needed (`im.create`, `chat.postMessage` with `@username`). A DM with
    /// oneself is allowed, as in Rocket.Chat. Unknown user: `Invalid user`.
    pub async fn open_direct_message(&self, caller: &User, username: &str) -> Result<Room> {
        if username.trim().trim_start_matches('@').is_empty() {
            return Err(Error::missing_param("username"));
        }
        self.open_direct_room(caller, &[username.to_owned()], false).await
    }

    /// `im.create` / `dm.create`: the direct message among `caller` and the
    /// users `usernames` names (a leading `@` and surrounding blanks
    /// ignored, each once, case-insensitively), created if needed. With
    /// `exclude_self`, among those users only, without the caller. As
    /// Rocket.Chat's `createDirectMessage` and `createDirectRoom`:
    ///
    /// - one DM per set of members: the same set, in any order and by any
    ///   of them, opens the same room, whose id is the members' ids sorted
    ///   and concatenated (deterministic, so two concurrent opens collide on
    ///   the id instead of making two rooms);
    /// - at most `DirectMesssage_maxUsers` members, the caller included:
    ///   `You cannot add more than {n} users, including yourself to a
    ///   direct message [error-direct-message-max-user-exceeded]`, checked
    ///   first, before any name is looked up, so a long list costs nothing;
    /// - an unknown username, or `exclude_self` with fewer than two others
    ///   (a DM with oneself is one's own to open): `Invalid user
    ///   [error-invalid-user]`;
    /// - opening an existing DM needs no permission, starting one needs
    ///   `create-d`.
    ///
    /// Every member gets a subscription named after the others
    /// ([`direct_subscription`]); a member whose subscription went missing
    /// gets it back on reopening.
    pub async fn open_direct_room(
        &self,
        caller: &User,
        usernames: &[String],
        exclude_self: bool,
    ) -> Result<Room> {
        let wanted = other_usernames(caller, usernames);
        let count = wanted.len() + usize::from(!exclude_self);
        let max_users = self.settings().direct_message_max_users();
        if count > max_users {
            return Err(Error::from(Reject::DirectMessageTooManyUsers { max: max_users }));
        }
        if exclude_self && wanted.len() < 2 {
            return Err(invalid_user());
        }
        let found =
            if wanted.is_empty() { Vec::new() } else { self.store.users_by_usernames(&wanted).await? };
        // `wanted` holds each name once, case-insensitively, and usernames
        // are unique that way: one user per name, or a name is unknown.
        if found.len() != wanted.len() {
            return Err(invalid_user());
        }
        let mut members: Vec<User> = found;
        if !exclude_self {
            members.push(caller.clone());
        }
        members.sort_by(|a, b| a.id.cmp(&b.id));
        members.dedup_by(|a, b| a.id == b.id);
        let uids: Vec<String> = members.iter().map(|u| u.id.clone()).collect();

        if let Some(room) = self.store.direct_room(&uids).await? {
            return self.ensure_direct_subscriptions(room, &members).await;
        }
        if !self.has_global_permission(caller, "create-d") {
            return Err(Error::not_allowed());
        }
        let now = Timestamp::now();
        let room = Room {
            usernames: members.iter().map(|u| u.username.clone()).collect(),
            uids: uids.clone(),
            ..Room::new(direct_room_id(&uids), RoomType::Direct, now)
        };
        let everyone: Vec<&User> = members.iter().collect();
        let subscriptions: Vec<Subscription> =
            members.iter().map(|member| direct_subscription(&room, member, &everyone)).collect();
        match self.store.create_room(&room, &subscriptions).await {
            Ok(room) => Ok(room),
            // A concurrent request created it first: use theirs.
            Err(StorageError::Conflict(_)) => match self.store.direct_room(&uids).await? {
                Some(room) => self.ensure_direct_subscriptions(room, &members).await,
                None => Err(Error::internal("direct message conflict without a room")),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Re-adds a missing subscription of any member of an existing DM, so
    /// that opening it always leaves every member able to read it.
    async fn ensure_direct_subscriptions(&self, room: Room, members: &[User]) -> Result<Room> {
        let everyone: Vec<&User> = members.iter().collect();
        let mut changed = false;
        for member in members {
            if self.store.subscription(&room.id, &member.id).await?.is_none() {
                self.store.add_subscription(&direct_subscription(&room, member, &everyone)).await?;
                changed = true;
            }
        }
        if changed {
            self.reload(&room).await
        } else {
            Ok(room)
        }
    }

    /// The room `selector` names, of any type. The outer `None`: neither
    /// `roomId` nor `roomName` was given; the inner `None`: no such room.
    pub(crate) async fn find_room(&self, selector: RoomSelector<'_>) -> Result<Option<Option<Room>>> {
        Ok(match (non_empty(selector.room_id), non_empty(selector.room_name)) {
            (Some(id), _) => Some(self.store.room_by_id(id.trim()).await?),
            (None, Some(name)) => Some(self.store.room_by_name(name.trim()).await?),
            (None, None) => None,
        })
    }

    /// The room of family `t` named by `selector`, and the caller's
    /// subscription to it. A room of another type is not found; a private
    /// room the caller is not in is not found either (admins excepted when
    /// managing it).
    pub(crate) async fn family_room(
        &self,
        caller: &User,
        t: RoomType,
        selector: RoomSelector<'_>,
        need: Need,
    ) -> Result<(Room, Option<Subscription>)> {
        let room = self
            .find_room(selector)
            .await?
            .ok_or_else(|| room_param_missing(Some(t)))?
            .filter(|room| room.t == t)
            .ok_or_else(|| room_not_found(t))?;
        let own = self.store.subscription(&room.id, &caller.id).await?;
        let visible = room.t == RoomType::Channel
            || own.is_some()
            || (need == Need::Manage && self.has_global_permission(caller, "view-room-administration"));
        if !visible {
            return Err(room_not_found(t));
        }
        Ok((room, own))
    }

    /// The user an invite or kick names.
    pub(crate) async fn target_user(&self, target: UserSelector<'_>) -> Result<User> {
        let found = match (non_empty(target.user_id), non_empty(target.username)) {
            (Some(id), _) => self.store.user_by_id(id.trim()).await?,
            (None, Some(name)) => self.store.user_by_username(name.trim()).await?,
            (None, None) => return Err(Error::from(Reject::UserSelectorMissing)),
        };
        found.ok_or_else(|| Error::from(Reject::UserUnknown))
    }

    /// The room as stored now (after a membership change moved `usersCount`).
    async fn reload(&self, room: &Room) -> Result<Room> {
        self.store.room_by_id(&room.id).await?.ok_or_else(|| room_not_found(room.t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadsync_domain::Code;

    #[test]
    fn room_names_are_validated() {
        assert!(validate_room_name("general").is_ok());
        assert!(validate_room_name("a.b-c_9").is_ok());
        assert!(validate_room_name(&"a".repeat(64)).is_ok());
        assert!(validate_room_name(&"a".repeat(65)).is_err());
        assert!(validate_room_name("").is_err());
        assert!(validate_room_name("with space").is_err());
        assert!(validate_room_name("ünïcode").is_err());
        assert!(validate_room_name("Here").is_err());
        let err = validate_room_name("<b>").expect_err("invalid");
        assert_eq!(err.to_string(), "&lt;b&gt; is not a valid room name. [error-invalid-room-name]");
    }

    #[test]
    fn error_texts_follow_rocket_chat() {
        assert_eq!(
            room_not_found(RoomType::Group).to_string(),
            "The required \"roomId\" or \"roomName\" param provided does not match any group [error-room-not-found]"
        );
        assert_eq!(room_param_missing(Some(RoomType::Group)).code(), Some(Code::RoomParamNotProvided));
        assert_eq!(room_param_missing(Some(RoomType::Channel)).code(), Some(Code::RoomidParamNotProvided));
        assert_eq!(
            duplicate_name("x").to_string(),
            "A channel with name 'x' exists [error-duplicate-channel-name]"
        );
    }
}
