//! Roles and permissions: `permissions.listAll`, `roles.list`,
//! `roles.getUsersInPublicRoles` (the built-in table, docs/rest.md#roles).

use crate::extract::{CurrentUser, Params};
use crate::openapi::schemas as doc;
use crate::response::{ok, ApiResult};
use crate::AppState;
use axum::extract::State;
use serde_json::{json, Value};
use threadsync_domain::permissions::{PERMISSIONS, ROLES, TABLE_UPDATED_AT};
use threadsync_domain::{Error, Timestamp};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_all))
        .routes(routes!(roles_list))
        .routes(routes!(users_in_public_roles))
}

/// Every permission and the roles holding it.
///
/// `GET /api/v1/permissions.listAll?updatedSince=` (auth) →
/// `{update: [{_id, roles, _updatedAt}], remove: []}`; with `updatedSince`,
/// only permissions changed after it. A bad date:
/// `The "updatedSince" query parameter must be a valid date. [error-updatedSince-param-invalid]`.
#[utoipa::path(
    get,
    path = "/api/v1/permissions.listAll",
    tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    params(
        ("updatedSince" = Option<String>, Query, description = "ISO date: only permissions changed after it."),
    ),
    responses(
        (status = 200, description = "The permissions.", body = doc::PermissionsAnswer),
        (status = 400, description = "`updatedSince` is not a date (`error-updatedSince-param-invalid`)."),
    ),
)]
async fn list_all(_caller: CurrentUser, params: Params) -> ApiResult {
    let since = match params.get("updatedSince") {
        None => None,
        Some(raw) => Some(Timestamp::parse(raw).ok_or_else(|| {
            Error::rejected(
                "The \"updatedSince\" query parameter must be a valid date.",
                "error-updatedSince-param-invalid",
            )
        })?),
    };
    let update: Vec<Value> = if since.is_some_and(|s| s >= TABLE_UPDATED_AT) {
        Vec::new()
    } else {
        PERMISSIONS
            .iter()
            .map(|(id, roles)| json!({"_id": id, "roles": roles, "_updatedAt": TABLE_UPDATED_AT}))
            .collect()
    };
    ok(json!({"update": update, "remove": []}))
}

/// Every role.
///
/// `GET /api/v1/roles.list` (auth) → `{roles: [{_id, name, scope,
/// description, protected, mandatory2fa, _updatedAt}]}`.
#[utoipa::path(
    get,
    path = "/api/v1/roles.list",
    tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    responses(
        (status = 200, description = "The roles.", body = doc::RolesAnswer),
    ),
)]
async fn roles_list(_caller: CurrentUser) -> ApiResult {
    let roles: Vec<Value> = ROLES
        .iter()
        .map(|r| {
            json!({
                "_id": r.id,
                "name": r.id,
                "scope": r.scope.as_str(),
                "description": r.description,
                "protected": true,
                "mandatory2fa": false,
                "_updatedAt": TABLE_UPDATED_AT,
            })
        })
        .collect();
    ok(json!({"roles": roles}))
}

/// Users holding a role besides `user`.
///
/// `GET /api/v1/roles.getUsersInPublicRoles` (auth) → `{users: [{_id,
/// username, roles}]}`: admins, bots and the like, by username.
#[utoipa::path(
    get,
    path = "/api/v1/roles.getUsersInPublicRoles",
    tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    responses(
        (status = 200, description = "The users and their roles.", body = doc::UsersInRolesAnswer),
    ),
)]
async fn users_in_public_roles(State(services): State<AppState>, _caller: CurrentUser) -> ApiResult {
    let users: Vec<Value> = services
        .users_in_public_roles()
        .await?
        .iter()
        .map(|u| json!({"_id": u.id, "username": u.username, "roles": u.roles}))
        .collect();
    ok(json!({"users": users}))
}
