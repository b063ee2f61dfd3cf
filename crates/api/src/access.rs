//! The access log: one line per request at `info` under the target
//! [`TARGET`], switchable by the log filter (`RUST_LOG=info,threadsync::access=off`
//! turns it off). A line holds the method, the route template (never the
//! concrete path or the query string, which may carry anything), the
//! status, the time to answer, the caller's user id when the request was
//! authenticated, and the client IP. Never headers or bodies, so never a
//! token or a password.

use crate::ratelimit::ClientIp;
use axum::extract::Request;
use axum::http::Extensions;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// The log target of the access log.
pub const TARGET: &str = "threadsync::access";

/// Who made the request: filled in by authentication, read by the log.
#[derive(Clone, Debug, Default)]
pub(crate) struct Caller(Arc<OnceLock<String>>);

/// Records the authenticated caller of a request, for its access-log line.
pub(crate) fn note_user(extensions: &Extensions, user_id: &str) {
    if let Some(Caller(slot)) = extensions.get::<Caller>() {
        let _ = slot.set(user_id.to_owned());
    }
}

/// The matched route template, carried out to the log on the response.
#[derive(Clone, Debug)]
pub(crate) struct RouteName(pub String);

/// Middleware (the outermost layer, so it sees every answer, refusals included).
pub async fn log(mut request: Request, next: Next) -> Response {
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().clone();
    let ClientIp(ip) = ClientIp::of(request.extensions());
    // At trace level, the start too: a request that never ends shows up.
    tracing::trace!(target: TARGET, method = %method, ip = ?ip, "request received");
    let caller = Caller::default();
    request.extensions_mut().insert(caller.clone());
    let response = next.run(request).await;
    let elapsed_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    let route = response.extensions().get::<RouteName>().map_or("-", |r| r.0.as_str());
    tracing::info!(
        target: TARGET,
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        duration_ms = elapsed_ms,
        user = %caller.0.get().map_or("-", String::as_str),
        ip = %ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
        "request"
    );
    response
}
