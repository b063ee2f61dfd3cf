//! PostgreSQL-specific tests: several store instances (separate pools, as
//! separate server processes would have) on one database, events across
//! instances, connecting (retries, errors, concurrent migrations, restart),
//! uniqueness races decided by constraints, and the Rust re-check of client
//! queries SQL cannot decide exactly.
//!
//! Needs `TEST_DATABASE_URL` except where noted; without it those tests
//! are ignored and say why (see build.rs).

mod common;

use common::{database_url, options, raw, unique_schema, SchemaGuard};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::query::Filter;
use threadsync_domain::{Message, Timestamp};
use threadsync_storage::conformance::{
    channel, message, plain, reply, subscription, user, user_ref, World, ROOM,
};
use threadsync_storage::{
    ChangeScope, Changes, Deletion, EventKind, MessageEdit, MessageStore, RoomStore, SettingsStore,
    StorageError, Store, StoreEvent, SyncStore, ThreadKind, ThreadListQuery, UserStore,
};
use threadsync_storage_postgres::{PgOptions, PgStore};

/// Two stores (two pools, two listeners) on one fresh schema.
async fn two_instances() -> (Arc<PgStore>, Arc<PgStore>, SchemaGuard) {
    let url = database_url();
    let schema = unique_schema();
    let guard = SchemaGuard::new(&url, &schema);
    let a = PgStore::connect(&url, options(&schema)).await.expect("instance a");
    let b = PgStore::connect(&url, options(&schema)).await.expect("instance b");
    (Arc::new(a), Arc::new(b), guard)
}

// ---------------------------------------------------------------------------
// Lossless sync across instances
// ---------------------------------------------------------------------------

/// A client's copy of a feed: the documents it holds, the ids it was told
/// were removed, and where it resumes.
#[derive(Default)]
struct Replica {
    docs: HashMap<String, Message>,
    removed: HashSet<String>,
    since: Timestamp,
    pages: usize,
}

impl Replica {
    fn apply(&mut self, page: &Changes) {
        let mut stamps: Vec<Timestamp> = page.updated.iter().map(|m| m.updated_at).collect();
        stamps.extend(page.removed.iter().map(|t| t.deleted_at));
        stamps.sort();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "stamps in a page are distinct: {stamps:?}");
        assert!(stamps.first().is_none_or(|s| *s > self.since), "a page goes past the resume point");
        for m in &page.updated {
            self.removed.remove(&m.id);
            self.docs.insert(m.id.clone(), m.clone());
        }
        for t in &page.removed {
            self.docs.remove(&t.id);
            self.removed.insert(t.id.clone());
        }
        if let Some(last) = page.last_stamp() {
            self.since = last;
        }
        self.pages += 1;
    }

    /// One poll: a small page from where the replica is.
    async fn poll(&mut self, store: &dyn Store, scope: ChangeScope<'_>, limit: u64) -> bool {
        let page = store.changes_since(scope, self.since, &Filter::True, 0, limit).await.expect("poll");
        self.apply(&page);
        page.more
    }

    /// Follows the feed to its current end.
    async fn catch_up(&mut self, store: &dyn Store, scope: ChangeScope<'_>, limit: u64) {
        while self.poll(store, scope, limit).await {}
    }
}

/// The final state of a scope, read in one go.
async fn truth(store: &dyn Store, scope: ChangeScope<'_>) -> (HashMap<String, Message>, HashSet<String>) {
    let all = store.changes_since(scope, Timestamp(0), &Filter::True, 0, 1_000_000).await.expect("all");
    assert!(!all.more);
    (
        all.updated.into_iter().map(|m| (m.id.clone(), m)).collect(),
        all.removed.into_iter().map(|t| t.id).collect(),
    )
}

