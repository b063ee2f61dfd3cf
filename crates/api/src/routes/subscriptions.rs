//! Subscriptions: `subscriptions.getOne`, `subscriptions.get`.

use crate::extract::{CurrentUser, Params};
use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use serde_json::json;
use threadsync_domain::Error;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_one)).routes(routes!(get))
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
    params(
        ("updatedSince" = Option<String>, Query, description = "ISO date: only changes after it."),
    ),
    responses(
        (status = 200, description = "Subscriptions changed and removed.", body = doc::SubscriptionsDelta),
        (status = 400, description = "`updatedSince` is not a date (`error-updatedSince-param-invalid`); older than the tombstone horizon (`error-resync-required`)."),
    ),
)]
async fn get(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let roster = services.subscriptions_get(&caller.user, params.get("updatedSince")).await?;
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
    params(
        ("roomId" = String, Query, description = "The room."),
    ),
    responses(
        (status = 200, description = "The subscription, or `null`.", body = doc::SubscriptionAnswer),
        (status = 400, description = "Missing `roomId` (`invalid-params`)."),
    ),
)]
async fn get_one(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let room_id = params
        .get("roomId")
        .ok_or_else(|| Error::rejected("must have required property 'roomId'", "invalid-params"))?;
    let subscription = services.own_subscription(&caller.user, room_id).await?;
    ok(json!({"subscription": subscription}))
}
