//! `threadsync-load`: drives a threadsync server on loopback with N
//! keep-alive connections for a bounded time and reports throughput,
//! errors, latency percentiles and the server's RSS. See docs/load.md.

mod client;
mod limits;
mod rng;
mod rss;
mod scenario;
mod search_text;
mod setup;
mod stats;
mod target;
mod ws;

use anyhow::{bail, Context};
use clap::Parser;
use scenario::Scenario;
use serde_json::{json, Value};
use stats::{fmt_micros, Stats};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Safety limits: a run cannot open more connections or last longer
/// (websockets: `ws::MAX_WS_CONNECTIONS`).
const MAX_CONNECTIONS: u32 = 1024;
const MAX_DURATION_SECS: u64 = 24 * 3600;
const MAX_WARMUP_SECS: u64 = 3600;
/// The set-up (users, threads) must be done within this.
const SETUP_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Parser, Debug)]
#[command(
    name = "threadsync-load",
    version,
    about = "Load and soak generator for a threadsync server on loopback (127.0.0.0/8, ::1, localhost)."
)]
struct Args {
    /// Base URL of the server; anything but loopback is refused.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    target: String,
    /// s1 hot delta sync, s2 full resync of a big thread, s3 mixed, s4
    /// thread replies only, soak: s3 plus logins and follows, search:
    /// chat.search on a seeded dataset (--manifest); ws-idle,
    /// ws-fanout, ws-sustained: websockets (docs/load.md).
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Concurrent keep-alive connections, one task and one user each (at
    /// most 1,024); websocket scenarios: websockets (at most 50,000).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=i64::from(ws::MAX_WS_CONNECTIONS)))]
    connections: u32,
    /// Measured seconds (after the warm-up).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_DURATION_SECS))]
    duration: u64,
    /// Seconds of traffic before measuring (reported apart; errors still count).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=MAX_WARMUP_SECS))]
    warmup: u64,
    #[arg(long, env = "ADMIN_USERNAME", default_value = "admin")]
    admin_user: String,
    /// Not needed with --manifest (the manifest names the admin).
    #[arg(long, env = "ADMIN_PASS", hide_env_values = true)]
    admin_pass: Option<String>,
    /// A `threadsync seed` manifest: use its users, threads and admin
    /// instead of writing a set-up (the server serves that dataset).
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// After the run, run the ceilings for the same time with the same
    /// connections (`s1`: the server needs a build with `--features
    /// bench-endpoints` and `serve --bench-endpoints`; `/bench/raw-sync` and
    /// `/bench/static`; websocket scenarios: the same clients against
    /// `threadsync-ws-ceiling`), and report ratios.
    #[arg(long)]
    ceilings: bool,
    /// With `--ceilings` and `s1`: ask the raw-sync ceiling of this server
    /// instead of the target's `/bench/raw-sync` route: a separate
    /// `threadsync-sync-ceiling` process over the same SQLite file, so the
    /// ceiling shares nothing with the server (docs/load.md).
    #[arg(long, value_name = "URL")]
    ceiling_target: Option<String>,
    /// Sample this process's RSS (/proc/PID/status) every second.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Seed of the operation mix (each connection draws its own stream).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Pool users are PREFIX0, PREFIX1, ... (registered when missing).
    #[arg(long, default_value = "load")]
    user_prefix: String,
    #[arg(long, default_value = "load-pass-123")]
    user_pass: String,
    /// Threads written at set-up for the reads and writes (GENERAL); with
    /// --manifest, threads picked from the dataset.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1000))]
    threads: u64,
    /// Replies written into each of those threads at set-up.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    replies: u64,
    /// s2: replies of the big thread that is resynced.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=200_000))]
    big_replies: u64,
    /// `search`: draw the searched words among this many of the dataset's
    /// most frequent words (0: the whole vocabulary, uniformly).
    #[arg(long, default_value_t = 0)]
    search_top: usize,
    /// Seconds between progress lines (stderr).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    report_every: u64,
    /// Per-request timeout, seconds (a timeout counts as an error).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=300))]
    request_timeout: u64,
    /// Write every RSS sample as `seconds,kib` (seconds from the measured start).
    #[arg(long)]
    rss_log: Option<PathBuf>,
    /// Websockets: users logged in once each over REST; connection `i`
    /// resumes with the token of user `i % users`.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=ws::MAX_USERS))]
    users: u64,
    /// Websockets: rooms (public channels PREFIX-0, ...); connection `i`
    /// subscribes to room `i % rooms`, message `j` goes to room `j % rooms`
    /// (`ws-fanout`: always 1).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=ws::MAX_ROOMS))]
    rooms: u64,
    #[arg(long, default_value = "load-room")]
    room_prefix: String,
    /// `ws-sustained`: messages per second, spread over the rooms.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=ws::MAX_RATE))]
    rate: u64,
    /// Websockets: concurrent HTTP connections sending (each owns some rooms
    /// and sends their messages in order).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=ws::MAX_SENDERS))]
    senders: u64,
    /// `ws-fanout`: seconds between two messages.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=60))]
    fanout_every: u64,
    /// Websockets: after the last send, wait at most this long for the
    /// frames still on their way.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=120))]
    drain: u64,
    /// Websockets: connections opening at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    connect_concurrency: u64,
    /// Websockets: source addresses 127.0.0.1, 127.0.0.2, ... (default:
    /// one per 5,000 connections).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=250))]
    source_addrs: Option<u64>,
    /// Websockets: length of each message's text, bytes.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(16..=4096))]
    msg_bytes: u64,
    /// Websockets: read buffer of each client socket (and the ceiling's).
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(256..=1_048_576))]
    read_buffer: u64,
    /// Websockets: another instance of the same cluster; connections and
    /// sends are split over --target and these (repeatable).
    #[arg(long)]
    also_target: Vec<String>,
    /// Websockets: the pid of an --also-target instance, to sample its RSS
    /// and CPU (repeatable).
    #[arg(long)]
    also_server_pid: Vec<u32>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(0) => std::process::ExitCode::SUCCESS,
        Ok(_) => std::process::ExitCode::from(2),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// The run; `Ok(errors)` once reported.
