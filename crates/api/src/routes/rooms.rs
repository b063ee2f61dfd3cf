//! Rooms of any type: `rooms.info`; and the request bodies and response
//! shapes the `channels.*` and `groups.*` families share.

use crate::extract::{CurrentUser, Params};
use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use threadsync_domain::{Room, User};
use threadsync_service::{Listing, Paging, RoomSelector, UserSelector};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(info)).routes(routes!(get))
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
    params(
        ("updatedSince" = Option<String>, Query, description = "ISO date: only changes after it."),
    ),
    responses(
        (status = 200, description = "Rooms changed and rooms deleted.", body = doc::RoomsDelta),
        (status = 400, description = "`updatedSince` is not a date (`error-updatedSince-param-invalid`); older than the tombstone horizon (`error-resync-required`)."),
    ),
)]
async fn get(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let roster = services.rooms_get(&caller.user, params.get("updatedSince")).await?;
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
    params(
        doc::RoomQuery,
    ),
    responses(
        (status = 200, description = "The room.", body = doc::RoomAnswer),
        (status = 400, description = "Neither `roomId` nor `roomName` given; no such room or one the caller may not read (`Not allowed`)."),
    ),
)]
async fn info(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let room = services.any_room_info(&caller.user, room_selector(&params)).await?;
    ok(json!({"room": room}))
}

/// The room a GET request names with `roomId` / `roomName`.
pub(super) fn room_selector(params: &Params) -> RoomSelector<'_> {
    RoomSelector { room_id: params.get("roomId"), room_name: params.get("roomName") }
}

/// The `count` / `offset` of a GET request, per the settings.
pub(super) fn paging(services: &AppState, params: &Params) -> Result<Paging, crate::error::ApiError> {
    Ok(Paging::from_params(params.get("count"), params.get("offset"), &services.settings())?)
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