/// 2 instances × 4 tasks × 50 writes (replies to one thread, posts, edits,
/// deletes) into one room, while readers on both instances poll the room
/// and the thread feeds with small pages. Every stamp handed out is
/// distinct, and each reader, resuming from the greatest stamp it has, ends
/// with exactly the final state: no change is ever missed, although the
/// writers commit through different pools, in any interleaving.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn two_instances_write_one_room_losslessly() {
    const TASKS: usize = 4;
    const WRITES: usize = 50;
    let (a, b, _guard) = two_instances().await;
    let world = Arc::new(World::new(a.as_ref()).await);
    world.post(a.as_ref(), "parent", &world.alice).await;

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for (i, store) in [a.clone(), b.clone(), a.clone(), b.clone()].into_iter().enumerate() {
        let done = done.clone();
        readers.push(tokio::spawn(async move {
            let scope = if i < 2 { ChangeScope::Room(ROOM) } else { ChangeScope::Thread("parent") };
            let mut replica = Replica::default();
            let limit = [2, 3, 5, 1][i];
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                replica.poll(store.as_ref(), scope, limit).await;
                tokio::task::yield_now().await;
            }
            let while_writing = replica.pages;
            replica.catch_up(store.as_ref(), scope, limit).await;
            (replica, while_writing)
        }));
    }

    let mut writers = Vec::new();
    for (n, store) in [a.clone(), b.clone()].into_iter().enumerate() {
        for t in 0..TASKS {
            let (store, w) = (store.clone(), world.clone());
            writers.push(tokio::spawn(async move {
                let author = [&w.alice, &w.bob, &w.carol][t % 3].clone();
                let mut stamps = Vec::new();
                for j in 0..WRITES {
                    let reply_id = |j: usize| format!("i{n}-t{t}-r{j}");
                    let plain_id = |j: usize| format!("i{n}-t{t}-m{j}");
                    let stamp = match j % 5 {
                        0 => {
                            w.reply(store.as_ref(), &reply_id(j), "parent", &author, &[&author])
                                .await
                                .updated_at
                        }
                        1 | 2 => w.post(store.as_ref(), &plain_id(j), &author).await.updated_at,
                        3 => {
                            let edit = MessageEdit {
                                md: None,
                                msg: format!("edit {j}"),
                                mentions: vec![],
                                channels: vec![],
                                edited_by: user_ref(&author),
                            };
                            store.edit_message(&plain_id(j - 2), edit).await.expect("edit").updated_at
                        }
                        _ => {
                            let id = if (j / 5) % 2 == 0 { reply_id(j - 4) } else { plain_id(j - 3) };
                            match store.delete_message(&id, false).await.expect("delete") {
                                Deletion::Removed(t) => t.deleted_at,
                                Deletion::Placeholder(m) => panic!("{id}: unexpected placeholder {m:?}"),
                            }
                        }
                    };
                    stamps.push(stamp);
                }
                stamps
            }));
        }
    }
    let mut all = HashSet::new();
    for writer in writers {
        let stamps = writer.await.expect("writer");
        assert!(stamps.windows(2).all(|p| p[1] > p[0]), "a task's writes take increasing stamps: {stamps:?}");
        for s in stamps {
            assert!(all.insert(s), "stamp {s:?} handed out twice");
        }
    }
    assert_eq!(all.len(), 2 * TASKS * WRITES);
    done.store(true, std::sync::atomic::Ordering::Release);

    let (room_docs, room_removed) = truth(a.as_ref(), ChangeScope::Room(ROOM)).await;
    let (thread_docs, thread_removed) = truth(b.as_ref(), ChangeScope::Thread("parent")).await;
    let parent = a.message_by_id("parent").await.expect("read").expect("parent");
    assert!(all.insert(parent.updated_at), "the parent's stamp is distinct too");
    let replies = 2 * TASKS * (WRITES / 5);
    assert_eq!(parent.tcount, Some(i64::try_from(replies - replies / 2).expect("small")));
    for (i, reader) in readers.into_iter().enumerate() {
        let (replica, while_writing) = reader.await.expect("reader");
        let (docs, removed) =
            if i < 2 { (&room_docs, &room_removed) } else { (&thread_docs, &thread_removed) };
        assert!(while_writing > 10, "reader {i} polled while the writers ran ({while_writing} pages)");
        assert_eq!(replica.docs.len(), docs.len(), "reader {i}: documents");
        for (id, doc) in docs {
            assert_eq!(replica.docs.get(id), Some(doc), "reader {i}: {id} is current");
        }
        assert_eq!(&replica.removed, removed, "reader {i}: removals");
    }
    a.close().await;
    b.close().await;
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

async fn next_event(rx: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<StoreEvent>>) -> StoreEvent {
    let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("event");
    StoreEvent::clone(&event)
}

