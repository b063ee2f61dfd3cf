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

use crate::Services;
use std::sync::Arc;
use threadsync_domain::permissions::{default_roles, role, PermissionChange, PermissionTable};
use threadsync_domain::{Error, Result, Subscription, Timestamp, User};

/// One entry of a `permissions.update` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionUpdate {
    pub id: String,
    pub roles: Vec<String>,
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
            return Err(Error::rejected("Invalid permission", "error-invalid-permission"));
        }
        if updates.iter().flat_map(|u| &u.roles).any(|r| role(r).is_none()) {
            return Err(Error::rejected("Invalid role", "error-invalid-role"));
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
        let table = Arc::new(PermissionTable::new(self.store.load_permissions().await?));
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
