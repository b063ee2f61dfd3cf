//! Test support: a fresh store in a schema of its own on the server named by
//! `TEST_DATABASE_URL`, dropped with everything in it when the test ends.
//! Without the variable the tests that need it are compiled as ignored (see
//! build.rs) and say why; run anyway, they fail with that reason.
//!
//! Also compiled into the crate's unit tests (see lib.rs).

#![allow(dead_code)] // each test binary uses a different part

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use threadsync_storage_postgres::{PgOptions, PgStore};

/// The test server (`TEST_DATABASE_URL`); panics, naming the variable,
/// without one.
pub fn database_url() -> String {
    threadsync_storage::conformance::test_database_url()
}

/// A schema name no other test (of this or another process) uses.
pub fn unique_schema() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    format!("ts_test_{:016x}", hasher.finish())
}

/// Options for a test store in `schema`: a small pool, fast retries.
pub fn options(schema: &str) -> PgOptions {
    PgOptions {
        pool_size: 8,
        schema: Some(schema.to_owned()),
        connect_attempts: 3,
        connect_backoff: Duration::from_millis(100),
        ca_file: None,
        read_connections: 2,
    }
}

/// Drops its schema (`DROP SCHEMA ... CASCADE`) when dropped. Drop cannot be
/// async, so the statement runs on a thread of its own with a small runtime
/// of its own (the test's runtime may be shutting down, or be the caller).
pub struct SchemaGuard {
    pub url: String,
    pub schema: String,
}

impl SchemaGuard {
    pub fn new(url: &str, schema: &str) -> SchemaGuard {
        SchemaGuard { url: url.to_owned(), schema: schema.to_owned() }
    }
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let (client, connection) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await.map_err(|e| e.to_string())?;
                let driver = tokio::spawn(connection);
                let result = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .await
                    .map_err(|e| e.to_string());
                drop(client);
                let _ = driver.await;
                result
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop test schema {}: {e}", self.schema),
            Err(_) => eprintln!("warning: dropping test schema {} panicked", self.schema),
        }
    }
}

/// A fresh, empty store in a new schema, with the guard that drops the
/// schema.
pub async fn fresh() -> (PgStore, SchemaGuard) {
    let url = database_url();
    let schema = unique_schema();
    // The guard first: the schema goes even if connecting fails half-way.
    let guard = SchemaGuard::new(&url, &schema);
    let store = PgStore::connect(&url, options(&schema)).await.expect("connect to TEST_DATABASE_URL");
    (store, guard)
}

/// A plain connection to the test server with `search_path` set to
/// `schema`, bypassing the store.
pub async fn raw(url: &str, schema: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("raw connection");
    tokio::spawn(connection);
    client.batch_execute(&format!("SET search_path = \"{schema}\"")).await.expect("search_path");
    client
}
