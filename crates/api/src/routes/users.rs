//! Users: register, create, info, delete.

use crate::extract::{required_str, Body, CurrentUser, Params};
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use threadsync_service::NewUser;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users.register", post(register))
        .route("/api/v1/users.create", post(create))
        .route("/api/v1/users.info", get(info))
        .route("/api/v1/users.delete", post(delete))
}

#[derive(Deserialize)]
struct RegisterBody {
    username: Option<String>,
    email: Option<String>,
    pass: Option<String>,
    name: Option<String>,
}

/// `POST /api/v1/users.register` (no auth): `{username, email, pass, name}`;
/// allowed while `Accounts_RegistrationForm` is `Public`.
async fn register(State(services): State<AppState>, Body(body): Body<RegisterBody>) -> ApiResult {
    let user = services
        .register(
            required_str(&body.username, "username")?,
            required_str(&body.email, "email")?,
            required_str(&body.pass, "pass")?,
            body.name.as_deref().unwrap_or_default(),
        )
        .await?;
    ok(json!({"user": user.public_json()}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    email: Option<String>,
    name: Option<String>,
    username: Option<String>,
    password: Option<String>,
    roles: Option<Vec<String>>,
    active: Option<bool>,
    verified: Option<bool>,
    join_default_channels: Option<bool>,
}

/// `POST /api/v1/users.create` (admin): `{email, name, username, password,
/// roles?, active?, verified?, joinDefaultChannels?}`.
async fn create(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<CreateBody>,
) -> ApiResult {
    let new = NewUser {
        username: required_str(&body.username, "username")?.to_owned(),
        email: required_str(&body.email, "email")?.to_owned(),
        password: required_str(&body.password, "password")?.to_owned(),
        name: required_str(&body.name, "name")?.to_owned(),
        roles: body.roles.unwrap_or_default(),
        active: body.active.unwrap_or(true),
        verified: body.verified.unwrap_or(false),
        join_default_channels: body.join_default_channels.unwrap_or(true),
    };
    let user = services.create_user_as(&caller.user, new).await?;
    ok(json!({"user": user.public_json()}))
}

/// `GET /api/v1/users.info?userId=|username=` (auth).
async fn info(State(services): State<AppState>, _caller: CurrentUser, params: Params) -> ApiResult {
    let user = services.user_info(params.get("userId"), params.get("username")).await?;
    ok(json!({"user": user.public_json()}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteBody {
    user_id: Option<String>,
    username: Option<String>,
}

/// `POST /api/v1/users.delete` (admin): `{userId}` or `{username}`.
async fn delete(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<DeleteBody>,
) -> ApiResult {
    let target = match (&body.user_id, &body.username) {
        (Some(id), _) if !id.is_empty() => id.clone(),
        (_, Some(name)) if !name.is_empty() => services.user_info(None, Some(name)).await?.id,
        _ => required_str(&body.user_id, "userId")?.to_owned(),
    };
    services.delete_user(&caller.user, &target).await?;
    ok(json!({}))
}
