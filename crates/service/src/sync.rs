//! Room-level sync (`chat.syncMessages`, `chat.getDeletedMessages`) and the
//! pieces every change feed shares: reading a "since" date, the page bound,
//! the tombstone horizon, the `sort` / `query` / `fields` parameters
//! (docs/sync.md, docs/query.md).
//!
//! # Bounded, resumable feeds **[differs]**
//! A change feed answers the changes after a stamp, **oldest first**, at
//! most `count` of them (capped by `API_Upper_Count_Limit`), or without a
//! `count` at most [`ServiceOptions::max_sync_items`](crate::ServiceOptions).
//! Stamps are unique within a room, so a client that asks again from the
//! greatest `_updatedAt` / `_deletedAt` it received resumes exactly where
//! the page ended: nothing is skipped, nothing repeated.

use crate::paging::Paging;
use crate::Services;
use serde_json::Value;
use std::cmp::Ordering;
use threadsync_domain::listing::{Direction, Projection, Sort, SortField};
use threadsync_domain::query::Filter;
use threadsync_domain::settings::Settings;
use threadsync_domain::{param, Param, Reject};
use threadsync_domain::{Error, Message, Result, Room, StoredMessage, Timestamp, Tombstone, User};
use threadsync_storage::{ChangeScope, Changes, Cursor, StorageError};

/// The paging and shaping parameters of a listing or feed, as the client
/// sent them (empty values already count as absent).
#[derive(Clone, Copy, Debug, Default)]
pub struct ListParams<'a> {
    pub offset: Option<&'a str>,
    pub count: Option<&'a str>,
    pub sort: Option<&'a str>,
    pub query: Option<&'a str>,
    pub fields: Option<&'a str>,
}

/// `sort`, `query` and `fields`, parsed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shaping {
    pub sort: Sort,
    /// The client's `query`: always ANDed inside the endpoint's own filter.
    pub filter: Filter,
    pub projection: Projection,
}

impl Shaping {
    /// Parses `sort`, then `query`, then `fields`: the first bad one is the error.
    pub fn parse(list: &ListParams<'_>) -> Result<Shaping> {
        let sort = Sort::parse(list.sort)?;
        let filter = Filter::parse(list.query)?;
        let projection = Projection::parse(list.fields)?;
        Ok(Shaping { sort, filter, projection })
    }

    /// Applies `sort` (to the page only) and `fields` to a feed's page of
    /// stored documents. Without either, the page is served as stored:
    /// spliced into the answer, never decoded (`StoredMessage`); that is
    /// every hot sync and every full resync of the official clients.
    pub fn shape_stored(&self, documents: Vec<StoredMessage>) -> Result<Documents> {
        if self.sort.is_empty() && matches!(self.projection, Projection::All) {
            return Ok(Documents::Stored(documents));
        }
        let mut messages = decode_stored(&documents)?;
        sort_messages(&mut messages, &self.sort);
        self.project(messages)
    }

    /// Applies `fields`. Without it the documents stay as they are and are
    /// serialised once, straight into the response.
    pub fn project(&self, messages: Vec<Message>) -> Result<Documents> {
        if matches!(self.projection, Projection::All) {
            return Ok(Documents::Whole(messages));
        }
        messages
            .into_iter()
            .map(|m| serde_json::to_value(m).map(|v| self.projection.apply(v)).map_err(Error::internal))
            .collect::<Result<Vec<Value>>>()
            .map(Documents::Projected)
    }
}

/// Messages as a response lists them: whole documents, or documents
/// projected by `fields`.
///
/// Whole documents serialise straight to the wire: turning each into a
/// `serde_json::Value` first tripled the memory a page of 1,000 messages
/// took while it was answered (`s2` in BENCHMARKS.md) and cost time on
/// every sync. Both forms serialise to the same bytes for the same fields.
#[derive(Clone, Debug, PartialEq)]
pub enum Documents {
    Whole(Vec<Message>),
    Projected(Vec<Value>),
    /// Whole documents as the store keeps them, spliced as they are.
    Stored(Vec<StoredMessage>),
}

/// Stored documents decoded, for the rules that read their fields.
pub(crate) fn decode_stored(documents: &[StoredMessage]) -> Result<Vec<Message>> {
    documents.iter().map(|doc| Ok(doc.decode().map_err(StorageError::corrupt_document)?)).collect()
}

