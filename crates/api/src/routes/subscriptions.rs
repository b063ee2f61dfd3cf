//! Subscriptions: `subscriptions.getOne`.

use crate::extract::{CurrentUser, Params};
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::json;
use threadsync_domain::Error;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/subscriptions.getOne", get(get_one))
}

/// `GET /api/v1/subscriptions.getOne?roomId=` (auth) → `{subscription}`: the
/// caller's own subscription to the room, `null` when they have none (as in
/// Rocket.Chat). Missing `roomId` → Rocket.Chat's validation error
/// `must have required property 'roomId' [invalid-params]`.
async fn get_one(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let room_id = params
        .get("roomId")
        .ok_or_else(|| Error::rejected("must have required property 'roomId'", "invalid-params"))?;
    let subscription = services.own_subscription(&caller.user, room_id).await?;
    ok(json!({"subscription": subscription}))
}
