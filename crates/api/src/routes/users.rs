//! Users: register, create, info, delete, list, activation, status,
//! profile edits and preferences.

use crate::error::ApiError;
use crate::extract::{required_str, Body, CurrentUser, Params, Query};
use crate::openapi::schemas as doc;
use crate::requests::{repeated, PageQuery, UserQuery};
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::{RawQuery, State};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use threadsync_domain::error::json_type;
use threadsync_domain::Code;
use threadsync_domain::Reject;
use threadsync_service::{NewUser, StatusChange, UserSelector, UserUpdate};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(register))
        .merge(routes!(create))
        .merge(routes!(info))
        .merge(routes!(delete))
        .merge(routes!(set_active_status))
        .merge(routes!(list))
        .merge(routes!(presence))
        .merge(routes!(get_status))
        .merge(routes!(get_presence))
        .merge(routes!(set_status))
        .merge(routes!(update))
        .merge(routes!(get_preferences))
        .merge(routes!(set_preferences))
        .merge(routes!(get_username_suggestion))
        .merge(routes!(forgot_password))
        .merge(routes!(create_token))
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
    params(UserQuery),
    responses(
        (status = 200, description = "The user.", body = doc::UserAnswer),
        (status = 400, description = "Neither `userId` nor `username` given; no such user (`User not found.`, no `errorType`, as Rocket.Chat answers it)."),
    ),
)]
async fn info(
    State(services): State<AppState>,
    _caller: CurrentUser,
    Query(who): Query<UserQuery>,
) -> ApiResult {
    // Rocket.Chat answers a missing user with `API.v1.failure('User not
    // found.')`: clients compare that text exactly (rocketchat_API's test
    // fixtures create the user when they see it).
    let user = match services.user_info(who.user_id.as_deref(), who.username.as_deref()).await {
        Err(threadsync_domain::Error::Rejected { code: Code::InvalidUser, .. }) => {
            return Err(threadsync_domain::Error::from(Reject::UserNotFoundLegacy).into())
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
    let invalid = |reject: Reject| ApiError(threadsync_domain::Error::from(reject));
    let missing = |property: &str| invalid(Reject::SchemaPropertyMissing { property: property.to_owned() });
    let user_id = match &body.user_id {
        None => return Err(missing("userId")),
        Some(serde_json::Value::String(id)) => id.clone(),
        Some(_) => return Err(invalid(Reject::SchemaNotString)),
    };
    let active = match &body.active_status {
        None => return Err(missing("activeStatus")),
        Some(serde_json::Value::Bool(active)) => *active,
        Some(_) => return Err(invalid(Reject::SchemaNotBoolean)),
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
    params(UserListQuery, PageQuery),
    responses(
        (status = 200, description = "A page of users.", body = doc::UsersAnswer),
        (status = 400, description = "A bad `sort` (`error-invalid-sort`), an empty `email` (`invalid-params`), a `query` (`error-invalid-query`), bad `count` / `offset`."),
        (status = 403, description = "The caller lacks `view-d-room`: `error-unauthorized`."),
    ),
)]
async fn list(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(page): Query<PageQuery>,
    params: Params,
) -> ApiResult {
    let paging = page.paging(&services)?;
    // Read from the raw parameters: an empty `email` is an error here, not
    // an absence, so the absent-when-empty rule of `Query` cannot apply.
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

/// `users.list`'s own parameters (documented here; the handler reads them
/// as given, see there).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct UserListQuery {
    /// JSON, one field: e.g. `{"createdAt":-1}`.
    sort: Option<String>,
    /// Only the user with this address (any case).
    email: Option<String>,
}

/// Who is online.
///
/// `GET /api/v1/users.presence?ids=a,b&from=` (auth) → `{users: [{_id,
/// username, name, status, statusText, utcOffset}], full}`, as Rocket.Chat
/// answers it: with `ids`, the named users who are not offline (`full:
/// false`); with a `from` under ten minutes old, every other user whose
/// status changed since, offline ones included (`full: false`); otherwise
/// every user who is not offline (`full: true`), at most 10,000. Presence
/// broadcast off: nobody, `full: true`.
#[utoipa::path(
    get,
    path = "/api/v1/users.presence",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    params(PresenceQuery),
    responses(
        (status = 200, description = "The users not offline, or who changed since `from`.", body = doc::PresenceAnswer),
        (status = 400, description = "`from` is not a date (`error-invalid-params`)."),
    ),
)]
async fn presence(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<PresenceQuery>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let from = match request.from.as_deref() {
        None => None,
        Some(raw) => Some(
            threadsync_domain::Timestamp::parse(raw)
                .ok_or_else(|| threadsync_domain::Error::from(Reject::FromDateInvalid))?,
        ),
    };
    // `ids=a,b` (the Python client), or `ids[]=a&ids[]=b` (the web app's
    // REST client writes arrays so).
    let ids: Vec<String> = repeated(raw.as_deref(), &["ids", "ids[]"])
        .iter()
        .flat_map(|ids| ids.split(','))
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .collect();
    let presence = services.users_presence(&caller.user, &ids, from).await?;
    let users: Vec<_> = presence
        .users
        .iter()
        .map(|u| {
            json!({"_id": u.id, "username": u.username, "name": u.name, "status": u.status,
                   "statusText": u.status_text, "utcOffset": u.utc_offset})
        })
        .collect();
    ok(json!({"users": users, "full": presence.full}))
}

