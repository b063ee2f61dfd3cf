//! The API tests run a second time on PostgreSQL (`tests/api_postgres`)
//! when a server is configured through `TEST_DATABASE_URL`. Without it that
//! test binary compiles to a single test that reports the skip.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.trim().is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
