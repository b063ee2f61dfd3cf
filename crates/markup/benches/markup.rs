//! Throughput of the markup parser on a realistic message mix
//! (`benches/mix.json`, written by scripts/markup-corpus/bench-npm.js, which
//! also measures the npm parser on the same mix), next to a trivial linear
//! scan of the same bytes as a ceiling, and the time per pathological
//! 5,000-character message.
//!
//! Run: cargo bench -p threadsync-markup --bench markup

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use threadsync_markup::{parse, Options};

mod pathological;

fn mix() -> Vec<String> {
    let path = format!("{}/benches/mix.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn bench(c: &mut Criterion) {
    let messages = mix();
    let bytes: usize = messages.iter().map(String::len).sum();
    let options = Options::default();
    let mut g = c.benchmark_group("markup");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("parse realistic mix", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(parse(black_box(m), &options));
            }
        })
    });
    // Ceiling: one pass over the bytes that looks at each of them (counting
    // the marker bytes a parser must at least inspect).
    g.bench_function("linear scan ceiling", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for m in &messages {
                n += black_box(m).bytes().filter(|b| b"*_~`#>[]():@$\\<\n".contains(b)).count();
            }
            n
        })
    });
    g.finish();
    let mut g = c.benchmark_group("markup pathological 5000 chars");
    for (name, input) in pathological::pathological() {
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function(name, |b| b.iter(|| black_box(parse(black_box(&input), &options))));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(300)).measurement_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
