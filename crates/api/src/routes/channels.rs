//! Public channels (`t: "c"`): create, info, join, invite, kick, leave,
//! members, delete, list.joined. Every response names the room `channel`.
//! A room of another type is "not found" here, as in Rocket.Chat.

use super::rooms::{members_body, paging, room_selector, rooms_body, CreateBody, RoomBody, RoomUserBody};
use crate::extract::{required_str, Body, CurrentUser, Params};
use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use serde_json::json;
use threadsync_domain::RoomType;
use threadsync_service::RoomSelector;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const T: RoomType = RoomType::Channel;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(info))
        .routes(routes!(join))
        .routes(routes!(invite))
        .routes(routes!(kick))
        .routes(routes!(leave))
        .routes(routes!(members))
        .routes(routes!(online))
        .routes(routes!(delete))
        .routes(routes!(list_joined))
        .routes(routes!(add_all))
        .routes(routes!(integrations))
}

/// Creates a public channel.
///
/// `POST /api/v1/channels.create` (auth): `{name, members?, readOnly?}` →
/// `{channel}`; the caller becomes its owner; name per Rocket.Chat's default
/// pattern; duplicate name → `error-duplicate-channel-name`.
#[utoipa::path(
    post,
    path = "/api/v1/channels.create",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    request_body = CreateBody,
    responses(
        (status = 200, description = "The new public channel.", body = doc::ChannelAnswer),
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
    ok(json!({"channel": room}))
}

/// A public channel, by id or name.
///
/// `GET /api/v1/channels.info?roomId=|roomName=` (auth) → `{channel}`;
/// readable by every logged-in user.
#[utoipa::path(
    get,
    path = "/api/v1/channels.info",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    params(
        doc::RoomQuery,
    ),
    responses(
        (status = 200, description = "The public channel.", body = doc::ChannelAnswer),
        (status = 400, description = "Neither `roomId` nor `roomName` given; no such public channel (or one the caller may not see)."),
    ),
)]
async fn info(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let room = services.room_info(&caller.user, T, room_selector(&params)).await?;
    ok(json!({"channel": room}))
}

/// The body of `channels.join`: the channel, and its join code if it has one.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[schema(as = JoinRequest)]
#[serde(rename_all = "camelCase")]
pub(super) struct JoinBody {
    pub room_id: Option<String>,
    pub room_name: Option<String>,
    /// Needed when the channel has a join code (`joinCodeRequired`).
    pub join_code: Option<String>,
}

/// Joins a public channel.
///
/// `POST /api/v1/channels.join` (auth): `{roomId|roomName, joinCode?}` →
/// `{channel}`; public channels only (a private group → `Not allowed`); a
/// no-op for members. A channel with a join code needs it unless the
/// caller holds `join-without-join-code`: `error-code-required`,
/// `error-code-invalid`.
#[utoipa::path(
    post,
    path = "/api/v1/channels.join",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    request_body = JoinBody,
    responses(
        (status = 200, description = "The channel.", body = doc::ChannelAnswer),
        (status = 400, description = "Missing room; no such channel; a private room (`Not allowed`); the join code missing (`error-code-required`) or wrong (`error-code-invalid`)."),
    ),
)]
async fn join(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<JoinBody>,
) -> ApiResult {
    let selector = RoomSelector { room_id: body.room_id.as_deref(), room_name: body.room_name.as_deref() };
    let room = services.join_room(&caller.user, selector, body.join_code.as_deref()).await?;
    ok(json!({"channel": room}))
}

/// Adds a user to a public channel.
///
/// `POST /api/v1/channels.invite` (auth): `{roomId|roomName, userId|username}`
/// → `{channel}`; the caller must be a member or an admin.
#[utoipa::path(
    post,
    path = "/api/v1/channels.invite",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    request_body = RoomUserBody,
    responses(
        (status = 200, description = "The public channel.", body = doc::ChannelAnswer),
        (status = 400, description = "Missing room or user; no such public channel or user; the caller is not a member."),
    ),
)]
async fn invite(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomUserBody>,
) -> ApiResult {
    let room = services.invite_to_room(&caller.user, T, body.room(), body.user()).await?;
    ok(json!({"channel": room}))
}

/// Removes a user from a public channel.
///
/// `POST /api/v1/channels.kick` (auth): `{roomId|roomName, userId|username}`
/// → `{channel}`; the caller must hold `remove-user` in the room; the last
/// owner cannot be removed.
#[utoipa::path(
    post,
    path = "/api/v1/channels.kick",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    request_body = RoomUserBody,
    responses(
        (status = 200, description = "The public channel.", body = doc::ChannelAnswer),
        (status = 400, description = "Missing room or user; the caller lacks `remove-user` in the room; the user is not a member; the last owner."),
    ),
)]
async fn kick(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomUserBody>,
) -> ApiResult {
    let room = services.kick_from_room(&caller.user, T, body.room(), body.user()).await?;
    ok(json!({"channel": room}))
}

