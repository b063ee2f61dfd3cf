//! Micro-benchmarks of the hot paths of a sync request:
//! - parsing and compiling a client `query` to SQL;
//! - serialising a page of messages (what every sync response does);
//! - the token check every authenticated request makes (hashing the token
//!   and looking its user up in a real SQLite store).
//!
//! `cargo bench -p threadsync-bench` (results in target/criterion).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use serde_json::Map;
use std::sync::Arc;
use threadsync_domain::message::Mention;
use threadsync_domain::query::Filter;
use threadsync_domain::{Message, Timestamp, UserRef};
use threadsync_service::{bootstrap, AdminSeed, LoginCredentials, ServiceOptions, Services};
use threadsync_storage_sqlite::{SqliteOptions, SqliteStore};

const QUERY: &str = r#"{"u.username": {"$in": ["alice", "bob"]}, "msg": {"$regex": "deploy", "$options": "i"},
    "$or": [{"tcount": {"$gte": 2}}, {"mentions.username": "carol"}], "_updatedAt": {"$gt": "2026-01-01T00:00:00Z"}}"#;

fn query(c: &mut Criterion) {
    let mut group = c.benchmark_group("query");
    group.bench_function("parse", |b| b.iter(|| Filter::parse(Some(black_box(QUERY))).expect("valid")));
    let filter = Filter::parse(Some(QUERY)).expect("valid");
    group.bench_function("compile_sqlite", |b| {
        b.iter(|| threadsync_storage_sqlite::compile_query(black_box(&filter)))
    });
    group.finish();
}

fn page_of_messages(n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| Message {
            id: format!("msg{i:014}"),
            rid: "GENERAL".into(),
            msg: format!("reply number {i}: the deploy went fine, latency is back to normal"),
            ts: Timestamp(1_764_000_000_000 + i as i64),
            u: UserRef {
                id: "userid12345678901".into(),
                username: "alice".into(),
                name: Some("Alice".into()),
            },
            updated_at: Timestamp(1_764_000_000_500 + i as i64),
            mentions: vec![Mention {
                id: "userid98765432101".into(),
                username: "bob".into(),
                name: None,
                kind: Some("user".into()),
            }],
            channels: Vec::new(),
            tmid: Some("parent1234567890a".into()),
            tshow: None,
            tcount: None,
            tlm: None,
            replies: None,
            t: None,
            edited_at: None,
            edited_by: None,
            md: None,
            extra: Map::new(),
        })
        .collect()
}

fn serialise(c: &mut Criterion) {
    let mut group = c.benchmark_group("serialise");
    for n in [50usize, 1000] {
        let page = page_of_messages(n);
        let bytes = serde_json::to_vec(&page).expect("json").len();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(format!("page_of_{n}"), |b| b.iter(|| serde_json::to_vec(black_box(&page))));
    }
    group.finish();
}

fn token_check(c: &mut Criterion) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (services, user_id, token) = rt.block_on(async {
        let store = SqliteStore::open(dir.path(), SqliteOptions::default()).await.expect("store");
        let blobs =
            threadsync_storage_files::DiskBlobs::open(dir.path().join("uploads")).await.expect("files");
        let options = ServiceOptions { bcrypt_cost: 4, ..Default::default() };
        let services =
            Services::start_with(Arc::new(store), Arc::new(blobs), options).await.expect("services");
        let seed =
            AdminSeed { username: "admin".into(), password: "pw".into(), email: "a@example.com".into() };
        bootstrap(&services, Some(seed)).await.expect("bootstrap");
        let credentials =
            LoginCredentials::from_json(&serde_json::json!({"user": "admin", "password": "pw"}))
                .expect("form");
        let session = services.login(credentials).await.expect("login");
        (services, session.user.id, session.token)
    });
    let mut group = c.benchmark_group("auth");
    group.bench_function("hash_token", |b| b.iter(|| threadsync_service::hash_token(black_box(&token))));
    group.bench_function("authenticate_sqlite", |b| {
        b.iter(|| rt.block_on(services.authenticate(black_box(&user_id), black_box(&token))).expect("valid"))
    });
    group.finish();
    rt.block_on(services.shutdown());
}

criterion_group!(benches, query, serialise, token_check);
criterion_main!(benches);
