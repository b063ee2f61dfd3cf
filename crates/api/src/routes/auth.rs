//! Login, logout, me.

use crate::error::ApiError;
use crate::extract::{Body, CurrentUser};
use crate::ratelimit::ClientIp;
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use threadsync_domain::Error;
use threadsync_service::LoginCredentials;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/me", get(me))
}

/// `POST /api/v1/login`: `{user|username|email, password}` (password plain
/// or `{digest, algorithm: "sha-256"}`) or `{resume}`. Unknown user and wrong
/// password answer the same 401.
/// Repeated failures are slowed down per account and per client IP (429).
async fn login(
    State(services): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(body): Body<Value>,
) -> ApiResult {
    let credentials = LoginCredentials::from_json(&body).ok_or(ApiError(Error::LoginFailed))?;
    let session = services.login_from(credentials, ip).await?;
    ok(json!({
        "status": "success",
        "data": {
            "userId": session.user.id,
            "authToken": session.token,
            "me": session.user.me_json(),
        }
    }))
}

/// `POST /api/v1/logout` (auth): removes the token used for this request.
async fn logout(State(services): State<AppState>, caller: CurrentUser) -> ApiResult {
    services.logout(&caller.user, &caller.token).await?;
    ok(json!({"status": "success", "data": {"message": "You've been logged out!"}}))
}

/// `GET /api/v1/me` (auth): the caller's own user info.
async fn me(caller: CurrentUser) -> ApiResult {
    ok(caller.user.me_json())
}
