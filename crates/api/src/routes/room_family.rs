//! The routes `channels` and `groups` share: create, info, invite, kick,
//! leave, members, online, delete, list.joined, addAll, getIntegrations.
//! The two families differ only in their room type, the key their answers
//! name the room by (`channel` / `group`) and their paths, so each handler
//! is written once here and generated per family by [`room_family!`] (as
//! room_settings.rs and room_roles.rs do for theirs). Each family's rules
//! (who may read, who may kick) are the service's, chosen by the room type.
//! What only one family has stays in channels.rs (`join`) and groups.rs
//! (`list`).

use super::rooms::{members_body, online_body, rooms_body};
use super::rooms::{AddAllBody, CreateBody, RoomBody, RoomUserBody};
use crate::extract::{required_str, Body, CurrentUser, Query};
use crate::requests::{PageQuery, RoomQuery};
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use serde_json::json;

/// `<family>.online`'s parameter.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OnlineQuery {
    /// The room's id (a public channel's for `channels.online`, a private group's for `groups.online`).
    #[serde(rename = "_id")]
    #[param(rename = "_id", required = true, value_type = String)]
    id: Option<String>,
}

/// One family's shared routes, in a module of their own.
macro_rules! room_family {
    (
        $module:ident, $t:expr, $tag:literal, $key:literal, $list_key:literal, $noun:literal,
        $answer:ty, $page:ty,
        $p_create:literal, $p_info:literal, $p_invite:literal, $p_kick:literal, $p_leave:literal,
        $p_members:literal, $p_online:literal, $p_delete:literal, $p_list_joined:literal,
        $p_add_all:literal, $p_integrations:literal $(,)?
    ) => {
        #[doc = concat!("The shared routes of the ", $tag, " family: the room is a ", $noun, ".")]
        pub mod $module {
            use super::*;
            use crate::openapi::schemas as doc;
            use threadsync_domain::RoomType;
            use crate::routing::Routes;
            use crate::routing::routes;

            const T: RoomType = $t;

            pub fn routes() -> Routes {
                Routes::new()
                    .merge(routes!(create))
                    .merge(routes!(info))
                    .merge(routes!(invite))
                    .merge(routes!(kick))
                    .merge(routes!(leave))
                    .merge(routes!(members))
                    .merge(routes!(online))
                    .merge(routes!(delete))
                    .merge(routes!(list_joined))
                    .merge(routes!(add_all))
                    .merge(routes!(integrations))
            }

            /// Creates a room of the family.
            ///
            /// `POST /api/v1/<family>.create` (auth): `{name, members?, readOnly?}` → `{channel | group}`;
            /// the caller becomes its owner; `create-c` / `create-p`; the name
            /// per Rocket.Chat's default pattern, free among channels and
            /// groups (`error-duplicate-channel-name`).
            #[utoipa::path(
                post,
                path = $p_create,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                request_body = CreateBody,
                responses(
                    (status = 200, description = "The new room.", body = $answer),
                    (status = 400, description = "Missing or invalid `name`; a name already taken (`error-duplicate-channel-name`); an unknown member."),
                    (status = 403, description = "The caller lacks `create-c` / `create-p`."),
                ),
            )]
            async fn create(
                State(services): State<AppState>,
                caller: CurrentUser,
                Body(body): Body<CreateBody>,
            ) -> ApiResult {
                let name = required_str(&body.name, "name")?;
                let members = body.members.unwrap_or_default();
                let read_only = body.read_only.unwrap_or(false);
                let room = services.create_room(&caller.user, T, name, &members, read_only).await?;
                ok(json!({ $key: room }))
            }

            /// A room of the family, by id or name.
            ///
            /// `GET /api/v1/<family>.info?roomId=|roomName=` (auth) → `{channel | group}`;
            /// a channel is readable by every logged-in user, a group by its
            /// members only (no admin exemption); another type is not found.
            #[utoipa::path(
                get,
                path = $p_info,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                params(RoomQuery),
                responses(
                    (status = 200, description = "The room.", body = $answer),
                    (status = 400, description = "Neither `roomId` nor `roomName` given; no such room of this family (or one the caller may not see)."),
                ),
            )]
            async fn info(
                State(services): State<AppState>,
                caller: CurrentUser,
                Query(room): Query<RoomQuery>,
            ) -> ApiResult {
                let room = services.room_info(&caller.user, T, room.selector()).await?;
                ok(json!({ $key: room }))
            }

            /// Adds a user to a room of the family.
            ///
            /// `POST /api/v1/<family>.invite` (auth): `{roomId|roomName, userId|username}` → `{channel | group}`;
            /// a member holding `add-user-to-joined-room`, or anyone holding
            /// `add-user-to-any-c-room` / `add-user-to-any-p-room`.
            #[utoipa::path(
                post,
                path = $p_invite,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                request_body = RoomUserBody,
                responses(
                    (status = 200, description = "The room.", body = $answer),
                    (status = 400, description = "Missing room or user; no such room or user; the caller may not add (`error-not-allowed`)."),
                ),
            )]
            async fn invite(
                State(services): State<AppState>,
                caller: CurrentUser,
                Body(body): Body<RoomUserBody>,
            ) -> ApiResult {
                let room = services.invite_to_room(&caller.user, T, body.room(), body.user()).await?;
                ok(json!({ $key: room }))
            }

            /// Removes a user from a room of the family.
            ///
            /// `POST /api/v1/<family>.kick` (auth): `{roomId|roomName, userId|username}` → `{channel | group}`;
            /// the caller must hold `remove-user` in the room; the last owner
            /// cannot be removed.
            #[utoipa::path(
                post,
                path = $p_kick,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                request_body = RoomUserBody,
                responses(
                    (status = 200, description = "The room.", body = $answer),
                    (status = 400, description = "Missing room or user; the caller lacks `remove-user` in the room; the user is not a member; the last owner."),
                ),
            )]
            async fn kick(
                State(services): State<AppState>,
                caller: CurrentUser,
                Body(body): Body<RoomUserBody>,
            ) -> ApiResult {
                let room = services.kick_from_room(&caller.user, T, body.room(), body.user()).await?;
                ok(json!({ $key: room }))
            }

            /// Leaves a room of the family.
            ///
            /// `POST /api/v1/<family>.leave` (auth): `{roomId|roomName}` → `{channel | group}`;
            /// members only; the last owner cannot leave.
            #[utoipa::path(
                post,
                path = $p_leave,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                request_body = RoomBody,
                responses(
                    (status = 200, description = "The room.", body = $answer),
                    (status = 400, description = "Missing room; the caller is not a member; the last owner."),
                ),
            )]
            async fn leave(
                State(services): State<AppState>,
                caller: CurrentUser,
                Body(body): Body<RoomBody>,
            ) -> ApiResult {
                let room = services.leave_room(&caller.user, T, body.selector()).await?;
                ok(json!({ $key: room }))
            }

            /// A page of a room's members.
            ///
            /// `GET /api/v1/<family>.members?roomId=|roomName=&count=&offset=` (auth) →
            /// `{members, count, offset, total}`, by username; read as `info`.
            #[utoipa::path(
                get,
                path = $p_members,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                params(RoomQuery, PageQuery),
                responses(
                    (status = 200, description = "The members, by username.", body = doc::MembersPage),
                    (status = 400, description = "Neither `roomId` nor `roomName` given; no such room; bad `count` / `offset`."),
                ),
            )]
            async fn members(
                State(services): State<AppState>,
                caller: CurrentUser,
                Query(room): Query<RoomQuery>,
                Query(page): Query<PageQuery>,
            ) -> ApiResult {
                let paging = page.paging(&services)?;
                let listing = services.room_members(&caller.user, T, room.selector(), paging).await?;
                ok(members_body(&listing, paging))
            }

            /// The members of a room who are online.
            ///
            /// `GET /api/v1/<family>.online?_id=` (auth) → `{online: [{_id, username}]}`:
            /// the members whose status is not `offline`, by username
            /// (Rocket.Chat 7's form: `_id`; the older `query` form is not
            /// taken). Missing `_id`: `Invalid query`; no such room: `Channel
            /// does not exists` / `Group does not exists`; a room the caller
            /// may not read: `Not allowed`.
            #[utoipa::path(
                get,
                path = $p_online,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                params(OnlineQuery),
                responses(
                    (status = 200, description = "The members who are online, away or busy.", body = doc::OnlineAnswer),
                    (status = 400, description = "`_id` missing (`Invalid query`); no such room (`Channel does not exists`, `Group does not exists`); the caller may not read the room (`error-not-allowed`)."),
                ),
            )]
            async fn online(
                State(services): State<AppState>,
                caller: CurrentUser,
                Query(request): Query<OnlineQuery>,
            ) -> ApiResult {
                let online = services.room_online(
                    &caller.user,
                    T,
                    threadsync_domain::param::required_trimmed(
                        request.id.as_deref(),
                        threadsync_domain::Reject::InvalidQueryLegacy,
                    ),
                ).await?;
                ok(online_body(&online))
            }

            /// Deletes a room of the family.
            ///
            /// `POST /api/v1/<family>.delete` (auth): `{roomId|roomName}` → `{}`;
            /// `delete-c` / `delete-p` in the room (owners, admins).
            #[utoipa::path(
                post,
                path = $p_delete,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                request_body = RoomBody,
                responses(
                    (status = 200, description = "The room and its messages are deleted.", body = doc::Done),
                    (status = 400, description = "Missing room; no such room; the caller may not delete it."),
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

            /// A page of the caller's rooms of the family.
            ///
            /// `GET /api/v1/<family>.list.joined?count=&offset=` (auth) → `{channels | groups, count, offset, total}`,
            /// by name.
            #[utoipa::path(
                get,
                path = $p_list_joined,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                params(PageQuery),
                responses(
                    (status = 200, description = "The rooms, by name.", body = $page),
                    (status = 400, description = "Bad `count` / `offset`."),
                ),
            )]
            pub(in crate::routes) async fn list_joined(
                State(services): State<AppState>,
                caller: CurrentUser,
                Query(page): Query<PageQuery>,
            ) -> ApiResult {
                let paging = page.paging(&services)?;
                let listing = services.joined_rooms(&caller.user, T, paging).await?;
                ok(rooms_body($list_key, &listing, paging))
            }

            /// Adds every user to a room of the family.
            ///
            /// `POST /api/v1/<family>.addAll` (auth) `{roomId|roomName, activeUsersOnly?}` → `{channel | group}`;
            /// needs `add-all-to-room` (admins) and at most 500 users on the server.
            #[utoipa::path(
                post,
                path = $p_add_all,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                request_body = AddAllBody,
                responses(
                    (status = 200, description = "The room with its new members.", body = $answer),
                    (status = 400, description = "No room named, or no such room; the caller lacks `add-all-to-room` (`error-not-allowed`); more than 500 users (`error-user-limit-exceeded`)."),
                ),
            )]
            async fn add_all(
                State(services): State<AppState>,
                caller: CurrentUser,
                Body(body): Body<AddAllBody>,
            ) -> ApiResult {
                let active_only = body.active_users_only.unwrap_or(false);
                let room = services.add_all_to_room(&caller.user, T, body.room(), active_only).await?;
                ok(json!({ $key: room }))
            }

            /// The integrations (webhooks) of a room of the family.
            ///
            /// `GET /api/v1/<family>.getIntegrations?roomId=|roomName=&count=&offset=` (auth;
            /// a manager of incoming or outgoing integrations) →
            /// `{integrations: [], count, offset, total}`: always none, as
            /// threadsync runs no integrations (webhooks).
            #[utoipa::path(
                get,
                path = $p_integrations,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                params(RoomQuery, PageQuery),
                responses(
                    (status = 200, description = "No integrations.", body = doc::IntegrationsPage),
                    (status = 400, description = "No room named, or no such room the caller may read; bad `count`/`offset`."),
                    (status = 403, description = "The caller manages no integrations."),
                ),
            )]
            async fn integrations(
                State(services): State<AppState>,
                caller: CurrentUser,
                Query(room): Query<RoomQuery>,
                Query(page): Query<PageQuery>,
            ) -> ApiResult {
                services.room_integrations(&caller.user, T, room.selector()).await?;
                let page = page.paging(&services)?;
                ok(json!({"integrations": [], "count": 0, "offset": page.offset, "total": 0}))
            }
        }
    };
}

