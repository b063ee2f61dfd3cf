//! Subscriptions: `subscriptions.getOne`.

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
    OpenApiRouter::new().routes(routes!(get_one))
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
