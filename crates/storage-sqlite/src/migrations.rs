//! Versioned schema migrations, applied at open.
//!
//! `schema_migrations` records every version applied. At open, the versions
//! above the highest recorded one are applied in order, each with its row in
//! `schema_migrations`, all in one `BEGIN IMMEDIATE` transaction: a crash
//! mid-way leaves the previous schema intact, and reopening applies nothing
//! twice. Migrations are append-only: never edit one that has shipped, add
//! the next version instead.

use crate::db::Db;
use rusqlite::{params, Connection, TransactionBehavior};
use threadsync_domain::Timestamp;
use threadsync_storage::{StorageError, StorageResult};

pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) sql: &'static str,
}

/// Every migration, in version order.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../migrations/0001_init.sql") },
    Migration { version: 2, sql: include_str!("../migrations/0002_sync.sql") },
];

/// Brings the schema up to the latest version. Refuses a database written by
/// a newer build (its schema may mean things this build does not know).
pub(crate) fn apply(conn: &mut Connection) -> StorageResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).db()?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )
    .db()?;
    let current: i64 =
        tx.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |row| row.get(0)).db()?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.version);
    if current > latest {
        return Err(StorageError::Backend(format!(
            "the database has schema version {current}, newer than this build supports ({latest})"
        )));
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(migration.sql).db()?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![migration.version, Timestamp::now().millis()],
        )
        .db()?;
        tracing::info!(version = migration.version, "applied sqlite schema migration");
    }
    tx.commit().db()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strictly_increasing_from_one() {
        for (expected, m) in (1..).zip(MIGRATIONS) {
            assert_eq!(m.version, expected);
        }
    }

    #[test]
    fn applying_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().expect("open");
        apply(&mut conn).expect("first");
        apply(&mut conn).expect("second");
        let rows: i64 =
            conn.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0)).expect("count");
        assert_eq!(rows, i64::try_from(MIGRATIONS.len()).expect("fits"));
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().expect("open");
        apply(&mut conn).expect("first");
        conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)", [])
            .expect("insert");
        assert!(matches!(apply(&mut conn), Err(StorageError::Backend(_))));
    }
}
