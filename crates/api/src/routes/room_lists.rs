//! Listings of rooms beyond the caller's own: `channels.list`,
//! `groups.listAll`, `rooms.adminRooms`, `im.list.everyone`; and the
//! direct-message lists `im.list` and `im.members`, each also under its
//! `dm.` name (docs/rest.md#room-listings).

use super::rooms::{members_body, rooms_body};
use crate::extract::{CurrentUser, Query};
use crate::openapi::schemas as doc;
use crate::requests::{repeated, NoQuery, PageQuery, RoomQuery};
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::{RawQuery, State};
use serde::Deserialize;
use utoipa::IntoParams;

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(channels_list))
        .merge(routes!(groups_list_all))
        .merge(routes!(admin_rooms))
        .merge(routes!(im_list))
        .merge(routes!(dm_list))
        .merge(routes!(im_list_everyone))
        .merge(routes!(dm_list_everyone))
        .merge(routes!(im_members))
        .merge(routes!(dm_members))
}

/// Generates the `im.` handler of a direct-message listing and its `dm.`
/// twin: same parameters (the `$query` struct and paging), same answer, two
/// documented paths.
macro_rules! direct_listing {
    ($im:ident, $dm:ident, $im_path:literal, $dm_path:literal, $doc:literal, $run:path, $query:ty, $responses:tt) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $im_path, tag = "im", security(("userId" = [], "authToken" = [])), params($query, PageQuery), responses $responses)]
        async fn $im(
            state: State<AppState>,
            caller: CurrentUser,
            Query(request): Query<$query>,
            Query(page): Query<PageQuery>,
        ) -> ApiResult {
            $run(state, caller, request, page).await
        }

        #[doc = $doc]
        #[utoipa::path(get, path = $dm_path, tag = "im", security(("userId" = [], "authToken" = [])), params($query, PageQuery), responses $responses)]
        async fn $dm(
            state: State<AppState>,
            caller: CurrentUser,
            Query(request): Query<$query>,
            Query(page): Query<PageQuery>,
        ) -> ApiResult {
            $run(state, caller, request, page).await
        }
    };
}

/// `im.members`' room: by id or name, or the caller's DM with `username`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct DirectMembersQuery {
    /// The direct message.
    #[param(rename = "roomId")]
    room_id: Option<String>,
    /// The direct message, by name.
    #[param(rename = "roomName")]
    room_name: Option<String>,
    /// The other member: the caller's DM with them.
    username: Option<String>,
}

direct_listing!(
    im_list,
    dm_list,
    "/api/v1/im.list",
    "/api/v1/dm.list",
    "The caller's direct messages.\n\n`GET /api/v1/im.list?count=&offset=` (auth) → `{ims, count, offset, total}`.",
    own_directs,
    NoQuery,
    ((status = 200, description = "The caller's direct messages.", body = doc::ImsPage),
     (status = 400, description = "Bad `count` / `offset`."))
);

direct_listing!(
    im_list_everyone,
    dm_list_everyone,
    "/api/v1/im.list.everyone",
    "/api/v1/dm.list.everyone",
    "Every direct message, for room administrators.\n\n`GET /api/v1/im.list.everyone?count=&offset=` (auth) → `{ims, count, offset, total}`; needs `view-room-administration` (403 otherwise).",
    all_directs,
    NoQuery,
    ((status = 200, description = "Every direct message.", body = doc::ImsPage),
     (status = 400, description = "Bad `count` / `offset`."),
     (status = 403, description = "No `view-room-administration` (`error-unauthorized`)."))
);

direct_listing!(
    im_members,
    dm_members,
    "/api/v1/im.members",
    "/api/v1/dm.members",
    "The members of a direct message.\n\n`GET /api/v1/im.members?roomId=|username=&count=&offset=` (auth) → `{members, count, offset, total}`, by username; `username` names the caller's DM with that user; members only (403).",
    direct_members,
    DirectMembersQuery,
    ((status = 200, description = "The members, by username.", body = doc::MembersPage),
     (status = 400, description = "Neither `roomId` nor `username` (`error-room-param-not-provided`); no such DM (`error-room-not-found`); bad `count` / `offset`."),
     (status = 403, description = "The caller is not a member (`error-unauthorized`)."))
);

