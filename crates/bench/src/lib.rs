//! Criterion micro-benchmarks of threadsync's hot paths live in `benches/`;
//! run them with `cargo bench -p threadsync-bench`.