/// A write on instance A reaches the subscribers of instance B (through
/// NOTIFY), after its commit; A's own subscribers get it exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn events_cross_instances() {
    let (a, b, _guard) = two_instances().await;
    let w = World::new(a.as_ref()).await;
    // Let the notifications of the setup writes reach B before subscribing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut on_a = a.subscribe();
    let mut on_b = b.subscribe();

    let m = w.post(a.as_ref(), "m1", &w.alice).await;
    let expected = StoreEvent { rid: Some(ROOM.into()), kind: EventKind::Message, user: None, data: None };
    assert_eq!(next_event(&mut on_b).await, expected);
    // B sees the committed write when the event arrives.
    assert_eq!(b.message_by_id("m1").await, Ok(Some(m)));
    assert_eq!(next_event(&mut on_a).await, expected);

    // A failed write announces nothing, anywhere.
    let dup = a.insert_message(plain(message("m1", ROOM, &w.alice, "again"))).await;
    assert_eq!(dup.map(|_| ()), Err(StorageError::Conflict("id")));
    b.save_setting("Threads_enabled", &json!(false)).await.expect("setting");
    let settings = StoreEvent { rid: None, kind: EventKind::Settings, user: None, data: None };
    assert_eq!(next_event(&mut on_a).await, settings);
    assert_eq!(next_event(&mut on_b).await, settings);

    // Nothing twice: A's own event did not come back through NOTIFY.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(on_a.try_recv().is_err(), "no duplicate on A");
    assert!(on_b.try_recv().is_err(), "no duplicate on B");
    a.close().await;
    b.close().await;
}

/// The read caches (tokens, messages' rooms, the tombstone horizon) of one
/// instance forget what another instance changed once its notification
/// arrived: a token revoked on B stops working on A, a message id removed
/// on B and used again in another room is found in its new room on A, a
/// horizon moved on B is seen on A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn caches_follow_other_instances_writes() {
    let (a, b, _guard) = two_instances().await;
    let w = World::new(a.as_ref()).await;
    a.insert_login_token(&w.alice.id, "hash-1", Timestamp(1)).await.expect("token");
    let other = channel("OTHER", "other");
    a.create_room(&other, &[subscription(&other, &w.alice)]).await.expect("other room");
    w.post(a.as_ref(), "m1", &w.alice).await;
    // A caches the answers (asked twice: the second comes from the cache).
    for _ in 0..2 {
        assert_eq!(
            a.user_by_login_token(&w.alice.id, "hash-1").await.expect("token").map(|u| u.id),
            Some(w.alice.id.clone())
        );
        assert_eq!(
            a.user_by_token_hash("hash-1").await.expect("token").map(|u| u.id),
            Some(w.alice.id.clone())
        );
        assert_eq!(a.message_room("m1").await, Ok(Some(ROOM.to_owned())));
        assert_eq!(a.tombstone_horizon().await, Ok(None));
    }
    let mut on_a = a.subscribe();
    assert!(b.delete_login_token(&w.alice.id, "hash-1").await.expect("logout"));
    assert_eq!(next_event(&mut on_a).await.kind, EventKind::User);
    assert_eq!(a.user_by_login_token(&w.alice.id, "hash-1").await, Ok(None), "revoked on B, refused on A");
    assert_eq!(a.user_by_token_hash("hash-1").await, Ok(None));

    b.delete_message("m1", false).await.expect("delete");
    assert_eq!(next_event(&mut on_a).await.data.as_deref(), Some("m1"));
    assert_eq!(a.message_room("m1").await, Ok(None));
    b.insert_message(plain(message("m1", "OTHER", &w.alice, "again"))).await.expect("id used again");
    next_event(&mut on_a).await;
    assert_eq!(a.message_room("m1").await, Ok(Some("OTHER".to_owned())), "the new room, not the cached one");

    b.prune_tombstones(Timestamp(1_000)).await.expect("prune");
    assert_eq!(next_event(&mut on_a).await.kind, EventKind::Tombstones);
    assert_eq!(a.tombstone_horizon().await, Ok(Some(Timestamp(1_000))));
    a.close().await;
    b.close().await;
}

// ---------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------

