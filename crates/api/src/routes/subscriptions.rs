//! Subscriptions: `subscriptions.getOne`, `subscriptions.get`,
//! `subscriptions.read`, `subscriptions.unread`.

use crate::extract::{Body, CurrentUser, Query};
use crate::openapi::schemas as doc;
use crate::requests::{RoomIdQuery, UpdatedSinceQuery};
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use threadsync_domain::Error;
use threadsync_domain::{param, Reject};
use threadsync_service::{roster_since, UnreadFrom};
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::new().merge(routes!(get_one)).merge(routes!(get)).merge(routes!(read)).merge(routes!(unread))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ReadRequest)]
#[serde(rename_all = "camelCase")]
struct ReadBody {
    /// The room (`roomId` is accepted too).
    rid: Option<String>,
    room_id: Option<String>,
    /// Also mark the room's threads read.
    #[schema(value_type = Option<bool>)]
    read_threads: Option<Value>,
}

/// Marks a room read.
///
/// `POST /api/v1/subscriptions.read {rid | roomId, readThreads?}` (auth) →
/// `{}`: clears the caller's `unread`, `alert` and `userMentions` (and with
/// `readThreads`, `tunread`), moves `ls`. No room named:
/// `must have required property 'rid' [invalid-params]`; no subscription:
/// `Invalid subscription [error-invalid-subscription]`.
#[utoipa::path(
    post,
    path = "/api/v1/subscriptions.read",
    tag = "subscriptions",
    security(("userId" = [], "authToken" = [])),
    request_body = ReadBody,
    responses(
        (status = 200, description = "The room is read.", body = doc::Done),
        (status = 400, description = "No room named (`invalid-params`); not subscribed (`error-invalid-subscription`); a non-boolean `readThreads`."),
    ),
)]
async fn read(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<ReadBody>,
) -> ApiResult {
    let read_threads = match &body.read_threads {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        Some(_) => return Err(Error::from(Reject::ReadThreadsNotBoolean).into()),
    };
    let rid = param::required_text(body.rid.as_deref().or(body.room_id.as_deref()), Reject::SchemaRidMissing);
    services.read_room(&caller.user, rid, read_threads).await?;
    ok(json!({}))
}

/// The first message read again.
#[derive(Deserialize, ToSchema)]
#[schema(as = FirstUnreadMessage)]
struct FirstUnread {
    #[serde(rename = "_id")]
    id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = UnreadRequest)]
#[serde(rename_all = "camelCase")]
struct UnreadBody {
    room_id: Option<String>,
    first_unread_message: Option<FirstUnread>,
}

/// Marks a room unread from a message on.
///
/// `POST /api/v1/subscriptions.unread {roomId} | {firstUnreadMessage: {_id}}`
/// (auth) → `{}`: `alert` set and `ls` moved before the message (the
/// room's last one with `roomId`).
#[utoipa::path(
    post,
    path = "/api/v1/subscriptions.unread",
    tag = "subscriptions",
    security(("userId" = [], "authToken" = [])),
    request_body = UnreadBody,
    responses(
        (status = 200, description = "The room is unread.", body = doc::Done),
        (status = 400, description = "Neither given (`invalid-params`); no such message (`error-message-not-found`); a room the caller may not read (`error-not-allowed`) or without messages (`error-action-not-allowed`)."),
    ),
)]
async fn unread(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<UnreadBody>,
) -> ApiResult {
    let first = body.first_unread_message.as_ref().and_then(|m| m.id.as_deref());
    services.unread_room(&caller.user, UnreadFrom::read(body.room_id.as_deref(), first)).await?;
    ok(json!({}))
}

/// The caller's subscriptions, whole or as a delta.
///
/// `GET /api/v1/subscriptions.get?updatedSince=` (auth) → `{update:
/// [subscription], remove: [{_id, _deletedAt}]}`: subscriptions changed
/// after `updatedSince`, and those removed after it (the caller left or
/// was removed, or the room was deleted); without it, all and `remove: []`.
#[utoipa::path(
    get,
    path = "/api/v1/subscriptions.get",
    tag = "subscriptions",
    security(("userId" = [], "authToken" = [])),
    params(UpdatedSinceQuery),
    responses(
        (status = 200, description = "Subscriptions changed and removed.", body = doc::SubscriptionsDelta),
        (status = 400, description = "`updatedSince` is not a date (`error-updatedSince-param-invalid`); older than the tombstone horizon (`error-resync-required`)."),
    ),
)]
async fn get(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<UpdatedSinceQuery>,
) -> ApiResult {
    let roster =
        services.subscriptions_get(&caller.user, roster_since(request.updated_since.as_deref())).await?;
    ok(json!({"update": roster.update, "remove": super::rooms::removed_json(&roster.remove)}))
}

/// The caller's subscription to a room.
///
/// `GET /api/v1/subscriptions.getOne?roomId=` (auth) → `{subscription}`: the
/// caller's own subscription to the room, `null` when they have none (as in
/// Rocket.Chat). Missing `roomId` → Rocket.Chat's validation error
/// `must have required property 'roomId' [invalid-params]`.
#[utoipa::path(
    get,
    path = "/api/v1/subscriptions.getOne",
    tag = "subscriptions",
    security(("userId" = [], "authToken" = [])),
    params(RoomIdQuery),
    responses(
        (status = 200, description = "The subscription, or `null`.", body = doc::SubscriptionAnswer),
        (status = 400, description = "Missing `roomId` (`invalid-params`)."),
    ),
)]
async fn get_one(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(room): Query<RoomIdQuery>,
) -> ApiResult {
    let room_id = room.room_id.as_deref().ok_or_else(|| Error::from(Reject::SchemaRoomIdMissing))?;
    let subscription = services.own_subscription(&caller.user, room_id).await?;
    ok(json!({"subscription": subscription}))
}
