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

use crate::extract::{Body, CurrentUser, Params};
use crate::response::{ok, ApiResult, Keyed, Success, TypedResult};
use crate::AppState;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use threadsync_domain::{Timestamp, Tombstone};
use threadsync_service::{
    CursorBounds, Documents, ListParams, MessageListing, RoomSync, SyncMessagesParams, SyncedChanges,
    ThreadsListParams,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/chat.syncThreadMessages", get(sync_thread_messages))
        .route("/api/v1/chat.getThreadMessages", get(get_thread_messages))
        .route("/api/v1/chat.getThreadsList", get(get_threads_list))
        .route("/api/v1/chat.syncThreadsList", get(sync_threads_list))
        .route("/api/v1/chat.followMessage", post(follow_message))
        .route("/api/v1/chat.unfollowMessage", post(unfollow_message))
        .route("/api/v1/chat.syncMessages", get(sync_messages))
        .route("/api/v1/chat.getDeletedMessages", get(get_deleted_messages))
}

/// `offset`, `count`, `sort`, `query`, `fields` of a GET request.
fn list_params(params: &Params) -> ListParams<'_> {
    ListParams {
        offset: params.get("offset"),
        count: params.get("count"),
        sort: params.get("sort"),
        query: params.get("query"),
        fields: params.get("fields"),
    }
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
struct ListingBody {
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

fn listing_body(key: &'static str, listing: MessageListing) -> ListingBody {
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

/// `GET /api/v1/chat.syncThreadMessages?tmid=&updatedSince=&count=&offset=&sort=&query=&fields=`
/// (auth) → `{messages: {update, remove}}`: the thread's replies updated,
/// and removed (`{_id, rid, tmid, _deletedAt}`), strictly after
/// `updatedSince`, oldest first, bounded and resumable (module docs). Checks
/// in order: threads enabled, `tmid`, `updatedSince` present then valid,
/// `sort`/`query`/`fields`, `count`/`offset`, `Invalid Message` (also for
/// a thread of a room the caller cannot read), tombstone horizon.
async fn sync_thread_messages(
    State(services): State<AppState>,
    caller: CurrentUser,
    params: Params,
) -> TypedResult<Keyed<ChangesBody>> {
    let changes = services
        .sync_thread_messages(
            &caller.user,
            params.get("tmid"),
            params.get("updatedSince"),
            list_params(&params),
        )
        .await?;
    Ok(Success(Keyed("messages", changes_body(changes))))
}

/// `GET /api/v1/chat.getThreadMessages?tmid=&offset=&count=&sort=&query=&fields=`
/// (auth) → `{messages, count, offset, total}`: the replies (not the
/// parent), `ts` ascending by default. Errors: threads disabled, `tmid`,
/// `sort`/`query`/`fields`, `Invalid Message` (also for a thread of a room
/// the caller cannot read).
async fn get_thread_messages(
    State(services): State<AppState>,
    caller: CurrentUser,
    params: Params,
) -> TypedResult<ListingBody> {
    let listing = services.thread_messages(&caller.user, params.get("tmid"), list_params(&params)).await?;
    Ok(Success(listing_body("messages", listing)))
}

/// `GET /api/v1/chat.getThreadsList?rid=&type=&text=&offset=&count=&sort=&query=&fields=`
/// (auth) → `{threads, count, offset, total}`: thread parents of the room,
/// `tlm` descending by default; `type` `all` | `following` | `unread`;
/// `text` a case-insensitive substring of `msg`. Errors: threads disabled,
/// `rid`, bad `type` (`invalid-params`), `sort`/`query`/`fields`,
/// `Not Allowed` (room missing or unreadable).
async fn get_threads_list(
    State(services): State<AppState>,
    caller: CurrentUser,
    params: Params,
) -> TypedResult<ListingBody> {
    let filters =
        ThreadsListParams { rid: params.get("rid"), kind: params.get("type"), text: params.get("text") };
    let listing = services.threads_list(&caller.user, filters, list_params(&params)).await?;
    Ok(Success(listing_body("threads", listing)))
}

/// `GET /api/v1/chat.syncThreadsList?rid=&updatedSince=&count=&offset=&sort=&query=&fields=`
/// (auth) → `{threads: {update, remove}}`: thread parents updated and
/// removed strictly after `updatedSince`; idempotent, bounded and resumable
/// (module docs). Errors: threads disabled, `rid`, `updatedSince` present
/// then valid, `Not Allowed`, tombstone horizon.
async fn sync_threads_list(
    State(services): State<AppState>,
    caller: CurrentUser,
    params: Params,
) -> TypedResult<Keyed<ChangesBody>> {
    let changes = services
        .sync_threads_list(&caller.user, params.get("rid"), params.get("updatedSince"), list_params(&params))
        .await?;
    Ok(Success(Keyed("threads", changes_body(changes))))
}

#[derive(Deserialize)]
struct MidBody {
    mid: Option<String>,
}

/// `POST /api/v1/chat.followMessage {mid}` (auth) → `{}`: the caller follows
/// the thread (a reply's `mid` means its parent). Errors: missing `mid`
/// (bare), then with `details: {method}`: threads disabled (`not-allowed`),
/// unknown message or one of a room the caller cannot read (`Invalid message`).
async fn follow_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<MidBody>,
) -> ApiResult {
    services.follow_thread(&caller.user, body.mid.as_deref(), true).await?;
    ok(json!({}))
}

/// `POST /api/v1/chat.unfollowMessage {mid}` (auth) → `{}`: as
/// `chat.followMessage`, and the thread leaves the caller's `tunread`.
async fn unfollow_message(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<MidBody>,
) -> ApiResult {
    services.follow_thread(&caller.user, body.mid.as_deref(), false).await?;
    ok(json!({}))
}

/// `GET /api/v1/chat.syncMessages?roomId=&lastUpdate=` (auth) →
/// `{result: {updated, deleted: [{_id, _deletedAt}]}}`, oldest first,
/// bounded and resumable; or the cursor form `?roomId=&type=UPDATED|DELETED&next=<ms>|previous=<ms>&count=`
/// → `{result: {updated | deleted, cursor: {next, previous}}}` (strings of
/// epoch ms: the newest and the oldest item's stamp; null for an empty
/// page). Errors: `roomId`, mixed or incomplete forms (`error-invalid-params`),
/// `lastUpdate` missing / invalid, `Not allowed`, tombstone horizon.
async fn sync_messages(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let request = SyncMessagesParams {
        room_id: params.get("roomId"),
        last_update: params.get("lastUpdate"),
        next: params.get("next"),
        previous: params.get("previous"),
        kind: params.get("type"),
        count: params.get("count"),
        offset: params.get("offset"),
    };
    let result = match services.sync_messages(&caller.user, request).await? {
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

/// `GET /api/v1/chat.getDeletedMessages?roomId=&since=&count=&offset=` (auth)
/// → `{messages: [{_id, _deletedAt}], count, offset, total}`, oldest first.
/// Errors: `roomId`, `since` missing / invalid (Rocket.Chat's bare errors),
/// `Not allowed`, tombstone horizon.
async fn get_deleted_messages(
    State(services): State<AppState>,
    caller: CurrentUser,
    params: Params,
) -> ApiResult {
    let listing = services
        .deleted_messages(
            &caller.user,
            params.get("roomId"),
            params.get("since"),
            params.get("count"),
            params.get("offset"),
        )
        .await?;
    ok(json!({
        "messages": listing.items.iter().map(deleted_item).collect::<Vec<_>>(),
        "count": listing.items.len(),
        "offset": listing.offset,
        "total": listing.total,
    }))
}
