//! The shared conformance suite on SQLite, plus the SQLite-specific tests:
//! persistence across a reopen, the room clock surviving a restart, writers
//! on several OS threads at once, and the query plans of the sync paths.

use rusqlite::Connection;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use tempfile::TempDir;
use threadsync_domain::Timestamp;
use threadsync_storage::conformance::{World, ROOM};
use threadsync_storage::{Deletion, MessageStore, RoomStore, SettingsStore, Store, UserStore};
use threadsync_storage_sqlite::{SqliteOptions, SqliteStore, DATABASE_FILE};

/// A fresh store in its own temporary directory. The directory travels with
/// the store, so it is deleted only after the test (and the store) are done.
async fn fresh() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path(), SqliteOptions::default()).await.expect("open store");
    (store, dir)
}

threadsync_storage::conformance_suite!(fresh());

/// A plain connection to the database file, bypassing the store.
fn raw(dir: &Path) -> Connection {
    Connection::open(dir.join(DATABASE_FILE)).expect("raw connection")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_the_data() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("data").join("nested");
    let store =
        SqliteStore::open(&dir, SqliteOptions { readers: 2 }).await.expect("open creates the directories");
    assert_eq!(store.path(), dir.join(DATABASE_FILE));
    let w = World::new(&store).await;
    store.insert_login_token(&w.alice.id, "hash", Timestamp(7)).await.expect("token");
    w.post(&store, "parent", &w.alice).await;
    w.reply(&store, "r1", "parent", &w.bob, &[&w.alice, &w.bob]).await;
    w.post(&store, "gone", &w.bob).await;
    let Deletion::Removed(tombstone) = store.delete_message("gone", false).await.expect("delete") else {
        panic!("a plain message is removed");
    };
    store.save_setting("Threads_enabled", &serde_json::json!(false)).await.expect("setting");
    let parent_before = store.message_by_id("parent").await.expect("read").expect("parent");
    store.close().await;
    // After close the store refuses work instead of hanging; close is idempotent.
    assert!(store.message_by_id("parent").await.is_err());
    assert!(store.save_setting("x", &serde_json::json!(1)).await.is_err());
    store.close().await;
    drop(store);

    // close() checkpointed: everything is in the main file, the WAL is empty.
    let wal = dir.join(format!("{DATABASE_FILE}-wal"));
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0, "WAL truncated");

    let store = SqliteStore::open(&dir, SqliteOptions::default()).await.expect("reopen");
    assert_eq!(store.count_users().await, Ok(4));
    assert!(store.user_by_login_token("u-alice", "hash").await.expect("token").is_some());
    let room = store.room_by_id(ROOM).await.expect("room").expect("exists");
    assert_eq!((room.users_count, room.msgs), (3, 2));
    assert_eq!(store.message_by_id("parent").await, Ok(Some(parent_before)));
    assert_eq!(
        store.subscription(ROOM, "u-alice").await.expect("sub").expect("exists").tunread,
        vec!["parent".to_owned()]
    );
    assert_eq!(store.message_by_id("gone").await, Ok(None));
    assert_eq!(
        store.load_settings().await,
        Ok(vec![("Threads_enabled".to_owned(), serde_json::json!(false))])
    );
    store.close().await;

    let conn = raw(&dir);
    let kept: i64 = conn
        .query_row("SELECT deleted_at FROM tombstones WHERE id = 'gone'", [], |r| r.get(0))
        .expect("tombstone kept");
    assert_eq!(kept, tombstone.deleted_at.millis());
    let (versions, distinct): (i64, i64) = conn
        .query_row("SELECT count(*), count(DISTINCT version) FROM schema_migrations", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("versions");
    assert!(versions >= 2, "every migration is recorded");
    assert_eq!(versions, distinct, "reopening applies no migration twice");
}

