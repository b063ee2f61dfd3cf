//! Server information.

use crate::extract::auth_headers;
use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::json;

/// The Rocket.Chat release whose REST and realtime APIs threadsync follows
/// (≥ 7.1: the mobile app then uses the cursor form of `chat.syncMessages`,
/// which threadsync serves).
pub const ROCKETCHAT_VERSION: &str = "7.1.0";

pub fn routes() -> Routes {
    Routes::new().merge(routes!(info))
}

/// The Rocket.Chat version whose API threadsync follows, and its own.
///
/// `GET /api/info` (no auth) → `{version, threadsyncVersion}`: clients pick
/// code paths and check support by `version`, so it names the Rocket.Chat
/// API threadsync implements ([`ROCKETCHAT_VERSION`]); the crate's own
/// version goes in `threadsyncVersion`. A caller logged in with
/// `get-server-info` (admins) also gets `info`, Rocket.Chat's server
/// details: the versions and the build's platform (wrong or missing
/// credentials are answered as anonymous, as Rocket.Chat does).
#[utoipa::path(
    get,
    path = "/api/info",
    tag = "server",
    responses(
        (status = 200, description = "The version.", body = doc::InfoAnswer),
    ),
)]
async fn info(State(services): State<AppState>, headers: HeaderMap) -> ApiResult {
    let mut answer = json!({"version": ROCKETCHAT_VERSION, "threadsyncVersion": env!("CARGO_PKG_VERSION")});
    let caller = match auth_headers(&headers) {
        Some((user_id, token)) => services.authenticate(&user_id, &token).await.ok(),
        None => None,
    };
    if caller.is_some_and(|user| services.has_global_permission(&user, "get-server-info")) {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        answer["info"] = json!({
            "version": ROCKETCHAT_VERSION,
            "threadsyncVersion": env!("CARGO_PKG_VERSION"),
            "build": {"platform": std::env::consts::OS, "arch": std::env::consts::ARCH, "cpus": cpus},
        });
    }
    ok(answer)
}
