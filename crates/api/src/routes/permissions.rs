//! Roles and permissions: `permissions.listAll`, `permissions.update`,
//! `roles.list`, `roles.getUsersInPublicRoles`, `roles.getUsersInRole`,
//! `roles.addUserToRole`, `roles.removeUserFromRole`, and admins' own
//! roles: `roles.create`, `roles.update`, `roles.delete`
//! (docs/rest.md#roles-and-permissions).

use crate::extract::{Body, CurrentUser, Query};
use crate::openapi::schemas as doc;
use crate::requests::{PageQuery, UpdatedSinceQuery};
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use threadsync_domain::permissions::{PermissionTable, Role};
use threadsync_domain::{param, Reject};
use threadsync_domain::{Error, Timestamp};
use threadsync_service::{
    role_to_delete, role_to_update, PermissionUpdate, RoleAssignment, RoleFields, UserSelector,
};
use utoipa::IntoParams;
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(list_all))
        .merge(routes!(update))
        .merge(routes!(roles_list))
        .merge(routes!(roles_sync))
        .merge(routes!(users_in_public_roles))
        .merge(routes!(users_in_role))
        .merge(routes!(add_user_to_role))
        .merge(routes!(remove_user_from_role))
        .merge(routes!(roles_create))
        .merge(routes!(roles_update))
        .merge(routes!(roles_delete))
}

/// The users holding a role.
///
/// `GET /api/v1/roles.getUsersInRole?role=&roomId=&count=&offset=` (auth,
/// `access-permissions`; with `roomId` also `view-other-user-channels`) →
/// `{users: [{_id, username, name, emails, createdAt, _updatedAt}], total}`,
/// by username. A room role (owner, moderator, leader) counts in the named
/// room, or in any room without `roomId`.
#[utoipa::path(
    get,
    path = "/api/v1/roles.getUsersInRole",
    tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    params(UsersInRoleQuery, PageQuery),
    responses(
        (status = 200, description = "A page of the role's users.", body = doc::UsersInRoleAnswer),
        (status = 400, description = "No `role` (`error-param-not-provided`); the caller lacks `access-permissions`, or `view-other-user-channels` with `roomId` (`error-not-allowed`); no such role (`error-invalid-roleId`); bad `count` / `offset`."),
    ),
)]
async fn users_in_role(
    State(services): State<AppState>,
    caller: CurrentUser,
    Query(request): Query<UsersInRoleQuery>,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    // Rocket.Chat reads the page before anything else.
    let paging = page.paging(&services)?;
    let listing = services
        .users_in_role(
            &caller.user,
            param::required(request.role.as_deref(), Reject::RoleParamMissing),
            request.room_id.as_deref(),
            paging,
        )
        .await?;
    let users: Vec<Value> = listing
        .items
        .iter()
        .map(|u| {
            json!({"_id": u.id, "username": u.username, "name": u.name, "emails": u.emails,
                   "createdAt": u.created_at, "_updatedAt": u.updated_at})
        })
        .collect();
    ok(json!({"users": users, "total": listing.total}))
}

/// `roles.getUsersInRole`' own parameters.
#[derive(serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct UsersInRoleQuery {
    /// The role's id (also its name).
    #[param(required = true, value_type = String)]
    role: Option<String>,
    /// For a room role: only this room.
    #[param(rename = "roomId")]
    room_id: Option<String>,
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
    params(UpdatedSinceQuery),
    responses(
        (status = 200, description = "The permissions.", body = doc::PermissionsAnswer),
        (status = 400, description = "`updatedSince` is not a date (`error-updatedSince-param-invalid`)."),
    ),
)]
async fn list_all(
    State(services): State<AppState>,
    _caller: CurrentUser,
    Query(request): Query<UpdatedSinceQuery>,
) -> ApiResult {
    let since = match request.updated_since.as_deref() {
        None => None,
        Some(raw) => Some(Timestamp::parse(raw).ok_or_else(|| Error::from(Reject::UpdatedSinceInvalid))?),
    };
    let table = services.permissions();
    let update: Vec<Value> = table
        .entries()
        .filter(|(_, _, at)| since.is_none_or(|s| *at > s))
        .map(|(id, roles, at)| json!({"_id": id, "roles": roles, "_updatedAt": at}))
        .collect();
    ok(json!({"update": update, "remove": []}))
}

