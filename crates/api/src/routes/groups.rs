//! Private groups (`t: "p"`): create, info, invite, kick, leave, members,
//! delete, list. Every response names the room `group`. A group the caller
//! is not a member of (admins included, for reads) and a room of another
//! type are both "not found", as in Rocket.Chat, so existence never leaks.

use super::rooms::{members_body, paging, room_selector, rooms_body, CreateBody, RoomBody, RoomUserBody};
use crate::extract::{required_str, Body, CurrentUser, Params};
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use threadsync_domain::RoomType;

const T: RoomType = RoomType::Group;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/groups.create", post(create))
        .route("/api/v1/groups.info", get(info))
        .route("/api/v1/groups.invite", post(invite))
        .route("/api/v1/groups.kick", post(kick))
        .route("/api/v1/groups.leave", post(leave))
        .route("/api/v1/groups.members", get(members))
        .route("/api/v1/groups.delete", post(delete))
        .route("/api/v1/groups.list", get(list_joined))
        .route("/api/v1/groups.list.joined", get(list_joined))
}

/// `POST /api/v1/groups.create` (auth): `{name, members?, readOnly?}` →
/// `{group}`; the caller becomes its owner; name per Rocket.Chat's default
/// pattern; duplicate name (with any channel or group) →
/// `error-duplicate-channel-name`.
async fn create(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<CreateBody>,
) -> ApiResult {
    let name = required_str(&body.name, "name")?;
    let members = body.members.unwrap_or_default();
    let room = services.create_room(&caller.user, T, name, &members, body.read_only.unwrap_or(false)).await?;
    ok(json!({"group": room}))
}

/// `GET /api/v1/groups.info?roomId=|roomName=` (auth) → `{group}`; members
/// only (no admin exemption).
async fn info(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let room = services.room_info(&caller.user, T, room_selector(&params)).await?;
    ok(json!({"group": room}))
}

/// `POST /api/v1/groups.invite` (auth): `{roomId|roomName, userId|username}`
/// → `{group}`; the caller must be a member or an admin.
async fn invite(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomUserBody>,
) -> ApiResult {
    let room = services.invite_to_room(&caller.user, T, body.room(), body.user()).await?;
    ok(json!({"group": room}))
}

/// `POST /api/v1/groups.kick` (auth): `{roomId|roomName, userId|username}` →
/// `{group}`; the caller must be a group owner or an admin; the last owner
/// cannot be removed.
async fn kick(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomUserBody>,
) -> ApiResult {
    let room = services.kick_from_room(&caller.user, T, body.room(), body.user()).await?;
    ok(json!({"group": room}))
}

/// `POST /api/v1/groups.leave` (auth): `{roomId|roomName}` → `{group}`;
/// members only; the last owner cannot leave.
async fn leave(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomBody>,
) -> ApiResult {
    let room = services.leave_room(&caller.user, T, body.selector()).await?;
    ok(json!({"group": room}))
}

/// `GET /api/v1/groups.members?roomId=|roomName=&count=&offset=` (auth) →
/// `{members, count, offset, total}`, ordered by username; members only.
async fn members(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let paging = paging(&services, &params)?;
    let listing = services.room_members(&caller.user, T, room_selector(&params), paging).await?;
    ok(members_body(&listing, paging))
}

/// `POST /api/v1/groups.delete` (auth): `{roomId|roomName}` → `{}`; group
/// owners and admins only.
async fn delete(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomBody>,
) -> ApiResult {
    services.delete_room(&caller.user, T, body.selector()).await?;
    ok(json!({}))
}

/// `GET /api/v1/groups.list` and `groups.list.joined` `?count=&offset=`
/// (auth) → `{groups, count, offset, total}`: the caller's groups by name.
async fn list_joined(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let paging = paging(&services, &params)?;
    let listing = services.joined_rooms(&caller.user, T, paging).await?;
    ok(rooms_body("groups", &listing, paging))
}
