//! The permission table in force, and the one question every access
//! decision asks of it: does this user hold this permission, here?
//! (`permissions.listAll`, `permissions.update`; docs/rest.md#roles-and-permissions).
//!
//! A user's roles are their global roles (`User::roles`: admin, user, bot,
//! ...) plus, inside a room, the roles of their subscription there (owner,
//! moderator, leader). Rocket.Chat's `hasPermission(uid, permission, rid)`
//! is the same union. The table itself is Rocket.Chat's defaults with the
//! admin's stored changes over them; it lives in memory behind an `Arc`
//! (asked on many requests, changed rarely) and is reloaded whenever any
//! instance announces a configuration change (lib.rs, `watch_configuration`).

use crate::rooms::UserSelector;
use crate::Services;
use std::sync::Arc;
use threadsync_domain::permissions::{default_roles, PermissionChange, PermissionTable, Role, RoleScope};
use threadsync_domain::{param, Param, Reject};
use threadsync_domain::{Error, Result, Subscription, Timestamp, User};
use threadsync_storage::{ReadChange, RoleFilter, StorageError, Store, UserListQuery, UserPatch};

/// Which role route is asking (their refusals differ in words).
#[derive(Clone, Copy)]
enum Assignment {
    Add,
    Remove,
}

/// A `roles.addUserToRole` / `roles.removeUserFromRole` request: the role
/// (`roleId` or `roleName`), the user, and the room of a room role
/// (`roomId` to add, `scope` to remove), read by the edge with
/// [`RoleAssignment::grant`] or [`RoleAssignment::revoke`].
#[derive(Clone, Debug)]
pub struct RoleAssignment<'a> {
    pub role: Param<&'a str>,
    pub user: UserSelector<'a>,
    pub room: Param<&'a str>,
}

impl<'a> RoleAssignment<'a> {
    /// `roles.addUserToRole`: a room role without `roomId` is
    /// `error-invalid-arguments`.
    pub fn grant(role: Option<&'a str>, user: UserSelector<'a>, room_id: Option<&'a str>) -> Self {
        RoleAssignment {
            role: role_name(role),
            user,
            room: param::required_text(room_id, Reject::InvalidArguments),
        }
    }

    /// `roles.removeUserFromRole`: a room role without `scope` is `User is
    /// not in this role` (no room to hold it in).
    pub fn revoke(role: Option<&'a str>, user: UserSelector<'a>, scope: Option<&'a str>) -> Self {
        RoleAssignment {
            role: role_name(role),
            user,
            room: param::required_text(scope, Reject::UserNotInRole),
        }
    }
}

/// A role named by a request, trimmed; blank or absent is `Invalid role
/// properties`.
fn role_name(raw: Option<&str>) -> Param<&str> {
    param::required_trimmed(raw, Reject::InvalidRoleProperties)
}

/// The `roleId` of `roles.update` (absent or empty: `This role does not
/// exist`, checked after the caller's permission).
pub fn role_to_update(raw: Option<&str>) -> Param<&str> {
    param::required_nonempty(raw, Reject::RoleDoesNotExist)
}

/// The `roleId` of `roles.delete` (absent or empty: `Invalid role
/// properties`, checked after the caller's permission).
pub fn role_to_delete(raw: Option<&str>) -> Param<&str> {
    param::required_nonempty(raw, Reject::InvalidRoleProperties)
}

/// One entry of a `permissions.update` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionUpdate {
    pub id: String,
    pub roles: Vec<String>,
}

/// The table as stored: the admin's permission changes and roles over the
/// defaults.
pub(crate) async fn load_table(store: &dyn Store) -> Result<PermissionTable> {
    let changes = store.load_permissions().await?;
    Ok(PermissionTable::new(changes).with_roles(store.load_roles().await?))
}

/// What `roles.create` and `roles.update` are asked to set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleFields {
    pub name: Option<String>,
    /// `Users` or `Subscriptions`.
    pub scope: Option<String>,
    pub description: Option<String>,
    pub mandatory2fa: Option<bool>,
}