async fn run(args: Args) -> anyhow::Result<u64> {
    let target = target::parse_target(&args.target).map_err(anyhow::Error::msg)?;
    let request_timeout = Duration::from_secs(args.request_timeout);
    let connections = args.connections as usize;
    let nofile = limits::raise_nofile();
    if args.scenario.is_ws() {
        return run_ws(args, target, nofile).await;
    }
    if args.connections > MAX_CONNECTIONS {
        bail!("--connections: at most {MAX_CONNECTIONS} for HTTP scenarios");
    }
    if !args.also_target.is_empty() {
        bail!("--also-target is for the websocket scenarios");
    }
    let load_at_start = loadavg();
    if args.ceilings && args.scenario != Scenario::S1 {
        bail!("--ceilings compares s1 with its ceilings: use it with --scenario s1");
    }
    if args.ceiling_target.is_some() && !args.ceilings {
        bail!("--ceiling-target names where --ceilings asks raw-sync: use it with --ceilings");
    }
    let manifest = args.manifest.as_deref().map(setup::Manifest::read).transpose()?;
    if args.scenario == Scenario::Search && manifest.is_none() {
        bail!("--scenario search searches a seeded dataset: give its --manifest");
    }

    let sampler = match args.server_pid {
        Some(pid) => {
            if rss::read_rss_kib(pid).is_none() {
                bail!("--server-pid {pid}: no such process, or no VmRSS in /proc/{pid}/status");
            }
            Some(rss::spawn_sampler(pid))
        }
        None => None,
    };
    let samples = sampler.as_ref().map(|(s, _)| Arc::clone(s));

    let plan = setup::Plan {
        users: connections,
        user_prefix: args.user_prefix.clone(),
        user_pass: args.user_pass.clone(),
        threads: args.threads as usize,
        replies: args.replies as usize,
        big_replies: (args.scenario == Scenario::S2).then_some(args.big_replies as usize),
        request_timeout,
        search_top: (args.scenario == Scenario::Search).then_some(args.search_top),
    };
    eprintln!(
        "threadsync-load: {} on {} with {connections} connections, {} s measured after {} s warm-up{}",
        args.scenario.name(),
        target.base,
        args.duration,
        args.warmup,
        args.manifest.as_ref().map(|m| format!(", dataset {}", m.display())).unwrap_or_default()
    );
    let prepared = match &manifest {
        Some(manifest) => setup::prepare_from_manifest(&target, &plan, manifest).await,
        None => {
            let admin_pass =
                args.admin_pass.as_deref().context("--admin-pass (or ADMIN_PASS) is required")?;
            setup::prepare(&target, &plan, &args.admin_user, admin_pass).await
        }
    };
    let world = Arc::new(
        tokio::time::timeout(SETUP_TIMEOUT, async { prepared })
            .await
            .context("the set-up did not finish in time")??,
    );
    let user_pass = manifest.as_ref().map_or_else(|| args.user_pass.clone(), |m| m.users.password.clone());

    let ceiling_target = match &args.ceiling_target {
        Some(raw) => Some(target::parse_target(raw).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let phase = |scenario, static_bytes| Phase {
        target: match (scenario, &ceiling_target) {
            (Scenario::CeilingRawSync, Some(ceiling)) => ceiling,
            _ => &target,
        },
        scenario,
        world: Arc::clone(&world),
        user_pass: user_pass.clone(),
        request_timeout,
        connections,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
        report_every: Duration::from_secs(args.report_every),
        seed: args.seed,
        static_bytes,
        samples: samples.as_ref(),
    };
    let main = phase(args.scenario, 0).run().await?;
    let rss = samples.as_ref().and_then(|s| {
        let points: Vec<(f64, u64)> = s
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|&&(at, _)| at <= main.ended)
            .map(|&(at, kib)| (signed_secs(at, main.measure_start), kib))
            .collect();
        if let Some(path) = &args.rss_log {
            let text: String = points.iter().map(|(t, kib)| format!("{t:.1},{kib}\n")).collect();
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("warning: cannot write {}: {e}", path.display());
            }
        }
        rss::analyse(&points)
    });
    let (mut errors, mut summary) =
        report(&args, args.scenario.name(), &target, &main, rss.as_ref(), load_at_start);

    if args.ceilings {
        // Same connections, duration, threads and stamps: only what the
        // server does per request changes, so the figures are ratios.
        let bytes = main.mean_body_bytes.unwrap_or(1024);
        let raw = phase(Scenario::CeilingRawSync, 0).run().await?;
        let fixed = phase(Scenario::CeilingStatic, bytes).run().await?;
        let mut ceilings = serde_json::Map::new();
        let mut text = format!(
            "ceilings (same connections, duration, threads and stamps; static body {bytes} bytes, the mean of s1's):\n"
        );
        let main_rate = main.req_per_s();
        text.push_str(&format!("  {:<18} {:>9.0} req/s  {}\n", "s1", main_rate, main.latency().short()));
        for (name, ceiling) in [("raw_sync", &raw), ("static", &fixed)] {
            let (e, _) = ceiling.errors();
            errors += e;
            let ratio = main_rate / ceiling.req_per_s().max(1e-9);
            text.push_str(&format!(
                "  {:<18} {:>9.0} req/s  {}  errors {e}  s1 = {:.1}% of it\n",
                ceiling.scenario.name(),
                ceiling.req_per_s(),
                ceiling.latency().short(),
                ratio * 100.0
            ));
            ceilings.insert(
                name.to_owned(),
                json!({
                    "req_per_s": (ceiling.req_per_s() * 10.0).round() / 10.0,
                    "latency_us": ceiling.latency().to_json(),
                    "errors": e,
                    "s1_ratio": (ratio * 1000.0).round() / 1000.0,
                }),
            );
        }
        ceilings.insert("static_body_bytes".to_owned(), json!(bytes));
        summary["ceilings"] = Value::Object(ceilings);
        print!("{text}");
    }
    if let Some((_, task)) = &sampler {
        task.abort();
    }
    println!("{summary}");
    let _ = std::io::stdout().flush();
    Ok(errors)
}

