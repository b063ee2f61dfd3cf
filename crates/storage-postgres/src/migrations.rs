//! Versioned schema migrations, applied at connect.
//!
//! `schema_migrations` records every version applied. At connect, the
//! versions above the highest recorded one are applied in order, each with
//! its row in `schema_migrations`, all in one transaction that first takes
//! a transaction-scoped advisory lock: two instances starting at once do
//! not race (the second waits, then finds everything applied), and a crash
//! mid-way leaves the previous schema intact (PostgreSQL's DDL is
//! transactional). Migrations are append-only: never edit one that has
//! shipped, add the next version instead.

use crate::db::err;
use threadsync_domain::Timestamp;
use threadsync_storage::{StorageError, StorageResult};

/// The advisory lock's first key: "threadsync migrations". The second key
/// is a hash of the schema, so stores in different schemas of one database
/// (parallel tests) migrate independently.
const ADVISORY_LOCK: i32 = 0x7473_6d67; // "tsmg"

pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) sql: &'static str,
}

/// Every migration, in version order.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../migrations/0001_init.sql") },
    Migration { version: 2, sql: include_str!("../migrations/0002_subscription_tombstones.sql") },
    Migration { version: 3, sql: include_str!("../migrations/0003_permissions.sql") },
    Migration { version: 4, sql: include_str!("../migrations/0004_message_search.sql") },
    Migration { version: 5, sql: include_str!("../migrations/0005_user_profile.sql") },
    Migration { version: 6, sql: include_str!("../migrations/0006_uploads.sql") },
    Migration { version: 7, sql: include_str!("../migrations/0007_search_fold_plpgsql.sql") },
    Migration { version: 8, sql: include_str!("../migrations/0008_room_join_code.sql") },
    Migration { version: 9, sql: include_str!("../migrations/0009_custom_roles.sql") },
    Migration { version: 10, sql: include_str!("../migrations/0010_blobs.sql") },
    Migration { version: 11, sql: include_str!("../migrations/0011_presence.sql") },
    Migration { version: 12, sql: include_str!("../migrations/0012_search_room_lexeme.sql") },
    Migration { version: 13, sql: include_str!("../migrations/0013_messages_inline_documents.sql") },
];

/// Creates the schema if one is configured (the connection's `search_path`
/// names it) and brings it up to the latest version. Refuses a database
/// written by a newer build (its schema may mean things this build does
/// not know).
pub(crate) async fn apply(client: &mut tokio_postgres::Client, schema: Option<&str>) -> StorageResult<()> {
    apply_up_to(client, schema, MIGRATIONS.last().map_or(0, |m| m.version)).await
}

