//! Rooms of any type: `rooms.info`, `rooms.get`, `rooms.leave`,
//! `rooms.favorite`; and the request bodies and response shapes the
//! `channels.*` and `groups.*` families share.

use crate::extract::{Body, CurrentUser, Query};
use crate::openapi::schemas as doc;
use crate::requests::{RoomQuery, UpdatedSinceQuery};
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use threadsync_domain::{param, Reject};
use threadsync_domain::{Room, User};
use threadsync_service::{roster_since, CleanHistory, Listing, Paging, RoomSelector, UserSelector};
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(info))
        .merge(routes!(get))
        .merge(routes!(leave))
        .merge(routes!(favorite))
        .merge(routes!(clean_history))
}

/// `[{_id, _deletedAt}]`: the `remove` list of `rooms.get` / `subscriptions.get`.
pub(super) fn removed_json(removed: &[threadsync_service::Removed]) -> Vec<Value> {
    removed.iter().map(|r| json!({"_id": r.id, "_deletedAt": r.deleted_at})).collect()
}

/// The caller's rooms, whole or as a delta.
///
/// `GET /api/v1/rooms.get?updatedSince=` (auth) → `{update: [room],
/// remove: [{_id, _deletedAt}]}`: the rooms the caller is subscribed to
/// that changed after `updatedSince`, and the rooms deleted after it;
/// without it, every room and `remove: []`. Lossless when the client
/// resumes from the greatest stamp it holds (docs/rest.md).
#[utoipa::path(
    get,
    path = "/api/v1/rooms.get",
    tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(UpdatedSinceQuery),
    responses(
        (status = 200, description = "Rooms changed and rooms deleted.", body = doc::RoomsDelta),
        (status = 400, description = "`updatedSince` is not a date (`error-updatedSince-param-invalid`); older than the tombstone horizon (`error-resync-required`)."),
    ),
)]
async fn get(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<UpdatedSinceQuery>,
) -> ApiResult {
    let roster = services.rooms_get(&caller.user, roster_since(request.updated_since.as_deref())).await?;
    ok(json!({"update": roster.update, "remove": removed_json(&roster.remove)}))
}

/// A room of any type, by id or name.
///
/// `GET /api/v1/rooms.info?roomId=|roomName=` (auth) → `{room}`: a room of
/// any type the caller may read (public channels: anyone; groups and DMs:
/// members). Unknown and unreadable rooms both answer `Not allowed`, as in
/// Rocket.Chat.
#[utoipa::path(
    get,
    path = "/api/v1/rooms.info",
    tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(RoomQuery),
    responses(
        (status = 200, description = "The room.", body = doc::RoomAnswer),
        (status = 400, description = "Neither `roomId` nor `roomName` given; no such room or one the caller may not read (`Not allowed`)."),
    ),
)]
async fn info(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(room): Query<RoomQuery>,
) -> ApiResult {
    let room = services.any_room_info(&caller.user, room.selector()).await?;
    ok(json!({"room": room}))
}

/// Leaves a channel or a group, whatever its type.
///
/// `POST /api/v1/rooms.leave` (auth): `{roomId|roomName}` → `{}`; not a
/// direct message; needs `leave-c` / `leave-p`; members only; the last
/// owner cannot leave.
#[utoipa::path(
    post,
    path = "/api/v1/rooms.leave",
    tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    request_body = RoomBody,
    responses(
        (status = 200, description = "The caller left the room.", body = doc::Done),
        (status = 400, description = "Missing or unknown room; a direct message or no `leave-c`/`leave-p` (`error-not-allowed`); not a member (`error-user-not-in-room`); the last owner (`error-you-are-last-owner`)."),
    ),
)]
async fn leave(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomBody>,
) -> ApiResult {
    services.leave_any_room(&caller.user, body.selector()).await?;
    ok(json!({}))
}

/// `rooms.favorite`: `{roomId|roomName, favorite}`.
#[derive(Deserialize, ToSchema)]
#[schema(as = FavoriteRequest)]
#[serde(rename_all = "camelCase")]
pub(super) struct FavoriteBody {
    pub room_id: Option<String>,
    pub room_name: Option<String>,
    #[schema(value_type = bool)]
    pub favorite: Option<bool>,
}

