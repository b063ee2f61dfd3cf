//! The Rocket.Chat-compatible HTTP API of threadsync.
//!
//! One module per endpoint family under [`routes`]; one function per endpoint.
//! Every failure, including extractor rejections, unknown routes and panics,
//! goes through [`error::ApiError`], the one place that writes error bodies.

pub mod error;
pub mod extract;
pub mod metrics;
pub mod ratelimit;
pub mod realtime;
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

/// Choices of what the router serves beyond the API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouterOptions {
    /// Mount the load harness's ceiling endpoints under `/bench` (never in
    /// production: they skip auth).
    pub bench_endpoints: bool,
    /// Heartbeat timings of the websocket (tests shorten them).
    pub realtime: realtime::RealtimeOptions,
}

/// The whole HTTP API.
pub fn router(services: Arc<Services>) -> Router {
    router_with(services, RouterOptions::default())
}

/// The whole HTTP API, with options.
pub fn router_with(services: Arc<Services>, options: RouterOptions) -> Router {
    let rate_limit = ratelimit::RateLimit::new(Arc::clone(&services));
    let metrics = metrics::Metrics::new();
    let recorder = Arc::clone(&metrics);
    let realtime = realtime::Realtime::start(Arc::clone(&services), options.realtime);
    let routes = if options.bench_endpoints {
        routes::routes().merge(routes::bench::routes())
    } else {
        routes::routes()
    };
    let routes = routes.merge(realtime::routes());
    routes
        .route("/metrics", axum::routing::get(metrics::metrics))
        // A route layer: it runs after routing, so the matched route
        // template (not the raw path) names the series.
        .route_layer(axum::middleware::from_fn(move |request, next| {
            metrics::record(Arc::clone(&recorder), request, next)
        }))
        .layer(axum::Extension(metrics))
        .layer(axum::Extension(realtime))
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::route_not_found)
        .layer(axum::middleware::from_fn_with_state(rate_limit, ratelimit::limit))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(error::panic_response))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(services)
}
