//! Threads and sync: `chat.syncThreadMessages`,
//! `chat.getThreadMessages`, `chat.getThreadsList`, `chat.syncThreadsList`,
//! `chat.followMessage`, `chat.unfollowMessage`, `chat.syncMessages`,
//! `chat.getDeletedMessages`.
//!
//! **[differs] Bounded, resumable sync.** Rocket.Chat ignores `count` and
//! `offset` on the sync endpoints and returns the whole delta. threadsync
//! returns the **oldest** changes first: at most `count` (capped by
//! `API_Upper_Count_Limit`), or without `count` at most the server's sync cap.
//! A client resumes by asking again from the greatest `_updatedAt` /
//! `_deletedAt` it received; stamps are unique per room, so nothing is
//! skipped or repeated. A `sort` reorders the returned `update` page only.
//! A date older than the deletion history the server keeps is refused with
//! `error-resync-required` rather than answered incompletely.

use crate::extract::{Body, CurrentUser, Query};
use crate::openapi::schemas as doc;
use crate::requests::{ListQuery, PageQuery};
use crate::response::{ok, ApiResult, Keyed, Success, TypedResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use threadsync_domain::{Timestamp, Tombstone};
use threadsync_service::{
    followed_message, CursorBounds, DeletedMessagesRequest, Documents, MessageListing, RoomSync,
    SyncMessagesParams, SyncMessagesRequest, SyncThreadRequest, SyncThreadsListRequest, SyncedChanges,
    ThreadRequest, ThreadsListRequest,
};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(sync_thread_messages))
        .merge(routes!(get_thread_messages))
        .merge(routes!(get_threads_list))
        .merge(routes!(sync_threads_list))
        .merge(routes!(follow_message))
        .merge(routes!(unfollow_message))
        .merge(routes!(sync_messages))
        .merge(routes!(get_deleted_messages))
}

/// `{update, remove}`.
#[derive(Serialize)]
struct ChangesBody {
    update: Documents,
    remove: Vec<Tombstone>,
}

fn changes_body(changes: SyncedChanges) -> ChangesBody {
    ChangesBody { update: changes.update, remove: changes.remove }
}

/// `{<key>: [...], count, offset, total}`; `count` is the number of items returned.
pub(super) struct ListingBody {
    key: &'static str,
    listing: MessageListing,
}

impl Serialize for ListingBody {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry(self.key, &self.listing.items)?;
        map.serialize_entry("count", &self.listing.items.len())?;
        map.serialize_entry("offset", &self.listing.offset)?;
        map.serialize_entry("total", &self.listing.total)?;
        map.end()
    }
}

pub(super) fn listing_body(key: &'static str, listing: MessageListing) -> ListingBody {
    ListingBody { key, listing }
}

/// A removal as the room-level endpoints list it: `{_id, _deletedAt}`.
fn deleted_item(t: &Tombstone) -> Value {
    json!({"_id": t.id, "_deletedAt": t.deleted_at})
}

/// A cursor stamp: a string of epoch milliseconds, or null.
fn cursor_stamp(stamp: Option<Timestamp>) -> Value {
    stamp.map_or(Value::Null, |t| Value::String(t.millis().to_string()))
}

fn cursor_body(cursor: CursorBounds) -> Value {
    json!({"next": cursor_stamp(cursor.next), "previous": cursor_stamp(cursor.previous)})
}

/// A thread's replies changed and removed since a date.
///
/// `GET /api/v1/chat.syncThreadMessages?tmid=&updatedSince=&count=&offset=&sort=&query=&fields=`
/// (auth) → `{messages: {update, remove}}`: the thread's replies updated,
/// and removed (`{_id, rid, tmid, _deletedAt}`), strictly after
/// `updatedSince`, oldest first, bounded and resumable (module docs). Checks
/// in order: threads enabled, `tmid`, `updatedSince` present then valid,
/// `sort`/`query`/`fields`, `count`/`offset`, `Invalid Message` (also for
/// a thread of a room the caller cannot read), tombstone horizon.
#[utoipa::path(
    get,
    path = "/api/v1/chat.syncThreadMessages",
    tag = "threads",
    security(("userId" = [], "authToken" = [])),
    params(ThreadSyncQuery, ListQuery),
    responses(
        (status = 200, description = "The changes, oldest first, at most `count`.", body = doc::ThreadMessagesSync),
        (status = 400, description = "Threads disabled; missing `tmid` or `updatedSince`; a bad date, `sort`, `query`, `fields`, `count` or `offset`; no such thread; a room the caller may not read; a date older than the deletions kept (`error-resync-required`)."),
    ),
)]
async fn sync_thread_messages(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<ThreadSyncQuery>,
    Query(list): Query<ListQuery>,
) -> TypedResult<Keyed<ChangesBody>> {
    let request =
        SyncThreadRequest::read(request.tmid.as_deref(), request.updated_since.as_deref(), list.params());
    let changes = services.sync_thread_messages(&caller.user, request).await?;
    Ok(Success(Keyed("messages", changes_body(changes))))
}

