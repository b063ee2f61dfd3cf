//! The shared conformance suite on PostgreSQL (every body of
//! `threadsync_storage::conformance_suite!`, each in a fresh schema), the
//! query-language oracle and a fuzz run of the query compiler.
//!
//! Needs `TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! without it every test prints why it is skipped and passes.

mod common;

// The suite's own macro, so that every body it lists runs here too. Without
// a server, the `return` leaves the test before any body runs.
threadsync_storage::conformance_suite!({
    match common::fresh().await {
        Some(fixture) => std::future::ready(fixture),
        None => return,
    }
});

/// The query compiler against the in-memory matcher (the oracle), through
/// `changes_since` and `thread_replies`. Cases: `QUERY_ORACLE_CASES`
/// (default 3000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_language_matches_the_oracle() {
    let cases = std::env::var("QUERY_ORACLE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let Some((store, _guard)) = common::fresh().await else { return };
    threadsync_storage::conformance::oracle::query_oracle(&store, cases).await;
    threadsync_storage::Store::close(&store).await;
}

/// Fuzzing the query language end to end (parser, compiler, PostgreSQL):
/// random strings and random JSON built from fields, operators (allowed and
/// forbidden) and arbitrary values. Every input must either be refused with
/// `error-invalid-query` or compile to SQL that PostgreSQL runs without
/// error. Cases: `QUERY_FUZZ_CASES` (default 1000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_language_survives_fuzzing() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::{json, Value};
    use threadsync_domain::query::{Filter, FIELDS};
    use threadsync_domain::Timestamp;
    use threadsync_storage::conformance::{World, ROOM};
    use threadsync_storage::{ChangeScope, Store, SyncStore};

    let cases: u32 = std::env::var("QUERY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let Some((store, _guard)) = common::fresh().await else { return };
    let w = World::new(&store).await;
    w.post(&store, "m1", &w.alice).await;
    w.reply(&store, "r1", "m1", &w.bob, &[&w.bob]).await;

    let mut keys: Vec<String> = FIELDS.iter().map(|f| f.path.to_owned()).collect();
    for op in [
        "$eq",
        "$ne",
        "$gt",
        "$gte",
        "$lt",
        "$lte",
        "$in",
        "$nin",
        "$exists",
        "$regex",
        "$options",
        "$not",
        "$and",
        "$or",
        "$nor",
        "$where",
        "$expr",
        "$function",
        "$date",
        "$text",
        "$elemMatch",
        "e2e",
        "u",
        "",
        "$",
        "a.b.c",
    ] {
        keys.push(op.to_owned());
    }
    let key = prop::sample::select(keys);
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[^\u{0}]{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            "(a+)+$",
            "\\1",
            "(?=x)",
            "[",
            "2019-04-16T18:30:46.615Z",
            "imsx",
            "ii",
            "(?i)é",
            "'; DROP TABLE messages; --",
            "$1",
            "\\",
        ])
        .prop_map(|s| json!(s)),
    ];
    let value = scalar.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    });
    let input = prop_oneof![1 => "[^\u{0}]{0,200}".prop_map(|s| s), 4 => value.prop_map(|v| v.to_string())];

    let mut runner = TestRunner::new(Config { cases, ..Config::default() });
    let (mut accepted, mut refused) = (0u32, 0u32);
    for _ in 0..cases {
        let raw = input.new_tree(&mut runner).expect("input").current();
        match Filter::parse(Some(&raw)) {
            Err(e) => {
                assert_eq!(e.code(), Some("error-invalid-query"), "{raw}: {e}");
                refused += 1;
            }
            Ok(filter) => {
                accepted += 1;
                store
                    .changes_since(ChangeScope::Room(ROOM), Timestamp(0), &filter, 0, 10)
                    .await
                    .unwrap_or_else(|e| panic!("compiled SQL failed for {raw}: {e}"));
                store
                    .thread_replies("m1", &filter, &Default::default(), 0, 10)
                    .await
                    .unwrap_or_else(|e| panic!("compiled SQL failed for {raw}: {e}"));
            }
        }
    }
    eprintln!("query fuzz: {cases} inputs, {accepted} compiled and ran, {refused} refused; 0 failures");
    store.close().await;
}
