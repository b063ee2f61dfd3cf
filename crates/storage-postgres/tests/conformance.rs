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

/// The blob store's bodies (the same the disk store runs), on PostgreSQL.
mod blobs {
    use super::common;
    use threadsync_storage::conformance::blobs::{self, chunks, read_all};
    use threadsync_storage::BlobStore;

    macro_rules! blob_test {
        ($name:ident) => {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(postgres_tests),
                ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server"
            )]
            async fn $name() {
                let (store, _guard) = common::fresh().await;
                let blob_store = store.blob_store().await.expect("blob store");
                blobs::$name(&blob_store).await;
                threadsync_storage::Store::close(&store).await;
            }
        };
    }

    blob_test!(blobs_round_trip);
    blob_test!(blobs_ranges);
    blob_test!(blobs_large_files_and_ranges);
    blob_test!(blobs_refused_bodies_keep_nothing);

    /// What a refused or broken upload staged is gone; a crash's staging
    /// chunks older than a day are removed when a store opens; another
    /// instance (another pool on the same schema) reads what one wrote.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
    async fn staging_is_cleaned_and_instances_share_blobs() {
        let (store, guard) = common::fresh().await;
        let one = store.blob_store().await.expect("blob store");
        one.put("F1", chunks(&[b"abc", b"def"]), Some(3)).await.expect_err("too large");
        let raw = common::raw(&common::database_url(), &guard.schema).await;
        let chunk_count = || async {
            raw.query_one("SELECT count(*) FROM blob_chunks", &[]).await.expect("count").get::<_, i64>(0)
        };
        assert_eq!(chunk_count().await, 0, "a refused upload leaves no chunk");
        raw.execute(
            "INSERT INTO blob_chunks (key, seq, data, written_at) VALUES ('~old', 0, 'x', 0), ('~new', 0, 'y', $1)",
            &[&threadsync_domain::Timestamp::now().millis()],
        )
        .await
        .expect("leftovers");
        one.put("F2", chunks(&[b"shared bytes"]), None).await.expect("put");

        let other = threadsync_storage_postgres::PgStore::connect(
            &common::database_url(),
            common::options(&guard.schema),
        )
        .await
        .expect("a second instance");
        let other_blobs = other.blob_store().await.expect("second instance");
        assert_eq!(chunk_count().await, 2, "only the day-old staging chunk went: F2's and ~new stay");
        let blob = other_blobs.open("F2").await.expect("open").expect("visible to the other instance");
        assert_eq!(read_all(blob).await, b"shared bytes");
        other_blobs.delete("F2").await.expect("delete");
        assert!(one.open("F2").await.expect("open").is_none());
        threadsync_storage::Store::close(&other).await;
        threadsync_storage::Store::close(&store).await;
    }
}
