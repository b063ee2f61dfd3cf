//! Throughput of the markup parser on a realistic message mix
//! (`benches/mix.json`, written by scripts/markup-corpus/bench-npm.js, which
//! also measures the npm parser on the same mix), next to a trivial linear
//! scan of the same bytes as a ceiling, and the time per pathological
//! 5,000-character message, by family (`benches/pathological.rs`), in
//! three forms: the typed tree (`parse_tree`), the tree written as JSON
//! text and wrapped as a checked raw JSON value (`stored`: what a write
//! stores), and the `serde_json::Value` (`parse`).
//!
//! Run: cargo bench -p threadsync-markup --bench markup
//! (one group: append e.g. `-- 'pathological/tree'`).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use threadsync_markup::{parse, parse_tree, Katex, Options};

mod pathological;

fn mix() -> Vec<String> {
    let path = format!("{}/benches/mix.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Ceiling for one input: one pass over its bytes that looks at each of
/// them (counting the marker bytes a parser must at least inspect).
fn scan(text: &str) -> usize {
    text.bytes().filter(|b| b"*_~`#>[]():@$\\<\n".contains(b)).count()
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
    g.bench_function("parse_tree realistic mix", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(parse_tree(black_box(m), &options));
            }
        })
    });
    g.bench_function("stored realistic mix", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(
                    parse_tree(black_box(m), &options)
                        .and_then(|t| serde_json::value::RawValue::from_string(t.to_json_string()).ok()),
                );
            }
        })
    });
    g.bench_function("linear scan ceiling", |b| {
        b.iter(|| messages.iter().map(|m| scan(black_box(m))).sum::<usize>())
    });
    g.finish();

    // Every rule on: KaTeX in both syntaxes, colours, emoticons, a custom domain.
    let all = Options {
        katex: Some(Katex { dollar_syntax: true, parenthesis_syntax: true }),
        custom_domains: vec!["intranet".to_owned()],
        ..Options::default()
    };
    let families = pathological::families();
    let mut g = c.benchmark_group("pathological/tree");
    for (family, name, input) in &families {
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function(format!("{family}/{name}"), |b| {
            b.iter(|| black_box(parse_tree(black_box(input), &all)))
        });
    }
    g.finish();
    // What a write stores: the tree written as JSON text and wrapped as a
    // raw JSON value (the domain's `Markup`, which checks the text).
    let mut g = c.benchmark_group("pathological/stored");
    for (family, name, input) in &families {
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function(format!("{family}/{name}"), |b| {
            b.iter(|| {
                black_box(
                    parse_tree(black_box(input), &all)
                        .and_then(|t| serde_json::value::RawValue::from_string(t.to_json_string()).ok()),
                )
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("pathological/value");
    for (family, name, input) in &families {
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function(format!("{family}/{name}"), |b| b.iter(|| black_box(parse(black_box(input), &all))));
    }
    g.finish();
    // The ceiling in the same run: a scan of a 5,000-character input.
    let mut g = c.benchmark_group("pathological/ceiling");
    let (_, _, input) = &families[0];
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("linear scan of 5,000 chars", |b| b.iter(|| scan(black_box(input))));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(300)).measurement_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
