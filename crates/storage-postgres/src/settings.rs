//! Persisted settings: `id` → JSON value.

use crate::db::{get, Conn};
use serde_json::Value;
use threadsync_domain::permissions::PermissionChange;
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
