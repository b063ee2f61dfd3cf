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