/// The websocket scenarios (src/ws.rs).
async fn run_ws(args: Args, target: target::Target, nofile: limits::Nofile) -> anyhow::Result<u64> {
    let mut targets = vec![target];
    for raw in &args.also_target {
        targets.push(target::parse_target(raw).map_err(anyhow::Error::msg)?);
    }
    if args.manifest.is_some() {
        bail!("--manifest is for the HTTP scenarios");
    }
    let opts = ws::Options {
        scenario: args.scenario,
        targets,
        pids: args.server_pid.into_iter().chain(args.also_server_pid.iter().copied()).collect(),
        connections: args.connections as usize,
        users: args.users as usize,
        rooms: args.rooms as usize,
        rate: args.rate as f64,
        senders: args.senders as usize,
        fanout_every: Duration::from_secs(args.fanout_every),
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
        drain: Duration::from_secs(args.drain),
        connect_concurrency: args.connect_concurrency as usize,
        source_addrs: args.source_addrs.map(|n| n as usize),
        msg_bytes: args.msg_bytes as usize,
        read_buffer: args.read_buffer as usize,
        report_every: Duration::from_secs(args.report_every),
        request_timeout: Duration::from_secs(args.request_timeout),
        admin_user: args.admin_user.clone(),
        admin_pass: args.admin_pass.clone(),
        user_prefix: args.user_prefix.clone(),
        user_pass: args.user_pass.clone(),
        room_prefix: args.room_prefix.clone(),
        ceiling: args.ceilings,
        rss_log: args.rss_log.clone(),
        nofile,
    };
    ws::run(opts).await
}

