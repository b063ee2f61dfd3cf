//! Persisted settings: `id` → JSON value.

use crate::db::{get, Conn};
use serde_json::Value;
use threadsync_storage::StorageResult;

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
