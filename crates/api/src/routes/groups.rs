//! Private groups (`t: "p"`): create, info, invite, kick, leave, members,
//! delete, list. Every response names the room `group`. A group the caller
//! is not a member of (admins included, for reads) and a room of another
//! type are both "not found", as in Rocket.Chat, so existence never leaks.

use super::rooms::{
    members_body, online_body, paging, room_selector, rooms_body, CreateBody, RoomBody, RoomUserBody,
};
use crate::extract::{required_str, Body, CurrentUser, Params};
use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use serde_json::json;
use threadsync_domain::RoomType;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const T: RoomType = RoomType::Group;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(info))
        .routes(routes!(invite))
        .routes(routes!(kick))
        .routes(routes!(leave))
        .routes(routes!(members))
        .routes(routes!(online))
        .routes(routes!(delete))
        .routes(routes!(list))
        .routes(routes!(list_joined))
        .routes(routes!(add_all))
        .routes(routes!(integrations))
}

/// The members of a private group who are online.
///
/// `GET /api/v1/groups.online?_id=` (auth) → `{online: [{_id, username}]}`:
/// the group's members whose status is not `offline`, by username
/// (Rocket.Chat 7's form: `_id`). Missing `_id`: `Invalid query`; no such
/// private group: `Group does not exists`; a group the caller may not read
/// (not a member): `Not allowed`.
#[utoipa::path(
    get,
    path = "/api/v1/groups.online",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    params(doc::OnlineQuery),
    responses(
        (status = 200, description = "The members who are online, away or busy.", body = doc::OnlineAnswer),
        (status = 400, description = "`_id` missing (`Invalid query`); no such private group (`Group does not exists`); the caller may not read the group (`error-not-allowed`)."),
    ),
)]
async fn online(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let online = services.room_online(&caller.user, T, params.get("_id")).await?;
    ok(online_body(&online))
}

/// Creates a private group.
///
/// `POST /api/v1/groups.create` (auth): `{name, members?, readOnly?}` →
/// `{group}`; the caller becomes its owner; name per Rocket.Chat's default
/// pattern; duplicate name (with any channel or group) →
/// `error-duplicate-channel-name`.
#[utoipa::path(
    post,
    path = "/api/v1/groups.create",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    request_body = CreateBody,
    responses(
        (status = 200, description = "The new private group.", body = doc::GroupAnswer),
        (status = 400, description = "Missing or invalid `name`; a name already taken (`error-duplicate-channel-name`); an unknown member."),
    ),
)]
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

/// A private group, by id or name.
///
/// `GET /api/v1/groups.info?roomId=|roomName=` (auth) → `{group}`; members
/// only (no admin exemption).
#[utoipa::path(
    get,
    path = "/api/v1/groups.info",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    params(
        doc::RoomQuery,
    ),
    responses(
        (status = 200, description = "The private group.", body = doc::GroupAnswer),
        (status = 400, description = "Neither `roomId` nor `roomName` given; no such private group (or one the caller may not see)."),
    ),
)]
async fn info(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let room = services.room_info(&caller.user, T, room_selector(&params)).await?;
    ok(json!({"group": room}))
}

/// Adds a user to a private group.
///
/// `POST /api/v1/groups.invite` (auth): `{roomId|roomName, userId|username}`
/// → `{group}`; the caller must be a member or an admin.
#[utoipa::path(
    post,
    path = "/api/v1/groups.invite",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    request_body = RoomUserBody,
    responses(
        (status = 200, description = "The private group.", body = doc::GroupAnswer),
        (status = 400, description = "Missing room or user; no such private group or user; the caller is not a member."),
    ),
)]
async fn invite(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomUserBody>,
) -> ApiResult {
    let room = services.invite_to_room(&caller.user, T, body.room(), body.user()).await?;
    ok(json!({"group": room}))
}

/// Removes a user from a private group.
///
/// `POST /api/v1/groups.kick` (auth): `{roomId|roomName, userId|username}` →
/// `{group}`; the caller must be a group owner or an admin; the last owner
/// cannot be removed.
#[utoipa::path(
    post,
    path = "/api/v1/groups.kick",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    request_body = RoomUserBody,
    responses(
        (status = 200, description = "The private group.", body = doc::GroupAnswer),
        (status = 400, description = "Missing room or user; the caller lacks `remove-user` in the room; the user is not a member; the last owner."),
    ),
)]
async fn kick(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomUserBody>,
) -> ApiResult {
    let room = services.kick_from_room(&caller.user, T, body.room(), body.user()).await?;
    ok(json!({"group": room}))
}