/// Marks a room as one of the caller's favourites, or not.
///
/// `POST /api/v1/rooms.favorite` (auth): `{roomId|roomName, favorite}` →
/// `{}`; the caller's subscription gets `f: true` (or loses it), stamped so
/// `subscriptions.get?updatedSince=` and the `subscriptions-changed` stream
/// report it.
#[utoipa::path(
    post,
    path = "/api/v1/rooms.favorite",
    tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    request_body = FavoriteBody,
    responses(
        (status = 200, description = "The subscription is marked.", body = doc::Done),
        (status = 400, description = "`favorite` missing (`error-invalid-params`); missing or unknown room; not a member (`error-invalid-subscription`)."),
    ),
)]
async fn favorite(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<FavoriteBody>,
) -> ApiResult {
    let selector = RoomSelector { room_id: body.room_id.as_deref(), room_name: body.room_name.as_deref() };
    services.favorite_room(&caller.user, selector, body.favorite).await?;
    ok(json!({}))
}

/// `rooms.cleanHistory`'s body. The flags are Rocket.Chat's: `true`,
/// `"true"`, `1` or `"1"` mean yes.
#[derive(Deserialize, ToSchema)]
#[schema(as = CleanHistoryRequest)]
#[serde(rename_all = "camelCase")]
pub(super) struct CleanHistoryBody {
    pub room_id: Option<String>,
    pub room_name: Option<String>,
    /// ISO date: the newest end of the range.
    #[schema(value_type = String)]
    pub latest: Option<String>,
    /// ISO date: the oldest end of the range.
    #[schema(value_type = String)]
    pub oldest: Option<String>,
    #[schema(value_type = Option<bool>)]
    pub inclusive: Option<Value>,
    #[schema(value_type = Option<bool>)]
    pub exclude_pinned: Option<Value>,
    #[schema(value_type = Option<bool>)]
    pub files_only: Option<Value>,
    #[schema(value_type = Option<bool>)]
    pub ignore_threads: Option<Value>,
    /// Discussions are rooms we do not have: accepted and ignored.
    #[schema(value_type = Option<bool>)]
    pub ignore_discussion: Option<Value>,
    pub users: Option<Vec<String>>,
    pub limit: Option<u64>,
}

/// Rocket.Chat's loose yes: `true`, `"true"`, `1`, `"1"`; absent is no.
fn flag(value: &Option<Value>, name: &str) -> Result<bool, crate::error::ApiError> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "1" => Ok(true),
        Some(Value::String(s)) if s == "false" || s == "0" || s.is_empty() => Ok(false),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(_) => Err(crate::error::ApiError(threadsync_domain::Error::from(Reject::BodyParamNotBoolean {
            name: name.to_owned(),
        }))),
    }
}

/// Removes a room's messages in a time range.
///
/// `POST /api/v1/rooms.cleanHistory` (auth): `{roomId|roomName, latest,
/// oldest, inclusive?, excludePinned?, filesOnly?, ignoreThreads?, users?,
/// limit?}` → `{_id, count}`; needs `clean-channel-history` in the room
/// (admins by default). Each removal is a `chat.delete` write: tombstoned
/// for sync, announced to streams.
#[utoipa::path(
    post,
    path = "/api/v1/rooms.cleanHistory",
    tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    request_body = CleanHistoryBody,
    responses(
        (status = 200, description = "The room's id and how many messages were removed.", body = doc::CleanHistoryAnswer),
        (status = 400, description = "Missing or unknown room; `latest` / `oldest` missing (`Body parameter \"latest\" is required.`) or not dates; more than 100 `users`; no `clean-channel-history` (`error-not-allowed`)."),
    ),
)]
async fn clean_history(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<CleanHistoryBody>,
) -> ApiResult {
    let request = CleanHistory {
        room: RoomSelector { room_id: body.room_id.as_deref(), room_name: body.room_name.as_deref() },
        latest: param::body_date(body.latest.as_deref(), "latest"),
        oldest: param::body_date(body.oldest.as_deref(), "oldest"),
        inclusive: flag(&body.inclusive, "inclusive")?,
        exclude_pinned: flag(&body.exclude_pinned, "excludePinned")?,
        files_only: flag(&body.files_only, "filesOnly")?,
        ignore_threads: flag(&body.ignore_threads, "ignoreThreads")?,
        users: body.users.unwrap_or_default(),
        limit: body.limit.unwrap_or(0),
    };
    flag(&body.ignore_discussion, "ignoreDiscussion")?;
    let (room, count) = services.clean_history(&caller.user, request).await?;
    ok(json!({"_id": room.id, "count": count}))
}

