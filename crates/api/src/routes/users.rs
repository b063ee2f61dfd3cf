//! Users: register, create, info, delete.

use crate::extract::{required_str, Body, CurrentUser, Params};
use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use threadsync_service::{NewUser, UserSelector};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(create))
        .routes(routes!(info))
        .routes(routes!(delete))
        .routes(routes!(set_active_status))
        .routes(routes!(list))
        .routes(routes!(presence))
        .routes(routes!(get_status))
        .routes(routes!(get_presence))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = RegisterRequest)]
struct RegisterBody {
    #[schema(value_type = String)]
    username: Option<String>,
    #[schema(value_type = String)]
    email: Option<String>,
    #[schema(value_type = String)]
    pass: Option<String>,
    name: Option<String>,
}

/// Registers a new user (self-service sign-up).
///
/// `POST /api/v1/users.register` (no auth): `{username, email, pass, name}`;
/// allowed while `Accounts_RegistrationForm` is `Public`.
#[utoipa::path(
    post,
    path = "/api/v1/users.register",
    tag = "users",
    request_body = RegisterBody,
    responses(
        (status = 200, description = "The new user (log in to get a token).", body = doc::UserAnswer),
        (status = 400, description = "A missing field; an invalid username, e-mail or password; a username or e-mail already taken (`error-field-unavailable`); registration not public (`error-user-registration-secret`)."),
    ),
)]
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

#[derive(Deserialize, ToSchema)]
#[schema(as = CreateUserRequest)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    #[schema(value_type = String)]
    email: Option<String>,
    #[schema(value_type = String)]
    name: Option<String>,
    #[schema(value_type = String)]
    username: Option<String>,
    #[schema(value_type = String)]
    password: Option<String>,
    roles: Option<Vec<String>>,
    active: Option<bool>,
    verified: Option<bool>,
    join_default_channels: Option<bool>,
}

/// Creates a user (admins).
///
/// `POST /api/v1/users.create` (admin): `{email, name, username, password,
/// roles?, active?, verified?, joinDefaultChannels?}`.
#[utoipa::path(
    post,
    path = "/api/v1/users.create",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = CreateBody,
    responses(
        (status = 200, description = "The new user.", body = doc::UserAnswer),
        (status = 400, description = "A missing field; an invalid username, e-mail, password or role; a username or e-mail already taken (`error-field-unavailable`)."),
        (status = 403, description = "The caller is not an admin: `error-unauthorized`."),
    ),
)]
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

/// A user, by id or username.
///
/// `GET /api/v1/users.info?userId=|username=` (auth).
#[utoipa::path(
    get,
    path = "/api/v1/users.info",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    params(
        ("userId" = Option<String>, Query, description = "The user id."),
        ("username" = Option<String>, Query, description = "The username (used when `userId` is absent)."),
    ),
    responses(
        (status = 200, description = "The user.", body = doc::UserAnswer),
        (status = 400, description = "Neither `userId` nor `username` given; no such user (`User not found.`, no `errorType`, as Rocket.Chat answers it)."),
    ),
)]
async fn info(State(services): State<AppState>, _caller: CurrentUser, params: Params) -> ApiResult {
    // Rocket.Chat answers a missing user with `API.v1.failure('User not
    // found.')`: clients compare that text exactly (rocketchat_API's test
    // fixtures create the user when they see it).
    let user = match services.user_info(params.get("userId"), params.get("username")).await {
        Err(threadsync_domain::Error::Rejected { code, .. }) if code == "error-invalid-user" => {
            return Err(threadsync_domain::Error::Legacy("User not found.".into()).into())
        }
        found => found?,
    };
    ok(json!({"user": user.public_json()}))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = DeleteUserRequest)]
#[serde(rename_all = "camelCase")]
struct DeleteBody {
    user_id: Option<String>,
    username: Option<String>,
}

