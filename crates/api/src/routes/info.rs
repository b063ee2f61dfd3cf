//! Server information.

use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::AppState;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(info))
}

/// The server's version.
///
/// `GET /api/info` (no auth): the server version.
#[utoipa::path(
    get,
    path = "/api/info",
    tag = "server",
    responses(
        (status = 200, description = "The version.", body = doc::InfoAnswer),
    ),
)]
async fn info() -> ApiResult {
    ok(json!({"version": env!("CARGO_PKG_VERSION")}))
}
