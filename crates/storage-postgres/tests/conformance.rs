//! The shared conformance suite on PostgreSQL (every body of
//! `threadsync_storage::conformance_suite!`, each in a fresh schema), the
//! query-language oracle and a fuzz run of the query compiler.
//!
//! Needs `TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! without it every test is ignored and says why (see build.rs).

mod common;

// The suite's own macro, so that every body it lists runs here too.
threadsync_storage::conformance_suite!(
    #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")];
    common::fresh()
);

/// The query compiler against the in-memory matcher (the oracle), through
/// `changes_since` and `thread_replies`. Cases: `QUERY_ORACLE_CASES`
/// (default 3000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn query_language_matches_the_oracle() {
    let cases = std::env::var("QUERY_ORACLE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let (store, _guard) = common::fresh().await;
    threadsync_storage::conformance::oracle::query_oracle(&store, cases).await;
    threadsync_storage::Store::close(&store).await;
}

/// Fuzzing the query language end to end on PostgreSQL (the shared body:
/// `conformance::oracle::query_fuzz`). Cases: `QUERY_FUZZ_CASES` (default 1000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn query_language_survives_fuzzing() {
    let cases: u32 = std::env::var("QUERY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let (store, _guard) = common::fresh().await;
    threadsync_storage::conformance::oracle::query_fuzz(&store, cases).await;
    threadsync_storage::Store::close(&store).await;
}
