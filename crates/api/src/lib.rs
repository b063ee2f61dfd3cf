//! The Rocket.Chat-compatible HTTP API of threadsync.
//!
//! One module per endpoint family under [`routes`]; one function per endpoint.
//! Every failure, including extractor rejections, unknown routes and panics,
//! goes through [`error::ApiError`], the one place that writes error bodies.

pub mod error;
pub mod extract;
pub mod response;
pub mod routes;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::sync::Arc;
use threadsync_service::Services;

/// The largest request body accepted. Messages are capped far lower by
/// `Message_MaxAllowedSize`; this bounds what a client can make us buffer.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Shared state of every handler.
pub type AppState = Arc<Services>;

/// The whole HTTP API.
pub fn router(services: Arc<Services>) -> Router {
    routes::routes()
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::route_not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(error::panic_response))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(services)
}
