//! Persisted settings: `id` → JSON value.

use crate::db::{get, Conn};
use serde_json::Value;
use threadsync_domain::permissions::{PermissionChange, Role, RoleScope};
use threadsync_domain::Timestamp;
use threadsync_storage::{StorageError, StorageResult};

pub(crate) async fn load(c: &dyn Conn) -> StorageResult<Vec<(String, Value)>> {
    c.rows("SELECT id, value FROM settings ORDER BY id", &[])
        .await?
        .iter()
        .map(|row| Ok((get::<String>(row, 0)?, get::<Value>(row, 1)?)))
        .collect()
}

pub(crate) async fn save(c: &dyn Conn, id: &str, value: &Value) -> StorageResult<()> {
    c.exec(
        "INSERT INTO settings (id, value) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value",
        &[&id, value],
    )
    .await?;
    Ok(())
}

/// The admin's changes to the permission table.
pub(crate) async fn load_permissions(c: &dyn Conn) -> StorageResult<Vec<PermissionChange>> {
    c.rows("SELECT id, roles, updated_at FROM permissions ORDER BY id", &[])
        .await?
        .iter()
        .map(|row| {
            let roles: Value = get(row, 1)?;
            let roles = serde_json::from_value(roles)
                .map_err(|e| StorageError::Backend(format!("corrupt permission roles: {e}")))?;
            Ok(PermissionChange { id: get(row, 0)?, roles, updated_at: Timestamp(get(row, 2)?) })
        })
        .collect()
}

/// Replaces the stored roles of each changed permission (the caller's
/// transaction makes the batch atomic).
pub(crate) async fn save_permissions(c: &dyn Conn, changes: &[PermissionChange]) -> StorageResult<()> {
    for change in changes {
        let roles = serde_json::json!(change.roles);
        c.exec(
            "INSERT INTO permissions (id, roles, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET roles = EXCLUDED.roles, updated_at = EXCLUDED.updated_at",
            &[&change.id, &roles, &change.updated_at.millis()],
        )
        .await?;
    }
    Ok(())
}

/// The admins' roles, by name.
pub(crate) async fn load_roles(c: &dyn Conn) -> StorageResult<Vec<Role>> {
    c.rows(
        "SELECT id, name, scope, description, mandatory2fa, updated_at FROM roles \
         WHERE deleted_at IS NULL ORDER BY name",
        &[],
    )
    .await?
    .iter()
    .map(|row| {
        let scope: String = get(row, 2)?;
        let scope = RoleScope::parse(&scope)
            .ok_or_else(|| StorageError::Backend(format!("corrupt role scope {scope}")))?;
        Ok(Role {
            id: get(row, 0)?,
            name: get(row, 1)?,
            scope,
            description: get(row, 3)?,
            protected: false,
            mandatory2fa: get(row, 4)?,
            updated_at: Timestamp(get(row, 5)?),
        })
    })
    .collect()
}

/// Creates or replaces an admin's role (the unique name constraint answers
/// a taken name, also to a concurrent writer on another instance).
pub(crate) async fn save_role(c: &dyn Conn, role: &Role) -> StorageResult<()> {
    c.exec(
        "INSERT INTO roles (id, name, scope, description, mandatory2fa, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, scope = EXCLUDED.scope, \
             description = EXCLUDED.description, mandatory2fa = EXCLUDED.mandatory2fa, \
             updated_at = EXCLUDED.updated_at \
         WHERE roles.deleted_at IS NULL",
        &[
            &role.id,
            &role.name,
            &role.scope.as_str(),
            &role.description,
            &role.mandatory2fa,
            &role.updated_at.millis(),
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn delete_role(c: &dyn Conn, id: &str, at: Timestamp) -> StorageResult<bool> {
    let sql = "UPDATE roles SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL";
    Ok(c.exec(sql, &[&id, &at.millis()]).await? > 0)
}

pub(crate) async fn removed_roles(c: &dyn Conn, since: Timestamp) -> StorageResult<Vec<(String, Timestamp)>> {
    c.rows(
        "SELECT id, deleted_at FROM roles WHERE deleted_at > $1 ORDER BY deleted_at, id",
        &[&since.millis()],
    )
    .await?
    .iter()
    .map(|row| Ok((get(row, 0)?, Timestamp(get(row, 1)?))))
    .collect()
}