/// `{permissions: [...], success}` as `permissions.update` answers.
fn all_permissions(table: &PermissionTable) -> Value {
    let permissions: Vec<Value> =
        table.entries().map(|(id, roles, at)| json!({"_id": id, "roles": roles, "_updatedAt": at})).collect();
    json!({"permissions": permissions})
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[schema(as = PermissionsUpdateRequest)]
struct UpdateBody {
    /// `[{_id, roles}]`: each permission's new roles (replacing the old).
    #[schema(value_type = Vec<Object>)]
    permissions: Option<Value>,
}

/// Replaces the roles of the permissions given.
///
/// `POST /api/v1/permissions.update {permissions: [{_id, roles}]}` (needs
/// `access-permissions`, else 403) → `{permissions: [every permission]}`.
/// Checked in Rocket.Chat's order: the body's shape (`Invalid body params
/// [error-invalid-body-params]`), then every permission exists (`Invalid
/// permission [error-invalid-permission]`), then every role (`Invalid role
/// [error-invalid-role]`); all or nothing. The change applies at once to
/// every later access decision, on every instance sharing the store.
#[utoipa::path(
    post,
    path = "/api/v1/permissions.update",
    tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    request_body = UpdateBody,
    responses(
        (status = 200, description = "Every permission, after the change.", body = doc::PermissionsUpdateAnswer),
        (status = 400, description = "A malformed body, an unknown permission or an unknown role."),
        (status = 403, description = "The caller lacks `access-permissions`."),
    ),
)]
async fn update(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<UpdateBody>,
) -> ApiResult {
    services.require_global_permission(&caller.user, "access-permissions")?;
    let invalid = || Error::from(Reject::InvalidBodyParams);
    let items = body.permissions.as_ref().and_then(Value::as_array).ok_or_else(invalid)?;
    let mut updates = Vec::with_capacity(items.len());
    for item in items {
        let id = item.get("_id").and_then(Value::as_str).ok_or_else(invalid)?;
        let roles = item.get("roles").and_then(Value::as_array).ok_or_else(invalid)?;
        let roles = roles
            .iter()
            .map(|r| r.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(invalid)?;
        updates.push(PermissionUpdate { id: id.to_owned(), roles });
    }
    let table = services.update_permissions(&caller.user, updates).await?;
    ok(all_permissions(&table))
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
async fn roles_list(State(services): State<AppState>, _caller: CurrentUser) -> ApiResult {
    let roles: Vec<Value> = services.permissions().roles().iter().map(role_json).collect();
    ok(json!({"roles": roles}))
}

/// The roles changed since a date.
///
/// `GET /api/v1/roles.sync?updatedSince=` (auth) → `{roles: {update:
/// [role], remove: [{_id, _deletedAt}]}}`: the roles changed after the date
/// (built-in ones with the date the built-in table last changed) and the
/// admins' roles deleted after it, remembered for ever, so a client that
/// synced before learns of every removal. `updatedSince` missing or not a
/// date: `The "updatedSince" query parameter must be a valid date.
/// [error-updatedSince-param-invalid]`.
#[utoipa::path(
    get,
    path = "/api/v1/roles.sync",
    tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    params(RolesSyncQuery),
    responses(
        (status = 200, description = "The changed and the removed roles.", body = doc::RolesSyncAnswer),
        (status = 400, description = "`updatedSince` missing or not a date (`error-updatedSince-param-invalid`)."),
    ),
)]
async fn roles_sync(
    State(services): State<AppState>,
    _caller: CurrentUser,
    Query(request): Query<RolesSyncQuery>,
) -> ApiResult {
    let since = request
        .updated_since
        .as_deref()
        .and_then(Timestamp::parse)
        .ok_or_else(|| Error::from(Reject::UpdatedSinceInvalid))?;
    let (changed, removed) = services.roles_since(since).await?;
    let update: Vec<Value> = changed.iter().map(role_json).collect();
    let remove: Vec<Value> = removed.iter().map(|(id, at)| json!({"_id": id, "_deletedAt": at})).collect();
    ok(json!({"roles": {"update": update, "remove": remove}}))
}