impl Documents {
    pub fn len(&self) -> usize {
        match self {
            Documents::Whole(v) => v.len(),
            Documents::Projected(v) => v.len(),
            Documents::Stored(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl serde::Serialize for Documents {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Documents::Whole(v) => v.serialize(serializer),
            Documents::Projected(v) => v.serialize(serializer),
            Documents::Stored(v) => v.serialize(serializer),
        }
    }
}

/// A validated feed page request: skip `offset` changes, return at most `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FeedBound {
    pub offset: u64,
    pub limit: u64,
}

impl FeedBound {
    /// `count` and `offset` of a change feed. Non-numeric or negative values
    /// are refused as in [`Paging`]. A `count` is honoured up to
    /// `API_Upper_Count_Limit`; no `count` (or `count=0` while
    /// `API_Allow_Infinite_Count`) means up to `max_sync_items`; `count=0`
    /// otherwise means `API_Default_Count`.
    pub fn parse(
        count: Option<&str>,
        offset: Option<&str>,
        settings: &Settings,
        max_sync_items: u64,
    ) -> Result<FeedBound> {
        // Validates both values and applies the settings' caps.
        let paging = Paging::from_params(count, offset, settings)?;
        let limit = match count.map(|c| c.trim().parse::<u64>()) {
            None => max_sync_items,
            Some(Ok(0)) if settings.api_allow_infinite_count() => max_sync_items,
            Some(_) => paging.count,
        };
        Ok(FeedBound { offset: paging.offset, limit: limit.max(1) })
    }
}

/// Sorts one page of messages in memory: the keys in priority order, then
/// `_id` in the first key's direction. Stable. A missing value sorts before
/// any value, as in MongoDB.
pub(crate) fn sort_messages(messages: &mut [Message], sort: &Sort) {
    let Some(&(_, first)) = sort.0.first() else {
        return;
    };
    messages.sort_by(|a, b| {
        sort.0
            .iter()
            .map(|&(field, dir)| directed(compare_field(a, b, field), dir))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| directed(a.id.cmp(&b.id), first))
    });
}

fn directed(o: Ordering, dir: Direction) -> Ordering {
    match dir {
        Direction::Asc => o,
        Direction::Desc => o.reverse(),
    }
}

fn compare_field(a: &Message, b: &Message, field: SortField) -> Ordering {
    match field {
        SortField::Id => a.id.cmp(&b.id),
        SortField::Ts => a.ts.cmp(&b.ts),
        SortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
        SortField::Tlm => a.tlm.cmp(&b.tlm),
        SortField::Tcount => a.tcount.cmp(&b.tcount),
        SortField::EditedAt => a.edited_at.cmp(&b.edited_at),
        SortField::Msg => a.msg.cmp(&b.msg),
        SortField::Username => a.u.username.cmp(&b.u.username),
    }
}

/// Refused: the requested date is older than the tombstones kept.
fn resync_required(param: &str, what: &str) -> Error {
    Error::from(Reject::ResyncRequired { param: param.to_owned(), what: what.to_owned() })
}

/// The generic room denial of the room-level endpoints.
fn room_not_allowed() -> Error {
    Error::not_allowed()
}

/// `chat.syncMessages`' parameters, as the client sent them (empty values
/// count as absent).
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncMessagesParams<'a> {
    pub room_id: Option<&'a str>,
    pub last_update: Option<&'a str>,
    pub next: Option<&'a str>,
    pub previous: Option<&'a str>,
    /// `UPDATED` or `DELETED`.
    pub kind: Option<&'a str>,
    pub count: Option<&'a str>,
    pub offset: Option<&'a str>,
}

/// `chat.syncMessages`' request: the room, which of the two forms, and the
/// page (`count`/`offset`, read against the settings' caps).
#[derive(Clone, Debug)]
pub struct SyncMessagesRequest<'a> {
    pub room_id: Param<&'a str>,
    pub form: Param<RoomSyncForm>,
    pub count: Option<&'a str>,
    /// The `lastUpdate` form's; the cursor form ignores it.
    pub offset: Option<&'a str>,
}

/// The two forms of `chat.syncMessages`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoomSyncForm {
    /// `lastUpdate=<date>`: the room's changes after it.
    Delta { since: Timestamp },
    /// `type=UPDATED|DELETED` with `next=<ms>` or `previous=<ms>` (or
    /// neither: from the beginning).
    Cursor { kind: RoomFeedKind, cursor: Cursor },
}

/// The cursor form's `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoomFeedKind {
    Updated,
    Deleted,
}

