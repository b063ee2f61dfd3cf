//! Public channels (`t: "c"`): create, info, join, invite, kick, leave,
//! members, delete, list.joined. Every response names the room `channel`.
//! A room of another type is "not found" here, as in Rocket.Chat.

use super::rooms::{members_body, paging, room_selector, rooms_body, CreateBody, RoomBody, RoomUserBody};
use crate::extract::{required_str, Body, CurrentUser, Params};
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use threadsync_domain::RoomType;

const T: RoomType = RoomType::Channel;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/channels.create", post(create))
        .route("/api/v1/channels.info", get(info))
        .route("/api/v1/channels.join", post(join))
        .route("/api/v1/channels.invite", post(invite))
        .route("/api/v1/channels.kick", post(kick))
        .route("/api/v1/channels.leave", post(leave))
        .route("/api/v1/channels.members", get(members))
        .route("/api/v1/channels.delete", post(delete))
        .route("/api/v1/channels.list.joined", get(list_joined))
}

/// `POST /api/v1/channels.create` (auth): `{name, members?, readOnly?}` →
/// `{channel}`; the caller becomes its owner; name per Rocket.Chat's default
/// pattern; duplicate name → `error-duplicate-channel-name`.
async fn create(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<CreateBody>,
) -> ApiResult {
    let name = required_str(&body.name, "name")?;
    let members = body.members.unwrap_or_default();
    let room = services.create_room(&caller.user, T, name, &members, body.read_only.unwrap_or(false)).await?;
    ok(json!({"channel": room}))
}

/// `GET /api/v1/channels.info?roomId=|roomName=` (auth) → `{channel}`;
/// readable by every logged-in user.
async fn info(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let room = services.room_info(&caller.user, T, room_selector(&params)).await?;
    ok(json!({"channel": room}))
}

/// `POST /api/v1/channels.join` (auth): `{roomId|roomName}` → `{channel}`;
/// public channels only (a private group → `Not allowed`); a no-op for members.
async fn join(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomBody>,
) -> ApiResult {
    let room = services.join_room(&caller.user, body.selector()).await?;
    ok(json!({"channel": room}))
}

/// `POST /api/v1/channels.invite` (auth): `{roomId|roomName, userId|username}`
/// → `{channel}`; the caller must be a member or an admin.
async fn invite(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomUserBody>,
) -> ApiResult {
    let room = services.invite_to_room(&caller.user, T, body.room(), body.user()).await?;
    ok(json!({"channel": room}))
}

/// `POST /api/v1/channels.kick` (auth): `{roomId|roomName, userId|username}`
/// → `{channel}`; the caller must be a room owner or an admin; the last
/// owner cannot be removed.
async fn kick(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomUserBody>,
) -> ApiResult {
    let room = services.kick_from_room(&caller.user, T, body.room(), body.user()).await?;
    ok(json!({"channel": room}))
}

/// `POST /api/v1/channels.leave` (auth): `{roomId|roomName}` → `{channel}`;
/// members only; the last owner cannot leave.
async fn leave(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomBody>,
) -> ApiResult {
    let room = services.leave_room(&caller.user, T, body.selector()).await?;
    ok(json!({"channel": room}))
}

/// `GET /api/v1/channels.members?roomId=|roomName=&count=&offset=` (auth) →
/// `{members, count, offset, total}`, ordered by username; readable by every
/// logged-in user.
async fn members(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let paging = paging(&services, &params)?;
    let listing = services.room_members(&caller.user, T, room_selector(&params), paging).await?;
    ok(members_body(&listing, paging))
}

/// `POST /api/v1/channels.delete` (auth): `{roomId|roomName}` → `{}`; room
/// owners and admins only.
async fn delete(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomBody>,
) -> ApiResult {
    services.delete_room(&caller.user, T, body.selector()).await?;
    ok(json!({}))
}

/// `GET /api/v1/channels.list.joined?count=&offset=` (auth) →
/// `{channels, count, offset, total}`: the caller's channels by name.
async fn list_joined(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let paging = paging(&services, &params)?;
    let listing = services.joined_rooms(&caller.user, T, paging).await?;
    ok(rooms_body("channels", &listing, paging))
}
