//! Persisted settings: `id` → JSON value.

use crate::db::{from_json, to_json, Cached, Db};
use rusqlite::{params, Connection};
use serde_json::Value;
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
