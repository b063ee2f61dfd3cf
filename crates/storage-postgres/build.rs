//! Marks the PostgreSQL tests ignored (with the reason) when no server is
//! configured, never under CI; the rule is shared by every crate with
//! PostgreSQL tests.

include!("../build-support/postgres_tests.rs");

fn main() {
    postgres_tests();
}
