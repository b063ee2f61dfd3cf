//! Lossless sync under concurrency (docs/sync.md#the-guarantee-lossless-sync).
//!
//! Several writers reply in, edit and delete from one thread of the real
//! server while a client follows `chat.syncThreadMessages` with the greatest
//! `_updatedAt` / `_deletedAt` it has received, in small pages. Afterwards
//! its replica must equal the server's truth, document for document, and
//! the writers' own record of what survives. Repeated over several rounds,
//! with many writes landing in the same millisecond.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use support::*;

const WRITERS: usize = 4;
const OPS_PER_WRITER: usize = 120;
const ROUNDS: usize = 8;
/// Small pages, so the syncer pages through the delta while writes land.
const SYNC_PAGE: usize = 7;

/// What one writer knows it left behind: its live replies and their texts.
type Written = BTreeMap<String, String>;

async fn writer(server: Arc<Server>, me: Session, rid: String, tmid: String, seed: u64) -> Written {
    let mut rng = Rng(seed);
    let mut live: Written = BTreeMap::new();
    for op in 0..OPS_PER_WRITER {
        let choice = rng.below(10);
        let existing: Vec<String> = live.keys().cloned().collect();
        if choice < 5 || existing.is_empty() {
            let text = format!("reply {seed}-{op}");
            let (status, body) = server
                .post(
                    "/api/v1/chat.sendMessage",
                    Some(&me),
                    json!({"message": {"rid": rid, "tmid": tmid, "msg": text}}),
                )
                .await;
            assert_eq!(status, 200, "send: {body}");
            live.insert(body["message"]["_id"].as_str().expect("id").to_owned(), text);
        } else if choice < 8 {
            let id = &existing[rng.below(existing.len())];
            let text = format!("edit {seed}-{op}");
            let (status, body) = server
                .post("/api/v1/chat.update", Some(&me), json!({"roomId": rid, "msgId": id, "text": text}))
                .await;
            assert_eq!(status, 200, "update: {body}");
            live.insert(id.clone(), text);
        } else {
            let id = &existing[rng.below(existing.len())];
            let (status, body) =
                server.post("/api/v1/chat.delete", Some(&me), json!({"roomId": rid, "msgId": id})).await;
            assert_eq!(status, 200, "delete: {body}");
            live.remove(id);
        }
        if op % 25 == 0 {
            // Follow changes touch the parent only; they must not disturb the replies' feed.
            let (status, body) =
                server.post("/api/v1/chat.followMessage", Some(&me), json!({"mid": tmid})).await;
            assert_eq!(status, 200, "follow: {body}");
        }
    }
    live
}

/// The syncing client: a replica of the thread's replies and the cursor.
#[derive(Default)]
struct Replica {
    docs: BTreeMap<String, Value>,
    cursor: String,
    pages: usize,
}

impl Replica {
    /// Fetches one page after the cursor and applies it; returns how many changes it carried.
    async fn pull(&mut self, server: &Server, me: &Session, tmid: &str) -> usize {
        let path = format!(
            "/api/v1/chat.syncThreadMessages?tmid={tmid}&updatedSince={}&count={SYNC_PAGE}",
            self.cursor
        );
        let (status, body) = server.get(&path, Some(me)).await;
        assert_eq!(status, 200, "sync: {body}");
        self.pages += 1;
        let update = body["messages"]["update"].as_array().expect("update");
        let remove = body["messages"]["remove"].as_array().expect("remove");
        assert!(update.len() + remove.len() <= SYNC_PAGE, "pages are bounded by count");
        for doc in update {
            let id = doc["_id"].as_str().expect("id").to_owned();
            self.advance(doc["_updatedAt"].as_str().expect("_updatedAt"));
            self.docs.insert(id, doc.clone());
        }
        for gone in remove {
            self.advance(gone["_deletedAt"].as_str().expect("_deletedAt"));
            self.docs.remove(gone["_id"].as_str().expect("id"));
        }
        update.len() + remove.len()
    }

    /// The cursor is the greatest stamp received (ISO strings of one fixed
    /// format order as the times they name).
    fn advance(&mut self, stamp: &str) {
        if stamp > self.cursor.as_str() {
            self.cursor = stamp.to_owned();
        }
    }
}

/// The server's truth, through another read path (`chat.getThreadMessages`).
async fn truth(server: &Server, me: &Session, tmid: &str) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    let mut offset = 0;
    loop {
        let path = format!("/api/v1/chat.getThreadMessages?tmid={tmid}&count=100&offset={offset}");
        let (status, body) = server.get(&path, Some(me)).await;
        assert_eq!(status, 200, "getThreadMessages: {body}");
        let page = body["messages"].as_array().expect("messages");
        for doc in page {
            all.insert(doc["_id"].as_str().expect("id").to_owned(), doc.clone());
        }
        offset += page.len();
        if page.is_empty()
            || offset >= usize::try_from(body["total"].as_u64().expect("total")).expect("small")
        {
            return all;
        }
    }
}