/// `users.presence`' parameters (`ids` is read from the raw query string,
/// where it may repeat).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PresenceQuery {
    /// Comma-separated user ids, or repeated as `ids[]=a&ids[]=b`.
    #[allow(dead_code)]
    ids: Option<String>,
    /// ISO date: only the users whose status changed since then, when it
    /// is less than ten minutes old (`full` is then `false`).
    from: Option<String>,
}

/// A user's status (the caller's when none is named).
///
/// `GET /api/v1/users.getStatus?userId=|username=` (auth) → `{_id,
/// status, message}`, and `connectionStatus` (the connections' state) for
/// the caller's own.
#[utoipa::path(
    get,
    path = "/api/v1/users.getStatus",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    params(UserQuery),
    responses(
        (status = 200, description = "The status.", body = doc::StatusAnswer),
        (status = 400, description = "No such user (`error-invalid-user`)."),
    ),
)]
async fn get_status(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(who): Query<UserQuery>,
) -> ApiResult {
    let user = services.user_status(&caller.user, who.selector()).await?;
    // The state of the connections is the caller's own business, as in
    // Rocket.Chat: others see the status only.
    if user.id == caller.user.id {
        ok(json!({"_id": user.id, "status": user.status, "connectionStatus": user.status_connection,
                  "message": user.status_text}))
    } else {
        ok(json!({"_id": user.id, "status": user.status, "message": user.status_text}))
    }
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
    params(UserQuery),
    responses(
        (status = 200, description = "The presence.", body = doc::PresenceOfAnswer),
        (status = 400, description = "No such user (`error-invalid-user`)."),
    ),
)]
async fn get_presence(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(who): Query<UserQuery>,
) -> ApiResult {
    let user = services.user_status(&caller.user, who.selector()).await?;
    if user.id == caller.user.id {
        ok(json!({
            "presence": user.status,
            "connectionStatus": user.status_connection,
            "lastLogin": user.last_login,
        }))
    } else {
        ok(json!({"presence": user.status}))
    }
}

/// Rocket.Chat's `check()` failure for a body field.
fn match_error(detail: String) -> ApiError {
    ApiError(threadsync_domain::Error::match_failed(detail))
}

/// A body field that must be a string when present (`Match.Maybe(String)`;
/// `null` counts as absent).
fn maybe_str(body: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => {
            Err(match_error(format!("Expected string, got {} in field {path}{key}", json_type(other))))
        }
    }
}

/// A body field that must be a boolean when present (`Match.Maybe(Boolean)`).
fn maybe_bool(body: &Map<String, Value>, key: &str, path: &str) -> Result<Option<bool>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => {
            Err(match_error(format!("Expected boolean, got {} in field {path}{key}", json_type(other))))
        }
    }
}