/// The clock lives in the database: after a restart, stamps continue from
/// the last tick even if the wall clock is behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_survives_a_restart() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(tmp.path(), SqliteOptions::default()).await.expect("open");
    let w = World::new(&store).await;
    w.post(&store, "m1", &w.alice).await;
    store.close().await;

    // Pretend the last tick was an hour ahead of the wall clock (clock skew,
    // or a burst of writes that ran ahead of real time).
    let ahead = Timestamp::now().millis() + 3_600_000;
    raw(tmp.path())
        .execute("UPDATE rooms SET clock = ?1 WHERE id = ?2", rusqlite::params![ahead, ROOM])
        .expect("move clock");

    let store = SqliteStore::open(tmp.path(), SqliteOptions::default()).await.expect("reopen");
    let m2 = w.post(&store, "m2", &w.alice).await;
    assert_eq!(m2.ts.millis(), ahead + 1, "the next tick follows the stored clock");
    let r = w.reply(&store, "r1", "m2", &w.bob, &[&w.bob]).await;
    assert_eq!(r.ts.millis(), ahead + 2);
    let parent = store.message_by_id("m2").await.expect("read").expect("m2");
    assert_eq!(parent.updated_at.millis(), ahead + 3, "reply t, parent t + 1");
    store.close().await;
}

