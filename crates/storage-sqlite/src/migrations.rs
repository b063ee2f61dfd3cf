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
    Migration { version: 3, sql: include_str!("../migrations/0003_tunread_index.sql") },
    Migration { version: 4, sql: include_str!("../migrations/0004_subscription_tombstones.sql") },
    Migration { version: 5, sql: include_str!("../migrations/0005_permissions.sql") },
    Migration { version: 6, sql: include_str!("../migrations/0006_message_search.sql") },
    Migration { version: 7, sql: include_str!("../migrations/0007_user_profile.sql") },
    Migration { version: 8, sql: include_str!("../migrations/0008_uploads.sql") },
    Migration { version: 9, sql: include_str!("../migrations/0009_room_join_code.sql") },
    Migration { version: 10, sql: include_str!("../migrations/0010_custom_roles.sql") },
    Migration { version: 11, sql: include_str!("../migrations/0011_presence.sql") },
    Migration { version: 12, sql: include_str!("../migrations/0012_search_queue.sql") },
    Migration { version: 13, sql: include_str!("../migrations/0013_thread_unread_marks.sql") },
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
    // A migration that writes messages queues their search index changes
    // like any other write (search.rs).
    crate::search::apply_queued(&tx)?;
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

    /// A database with the first `version` migrations applied and
    /// recorded, as a build of that schema version left it.
    fn at_version(version: usize) -> Connection {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .expect("table");
        for m in &MIGRATIONS[..version] {
            conn.execute_batch(m.sql).expect("old migration");
            conn.execute("INSERT INTO schema_migrations VALUES (?1, 0)", [m.version]).expect("record");
        }
        conn
    }

    /// Version 3 derives `subscription_tunread` from the documents already
    /// stored, and its triggers keep it equal to them afterwards.
    #[test]
    fn tunread_index_is_backfilled_and_follows_the_documents() {
        let mut conn = at_version(2);
        conn.execute_batch(
            "INSERT INTO rooms (id, t, name_lower, ts, updated_at, doc) VALUES ('R', 'c', 'r', 0, 0, '{}');
             INSERT INTO subscriptions (id, rid, user_id, updated_at, doc)
                 VALUES ('s1', 'R', 'u1', 0, '{\"tunread\":[\"t1\",\"t2\"]}'),
                        ('s2', 'R', 'u2', 0, '{\"tunread\":[]}');",
        )
        .expect("old rows");
        apply(&mut conn).expect("upgrade");
        let index = |conn: &Connection| -> Vec<(String, String)> {
            let mut stmt = conn
                .prepare("SELECT user_id, tmid FROM subscription_tunread ORDER BY 1, 2")
                .expect("prepare");
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query");
            rows.collect::<rusqlite::Result<_>>().expect("rows")
        };
        let pair = |u: &str, t: &str| (u.to_owned(), t.to_owned());
        assert_eq!(index(&conn), vec![pair("u1", "t1"), pair("u1", "t2")], "backfilled");

        conn.execute_batch(
            "UPDATE subscriptions SET doc = '{\"tunread\":[\"t2\"]}' WHERE id = 's1';
             UPDATE subscriptions SET doc = '{\"tunread\":[\"t3\"]}' WHERE id = 's2';
             INSERT INTO subscriptions (id, rid, user_id, updated_at, doc)
                 VALUES ('s3', 'R', 'u3', 0, '{\"tunread\":[\"t1\"]}');",
        )
        .expect("writes");
        assert_eq!(index(&conn), vec![pair("u1", "t2"), pair("u2", "t3"), pair("u3", "t1")], "updated");
        conn.execute("DELETE FROM subscriptions WHERE id = 's2'", []).expect("delete");
        assert_eq!(index(&conn), vec![pair("u1", "t2"), pair("u3", "t1")], "deleted");
    }

    /// Version 13's marks (messages.rs, `mark_thread_unread`) are forgotten
    /// by every write after which a follower may lack the thread, and kept
    /// by the others: a subscription updated without losing the thread
    /// keeps its rows of `subscription_tunread` (version 3 replaced them
    /// all) and so the marks of its threads.
    #[test]
    fn thread_unread_marks_are_forgotten_when_they_may_stop_holding() {
        let mut conn = at_version(12);
        conn.execute_batch(
            "INSERT INTO rooms (id, t, name_lower, ts, updated_at, doc) VALUES
                 ('R', 'c', 'r', 0, 0, '{}'), ('Q', 'c', 'q', 0, 0, '{}');
             INSERT INTO subscriptions (id, rid, user_id, updated_at, doc)
                 VALUES ('s1', 'R', 'u1', 0, '{\"tunread\":[\"t1\",\"t2\"]}');",
        )
        .expect("old rows");
        apply(&mut conn).expect("upgrade");
        let mark = |conn: &Connection, tmid: &str, rid: &str| {
            conn.execute(
                "INSERT OR REPLACE INTO thread_unread_marks (tmid, rid, sender, followers) VALUES (?1, ?2, 'u9', 7)",
                [tmid, rid],
            )
            .expect("mark");
        };
        let marked = |conn: &Connection| -> Vec<String> {
            let mut stmt = conn.prepare("SELECT tmid FROM thread_unread_marks ORDER BY 1").expect("prepare");
            let rows = stmt.query_map([], |r| r.get(0)).expect("query");
            rows.collect::<rusqlite::Result<_>>().expect("rows")
        };
        let all = |conn: &Connection| {
            for (tmid, rid) in [("t1", "R"), ("t2", "R"), ("t3", "R"), ("q1", "Q")] {
                mark(conn, tmid, rid);
            }
        };
        all(&conn);
        conn.execute("UPDATE subscriptions SET doc = json_set(doc, '$.ls', 5) WHERE id = 's1'", [])
            .expect("other field");
        conn.execute(
            "UPDATE subscriptions SET doc = json_set(doc, '$.tunread[#]', 't3') WHERE id = 's1'",
            [],
        )
        .expect("one more thread");
        assert_eq!(marked(&conn), ["q1", "t1", "t2", "t3"], "nothing lost, nothing forgotten");

        conn.execute("UPDATE subscriptions SET doc = json_set(doc, '$.tunread', json('[\"t2\",\"t3\"]')) WHERE id = 's1'", [])
            .expect("t1 read");
        assert_eq!(marked(&conn), ["q1", "t2", "t3"], "a thread read");
        conn.execute(
            "INSERT INTO subscriptions (id, rid, user_id, updated_at, doc) VALUES ('s2', 'R', 'u2', 0, '{}')",
            [],
        )
        .expect("join");
        assert_eq!(marked(&conn), ["q1"], "a member joined R");
        all(&conn);
        conn.execute("UPDATE subscriptions SET rid = 'Q' WHERE id = 's2'", []).expect("move");
        assert_eq!(marked(&conn), ["t1", "t2", "t3"], "a member arrived in Q");
        all(&conn);
        conn.execute("DELETE FROM subscriptions WHERE id = 's1'", []).expect("leave");
        assert_eq!(marked(&conn), ["q1", "t1"], "a member left with t2 and t3 unread");
        conn.execute(
            "INSERT INTO messages (id, rid, ts, updated_at, u_id, doc) VALUES ('t1', 'R', 1, 1, 'u', '{}')",
            [],
        )
        .expect("parent");
        conn.execute("DELETE FROM messages WHERE id = 't1'", []).expect("parent deleted");
        assert_eq!(marked(&conn), ["q1"], "the thread deleted");
    }

    /// Version 12 keeps the search index written by version 6's triggers
    /// and queues later changes instead (search.rs): after the upgrade an
    /// edit and a deletion of a message indexed before it reach the index
    /// once the queue is applied, and the index equals the messages.
    #[test]
    fn search_queue_takes_over_an_indexed_store() {
        let mut conn = at_version(11);
        conn.execute_batch(
            "INSERT INTO rooms (id, t, name_lower, ts, updated_at, doc) VALUES ('R', 'c', 'r', 0, 0, '{}');
             INSERT INTO messages (id, rid, ts, updated_at, u_id, doc) VALUES
                 ('a', 'R', 1, 1, 'u', '{\"msg\":\"apple pie\"}'),
                 ('b', 'R', 2, 2, 'u', '{\"msg\":\"banana bread\"}');",
        )
        .expect("old rows");
        apply(&mut conn).expect("upgrade");
        let matches = |conn: &Connection, word: &str| -> i64 {
            conn.query_row(
                "SELECT count(*) FROM messages_search WHERE messages_search MATCH ?1",
                [word],
                |r| r.get(0),
            )
            .expect("match")
        };
        assert_eq!((matches(&conn, "apple"), matches(&conn, "banana")), (1, 1), "indexed before");

        let tx = conn.transaction().expect("begin");
        tx.execute_batch(
            "UPDATE messages SET doc = '{\"msg\":\"cherry tart\"}' WHERE id = 'a';
             DELETE FROM messages WHERE id = 'b';",
        )
        .expect("writes");
        let queued: i64 =
            tx.query_row("SELECT count(*) FROM messages_search_queue", [], |r| r.get(0)).expect("q");
        assert_eq!(queued, 3, "an edit queues a removal and an addition, a deletion a removal");
        crate::search::apply_queued(&tx).expect("apply");
        tx.commit().expect("commit");
        assert_eq!((matches(&conn, "apple"), matches(&conn, "banana"), matches(&conn, "cherry")), (0, 0, 1));
        conn.execute("INSERT INTO messages_search (messages_search) VALUES ('integrity-check')", [])
            .expect("the index equals the messages");
    }
}
