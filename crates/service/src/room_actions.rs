//! `rooms.leave`, `rooms.favorite` and `rooms.cleanHistory`: actions on a
//! room of any type, named by `roomId` or `roomName`
//! (docs/rest.md#leaving-and-favourites, docs/rest.md#cleaning-history);
//! and `close` / `open` of the `channels`, `groups` and `im` families
//! (docs/rest.md#closing-and-opening).
//!
//! Unlike the `channels.*` / `groups.*` families, these find a room whatever
//! its type, and answer Rocket.Chat's generic "does not match any channel"
//! for a room that does not exist. A private room the caller is not in is
//! answered as the subscription check answers it, never with its contents.

use crate::rooms::{keep_an_owner, Need, RoomSelector};
use crate::Services;
use serde_json::json;
use std::collections::HashSet;
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::query::Filter;
use threadsync_domain::{Error, Result, Room, RoomType, Timestamp, User};
use threadsync_domain::{Param, Reject};
use threadsync_storage::{MessageMark, ReadChange, StorageError, UploadListQuery};

/// How many messages `rooms.cleanHistory` reads per batch.
const CLEAN_BATCH: u64 = 100;
/// The most usernames `rooms.cleanHistory`'s `users` may name (the query
/// language's `$in` bound).
const MAX_CLEAN_USERS: usize = 100;

/// What `rooms.cleanHistory` removes: messages of a room in a time range.
#[derive(Clone, Debug)]
pub struct CleanHistory<'a> {
    pub room: RoomSelector<'a>,
    /// The range's ends, both required (edges read them with
    /// [`body_date`](threadsync_domain::param::body_date)).
    pub latest: Param<Timestamp>,
    pub oldest: Param<Timestamp>,
    /// The ends themselves are in the range.
    pub inclusive: bool,
    /// Pinned messages stay.
    pub exclude_pinned: bool,
    /// Thread parents and replies stay.
    pub ignore_threads: bool,
    /// Only messages with files: we store no files, so nothing matches.
    pub files_only: bool,
    /// Only messages of these usernames (all when empty).
    pub users: Vec<String>,
    /// At most this many (0: no limit).
    pub limit: u64,
}

/// Rocket.Chat's `findRoomByIdOrName` for a room that does not exist.
fn no_such_room() -> Error {
    Error::from(Reject::ChannelNotFound)
}

fn with_method(error: Error, method: &str) -> Error {
    error.with_details(serde_json::json!({"method": method}))
}

impl Services {
    /// The room `selector` names, of any type (Rocket.Chat's
    /// `findRoomByIdOrName`).
    async fn any_room(&self, selector: RoomSelector<'_>) -> Result<Room> {
        self.find_room(selector)
            .await?
            .ok_or_else(|| Error::from(Reject::RoomSelectorMissing { family: None }))?
            .ok_or_else(no_such_room)
    }

    /// `rooms.leave {roomId | roomName}`: the caller leaves a channel or a
    /// group. Checks, in Rocket.Chat's order: the room exists; it is not a
    /// direct message (a DM cannot be left: `Not allowed`); `leave-c` /
    /// `leave-p`; the caller is a member (`You are not in this room`); the
    /// room keeps an owner (`error-you-are-last-owner`, decided inside the
    /// store's write so two owners leaving at once cannot both go).
    pub async fn leave_any_room(&self, caller: &User, selector: RoomSelector<'_>) -> Result<()> {
        let room = self.any_room(selector).await?;
        let permission = match room.t {
            RoomType::Channel => "leave-c",
            RoomType::Group => "leave-p",
            RoomType::Direct => return Err(with_method(Error::not_allowed(), "leaveRoom")),
        };
        if !self.has_global_permission(caller, permission) {
            return Err(with_method(Error::not_allowed(), "leaveRoom"));
        }
        if self.store.subscription(&room.id, &caller.id).await?.is_none() {
            return Err(with_method(Error::from(Reject::CallerNotInRoom), "leaveRoom"));
        }
        self.store.remove_subscription(&room.id, &caller.id, true).await.map_err(keep_an_owner)?;
        Ok(())
    }

