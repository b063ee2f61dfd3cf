//! Server information.

use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::routing::get;
use axum::Router;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/info", get(info))
}

/// `GET /api/info` (no auth): the server version.
async fn info() -> ApiResult {
    ok(json!({"version": env!("CARGO_PKG_VERSION")}))
}