/// One measured phase: the connections, the scenario, the clock.
struct Phase<'a> {
    target: &'a target::Target,
    scenario: Scenario,
    world: Arc<setup::World>,
    user_pass: String,
    request_timeout: Duration,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    report_every: Duration,
    seed: u64,
    static_bytes: u64,
    samples: Option<&'a rss::Samples>,
}

/// What a phase measured.
struct Measured {
    scenario: Scenario,
    stats: Arc<Stats>,
    measure_start: Instant,
    ended: Instant,
    elapsed: Duration,
    mean_body_bytes: Option<u64>,
}

impl Measured {
    fn req_per_s(&self) -> f64 {
        self.stats.with_totals(|t, _, _| t.requests()) as f64 / self.elapsed.as_secs_f64().max(1e-3)
    }

    fn latency(&self) -> stats::Latency {
        self.stats.with_totals(|t, _, _| t.latency())
    }

    /// Errors measured, and in the warm-up.
    fn errors(&self) -> (u64, u64) {
        self.stats.with_totals(|t, w, _| (t.errors(), w.map_or(0, stats::Recorder::errors)))
    }
}

impl Phase<'_> {
    async fn run(self) -> anyhow::Result<Measured> {
        let stats = Arc::new(Stats::default());
        let start = Instant::now();
        let measure_start = start + self.warmup;
        let deadline = measure_start + self.duration;
        let ctx = Arc::new(scenario::Ctx {
            scenario: self.scenario,
            world: Arc::clone(&self.world),
            user_pass: self.user_pass.clone(),
            stats: Arc::clone(&stats),
            deadline,
            static_bytes: self.static_bytes,
            body_bytes: AtomicU64::new(0),
            bodies: AtomicU64::new(0),
        });
        if matches!(self.scenario, Scenario::CeilingStatic | Scenario::CeilingRawSync) {
            eprintln!("ceiling: {} for {} s", self.scenario.name(), self.duration.as_secs());
        }
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..self.connections {
            let mut conn = client::Conn::new(self.target, self.request_timeout)?;
            conn.session = Some(ctx.world.users[i].1.clone());
            tasks.spawn(scenario::run(Arc::clone(&ctx), i, conn, rng::Rng::new(self.seed, i as u64)));
        }

        // Progress lines, the end of the warm-up, the deadline.
        let every = self.report_every;
        let mut next_report = start + every;
        let mut warm = self.warmup.is_zero();
        loop {
            let now = Instant::now();
            if !warm && now >= measure_start {
                report_interval(&stats, "warm-up", now.duration_since(next_report - every), self.samples);
                stats.end_warmup();
                warm = true;
                next_report = now + every;
            }
            if now >= deadline {
                break;
            }
            if now >= next_report {
                let phase = if warm { "" } else { "warm-up" };
                report_interval(&stats, phase, every, self.samples);
                next_report += every;
            }
            let wake = [next_report, deadline, if warm { deadline } else { measure_start }]
                .into_iter()
                .min()
                .unwrap_or(deadline);
            tokio::time::sleep_until(wake.into()).await;
        }
        // Requests in flight finish (bounded by their timeout), then stop.
        let drain = tokio::time::timeout(self.request_timeout + Duration::from_secs(5), async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drain.is_err() {
            eprintln!("warning: connections still busy after the deadline were aborted");
            tasks.abort_all();
        }
        Ok(Measured {
            scenario: self.scenario,
            stats,
            measure_start,
            ended: Instant::now(),
            elapsed: measure_start.elapsed(),
            mean_body_bytes: ctx.mean_body_bytes(),
        })
    }
}

/// `at - origin` in seconds, negative before the origin.
fn signed_secs(at: Instant, origin: Instant) -> f64 {
    if at >= origin {
        at.duration_since(origin).as_secs_f64()
    } else {
        -origin.duration_since(at).as_secs_f64()
    }
}

fn report_interval(stats: &Stats, phase: &str, period: Duration, samples: Option<&rss::Samples>) {
    let secs = period.as_secs_f64().max(1e-3);
    let line = stats.take_interval(|r| {
        format!(
            "{:>9} req {:>8.0} req/s  errors {}  {}",
            r.requests(),
            r.requests() as f64 / secs,
            r.errors(),
            r.latency().short()
        )
    });
    let rss = samples.and_then(rss::latest).map(|k| format!("  rss {}", rss::fmt_kib(k as f64)));
    eprintln!("[{phase:>7}] {line}{}", rss.unwrap_or_default());
}