/// `chat.syncThreadMessages`' own parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct ThreadSyncQuery {
    /// The thread (its parent message).
    #[param(required = true, value_type = String)]
    tmid: Option<String>,
    /// An ISO-8601 date: changes strictly after it. Resume from the greatest
    /// `_updatedAt` / `_deletedAt` received.
    #[param(rename = "updatedSince", required = true, value_type = String)]
    updated_since: Option<String>,
}

/// A page of a thread's replies.
///
/// `GET /api/v1/chat.getThreadMessages?tmid=&offset=&count=&sort=&query=&fields=`
/// (auth) → `{messages, count, offset, total}`: the replies (not the
/// parent), `ts` ascending by default. Errors: threads disabled, `tmid`,
/// `sort`/`query`/`fields`, `Invalid Message` (also for a thread of a room
/// the caller cannot read).
#[utoipa::path(
    get,
    path = "/api/v1/chat.getThreadMessages",
    tag = "threads",
    security(("userId" = [], "authToken" = [])),
    params(ThreadQuery, ListQuery),
    responses(
        (status = 200, description = "The replies (not the parent), oldest first by default.", body = doc::MessagesPage),
        (status = 400, description = "Threads disabled; missing `tmid`; a bad `sort`, `query` or `fields`; no such thread; a room the caller may not read."),
    ),
)]
async fn get_thread_messages(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<ThreadQuery>,
    Query(list): Query<ListQuery>,
) -> TypedResult<ListingBody> {
    let request = ThreadRequest::read(request.tmid.as_deref(), list.params());
    let listing = services.thread_messages(&caller.user, request).await?;
    Ok(Success(listing_body("messages", listing)))
}

/// `chat.getThreadMessages`' own parameter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ThreadQuery {
    /// The thread (its parent message).
    #[param(required = true, value_type = String)]
    tmid: Option<String>,
}

/// A page of a room's threads.
///
/// `GET /api/v1/chat.getThreadsList?rid=&type=&text=&offset=&count=&sort=&query=&fields=`
/// (auth) → `{threads, count, offset, total}`: thread parents of the room,
/// `tlm` descending by default; `type` `all` | `following` | `unread`;
/// `text` a case-insensitive substring of `msg`. Errors: threads disabled,
/// `rid`, bad `type` (`invalid-params`), `sort`/`query`/`fields`,
/// `Not Allowed` (room missing or unreadable).
#[utoipa::path(
    get,
    path = "/api/v1/chat.getThreadsList",
    tag = "threads",
    security(("userId" = [], "authToken" = [])),
    params(ThreadsListQuery, ListQuery),
    responses(
        (status = 200, description = "The thread parents, latest reply first by default.", body = doc::ThreadsPage),
        (status = 400, description = "Threads disabled; missing `rid`; a bad `type`, `sort`, `query` or `fields`; no such room or one the caller may not read."),
    ),
)]
async fn get_threads_list(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<ThreadsListQuery>,
    Query(list): Query<ListQuery>,
) -> TypedResult<ListingBody> {
    let request = ThreadsListRequest::read(
        request.rid.as_deref(),
        request.kind.as_deref(),
        request.text.as_deref(),
        list.params(),
    );
    let listing = services.threads_list(&caller.user, request).await?;
    Ok(Success(listing_body("threads", listing)))
}

/// `chat.getThreadsList`' own parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ThreadsListQuery {
    /// The room.
    #[param(required = true, value_type = String)]
    rid: Option<String>,
    /// `all` (default), `following` or `unread`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    kind: Option<String>,
    /// A case-insensitive part of the parent's text.
    text: Option<String>,
}

