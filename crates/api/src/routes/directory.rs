//! Finding users and rooms: `spotlight` and `directory`
//! (docs/rest.md#finding-users-and-rooms).

use crate::extract::{CurrentUser, Query};
use crate::openapi::schemas as doc;
use crate::requests::PageQuery;
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde_json::{json, Value};
use threadsync_domain::{Room, User};
use threadsync_service::{DirectoryPage, DirectoryQuery};

pub fn routes() -> Routes {
    Routes::new().merge(routes!(spotlight)).merge(routes!(directory))
}

/// A user as the search answers name them: who, not their account.
fn found_user(user: &User) -> Value {
    let mut v = json!({"_id": user.id, "username": user.username, "name": user.name, "status": user.status});
    if !user.status_text.is_empty() {
        v["statusText"] = json!(user.status_text);
    }
    v
}

/// A room as `spotlight` names it.
fn found_room(room: &Room) -> Value {
    let mut v = json!({"_id": room.id, "t": room.t, "name": room.name, "fname": room.fname});
    if room.join_code_required {
        v["joinCodeRequired"] = json!(true);
    }
    v
}

/// Users and rooms whose name contains a text.
///
/// `GET /api/v1/spotlight?query=` (auth) → `{users: [{_id, username, name,
/// status}], rooms: [{_id, t, name, fname}]}`: up to five active users
/// (username or name) and five rooms the caller may see (public channels,
/// private groups the caller is in); `@text` searches users only, `#text`
/// rooms only; plain text, any case.
#[utoipa::path(
    get,
    path = "/api/v1/spotlight",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    params(SpotlightQuery),
    responses(
        (status = 200, description = "The users and rooms found.", body = doc::SpotlightAnswer),
    ),
)]
async fn spotlight(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<SpotlightQuery>,
) -> ApiResult {
    let (users, rooms) = services.spotlight(&caller.user, request.query.as_deref().unwrap_or("")).await?;
    let users: Vec<Value> = users.iter().map(found_user).collect();
    let rooms: Vec<Value> = rooms.iter().map(found_room).collect();
    ok(json!({"users": users, "rooms": rooms}))
}

/// A page of the server's users or public channels.
///
/// `GET /api/v1/directory?text=&type=users|channels&count=&offset=` (auth;
/// or the older `query={"text": …, "type": …}`) → `{result, count,
/// offset, total}`: users by username (`{_id, username, name, status,
/// createdAt}`) or public channels by name (the room), whose name contains
/// the text (all without one). Another `type`: `Invalid type
/// [error-invalid-type]`; a `query` that is not a JSON object: `Invalid
/// query [error-invalid-query]`.
#[utoipa::path(
    get,
    path = "/api/v1/directory",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    params(DirectoryRequest, PageQuery),
    responses(
        (status = 200, description = "A page of users or channels.", body = doc::DirectoryAnswer),
        (status = 400, description = "An unknown `type` (`error-invalid-type`); `query` not a JSON object (`error-invalid-query`); bad `count` / `offset`."),
    ),
)]
async fn directory(
    State(services): State<AppState>,
    _caller: CurrentUser,
    Query(request): Query<DirectoryRequest>,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let query =
        DirectoryQuery::parse(request.text.as_deref(), request.kind.as_deref(), request.query.as_deref())?;
    let paging = page.paging(&services)?;
    let (result, total): (Vec<Value>, u64) = match services.directory(&query, paging).await? {
        DirectoryPage::Users(page) => {
            let users = page.items.iter().map(|u| {
                let mut v = found_user(u);
                v["createdAt"] = json!(u.created_at);
                v
            });
            (users.collect(), page.total)
        }
        DirectoryPage::Channels(page) => (page.items.iter().map(|r| json!(r)).collect(), page.total),
    };
    let count = result.len();
    ok(json!({"result": result, "count": count, "offset": paging.offset, "total": total}))
}

/// `spotlight`'s parameter.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SpotlightQuery {
    /// The text; `@` before it: users only, `#`: rooms only.
    #[param(required = true, value_type = String)]
    query: Option<String>,
}

/// `directory`'s own parameters.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DirectoryRequest {
    /// Only names containing it (plain text, any case).
    text: Option<String>,
    /// `users` or `channels` (the default).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    kind: Option<String>,
    /// The older form: `{"text": …, "type": …}`.
    query: Option<String>,
}