/// Prints the report of the main phase; returns the number of errors
/// (warm-up included) and the JSON summary, printed last.
fn report(
    args: &Args,
    name: &str,
    target: &target::Target,
    measured: &Measured,
    rss: Option<&rss::RssReport>,
    load_at_start: Value,
) -> (u64, Value) {
    let stats = &measured.stats;
    let secs = measured.elapsed.as_secs_f64().max(1e-3);
    let mut machine = machine();
    machine["loadavg_at_start"] = load_at_start;
    stats.with_totals(|total, warmup, first_errors| {
        let requests = total.requests();
        let errors = total.errors();
        let (warm_requests, warm_errors) = warmup.map_or((0, 0), |w| (w.requests(), w.errors()));
        let latency = total.latency();
        let mut out = String::new();
        out.push_str(&format!(
            "threadsync-load {}: {} connections, {:.1} s measured (+{} s warm-up), {}, seed {}\n",
            name, args.connections, secs, args.warmup, target.base, args.seed
        ));
        out.push_str(&format!("requests  {requests} ({:.0} req/s)\n", requests as f64 / secs));
        out.push_str(&format!("errors    {errors} (warm-up: {warm_errors} of {warm_requests} requests)\n"));
        out.push_str(&format!("latency   {}  max {}\n", latency.short(), fmt_micros(latency.max)));
        let mut ops = serde_json::Map::new();
        for (op, l, e) in total.per_op() {
            out.push_str(&format!(
                "  {:<26} {:>9} {:>8.0}/s  {}  errors {e}\n",
                op.name(),
                l.count,
                l.count as f64 / secs,
                l.short()
            ));
            let mut entry = l.to_json();
            entry["count"] = json!(l.count);
            entry["errors"] = json!(e);
            ops.insert(op.name().to_owned(), entry);
        }
        if let Some(r) = rss {
            let k = |v: u64| rss::fmt_kib(v as f64);
            out.push_str(&format!(
                "server RSS (pid {}{}): before set-up {}, start {}, min {}, max {}, end {}\n",
                args.server_pid.unwrap_or_default(),
                args.server_pid.and_then(rss::process_name).map(|n| format!(", {n}")).unwrap_or_default(),
                r.before_setup.map_or("-".to_owned(), k),
                k(r.start),
                k(r.min),
                k(r.max),
                k(r.end),
            ));
            out.push_str(&format!(
                "          growth {} (mean of the last {:.0} s minus the first {:.0} s), trend {}/min\n",
                rss::fmt_kib(r.growth_kib()),
                r.window_secs,
                r.window_secs,
                rss::fmt_kib(r.slope_kib_per_min),
            ));
        }
        if !first_errors.is_empty() {
            out.push_str(&format!("first {} errors:\n", first_errors.len()));
            for e in first_errors {
                out.push_str(&format!("  {e}\n"));
            }
        }
        out.push_str(&format!(
            "machine   {} CPUs ({}), {}, load average {} at the start, {} at the end\n",
            machine["cpus"],
            machine["cpu_model"].as_str().unwrap_or("?"),
            rss::fmt_kib(machine["mem_total_kib"].as_f64().unwrap_or(0.0)),
            machine["loadavg_at_start"],
            machine["loadavg"]
        ));
        let summary = json!({
            "tool": "threadsync-load",
            "version": env!("CARGO_PKG_VERSION"),
            "scenario": name,
            "manifest": args.manifest.as_ref().map(|m| m.display().to_string()),
            "mean_body_bytes": measured.mean_body_bytes,
            "target": target.base,
            "connections": args.connections,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "seed": args.seed,
            "elapsed_s": (secs * 1000.0).round() / 1000.0,
            "requests": requests,
            "req_per_s": (requests as f64 / secs * 10.0).round() / 10.0,
            "errors": errors,
            "warmup_requests": warm_requests,
            "warmup_errors": warm_errors,
            "latency_us": latency.to_json(),
            "ops": ops,
            "rss_kib": rss.map_or(Value::Null, rss::RssReport::to_json),
            "machine": machine,
        });
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(out.as_bytes());
        let _ = stdout.flush();
        (errors + warm_errors, summary)
    })
}

/// The 1, 5 and 15 minute load averages (other work on the machine skews
/// the figures: the report says how busy it was).
fn loadavg() -> Value {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let values: Vec<f64> = text.split_whitespace().take(3).filter_map(|v| v.parse().ok()).collect();
    json!(values)
}

/// CPUs, CPU model, memory and load, from /proc.
fn machine() -> Value {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim()))
        .unwrap_or("unknown");
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok());
    json!({"cpus": cpus, "cpu_model": model, "mem_total_kib": mem_kib, "loadavg": loadavg()})
}