/// A room's threads changed and removed since a date.
///
/// `GET /api/v1/chat.syncThreadsList?rid=&updatedSince=&count=&offset=&sort=&query=&fields=`
/// (auth) → `{threads: {update, remove}}`: thread parents updated and
/// removed strictly after `updatedSince`; idempotent, bounded and resumable
/// (module docs). Errors: threads disabled, `rid`, `updatedSince` present
/// then valid, `Not Allowed`, tombstone horizon.
#[utoipa::path(
    get,
    path = "/api/v1/chat.syncThreadsList",
    tag = "threads",
    security(("userId" = [], "authToken" = [])),
    params(ThreadsSyncQuery, ListQuery),
    responses(
        (status = 200, description = "The changed and removed thread parents, oldest first, at most `count`.", body = doc::ThreadsSync),
        (status = 400, description = "Threads disabled; missing `rid` or `updatedSince`; a bad date; no such room or one the caller may not read; a date older than the deletions kept (`error-resync-required`)."),
    ),
)]
async fn sync_threads_list(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<ThreadsSyncQuery>,
    Query(list): Query<ListQuery>,
) -> TypedResult<Keyed<ChangesBody>> {
    let request =
        SyncThreadsListRequest::read(request.rid.as_deref(), request.updated_since.as_deref(), list.params());
    let changes = services.sync_threads_list(&caller.user, request).await?;
    Ok(Success(Keyed("threads", changes_body(changes))))
}

/// `chat.syncThreadsList`' own parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct ThreadsSyncQuery {
    /// The room.
    #[param(required = true, value_type = String)]
    rid: Option<String>,
    /// An ISO-8601 date: changes strictly after it. Resume from the greatest
    /// `_updatedAt` / `_deletedAt` received.
    #[param(rename = "updatedSince", required = true, value_type = String)]
    updated_since: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ThreadRequest)]
struct MidBody {
    #[schema(value_type = String)]
    mid: Option<String>,
}

/// Follows a thread.
///
/// `POST /api/v1/chat.followMessage {mid}` (auth) → `{}`: the caller follows
/// the thread (a reply's `mid` means its parent). Errors: missing `mid`
/// (bare), then with `details: {method}`: threads disabled (`not-allowed`),
/// unknown message or one of a room the caller cannot read (`Invalid message`).
#[utoipa::path(
    post,
    path = "/api/v1/chat.followMessage",
    tag = "threads",
    security(("userId" = [], "authToken" = [])),
    request_body = MidBody,
    responses(
        (status = 200, description = "The caller follows the thread.", body = doc::Done),
        (status = 400, description = "Missing `mid`; threads disabled or a room the caller may not read (`not-allowed`); no such message."),
    ),
)]
async fn follow_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<MidBody>,
) -> ApiResult {
    services.follow_thread(&caller.user, followed_message(body.mid.as_deref()), true).await?;
    ok(json!({}))
}

/// Stops following a thread.
///
/// `POST /api/v1/chat.unfollowMessage {mid}` (auth) → `{}`: as
/// `chat.followMessage`, and the thread leaves the caller's `tunread`.
#[utoipa::path(
    post,
    path = "/api/v1/chat.unfollowMessage",
    tag = "threads",
    security(("userId" = [], "authToken" = [])),
    request_body = MidBody,
    responses(
        (status = 200, description = "The caller no longer follows the thread.", body = doc::Done),
        (status = 400, description = "Missing `mid`; threads disabled or a room the caller may not read (`not-allowed`); no such message."),
    ),
)]
async fn unfollow_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<MidBody>,
) -> ApiResult {
    services.follow_thread(&caller.user, followed_message(body.mid.as_deref()), false).await?;
    ok(json!({}))
}

