//! `channels.` / `groups.` `roles`, `moderators`, `counters`, and
//! `im.counters` / `dm.counters` (docs/rest.md#room-roles-and-counters).
//! One generic handler per kind, bound per route by [`overview_route!`].

use crate::extract::{CurrentUser, Query};
use crate::openapi::schemas as doc;
use crate::requests::{NoQuery, RoomQuery};
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use threadsync_domain::RoomType;
use utoipa::IntoParams;

async fn roles(
    services: &AppState,
    caller: &CurrentUser,
    t: RoomType,
    room: RoomQuery,
    _: NoQuery,
) -> ApiResult {
    let holders = services.room_role_holders(&caller.user, t, room.selector()).await?;
    let roles: Vec<_> =
        holders.iter().map(|s| json!({"_id": s.id, "rid": s.rid, "u": s.u, "roles": s.roles})).collect();
    ok(json!({ "roles": roles }))
}

async fn moderators(
    services: &AppState,
    caller: &CurrentUser,
    t: RoomType,
    room: RoomQuery,
    _: NoQuery,
) -> ApiResult {
    let moderators = services.room_moderators(&caller.user, t, room.selector()).await?;
    ok(json!({ "moderators": moderators }))
}

/// `*.counters`' own parameter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct CountersQuery {
    /// Another user's counters (needs `view-room-administration`).
    #[param(rename = "userId")]
    user_id: Option<String>,
}

async fn counters(
    services: &AppState,
    caller: &CurrentUser,
    t: RoomType,
    room: RoomQuery,
    request: CountersQuery,
) -> ApiResult {
    let c = services.room_counters(&caller.user, t, room.selector(), request.user_id.as_deref()).await?;
    ok(json!({
        "joined": c.joined,
        "members": c.members,
        "unreads": c.unreads,
        "unreadsFrom": c.unreads_from,
        "msgs": c.msgs,
        "latest": c.latest,
        "userMentions": c.user_mentions,
    }))
}

/// A GET route bound to one family: `overview_route!(fn, "path", "tag", T, kind, OwnQuery, Answer, "doc")`.
macro_rules! overview_route {
    ($name:ident, $path:literal, $tag:literal, $t:expr, $run:ident, $query:ty, $answer:ty, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            get,
            path = $path,
            tag = $tag,
            security(("userId" = [], "authToken" = [])),
            params(RoomQuery, $query),
            responses(
                (status = 200, description = "The answer.", body = $answer),
                (status = 400, description = "Missing or unknown room (the family's errors)."),
                (status = 403, description = "`counters` of another user without `view-room-administration`; a DM the caller is not in."),
            ),
        )]
        async fn $name(
            State(services): State<AppState>,
            caller: CurrentUser,
            Query(room): Query<RoomQuery>,
            Query(request): Query<$query>,
        ) -> ApiResult {
            $run(&services, &caller, $t, room, request).await
        }
    };
}

overview_route!(
    channels_roles,
    "/api/v1/channels.roles",
    "channels",
    RoomType::Channel,
    roles,
    NoQuery,
    doc::RoomRolesAnswer,
    "The members of a channel holding a room role (owner, moderator, leader), by username."
);
overview_route!(
    groups_roles,
    "/api/v1/groups.roles",
    "groups",
    RoomType::Group,
    roles,
    NoQuery,
    doc::RoomRolesAnswer,
    "The members of a private group holding a room role, by username."
);
overview_route!(
    channels_moderators,
    "/api/v1/channels.moderators",
    "channels",
    RoomType::Channel,
    moderators,
    NoQuery,
    doc::ModeratorsAnswer,
    "The moderators of a channel."
);
overview_route!(
    groups_moderators,
    "/api/v1/groups.moderators",
    "groups",
    RoomType::Group,
    moderators,
    NoQuery,
    doc::ModeratorsAnswer,
    "The moderators of a private group."
);
overview_route!(
    channels_counters,
    "/api/v1/channels.counters",
    "channels",
    RoomType::Channel,
    counters,
    CountersQuery,
    doc::RoomCountersAnswer,
    "A channel's counters for the caller (or, for room administrators, another user)."
);
overview_route!(
    groups_counters,
    "/api/v1/groups.counters",
    "groups",
    RoomType::Group,
    counters,
    CountersQuery,
    doc::RoomCountersAnswer,
    "A private group's counters for the caller."
);
overview_route!(
    im_counters,
    "/api/v1/im.counters",
    "im",
    RoomType::Direct,
    counters,
    CountersQuery,
    doc::RoomCountersAnswer,
    "A direct message's counters for the caller."
);
overview_route!(
    dm_counters,
    "/api/v1/dm.counters",
    "im",
    RoomType::Direct,
    counters,
    CountersQuery,
    doc::RoomCountersAnswer,
    "A direct message's counters for the caller (`im.counters`)."
);

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(channels_roles))
        .merge(routes!(groups_roles))
        .merge(routes!(channels_moderators))
        .merge(routes!(groups_moderators))
        .merge(routes!(channels_counters))
        .merge(routes!(groups_counters))
        .merge(routes!(im_counters))
        .merge(routes!(dm_counters))
}