async fn own_directs(
    State(services): State<AppState>,
    caller: CurrentUser,
    _: NoQuery,
    page: PageQuery,
) -> ApiResult {
    let paging = page.paging(&services)?;
    let listing = services.list_own_directs(&caller.user, paging).await?;
    ok(rooms_body("ims", &listing, paging))
}

async fn all_directs(
    State(services): State<AppState>,
    caller: CurrentUser,
    _: NoQuery,
    page: PageQuery,
) -> ApiResult {
    let paging = page.paging(&services)?;
    let listing = services.list_all_directs(&caller.user, paging).await?;
    ok(rooms_body("ims", &listing, paging))
}

async fn direct_members(
    State(services): State<AppState>,
    caller: CurrentUser,
    request: DirectMembersQuery,
    page: PageQuery,
) -> ApiResult {
    let paging = page.paging(&services)?;
    let room = RoomQuery { room_id: request.room_id, room_name: request.room_name };
    let listing =
        services.direct_members(&caller.user, room.selector(), request.username.as_deref(), paging).await?;
    ok(members_body(&listing, paging))
}

/// Every public channel, by name.
///
/// `GET /api/v1/channels.list?count=&offset=` (auth) → `{channels, count,
/// offset, total}`: all public channels for holders of `view-c-room` (every
/// user by default); for holders of `view-joined-room` alone, the channels
/// they are in; 403 for neither.
#[utoipa::path(
    get,
    path = "/api/v1/channels.list",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "The channels, by name.", body = doc::ChannelsPage),
        (status = 400, description = "Bad `count` / `offset`."),
        (status = 403, description = "Neither `view-c-room` nor `view-joined-room` (`error-unauthorized`)."),
    ),
)]
async fn channels_list(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let paging = page.paging(&services)?;
    let listing = services.list_channels(&caller.user, paging).await?;
    ok(rooms_body("channels", &listing, paging))
}

/// Every private group, by name, for room administrators.
///
/// `GET /api/v1/groups.listAll?count=&offset=` (auth) → `{groups, count,
/// offset, total}`; needs `view-room-administration` (403 otherwise).
#[utoipa::path(
    get,
    path = "/api/v1/groups.listAll",
    tag = "groups",
    security(("userId" = [], "authToken" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "The groups, by name.", body = doc::GroupsPage),
        (status = 400, description = "Bad `count` / `offset`."),
        (status = 403, description = "No `view-room-administration` (`error-unauthorized`)."),
    ),
)]
async fn groups_list_all(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let paging = page.paging(&services)?;
    let listing = services.list_all_groups(&caller.user, paging).await?;
    ok(rooms_body("groups", &listing, paging))
}

/// Rooms of any type by name, for room administrators.
///
/// `GET /api/v1/rooms.adminRooms?filter=&types[]=c&types[]=p&count=&offset=`
/// (auth) → `{rooms, count, offset, total}`: rooms of the given types (`c`,
/// `p`, `d`; `l`, `discussions` and `teams` select nothing here; none given:
/// all) whose name contains `filter` (case-insensitive, plain text). Needs
/// `view-room-administration` (403 otherwise).
#[utoipa::path(
    get,
    path = "/api/v1/rooms.adminRooms",
    tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(AdminRoomsQuery, AdminRoomTypes, PageQuery),
    responses(
        (status = 200, description = "The rooms, by name.", body = doc::RoomsPage),
        (status = 400, description = "Bad `count` / `offset`; an unknown type; a filter over 256 characters (`error-invalid-params`)."),
        (status = 403, description = "No `view-room-administration` (`error-unauthorized`)."),
    ),
)]
async fn admin_rooms(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<AdminRoomsQuery>,
    Query(page): Query<PageQuery>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let paging = page.paging(&services)?;
    let types = repeated(raw.as_deref(), &["types[]", "types"]);
    let types: Vec<&str> = types.iter().map(String::as_str).collect();
    let listing = services.admin_rooms(&caller.user, request.filter.as_deref(), &types, paging).await?;
    ok(rooms_body("rooms", &listing, paging))
}

/// `rooms.adminRooms`' own parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AdminRoomsQuery {
    /// Text the room's name contains.
    filter: Option<String>,
}

/// `rooms.adminRooms`' repeated `types[]`: documented here, read from the
/// raw query string by the handler.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct AdminRoomTypes {
    /// Room types, repeated (`types[]=c&types[]=p`; `types=c` also works).
    #[param(rename = "types[]")]
    types: Option<Vec<String>>,
}