/// The body as an object (`check(this.bodyParams, {...})`).
fn body_object(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(map) => Ok(map),
        other => Err(match_error(format!("Expected object, got {}", json_type(&other)))),
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SetStatusRequest)]
#[allow(dead_code)]
struct SetStatusBody {
    /// `online`, `away`, `busy` or `offline` (at least one of `status` and `message`).
    status: Option<String>,
    /// The status message (trimmed; the first 120 characters are kept).
    message: Option<String>,
    #[serde(rename = "userId")]
    user_id: Option<String>,
    username: Option<String>,
}

/// Sets a user's status and status message.
///
/// `POST /api/v1/users.setStatus` (auth): `{status?, message?, userId? |
/// username?}`; the caller's own, or another user's with
/// `edit-other-user-info`. Off while `Accounts_AllowUserStatusMessageChange`
/// is; `offline` needs `Accounts_AllowInvisibleStatusOption`.
#[utoipa::path(
    post,
    path = "/api/v1/users.setStatus",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = SetStatusBody,
    responses(
        (status = 200, description = "The status is set.", body = doc::Done),
        (status = 400, description = "Neither `status` nor `message`, or one of the wrong type (`Match error: …`, no `errorType`); a status other than online/away/offline/busy (`error-invalid-status`); `offline` while invisible is off (`error-status-not-allowed`); changes turned off (`error-not-allowed`); no such user (`error-invalid-user`)."),
        (status = 403, description = "Another user's status without `edit-other-user-info`: `error-unauthorized`."),
    ),
)]
async fn set_status(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<Value>,
) -> ApiResult {
    let body = body_object(body)?;
    let status = maybe_str(&body, "status", "")?;
    let message = maybe_str(&body, "message", "")?;
    let user_id = maybe_str(&body, "userId", "")?;
    let username = maybe_str(&body, "username", "")?;
    let change = StatusChange {
        who: UserSelector { user_id: user_id.as_deref(), username: username.as_deref() },
        status: status.as_deref(),
        message: message.as_deref(),
    };
    services.set_status(&caller.user, change).await?;
    ok(json!({}))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = UpdateUserRequest)]
#[allow(dead_code)]
struct UpdateBody {
    #[serde(rename = "userId")]
    user_id: String,
    data: UpdateData,
}

/// `users.update`'s `data`; every field optional.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct UpdateData {
    email: Option<String>,
    name: Option<String>,
    password: Option<String>,
    /// A new username renames the user everywhere the name is held
    /// (messages, mentions, reactions, direct rooms, subscriptions).
    username: Option<String>,
    status_text: Option<String>,
    active: Option<bool>,
    roles: Option<Vec<String>>,
    verified: Option<bool>,
    /// Accepted and ignored (threadsync keeps no welcome e-mail, password
    /// change requirement, custom fields or nickname/bio).
    join_default_channels: Option<bool>,
    require_password_change: Option<bool>,
    send_welcome_email: Option<bool>,
    #[schema(value_type = Object)]
    custom_fields: Option<Value>,
    nickname: Option<String>,
    bio: Option<String>,
}