/// `channels.create` / `groups.create`: `{name, members?, readOnly?}`.
#[derive(Deserialize, ToSchema)]
#[schema(as = CreateRoomRequest)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateBody {
    #[schema(value_type = String)]
    pub name: Option<String>,
    pub members: Option<Vec<String>>,
    pub read_only: Option<bool>,
}

/// `channels.addAll` / `groups.addAll`'s body.
#[derive(Deserialize, ToSchema)]
#[schema(as = AddAllRequest)]
#[serde(rename_all = "camelCase")]
pub(super) struct AddAllBody {
    pub room_id: Option<String>,
    pub room_name: Option<String>,
    /// Only active users (default `false`: every user).
    pub active_users_only: Option<bool>,
}

impl AddAllBody {
    pub fn room(&self) -> RoomSelector<'_> {
        RoomSelector { room_id: self.room_id.as_deref(), room_name: self.room_name.as_deref() }
    }
}

/// A body naming a room: `{roomId}` or `{roomName}`.
#[derive(Deserialize, ToSchema)]
#[schema(as = RoomRequest)]
#[serde(rename_all = "camelCase")]
pub(super) struct RoomBody {
    pub room_id: Option<String>,
    pub room_name: Option<String>,
}

impl RoomBody {
    pub fn selector(&self) -> RoomSelector<'_> {
        RoomSelector { room_id: self.room_id.as_deref(), room_name: self.room_name.as_deref() }
    }
}

/// A body naming a room and a user: `{roomId|roomName, userId|username}`.
#[derive(Deserialize, ToSchema)]
#[schema(as = RoomUserRequest)]
#[serde(rename_all = "camelCase")]
pub(super) struct RoomUserBody {
    pub room_id: Option<String>,
    pub room_name: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
}

impl RoomUserBody {
    pub fn room(&self) -> RoomSelector<'_> {
        RoomSelector { room_id: self.room_id.as_deref(), room_name: self.room_name.as_deref() }
    }

    pub fn user(&self) -> UserSelector<'_> {
        UserSelector { user_id: self.user_id.as_deref(), username: self.username.as_deref() }
    }
}

/// A room member as `channels.members` lists them.
fn member_json(user: &User) -> Value {
    json!({
        "_id": user.id,
        "username": user.username,
        "name": user.name,
        "status": user.status,
        "_updatedAt": user.updated_at,
    })
}

/// `{online}`: each member as `{_id, username}` (`channels.online`,
/// `groups.online`).
pub(super) fn online_body(online: &[User]) -> Value {
    let online: Vec<Value> = online.iter().map(|u| json!({"_id": u.id, "username": u.username})).collect();
    json!({ "online": online })
}

/// `{members, count, offset, total}`.
pub(super) fn members_body(listing: &Listing<User>, paging: Paging) -> Value {
    json!({
        "members": listing.items.iter().map(member_json).collect::<Vec<_>>(),
        "count": listing.items.len(),
        "offset": paging.offset,
        "total": listing.total,
    })
}

/// `{<key>: [rooms], count, offset, total}` (`channels` or `groups`).
pub(super) fn rooms_body(key: &str, listing: &Listing<Room>, paging: Paging) -> Value {
    json!({
        key: listing.items,
        "count": listing.items.len(),
        "offset": paging.offset,
        "total": listing.total,
    })
}