/// Leaves a private group.
///
/// `POST /api/v1/groups.leave` (auth): `{roomId|roomName}` → `{group}`;
/// members only; the last owner cannot leave.
#[utoipa::path(
    post,
    path = "/api/v1/groups.leave",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    request_body = RoomBody,
    responses(
        (status = 200, description = "The private group.", body = doc::GroupAnswer),
        (status = 400, description = "Missing room; the caller is not a member; the last owner."),
    ),
)]
async fn leave(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomBody>,
) -> ApiResult {
    let room = services.leave_room(&caller.user, T, body.selector()).await?;
    ok(json!({"group": room}))
}

/// A page of a private group's members.
///
/// `GET /api/v1/groups.members?roomId=|roomName=&count=&offset=` (auth) →
/// `{members, count, offset, total}`, ordered by username; members only.
#[utoipa::path(
    get,
    path = "/api/v1/groups.members",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    params(
        doc::RoomQuery,
        doc::PageQuery,
    ),
    responses(
        (status = 200, description = "The members, by username.", body = doc::MembersPage),
        (status = 400, description = "Neither `roomId` nor `roomName` given; no such private group; bad `count` / `offset`."),
    ),
)]
async fn members(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let paging = paging(&services, &params)?;
    let listing = services.room_members(&caller.user, T, room_selector(&params), paging).await?;
    ok(members_body(&listing, paging))
}

/// Deletes a private group.
///
/// `POST /api/v1/groups.delete` (auth): `{roomId|roomName}` → `{}`; group
/// owners and admins only.
#[utoipa::path(
    post,
    path = "/api/v1/groups.delete",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    request_body = RoomBody,
    responses(
        (status = 200, description = "The private group and its messages are deleted.", body = doc::Done),
        (status = 400, description = "Missing room; no such private group; the caller is neither an owner nor an admin."),
    ),
)]
async fn delete(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomBody>,
) -> ApiResult {
    services.delete_room(&caller.user, T, body.selector()).await?;
    ok(json!({}))
}

/// A page of the caller's private groups.
///
/// `GET /api/v1/groups.list` and `groups.list.joined` `?count=&offset=`
/// (auth) → `{groups, count, offset, total}`: the caller's groups by name.
#[utoipa::path(
    get,
    path = "/api/v1/groups.list.joined",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    params(
        doc::PageQuery,
    ),
    responses(
        (status = 200, description = "The groups, by name.", body = doc::GroupsPage),
        (status = 400, description = "Bad `count` / `offset`."),
    ),
)]
async fn list_joined(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let paging = paging(&services, &params)?;
    let listing = services.joined_rooms(&caller.user, T, paging).await?;
    ok(rooms_body("groups", &listing, paging))
}

/// A page of the caller's private groups (the same as `groups.list.joined`).
///
/// `GET /api/v1/groups.list?count=&offset=` (auth) → `{groups, count,
/// offset, total}`: as `groups.list.joined`, since a user only ever sees the
/// groups they are in.
#[utoipa::path(
    get,
    path = "/api/v1/groups.list",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    params(
        doc::PageQuery,
    ),
    responses(
        (status = 200, description = "The groups, by name.", body = doc::GroupsPage),
        (status = 400, description = "Bad `count` / `offset`."),
    ),
)]
async fn list(state: State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    list_joined(state, caller, params).await
}

/// Adds every user to a private group.
///
/// `POST /api/v1/groups.addAll` (auth) `{roomId|roomName, activeUsersOnly?}` →
/// `{group}`; needs `add-all-to-room` (admins) and at most 500 users on the server.
#[utoipa::path(
    post,
    path = "/api/v1/groups.addAll",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    request_body = super::rooms::AddAllBody,
    responses(
        (status = 200, description = "The private group with its new members.", body = doc::GroupAnswer),
        (status = 400, description = "No room named, or no such private group; the caller lacks `add-all-to-room` (`error-not-allowed`); more than 500 users (`error-user-limit-exceeded`)."),
    ),
)]
async fn add_all(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<super::rooms::AddAllBody>,
) -> ApiResult {
    let active_only = body.active_users_only.unwrap_or(false);
    let room = services.add_all_to_room(&caller.user, T, body.room(), active_only).await?;
    ok(json!({"group": room}))
}

/// The integrations (webhooks) of a private group: always none, as threadsync runs no integrations.
///
/// `GET /api/v1/groups.getIntegrations?roomId=|roomName=&count=&offset=` (auth;
/// a manager of incoming or outgoing integrations) → `{integrations: [], count, offset, total}`.
#[utoipa::path(
    get,
    path = "/api/v1/groups.getIntegrations",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    params(doc::RoomQuery, doc::PageQuery),
    responses(
        (status = 200, description = "No integrations.", body = doc::IntegrationsPage),
        (status = 400, description = "No room named, or no such private group the caller may read; bad `count`/`offset`."),
        (status = 403, description = "The caller manages no integrations."),
    ),
)]
async fn integrations(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    services.room_integrations(&caller.user, T, room_selector(&params)).await?;
    let page = paging(&services, &params)?;
    ok(json!({"integrations": [], "count": 0, "offset": page.offset, "total": 0}))
}
