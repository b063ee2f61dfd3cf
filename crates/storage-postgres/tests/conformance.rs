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

/// Fuzzing the query language end to end on PostgreSQL (the shared body:
/// `conformance::oracle::query_fuzz`). Cases: `QUERY_FUZZ_CASES` (default 1000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_language_survives_fuzzing() {
    let cases: u32 = std::env::var("QUERY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let Some((store, _guard)) = common::fresh().await else { return };
    threadsync_storage::conformance::oracle::query_fuzz(&store, cases).await;
    threadsync_storage::Store::close(&store).await;
}