    /// `rooms.favorite {roomId | roomName, favorite}`: marks the caller's
    /// subscription as a favourite (`f: true`) or not. The subscription
    /// changes like any other (stamped, streamed, in `subscriptions.get`'s
    /// delta). Checks: `favorite` given (`The 'favorite' param is
    /// required`), the room exists, the caller is a member.
    pub async fn favorite_room(
        &self,
        caller: &User,
        selector: RoomSelector<'_>,
        favorite: Option<bool>,
    ) -> Result<()> {
        let favorite = favorite.ok_or_else(|| Error::from(Reject::FavoriteMissing))?;
        let room = self.any_room(selector).await?;
        self.store
            .set_read_state(&room.id, &caller.id, ReadChange::Favorite { on: favorite })
            .await?
            .map(drop)
            .ok_or_else(|| with_method(Error::from(Reject::FavoriteNeedsMembership), "toggleFavorite"))
    }

    /// `channels.close` / `groups.close` / `im.close` (`open: false`) and
    /// their `open`: hides the room from the caller's room list, or shows
    /// it again (its subscription's `open` flag, Rocket.Chat's `hideRoom` /
    /// `openRoom`); the room and its messages are untouched. Closing what
    /// is closed, or opening what is open, is refused with Rocket.Chat's
    /// words (`API.v1.failure`, no code), except `im.open`, which always
    /// succeeds.
    pub async fn set_room_open(
        &self,
        caller: &User,
        t: RoomType,
        selector: RoomSelector<'_>,
        open: bool,
    ) -> Result<()> {
        let (room, subscription) = self.family_room(caller, t, selector, Need::Read).await?;
        let name = room.name.clone().unwrap_or_else(|| room.id.clone());
        let Some(subscription) = subscription else {
            return Err(Error::from(Reject::NotInChannel { name: name.clone(), open }));
        };
        if subscription.open == open {
            return match t {
                RoomType::Direct if open => Ok(()),
                RoomType::Direct => Err(Error::from(Reject::DirectAlreadyClosed { rid: room.id.clone() })),
                RoomType::Group => Err(Error::from(Reject::GroupAlreadyInState { name: name.clone(), open })),
                RoomType::Channel => {
                    Err(Error::from(Reject::ChannelAlreadyInState { name: name.clone(), open }))
                }
            };
        }
        self.store.set_read_state(&room.id, &caller.id, ReadChange::Open { on: open }).await?;
        Ok(())
    }

    /// `rooms.cleanHistory`: removes a room's messages between `oldest` and
    /// `latest`, newest first, each through the same storage write as
    /// `chat.delete` (so every removal leaves its tombstone, or its
    /// placeholder for a thread parent that keeps replies, and reaches sync
    /// feeds and streams). Answers how many were removed. Checks: the room
    /// (as `rooms.leave`); `latest`, `oldest` given and dates; the
    /// `clean-channel-history` permission in the room.
    pub async fn clean_history(&self, caller: &User, request: CleanHistory<'_>) -> Result<(Room, u64)> {
        let room = self.any_room(request.room).await?;
        let latest = request.latest?;
        let oldest = request.oldest?;
        if request.users.len() > MAX_CLEAN_USERS {
            return Err(Error::from(Reject::CleanTooManyUsers { max: MAX_CLEAN_USERS }));
        }
        if !self.has_permission(caller, "clean-channel-history", &room.id).await? {
            return Err(with_method(Error::not_allowed(), "cleanRoomHistory"));
        }
        let (lower, upper) = if request.inclusive { ("$gte", "$lte") } else { ("$gt", "$lt") };
        // Placeholders (`t: "rm"`) are what a removal may leave: never
        // selected again, so each batch makes progress.
        let mut clauses = vec![
            json!({"ts": {lower: {"$date": oldest.millis()}, upper: {"$date": latest.millis()}}}),
            json!({"t": {"$ne": "rm"}}),
        ];
        if request.exclude_pinned {
            clauses.push(json!({"pinned": {"$ne": true}}));
        }
        if request.ignore_threads {
            clauses.push(json!({"tmid": {"$exists": false}}));
            clauses.push(json!({"tcount": {"$exists": false}}));
        }
        if !request.users.is_empty() {
            clauses.push(json!({"u.username": {"$in": request.users}}));
        }
        let query = json!({"$and": clauses}).to_string();
        // Built here from checked parts: a parse failure is a bug.
        let filter = Filter::parse(Some(&query)).map_err(Error::internal)?;
        if request.files_only {
            let pruned = self.prune_files(&room, &filter, request.limit).await?;
            return Ok((room, pruned));
        }
        // Newest first: a thread's replies go before their parent, which
        // then has none left and is removed outright.
        let sort = Sort::by(SortField::Ts, Direction::Desc);
        let show_deleted_status = self.settings().show_deleted_status();
        let mut removed = 0u64;
        let mut seen: HashSet<String> = HashSet::new();
        loop {
            let want = match request.limit {
                0 => CLEAN_BATCH,
                limit => (limit - removed).min(CLEAN_BATCH),
            };
            if want == 0 {
                break;
            }
            let batch = self.store.room_messages(&room.id, &filter, &sort, 0, want).await?;
            // A batch of messages already handled (a concurrent writer
            // restored one, or a removal did not take) ends the loop.
            if batch.items.iter().all(|m| seen.contains(&m.id)) {
                break;
            }
            for message in batch.items {
                if !seen.insert(message.id.clone()) {
                    continue;
                }
                match self.store.delete_message(&message.id, show_deleted_status).await {
                    Ok(_) => {
                        removed += 1;
                        self.remove_message_files(&message).await;
                    }
                    // Removed meanwhile by someone else: not ours to count.
                    Err(StorageError::NotFound(_)) => {}
                    Err(other) => return Err(other.into()),
                }
            }
        }
        Ok((room, removed))
    }