impl<'a> SyncMessagesRequest<'a> {
    /// Reads the form in the documented order: `lastUpdate` cannot be
    /// combined with `next`, `previous` or `type`; not both `next` and
    /// `previous`; `next`/`previous` need `type`; outside the cursor form
    /// `lastUpdate` is required, then a date; `type` is `UPDATED` or
    /// `DELETED`; the cursors are epoch milliseconds.
    pub fn read(params: SyncMessagesParams<'a>) -> Self {
        SyncMessagesRequest {
            room_id: param::required(params.room_id, Reject::RoomIdMissing),
            form: room_sync_form(&params),
            count: params.count,
            offset: params.offset,
        }
    }
}

fn room_sync_form(params: &SyncMessagesParams<'_>) -> Param<RoomSyncForm> {
    let cursor_form = params.next.is_some() || params.previous.is_some() || params.kind.is_some();
    if params.last_update.is_some() && cursor_form {
        return Err(Reject::SyncLastUpdateWithCursor);
    }
    if params.next.is_some() && params.previous.is_some() {
        return Err(Reject::SyncCursorBoth);
    }
    if (params.next.is_some() || params.previous.is_some()) && params.kind.is_none() {
        return Err(Reject::SyncCursorNeedsType);
    }
    if !cursor_form {
        // Rocket.Chat types an invalid date `error-roomId-param-invalid`
        // (a copy-paste slip); the code here names the parameter at fault.
        let since =
            param::required_date(params.last_update, Reject::LastUpdateMissing, Reject::LastUpdateInvalid)?;
        return Ok(RoomSyncForm::Delta { since });
    }
    let kind = match params.kind {
        Some("UPDATED") => RoomFeedKind::Updated,
        Some("DELETED") => RoomFeedKind::Deleted,
        _ => return Err(Reject::SyncCursorTypeInvalid),
    };
    let cursor = match (params.next, params.previous) {
        (Some(raw), _) => Cursor::After(parse_cursor_stamp("next", raw)?),
        (None, Some(raw)) => Cursor::Before(parse_cursor_stamp("previous", raw)?),
        (None, None) => Cursor::After(Timestamp::from_millis(0)),
    };
    Ok(RoomSyncForm::Cursor { kind, cursor })
}

/// `chat.getDeletedMessages`' request.
#[derive(Clone, Debug)]
pub struct DeletedMessagesRequest<'a> {
    pub room_id: Param<&'a str>,
    pub since: Param<Timestamp>,
    pub count: Option<&'a str>,
    pub offset: Option<&'a str>,
}

impl<'a> DeletedMessagesRequest<'a> {
    /// `roomId`, `since`, `count` and `offset` as the client sent them.
    pub fn read(
        room_id: Option<&'a str>,
        since: Option<&str>,
        count: Option<&'a str>,
        offset: Option<&'a str>,
    ) -> Self {
        DeletedMessagesRequest {
            room_id: param::required(room_id, Reject::RoomIdMissing),
            since: param::required_date(since, Reject::SinceMissing, Reject::SinceInvalid),
            count,
            offset,
        }
    }
}

/// A cursor page's bounds, epoch milliseconds: `next` is the newest item's
/// stamp, `previous` the oldest's; both `None` for an empty page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CursorBounds {
    pub next: Option<Timestamp>,
    pub previous: Option<Timestamp>,
}

impl CursorBounds {
    fn of(stamps: impl Iterator<Item = Timestamp> + Clone) -> CursorBounds {
        CursorBounds { next: stamps.clone().max(), previous: stamps.min() }
    }
}

/// What `chat.syncMessages` answers.
#[derive(Clone, Debug, PartialEq)]
pub enum RoomSync {
    /// `lastUpdate` form: messages updated and removed after the date, oldest first.
    Delta { updated: Vec<StoredMessage>, deleted: Vec<Tombstone> },
    /// Cursor form, `type=UPDATED`: ascending after `next`, descending before `previous`.
    Updated { items: Vec<Message>, cursor: CursorBounds },
    /// Cursor form, `type=DELETED`.
    Deleted { items: Vec<Tombstone>, cursor: CursorBounds },
}

/// A page of tombstones (`chat.getDeletedMessages`).
#[derive(Clone, Debug, PartialEq)]
pub struct DeletedListing {
    pub items: Vec<Tombstone>,
    pub offset: u64,
    pub total: u64,
}

