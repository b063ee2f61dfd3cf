//! `threadsync-search-ceiling`: the ceiling of `threadsync-load --scenario
//! search` (docs/load.md). It opens the server's SQLite file read-only on N
//! threads (one connection each, the server readers' page cache) and runs
//! the very statements `chat.search` runs, by the same access paths
//! (`threadsync_storage_sqlite::search_documents`), with the searches the
//! load tool draws (same rooms, words, seed and streams), reading each
//! matching document as text: no HTTP, auth, access check, JSON decoding
//! or shaping. What the server adds is the difference.

#[path = "../rng.rs"]
#[allow(dead_code)]
mod rng;
#[path = "../search_text.rs"]
#[allow(dead_code)]
mod search_text;

use anyhow::{bail, Context};
use clap::Parser;
use hdrhistogram::Histogram;
use rusqlite::{Connection, OpenFlags};
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use threadsync_domain::query::Filter;
use threadsync_storage::search::terms;
use threadsync_storage::{SearchOrder, SearchQuery};

#[derive(Parser, Debug)]
#[command(
    name = "threadsync-search-ceiling",
    about = "The store-only ceiling of the chat.search load scenario (SQLite)."
)]
struct Args {
    /// The server's database: `<data>/threadsync.db` (opened read-only).
    #[arg(long)]
    db: PathBuf,
    /// The `threadsync seed` manifest of that dataset (rooms, vocabulary).
    #[arg(long)]
    manifest: PathBuf,
    /// Threads, one connection each (as the load tool's connections).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=256))]
    threads: u64,
    /// Measured seconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,
    /// Seconds before measuring.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=600))]
    warmup: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// As `threadsync-load --search-top`.
    #[arg(long, default_value_t = 0)]
    search_top: usize,
}

#[derive(Deserialize)]
struct Manifest {
    rooms: Vec<Room>,
    #[serde(default)]
    vocabulary: Vec<String>,
}

#[derive(Deserialize)]
struct Room {
    #[serde(rename = "_id")]
    id: String,
}

/// One thread: searches until the deadline; latencies after `measure_from`.
fn worker(
    args: &Args,
    index: u64,
    rooms: &[String],
    vocabulary: &[String],
    measure_from: Instant,
    deadline: Instant,
) -> anyhow::Result<(Histogram<u64>, u64)> {
    let conn = Connection::open_with_flags(
        &args.db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", args.db.display()))?;
    conn.pragma_update(None, "cache_size", -4096)?;
    let mut rng = rng::Rng::new(args.seed, index);
    let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut rows_read = 0u64;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let (rid, text) = search_text::next_search(&mut rng, rooms, vocabulary, args.search_top);
        let query = SearchQuery {
            rid: rid.to_owned(),
            terms: terms(&text),
            filter: Filter::True,
            order: SearchOrder::Newest,
            offset: 0,
            count: search_text::SEARCH_COUNT,
        };
        let started = Instant::now();
        let docs = threadsync_storage_sqlite::search_documents(&conn, &query)?;
        let took = started.elapsed();
        if started >= measure_from {
            hist.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1))?;
            rows_read += docs.len() as u64;
        }
    }
    Ok((hist, rows_read))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(&args.manifest).with_context(|| format!("cannot read {}", args.manifest.display()))?,
    )
    .context("not a threadsync seed manifest")?;
    let rooms: Vec<String> = manifest.rooms.into_iter().map(|r| r.id).collect();
    if rooms.is_empty() || manifest.vocabulary.is_empty() {
        bail!("the manifest lists no rooms or no vocabulary");
    }
    let vocabulary = manifest.vocabulary;
    let measure_from = Instant::now() + Duration::from_secs(args.warmup);
    let deadline = measure_from + Duration::from_secs(args.duration);
    let results: Vec<anyhow::Result<(Histogram<u64>, u64)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.threads)
            .map(|i| {
                let (args, rooms, vocabulary) = (&args, &rooms, &vocabulary);
                s.spawn(move || worker(args, i, rooms, vocabulary, measure_from, deadline))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a thread panicked"))))
            .collect()
    });
    let mut all = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut rows = 0;
    for result in results {
        let (hist, n) = result?;
        all.add(&hist)?;
        rows += n;
    }
    let secs = args.duration as f64;
    let per_s = all.len() as f64 / secs;
    let ms = |q: f64| all.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "search ceiling: {} searches in {secs} s on {} threads: {per_s:.0}/s, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, {:.1} results per search",
        all.len(),
        args.threads,
        ms(0.5),
        ms(0.99),
        ms(0.999),
        rows as f64 / all.len().max(1) as f64
    );
    println!(
        "{}",
        json!({
            "tool": "threadsync-search-ceiling",
            "searches": all.len(),
            "per_s": (per_s * 10.0).round() / 10.0,
            "threads": args.threads,
            "latency_us": {"p50": all.value_at_quantile(0.5), "p99": all.value_at_quantile(0.99),
                           "p999": all.value_at_quantile(0.999), "max": all.max(), "mean": all.mean()},
            "results_per_search": rows as f64 / all.len().max(1) as f64,
        })
    );
    Ok(())
}