/// Leaves a public channel.
///
/// `POST /api/v1/channels.leave` (auth): `{roomId|roomName}` → `{channel}`;
/// members only; the last owner cannot leave.
#[utoipa::path(
    post,
    path = "/api/v1/channels.leave",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    request_body = RoomBody,
    responses(
        (status = 200, description = "The public channel.", body = doc::ChannelAnswer),
        (status = 400, description = "Missing room; the caller is not a member; the last owner."),
    ),
)]
async fn leave(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoomBody>,
) -> ApiResult {
    let room = services.leave_room(&caller.user, T, body.selector()).await?;
    ok(json!({"channel": room}))
}

/// A page of a public channel's members.
///
/// `GET /api/v1/channels.members?roomId=|roomName=&count=&offset=` (auth) →
/// `{members, count, offset, total}`, ordered by username; readable by every
/// logged-in user.
#[utoipa::path(
    get,
    path = "/api/v1/channels.members",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    params(
        doc::RoomQuery,
        doc::PageQuery,
    ),
    responses(
        (status = 200, description = "The members, by username.", body = doc::MembersPage),
        (status = 400, description = "Neither `roomId` nor `roomName` given; no such public channel; bad `count` / `offset`."),
    ),
)]
async fn members(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let paging = paging(&services, &params)?;
    let listing = services.room_members(&caller.user, T, room_selector(&params), paging).await?;
    ok(members_body(&listing, paging))
}

/// The members of a public channel who are online.
///
/// `GET /api/v1/channels.online?_id=` (auth) → `{online: [{_id, username}]}`:
/// the channel's members whose status is not `offline`, by username
/// (Rocket.Chat 7's form: `_id`; the older `query` form is not taken).
/// Missing `_id`: `Invalid query`; no such public channel: `Channel does not
/// exists`; a channel the caller may not read: `Not allowed`.
#[utoipa::path(
    get,
    path = "/api/v1/channels.online",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    params(doc::OnlineQuery),
    responses(
        (status = 200, description = "The members who are online, away or busy.", body = doc::OnlineAnswer),
        (status = 400, description = "`_id` missing (`Invalid query`); no such public channel (`Channel does not exists`); the caller may not read the channel (`error-not-allowed`)."),
    ),
)]
async fn online(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let online = services.room_online(&caller.user, T, params.get("_id")).await?;
    ok(super::rooms::online_body(&online))
}

/// Deletes a public channel.
///
/// `POST /api/v1/channels.delete` (auth): `{roomId|roomName}` → `{}`; room
/// owners and admins only.
#[utoipa::path(
    post,
    path = "/api/v1/channels.delete",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    request_body = RoomBody,
    responses(
        (status = 200, description = "The public channel and its messages are deleted.", body = doc::Done),
        (status = 400, description = "Missing room; no such public channel; the caller is neither an owner nor an admin."),
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

/// A page of the caller's channels.
///
/// `GET /api/v1/channels.list.joined?count=&offset=` (auth) →
/// `{channels, count, offset, total}`: the caller's channels by name.
#[utoipa::path(
    get,
    path = "/api/v1/channels.list.joined",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    params(
        doc::PageQuery,
    ),
    responses(
        (status = 200, description = "The channels, by name.", body = doc::ChannelsPage),
        (status = 400, description = "Bad `count` / `offset`."),
    ),
)]
async fn list_joined(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let paging = paging(&services, &params)?;
    let listing = services.joined_rooms(&caller.user, T, paging).await?;
    ok(rooms_body("channels", &listing, paging))
}

/// Adds every user to a public channel.
///
/// `POST /api/v1/channels.addAll` (auth) `{roomId|roomName, activeUsersOnly?}` →
/// `{channel}`; needs `add-all-to-room` (admins) and at most 500 users on the server.
#[utoipa::path(
    post,
    path = "/api/v1/channels.addAll",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    request_body = super::rooms::AddAllBody,
    responses(
        (status = 200, description = "The public channel with its new members.", body = doc::ChannelAnswer),
        (status = 400, description = "No room named, or no such public channel; the caller lacks `add-all-to-room` (`error-not-allowed`); more than 500 users (`error-user-limit-exceeded`)."),
    ),
)]
async fn add_all(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<super::rooms::AddAllBody>,
) -> ApiResult {
    let active_only = body.active_users_only.unwrap_or(false);
    let room = services.add_all_to_room(&caller.user, T, body.room(), active_only).await?;
    ok(json!({"channel": room}))
}

/// The integrations (webhooks) of a public channel: always none, as threadsync runs no integrations.
///
/// `GET /api/v1/channels.getIntegrations?roomId=|roomName=&count=&offset=` (auth;
/// a manager of incoming or outgoing integrations) → `{integrations: [], count, offset, total}`.
#[utoipa::path(
    get,
    path = "/api/v1/channels.getIntegrations",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    params(doc::RoomQuery, doc::PageQuery),
    responses(
        (status = 200, description = "No integrations.", body = doc::IntegrationsPage),
        (status = 400, description = "No room named, or no such public channel the caller may read; bad `count`/`offset`."),
        (status = 403, description = "The caller manages no integrations."),
    ),
)]
async fn integrations(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    services.room_integrations(&caller.user, T, room_selector(&params)).await?;
    let page = paging(&services, &params)?;
    ok(json!({"integrations": [], "count": 0, "offset": page.offset, "total": 0}))
}
