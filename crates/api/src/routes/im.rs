//! Direct messages: `im.create` / `dm.create`.

use crate::extract::{required_str, Body, CurrentUser};
use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create)).routes(routes!(dm_create))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = DirectMessageRequest)]
struct CreateBody {
    #[schema(value_type = String)]
    username: Option<String>,
}

/// Opens the direct message with a user.
///
/// `POST /api/v1/im.create` and `dm.create` (auth): `{username}` → `{room}`:
/// the DM between the caller and that user, created if needed (a DM with
/// oneself is allowed). Unknown user → `Invalid user [error-invalid-user]`.
/// As in Rocket.Chat, the room carries `rid` next to `_id`.
#[utoipa::path(
    post,
    path = "/api/v1/im.create",
    tag = "im",
    security(("userId" = [], "authToken" = [])),
    request_body = CreateBody,
    responses(
        (status = 200, description = "The direct message room.", body = doc::DirectRoomAnswer),
        (status = 400, description = "Missing `username`; no such user (`error-invalid-user`)."),
    ),
)]
async fn create(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<CreateBody>,
) -> ApiResult {
    let room = services.open_direct_message(&caller.user, required_str(&body.username, "username")?).await?;
    let mut room = json!(room);
    if let Some(map) = room.as_object_mut() {
        let id = map.get("_id").cloned().unwrap_or(Value::Null);
        map.insert("rid".into(), id);
    }
    ok(json!({"room": room}))
}

/// Opens the direct message with a user (the same as `im.create`).
///
/// `POST /api/v1/dm.create` (auth): `{username}` → `{room}`: Rocket.Chat's
/// newer name of `im.create`.
#[utoipa::path(
    post,
    path = "/api/v1/dm.create",
    tag = "im",
    security(("userId" = [], "authToken" = [])),
    request_body = CreateBody,
    responses(
        (status = 200, description = "The direct message room.", body = doc::DirectRoomAnswer),
        (status = 400, description = "Missing `username`; no such user (`error-invalid-user`)."),
    ),
)]
async fn dm_create(state: State<AppState>, caller: CurrentUser, body: Body<CreateBody>) -> ApiResult {
    create(state, caller, body).await
}
