//! Profiling aid: parses the benchmark mix (or, with an argument, that text
//! repeated to 5,000 characters, or to the length given second) repeatedly (`PROF_ROUNDS` times, default 50); run it under `perf record`
//! or `valgrind --tool=callgrind` (with `PROF_ROUNDS=1`).
fn main() {
    let o = threadsync_markup::Options::default();
    let inputs: Vec<String> = match std::env::args().nth(1) {
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
    let rounds: u32 = std::env::var("PROF_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(50);
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        for m in &inputs {
            std::hint::black_box(threadsync_markup::parse(m, &o));
        }
    }
    eprintln!("{:?} per round", t.elapsed() / rounds);
}