/// [`apply`], stopping after version `last` (tests build an older schema
/// with it, to check what a migration does to data already stored).
pub(crate) async fn apply_up_to(
    client: &mut tokio_postgres::Client,
    schema: Option<&str>,
    last: i64,
) -> StorageResult<()> {
    let tx = client.transaction().await.map_err(err)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&ADVISORY_LOCK, &schema.unwrap_or("public")],
    )
    .await
    .map_err(err)?;
    if let Some(schema) = schema {
        // `schema` is validated (lower-case letters, digits, `_`) by connect.
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")).await.map_err(err)?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             applied_at BIGINT NOT NULL
         )",
    )
    .await
    .map_err(err)?;
    let row = tx
        .query_one("SELECT coalesce(max(version), 0)::bigint FROM schema_migrations", &[])
        .await
        .map_err(err)?;
    let current: i64 = row.try_get(0).map_err(err)?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.version);
    if current > latest {
        return Err(StorageError::Backend(format!(
            "the database has schema version {current}, newer than this build supports ({latest})"
        )));
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current && m.version <= last) {
        tx.batch_execute(migration.sql).await.map_err(err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[&migration.version, &Timestamp::now().millis()],
        )
        .await
        .map_err(err)?;
        tracing::info!(
            version = migration.version,
            schema = schema.unwrap_or("public"),
            "applied postgres schema migration"
        );
    }
    tx.commit().await.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new schema of the test database brought up to `version` only (a
    /// database written by an older build), and a plain connection to it.
    async fn schema_at(version: i64) -> (tokio_postgres::Client, crate::test_support::SchemaGuard) {
        use crate::test_support::{database_url, raw, unique_schema, SchemaGuard};
        let url = database_url();
        let schema = unique_schema();
        let guard = SchemaGuard::new(&url, &schema);
        let mut client = raw(&url, &schema).await;
        apply_up_to(&mut client, Some(&schema), version).await.expect("migrations");
        (client, guard)
    }

    #[test]
    fn versions_are_strictly_increasing_from_one() {
        assert_eq!(MIGRATIONS.first().map(|m| m.version), Some(1));
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version, "{} then {}", pair[0].version, pair[1].version);
        }
    }

    /// Migration 12 puts each stored message's room into its search vector:
    /// messages written under version 11 are found in their room, and only
    /// there, once a store of this build has connected.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
    async fn messages_stored_before_the_room_lexeme_are_found_in_their_room() {
        use crate::test_support::options;
        use threadsync_domain::query::Filter;
        use threadsync_storage::search::terms;
        use threadsync_storage::{SearchOrder, SearchQuery, SearchStore, Store};

        let (client, guard) = schema_at(11).await;
        client
            .batch_execute(
                "INSERT INTO rooms (id, t, name, name_lower, dm_key, ts, updated_at, clock, doc)
                 SELECT id, 'c', id, id, NULL, 1, 1, 0, '{}'::jsonb FROM unnest(ARRAY['R0', 'R1']) AS id;
                 INSERT INTO messages (id, rid, tmid, ts, updated_at, tlm, tcount, u_id, t, doc)
                 SELECT 'M' || i, 'R' || (i % 2), NULL, i, i, NULL, NULL, 'U', NULL,
                        jsonb_build_object('_id', 'M' || i, 'rid', 'R' || (i % 2),
                                           'msg', CASE WHEN i <= 6 THEN 'old news ' || i ELSE 'filler' END,
                                           'ts', jsonb_build_object('$date', i), 'u', jsonb_build_object('_id', 'U', 'username', 'u'),
                                           '_updatedAt', jsonb_build_object('$date', i))
                 FROM generate_series(1, 1200) AS i;",
            )
            .await
            .expect("rows of version 11");
        let store =
            crate::PgStore::connect(&guard.url, options(&guard.schema)).await.expect("connect migrates");
        let versions = client.query_one("SELECT max(version) FROM schema_migrations", &[]).await;
        let latest = MIGRATIONS.last().map_or(0, |m| m.version);
        assert_eq!(versions.expect("versions").get::<_, Option<i64>>(0), Some(latest));
        let vector = client
            .query_one(
                "SELECT search = to_tsvector('simple', 'old news 3') || array_to_tsvector(ARRAY[' ' || md5('R1')]) \
                   FROM messages WHERE id = 'M3'",
                &[],
            )
            .await;
        assert!(vector.expect("vector").get::<_, bool>(0), "the words, and the room's lexeme");
        // A table of 1,000 messages or more is sampled by the migration
        // (search.rs chooses paths from the statistics).
        let sampled =
            client.query_one("SELECT reltuples::float8 FROM pg_class WHERE oid = 'messages'::regclass", &[]);
        assert_eq!(sampled.await.expect("reltuples").get::<_, f64>(0), 1200.0);
        for (rid, want) in [("R0", ["M6", "M4", "M2"]), ("R1", ["M5", "M3", "M1"])] {
            let query = SearchQuery {
                rid: rid.to_owned(),
                terms: terms("news"),
                filter: Filter::True,
                order: SearchOrder::Newest,
                offset: 0,
                count: 20,
            };
            let found = store.search_messages(&query).await.expect("search");
            assert_eq!(found.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), want, "{rid}");
        }
        store.close().await;
    }

    /// Version 13: a document too big for PostgreSQL's 2 KB threshold but
    /// within a page stays in its row, uncompressed (a thread parent with
    /// many repliers, rewritten by every reply); before 13 the same row
    /// was compressed and moved to the TOAST table.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
    async fn documents_within_a_page_stay_in_their_row() {
        // About 5 KB of hex digits: random ids barely compress either.
        const ROW: &str = "INSERT INTO messages (id, rid, tmid, ts, updated_at, tlm, tcount, u_id, t, doc)
             SELECT $1, 'R', NULL, 1, 1, 1, 80, 'U', NULL,
                    jsonb_build_object('_id', $1::text, 'replies',
                        (SELECT jsonb_agg(md5($1 || i)) FROM generate_series(1, 150) AS i))";
        const STORED: &str =
            "SELECT pg_column_size(doc), octet_length(doc::text) FROM messages WHERE id = $1";
        const TOASTED: &str =
            "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'messages'::regclass";
        for (version, inline) in [(12, false), (13, true)] {
            let (client, _guard) = schema_at(version).await;
            client
                .batch_execute(
                    "INSERT INTO rooms (id, t, name, name_lower, dm_key, ts, updated_at, clock, doc) \
                                VALUES ('R', 'c', 'r', 'r', NULL, 1, 1, 0, '{}')",
                )
                .await
                .expect("room");
            client.execute(ROW, &[&"P"]).await.expect("parent");
            // A reply rewrites its parent: the new row version is stored
            // the same way.
            client
                .execute("UPDATE messages SET tcount = 81, doc = doc || '{}' WHERE id = 'P'", &[])
                .await
                .expect("rewrite");
            let stored = client.query_one(STORED, &[&"P"]).await.expect("stored");
            let (size, text): (i32, i32) = (stored.get(0), stored.get(1));
            let toasted: i64 = client.query_one(TOASTED, &[]).await.expect("toast").get(0);
            assert!(text > 4_000 && text < 7_000, "a document between 2 KB and a page: {text} bytes");
            if inline {
                assert!(
                    size as f64 > 0.9 * text as f64,
                    "version {version}: not compressed ({size} of {text} bytes)"
                );
                assert_eq!(toasted, 0, "version {version}: nothing moved out of the row");
            } else {
                assert!(toasted > 0, "version {version}: moved out of its row (the test can tell)");
            }
        }
    }

    /// A new database's messages table is not sampled while empty: the
    /// planner would take it for empty and choose sequential scans for the
    /// statements each connection prepares as it fills.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
    async fn a_new_database_is_not_sampled_empty() {
        use crate::test_support::{fresh, raw};
        use threadsync_storage::Store;

        let (store, guard) = fresh().await;
        let client = raw(&guard.url, &guard.schema).await;
        let row =
            client.query_one("SELECT reltuples::float8 FROM pg_class WHERE oid = 'messages'::regclass", &[]);
        assert!(row.await.expect("reltuples").get::<_, f64>(0) < 0.0, "never sampled");
        store.close().await;
    }

    #[test]
    fn migrations_do_not_manage_transactions() {
        for m in MIGRATIONS {
            let upper = m.sql.to_uppercase();
            assert!(!upper.contains("BEGIN;") && !upper.contains("COMMIT;"), "version {}", m.version);
        }
    }
}
