//! Health checks for supervisors and load balancers (no auth, not rate
//! limited): `/livez` says the process answers HTTP, `/readyz` that it can
//! serve requests (its store answers).

use crate::error::ApiError;
use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde_json::json;
use std::time::Duration;
use threadsync_domain::error::Refusal;
use threadsync_domain::Error;

/// How long `/readyz` waits for the store before answering 503.
pub const READY_TIMEOUT: Duration = Duration::from_secs(5);

pub fn routes() -> Routes {
    Routes::new().merge(routes!(livez)).merge(routes!(readyz))
}

/// The process answers.
///
/// `GET /livez`: always 200 `{"status": "ok", "success": true}` while the
/// process serves HTTP. It checks nothing else, so a restart is never
/// triggered by a database outage.
#[utoipa::path(
    get,
    path = "/livez",
    tag = "server",
    responses((status = 200, description = "The process serves HTTP.", body = doc::HealthAnswer)),
)]
async fn livez() -> ApiResult {
    ok(json!({"status": "ok"}))
}

/// The store answers.
///
/// `GET /readyz`: 200 `{"status": "ok", "success": true}` when the store
/// answers a read within 5 s; otherwise 503
/// `The store is not answering [error-not-ready]` (the cause is logged).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "server",
    responses(
        (status = 200, description = "The store answers.", body = doc::HealthAnswer),
        (status = 503, description = "The store did not answer within 5 s (`error-not-ready`).", body = doc::ErrorBody),
    ),
)]
async fn readyz(State(services): State<AppState>) -> ApiResult {
    let unready = |cause: String| {
        tracing::warn!("readiness check failed: {cause}");
        ApiError(Error::Refused(Refusal::Unavailable))
    };
    match tokio::time::timeout(READY_TIMEOUT, services.store().ping()).await {
        Ok(Ok(())) => ok(json!({"status": "ok"})),
        Ok(Err(e)) => Err(unready(e.to_string())),
        Err(_) => Err(unready(format!("no answer within {READY_TIMEOUT:?}"))),
    }
}