/// A room's messages changed and removed since a date.
///
/// `GET /api/v1/chat.syncMessages?roomId=&lastUpdate=` (auth) →
/// `{result: {updated, deleted: [{_id, _deletedAt}]}}`, oldest first,
/// bounded and resumable; or the cursor form `?roomId=&type=UPDATED|DELETED&next=<ms>|previous=<ms>&count=`
/// → `{result: {updated | deleted, cursor: {next, previous}}}` (strings of
/// epoch ms: the newest and the oldest item's stamp; null for an empty
/// page). Errors: `roomId`, mixed or incomplete forms (`error-invalid-params`),
/// `lastUpdate` missing / invalid, `Not allowed`, tombstone horizon.
#[utoipa::path(
    get,
    path = "/api/v1/chat.syncMessages",
    tag = "threads",
    security(("userId" = [], "authToken" = [])),
    params(SyncMessagesQuery),
    responses(
        (status = 200, description = "The delta `{updated, deleted}` or a cursor page.", body = doc::RoomSyncAnswer),
        (status = 400, description = "Missing `roomId`; mixed or incomplete forms (`error-invalid-params`); missing or bad `lastUpdate`; a room the caller may not read; a date older than the deletions kept (`error-resync-required`)."),
    ),
)]
async fn sync_messages(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(query): Query<SyncMessagesQuery>,
) -> ApiResult {
    let request = SyncMessagesParams {
        room_id: query.room_id.as_deref(),
        last_update: query.last_update.as_deref(),
        next: query.next.as_deref(),
        previous: query.previous.as_deref(),
        kind: query.kind.as_deref(),
        count: query.count.as_deref(),
        offset: query.offset.as_deref(),
    };
    let result = match services.sync_messages(&caller.user, SyncMessagesRequest::read(request)).await? {
        RoomSync::Delta { updated, deleted } => {
            json!({"updated": updated, "deleted": deleted.iter().map(deleted_item).collect::<Vec<_>>()})
        }
        RoomSync::Updated { items, cursor } => json!({"updated": items, "cursor": cursor_body(cursor)}),
        RoomSync::Deleted { items, cursor } => json!({
            "deleted": items.iter().map(deleted_item).collect::<Vec<_>>(),
            "cursor": cursor_body(cursor),
        }),
    };
    ok(json!({ "result": result }))
}

/// `chat.syncMessages`' parameters, both forms.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct SyncMessagesQuery {
    /// The room.
    #[param(rename = "roomId", required = true, value_type = String)]
    room_id: Option<String>,
    /// Delta form: an ISO-8601 date; changes strictly after it.
    #[param(rename = "lastUpdate")]
    last_update: Option<String>,
    /// Cursor form: `UPDATED` or `DELETED`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    kind: Option<String>,
    /// Cursor form: epoch milliseconds; items after it.
    next: Option<String>,
    /// Cursor form: epoch milliseconds; items before it.
    previous: Option<String>,
    /// Cursor form: the most items to return.
    #[param(value_type = Option<u64>)]
    count: Option<String>,
    /// Items to skip.
    #[param(value_type = Option<u64>)]
    offset: Option<String>,
}

/// A room's messages deleted since a date.
///
/// `GET /api/v1/chat.getDeletedMessages?roomId=&since=&count=&offset=` (auth)
/// → `{messages: [{_id, _deletedAt}], count, offset, total}`, oldest first.
/// Errors: `roomId`, `since` missing / invalid (Rocket.Chat's bare errors),
/// `Not allowed`, tombstone horizon.
#[utoipa::path(
    get,
    path = "/api/v1/chat.getDeletedMessages",
    tag = "threads",
    security(("userId" = [], "authToken" = [])),
    params(DeletedMessagesQuery, PageQuery),
    responses(
        (status = 200, description = "The deletions, oldest first.", body = doc::DeletedPage),
        (status = 400, description = "Missing `roomId` or `since`; a bad date; a room the caller may not read; a date older than the deletions kept (`error-resync-required`)."),
    ),
)]
async fn get_deleted_messages(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<DeletedMessagesQuery>,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let request = DeletedMessagesRequest::read(
        request.room_id.as_deref(),
        request.since.as_deref(),
        page.count.as_deref(),
        page.offset.as_deref(),
    );
    let listing = services.deleted_messages(&caller.user, request).await?;
    ok(json!({
        "messages": listing.items.iter().map(deleted_item).collect::<Vec<_>>(),
        "count": listing.items.len(),
        "offset": listing.offset,
        "total": listing.total,
    }))
}

/// `chat.getDeletedMessages`' own parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct DeletedMessagesQuery {
    /// The room.
    #[param(rename = "roomId", required = true, value_type = String)]
    room_id: Option<String>,
    /// An ISO-8601 date: deletions strictly after it.
    #[param(required = true, value_type = String)]
    since: Option<String>,
}