/// Deletes a user (admins).
///
/// `POST /api/v1/users.delete` (admin): `{userId}` or `{username}`.
#[utoipa::path(
    post,
    path = "/api/v1/users.delete",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = DeleteBody,
    responses(
        (status = 200, description = "The user is deleted.", body = doc::Done),
        (status = 400, description = "Neither `userId` nor `username` given; no such user (`error-invalid-user`); an admin deleting themself (`error-action-not-allowed`)."),
        (status = 403, description = "The caller is not an admin: `error-unauthorized`."),
    ),
)]
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

#[derive(Deserialize, ToSchema)]
#[schema(as = SetActiveStatusRequest)]
#[serde(rename_all = "camelCase")]
struct SetActiveStatusBody {
    #[schema(value_type = String)]
    user_id: Option<serde_json::Value>,
    #[schema(value_type = bool)]
    active_status: Option<serde_json::Value>,
    /// Accepted for compatibility; rooms the user alone owns keep them as
    /// owner (nothing is handed over).
    #[allow(dead_code)]
    confirm_relinquish: Option<serde_json::Value>,
}

/// Activates or deactivates a user (admins).
///
/// `POST /api/v1/users.setActiveStatus` (`edit-other-user-active-status`):
/// `{userId, activeStatus}` → `{user: {_id, active}}`. Deactivating ends the
/// user's sessions (login tokens removed) and refuses to leave no active
/// admin; the user keeps its rooms and messages.
#[utoipa::path(
    post,
    path = "/api/v1/users.setActiveStatus",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = SetActiveStatusBody,
    responses(
        (status = 200, description = "The user's id and new `active`.", body = doc::ActiveStatusAnswer),
        (status = 400, description = "`userId` or `activeStatus` missing or of the wrong type (`invalid-params`); no such user (`error-invalid-user`); the last active admin (`error-action-not-allowed`)."),
        (status = 403, description = "The caller lacks `edit-other-user-active-status`: `error-unauthorized`."),
    ),
)]
async fn set_active_status(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<SetActiveStatusBody>,
) -> ApiResult {
    // Rocket.Chat checks the permission before the body.
    services.require_global_permission(&caller.user, "edit-other-user-active-status")?;
    let invalid = |reason: &str| threadsync_domain::Error::rejected(reason, "invalid-params");
    let user_id = match &body.user_id {
        None => return Err(invalid("must have required property 'userId'").into()),
        Some(serde_json::Value::String(id)) => id.clone(),
        Some(_) => return Err(invalid("must be string").into()),
    };
    let active = match &body.active_status {
        None => return Err(invalid("must have required property 'activeStatus'").into()),
        Some(serde_json::Value::Bool(active)) => *active,
        Some(_) => return Err(invalid("must be boolean").into()),
    };
    let user = services.set_user_active_status(&caller.user, &user_id, active).await?;
    ok(json!({"user": {"_id": user.id, "active": user.active}}))
}

/// Lists users.
///
/// `GET /api/v1/users.list?sort=&email=&count=&offset=` (`view-d-room`) →
/// `{users, count, offset, total}`, by username unless `sort` names one of
/// `username`, `name`, `createdAt`, `status`/`active` (1 or -1); `email`
/// finds the user with that address. Addresses are shown to holders of
/// `view-full-other-user-info` only. `query` (a Mongo selector in
/// Rocket.Chat, deprecated there) is refused.
#[utoipa::path(
    get,
    path = "/api/v1/users.list",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    params(
        ("sort" = Option<String>, Query, description = "JSON, one field: e.g. `{\"createdAt\":-1}`."),
        ("email" = Option<String>, Query, description = "Only the user with this address (any case)."),
        ("count" = Option<u64>, Query, description = "Page size."),
        ("offset" = Option<u64>, Query, description = "Users to skip."),
    ),
    responses(
        (status = 200, description = "A page of users.", body = doc::UsersAnswer),
        (status = 400, description = "A bad `sort` (`error-invalid-sort`), an empty `email` (`invalid-params`), a `query` (`error-invalid-query`), bad `count` / `offset`."),
        (status = 403, description = "The caller lacks `view-d-room`: `error-unauthorized`."),
    ),
)]
async fn list(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let paging = super::rooms::paging(&services, &params)?;
    let request = threadsync_service::UserListRequest {
        sort: params.get("sort"),
        email: params.get_as_given("email"),
        query: params.get("query"),
    };
    let (listing, full) = services.list_users(&caller.user, request, paging).await?;
    let users: Vec<_> = listing
        .items
        .iter()
        .map(|u| {
            let mut v = u.public_json();
            if !full {
                if let Some(map) = v.as_object_mut() {
                    map.remove("emails");
                }
            }
            v
        })
        .collect();
    ok(json!({"users": users, "count": listing.items.len(), "offset": paging.offset, "total": listing.total}))
}