/// Edits a user.
///
/// `POST /api/v1/users.update` (auth): `{userId, data: {username?, name?,
/// email?, verified?, password?, roles?, active?, statusText?}}` →
/// `{user}`. The caller edits itself, or another user with
/// `edit-other-user-info` (password: `edit-other-user-password`; roles:
/// `assign-roles`; active: `edit-other-user-active-status`; renaming
/// oneself: `Accounts_AllowUsernameChange`). All fields are checked, then
/// written at once; a new username is rewritten in every document holding
/// the old one, in the same transaction.
#[utoipa::path(
    post,
    path = "/api/v1/users.update",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = UpdateBody,
    responses(
        (status = 200, description = "The edited user.", body = doc::UserAnswer),
        (status = 400, description = "`userId` or `data` missing, or a field of the wrong type (`Match error: …`); no such user (`error-invalid-user`); an invalid name, address (`error-invalid-email`) or password (`error-invalid-params`); an address or username in use (`error-field-unavailable`); an invalid or blocked username (`error-invalid-username`, `error-blocked-username`); an unknown role (`error-invalid-role`); editing another user, its password or roles without the permission, renaming oneself while `Accounts_AllowUsernameChange` is off, or taking the last active admin away (`error-action-not-allowed`)."),
        (status = 403, description = "Changing another user's `active` without `edit-other-user-active-status`: `error-unauthorized`."),
    ),
)]
async fn update(State(services): State<AppState>, caller: CurrentUser, Body(body): Body<Value>) -> ApiResult {
    let body = body_object(body)?;
    let user_id = match body.get("userId") {
        None => return Err(match_error("Missing key 'userId'".into())),
        Some(Value::String(id)) => id.clone(),
        Some(other) => {
            return Err(match_error(format!("Expected string, got {} in field userId", json_type(other))))
        }
    };
    let data = match body.get("data") {
        None => return Err(match_error("Missing key 'data'".into())),
        Some(Value::Object(data)) => data,
        Some(other) => {
            return Err(match_error(format!("Expected object, got {} in field data", json_type(other))))
        }
    };
    let roles = match data.get("roles") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|r| r.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| match_error("Expected string in field data.roles".into()))?,
        ),
        Some(other) => {
            return Err(match_error(format!("Expected array, got {} in field data.roles", json_type(other))))
        }
    };
    for ignored in ["nickname", "bio"] {
        maybe_str(data, ignored, "data.")?;
    }
    for ignored in ["joinDefaultChannels", "requirePasswordChange", "sendWelcomeEmail"] {
        maybe_bool(data, ignored, "data.")?;
    }
    let update = UserUpdate {
        username: maybe_str(data, "username", "data.")?,
        name: maybe_str(data, "name", "data.")?,
        email: maybe_str(data, "email", "data.")?,
        verified: maybe_bool(data, "verified", "data.")?,
        password: maybe_str(data, "password", "data.")?,
        roles,
        active: maybe_bool(data, "active", "data.")?,
        status_text: maybe_str(data, "statusText", "data.")?,
    };
    let user = services.update_user(&caller.user, &user_id, update).await?;
    ok(json!({"user": user.public_json()}))
}

/// The caller's preferences.
///
/// `GET /api/v1/users.getPreferences` (auth) → `{preferences}`: the keys
/// the caller has set with `users.setPreferences` (the others keep the
/// server's defaults and are not listed).
#[utoipa::path(
    get,
    path = "/api/v1/users.getPreferences",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "The caller's preferences.", body = doc::PreferencesAnswer)),
)]
async fn get_preferences(State(services): State<AppState>, caller: CurrentUser) -> ApiResult {
    ok(json!({"preferences": services.preferences(&caller.user).await?}))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SetPreferencesRequest)]
#[allow(dead_code)]
struct SetPreferencesBody {
    /// Another user (needs `edit-other-user-info`); the caller by default.
    #[serde(rename = "userId")]
    user_id: Option<String>,
    /// The preferences to set: Rocket.Chat's keys (`useEmojis`,
    /// `language`, `sidebarSortby`, `highlights`, ...), each of its type;
    /// other keys are not stored.
    #[schema(value_type = Object)]
    data: Value,
}