/// A role as Rocket.Chat describes it.
fn role_json(role: &Role) -> Value {
    json!({
        "_id": role.id,
        "name": role.name,
        "scope": role.scope.as_str(),
        "description": role.description,
        "protected": role.protected,
        "mandatory2fa": role.mandatory2fa,
        "_updatedAt": role.updated_at,
    })
}

/// The body of `roles.create` and `roles.update`.
#[derive(Deserialize, ToSchema)]
#[schema(as = RoleRequest)]
#[serde(rename_all = "camelCase")]
struct RoleBody {
    /// `roles.update`: the role to change.
    role_id: Option<String>,
    name: Option<String>,
    /// `Users` (the default) or `Subscriptions`.
    scope: Option<String>,
    description: Option<String>,
    mandatory2fa: Option<bool>,
}

impl RoleBody {
    fn fields(self) -> (Option<String>, RoleFields) {
        let fields = RoleFields {
            name: self.name,
            scope: self.scope,
            description: self.description,
            mandatory2fa: self.mandatory2fa,
        };
        (self.role_id, fields)
    }
}

/// Creates a role.
///
/// `POST /api/v1/roles.create` (auth, `access-permissions`) `{name, scope?,
/// description?, mandatory2fa?}` → `{role}` with a new random `_id`; the
/// role can then be granted (`roles.addUserToRole`) and given permissions
/// (`permissions.update`), on every instance at once.
#[utoipa::path(
    post,
    path = "/api/v1/roles.create",
    tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    request_body = RoleBody,
    responses(
        (status = 200, description = "The new role.", body = doc::RoleAnswer),
        (status = 400, description = "The caller lacks `access-permissions` (`error-action-not-allowed`); no `name` (`error-invalid-role-properties`); a name taken (`error-duplicate-role-names-not-allowed`); a scope other than `Users` or `Subscriptions` (`error-invalid-scope`)."),
    ),
)]
async fn roles_create(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoleBody>,
) -> ApiResult {
    let (_, fields) = body.fields();
    let role = services.create_role(&caller.user, fields).await?;
    ok(json!({"role": role_json(&role)}))
}

/// Changes a role an admin created.
///
/// `POST /api/v1/roles.update` (auth, `access-permissions`) `{roleId, name?,
/// scope?, description?, mandatory2fa?}` → `{role}`; built-in roles are
/// protected.
#[utoipa::path(
    post,
    path = "/api/v1/roles.update",
    tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    request_body = RoleBody,
    responses(
        (status = 200, description = "The role as it is now.", body = doc::RoleAnswer),
        (status = 400, description = "The caller lacks `access-permissions` (`error-action-not-allowed`); no such role (`error-invalid-roleId`); a built-in role (`error-role-protected`); a name taken (`error-duplicate-role-names-not-allowed`); a bad scope (`error-invalid-scope`)."),
    ),
)]
async fn roles_update(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoleBody>,
) -> ApiResult {
    let (role_id, fields) = body.fields();
    let role = services.update_role(&caller.user, role_to_update(role_id.as_deref()), fields).await?;
    ok(json!({"role": role_json(&role)}))
}

/// The body of `roles.delete`.
#[derive(Deserialize, ToSchema)]
#[schema(as = RoleDeleteRequest)]
#[serde(rename_all = "camelCase")]
struct RoleDeleteBody {
    /// The role's id (or its name).
    role_id: Option<String>,
}

