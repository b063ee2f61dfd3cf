//! A room's messages by time (`loadHistory` and friends over DDP; the
//! `*.history` REST family reads the same way), and marking a thread read.

use crate::paging::Paging;
use crate::rooms::RoomSelector;
use crate::sync::{Documents, ListParams, Shaping};
use crate::threads::MessageListing;
use crate::Services;
use serde_json::{json, Value};
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::query::Filter;
use threadsync_domain::{param, Param, Reject};
use threadsync_domain::{Error, Message, Result, Room, RoomType, Subscription, Timestamp, User};

/// Which part of a room's timeline to read.
#[derive(Clone, Debug, Default)]
pub struct HistoryQuery {
    /// Only messages strictly before this time (`loadHistory`'s `end`).
    pub before: Option<Timestamp>,
    /// Only messages strictly after this time.
    pub after: Option<Timestamp>,
    /// Newest first (history) or oldest first (`loadNextMessages`).
    pub newest_first: bool,
    pub limit: u64,
    /// With `false`, thread replies are left out unless sent to the room
    /// too (`tshow`), as Rocket.Chat's `showThreadMessages`.
    pub thread_messages: bool,
}

/// The most messages one history read returns.
pub const MAX_HISTORY: u64 = 500;

/// A page of history and whether more lies beyond it.
#[derive(Clone, Debug)]
pub struct History {
    pub messages: Vec<Message>,
    pub total: u64,
}

impl Services {
    /// The messages of room `rid` the query selects, for a caller who may
    /// read the room (`Not allowed` otherwise, also for an unknown room).
    pub async fn room_history(&self, caller: &User, rid: &str, query: &HistoryQuery) -> Result<History> {
        self.readable_room(caller, rid).await?.ok_or_else(Error::not_allowed)?;
        let mut parts: Vec<Value> = Vec::new();
        if let Some(before) = query.before {
            parts.push(json!({"ts": {"$lt": {"$date": before.millis()}}}));
        }
        if let Some(after) = query.after {
            parts.push(json!({"ts": {"$gt": {"$date": after.millis()}}}));
        }
        if !query.thread_messages {
            parts.push(json!({"$or": [{"tmid": {"$exists": false}}, {"tshow": true}]}));
        }
        let filter = if parts.is_empty() {
            Filter::True
        } else {
            // Built here from known parts: a parse failure is a bug.
            Filter::parse(Some(&json!({"$and": parts}).to_string())).map_err(Error::internal)?
        };
        let direction = if query.newest_first { Direction::Desc } else { Direction::Asc };
        let sort = Sort::by(SortField::Ts, direction);
        let limit = query.limit.clamp(1, MAX_HISTORY);
        let page = self.store.room_messages(rid, &filter, &sort, 0, limit).await?;
        Ok(History { messages: page.items, total: page.total })
    }

    /// Marks thread `tmid` read for the caller (clears it from their
    /// `tunread`). Returns the subscription when it changed.
    pub async fn mark_thread_read(&self, caller: &User, tmid: &str) -> Result<Option<Subscription>> {
        let rid = self.store.message_room(tmid).await?.ok_or_else(|| Error::from(Reject::InvalidMessage))?;
        if !self.can_read_room_id(caller, &rid).await? {
            return Err(Error::not_allowed());
        }
        Ok(self.store.mark_thread_read(&rid, &caller.id, tmid).await?)
    }
}

/// `*.history`'s parameters, as the client sent them.
#[derive(Clone, Copy, Debug, Default)]
pub struct HistoryParams<'a> {
    /// Only messages before this date (default: now).
    pub latest: Option<&'a str>,
    /// Only messages after this date.
    pub oldest: Option<&'a str>,
    /// `true`: `latest` and `oldest` themselves are included.
    pub inclusive: Option<&'a str>,
    /// `false`: thread replies not also sent to the room are left out.
    pub show_thread_messages: Option<&'a str>,
    pub count: Option<&'a str>,
    pub offset: Option<&'a str>,
}

/// `*.history`'s request: the window and the flags read, the page as sent.
#[derive(Clone, Debug)]
pub struct HistoryRequest<'a> {
    pub latest: Param<Option<Timestamp>>,
    pub oldest: Param<Option<Timestamp>>,
    pub inclusive: Param<bool>,
    pub show_thread_messages: Param<bool>,
    pub count: Option<&'a str>,
    pub offset: Option<&'a str>,
}