    /// `rooms.cleanHistory` with `filesOnly`: the messages that `filter`
    /// selects and that share files keep their place and text but lose
    /// their files (records and bytes) and show Rocket.Chat's notice
    /// instead (`_File removed by prune_`). Counts the messages pruned, at
    /// most `limit` (0: all). The room's shared files are listed first, a
    /// page at a time, and nothing is removed until the list is complete,
    /// so removing cannot shift a page; the list is of the files' message
    /// ids, so it stays small however long the room's history.
    async fn prune_files(&self, room: &Room, filter: &Filter, limit: u64) -> Result<u64> {
        const PAGE: u64 = 500;
        let mut ids: Vec<String> = Vec::new();
        let mut known: HashSet<String> = HashSet::new();
        let mut offset = 0;
        loop {
            let query =
                UploadListQuery { rid: room.id.clone(), name: None, type_group: None, offset, count: PAGE };
            let page = self.store.room_uploads(&query).await?;
            let got = u64::try_from(page.items.len()).unwrap_or(u64::MAX);
            for file in page.items {
                if let Some(mid) = file.message_id {
                    if known.insert(mid.clone()) {
                        ids.push(mid);
                    }
                }
            }
            offset = offset.saturating_add(got);
            if got < PAGE || offset >= page.total {
                break;
            }
        }
        let mark = MessageMark::FilesPruned { text: "_File removed by prune_".to_owned() };
        let mut pruned = 0u64;
        for id in ids {
            if limit != 0 && pruned >= limit {
                break;
            }
            let Some(message) = self.store.message_by_id(&id).await? else { continue };
            let doc = serde_json::to_value(&message).map_err(Error::internal)?;
            if message.rid != room.id || !filter.matches(&doc) {
                continue;
            }
            match self.store.set_mark(&id, mark.clone()).await {
                Ok(Some(_)) => {
                    pruned += 1;
                    self.remove_message_files(&message).await;
                }
                // Pruned or removed meanwhile by someone else.
                Ok(None) | Err(StorageError::NotFound(_)) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Ok(pruned)
    }

    /// `chat.ignoreUser?rid=&userId=&ignore=`: the caller ignores (or, with
    /// `ignore=false`, stops ignoring) another member of the room: their id
    /// joins the caller's subscription's `ignored` list, which clients use to
    /// hide that user's messages. Checks, Rocket.Chat's: `rid`, `userId`
    /// given; the caller and the user both members
    /// (`Invalid subscription [error-invalid-subscription]`).
    ///
    /// Edges read `rid` and `userId` trimmed ([`required_trimmed`](threadsync_domain::param::required_trimmed)),
    /// missing ones as [`Reject::RidRequired`] and [`Reject::UserIdRequired`].
    pub async fn ignore_user(
        &self,
        caller: &User,
        rid: Param<&str>,
        user_id: Param<&str>,
        ignore: bool,
    ) -> Result<()> {
        let rid = rid?;
        let user_id = user_id?;
        let invalid = || with_method(Error::from(Reject::InvalidSubscription), "ignoreUser");
        if self.store.subscription(rid, user_id).await?.is_none() {
            return Err(invalid());
        }
        self.store
            .set_read_state(rid, &caller.id, ReadChange::Ignore { user_id: user_id.to_owned(), on: ignore })
            .await?
            .map(drop)
            .ok_or_else(invalid)
    }
}