/// Writers on several OS threads at once (tokio::spawn on a multi-threaded
/// runtime) while readers poll: stamps stay distinct and per-task increasing,
/// and no reader ever sees the room's counter go backwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_writers_and_readers() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open(tmp.path(), SqliteOptions { readers: 3 }).await.expect("open"));
    let world = Arc::new(World::new(store.as_ref()).await);
    world.post(store.as_ref(), "parent", &world.alice).await;

    let mut writers = Vec::new();
    for i in 0..8 {
        let (store, w) = (Arc::clone(&store), Arc::clone(&world));
        writers.push(tokio::spawn(async move {
            let mut stamps = Vec::new();
            for j in 0..50 {
                let id = format!("t{i}-{j}");
                let m = if j % 3 == 0 {
                    w.reply(store.as_ref(), &id, "parent", &w.bob, &[&w.bob]).await
                } else {
                    w.post(store.as_ref(), &id, &w.alice).await
                };
                stamps.push(m.updated_at);
            }
            stamps
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..3 {
        let store = Arc::clone(&store);
        readers.push(tokio::spawn(async move {
            let mut last = 0;
            for _ in 0..200 {
                let room = store.room_by_id(ROOM).await.expect("read").expect("room");
                assert!(room.msgs >= last, "a reader saw the past after the future");
                last = room.msgs;
            }
        }));
    }
    let mut all = HashSet::new();
    for writer in writers {
        let stamps = writer.await.expect("writer task");
        assert!(stamps.windows(2).all(|p| p[1] > p[0]), "per-task increasing");
        for s in stamps {
            assert!(all.insert(s), "duplicate stamp {s:?}");
        }
    }
    for reader in readers {
        reader.await.expect("reader task");
    }
    let parent = store.message_by_id("parent").await.expect("read").expect("parent");
    assert!(all.insert(parent.updated_at), "the parent's stamp is distinct too");
    assert_eq!(parent.tcount, Some(8 * 17));
    store.close().await;
}

/// The sync paths are served by indexes, not scans: their cost follows the
/// delta, not the table (docs/sync.md#indexes-cost-follows-the-delta).
#[tokio::test]
async fn sync_queries_use_indexes() {
    let (store, tmp) = fresh().await;
    store.close().await;
    let conn = raw(tmp.path());
    let cases = [
        (
            "SELECT doc FROM messages WHERE tmid = ?1 AND updated_at > ?2 ORDER BY updated_at LIMIT 50",
            "messages_tmid_updated",
        ),
        ("SELECT doc FROM messages WHERE tmid = ?1 ORDER BY ts LIMIT 50 OFFSET 0", "messages_tmid_ts"),
        (
            "SELECT id, deleted_at FROM tombstones WHERE tmid = ?1 AND deleted_at > ?2 ORDER BY deleted_at",
            "tombstones_tmid_deleted",
        ),
        (
            "SELECT doc FROM messages WHERE rid = ?1 AND updated_at > ?2 ORDER BY updated_at",
            "messages_rid_updated",
        ),
        (
            "SELECT id, deleted_at FROM tombstones WHERE rid = ?1 AND deleted_at > ?2 ORDER BY deleted_at",
            "tombstones_rid_deleted",
        ),
        (
            "SELECT doc FROM messages WHERE rid = ?1 AND tcount IS NOT NULL ORDER BY tlm DESC LIMIT 50",
            "messages_threads_tlm",
        ),
        (
            "SELECT doc FROM messages WHERE rid = ?1 AND tcount IS NOT NULL AND updated_at > ?2 ORDER BY updated_at",
            "messages_threads_updated",
        ),
        ("SELECT doc FROM messages WHERE rid = ?1 ORDER BY ts DESC LIMIT 50", "messages_rid_ts"),
        ("SELECT doc FROM rooms WHERE name_lower = ?1 AND t IN ('c', 'p')", "rooms_name_lower"),
    ];
    for (sql, index) in cases {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("explain");
        let params = vec![rusqlite::types::Value::Null; stmt.parameter_count()];
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let plan = plan.join(" | ");
        assert!(plan.contains(index), "{sql}\n  should use {index}, plan: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{sql}\n  should not sort, plan: {plan}");
    }
    // Lookups that return a row or two (sorting them costs nothing).
    let lookups =
        [("SELECT doc FROM rooms WHERE dm_key = ?1 AND t = 'd' ORDER BY ts, id LIMIT 1", "rooms_dm_key")];
    for (sql, index) in lookups {
        let plan: String = conn
            .query_row(&format!("EXPLAIN QUERY PLAN {sql}"), [rusqlite::types::Value::Null], |r| r.get(3))
            .expect("plan");
        assert!(plan.contains(index), "{sql}\n  should use {index}, plan: {plan}");
    }
}

/// The query compiler against the in-memory matcher (the oracle). Cases:
/// `QUERY_ORACLE_CASES` (default 3000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_language_matches_the_oracle() {
    let cases = std::env::var("QUERY_ORACLE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let (store, _dir) = fresh().await;
    threadsync_storage::conformance::oracle::query_oracle(&store, cases).await;
    store.close().await;
}

/// Fuzzing the query language end to end on SQLite (the shared body:
/// `conformance::oracle::query_fuzz`; docs/query.md has the long runs).
/// Cases: `QUERY_FUZZ_CASES` (default 2000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_language_survives_fuzzing() {
    let cases: u32 = std::env::var("QUERY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let (store, _dir) = fresh().await;
    threadsync_storage::conformance::oracle::query_fuzz(&store, cases).await;
    store.close().await;
}

/// Group commit: many writes queued at once share a transaction, each under
/// its own savepoint. A failing write in the middle of a batch fails alone;
/// every other write of the batch commits, and each caller hears its own
/// outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_fails_alone_in_its_batch() {
    use threadsync_storage::conformance::{message, plain};
    use threadsync_storage::StorageError;
    let (store, _dir) = fresh().await;
    let w = World::new(&store).await;
    w.post(&store, "taken", &w.alice).await;
    let store = Arc::new(store);
    let writes: Vec<_> = (0..200)
        .map(|i| {
            let (store, alice) = (Arc::clone(&store), w.alice.clone());
            tokio::spawn(async move {
                // Every fifth write reuses an existing id and must fail.
                let id = if i % 5 == 0 { "taken".to_owned() } else { format!("m{i}") };
                store.insert_message(plain(message(&id, ROOM, &alice, "x"))).await.map(|m| m.id)
            })
        })
        .collect();
    let mut ok = 0;
    for (i, w) in writes.into_iter().enumerate() {
        match w.await.expect("task") {
            Ok(id) => {
                assert_ne!(i % 5, 0);
                assert!(store.message_by_id(&id).await.expect("read").is_some(), "{id} committed");
                ok += 1;
            }
            Err(e) => {
                assert_eq!(i % 5, 0, "write {i} failed: {e}");
                assert_eq!(e, StorageError::Conflict("id"));
            }
        }
    }
    assert_eq!(ok, 160);
    let stats = store.stats();
    let figure = |name: &str| stats.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    assert_eq!(figure("write_queue"), Some(0.0), "nothing left queued");
    assert!(figure("writes_total").is_some_and(|n| n >= 201.0), "{stats:?}");
    store.close().await;
}

/// The search index is written at the end of each writer batch (migration
/// 12): many writes at once (new messages, edits of the text, deletions,
/// an id used again, and writes that fail and roll back alone) leave the
/// index exactly equal to the messages, as FTS5's own integrity check
/// reads them, with nothing left queued, and searches find exactly the
/// messages whose current text has the word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_index_follows_batched_writes() {
    use threadsync_domain::query::Filter;
    use threadsync_domain::UserRef;
    use threadsync_storage::conformance::{message, plain};
    use threadsync_storage::{search::terms, MessageEdit, SearchOrder, SearchQuery, SearchStore};
    let (store, dir) = fresh().await;
    let w = World::new(&store).await;
    w.post(&store, "taken", &w.alice).await;
    let store = Arc::new(store);
    let alice = w.alice.clone();
    let writes: Vec<_> = (0..300)
        .map(|i| {
            let (store, alice) = (Arc::clone(&store), alice.clone());
            tokio::spawn(async move {
                let id = format!("m{i}");
                // Every seventh write fails (the id is taken) and must leave
                // nothing in the index.
                let new_id = if i % 7 == 0 { "taken".to_owned() } else { id.clone() };
                let text = if i % 2 == 0 { format!("even word{i}") } else { format!("odd word{i}") };
                if store.insert_message(plain(message(&new_id, ROOM, &alice, &text))).await.is_err() {
                    return;
                }
                match i % 3 {
                    // The text changes: the old words must leave the index.
                    0 => {
                        let edit = MessageEdit {
                            msg: format!("edited word{i}"),
                            md: None,
                            mentions: Vec::new(),
                            channels: Vec::new(),
                            edited_by: UserRef {
                                id: alice.id.clone(),
                                username: alice.username.clone(),
                                name: None,
                            },
                        };
                        store.edit_message(&id, edit).await.expect("edit");
                    }
                    // Removed, then every fifth one written again under its id.
                    1 => {
                        store.delete_message(&id, false).await.expect("delete");
                        if i % 5 == 0 {
                            let again = message(&id, ROOM, &alice, &format!("again word{i}"));
                            store.insert_message(plain(again)).await.expect("again");
                        }
                    }
                    _ => {}
                }
            })
        })
        .collect();
    for write in writes {
        write.await.expect("task");
    }
    let conn = raw(dir.path());
    conn.execute("INSERT INTO messages_search (messages_search) VALUES ('integrity-check')", [])
        .expect("the index equals the messages");
    let queued: i64 =
        conn.query_row("SELECT count(*) FROM messages_search_queue", [], |r| r.get(0)).expect("queue");
    assert_eq!(queued, 0, "every batch applied its queue before its commit");

    let find = |text: &'static str| {
        let store = Arc::clone(&store);
        async move {
            let q = SearchQuery {
                rid: ROOM.to_owned(),
                terms: terms(text),
                filter: Filter::True,
                order: SearchOrder::Oldest,
                offset: 0,
                count: 1_000,
            };
            let mut ids: Vec<String> =
                store.search_messages(&q).await.expect("search").into_iter().map(|m| m.id).collect();
            ids.sort_unstable();
            ids
        }
    };
    let expected = |keep: &dyn Fn(usize) -> bool| {
        let mut ids: Vec<String> =
            (0..300).filter(|i| i % 7 != 0 && keep(*i)).map(|i| format!("m{i}")).collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(find("edited").await, expected(&|i| i % 3 == 0));
    assert_eq!(find("again").await, expected(&|i| i % 3 == 1 && i % 5 == 0));
    assert_eq!(find("even").await, expected(&|i| i % 2 == 0 && i % 3 == 2));
    assert_eq!(find("odd").await, expected(&|i| i % 2 == 1 && i % 3 == 2));
    store.close().await;
}

/// Imports run alone in their transaction, without a savepoint (writer.rs,
/// `Mode::Alone`), between batches of ordinary writes: with imports that
/// succeed and imports that fail queued among concurrent sends, every send
/// commits, each successful import is all there (and searchable), each
/// failing one left nothing, and the search index equals the messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_run_alone_between_batched_writes() {
    use threadsync_storage::conformance::{message, plain};
    use threadsync_storage::{ImportBatch, ImportStore};
    let (store, dir) = fresh().await;
    let w = World::new(&store).await;
    w.post(&store, "taken", &w.alice).await;
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..120)
        .map(|i| {
            let (store, alice) = (Arc::clone(&store), w.alice.clone());
            tokio::spawn(async move {
                if i % 10 == 0 {
                    // Every other import reuses a message id of the room
                    // and must fail as a whole, its new user included.
                    let failing = i % 20 == 0;
                    let mut messages: Vec<_> = (0..50)
                        .map(|j| {
                            let mut m =
                                message(&format!("imp{i}-{j}"), ROOM, &alice, &format!("imported{i} word"));
                            m.ts = Timestamp(1_000 + j);
                            m.updated_at = m.ts;
                            m
                        })
                        .collect();
                    if failing {
                        messages.push(message("taken", ROOM, &alice, "taken"));
                    }
                    let importer = threadsync_storage::conformance::user(
                        &format!("importer{i}"),
                        &format!("importer{i}"),
                        &format!("importer{i}@example.com"),
                    );
                    let batch =
                        ImportBatch { users: vec![importer], rooms: vec![], messages, tombstones: vec![] };
                    (i, store.import(batch).await.is_ok())
                } else {
                    let sent =
                        store.insert_message(plain(message(&format!("m{i}"), ROOM, &alice, "sent"))).await;
                    (i, sent.is_ok())
                }
            })
        })
        .collect();
    for task in tasks {
        let (i, ok) = task.await.expect("task");
        let importer = store.user_by_id(&format!("importer{i}")).await.expect("read user");
        match (i % 20, i % 10) {
            (0, _) => {
                assert!(!ok, "import {i} reuses an id and fails");
                assert_eq!(importer, None, "import {i} left its user behind");
                assert_eq!(store.message_by_id(&format!("imp{i}-0")).await, Ok(None));
            }
            (_, 0) => {
                assert!(ok, "import {i} succeeds");
                assert!(importer.is_some());
                for j in 0..50 {
                    assert!(store.message_by_id(&format!("imp{i}-{j}")).await.expect("read").is_some());
                }
            }
            _ => {
                assert!(ok, "send {i} succeeds");
                assert!(store.message_by_id(&format!("m{i}")).await.expect("read").is_some());
            }
        }
    }
    let stats = store.stats();
    let figure = |name: &str| stats.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    assert_eq!(figure("write_queue"), Some(0.0), "nothing left queued");
    store.close().await;
    let conn = raw(dir.path());
    let queued: i64 =
        conn.query_row("SELECT count(*) FROM messages_search_queue", [], |r| r.get(0)).expect("q");
    assert_eq!(queued, 0);
    conn.execute("INSERT INTO messages_search (messages_search) VALUES ('integrity-check')", [])
        .expect("the index equals the messages");
    let indexed: i64 = conn
        .query_row("SELECT count(*) FROM messages_search WHERE messages_search MATCH 'word'", [], |r| {
            r.get(0)
        })
        .expect("match");
    assert_eq!(indexed, 6 * 50, "the six successful imports' messages are searchable");
}