/// Who is online.
///
/// `GET /api/v1/users.presence?ids=a,b&from=` (auth) → `{users: [{_id,
/// username, name, status, utcOffset}], full}`: the named users who are
/// not offline; without `ids`, nobody (presence is not tracked yet, so
/// everyone is offline) and `full: true`.
#[utoipa::path(
    get,
    path = "/api/v1/users.presence",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    params(
        ("ids" = Option<String>, Query, description = "Comma-separated user ids."),
        ("from" = Option<String>, Query, description = "ISO date: only changes since then (`full` is then `false`)."),
    ),
    responses(
        (status = 200, description = "The users not offline.", body = doc::PresenceAnswer),
        (status = 400, description = "`from` is not a date (`error-invalid-params`)."),
    ),
)]
async fn presence(State(services): State<AppState>, _caller: CurrentUser, params: Params) -> ApiResult {
    let from = params.get("from");
    if from.is_some_and(|raw| threadsync_domain::Timestamp::parse(raw).is_none()) {
        return Err(threadsync_domain::Error::invalid_params(
            "The \"from\" query parameter must be a valid date.",
        )
        .into());
    }
    let ids: Vec<String> = params
        .get("ids")
        .map(|ids| ids.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let users: Vec<_> = services
        .users_present(&ids)
        .await?
        .iter()
        .map(|u| json!({"_id": u.id, "username": u.username, "name": u.name, "status": u.status, "utcOffset": u.utc_offset}))
        .collect();
    ok(json!({"users": users, "full": from.is_none()}))
}

/// A user's status (the caller's when none is named).
///
/// `GET /api/v1/users.getStatus?userId=|username=` (auth) → `{_id,
/// status, connectionStatus, message}`.
#[utoipa::path(
    get,
    path = "/api/v1/users.getStatus",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    params(
        ("userId" = Option<String>, Query, description = "The user id."),
        ("username" = Option<String>, Query, description = "The username (used when `userId` is absent)."),
    ),
    responses(
        (status = 200, description = "The status.", body = doc::StatusAnswer),
        (status = 400, description = "No such user (`error-invalid-user`)."),
    ),
)]
async fn get_status(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let who = UserSelector { user_id: params.get("userId"), username: params.get("username") };
    let user = services.user_status(&caller.user, who).await?;
    ok(json!({"_id": user.id, "status": user.status, "connectionStatus": user.status, "message": ""}))
}

/// A user's presence (the caller's when none is named).
///
/// `GET /api/v1/users.getPresence?userId=|username=` (auth) → `{presence}`,
/// with `connectionStatus` for the caller's own.
#[utoipa::path(
    get,
    path = "/api/v1/users.getPresence",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    params(
        ("userId" = Option<String>, Query, description = "The user id."),
        ("username" = Option<String>, Query, description = "The username (used when `userId` is absent)."),
    ),
    responses(
        (status = 200, description = "The presence.", body = doc::PresenceOfAnswer),
        (status = 400, description = "No such user (`error-invalid-user`)."),
    ),
)]
async fn get_presence(State(services): State<AppState>, caller: CurrentUser, params: Params) -> ApiResult {
    let who = UserSelector { user_id: params.get("userId"), username: params.get("username") };
    let user = services.user_status(&caller.user, who).await?;
    if user.id == caller.user.id {
        ok(json!({"presence": user.status, "connectionStatus": user.status}))
    } else {
        ok(json!({"presence": user.status}))
    }
}