fn differences(replica: &BTreeMap<String, Value>, truth: &BTreeMap<String, Value>) -> Vec<String> {
    let mut diffs = Vec::new();
    for (id, doc) in truth {
        match replica.get(id) {
            None => diffs.push(format!("missing {id}")),
            Some(mine) if mine != doc => diffs.push(format!("stale {id}: have {mine}, server {doc}")),
            Some(_) => {}
        }
    }
    for id in replica.keys().filter(|id| !truth.contains_key(*id)) {
        diffs.push(format!("should have been removed: {id}"));
    }
    diffs
}

/// Runs the convergence rounds with writers spread over `servers` (writer i
/// writes through server i mod n) and a syncing client that alternates
/// between the servers page by page. Tokens are per instance only in the
/// sense of where they were issued; on a shared database every instance
/// accepts them.
async fn converge(servers: &[Arc<Server>], label: &str) {
    let first = &servers[0];
    let admin = first.login(ADMIN, ADMIN_PASS).await;
    first.disable_rate_limiter(&admin).await;

    let mut writers = Vec::new();
    for i in 0..WRITERS {
        let name = format!("writer{i}");
        first.register(&name).await;
        writers.push(servers[i % servers.len()].login(&name, "pw-123456").await);
    }
    let reader = first.login(ADMIN, ADMIN_PASS).await;

    let mut total_pages = 0;
    let mut total_changes = 0;
    for round in 0..ROUNDS {
        let (status, body) = first
            .post(
                "/api/v1/chat.sendMessage",
                Some(&admin),
                json!({"message": {"rid": "GENERAL", "msg": format!("thread of round {round}")}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let tmid = body["message"]["_id"].as_str().expect("id").to_owned();

        let done = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = writers
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let seed = 0x9E37_79B9_7F4A_7C15 ^ ((round * WRITERS + i) as u64 + 1);
                let server = Arc::clone(&servers[i % servers.len()]);
                tokio::spawn(writer(server, w.clone(), "GENERAL".into(), tmid.clone(), seed))
            })
            .collect();

        let mut replica = Replica { cursor: "1970-01-01T00:00:00.000Z".into(), ..Replica::default() };
        let syncer = {
            let servers: Vec<Arc<Server>> = servers.to_vec();
            let (reader, tmid, done) = (reader.clone(), tmid.clone(), Arc::clone(&done));
            tokio::spawn(async move {
                let mut changes = 0;
                let mut turn = 0;
                while !done.load(Ordering::Acquire) {
                    changes += replica.pull(&servers[turn % servers.len()], &reader, &tmid).await;
                    turn += 1;
                }
                // Writers are done: drain what is left.
                loop {
                    let n = replica.pull(&servers[turn % servers.len()], &reader, &tmid).await;
                    turn += 1;
                    changes += n;
                    if n == 0 {
                        return (replica, changes);
                    }
                }
            })
        };

        let mut expected: BTreeMap<String, String> = BTreeMap::new();
        for h in handles {
            expected.extend(h.await.expect("writer"));
        }
        done.store(true, Ordering::Release);
        let (replica, changes) = syncer.await.expect("syncer");
        total_pages += replica.pages;
        total_changes += changes;

        let last = &servers[servers.len() - 1];
        let truth = truth(last, &reader, &tmid).await;
        let diffs = differences(&replica.docs, &truth);
        assert!(
            diffs.is_empty(),
            "{label} round {round}: {} differences:\n{}",
            diffs.len(),
            diffs.join("\n")
        );
        let texts: BTreeMap<String, String> = truth
            .iter()
            .map(|(id, doc)| (id.clone(), doc["msg"].as_str().expect("msg").to_owned()))
            .collect();
        assert_eq!(texts, expected, "{label} round {round}: the server's truth is what the writers left");

        // The parent's counters agree with the replies.
        let (status, parent) =
            last.get(&format!("/api/v1/chat.getMessage?msgId={tmid}"), Some(&reader)).await;
        assert_eq!(status, 200, "{parent}");
        assert_eq!(parent["message"]["tcount"].as_u64(), Some(truth.len() as u64), "round {round}: tcount");
        let followers = parent["message"]["replies"].as_array().expect("replies");
        for w in &writers {
            assert!(followers.contains(&json!(w.user_id)), "round {round}: every writer follows the thread");
        }
    }
    eprintln!(
        "convergence ({label}): {ROUNDS} rounds x {WRITERS} writers x {OPS_PER_WRITER} ops; \
         the syncer applied {total_changes} changes over {total_pages} pages; 0 differences"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_a_syncing_client_converge() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = Arc::new(Server::start(serve_cmd(data.path())));
    converge(&[server], "sqlite, one instance").await;
}

/// Two server processes on one PostgreSQL database (a schema of its own),
/// writers spread over both, the syncing client alternating between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn two_instances_on_postgres_converge() {
    let db = PgSchema::create().await;
    let pg_cmd = |data: &std::path::Path| {
        let mut cmd = serve_cmd(data);
        cmd.arg("--database-url").arg(&db.url).arg("--pg-schema").arg(&db.schema);
        cmd
    };
    let (a_dir, b_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    // The first instance creates the schema, GENERAL and the admin; the
    // second finds them (both also cope with starting at the same time).
    let a = Arc::new(Server::start(pg_cmd(a_dir.path())));
    let b = Arc::new(Server::start(pg_cmd(b_dir.path())));
    converge(&[a, b], "postgres, two instances").await;
    db.drop().await;
}

// ---------------------------------------------------------------------------
// Live streams: a websocket client that drops its socket and catches up
// ---------------------------------------------------------------------------

#[path = "realtime/ddp.rs"]
#[allow(dead_code)]
mod ddp;

/// Live rounds: fewer than the sync rounds, each with a disconnection.
const LIVE_ROUNDS: usize = 3;

/// A reply as the live client knows it: its text and `_updatedAt` (ms).
type Known = BTreeMap<String, (String, i64)>;

/// What a live client holds of one thread: built from the room stream, and
/// after a reconnect from one catch-up sync. Stream frames of a room arrive
/// in stamp order, but a catch-up page may be read before a frame the
/// socket already queued, so every update keeps the newer version and a
/// removed id stays removed (ids are never reused).
#[derive(Default)]
struct LiveReplica {
    docs: Known,
    removed: std::collections::BTreeSet<String>,
    /// The greatest `_updatedAt` of any message of the room received.
    cursor_ms: i64,
    frames: usize,
}

impl LiveReplica {
    fn upsert(&mut self, id: &str, msg: &str, updated_ms: i64) {
        self.cursor_ms = self.cursor_ms.max(updated_ms);
        if self.removed.contains(id) {
            return;
        }
        match self.docs.get(id) {
            Some((_, have)) if *have >= updated_ms => {}
            _ => {
                self.docs.insert(id.to_owned(), (msg.to_owned(), updated_ms));
            }
        }
    }

    fn remove(&mut self, id: &str) {
        self.docs.remove(id);
        self.removed.insert(id.to_owned());
    }

    /// Applies stream frames until `until` (a message id of the room) has
    /// been seen, or forever when `None`; returns at the marker.
    async fn follow(&mut self, live: &mut ddp::Ddp, tmid: &str, until: Option<&str>) {
        loop {
            let frame = live.recv().await;
            if frame["msg"] != "changed" {
                continue;
            }
            self.frames += 1;
            let args = &frame["fields"]["args"];
            if frame["collection"] == "stream-notify-room" {
                self.remove(args[0]["_id"].as_str().expect("deleted id"));
                continue;
            }
            let doc = &args[0];
            let id = doc["_id"].as_str().expect("id");
            let updated = doc["_updatedAt"]["$date"].as_i64().expect("EJSON _updatedAt");
            if doc["tmid"] == json!(tmid) {
                self.upsert(id, doc["msg"].as_str().expect("msg"), updated);
            } else {
                self.cursor_ms = self.cursor_ms.max(updated);
            }
            if until == Some(id) {
                return;
            }
        }
    }

    /// The catch-up after a reconnect: `chat.syncThreadMessages` from the
    /// cursor, paged to the end.
    async fn catch_up(&mut self, server: &Server, me: &Session, tmid: &str) -> usize {
        let mut changes = 0;
        loop {
            let since = iso(self.cursor_ms);
            let path = format!("/api/v1/chat.syncThreadMessages?tmid={tmid}&updatedSince={since}&count=50");
            let (status, body) = server.get(&path, Some(me)).await;
            assert_eq!(status, 200, "sync: {body}");
            let update = body["messages"]["update"].as_array().expect("update").clone();
            let remove = body["messages"]["remove"].as_array().expect("remove").clone();
            for doc in &update {
                let ms = ms_of(doc["_updatedAt"].as_str().expect("_updatedAt"));
                self.upsert(doc["_id"].as_str().expect("id"), doc["msg"].as_str().expect("msg"), ms);
            }
            for gone in &remove {
                self.cursor_ms = self.cursor_ms.max(ms_of(gone["_deletedAt"].as_str().expect("_deletedAt")));
                self.remove(gone["_id"].as_str().expect("id"));
            }
            changes += update.len() + remove.len();
            if update.len() + remove.len() < 50 {
                return changes;
            }
        }
    }
}

fn ms_of(iso: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(iso).expect("ISO date").timestamp_millis()
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("a date")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Opens a socket, resumes `me`'s login and subscribes to the room's
/// messages and deletions.
async fn open_live(server: &Server, me: &Session) -> ddp::Ddp {
    let mut live = ddp::Ddp::connect(&server.base).await;
    let login = live.call("login", json!([{"resume": me.token}])).await;
    assert_eq!(login["result"]["id"], json!(me.user_id), "{login}");
    let ready = live.sub("m", "stream-room-messages", json!(["GENERAL", false])).await;
    assert_eq!(ready["msg"], "ready", "{ready}");
    let ready = live.sub("d", "stream-notify-room", json!(["GENERAL/deleteMessage", false])).await;
    assert_eq!(ready["msg"], "ready", "{ready}");
    live
}

/// Writers as in [`converge`] while a websocket client follows the room
/// stream; midway it drops its socket, writes go on, it reconnects on
/// another instance (when there are two), catches up once with
/// `chat.syncThreadMessages` from the greatest stamp it received, and goes
/// on with the stream. After the writers and a final marker message, its
/// replica must equal the server's truth, without any further sync.
async fn converge_live(servers: &[Arc<Server>], label: &str) {
    let first = &servers[0];
    let admin = first.login(ADMIN, ADMIN_PASS).await;
    first.disable_rate_limiter(&admin).await;
    let mut writers = Vec::new();
    for i in 0..WRITERS {
        let name = format!("live{i}");
        first.register(&name).await;
        writers.push(servers[i % servers.len()].login(&name, "pw-123456").await);
    }
    let reader = first.login(ADMIN, ADMIN_PASS).await;
    let (mut frames, mut caught_up) = (0, 0);
    for round in 0..LIVE_ROUNDS {
        let (status, body) = first
            .post(
                "/api/v1/chat.sendMessage",
                Some(&admin),
                json!({"message": {"rid": "GENERAL", "msg": format!("live thread {round}")}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let tmid = body["message"]["_id"].as_str().expect("id").to_owned();
        let mut replica = LiveReplica {
            cursor_ms: ms_of(body["message"]["_updatedAt"].as_str().expect("_updatedAt")),
            ..LiveReplica::default()
        };
        let mut live = open_live(first, &reader).await;

        let handles: Vec<_> = writers
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let seed = 0x5851_F42D_4C95_7F2D ^ ((round * WRITERS + i) as u64 + 1);
                let server = Arc::clone(&servers[i % servers.len()]);
                tokio::spawn(writer(server, w.clone(), "GENERAL".into(), tmid.clone(), seed))
            })
            .collect();

        // Follow for a while, then drop the socket while writes go on.
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(400),
            replica.follow(&mut live, &tmid, None),
        )
        .await;
        drop(live);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let back = &servers[(round + 1) % servers.len()];
        let mut live = open_live(back, &reader).await;
        caught_up += replica.catch_up(back, &reader, &tmid).await;

        let mut expected: BTreeMap<String, String> = BTreeMap::new();
        for h in handles {
            expected.extend(h.await.expect("writer"));
        }
        // Everything before the marker in the room's order reaches the
        // stream before the marker does.
        let (status, marker) = first
            .post(
                "/api/v1/chat.sendMessage",
                Some(&admin),
                json!({"message": {"rid": "GENERAL", "msg": "marker"}}),
            )
            .await;
        assert_eq!(status, 200, "{marker}");
        let marker_id = marker["message"]["_id"].as_str().expect("id").to_owned();
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            replica.follow(&mut live, &tmid, Some(&marker_id)),
        )
        .await
        .unwrap_or_else(|_| panic!("{label} round {round}: the marker never arrived on the stream"));
        frames += replica.frames;

        let truth: Known = truth(servers.last().expect("a server"), &reader, &tmid)
            .await
            .into_iter()
            .map(|(id, doc)| {
                let msg = doc["msg"].as_str().expect("msg").to_owned();
                (id, (msg, ms_of(doc["_updatedAt"].as_str().expect("_updatedAt"))))
            })
            .collect();
        let mut diffs = Vec::new();
        for (id, doc) in &truth {
            match replica.docs.get(id) {
                None => diffs.push(format!("missing {id}")),
                Some(mine) if mine != doc => diffs.push(format!("stale {id}: have {mine:?}, server {doc:?}")),
                Some(_) => {}
            }
        }
        for id in replica.docs.keys().filter(|id| !truth.contains_key(*id)) {
            diffs.push(format!("should have been removed: {id}"));
        }
        assert!(
            diffs.is_empty(),
            "{label} live round {round}: {} differences:\n{}",
            diffs.len(),
            diffs.join("\n")
        );
        let texts: BTreeMap<String, String> =
            truth.iter().map(|(id, (msg, _))| (id.clone(), msg.clone())).collect();
        assert_eq!(texts, expected, "{label} live round {round}: the truth is what the writers left");
    }
    eprintln!(
        "live convergence ({label}): {LIVE_ROUNDS} rounds x {WRITERS} writers x {OPS_PER_WRITER} ops; \
         {frames} stream frames, {caught_up} changes caught up after reconnects; 0 differences"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_live_client_that_reconnects_and_catches_up_converges() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = Arc::new(Server::start(serve_cmd(data.path())));
    converge_live(&[server], "sqlite, one instance").await;
}

/// The same with two instances on PostgreSQL: writers on both, the client
/// reconnecting to the other instance each round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn a_live_client_converges_across_two_postgres_instances() {
    let db = PgSchema::create().await;
    let (a_dir, b_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = Arc::new(Server::start(pg_serve_cmd(a_dir.path(), &db)));
    let b = Arc::new(Server::start(pg_serve_cmd(b_dir.path(), &db)));
    converge_live(&[a, b], "postgres, two instances").await;
    db.drop().await;
}

// ---------------------------------------------------------------------------
// An instance that stalls, freezes or dies in the middle of a write
// ---------------------------------------------------------------------------

/// How long instance A's marked send waits while holding the room's lock
/// (`THREADSYNC_TEST_STALL_AFTER_ROOM_LOCK_MS`, crates/storage-postgres
/// test_hooks.rs).
const STALL_MS: u64 = 4000;

/// What happens to the instance while its send is stalled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Nothing: the send goes on and commits, with the stamp it took
    /// before the other instance's writes of the stall committed theirs.
    Resumes,
    /// SIGSTOP (the machine freezes, or loses the network): PostgreSQL ends
    /// the idle transaction after its lease (idle_in_transaction_session_timeout).
    Freezes,
    /// SIGKILL: PostgreSQL sees the socket close and rolls back.
    Dies,
}

fn signal(server: &Server, sig: &str) {
    let pid = server.child.id().to_string();
    let status = std::process::Command::new("kill").arg(sig).arg(&pid).status().expect("run kill");
    assert!(status.success(), "kill {sig} {pid} failed");
}

/// Waits until the server's log has `needle` `count` times.
async fn wait_for_log(server: &Server, needle: &str, count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while server.log().matches(needle).count() < count {
        assert!(std::time::Instant::now() < deadline, "never logged {needle:?}:\n{}", server.log());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Instance A takes the room's lock (and so decides its stamp) for a reply,
/// then stalls there while instance B's writers write into the same thread
/// and a client syncs it through B. Per fate: A goes on and commits, A is
/// frozen, A is killed with SIGKILL. In every case the client converges to
/// the server's truth with 0 differences (a resumed write is never skipped
/// even though the client synced on during the stall; a killed or frozen
/// one never appears), B's readers never wait for A, and B's writers get
/// the room back: right away after the kill, within the lease after the
/// freeze.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn an_instance_stalled_frozen_or_killed_holding_a_room_loses_nothing_and_blocks_no_reader() {
    let db = PgSchema::create().await;
    let (a_dir, b_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let b = Arc::new(Server::start(pg_serve_cmd(b_dir.path(), &db)));
    let admin = b.login(ADMIN, ADMIN_PASS).await;
    b.disable_rate_limiter(&admin).await;
    let mut writers = Vec::new();
    for i in 0..2 {
        let name = format!("stallw{i}");
        b.register(&name).await;
        writers.push(b.login(&name, "pw-123456").await);
    }
    let reader = b.login(ADMIN, ADMIN_PASS).await;
    let start_a = || {
        let mut cmd = pg_serve_cmd(a_dir.path(), &db);
        cmd.env("THREADSYNC_TEST_STALL_AFTER_ROOM_LOCK_MS", STALL_MS.to_string());
        Server::start(cmd)
    };
    let mut a = start_a();
    let mut stalls = 0;

    for (round, fate) in [Fate::Resumes, Fate::Freezes, Fate::Dies].into_iter().enumerate() {
        let (status, body) = b
            .post(
                "/api/v1/chat.sendMessage",
                Some(&admin),
                json!({"message": {"rid": "GENERAL", "msg": format!("stall thread {round}")}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let tmid = body["message"]["_id"].as_str().expect("id").to_owned();

        // The syncing client, on B, timing every page.
        let done = Arc::new(AtomicBool::new(false));
        let syncer = {
            let (b, reader, tmid, done) = (Arc::clone(&b), reader.clone(), tmid.clone(), Arc::clone(&done));
            tokio::spawn(async move {
                let mut replica = Replica { cursor: "1970-01-01T00:00:00.000Z".into(), ..Replica::default() };
                let mut slowest = std::time::Duration::ZERO;
                while !done.load(Ordering::Acquire) {
                    let started = std::time::Instant::now();
                    replica.pull(&b, &reader, &tmid).await;
                    slowest = slowest.max(started.elapsed());
                }
                while replica.pull(&b, &reader, &tmid).await > 0 {}
                (replica, slowest)
            })
        };

        // A's marked reply: it stalls holding the room's lock.
        let stalled_text = format!("stall-after-room-lock {round}");
        let stalled = {
            let (api, me, tmid, text) = (a.endpoint(), admin.clone(), tmid.clone(), stalled_text.clone());
            tokio::spawn(async move {
                api.try_post(
                    "/api/v1/chat.sendMessage",
                    Some(&me),
                    json!({"message": {"rid": "GENERAL", "tmid": tmid, "msg": text}}),
                )
                .await
            })
        };
        stalls += 1;
        wait_for_log(&a, "test hook: stalling a send", stalls).await;
        let stalled_at = std::time::Instant::now();

        // B's writers, into the same thread, while A holds the room.
        let handles: Vec<_> = writers
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let seed = 0xD1B5_4A32_D192_ED03 ^ ((round * 2 + i) as u64 + 1);
                tokio::spawn(writer(Arc::clone(&b), w.clone(), "GENERAL".into(), tmid.clone(), seed))
            })
            .collect();

        let mut expected: BTreeMap<String, String> = BTreeMap::new();
        match fate {
            Fate::Resumes => {
                let (status, body) = stalled.await.expect("stalled send").expect("an answer");
                assert_eq!(status, 200, "{body}");
                assert!(stalled_at.elapsed() >= std::time::Duration::from_millis(STALL_MS / 2));
                expected.insert(body["message"]["_id"].as_str().expect("id").to_owned(), stalled_text);
            }
            Fate::Freezes | Fate::Dies => {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                let cut = std::time::Instant::now();
                if fate == Fate::Freezes {
                    signal(&a, "-STOP");
                } else {
                    tokio::task::block_in_place(|| a.kill9());
                }
                // B writes into the room again: at once after a kill (the
                // backend's socket closed), within the 10 s lease after a
                // freeze, however long A stays frozen.
                let (status, body) = b
                    .post(
                        "/api/v1/chat.sendMessage",
                        Some(&admin),
                        json!({"message": {"rid": "GENERAL", "msg": format!("after {fate:?}")}}),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
                let waited = cut.elapsed();
                let bound = if fate == Fate::Dies { 3 } else { 15 };
                assert!(
                    waited < std::time::Duration::from_secs(bound),
                    "{fate:?}: B's writers waited {waited:?} for the room"
                );
                eprintln!("stall ({fate:?}): B wrote into the room {waited:?} after A was cut");
                if fate == Fate::Freezes {
                    signal(&a, "-CONT");
                    // A wakes up to a connection PostgreSQL has closed: its
                    // send fails, nothing of it was committed.
                    let answer = stalled.await.expect("stalled send");
                    assert!(
                        answer.as_ref().is_none_or(|(status, _)| *status != 200),
                        "a send whose lease ran out cannot succeed: {answer:?}"
                    );
                } else {
                    assert!(stalled.await.expect("stalled send").is_none(), "A died before answering");
                    a = start_a();
                    stalls = 0;
                }
            }
        }
        for h in handles {
            expected.extend(h.await.expect("writer"));
        }
        done.store(true, Ordering::Release);
        let (replica, slowest) = syncer.await.expect("syncer");
        // Readers never wait for a writer's lock: no page took anywhere
        // near the stall.
        assert!(
            slowest < std::time::Duration::from_millis(STALL_MS / 2),
            "{fate:?}: a sync page took {slowest:?} while A held the room"
        );

        let truth = truth(&b, &reader, &tmid).await;
        let diffs = differences(&replica.docs, &truth);
        assert!(diffs.is_empty(), "{fate:?}: {} differences:\n{}", diffs.len(), diffs.join("\n"));
        let texts: BTreeMap<String, String> = truth
            .iter()
            .map(|(id, doc)| (id.clone(), doc["msg"].as_str().expect("msg").to_owned()))
            .collect();
        assert_eq!(texts, expected, "{fate:?}: the truth is what the writers (and a resumed A) left");
        let (status, parent) = b.get(&format!("/api/v1/chat.getMessage?msgId={tmid}"), Some(&reader)).await;
        assert_eq!(status, 200, "{parent}");
        assert_eq!(parent["message"]["tcount"].as_u64(), Some(truth.len() as u64), "{fate:?}: tcount");
        eprintln!(
            "stall ({fate:?}): {} replies, {} pages, slowest page {slowest:?}; 0 differences",
            truth.len(),
            replica.pages
        );
    }
    drop(a);
    db.drop().await;
}

// ---------------------------------------------------------------------------
// Files on several instances
// ---------------------------------------------------------------------------

/// A `multipart/form-data` body with one file field.
fn multipart_file(boundary: &str, name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

/// On PostgreSQL the files' bytes are in the database: a file uploaded
/// through one instance downloads, whole and by range, through another
/// (each has a data directory of its own, nothing shared but the
/// database), and deleting its message through the first removes it for
/// both (`File not found`, as for any file one may not see).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn a_file_uploaded_through_one_instance_downloads_through_another() {
    let db = PgSchema::create().await;
    let (a_dir, b_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = Server::start(pg_serve_cmd(a_dir.path(), &db));
    let b = Server::start(pg_serve_cmd(b_dir.path(), &db));
    let admin = a.login(ADMIN, ADMIN_PASS).await;
    let bytes: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let boundary = "threadsync-e2e-boundary";
    let uploaded = a
        .http
        .post(format!("{}/api/v1/rooms.upload/GENERAL", a.base))
        .header("X-User-Id", &admin.user_id)
        .header("X-Auth-Token", &admin.token)
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .body(multipart_file(boundary, "data.bin", &bytes))
        .send()
        .await
        .expect("upload");
    let (status, body) = reply(uploaded).await;
    assert_eq!(status, 200, "{body}");
    let file_id = body["message"]["file"]["_id"].as_str().expect("file id").to_owned();
    let message_id = body["message"]["_id"].as_str().expect("message id").to_owned();
    let download = |server: &Server, range: Option<&str>| {
        let mut request = server
            .http
            .get(format!("{}/file-upload/{file_id}/data.bin", server.base))
            .header("X-User-Id", &admin.user_id)
            .header("X-Auth-Token", &admin.token);
        if let Some(range) = range {
            request = request.header("Range", range);
        }
        request.send()
    };
    let whole = download(&b, None).await.expect("download through b");
    assert_eq!(whole.status().as_u16(), 200);
    assert_eq!(
        whole.bytes().await.expect("bytes").as_ref(),
        &bytes[..],
        "the bytes, through the other instance"
    );
    let part = download(&b, Some("bytes=262140-262150")).await.expect("range through b");
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(part.bytes().await.expect("bytes").as_ref(), &bytes[262_140..=262_150]);
    assert_eq!(
        std::fs::read_dir(a_dir.path().join("uploads")).map(|d| d.count()).unwrap_or(0),
        0,
        "nothing was written to the uploading instance's disk"
    );

    let (status, body) =
        a.post("/api/v1/chat.delete", Some(&admin), json!({"roomId": "GENERAL", "msgId": message_id})).await;
    assert_eq!(status, 200, "{body}");
    let gone = download(&b, None).await.expect("download after delete");
    let (status, body) = reply(gone).await;
    assert_eq!((status, body["errorType"].clone()), (400, json!("error-file-not-found")), "{body}");
    let (raw, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await.expect("raw");
    tokio::spawn(connection);
    let left = raw
        .query_one(
            &format!(
                "SELECT (SELECT count(*) FROM {0}.blobs) + (SELECT count(*) FROM {0}.blob_chunks)",
                db.schema
            ),
            &[],
        )
        .await
        .expect("count");
    assert_eq!(left.get::<_, i64>(0), 0, "the bytes are gone from the database");
    drop((a, b));
    db.drop().await;
}

/// A rename through one instance reaches the other's caches: instance B
/// has bob's login cached (token → user) when an admin renames him through
/// A; the rename's announcement (a resync, through PostgreSQL's `NOTIFY`)
/// drops B's cache, so B answers bob's next requests with his new name
/// and what he writes through B carries it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn a_rename_through_one_instance_reaches_the_other() {
    let db = PgSchema::create().await;
    let (a_dir, b_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = Server::start(pg_serve_cmd(a_dir.path(), &db));
    let b = Server::start(pg_serve_cmd(b_dir.path(), &db));
    let admin = a.login(ADMIN, ADMIN_PASS).await;
    a.register("bob").await;
    let bob = b.login("bob", "pw-123456").await;
    let (status, me) = b.get("/api/v1/me", Some(&bob)).await;
    assert_eq!((status, me["username"].clone()), (200, json!("bob")), "{me}");

    a.rename(&admin, &bob.user_id, "robert").await;
    let mut seen = Value::Null;
    for _ in 0..100 {
        seen = b.get("/api/v1/me", Some(&bob)).await.1["username"].clone();
        if seen == "robert" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, "robert", "instance B still answers with the old name");
    let (status, sent) =
        b.post("/api/v1/chat.postMessage", Some(&bob), json!({"roomId": "GENERAL", "text": "renamed"})).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["message"]["u"]["username"], "robert");
    drop((a, b));
    db.drop().await;
}

/// Presence across instances (docs/realtime.md#presence): bob's sockets on
/// instance B make him online, then away, then offline for alice, whose
/// listener is on instance A; the status both instances answer over REST
/// is the same. bob's two sockets on two instances count together: closing
/// the one on B leaves him online through A's. Then B dies with SIGKILL
/// holding bob's only socket: A finds the lease ended and bob goes offline
/// (leases of 3 s here, renewed every second).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn presence_through_one_instance_reaches_the_other() {
    let db = PgSchema::create().await;
    let (a_dir, b_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let short_lease = |mut cmd: std::process::Command| {
        cmd.arg("--presence-lease-secs").arg("3");
        cmd
    };
    let a = Server::start(short_lease(pg_serve_cmd(a_dir.path(), &db)));
    let mut b = Server::start(short_lease(pg_serve_cmd(b_dir.path(), &db)));
    a.register("alice").await;
    a.register("bob").await;
    let alice = a.login("alice", "pw-123456").await;
    let bob = b.login("bob", "pw-123456").await;
    let mut watcher = ddp::Ddp::connect(&a.base).await;
    watcher.call("login", json!([{"resume": alice.token}])).await;
    let ready = watcher.sub("p", "stream-user-presence", json!(["", {"added": [bob.user_id]}])).await;
    assert_eq!(ready["msg"], "ready", "{ready}");
    let status_code = |frame: &Value| frame["fields"]["args"][0][1].clone();
    let is_bob = |f: &Value| f["fields"]["eventName"] == bob.user_id.as_str();

    let mut on_b = ddp::Ddp::connect(&b.base).await;
    on_b.call("login", json!([{"resume": bob.token}])).await;
    let (online, _) = watcher.until("bob online", |f| is_bob(f) && f["fields"]["args"][0][1] == 1).await;
    assert_eq!(online["fields"]["args"], json!([["bob", 1, ""]]));
    assert_eq!(on_b.call("UserPresence:away", json!([])).await["result"], true);
    let (away, _) = watcher.until("bob away", |f| is_bob(f) && f["fields"]["args"][0][1] == 2).await;
    assert_eq!(status_code(&away), 2);
    for server in [&a, &b] {
        let (_, body) =
            server.get(&format!("/api/v1/users.getStatus?userId={}", bob.user_id), Some(&alice)).await;
        assert_eq!(body["status"], "away", "{body}");
    }
    // A second socket of bob's, on A: online; B's closes: still online.
    let mut on_a = ddp::Ddp::connect(&a.base).await;
    on_a.call("login", json!([{"resume": bob.token}])).await;
    watcher.until("bob online again", |f| is_bob(f) && f["fields"]["args"][0][1] == 1).await;
    drop(on_b);
    let stray = watcher.quiet_for(std::time::Duration::from_millis(500)).await;
    assert!(stray.as_ref().is_none_or(|f| !is_bob(f)), "closing one of two sockets changed bob: {stray:?}");
    let (_, body) = a.get(&format!("/api/v1/users.getStatus?userId={}", bob.user_id), Some(&alice)).await;
    assert_eq!(body["status"], "online", "{body}");
    // The last one closes: offline.
    assert!(on_a.call("logout", json!([])).await.get("error").is_none());
    watcher.until("bob offline", |f| is_bob(f) && f["fields"]["args"][0][1] == 0).await;

    // bob's only socket is on B, and B dies: no close runs there; A's sweep
    // finds the lease ended.
    // (The logout above ended bob's token: a new login.)
    let bob = b.login("bob", "pw-123456").await;
    let mut on_b = ddp::Ddp::connect(&b.base).await;
    let login = on_b.call("login", json!([{"resume": bob.token}])).await;
    assert_eq!(login["result"]["id"], json!(bob.user_id), "{login}");
    watcher.until("bob online on B", |f| is_bob(f) && f["fields"]["args"][0][1] == 1).await;
    b.kill9();
    let killed = std::time::Instant::now();
    watcher.until("bob offline after B died", |f| is_bob(f) && f["fields"]["args"][0][1] == 0).await;
    // Not before the lease could have ended (B renewed it up to its death).
    assert!(killed.elapsed() < std::time::Duration::from_secs(10), "{:?}", killed.elapsed());
    let (_, body) = a.get(&format!("/api/v1/users.getStatus?userId={}", bob.user_id), Some(&alice)).await;
    assert_eq!(body["status"], "offline", "{body}");
    drop(on_b);
    drop((a, b));
    db.drop().await;
}