/// `sslmode=require` makes every connection TLS and verifies the server:
/// a certificate that does not name the host connected to is refused
/// (naming the server, never the password); with the right host and the
/// server's certificate trusted (`ca_file`) the store connects and works.
/// Plain text needs no `sslmode` (all other tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn tls_follows_sslmode_and_verifies_the_server() {
    let url = database_url();
    let config: tokio_postgres::Config = url.parse().expect("TEST_DATABASE_URL");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let db = config.get_dbname().unwrap_or(user);
    let password = config
        .get_password()
        .map(|p| format!(" password='{}'", String::from_utf8_lossy(p)))
        .unwrap_or_default();
    let tls_url =
        |host: &str| format!("host={host} port={port} user={user} dbname={db}{password} sslmode=require");
    let schema = unique_schema();
    let _guard = SchemaGuard::new(&url, &schema);
    let client = raw(&url, &schema).await;
    let ssl: String = client.query_one("SHOW ssl", &[]).await.expect("show ssl").get(0);
    let cert: String = client.query_one("SHOW ssl_cert_file", &[]).await.expect("cert file").get(0);
    let quick =
        |ca_file: Option<std::path::PathBuf>| PgOptions { connect_attempts: 1, ca_file, ..options(&schema) };

    // 127.0.0.1 is not a name the server's certificate holds (Debian's
    // snakeoil names `localhost`), or the server has no TLS: refused.
    let refused = PgStore::connect(&tls_url("127.0.0.1"), quick(None)).await.map(|_| ());
    let Err(StorageError::Backend(message)) = refused else {
        panic!("an unverifiable (or plain-text) server must be refused, got {refused:?}");
    };
    assert!(message.contains("127.0.0.1"), "names the server: {message}");
    assert!(!message.contains("password"), "{message}");

    if ssl != "on" || std::fs::metadata(&cert).is_err() {
        println!(
            "skipped the TLS connection: the server has no TLS, or its certificate is not readable here"
        );
        return;
    }
    let store = PgStore::connect(&tls_url("localhost"), quick(Some(cert.into())))
        .await
        .expect("TLS, server verified");
    store.ping().await.expect("works over TLS");
    store.close().await;
}

/// No server needed: nothing listens on port 1. The attempts are made, the
/// error names the server and the count, and never the password.
#[tokio::test]
async fn connect_reports_an_unreachable_server() {
    let started = Instant::now();
    let options = PgOptions {
        connect_attempts: 2,
        connect_backoff: Duration::from_millis(20),
        schema: Some("ts_unreachable".into()),
        ..PgOptions::default()
    };
    let result = PgStore::connect("postgres://someone:sekret-pw@127.0.0.1:1/somedb", options).await;
    let Err(StorageError::Backend(message)) = result.map(|_| ()) else {
        panic!("an unreachable server must fail with Backend");
    };
    assert!(
        message.starts_with("cannot reach PostgreSQL at 127.0.0.1:1/somedb after 2 attempts: "),
        "{message}"
    );
    // The OS's reason, not only the driver's "error connecting to server".
    assert!(message.to_lowercase().contains("connection refused"), "{message}");
    assert!(!message.contains("sekret"), "no password in errors: {message}");
    assert!(started.elapsed() >= Duration::from_millis(20), "it waited between the attempts");
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// No server needed: bad input is refused before connecting.
#[tokio::test]
async fn connect_refuses_bad_input() {
    let bad_schema = PgOptions { schema: Some("Bad-Name; DROP".into()), ..PgOptions::default() };
    let result = PgStore::connect("postgres://postgres@127.0.0.1:1/x", bad_schema).await;
    assert!(matches!(result.map(|_| ()), Err(StorageError::Backend(m)) if m.contains("invalid schema name")));
    let result = PgStore::connect("postgres://postgres@127.0.0.1:notaport/x", PgOptions::default()).await;
    assert!(matches!(result.map(|_| ()), Err(StorageError::Backend(m)) if m.contains("connection string")));
    let result = PgStore::connect("user=postgres dbname=x", PgOptions::default()).await;
    assert!(matches!(result.map(|_| ()), Err(StorageError::Backend(m)) if m.contains("no host")));
}

/// A server that answers with a refusal is not retried.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn connect_does_not_retry_a_refusal() {
    let url = database_url();
    let Some((base, _)) = url.rsplit_once('/') else { panic!("TEST_DATABASE_URL has a database") };
    let options =
        PgOptions { connect_attempts: 5, connect_backoff: Duration::from_secs(2), ..PgOptions::default() };
    let started = Instant::now();
    let result = PgStore::connect(&format!("{base}/threadsync_no_such_database"), options).await;
    let Err(StorageError::Backend(message)) = result.map(|_| ()) else { panic!("no such database") };
    assert!(message.contains("refused the connection"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(2), "not retried");
}

/// Several instances starting at once on a new schema: the advisory lock
/// lets one migrate and the others find the work done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn instances_starting_at_once_migrate_once() {
    let url = database_url();
    let schema = unique_schema();
    let _guard = SchemaGuard::new(&url, &schema);
    let (a, b, c) = tokio::join!(
        PgStore::connect(&url, options(&schema)),
        PgStore::connect(&url, options(&schema)),
        PgStore::connect(&url, options(&schema)),
    );
    let stores = [a.expect("a"), b.expect("b"), c.expect("c")];
    let client = raw(&url, &schema).await;
    let row = client.query_one("SELECT count(*), count(DISTINCT version) FROM schema_migrations", &[]).await;
    let row = row.expect("versions");
    let (rows, distinct): (i64, i64) = (row.get(0), row.get(1));
    assert!(rows >= 1);
    assert_eq!(rows, distinct, "no migration applied twice");
    for store in &stores {
        assert_eq!(store.count_users().await, Ok(0));
        store.close().await;
    }
}

