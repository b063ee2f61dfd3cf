//! Persisted settings: `id` → JSON value.

use crate::db::{from_json, to_json, Cached, Db};
use rusqlite::{params, Connection};
use serde_json::Value;
use threadsync_domain::permissions::{PermissionChange, Role, RoleScope};
use threadsync_domain::Timestamp;
use threadsync_storage::StorageResult;

pub(crate) fn load(conn: &Connection) -> StorageResult<Vec<(String, Value)>> {
    let mut stmt = conn.prepare("SELECT id, value FROM settings ORDER BY id").db()?;
    let rows = stmt
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    rows.into_iter().map(|(id, value)| Ok((id, from_json(&value)?))).collect()
}

/// One cheap read of the table (the store's readiness check).
pub(crate) fn ping(conn: &Connection) -> StorageResult<()> {
    conn.query_row("SELECT count(*) FROM (SELECT 1 FROM settings LIMIT 1)", [], |_| Ok(())).db()
}

pub(crate) fn save(conn: &Connection, id: &str, value: &Value) -> StorageResult<()> {
    conn.cached_execute(
        "INSERT INTO settings (id, value) VALUES (?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET value = excluded.value",
        params![id, to_json(value)?],
    )
    .db()?;
    Ok(())
}

/// The admin's changes to the permission table.
pub(crate) fn load_permissions(conn: &Connection) -> StorageResult<Vec<PermissionChange>> {
    let mut stmt = conn.prepare("SELECT id, roles, updated_at FROM permissions ORDER BY id").db()?;
    let rows = stmt
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?)))
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    rows.into_iter()
        .map(|(id, roles, at)| {
            Ok(PermissionChange { id, roles: from_json(&roles)?, updated_at: Timestamp(at) })
        })
        .collect()
}

/// Replaces the stored roles of each changed permission (the caller's
/// transaction makes the batch atomic).
pub(crate) fn save_permissions(conn: &Connection, changes: &[PermissionChange]) -> StorageResult<()> {
    for change in changes {
        conn.cached_execute(
            "INSERT INTO permissions (id, roles, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET roles = excluded.roles, updated_at = excluded.updated_at",
            params![change.id, to_json(&change.roles)?, change.updated_at.millis()],
        )
        .db()?;
    }
    Ok(())
}

/// The admins' roles, by name.
pub(crate) fn load_roles(conn: &Connection) -> StorageResult<Vec<Role>> {
    let mut stmt = conn
        .prepare(
            "SELECT id, name, scope, description, mandatory2fa, updated_at FROM roles \
             WHERE deleted_at IS NULL ORDER BY name",
        )
        .db()?;
    let rows = stmt
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, bool>(4)?,
                row.get::<_, i64>(5)?,
            ))
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    rows.into_iter()
        .map(|(id, name, scope, description, mandatory2fa, at)| {
            let scope = RoleScope::parse(&scope).ok_or_else(|| {
                threadsync_storage::StorageError::Backend(format!("corrupt role scope {scope}"))
            })?;
            Ok(Role {
                id,
                name,
                scope,
                description,
                protected: false,
                mandatory2fa,
                updated_at: Timestamp(at),
            })
        })
        .collect()
}

/// Creates or replaces an admin's role (the unique name index answers a
/// taken name).
pub(crate) fn save_role(conn: &Connection, role: &Role) -> StorageResult<()> {
    conn.cached_execute(
        "INSERT INTO roles (id, name, scope, description, mandatory2fa, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, scope = excluded.scope, \
             description = excluded.description, mandatory2fa = excluded.mandatory2fa, \
             updated_at = excluded.updated_at \
         WHERE roles.deleted_at IS NULL",
        params![
            role.id,
            role.name,
            role.scope.as_str(),
            role.description,
            role.mandatory2fa,
            role.updated_at.millis()
        ],
    )
    .db()?;
    Ok(())
}

pub(crate) fn delete_role(conn: &Connection, id: &str, at: Timestamp) -> StorageResult<bool> {
    let sql = "UPDATE roles SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL";
    Ok(conn.cached_execute(sql, params![id, at.millis()]).db()? > 0)
}

pub(crate) fn removed_roles(conn: &Connection, since: Timestamp) -> StorageResult<Vec<(String, Timestamp)>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, deleted_at FROM roles WHERE deleted_at > ?1 ORDER BY deleted_at, id")
        .db()?;
    let rows = stmt
        .query_map([since.millis()], |row| Ok((row.get::<_, String>(0)?, Timestamp(row.get(1)?))))
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    Ok(rows)
}
