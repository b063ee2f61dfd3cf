//! What only private groups (`t: "p"`) have: `groups.list`. The routes
//! groups share with channels are generated in room_family.rs. A group the
//! caller is not a member of (admins included, for reads) and a room of
//! another type are both "not found", as in Rocket.Chat, so existence never
//! leaks.

use crate::extract::{CurrentUser, Query};
use crate::openapi::schemas as doc;
use crate::requests::PageQuery;
use crate::response::ApiResult;
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;

pub fn routes() -> Routes {
    Routes::new().merge(routes!(list))
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
    params(PageQuery),
    responses(
        (status = 200, description = "The groups, by name.", body = doc::GroupsPage),
        (status = 400, description = "Bad `count` / `offset`."),
    ),
)]
async fn list(state: State<AppState>, caller: CurrentUser, page: Query<PageQuery>) -> ApiResult {
    super::room_family::groups::list_joined(state, caller, page).await
}