fn parse_cursor_stamp(name: &str, raw: &str) -> Param<Timestamp> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|ms| *ms >= 0)
        .map(Timestamp::from_millis)
        .ok_or_else(|| Reject::QueryMillisInvalid { name: name.to_owned() })
}

impl Services {
    /// The change feed of `scope` after `since`, bounded (see the module
    /// docs). Refuses with `error-resync-required` when `since` is older
    /// than the tombstone horizon (a removal could be missing).
    pub(crate) async fn feed(
        &self,
        scope: ChangeScope<'_>,
        since: Timestamp,
        filter: &Filter,
        bound: FeedBound,
        param: &str,
        what: &str,
    ) -> Result<Changes<StoredMessage>> {
        self.check_horizon(since, param, what).await?;
        Ok(self.store.stored_changes_since(scope, since, filter, bound.offset, bound.limit).await?)
    }

    /// Refuses `since` older than the tombstone horizon.
    pub(crate) async fn check_horizon(&self, since: Timestamp, param: &str, what: &str) -> Result<()> {
        match self.store.tombstone_horizon().await? {
            Some(horizon) if since < horizon => Err(resync_required(param, what)),
            _ => Ok(()),
        }
    }

    /// The room `rid` if `caller` may read it; `None` when it does not
    /// exist or may not be read (callers answer the same error for both).
    pub async fn readable_room(&self, caller: &User, rid: &str) -> Result<Option<Room>> {
        let Some(room) = self.store.room_by_id(rid).await? else {
            return Ok(None);
        };
        Ok(if self.can_read_room(caller, &room).await? { Some(room) } else { None })
    }

    /// `chat.syncMessages`. Checks, in order: `roomId`; the form
    /// (`lastUpdate` cannot be combined with `next`, `previous` or `type`;
    /// not both `next` and `previous`; `next`/`previous` need `type`); a
    /// missing `lastUpdate` outside the cursor form; an invalid `lastUpdate`;
    /// `type` in {`UPDATED`, `DELETED`}; numeric cursors; `count`/`offset`;
    /// room access (`Not allowed`); the tombstone horizon.
    ///
    /// `lastUpdate` form: every message of the room updated, and every
    /// removal, after the date, oldest first, bounded like every feed.
    /// Cursor form: `next=<ms>` gives the items stamped after it, ascending;
    /// `previous=<ms>` those before it, descending; `type` alone starts
    /// from the beginning (as `next=0`). At most `count` items (no `count`:
    /// `max_sync_items`).
    pub async fn sync_messages(&self, caller: &User, request: SyncMessagesRequest<'_>) -> Result<RoomSync> {
        let rid = request.room_id?;
        let settings = self.settings();
        let (kind, cursor) = match request.form? {
            RoomSyncForm::Delta { since } => {
                let bound =
                    FeedBound::parse(request.count, request.offset, &settings, self.options.max_sync_items)?;
                if !self.can_read_room_id(caller, rid).await? {
                    return Err(room_not_allowed());
                }
                let changes = self
                    .feed(ChangeScope::Room(rid), since, &Filter::True, bound, "lastUpdate", "room")
                    .await?;
                return Ok(RoomSync::Delta { updated: changes.updated, deleted: changes.removed });
            }
            RoomSyncForm::Cursor { kind, cursor } => (kind, cursor),
        };
        let bound = FeedBound::parse(request.count, None, &settings, self.options.max_sync_items)?;
        if !self.can_read_room_id(caller, rid).await? {
            return Err(room_not_allowed());
        }
        match kind {
            RoomFeedKind::Updated => {
                let items = self.store.room_updates(rid, cursor, bound.limit).await?;
                let cursor = CursorBounds::of(items.iter().map(|m| m.updated_at));
                Ok(RoomSync::Updated { items, cursor })
            }
            RoomFeedKind::Deleted => {
                if let Cursor::After(since) = cursor {
                    self.check_horizon(since, "next", "room").await?;
                }
                let items = self.store.room_removals(rid, cursor, bound.limit).await?;
                let cursor = CursorBounds::of(items.iter().map(|t| t.deleted_at));
                Ok(RoomSync::Deleted { items, cursor })
            }
        }
    }