fn accessing_permissions() -> Error {
    Error::from(Reject::AccessPermissionsNotAllowed)
}

fn duplicate_role_name() -> Error {
    Error::from(Reject::RoleNameTaken)
}

fn invalid_scope() -> Error {
    Error::from(Reject::InvalidScope)
}

impl Services {
    /// The table in force (one consistent snapshot).
    pub fn permissions(&self) -> Arc<PermissionTable> {
        match self.permissions.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Whether `user` holds `permission` by a global role alone.
    pub fn has_global_permission(&self, user: &User, permission: &str) -> bool {
        self.permissions().holds(permission, user.roles.iter().map(String::as_str))
    }

    /// Whether `user` holds `permission` in room `rid`: by a global role, or
    /// by a role of their subscription to the room. The subscription is
    /// read only when the global roles do not already answer yes.
    pub async fn has_permission(&self, user: &User, permission: &str, rid: &str) -> Result<bool> {
        let table = self.permissions();
        if table.holds(permission, user.roles.iter().map(String::as_str)) {
            return Ok(true);
        }
        let Some(subscription) = self.store.subscription(rid, &user.id).await? else {
            return Ok(false);
        };
        Ok(table.holds(permission, subscription.roles.iter().map(String::as_str)))
    }

    /// Whether `user` holds `permission` in the room of `subscription`
    /// (their subscription there, already read; `None`: not a member).
    pub(crate) fn holds_here(
        &self,
        user: &User,
        subscription: Option<&Subscription>,
        permission: &str,
    ) -> bool {
        let roles = user.roles.iter().chain(subscription.into_iter().flat_map(|s| s.roles.iter()));
        self.permissions().holds(permission, roles.map(String::as_str))
    }

    /// Refuses with Rocket.Chat's 403 unless `user` holds `permission`
    /// globally (the check of routes declared with `permissionsRequired`).
    pub fn require_global_permission(&self, user: &User, permission: &str) -> Result<()> {
        if self.has_global_permission(user, permission) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// `permissions.update`: needs `access-permissions`. Every permission
    /// must exist (`Invalid permission [error-invalid-permission]`) and
    /// every role named must exist (`Invalid role [error-invalid-role]`);
    /// nothing is changed unless all are valid. The changes are stored in
    /// one transaction, then the table in force is replaced here and, via
    /// the store's configuration event, on every other instance.
    pub async fn update_permissions(
        &self,
        caller: &User,
        updates: Vec<PermissionUpdate>,
    ) -> Result<Arc<PermissionTable>> {
        self.require_global_permission(caller, "access-permissions")?;
        if updates.iter().any(|u| default_roles(&u.id).is_none()) {
            return Err(Error::from(Reject::InvalidPermission));
        }
        // Roles by id or name (an admin's role has a random id), stored by id.
        let table = self.permissions();
        let mut updates = updates;
        for update in &mut updates {
            for r in &mut update.roles {
                *r = table.role(r).ok_or_else(|| Error::from(Reject::InvalidRole))?.id;
            }
        }
        let now = Timestamp::now();
        let changes: Vec<PermissionChange> = updates
            .into_iter()
            .map(|u| {
                let mut roles = u.roles;
                // A role named twice holds the permission once.
                let mut seen = std::collections::HashSet::new();
                roles.retain(|r| seen.insert(r.clone()));
                PermissionChange { id: u.id, roles, updated_at: now }
            })
            .collect();
        // One writer at a time (with the configuration reload), so the
        // stored table and the snapshot end up equal.
        let _one_writer = self.settings_write.lock().await;
        if !changes.is_empty() {
            self.store.save_permissions(&changes).await?;
        }
        self.reload_permissions().await
    }

    /// `roles.addUserToRole {roleName | roleId, username | userId, roomId?}`.
    /// Checks, in order: a role named (`The role properties are invalid.
    /// [error-invalid-role-properties]`); the caller holds
    /// `access-permissions` (`Accessing permissions is not allowed
    /// [error-action-not-allowed]`; Rocket.Chat checks it last, which lets
    /// anyone probe who holds a role); the role exists (`Role not found
    /// [error-role-not-found]`); granting `admin` needs `assign-admin-role`
    /// (`Assigning admin is not allowed`); the user exists; a room role
    /// (owner, moderator, leader) names a room the user is in (`roomId`
    /// missing: `error-invalid-arguments`; not a member: `User is not part
    /// of given room [error-invalid-user]`); the user does not hold it yet
    /// (`User already in role [error-user-already-in-role]`). A global
    /// role is granted in the user's own transaction, a room role in the
    /// member's subscription, so concurrent grants never undo each other.
    pub async fn add_user_to_role(&self, caller: &User, request: RoleAssignment<'_>) -> Result<Role> {
        let RoleAssignment { role, user: target, room } = request;
        let (role, user) = self.role_target(caller, role, target, Assignment::Add).await?;
        if role.id == "admin" && !self.has_global_permission(caller, "assign-admin-role") {
            return Err(Error::from(Reject::AssignAdminNotAllowed));
        }
        let already = || Error::from(Reject::UserAlreadyInRole);
        match role.scope {
            RoleScope::Users => {
                if user.roles.contains(&role.id) {
                    return Err(already());
                }
                let patch = UserPatch { role: Some((role.id.clone(), true)), ..UserPatch::default() };
                self.store.update_user(&user.id, &patch).await?;
            }
            RoleScope::Subscriptions => {
                let rid = room?;
                let not_member = || Error::from(Reject::UserNotInGivenRoom);
                let subscription = self.store.subscription(rid, &user.id).await?.ok_or_else(not_member)?;
                if subscription.roles.contains(&role.id) {
                    return Err(already());
                }
                let change = ReadChange::Role { role: role.id.clone(), on: true };
                self.store.set_read_state(rid, &user.id, change).await?.ok_or_else(not_member)?;
            }
        }
        Ok(role)
    }

    /// `roles.removeUserFromRole {roleName | roleId, username | userId,
    /// scope?}` (`scope`: the room of a room role). Checks, in Rocket.Chat's
    /// order: a role named; `access-permissions` (`Accessing permissions
    /// is not allowed [error-not-allowed]`); the role (`This role does not
    /// exist [error-invalid-roleId]`); the user; the user holds it (`User
    /// is not in this role [error-user-not-in-role]`); the last active
    /// admin keeps `admin` and a room its last owner (`You need to have at
    /// least one admin [error-admin-required]`, `error-remove-last-owner`),
    /// both decided in the store's transaction.
    pub async fn remove_user_from_role(&self, caller: &User, request: RoleAssignment<'_>) -> Result<Role> {
        let RoleAssignment { role, user: target, room } = request;
        let (role, user) = self.role_target(caller, role, target, Assignment::Remove).await?;
        let not_in_role = || Error::from(Reject::UserNotInRole);
        match role.scope {
            RoleScope::Users => {
                if !user.roles.contains(&role.id) {
                    return Err(not_in_role());
                }
                let patch = UserPatch { role: Some((role.id.clone(), false)), ..UserPatch::default() };
                match self.store.update_user(&user.id, &patch).await {
                    Ok(_) => {}
                    Err(StorageError::Invalid("last_active_admin")) => {
                        return Err(Error::from(Reject::AdminRequired))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            RoleScope::Subscriptions => {
                let rid = room?;
                let subscription = self.store.subscription(rid, &user.id).await?.ok_or_else(not_in_role)?;
                if !subscription.roles.contains(&role.id) {
                    return Err(not_in_role());
                }
                match self
                    .store
                    .set_read_state(rid, &user.id, ReadChange::Role { role: role.id.clone(), on: false })
                    .await
                {
                    Ok(Some(_)) => {}
                    Ok(None) => return Err(not_in_role()),
                    Err(StorageError::Invalid("last owner")) => {
                        return Err(Error::from(Reject::RemoveLastOwner))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(role)
    }

    /// The checks both role assignments share: a role named, the caller's
    /// `access-permissions`, the role, the user (each route words its
    /// refusals its own way, as Rocket.Chat's do).
    async fn role_target(
        &self,
        caller: &User,
        role_name: Param<&str>,
        target: UserSelector<'_>,
        assignment: Assignment,
    ) -> Result<(Role, User)> {
        let role_name = role_name?;
        if !self.has_global_permission(caller, "access-permissions") {
            return Err(Error::from(match assignment {
                Assignment::Add => Reject::AccessPermissionsNotAllowed,
                Assignment::Remove => Reject::AccessPermissionsNotAllowedRemove,
            }));
        }
        let role = self.permissions().role(role_name).ok_or_else(|| match assignment {
            Assignment::Add => Error::from(Reject::RoleNotFound),
            Assignment::Remove => Error::from(Reject::RoleDoesNotExist),
        })?;
        let user = self.target_user(target).await?;
        Ok((role, user))
    }

    /// `roles.create {name, scope?, description?, mandatory2fa?}`. Needs
    /// `access-permissions` (`Accessing permissions is not allowed
    /// [error-action-not-allowed]`); a name no role has as its id or name
    /// (`Role name already exists
    /// [error-duplicate-role-names-not-allowed]`); scope `Users` (the
    /// default) or `Subscriptions` (`Invalid scope [error-invalid-scope]`).
    /// The new role has a random id; the table in force is reloaded here
    /// and, by the store's event, on every instance. Rocket.Chat sells this
    /// as a premium feature; here it is simply there.
    pub async fn create_role(&self, caller: &User, fields: RoleFields) -> Result<Role> {
        if !self.has_global_permission(caller, "access-permissions") {
            return Err(accessing_permissions());
        }
        let name = fields
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::from(Reject::InvalidRoleProperties))?;
        let _one_writer = self.settings_write.lock().await;
        if self.permissions().role(name).is_some() {
            return Err(duplicate_role_name());
        }
        let scope = match fields.scope.as_deref().filter(|s| !s.is_empty()) {
            None => RoleScope::Users,
            Some(scope) => RoleScope::parse(scope).ok_or_else(invalid_scope)?,
        };
        let role = Role {
            id: threadsync_domain::id::new_id(),
            name: name.to_owned(),
            scope,
            description: fields.description.unwrap_or_default(),
            protected: false,
            mandatory2fa: fields.mandatory2fa.unwrap_or(false),
            updated_at: Timestamp::now(),
        };
        self.save_role(&role).await?;
        Ok(role)
    }

    /// `roles.update {roleId, name?, scope?, description?, mandatory2fa?}`:
    /// needs `access-permissions`; the role by id (`This role does not
    /// exist [error-invalid-roleId]`); not a built-in one (`Role is
    /// protected [error-role-protected]`: Rocket.Chat lets a built-in
    /// role's description change; here built-in roles are code, not data);
    /// a valid scope; a new name no other role has. Fields not given keep
    /// their values.
    ///
    /// `roleId` is read by the edge with [`role_to_update`].
    pub async fn update_role(&self, caller: &User, role_id: Param<&str>, fields: RoleFields) -> Result<Role> {
        if !self.has_global_permission(caller, "access-permissions") {
            return Err(accessing_permissions());
        }
        let missing = || Error::from(Reject::RoleDoesNotExist);
        let role_id = role_id?;
        let _one_writer = self.settings_write.lock().await;
        let table = self.permissions();
        let mut role = table.roles().into_iter().find(|r| r.id == role_id).ok_or_else(missing)?;
        if role.protected {
            return Err(Error::from(Reject::RoleProtected));
        }
        let name = fields.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        let scope = match fields.scope.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(scope) => Some(RoleScope::parse(scope).ok_or_else(invalid_scope)?),
        };
        if let Some(name) = name {
            if table.role(name).is_some_and(|other| other.id != role.id) {
                return Err(duplicate_role_name());
            }
            role.name = name.to_owned();
        }
        if let Some(scope) = scope {
            role.scope = scope;
        }
        if let Some(description) = fields.description {
            role.description = description;
        }
        if let Some(mandatory2fa) = fields.mandatory2fa {
            role.mandatory2fa = mandatory2fa;
        }
        role.updated_at = Timestamp::now();
        self.save_role(&role).await?;
        Ok(role)
    }

    /// `roles.delete {roleId}` (`roleId`: an id or a name). Needs
    /// `access-permissions` (403, as Rocket.Chat's `permissionsRequired`);
    /// the role (`This role does not exist [error-invalid-roleId]`); not a
    /// built-in one (`Cannot delete a protected role
    /// [error-role-protected]`); held by nobody, as a user's role or a
    /// member's role in any room (`Cannot delete role because it's in use
    /// [error-role-in-use]`). The permissions it held are taken from it.
    ///
    /// `roleId` is read by the edge with [`role_to_delete`].
    pub async fn delete_role(&self, caller: &User, role_id: Param<&str>) -> Result<()> {
        self.require_global_permission(caller, "access-permissions")?;
        let role_id = role_id?;
        let _one_writer = self.settings_write.lock().await;
        let role = self.permissions().role(role_id).ok_or_else(|| Error::from(Reject::RoleDoesNotExist))?;
        if role.protected {
            return Err(Error::from(Reject::ProtectedRoleDelete));
        }
        let filter = match role.scope {
            RoleScope::Users => RoleFilter::Global(role.id.clone()),
            RoleScope::Subscriptions => RoleFilter::InRoom { role: role.id.clone(), rid: None },
        };
        let holders = UserListQuery { role: Some(filter), count: 1, ..UserListQuery::default() };
        if self.store.list_users(&holders).await?.total > 0 {
            return Err(Error::from(Reject::RoleInUse));
        }
        let now = Timestamp::now();
        self.store.delete_role(&role.id, now).await?;
        // The permissions it held no longer name it: a grant that raced
        // this deletion (checked against the table before it changed)
        // leaves its holder an id that grants nothing.
        let table = self.permissions();
        let cleaned: Vec<PermissionChange> = table
            .entries()
            .filter(|(_, roles, _)| roles.contains(&role.id.as_str()))
            .map(|(id, roles, _)| PermissionChange {
                id: id.to_owned(),
                roles: roles.into_iter().filter(|r| *r != role.id).map(str::to_owned).collect(),
                updated_at: now,
            })
            .collect();
        if !cleaned.is_empty() {
            self.store.save_permissions(&cleaned).await?;
        }
        self.reload_permissions().await?;
        Ok(())
    }

    /// `roles.sync?updatedSince=`: the roles changed after `since` (the
    /// built-in ones carry the date the built-in table last changed) and
    /// the ids of admins' roles deleted after it, with when.
    pub async fn roles_since(&self, since: Timestamp) -> Result<(Vec<Role>, Vec<(String, Timestamp)>)> {
        let changed = self.permissions().roles().into_iter().filter(|r| r.updated_at > since).collect();
        Ok((changed, self.store.removed_roles(since).await?))
    }

    /// Stores an admin's role and reloads the table in force (the caller
    /// holds `settings_write`). A concurrent writer on another instance
    /// that took the name first is answered by the store's unique name.
    async fn save_role(&self, role: &Role) -> Result<()> {
        match self.store.save_role(role).await {
            Ok(()) => {}
            Err(StorageError::Conflict(_)) => return Err(duplicate_role_name()),
            Err(e) => return Err(e.into()),
        }
        self.reload_permissions().await?;
        Ok(())
    }

    /// Reads the table back from the store and puts it in force here (the
    /// other instances reload on the store's configuration event).
    async fn reload_permissions(&self) -> Result<Arc<PermissionTable>> {
        let table = Arc::new(load_table(self.store.as_ref()).await?);
        self.replace_permissions(Arc::clone(&table));
        Ok(table)
    }

    pub(crate) fn replace_permissions(&self, table: Arc<PermissionTable>) {
        match self.permissions.write() {
            Ok(mut guard) => *guard = table,
            Err(poisoned) => *poisoned.into_inner() = table,
        }
    }
}
