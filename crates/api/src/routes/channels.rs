//! What only public channels (`t: "c"`) have: `channels.join`. The routes
//! channels share with groups are generated in room_family.rs.

use crate::extract::{Body, CurrentUser};
use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde_json::json;
use threadsync_service::RoomSelector;

pub fn routes() -> Routes {
    Routes::new().merge(routes!(join))
}

/// The body of `channels.join`: the channel, and its join code if it has one.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[schema(as = JoinRequest)]
#[serde(rename_all = "camelCase")]
pub(super) struct JoinBody {
    pub room_id: Option<String>,
    pub room_name: Option<String>,
    /// Needed when the channel has a join code (`joinCodeRequired`).
    pub join_code: Option<String>,
}

/// Joins a public channel.
///
/// `POST /api/v1/channels.join` (auth): `{roomId|roomName, joinCode?}` →
/// `{channel}`; public channels only (a private group → `Not allowed`); a
/// no-op for members. A channel with a join code needs it unless the
/// caller holds `join-without-join-code`: `error-code-required`,
/// `error-code-invalid`.
#[utoipa::path(
    post,
    path = "/api/v1/channels.join",
    tag = "channels",
    security(("userId" = [], "authToken" = [])),
    request_body = JoinBody,
    responses(
        (status = 200, description = "The channel.", body = doc::ChannelAnswer),
        (status = 400, description = "Missing room; no such channel; a private room (`Not allowed`); the join code missing (`error-code-required`) or wrong (`error-code-invalid`)."),
    ),
)]
async fn join(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<JoinBody>,
) -> ApiResult {
    let selector = RoomSelector { room_id: body.room_id.as_deref(), room_name: body.room_name.as_deref() };
    let room = services.join_room(&caller.user, selector, body.join_code.as_deref()).await?;
    ok(json!({"channel": room}))
}
