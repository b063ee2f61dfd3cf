//! The Rocket.Chat-compatible HTTP API of threadsync.
//!
//! One module per endpoint family under [`routes`]; one function per endpoint.
//! Every failure, including extractor rejections, unknown routes and panics,
//! goes through [`error::ApiError`], the one place that writes error bodies.
//! Beyond the API: health checks ([`health`]), `/metrics`, CORS ([`cors`]),
//! the access log ([`access`]), and the HTTP edge's limits ([`limits`],
//! [`server`]); docs/http.md describes them for operators.

pub mod access;
pub mod body;
pub mod cors;
pub mod error;
pub mod extract;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
pub mod realtime;
pub mod requests;
pub mod response;
pub mod routes;
pub mod routing;
pub mod server;

use axum::Router;
use std::sync::Arc;
use threadsync_service::Services;

pub use limits::MAX_BODY_BYTES;

/// Shared state of every handler.
pub type AppState = Arc<Services>;

/// Choices of what the router serves beyond the API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouterOptions {
    /// Mount the load harness's ceiling endpoints under `/bench`. They skip
    /// auth, so they exist only in builds with the `bench-endpoints` feature.
    #[cfg(feature = "bench-endpoints")]
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
    let routes = routes::routes();
    #[cfg(feature = "bench-endpoints")]
    let routes = if options.bench_endpoints { routes.merge(routes::bench::routes()) } else { routes };
    // Layers listed innermost first: each `.layer` wraps all above it.
    routes
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
        .layer(axum::middleware::from_fn(limits::check_head))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&services), cors::cors))
        .layer(axum::middleware::from_fn(access::log))
        .with_state(services)
}
