//! Write and sync throughput over real HTTP, on SQLite and (with
//! `TEST_DATABASE_URL`) on PostgreSQL. A measurement, not a test of speed:
//! it asserts only that every request succeeded, and prints the figures.
//! Ignored by default; run it on a release build:
//!
//! ```sh
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo test --release -p threadsync --test throughput -- --ignored --nocapture
//! ```

mod support;

use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

const CLIENTS: usize = 32;
const SENDS_PER_CLIENT: usize = 200;
const SYNC_SECONDS: u64 = 5;

async fn measure(server: Arc<Server>, label: &str) {
    let admin = server.login(ADMIN, ADMIN_PASS).await;
    server.disable_rate_limiter(&admin).await;
    let mut sessions = Vec::new();
    for i in 0..CLIENTS {
        let name = format!("load{i}");
        server.register(&name).await;
        sessions.push(server.login(&name, "pw-123456").await);
    }
    // One thread per 4 clients, so writers contend on threads and rooms.
    let mut threads = Vec::new();
    for t in 0..CLIENTS / 4 {
        let (status, body) = server
            .post(
                "/api/v1/chat.sendMessage",
                Some(&admin),
                json!({"message": {"rid": "GENERAL", "msg": format!("t{t}")}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        threads.push(body["message"]["_id"].as_str().expect("id").to_owned());
    }

    let start = Instant::now();
    let tasks: Vec<_> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (server, s, tmid) = (Arc::clone(&server), s.clone(), threads[i % threads.len()].clone());
            tokio::spawn(async move {
                for n in 0..SENDS_PER_CLIENT {
                    let (status, body) = server
                        .post(
                            "/api/v1/chat.sendMessage",
                            Some(&s),
                            json!({"message": {"rid": "GENERAL", "tmid": tmid, "msg": format!("r{n}")}}),
                        )
                        .await;
                    assert_eq!(status, 200, "{body}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("sender");
    }
    let sends = (CLIENTS * SENDS_PER_CLIENT) as f64;
    let write_rate = sends / start.elapsed().as_secs_f64();

    // Hot delta sync: each client asks for the last few changes of a thread.
    let since = "2100-01-01T00:00:00.000Z"; // nothing newer: the cheapest, most common poll
    let deadline = Instant::now() + Duration::from_secs(SYNC_SECONDS);
    let tasks: Vec<_> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (server, s, tmid) = (Arc::clone(&server), s.clone(), threads[i % threads.len()].clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let (status, body) = server
                        .get(
                            &format!("/api/v1/chat.syncThreadMessages?tmid={tmid}&updatedSince={since}"),
                            Some(&s),
                        )
                        .await;
                    assert_eq!(status, 200, "{body}");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut syncs = 0u64;
    for t in tasks {
        syncs += t.await.expect("syncer");
    }
    let sync_rate = syncs as f64 / SYNC_SECONDS as f64;
    eprintln!(
        "throughput ({label}): {CLIENTS} clients; thread replies {write_rate:.0}/s ({sends:.0} sends); \
         syncThreadMessages {sync_rate:.0} req/s over {SYNC_SECONDS} s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run on a release build with --ignored --nocapture"]
async fn throughput_sqlite() {
    let data = tempfile::tempdir().expect("temp dir");
    let sqlite = Arc::new(Server::start(serve_cmd(data.path())));
    measure(sqlite, "sqlite").await;
}

/// Needs `TEST_DATABASE_URL` (run with `--ignored`, it fails without it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run on a release build with --ignored --nocapture"]
async fn throughput_postgres() {
    let data = tempfile::tempdir().expect("temp dir");
    let db = PgSchema::create().await;
    let mut cmd = serve_cmd(data.path());
    cmd.arg("--database-url").arg(&db.url).arg("--pg-schema").arg(&db.schema);
    let pg = Arc::new(Server::start(cmd));
    measure(pg, "postgres").await;
    db.drop().await;
}