impl<'a> HistoryRequest<'a> {
    /// Reads the parameters: dates (ISO 8601) and flags (`true`/`1`,
    /// `false`/`0`; `inclusive` defaults to false, `showThreadMessages` to
    /// true), each refused by its name.
    pub fn read(params: HistoryParams<'a>) -> Self {
        HistoryRequest {
            latest: param::query_date(params.latest, "latest"),
            oldest: param::query_date(params.oldest, "oldest"),
            inclusive: param::query_flag(params.inclusive, "inclusive", false),
            show_thread_messages: param::query_flag(params.show_thread_messages, "showThreadMessages", true),
            count: params.count,
            offset: params.offset,
        }
    }
}

/// The `*.history` filter: the time window and, without thread messages,
/// only messages shown in the room.
fn history_filter(
    latest: Option<Timestamp>,
    oldest: Option<Timestamp>,
    inclusive: bool,
    threads: bool,
) -> Result<Filter> {
    let (lt, gt) = if inclusive { ("$lte", "$gte") } else { ("$lt", "$gt") };
    let mut parts: Vec<Value> = Vec::new();
    if let Some(latest) = latest {
        parts.push(json!({"ts": {lt: {"$date": latest.millis()}}}));
    }
    if let Some(oldest) = oldest {
        parts.push(json!({"ts": {gt: {"$date": oldest.millis()}}}));
    }
    if !threads {
        parts.push(json!({"$or": [{"tmid": {"$exists": false}}, {"tshow": true}]}));
    }
    if parts.is_empty() {
        return Ok(Filter::True);
    }
    // Built here from known parts: a parse failure is a bug.
    Filter::parse(Some(&json!({"$and": parts}).to_string())).map_err(Error::internal)
}

impl Services {
    /// The room a `channels.*` / `groups.*` / `im.*` read names, if the
    /// caller may read it. Direct messages answer Rocket.Chat's `im.*`
    /// errors: `must have required property 'roomId'` and `[invalid-channel]`.
    pub(crate) async fn family_read_room(
        &self,
        caller: &User,
        t: RoomType,
        room: RoomSelector<'_>,
    ) -> Result<Room> {
        if t != RoomType::Direct {
            return self.room_info(caller, t, room).await;
        }
        let rid = room
            .room_id
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::from(Reject::SchemaRoomIdMissing))?;
        let found = self.store.room_by_id(rid).await?.filter(|r| r.t == RoomType::Direct);
        match found {
            Some(room) if self.is_member(caller, &room.id).await? => Ok(room),
            _ => Err(Error::from(Reject::ChannelNotResolved)),
        }
    }

    /// `channels.history` / `groups.history` / `im.history`: the room's
    /// messages, newest first, between `oldest` and `latest`, paged. Checks
    /// in order: the room (the family's errors); the dates; the flags;
    /// `count`/`offset`.
    pub async fn family_history(
        &self,
        caller: &User,
        t: RoomType,
        room: RoomSelector<'_>,
        request: HistoryRequest<'_>,
    ) -> Result<MessageListing> {
        let room = self.family_read_room(caller, t, room).await?;
        let latest = request.latest?;
        let oldest = request.oldest?;
        let inclusive = request.inclusive?;
        let threads = request.show_thread_messages?;
        let paging = Paging::from_params(request.count, request.offset, &self.settings())?;
        let filter = history_filter(latest, oldest, inclusive, threads)?;
        let sort = Sort::by(SortField::Ts, Direction::Desc);
        let page = self.store.room_messages(&room.id, &filter, &sort, paging.offset, paging.count).await?;
        Ok(MessageListing { items: Documents::Whole(page.items), offset: paging.offset, total: page.total })
    }

    /// `channels.messages` / `groups.messages` / `im.messages`: the room's
    /// messages that match `query` (e.g. `{"tmid":"…"}` for a thread), in
    /// `sort` order (default newest first), paged, projected by `fields`.
    pub async fn family_messages(
        &self,
        caller: &User,
        t: RoomType,
        room: RoomSelector<'_>,
        list: ListParams<'_>,
    ) -> Result<MessageListing> {
        let room = self.family_read_room(caller, t, room).await?;
        let mut shaping = Shaping::parse(&list)?;
        let paging = Paging::from_params(list.count, list.offset, &self.settings())?;
        if shaping.sort.0.is_empty() {
            shaping.sort = Sort::by(SortField::Ts, Direction::Desc);
        }
        let page = self
            .store
            .room_messages(&room.id, &shaping.filter, &shaping.sort, paging.offset, paging.count)
            .await?;
        Ok(MessageListing { items: shaping.project(page.items)?, offset: paging.offset, total: page.total })
    }
}
