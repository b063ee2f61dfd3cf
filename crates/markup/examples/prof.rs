//! Profiling aid: parses the benchmark mix repeatedly (perf record this).
fn main() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/mix.json")).expect("mix");
    let mix: Vec<String> = serde_json::from_str(&text).expect("json");
    let o = threadsync_markup::Options::default();
    let t = std::time::Instant::now();
    for _ in 0..20 {
        for m in &mix {
            std::hint::black_box(threadsync_markup::parse(m, &o));
        }
    }
    eprintln!("{:?} per round", t.elapsed() / 20);
}