/// Sets preferences.
///
/// `POST /api/v1/users.setPreferences` (auth): `{userId?, data}` →
/// `{user: {_id, settings: {preferences}}}`; the keys given replace the
/// stored ones, the others stay.
#[utoipa::path(
    post,
    path = "/api/v1/users.setPreferences",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = SetPreferencesBody,
    responses(
        (status = 200, description = "Every preference the user has set.", body = doc::SetPreferencesAnswer),
        (status = 400, description = "`data` missing or a known key of the wrong type (`Match error: …`); another user without `edit-other-user-info` (`error-action-not-allowed`); no such user (`error-invalid-user`)."),
    ),
)]
async fn set_preferences(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<Value>,
) -> ApiResult {
    let body = body_object(body)?;
    let user_id = maybe_str(&body, "userId", "")?;
    let data = match body.get("data") {
        None => return Err(match_error("Missing key 'data'".into())),
        Some(Value::Object(data)) => data,
        Some(other) => {
            return Err(match_error(format!("Expected object, got {} in field data", json_type(other))))
        }
    };
    let (id, preferences) = services.set_preferences(&caller.user, user_id.as_deref(), data).await?;
    ok(json!({"user": {"_id": id, "settings": {"preferences": preferences}}}))
}

/// A free username for the caller.
///
/// `GET /api/v1/users.getUsernameSuggestion` (auth) → `{result}`: made
/// from the caller's name, else its address, numbered when taken.
#[utoipa::path(
    get,
    path = "/api/v1/users.getUsernameSuggestion",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "A username no one holds.", body = doc::UsernameSuggestionAnswer)),
)]
async fn get_username_suggestion(State(services): State<AppState>, caller: CurrentUser) -> ApiResult {
    ok(json!({"result": services.username_suggestion(&caller.user).await?}))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ForgotPasswordRequest)]
#[allow(dead_code)]
struct ForgotPasswordBody {
    email: String,
}

/// Asks for a password reset.
///
/// `POST /api/v1/users.forgotPassword` (no auth): `{email}`. Always
/// succeeds, whether or not an account has the address (the answer must
/// not tell); threadsync sends no mail and logs the request (docs/rest.md).
#[utoipa::path(
    post,
    path = "/api/v1/users.forgotPassword",
    tag = "users",
    request_body = ForgotPasswordBody,
    responses(
        (status = 200, description = "The request is accepted.", body = doc::Done),
        (status = 400, description = "No `email`: `The 'email' param is required` (no `errorType`)."),
    ),
)]
async fn forgot_password(State(services): State<AppState>, Body(body): Body<Value>) -> ApiResult {
    let body = body_object(body)?;
    let email = match body.get("email") {
        Some(Value::String(email)) if !email.trim().is_empty() => email.clone(),
        _ => return Err(ApiError(threadsync_domain::Error::from(Reject::EmailRequired))),
    };
    services.forgot_password(&email).await?;
    ok(json!({}))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CreateTokenRequest)]
#[allow(dead_code)]
struct CreateTokenBody {
    /// The user (the caller's own by `userId` or `username`; another user's
    /// needs `user-generate-access-token`).
    #[serde(rename = "userId")]
    user_id: Option<String>,
    username: Option<String>,
    /// Required when the server sets `CREATE_TOKENS_FOR_USERS_SECRET`.
    secret: Option<String>,
}

/// Issues a login token for a user.
///
/// `POST /api/v1/users.createToken` (auth): `{userId | username, secret?}`
/// → `{data: {userId, authToken}}`; only while the server runs with
/// `CREATE_TOKENS_FOR_USERS` (off by default), for the caller itself or,
/// with `user-generate-access-token`, for anyone.
#[utoipa::path(
    post,
    path = "/api/v1/users.createToken",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = CreateTokenBody,
    responses(
        (status = 200, description = "A new token of the user.", body = doc::CreateTokenAnswer),
        (status = 400, description = "No user named (`error-user-param-not-provided`); no such user; tokens not allowed on this server, another user without the permission, a wrong secret or an inactive user (`Not authorized [error-not-authorized]`)."),
    ),
)]
async fn create_token(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<Value>,
) -> ApiResult {
    let body = body_object(body)?;
    let user_id = maybe_str(&body, "userId", "")?;
    let username = maybe_str(&body, "username", "")?;
    let secret = maybe_str(&body, "secret", "")?;
    let who = UserSelector { user_id: user_id.as_deref(), username: username.as_deref() };
    let session = services.create_token(&caller.user, who, secret.as_deref()).await?;
    ok(json!({"data": {"userId": session.user.id, "authToken": session.token}}))
}
