//! Profiling aid: parses the benchmark mix, or with an argument that text
//! repeated to 5,000 characters (or to the length given second), or with
//! `=name` the pathological input of that name (`benches/pathological.rs`),
//! `PROF_ROUNDS` times (default 50). Run it under `perf record` or
//! `valgrind --tool=callgrind` (with `PROF_ROUNDS=1`).
//!
//! `PROF_MODE`: `value` (default, `parse`), `tree` (`parse_tree`), `stored`
//! (the JSON text checked as a raw value, what a write stores) or `json`
//! (`parse_tree` then `to_json_string`). `PROF_OPTIONS=all` turns every
//! rule on (both KaTeX syntaxes), as the benchmark's pathological groups.
#[path = "../benches/pathological.rs"]
mod pathological;

use threadsync_markup::{parse, parse_tree, Katex, Options};

fn main() {
    let o = match std::env::var("PROF_OPTIONS").as_deref() {
        Ok("all") => Options {
            katex: Some(Katex { dollar_syntax: true, parenthesis_syntax: true }),
            custom_domains: vec!["intranet".to_owned()],
            ..Options::default()
        },
        _ => Options::default(),
    };
    let inputs: Vec<String> = match std::env::args().nth(1) {
        Some(name) if name.starts_with('=') => {
            let found = pathological::pathological().into_iter().find(|(n, _)| *n == &name[1..]);
            vec![found.unwrap_or_else(|| panic!("no pathological input {name}")).1]
        }
        Some(unit) => {
            let len: usize = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(5000);
            vec![unit.repeat(len / unit.len().max(1))]
        }
        None => {
            let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/mix.json"))
                .expect("mix");
            serde_json::from_str(&text).expect("json")
        }
    };
    let mode = std::env::var("PROF_MODE").unwrap_or_else(|_| "value".to_owned());
    let rounds: u32 = std::env::var("PROF_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(50);
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        for m in &inputs {
            match mode.as_str() {
                "tree" => drop(std::hint::black_box(parse_tree(m, &o))),
                "json" => drop(std::hint::black_box(parse_tree(m, &o).map(|t| t.to_json_string()))),
                "stored" => drop(std::hint::black_box(
                    parse_tree(m, &o)
                        .and_then(|t| serde_json::value::RawValue::from_string(t.to_json_string()).ok()),
                )),
                _ => drop(std::hint::black_box(parse(m, &o))),
            }
        }
    }
    eprintln!("{:?} per round", t.elapsed() / rounds);
}
