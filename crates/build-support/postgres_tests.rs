// Part of the build scripts of the crates with PostgreSQL tests (included
// by their build.rs, which call `postgres_tests()`, so the rule is written
// once).
//
// Tests that need a PostgreSQL server (`TEST_DATABASE_URL`) carry
// `#[cfg_attr(not(postgres_tests), ignore = "...")]`: without a server
// `cargo test` lists them as ignored, with the reason, instead of passing them
// in no time. Under CI (`CI` set) they are never ignored, so a missing server
// fails the run.

fn postgres_tests() {
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