/// The data and the room clock live in the database: after a restart,
/// stamps continue from the last tick even if the wall clock is behind it;
/// close() makes later calls fail instead of hanging, and is idempotent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn reconnecting_keeps_data_and_clock() {
    let url = database_url();
    let schema = unique_schema();
    let _guard = SchemaGuard::new(&url, &schema);
    let store = PgStore::connect(&url, options(&schema)).await.expect("connect");
    assert_eq!(store.backend_name(), "postgres");
    assert_eq!(store.schema(), Some(schema.as_str()));
    let w = World::new(&store).await;
    w.post(&store, "m1", &w.alice).await;
    store.close().await;
    assert!(matches!(store.message_by_id("m1").await, Err(StorageError::Backend(_))));
    assert!(store.save_setting("x", &json!(1)).await.is_err());
    store.close().await;
    drop(store);

    let ahead = Timestamp::now().millis() + 3_600_000;
    let client = raw(&url, &schema).await;
    client.execute("UPDATE rooms SET clock = $1 WHERE id = $2", &[&ahead, &ROOM]).await.expect("move clock");
    let applied = client.query_one("SELECT count(*) FROM schema_migrations", &[]).await.expect("versions");
    let applied: i64 = applied.get(0);
    assert!(applied >= 1, "the first connect applied the migrations");

    let store = PgStore::connect(&url, options(&schema)).await.expect("reconnect");
    assert_eq!(store.count_users().await, Ok(4));
    assert!(store.message_by_id("m1").await.expect("read").is_some());
    let m2 = w.post(&store, "m2", &w.alice).await;
    assert_eq!(m2.ts.millis(), ahead + 1, "the next tick follows the stored clock");
    let r = w.reply(&store, "r1", "m2", &w.bob, &[&w.bob]).await;
    assert_eq!(r.ts.millis(), ahead + 2);
    let parent = store.message_by_id("m2").await.expect("read").expect("m2");
    assert_eq!(parent.updated_at.millis(), ahead + 3, "reply t, parent t + 1");
    let row = client.query_one("SELECT count(*) FROM schema_migrations", &[]).await.expect("versions");
    assert_eq!(row.get::<_, i64>(0), applied, "reconnecting applies no migration again");
    store.close().await;
}

// ---------------------------------------------------------------------------
// Uniqueness races between instances
// ---------------------------------------------------------------------------

