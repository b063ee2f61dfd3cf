//! Direct messages: `im.create` / `dm.create` (with one user or several),
//! `im.delete` / `dm.delete`, `im.setTopic` / `dm.setTopic`.

use crate::error::ApiError;
use crate::extract::{Body, CurrentUser};
use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use threadsync_domain::Error;
use threadsync_domain::Reject;
use threadsync_service::RoomSelector;
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(create))
        .merge(routes!(dm_create))
        .merge(routes!(delete))
        .merge(routes!(dm_delete))
        .merge(routes!(set_topic))
        .merge(routes!(dm_set_topic))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = DirectMessageRequest)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    /// The one other member: a 1:1 direct message (or one with oneself).
    /// One of `username` and `usernames` is required.
    #[schema(value_type = String, required = false)]
    username: Option<String>,
    /// Instead of `username`: the other members, a comma-separated string
    /// of usernames (`"bob,carol"`), for a direct message of several users.
    #[schema(value_type = String, required = false)]
    usernames: Option<String>,
    /// Create the direct message among the named users only, without the
    /// caller (at least two of them). Default `false`.
    #[schema(value_type = bool, required = false)]
    exclude_self: Option<bool>,
}

/// The usernames `im.create` names: `username`, or else `usernames` split at
/// commas (a list of nothing but blanks is a missing `usernames`). Blank
/// values count as absent; both given is refused, as Rocket.Chat's body
/// schema (one of the two) does.
fn named_users(body: &CreateBody) -> Result<Vec<String>, ApiError> {
    let given = |v: &Option<String>| v.as_deref().filter(|s| !s.trim().is_empty()).map(str::to_owned);
    let username = given(&body.username);
    let usernames = match (&username, body.usernames.as_deref()) {
        (Some(_), Some(list)) if list.trim().is_empty() => None,
        (_, list) => list.map(str::to_owned),
    };
    match (username, usernames) {
        (Some(_), Some(_)) => Err(ApiError(Error::from(Reject::UsernameAndUsernames))),
        (Some(username), None) => Ok(vec![username]),
        (None, Some(list)) => {
            let names: Vec<String> = list
                .split(',')
                .map(|n| n.trim().trim_start_matches('@'))
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
            if names.is_empty() {
                return Err(ApiError(Error::missing_param("usernames")));
            }
            Ok(names)
        }
        // The text names `username`, as it did before `usernames` was
        // accepted: the single-user form is the common one.
        (None, None) => Err(ApiError(Error::missing_param("username"))),
    }
}

/// Opens a direct message: with one user, or among several.
///
/// `POST /api/v1/im.create` and `dm.create` (auth): `{username}` or
/// `{usernames: "a,b,c", excludeSelf?}` → `{room}`: the DM among the caller
/// (unless `excludeSelf`) and those users, created if needed; the same set
/// of members always opens the same room (a DM with oneself is allowed).
/// At most `DirectMesssage_maxUsers` members (8), the caller included
/// (`error-direct-message-max-user-exceeded`); an unknown user →
/// `Invalid user [error-invalid-user]`; starting one needs `create-d`.
/// As in Rocket.Chat, the room carries `rid` next to `_id`.
#[utoipa::path(
    post,
    path = "/api/v1/im.create",
    tag = "im",
    security(("userId" = [], "authToken" = [])),
    request_body = CreateBody,
    responses(
        (status = 200, description = "The direct message room.", body = doc::DirectRoomAnswer),
        (status = 400, description = "Neither `username` nor `usernames`, or both (`error-invalid-params`); no such user, or `excludeSelf` with fewer than two others (`error-invalid-user`); more members than `DirectMesssage_maxUsers` (`error-direct-message-max-user-exceeded`); without `create-d` for a new DM (`error-not-allowed`)."),
    ),
)]
async fn create(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<CreateBody>,
) -> ApiResult {
    let names = named_users(&body)?;
    let exclude_self = body.exclude_self.unwrap_or(false);
    let room = services.open_direct_room(&caller.user, &names, exclude_self).await?;
    let mut room = json!(room);
    if let Some(map) = room.as_object_mut() {
        let id = map.get("_id").cloned().unwrap_or(Value::Null);
        map.insert("rid".into(), id);
    }
    ok(json!({"room": room}))
}

/// Opens a direct message (the same as `im.create`).
///
/// `POST /api/v1/dm.create` (auth): `{username}` or `{usernames,
/// excludeSelf?}` → `{room}`: Rocket.Chat's newer name of `im.create`.
#[utoipa::path(
    post,
    path = "/api/v1/dm.create",
    tag = "im",
    security(("userId" = [], "authToken" = [])),
    request_body = CreateBody,
    responses(
        (status = 200, description = "The direct message room.", body = doc::DirectRoomAnswer),
        (status = 400, description = "Neither `username` nor `usernames`, or both (`error-invalid-params`); no such user, or `excludeSelf` with fewer than two others (`error-invalid-user`); more members than `DirectMesssage_maxUsers` (`error-direct-message-max-user-exceeded`); without `create-d` for a new DM (`error-not-allowed`)."),
    ),
)]
async fn dm_create(state: State<AppState>, caller: CurrentUser, body: Body<CreateBody>) -> ApiResult {
    create(state, caller, body).await
}

