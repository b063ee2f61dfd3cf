//! Direct messages: `im.create` / `dm.create`.

use crate::extract::{required_str, Body, CurrentUser};
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/im.create", post(create)).route("/api/v1/dm.create", post(create))
}

#[derive(Deserialize)]
struct CreateBody {
    username: Option<String>,
}

/// `POST /api/v1/im.create` and `dm.create` (auth): `{username}` → `{room}`:
/// the DM between the caller and that user, created if needed (a DM with
/// oneself is allowed). Unknown user → `Invalid user [error-invalid-user]`.
/// As in Rocket.Chat, the room carries `rid` next to `_id`.
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