/// Two instances create the same username, address, room name or message id
/// at the same moment: exactly one wins; the other gets the documented
/// Conflict whether the explicit check or the constraint caught it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn concurrent_duplicates_conflict_by_rule() {
    let (a, b, _guard) = two_instances().await;
    let w = World::new(a.as_ref()).await;
    let other = a.create_room(&channel("OTHER", "other"), &[]).await.expect("other room");
    for round in 0..15 {
        let name = format!("name{round}");
        let (u1, u2) = (
            user(&format!("a{round}"), &name, &format!("a{round}@x")),
            user(&format!("b{round}"), &name.to_uppercase(), &format!("b{round}@x")),
        );
        let (x, y) = tokio::join!(a.insert_user(&u1, &[]), b.insert_user(&u2, &[]));
        let mut results = [x, y];
        results.sort_by_key(|r| r.is_err());
        assert_eq!(results, [Ok(()), Err(StorageError::Conflict("username"))], "round {round}");

        let (u1, u2) = (
            user(&format!("c{round}"), &format!("c{round}"), &format!("same{round}@x")),
            user(&format!("d{round}"), &format!("d{round}"), &format!("SAME{round}@x")),
        );
        let (x, y) = tokio::join!(a.insert_user(&u1, &[]), b.insert_user(&u2, &[]));
        let mut results = [x, y];
        results.sort_by_key(|r| r.is_err());
        assert_eq!(results, [Ok(()), Err(StorageError::Conflict("email"))], "round {round}");

        let room = format!("room{round}");
        let (r1, r2) =
            (channel(&format!("RA{round}"), &room), channel(&format!("RB{round}"), &room.to_uppercase()));
        let (x, y) = tokio::join!(a.create_room(&r1, &[]), b.create_room(&r2, &[]));
        let wins = [&x, &y].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {x:?} {y:?}");
        assert!([&x, &y].iter().any(|r| **r == Err(StorageError::Conflict("room_name"))), "round {round}");

        // The same message id in two rooms (two different room locks).
        let id = format!("dup{round}");
        let (x, y) = tokio::join!(
            a.insert_message(plain(message(&id, ROOM, &w.alice, "a"))),
            b.insert_message(plain(message(&id, &other.id, &w.alice, "b"))),
        );
        let wins = [&x, &y].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {x:?} {y:?}");
        assert!([&x, &y].iter().any(|r| matches!(r, Err(StorageError::Conflict("id")))), "round {round}");
    }
    a.close().await;
    b.close().await;
}

/// Sends of one room written together (send_queue.rs): a send the database
/// itself refuses (JSONB cannot hold U+0000, which no rule checks before
/// the statement runs) fails alone, and its neighbours, in the batch that
/// failed with it, are written and answered as if alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn a_send_the_database_refuses_fails_alone_in_its_batch() {
    let (store, _guard) = common::fresh().await;
    let w = World::new(&store).await;
    w.post(&store, "parent", &w.alice).await;
    let sends = (0..30).map(|i| {
        let text = if i % 10 == 5 { format!("nul \u{0} {i}") } else { format!("fine {i}") };
        let m = message(&format!("b{i}"), ROOM, [&w.alice, &w.bob][i % 2], &text);
        let new = if i % 3 == 0 { reply(m, "parent", &[&w.bob]) } else { plain(m) };
        let store = &store;
        async move { (i, store.insert_message(new).await) }
    });
    let results = futures_util::future::join_all(sends).await;
    let mut replies = 0;
    for (i, result) in results {
        if i % 10 == 5 {
            assert!(matches!(result, Err(StorageError::Backend(_))), "send {i}: {result:?}");
            assert_eq!(store.message_by_id(&format!("b{i}")).await, Ok(None), "send {i} wrote nothing");
        } else {
            let m = result.unwrap_or_else(|e| panic!("send {i}: {e}"));
            assert_eq!(
                store.message_by_id(&m.id).await.as_ref(),
                Ok(&Some(m.clone())),
                "send {i} stored as answered"
            );
            replies += usize::from(m.tmid.is_some());
        }
    }
    let parent = store.message_by_id("parent").await.expect("read").expect("parent");
    assert_eq!(
        parent.tcount,
        Some(i64::try_from(replies).expect("small")),
        "the parent counts the written replies"
    );
    store.close().await;
}

