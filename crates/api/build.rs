//! The API tests run a second time on PostgreSQL (`tests/api_postgres`)
//! when a server is configured through `TEST_DATABASE_URL`; without it that
//! test binary compiles to a single ignored test that names the variable.
//! The rule is shared by every crate with PostgreSQL tests.

include!("../build-support/postgres_tests.rs");

fn main() {
    postgres_tests();
}
