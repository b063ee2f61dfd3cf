//! The API tests run a second time on PostgreSQL (`tests/api_postgres`)
//! when a server is configured through `TEST_DATABASE_URL`. Without it that
//! test binary compiles to a single ignored test that names the variable, so
//! `cargo test` shows the skip (`ignored, TEST_DATABASE_URL is not set...`).
//! Under CI (`CI` set) the tests always compile and fail without a server.
//! The same rule as the other crates with PostgreSQL tests.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=CI");
    let server = std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.trim().is_empty());
    // As `threadsync_storage::conformance::is_ci`: under CI a missing
    // server must fail the run, so the tests are not ignored there.
    let ci = std::env::var("CI")
        .is_ok_and(|ci| !matches!(ci.trim().to_ascii_lowercase().as_str(), "" | "0" | "false" | "no"));
    if server || ci {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