#[derive(Deserialize, ToSchema)]
#[schema(as = DirectMessageDeleteRequest)]
#[serde(rename_all = "camelCase")]
struct DeleteBody {
    room_id: Option<String>,
    /// Without `roomId`: the caller's direct message with this user.
    username: Option<String>,
}

/// Deletes a direct message.
///
/// `POST /api/v1/im.delete` and `dm.delete` (auth): `{roomId | username}`
/// → `{}`: the DM, its messages and both memberships are removed. Needs
/// membership (or `view-room-administration`) and `delete-d` (admins).
#[utoipa::path(
    post,
    path = "/api/v1/im.delete",
    tag = "im",
    security(("userId" = [], "authToken" = [])),
    request_body = DeleteBody,
    responses(
        (status = 200, description = "The direct message is deleted.", body = doc::Done),
        (status = 400, description = "Neither `roomId` nor `username` (`error-room-param-not-provided`); no such DM (`error-room-not-found`); not a member, or without `delete-d` (`Not allowed [error-not-allowed]`)."),
    ),
)]
async fn delete(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<DeleteBody>,
) -> ApiResult {
    let room = RoomSelector { room_id: body.room_id.as_deref(), room_name: None };
    services.delete_direct(&caller.user, room, body.username.as_deref()).await?;
    ok(json!({}))
}

/// Deletes a direct message (the same as `im.delete`).
///
/// `POST /api/v1/dm.delete` (auth): `{roomId | username}` → `{}`.
#[utoipa::path(
    post,
    path = "/api/v1/dm.delete",
    tag = "im",
    security(("userId" = [], "authToken" = [])),
    request_body = DeleteBody,
    responses(
        (status = 200, description = "The direct message is deleted.", body = doc::Done),
        (status = 400, description = "Neither `roomId` nor `username` (`error-room-param-not-provided`); no such DM (`error-room-not-found`); not a member, or without `delete-d` (`Not allowed [error-not-allowed]`)."),
    ),
)]
async fn dm_delete(state: State<AppState>, caller: CurrentUser, body: Body<DeleteBody>) -> ApiResult {
    delete(state, caller, body).await
}

#[derive(Deserialize, ToSchema)]
#[schema(as = DirectMessageTopicRequest)]
#[serde(rename_all = "camelCase")]
struct TopicBody {
    room_id: Option<String>,
    /// Without `roomId`: the caller's direct message with this user.
    username: Option<String>,
    topic: Option<String>,
}

/// Sets a direct message's topic.
///
/// `POST /api/v1/im.setTopic` and `dm.setTopic` (auth): `{roomId |
/// username, topic}` → `{topic}`; the caller must be in the DM and hold
/// `edit-room` (admins by default); posts `room_changed_topic`.
#[utoipa::path(
    post,
    path = "/api/v1/im.setTopic",
    tag = "im",
    security(("userId" = [], "authToken" = [])),
    request_body = TopicBody,
    responses(
        (status = 200, description = "The topic set.", body = doc::RoomSettingAnswer),
        (status = 400, description = "No `topic` (`The bodyParam 'topic' is required`, no `errorType`); no DM named or found; not a member (`The user is not subscribed to the room`); without `edit-room` (`error-action-not-allowed`)."),
    ),
)]
async fn set_topic(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<TopicBody>,
) -> ApiResult {
    let Some(topic) = body.topic else {
        return Err(crate::error::ApiError(threadsync_domain::Error::from(Reject::TopicRequired)));
    };
    let room = RoomSelector { room_id: body.room_id.as_deref(), room_name: None };
    let topic = services.set_direct_topic(&caller.user, room, body.username.as_deref(), topic).await?;
    ok(json!({"topic": topic}))
}

/// Sets a direct message's topic (the same as `im.setTopic`).
///
/// `POST /api/v1/dm.setTopic` (auth): `{roomId | username, topic}` → `{topic}`.
#[utoipa::path(
    post,
    path = "/api/v1/dm.setTopic",
    tag = "im",
    security(("userId" = [], "authToken" = [])),
    request_body = TopicBody,
    responses(
        (status = 200, description = "The topic set.", body = doc::RoomSettingAnswer),
        (status = 400, description = "No `topic` (`The bodyParam 'topic' is required`, no `errorType`); no DM named or found; not a member (`The user is not subscribed to the room`); without `edit-room` (`error-action-not-allowed`)."),
    ),
)]
async fn dm_set_topic(state: State<AppState>, caller: CurrentUser, body: Body<TopicBody>) -> ApiResult {
    set_topic(state, caller, body).await
}