room_family!(
    channels,
    RoomType::Channel,
    "channels",
    "channel",
    "channels",
    "public channel",
    doc::ChannelAnswer,
    doc::ChannelsPage,
    "/api/v1/channels.create",
    "/api/v1/channels.info",
    "/api/v1/channels.invite",
    "/api/v1/channels.kick",
    "/api/v1/channels.leave",
    "/api/v1/channels.members",
    "/api/v1/channels.online",
    "/api/v1/channels.delete",
    "/api/v1/channels.list.joined",
    "/api/v1/channels.addAll",
    "/api/v1/channels.getIntegrations",
);
room_family!(
    groups,
    RoomType::Group,
    "groups",
    "group",
    "groups",
    "private group",
    doc::GroupAnswer,
    doc::GroupsPage,
    "/api/v1/groups.create",
    "/api/v1/groups.info",
    "/api/v1/groups.invite",
    "/api/v1/groups.kick",
    "/api/v1/groups.leave",
    "/api/v1/groups.members",
    "/api/v1/groups.online",
    "/api/v1/groups.delete",
    "/api/v1/groups.list.joined",
    "/api/v1/groups.addAll",
    "/api/v1/groups.getIntegrations",
);

pub fn routes() -> crate::routing::Routes {
    channels::routes().merge(groups::routes())
}
