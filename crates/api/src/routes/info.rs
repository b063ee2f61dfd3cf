//! Server information.

use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::AppState;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The Rocket.Chat release whose REST and realtime APIs threadsync follows
/// (≥ 7.1: the mobile app then uses the cursor form of `chat.syncMessages`,
/// which threadsync serves).
pub const ROCKETCHAT_VERSION: &str = "7.1.0";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(info))
}

/// The Rocket.Chat version whose API threadsync follows, and its own.
///
/// `GET /api/info` (no auth) → `{version, threadsyncVersion}`: clients pick
/// code paths and check support by `version`, so it names the Rocket.Chat
/// API threadsync implements ([`ROCKETCHAT_VERSION`]); the crate's own
/// version goes in `threadsyncVersion`.
#[utoipa::path(
    get,
    path = "/api/info",
    tag = "server",
    responses(
        (status = 200, description = "The version.", body = doc::InfoAnswer),
    ),
)]
async fn info() -> ApiResult {
    ok(json!({"version": ROCKETCHAT_VERSION, "threadsyncVersion": env!("CARGO_PKG_VERSION")}))
}