/// Deletes a role an admin created, once nobody holds it.
///
/// `POST /api/v1/roles.delete` (auth, `access-permissions`: 403 without)
/// `{roleId}` → `{}`.
#[utoipa::path(
    post,
    path = "/api/v1/roles.delete",
    tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    request_body = RoleDeleteBody,
    responses(
        (status = 200, description = "The role is deleted.", body = doc::Done),
        (status = 400, description = "No `roleId` (`error-invalid-role-properties`); no such role (`error-invalid-roleId`); a built-in role (`error-role-protected`); a role someone holds (`error-role-in-use`)."),
        (status = 403, description = "The caller lacks `access-permissions` (`error-unauthorized`)."),
    ),
)]
async fn roles_delete(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoleDeleteBody>,
) -> ApiResult {
    services.delete_role(&caller.user, role_to_delete(body.role_id.as_deref())).await?;
    ok(json!({}))
}

/// The body of `roles.addUserToRole` and `roles.removeUserFromRole`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RoleAssignmentBody {
    /// The role's name (or `roleId`: the same for every role).
    role_name: Option<String>,
    role_id: Option<String>,
    /// The user (or `userId`).
    username: Option<String>,
    user_id: Option<String>,
    /// For a room role (owner, moderator, leader) in `addUserToRole`: the room.
    room_id: Option<String>,
    /// For a room role in `removeUserFromRole`: the room.
    scope: Option<String>,
}

impl RoleAssignmentBody {
    fn role(&self) -> Option<&str> {
        self.role_id.as_deref().filter(|r| !r.is_empty()).or(self.role_name.as_deref())
    }

    fn user(&self) -> UserSelector<'_> {
        UserSelector { user_id: self.user_id.as_deref(), username: self.username.as_deref() }
    }
}

/// Grants a user a role, everywhere or in one room.
///
/// `POST /api/v1/roles.addUserToRole` (auth, `access-permissions`; `admin`
/// also `assign-admin-role`) `{roleName | roleId, username | userId,
/// roomId?}` → `{role}` (docs/rest.md#roles-and-permissions).
#[utoipa::path(
    post,
    path = "/api/v1/roles.addUserToRole",
    tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    request_body = RoleAssignmentBody,
    responses(
        (status = 200, description = "The role granted.", body = doc::RoleAnswer),
        (status = 400, description = "No role named (`error-invalid-role-properties`); the caller lacks `access-permissions` or, for `admin`, `assign-admin-role` (`error-action-not-allowed`); no such role (`error-role-not-found`) or user (`error-invalid-user`); a room role without `roomId` (`error-invalid-arguments`) or for a non-member (`error-invalid-user`); already held (`error-user-already-in-role`)."),
    ),
)]
async fn add_user_to_role(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoleAssignmentBody>,
) -> ApiResult {
    let request = RoleAssignment::grant(body.role(), body.user(), body.room_id.as_deref());
    let role = services.add_user_to_role(&caller.user, request).await?;
    ok(json!({"role": role_json(&role)}))
}

/// Takes a role from a user, everywhere or in one room.
///
/// `POST /api/v1/roles.removeUserFromRole` (auth, `access-permissions`)
/// `{roleName | roleId, username | userId, scope?}` → `{role}`; the last
/// admin keeps `admin` and a room its last owner.
#[utoipa::path(
    post,
    path = "/api/v1/roles.removeUserFromRole",
    tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    request_body = RoleAssignmentBody,
    responses(
        (status = 200, description = "The role taken.", body = doc::RoleAnswer),
        (status = 400, description = "No role named (`error-invalid-role-properties`); the caller lacks `access-permissions` (`error-not-allowed`); no such role (`error-invalid-roleId`) or user (`error-invalid-user`); not held (`error-user-not-in-role`); the last admin (`error-admin-required`) or a room's last owner (`error-remove-last-owner`)."),
    ),
)]
async fn remove_user_from_role(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<RoleAssignmentBody>,
) -> ApiResult {
    let request = RoleAssignment::revoke(body.role(), body.user(), body.scope.as_deref());
    let role = services.remove_user_from_role(&caller.user, request).await?;
    ok(json!({"role": role_json(&role)}))
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

/// `roles.sync`' parameter.
#[derive(serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct RolesSyncQuery {
    /// ISO date: the roles changed after it.
    #[param(rename = "updatedSince", required = true, value_type = String)]
    updated_since: Option<String>,
}
