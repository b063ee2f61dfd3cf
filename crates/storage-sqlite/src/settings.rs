//! Persisted settings: `id` → JSON value.

use crate::db::{from_json, to_json, Cached, Db};
use rusqlite::{params, Connection};
use serde_json::Value;
use threadsync_domain::permissions::PermissionChange;
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