/// Owners leaving at once through two instances: the room lock serialises
/// the last-owner check, so one owner always remains.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn concurrent_owners_leaving_keep_one() {
    let (a, b, _guard) = two_instances().await;
    let w = World::new(a.as_ref()).await;
    for round in 0..10 {
        for u in [&w.alice, &w.bob] {
            a.remove_subscription(ROOM, &u.id, false).await.expect("reset");
            let mut owner = subscription(&w.room, u);
            owner.roles = vec!["owner".into()];
            a.add_subscription(&owner).await.expect("owner");
        }
        let (x, y) = tokio::join!(
            a.remove_subscription(ROOM, &w.alice.id, true),
            b.remove_subscription(ROOM, &w.bob.id, true),
        );
        let mut results = [x, y];
        results.sort_by_key(|r| r.is_err());
        assert_eq!(results, [Ok(true), Err(StorageError::Invalid("last owner"))], "round {round}");
    }
    a.close().await;
    b.close().await;
}

// ---------------------------------------------------------------------------
// Client queries re-checked in Rust
// ---------------------------------------------------------------------------

/// `$regex` cannot be decided in SQL: the feed walks a superset in batches
/// and re-checks each document. Every (offset, limit) page must be exactly
/// the slice of the full filtered feed, with the right `more`, and a client
/// paging by the last stamp must see every matching change once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn regex_feeds_and_listings_page_exactly() {
    let (store, _guard) = common::fresh().await;
    let w = World::new(&store).await;
    w.post(&store, "parent", &w.alice).await;
    for i in 0..150 {
        let text = if i % 3 == 0 { format!("Keep {i}") } else { format!("drop {i}") };
        let m = message(&format!("m{i:03}"), ROOM, [&w.alice, &w.bob][i % 2], &text);
        let new = if i % 2 == 0 { reply(m, "parent", &[&w.bob]) } else { plain(m) };
        store.insert_message(new).await.expect("insert");
    }
    for i in (0..150).step_by(7) {
        let edit = MessageEdit {
            md: None,
            msg: if i % 2 == 0 { "keep again".into() } else { "dropped".into() },
            mentions: vec![],
            channels: vec![],
            edited_by: user_ref(&w.carol),
        };
        store.edit_message(&format!("m{i:03}"), edit).await.expect("edit");
    }
    for i in (0..150).step_by(11) {
        store.delete_message(&format!("m{i:03}"), false).await.expect("delete");
    }
    let filter = Filter::parse(Some(r#"{"msg": {"$regex": "^keep", "$options": "i"}}"#)).expect("query");

    for scope in [ChangeScope::Room(ROOM), ChangeScope::Thread("parent")] {
        let all = store.changes_since(scope, Timestamp(0), &Filter::True, 0, 100_000).await.expect("all");
        // The expected feed: every removal, the matching updates, by stamp.
        let mut expected: Vec<(Timestamp, String)> = all
            .updated
            .iter()
            .filter(|m| filter.matches(&serde_json::to_value(m).expect("json")))
            .map(|m| (m.updated_at, m.id.clone()))
            .chain(all.removed.iter().map(|t| (t.deleted_at, format!("-{}", t.id))))
            .collect();
        expected.sort();
        assert!(expected.len() > 30, "{scope:?}: a real test ({} changes)", expected.len());
        let names = |page: &Changes| {
            let mut got: Vec<(Timestamp, String)> = page
                .updated
                .iter()
                .map(|m| (m.updated_at, m.id.clone()))
                .chain(page.removed.iter().map(|t| (t.deleted_at, format!("-{}", t.id))))
                .collect();
            got.sort();
            got
        };
        let n = expected.len() as u64;
        for (offset, limit) in
            [(0, 1), (0, 7), (3, 5), (10, 100), (n - 2, 5), (n, 3), (n + 5, 3), (0, 0), (2, 0)]
        {
            let page = store.changes_since(scope, Timestamp(0), &filter, offset, limit).await.expect("page");
            let from = offset.min(n) as usize;
            let to = (offset + limit).min(n) as usize;
            assert_eq!(names(&page), expected[from..to].to_vec(), "{scope:?} offset {offset} limit {limit}");
            assert_eq!(page.more, offset + limit < n, "{scope:?} offset {offset} limit {limit}: more");
        }
        for limit in [1, 4, 64, 65, 1000] {
            let mut since = Timestamp(0);
            let mut seen = Vec::new();
            loop {
                let page = store.changes_since(scope, since, &filter, 0, limit).await.expect("page");
                seen.extend(names(&page));
                match page.last_stamp() {
                    Some(last) if page.more => since = last,
                    _ => break,
                }
            }
            assert_eq!(seen, expected, "{scope:?} paging by {limit}");
        }
    }

    // Listings: the total counts matches only; pages are slices.
    let replies =
        store.thread_replies("parent", &Filter::True, &Sort::default(), 0, 1000).await.expect("all");
    let expected: Vec<String> = replies
        .items
        .iter()
        .filter(|m| filter.matches(&serde_json::to_value(m).expect("json")))
        .map(|m| m.id.clone())
        .collect();
    for (offset, count) in [(0, 5), (4, 10), (0, 1000), (expected.len() as u64, 5)] {
        let page =
            store.thread_replies("parent", &filter, &Sort::default(), offset, count).await.expect("page");
        let got: Vec<String> = page.items.iter().map(|m| m.id.clone()).collect();
        let from = (offset as usize).min(expected.len());
        let to = ((offset + count) as usize).min(expected.len());
        assert_eq!(got, expected[from..to].to_vec(), "replies offset {offset} count {count}");
        assert_eq!(page.total, expected.len() as u64);
    }
    let desc = Sort(vec![(SortField::Msg, Direction::Desc)]);
    let page = store.thread_replies("parent", &filter, &desc, 0, 1000).await.expect("desc");
    let msgs: Vec<&str> = page.items.iter().map(|m| m.msg.as_str()).collect();
    assert!(msgs.windows(2).all(|p| p[0] >= p[1]), "by msg descending: {msgs:?}");
    store.close().await;
}

/// The `text` of getThreadsList: a Unicode case-insensitive substring,
/// exactly as the SQLite backend matches it, with totals that count only
/// matches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn thread_list_text_is_unicode_case_insensitive() {
    let (store, _guard) = common::fresh().await;
    let w = World::new(&store).await;
    let texts = ["ÉTÉ à Paris", "un été chaud", "Hiver", "été", "Straße", "STRASSE", "50 °C, 3 \u{212A}"];
    for (i, text) in texts.iter().enumerate() {
        store.insert_message(plain(message(&format!("t{i}"), ROOM, &w.alice, text))).await.expect("parent");
        w.reply(&store, &format!("r{i}"), &format!("t{i}"), &w.bob, &[&w.bob]).await;
    }
    let query = |text: &str, offset, count| ThreadListQuery {
        rid: ROOM.into(),
        kind: ThreadKind::All,
        text: Some(text.into()),
        filter: Filter::True,
        sort: Sort::by(SortField::Ts, Direction::Asc),
        offset,
        count,
    };
    let ids = |page: &threadsync_storage::Page<Message>| {
        page.items.iter().map(|m| m.id.clone()).collect::<Vec<_>>()
    };
    let page = store.thread_parents(&query("été", 0, 10)).await.expect("été");
    assert_eq!((ids(&page), page.total), (vec!["t0".to_owned(), "t1".into(), "t3".into()], 3));
    let page = store.thread_parents(&query("ÉTÉ", 1, 1)).await.expect("paged");
    assert_eq!((ids(&page), page.total), (vec!["t1".to_owned()], 3));
    // Simple case folding, as Rust's regex: ß is not "ss"; K (Kelvin) is k.
    let page = store.thread_parents(&query("strasse", 0, 10)).await.expect("ss");
    assert_eq!(ids(&page), vec!["t5".to_owned()]);
    let page = store.thread_parents(&query("3 k", 0, 10)).await.expect("kelvin");
    assert_eq!(ids(&page), vec!["t6".to_owned()]);
    let page = store.thread_parents(&query("(", 0, 10)).await.expect("regex characters are literal");
    assert_eq!(page.total, 0);
    // Combined with following and a client query.
    let mut q = query("été", 0, 10);
    q.kind = ThreadKind::Following(w.bob.id.clone());
    q.filter = Filter::parse(Some(r#"{"msg": {"$regex": "^un"}}"#)).expect("query");
    let page = store.thread_parents(&q).await.expect("combined");
    assert_eq!((ids(&page), page.total), (vec!["t1".to_owned()], 1));
    store.close().await;
}