    /// `chat.getDeletedMessages`: the room's removals after `since`, oldest
    /// first, paged (`count`/`offset` as every listing). Checks, in order:
    /// `roomId`, `since` present, `since` a date; paging; room access (`Not
    /// allowed`); the tombstone horizon. Rocket.Chat throws the first three
    /// as bare texts (the text doubling as `errorType`); here they have the
    /// `<reason> [<code>]` form of `chat.syncMessages`' same checks.
    pub async fn deleted_messages(
        &self,
        caller: &User,
        request: DeletedMessagesRequest<'_>,
    ) -> Result<DeletedListing> {
        let rid = request.room_id?;
        let since = request.since?;
        let paging = Paging::from_params(request.count, request.offset, &self.settings())?;
        if !self.can_read_room_id(caller, rid).await? {
            return Err(room_not_allowed());
        }
        self.check_horizon(since, "since", "room").await?;
        let page = self.store.room_tombstones(rid, since, paging.offset, paging.count).await?;
        Ok(DeletedListing { items: page.items, offset: paging.offset, total: page.total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole documents serialise straight from the messages; the bytes
    /// must be what the `Value` path produced for the same documents.
    #[test]
    fn whole_documents_serialise_like_their_values() {
        let messages = vec![msg("a", 1, Some(5), "alice"), msg("b", 2, None, "bob")];
        let whole = Shaping::default().project(messages.clone()).expect("project");
        assert!(matches!(whole, Documents::Whole(_)));
        let values: Vec<Value> = messages.iter().map(|m| serde_json::to_value(m).expect("value")).collect();
        assert_eq!(serde_json::to_string(&whole).expect("ser"), serde_json::to_string(&values).expect("ser"));
        assert_eq!(serde_json::to_value(&whole).expect("values"), Value::Array(values));
        let list = ListParams { fields: Some(r#"{"msg": 1}"#), ..ListParams::default() };
        let projected = Shaping::parse(&list).expect("parse").project(messages).expect("project");
        assert!(matches!(projected, Documents::Projected(_)));
        assert_eq!(projected.len(), 2);
        let first = &serde_json::to_value(&projected).expect("values")[0];
        assert!(first.get("msg").is_some() && first.get("u").is_none(), "{first}");
    }
    use threadsync_domain::UserRef;

    fn msg(id: &str, ts: i64, tlm: Option<i64>, username: &str) -> Message {
        Message {
            id: id.into(),
            rid: "r".into(),
            msg: id.into(),
            ts: Timestamp(ts),
            u: UserRef { id: username.into(), username: username.into(), name: None },
            updated_at: Timestamp(ts),
            mentions: vec![],
            channels: vec![],
            tmid: None,
            tshow: None,
            tcount: None,
            tlm: tlm.map(Timestamp),
            replies: None,
            t: None,
            edited_at: None,
            edited_by: None,
            md: None,
            extra: Default::default(),
        }
    }

    fn ids(ms: &[Message]) -> Vec<&str> {
        ms.iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn in_memory_sort_uses_keys_then_id() {
        let mut ms = vec![msg("b", 2, None, "x"), msg("a", 2, Some(1), "y"), msg("c", 1, Some(5), "x")];
        sort_messages(&mut ms, &Sort::parse(Some(r#"{"ts": -1}"#)).expect("sort"));
        assert_eq!(ids(&ms), ["b", "a", "c"], "ties broken by _id in the first key's direction");
        sort_messages(&mut ms, &Sort::parse(Some(r#"{"tlm": 1}"#)).expect("sort"));
        assert_eq!(ids(&ms), ["b", "a", "c"], "missing sorts first");
        sort_messages(&mut ms, &Sort::parse(Some(r#"{"u.username": 1, "ts": 1}"#)).expect("sort"));
        assert_eq!(ids(&ms), ["c", "b", "a"]);
        sort_messages(&mut ms, &Sort::default());
        assert_eq!(ids(&ms), ["c", "b", "a"], "an empty sort keeps the order");
    }

    #[test]
    fn feed_bound_defaults_and_caps() {
        let s = Settings::default();
        assert_eq!(FeedBound::parse(None, None, &s, 7), Ok(FeedBound { offset: 0, limit: 7 }));
        assert_eq!(FeedBound::parse(Some("0"), Some("2"), &s, 7), Ok(FeedBound { offset: 2, limit: 7 }));
        assert_eq!(FeedBound::parse(Some("500"), None, &s, 7), Ok(FeedBound { offset: 0, limit: 100 }));
        assert_eq!(FeedBound::parse(Some("3"), None, &s, 7), Ok(FeedBound { offset: 0, limit: 3 }));
        assert!(FeedBound::parse(Some("x"), None, &s, 7).is_err());
        assert!(FeedBound::parse(None, Some("-1"), &s, 7).is_err());
    }
}
