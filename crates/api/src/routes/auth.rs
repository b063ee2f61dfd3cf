//! Login, logout, me.

use crate::error::ApiError;
use crate::extract::{Body, CurrentUser};
use crate::openapi::schemas as doc;
use crate::ratelimit::ClientIp;
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde_json::{json, Value};
use threadsync_domain::Error;
use threadsync_service::LoginCredentials;

pub fn routes() -> Routes {
    Routes::new().merge(routes!(login)).merge(routes!(logout)).merge(routes!(me))
}

/// Logs in with a password, or resumes with a token.
///
/// `POST /api/v1/login`: `{user|username|email, password}` (password plain
/// or `{digest, algorithm: "sha-256"}`) or `{resume}`. Unknown user and wrong
/// password answer the same 401.
/// Repeated failures are slowed down per account and per client IP (429).
#[utoipa::path(
    post,
    path = "/api/v1/login",
    tag = "auth",
    request_body = doc::LoginRequest,
    responses(
        (status = 200, description = "The user id and auth token to send as `X-User-Id` and `X-Auth-Token`.", body = doc::LoginAnswer),
        (status = 401, description = "Unknown user, wrong password or unknown token (one answer for all): `Unauthorized`."),
        (status = 429, description = "Too many failed logins for this account or client address: `error-too-many-requests`."),
    ),
)]
async fn login(
    State(services): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(body): Body<Value>,
) -> ApiResult {
    let credentials = LoginCredentials::from_json(&body).ok_or(ApiError(Error::LoginFailed))?;
    let session = services.login_from(credentials, ip).await?;
    let preferences = services.preferences(&session.user).await?;
    ok(json!({
        "status": "success",
        "data": {
            "userId": session.user.id,
            "authToken": session.token,
            "me": session.user.me_json(preferences),
        }
    }))
}

/// Logs out this request's token.
///
/// `POST /api/v1/logout` (auth): removes the token used for this request.
#[utoipa::path(
    post,
    path = "/api/v1/logout",
    tag = "auth",
    security(("userId" = [], "authToken" = [])),
    responses(
        (status = 200, description = "The token no longer works.", body = doc::LogoutAnswer),
    ),
)]
async fn logout(State(services): State<AppState>, caller: CurrentUser) -> ApiResult {
    services.logout(&caller.user, &caller.token).await?;
    ok(json!({"status": "success", "data": {"message": "You've been logged out!"}}))
}

/// The caller's own user.
///
/// `GET /api/v1/me` (auth): the caller's own user info.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    security(("userId" = [], "authToken" = [])),
    responses(
        (status = 200, description = "The caller, with their settings and e-mail address.", body = doc::MeAnswer),
    ),
)]
async fn me(State(services): State<AppState>, caller: CurrentUser) -> ApiResult {
    ok(caller.user.me_json(services.preferences(&caller.user).await?))
}
