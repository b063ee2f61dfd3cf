//! The websocket scenarios (docs/load.md): many logged-in, subscribed DDP
//! connections held by this one process, and messages sent over REST whose
//! frames every subscriber must receive.
//!
//! - `ws-idle`: N connections, each logged in (`{resume}` with a token of
//!   one of `--users` users) and subscribed like a client with a room open,
//!   held idle; the server's RSS per connection.
//! - `ws-fanout`: N subscribers of one room; one message every
//!   `--fanout-every` seconds; the delay of every subscriber's frame.
//! - `ws-sustained`: N subscribers spread over `--rooms` rooms and a target
//!   rate of sends spread over the rooms; delays, losses, RSS over time.
//!
//! Each message carries its sequence number `j` in its text (`load <j> ...`);
//! message `j` goes to room `j % rooms`, so each subscriber knows which
//! messages it must receive, and the delay of a frame is measured from the
//! moment this process read the send's HTTP answer (and, apart, from the
//! moment it started the request). A frame that arrives before the answer
//! has a delay of 0 from the answer and is counted as such.

use crate::client::{Conn, Session};
use crate::limits::{self, Nofile};
use crate::scenario::Scenario;
use crate::stats::{fmt_micros, histogram, Latency};
use crate::target::Target;
use crate::{rss, setup};
use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Safety limits of the websocket scenarios.
pub const MAX_WS_CONNECTIONS: u32 = 50_000;
pub const MAX_USERS: u64 = 2_000;
pub const MAX_ROOMS: u64 = 10_000;
pub const MAX_RATE: u64 = 20_000;
pub const MAX_SENDERS: u64 = 256;
/// Messages of one run (each has a slot in the delivery tables).
const MAX_MESSAGES: u64 = 2_000_000;
/// `ws-fanout` keeps one histogram per message.
const MAX_FANOUT_MESSAGES: u64 = 200;
/// One connection's handshake, login and subs.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// All connections together.
const CONNECT_PHASE_TIMEOUT: Duration = Duration::from_secs(900);
/// File descriptors kept free for everything but the websockets.
const SPARE_FDS: u64 = 64;
/// Connections per source address (each address has about 28,000
/// ephemeral ports, and a previous run's sockets may still be in TIME_WAIT).
const PER_SOURCE_ADDRESS: usize = 5_000;
/// Delivery histograms are sharded to keep the connections' tasks from
/// contending on one lock.
const SHARDS: usize = 8;
/// What marks a message of this tool in a frame.
const MARK: &str = r#""msg":"load "#;
const ROOM_FRAME: &str = r#"{"msg":"changed","collection":"stream-room-messages""#;

pub struct Options {
    pub scenario: Scenario,
    pub targets: Vec<Target>,
    pub pids: Vec<u32>,
    pub connections: usize,
    pub users: usize,
    pub rooms: usize,
    pub rate: f64,
    pub senders: usize,
    pub fanout_every: Duration,
    pub warmup: Duration,
    pub duration: Duration,
    pub drain: Duration,
    pub connect_concurrency: usize,
    pub source_addrs: Option<usize>,
    pub msg_bytes: usize,
    pub read_buffer: usize,
    pub report_every: Duration,
    pub request_timeout: Duration,
    pub admin_user: String,
    pub admin_pass: Option<String>,
    pub user_prefix: String,
    pub user_pass: String,
    pub room_prefix: String,
    pub ceiling: bool,
    pub rss_log: Option<PathBuf>,
    pub nofile: Nofile,
}

impl Options {
    fn name(&self) -> &'static str {
        self.scenario.name()
    }

    /// Rooms that receive messages or subscribers.
    fn room_count(&self) -> usize {
        match self.scenario {
            Scenario::WsFanout => 1,
            _ => self.rooms,
        }
    }

    /// Messages per second asked for.
    fn send_rate(&self) -> f64 {
        match self.scenario {
            Scenario::WsIdle => 0.0,
            Scenario::WsFanout => 1.0 / self.fanout_every.as_secs_f64().max(1e-3),
            _ => self.rate,
        }
    }

    /// Messages of the whole schedule (warm-up included).
    fn planned_messages(&self) -> u64 {
        let secs = (self.warmup + self.duration).as_secs_f64();
        (self.send_rate() * secs).ceil() as u64
    }
}

/// Who logs in and where: users' sessions, rooms, and the sender.
struct World {
    users: Vec<Session>,
    rooms: Vec<String>,
    sender: Session,
}

/// Runs the scenario (and its ceiling); the number of errors (failed
/// connections, failed sends, lost deliveries, dropped connections).
pub async fn run(opts: Options) -> anyhow::Result<u64> {
    let needed = opts.connections as u64 + opts.senders as u64 + SPARE_FDS;
    if needed > opts.nofile.soft {
        bail!(
            "{} connections need about {needed} open files, and this process may open {}: \
             lower --connections (this limit is per process; the server has its own)",
            opts.connections,
            opts.nofile
        );
    }
    if opts.planned_messages() > MAX_MESSAGES {
        bail!("the schedule has {} messages, more than {MAX_MESSAGES}", opts.planned_messages());
    }
    if opts.scenario == Scenario::WsFanout && opts.planned_messages() > MAX_FANOUT_MESSAGES {
        bail!(
            "ws-fanout sends one message every --fanout-every seconds: {} messages, more than {MAX_FANOUT_MESSAGES}",
            opts.planned_messages()
        );
    }
    for pid in &opts.pids {
        if rss::read_rss_kib(*pid).is_none() {
            bail!("--server-pid {pid}: no such process, or no VmRSS in /proc/{pid}/status");
        }
    }
    let load_at_start = crate::loadavg();
    eprintln!(
        "threadsync-load: {} on {} with {} connections, {} s measured after {} s warm-up; open files {}",
        opts.name(),
        opts.targets.iter().map(|t| t.base.as_str()).collect::<Vec<_>>().join(" + "),
        opts.connections,
        opts.duration.as_secs(),
        opts.warmup.as_secs(),
        opts.nofile
    );
    let world = tokio::time::timeout(Duration::from_secs(600), prepare(&opts))
        .await
        .context("the set-up did not finish in time")??;
    let main = run_phase(&opts, &world, &opts.targets, &opts.pids, "threadsync", None).await?;
    let mut summary = main.to_json(&opts);
    let mut errors = main.errors();
    print!("{}", main.report(&opts));
    if let Some(path) = &opts.rss_log {
        let text: String = main.rss_points.iter().map(|(t, kib)| format!("{t:.1},{kib}\n")).collect();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("warning: cannot write {}: {e}", path.display());
        }
    }

    if opts.ceiling {
        let frame_bytes = main.mean_frame_bytes().unwrap_or(500);
        let mut ceiling = Ceiling::start(frame_bytes, opts.read_buffer)?;
        let fake = World {
            users: (0..opts.users)
                .map(|i| Session { user_id: format!("u{i}"), token: format!("t{i}") })
                .collect(),
            rooms: (0..opts.room_count()).map(|r| format!("ceiling-room-{r}")).collect(),
            sender: Session { user_id: "ceiling-user".into(), token: "ceiling-token".into() },
        };
        let targets = [ceiling.target.clone()];
        let result = run_phase(&opts, &fake, &targets, &[ceiling.pid], "ceiling", Some(frame_bytes)).await;
        ceiling.stop();
        let ceil = result?;
        print!("{}", ceil.report(&opts));
        let ratios = ratios(&opts, &main, &ceil);
        print!("{}", ratios.0);
        summary["ceiling"] = ceil.to_json(&opts);
        summary["ratios"] = ratios.1;
        errors += ceil.errors();
    }
    let mut machine = crate::machine();
    machine["loadavg_at_start"] = load_at_start;
    println!(
        "machine   {} CPUs ({}), {}, load average {} at the start, {} at the end",
        machine["cpus"],
        machine["cpu_model"].as_str().unwrap_or("?"),
        rss::fmt_kib(machine["mem_total_kib"].as_f64().unwrap_or(0.0)),
        machine["loadavg_at_start"],
        machine["loadavg"]
    );
    summary["machine"] = machine;
    summary["open_files"] =
        json!({"before": opts.nofile.before, "soft": opts.nofile.soft, "hard": opts.nofile.hard});
    println!("{summary}");
    let _ = std::io::stdout().flush();
    Ok(errors)
}

/// Logs the admin in (rate limiter off), registers or logs in the users
/// once each over REST, and creates the rooms (or finds them from an
/// earlier run).
async fn prepare(opts: &Options) -> anyhow::Result<World> {
    let target = &opts.targets[0];
    let admin_pass = opts.admin_pass.as_deref().context("--admin-pass (or ADMIN_PASS) is required")?;
    let admin = setup::admin_connection(target, opts.request_timeout, &opts.admin_user, admin_pass).await?;
    let started = Instant::now();
    let plan = setup::Plan {
        users: opts.users,
        user_prefix: opts.user_prefix.clone(),
        user_pass: opts.user_pass.clone(),
        threads: 0,
        replies: 0,
        big_replies: None,
        request_timeout: opts.request_timeout,
        search_top: None,
    };
    let users: Vec<Session> =
        setup::register_users(target, &plan).await?.into_iter().map(|(_, s)| s).collect();
    eprintln!("set-up: {} users logged in in {:.1} s", users.len(), started.elapsed().as_secs_f64());
    let mut rooms = Vec::new();
    for r in 0..opts.room_count() {
        let name = format!("{}-{r}", opts.room_prefix);
        let created = admin.post("/api/v1/channels.create", &json!({"name": name})).await;
        let rid = match created {
            Ok(body) => body["channel"]["_id"].as_str().map(str::to_owned),
            Err(e) if e.status() == Some(400) => {
                let body = admin
                    .get(&format!("/api/v1/channels.info?roomName={name}"))
                    .await
                    .map_err(|e| anyhow!("room {name} could neither be created nor found: {e}"))?;
                body["channel"]["_id"].as_str().map(str::to_owned)
            }
            Err(e) => return Err(anyhow!("cannot create room {name}: {e}")),
        };
        rooms.push(rid.with_context(|| format!("no _id for room {name}"))?);
    }
    let sender = admin.session.clone().context("the admin has no session")?;
    Ok(World { users, rooms, sender })
}

/// Where connection `i` goes and as whom.
struct ConnSpec {
    index: usize,
    target: usize,
    addr: SocketAddr,
    source: Option<IpAddr>,
    user: Session,
    room: usize,
    rid: String,
}

/// State shared by the connections, the senders and the reporter.
struct Shared {
    origin: Instant,
    rooms: usize,
    /// Per message `j`: µs since `origin` when its request started, when
    /// its answer was read (0: not yet), and its outcome.
    started_us: Vec<AtomicU64>,
    answered_us: Vec<AtomicU64>,
    status: Vec<AtomicU8>,
    /// Messages started before this (µs since `origin`) are the warm-up's.
    measure_from_us: AtomicU64,
    shards: Vec<Mutex<Shard>>,
    /// `ws-fanout`: the delays of each message.
    per_message: Vec<Mutex<Histogram<u64>>>,
    received: AtomicU64,
    expected: AtomicU64,
    early: AtomicU64,
    frame_bytes: AtomicU64,
    sends: Mutex<SendStats>,
    dropped: AtomicU64,
    first_errors: Mutex<Vec<String>>,
}

const PENDING: u8 = 0;
const SENT: u8 = 1;
const FAILED: u8 = 2;

struct Shard {
    /// Delay from the send's answer, measured period.
    from_answer: Histogram<u64>,
    /// Delay from the send's start, measured period.
    from_start: Histogram<u64>,
    /// From the answer, warm-up.
    warmup: Histogram<u64>,
    /// From the answer, since the last progress line.
    interval: Histogram<u64>,
}

impl Shard {
    fn new() -> Shard {
        Shard {
            from_answer: histogram(),
            from_start: histogram(),
            warmup: histogram(),
            interval: histogram(),
        }
    }
}

struct SendStats {
    latency: Histogram<u64>,
    /// How late each send started against its schedule.
    lag: Histogram<u64>,
    ok: u64,
    failed: u64,
    interval_ok: u64,
}

impl Shared {
    fn new(rooms: usize, messages: usize, fanout: bool) -> Shared {
        let table = |_| AtomicU64::new(0);
        Shared {
            origin: Instant::now(),
            rooms: rooms.max(1),
            started_us: (0..messages).map(table).collect(),
            answered_us: (0..messages).map(table).collect(),
            status: (0..messages).map(|_| AtomicU8::new(PENDING)).collect(),
            measure_from_us: AtomicU64::new(0),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new())).collect(),
            per_message: if fanout {
                (0..messages).map(|_| Mutex::new(histogram())).collect()
            } else {
                Vec::new()
            },
            received: AtomicU64::new(0),
            expected: AtomicU64::new(0),
            early: AtomicU64::new(0),
            frame_bytes: AtomicU64::new(0),
            sends: Mutex::new(SendStats {
                latency: histogram(),
                lag: histogram(),
                ok: 0,
                failed: 0,
                interval_ok: 0,
            }),
            dropped: AtomicU64::new(0),
            first_errors: Mutex::new(Vec::new()),
        }
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX).max(1)
    }

    fn error(&self, message: String) {
        let mut errors = self.first_errors.lock().unwrap_or_else(|e| e.into_inner());
        if errors.len() < crate::stats::ERROR_SAMPLES {
            errors.push(message);
        }
    }

    /// A frame of message `j` reached connection `conn`.
    fn delivered(&self, conn: usize, j: usize, bytes: usize) {
        let now = self.now_us();
        let Some(started) = self.started_us.get(j).map(|s| s.load(Ordering::Acquire)) else { return };
        let answered = self.answered_us[j].load(Ordering::Acquire);
        let from_answer = if answered == 0 {
            self.early.fetch_add(1, Ordering::Relaxed);
            0
        } else {
            now.saturating_sub(answered)
        };
        let from_start = now.saturating_sub(started);
        let warm = started < self.measure_from_us.load(Ordering::Relaxed);
        {
            let mut shard = self.shards[conn % SHARDS].lock().unwrap_or_else(|e| e.into_inner());
            let clamp = |v: u64| v.clamp(1, crate::stats::HIST_MAX_MICROS);
            if warm {
                shard.warmup.saturating_record(clamp(from_answer));
            } else {
                shard.from_answer.saturating_record(clamp(from_answer));
                shard.from_start.saturating_record(clamp(from_start));
            }
            shard.interval.saturating_record(clamp(from_answer));
        }
        if let Some(h) = self.per_message.get(j) {
            h.lock().unwrap_or_else(|e| e.into_inner()).saturating_record(from_answer.max(1));
        }
        self.received.fetch_add(1, Ordering::Relaxed);
        self.frame_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn merged(&self, pick: impl Fn(&Shard) -> &Histogram<u64>) -> Histogram<u64> {
        let mut all = histogram();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let _ = all.add(pick(&shard));
        }
        all
    }

    fn take_interval(&self) -> Histogram<u64> {
        let mut all = histogram();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let _ = all.add(&shard.interval);
            shard.interval.reset();
        }
        all
    }
}

/// What one connection saw.
struct ConnOutcome {
    room: usize,
    /// Bit `k`: the room's `k`-th message (`j = k * rooms + room`) arrived.
    seen: Vec<u64>,
    duplicates: u64,
    out_of_order: u64,
    wrong_room: u64,
}

/// A run against one server (or the ceiling).
struct Phase {
    label: &'static str,
    scenario: Scenario,
    connections: usize,
    connected: usize,
    connect_failed: usize,
    connect_secs: f64,
    source_addrs: usize,
    subscribers: Vec<usize>,
    rss: Vec<PidReport>,
    rss_points: Vec<(f64, u64)>,
    client_cpu_cores: Option<f64>,
    measured_secs: f64,
    sends_ok: u64,
    sends_failed: u64,
    planned: u64,
    send_latency: Latency,
    send_lag: Latency,
    deliveries: u64,
    expected: u64,
    lost: u64,
    duplicates: u64,
    out_of_order: u64,
    wrong_room: u64,
    early: u64,
    dropped: u64,
    from_answer: Latency,
    from_start: Latency,
    warmup_delay: Latency,
    per_message: Vec<(u64, Latency)>,
    frame_bytes: u64,
    first_errors: Vec<String>,
    frame_size_asked: Option<u64>,
    /// The machine over the measured period: busy, idle, stolen shares.
    machine_cpu: Option<(f64, f64, f64)>,
}

/// Memory and CPU of one server process over a phase.
struct PidReport {
    pid: u32,
    name: Option<String>,
    before_connect: Option<u64>,
    connected: Option<u64>,
    after_close: Option<u64>,
    held: Option<rss::RssReport>,
    cpu_cores: Option<f64>,
}

impl PidReport {
    /// Server RSS per connection on this process: RSS held (the mean of the
    /// last window) minus RSS before connecting, over its connections.
    fn kib_per_connection(&self, connections: usize) -> Option<f64> {
        let held = self.held.as_ref()?.last_window_mean;
        Some((held - self.before_connect? as f64) / connections.max(1) as f64)
    }
}

/// Source addresses for the client sockets: one per
/// [`PER_SOURCE_ADDRESS`] connections, 127.0.0.1, 127.0.0.2, ... (any
/// 127/8 address is loopback), unless the target is IPv6.
fn source_addresses(opts: &Options, targets: &[Target]) -> Vec<Option<IpAddr>> {
    let ipv4 = targets.iter().all(|t| t.pin.is_some() || t.host.parse::<Ipv4Addr>().is_ok());
    let wanted =
        opts.source_addrs.unwrap_or_else(|| opts.connections.div_ceil(PER_SOURCE_ADDRESS)).clamp(1, 250);
    if !ipv4 || wanted == 1 {
        return vec![None];
    }
    (0..wanted).map(|a| Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + a as u8)))).collect()
}

fn socket_addr(target: &Target) -> anyhow::Result<SocketAddr> {
    if let Some(pin) = target.pin {
        return Ok(pin);
    }
    let host = target.host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().with_context(|| format!("{} is not an IP address", target.host))?;
    Ok(SocketAddr::new(ip, target.port))
}

async fn run_phase(
    opts: &Options,
    world: &World,
    targets: &[Target],
    pids: &[u32],
    label: &'static str,
    frame_size_asked: Option<u64>,
) -> anyhow::Result<Phase> {
    let rooms = world.rooms.len().max(1);
    let planned = opts.planned_messages();
    let shared = Arc::new(Shared::new(rooms, planned as usize, opts.scenario == Scenario::WsFanout));
    let samplers: Vec<_> = pids.iter().map(|&pid| rss::spawn_sampler(pid)).collect();
    let before_connect: Vec<Option<u64>> = pids.iter().map(|&p| rss::read_rss_kib(p)).collect();
    let sources = source_addresses(opts, targets);
    let addrs: Vec<SocketAddr> = targets.iter().map(socket_addr).collect::<anyhow::Result<_>>()?;

    // Connect everyone, a bounded number at a time.
    eprintln!("[{label}] connecting {} websockets ({} source addresses)", opts.connections, sources.len());
    let connect_started = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(opts.connect_concurrency));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<Result<usize, String>>();
    let mut tasks: JoinSet<Option<ConnOutcome>> = JoinSet::new();
    for i in 0..opts.connections {
        let room = i % rooms;
        let spec = ConnSpec {
            index: i,
            target: i % targets.len(),
            addr: addrs[i % targets.len()],
            source: sources[i % sources.len()],
            user: world.users[i % world.users.len()].clone(),
            room,
            rid: world.rooms[room].clone(),
        };
        let host = targets[spec.target].host.clone();
        let port = targets[spec.target].port;
        let (shared, gate, stop, ready) =
            (Arc::clone(&shared), Arc::clone(&gate), stop_rx.clone(), ready_tx.clone());
        let read_buffer = opts.read_buffer;
        tasks.spawn(async move {
            let opened = {
                let _permit = gate.acquire_owned().await.ok()?;
                tokio::time::timeout(CONNECT_TIMEOUT, open(&spec, &host, port, read_buffer))
                    .await
                    .unwrap_or_else(|_| Err("no login and ready within 60 s".to_owned()))
            };
            match opened {
                Ok(ws) => {
                    let _ = ready.send(Ok(spec.room));
                    Some(hold(ws, &spec, &shared, stop).await)
                }
                Err(e) => {
                    let _ = ready.send(Err(format!("connection {}: {e}", spec.index)));
                    None
                }
            }
        });
    }
    drop(ready_tx);
    let mut subscribers = vec![0usize; rooms];
    let (mut connected, mut failed) = (0usize, 0usize);
    let mut next_line = Instant::now() + opts.report_every;
    let deadline = Instant::now() + CONNECT_PHASE_TIMEOUT;
    while connected + failed < opts.connections {
        let wait = next_line.min(deadline);
        match tokio::time::timeout_at(wait.into(), ready_rx.recv()).await {
            Ok(Some(Ok(room))) => {
                subscribers[room] += 1;
                connected += 1;
            }
            Ok(Some(Err(e))) => {
                failed += 1;
                shared.error(e);
            }
            Ok(None) => break,
            Err(_) if Instant::now() >= deadline => {
                shared.error(format!("connecting took more than {} s", CONNECT_PHASE_TIMEOUT.as_secs()));
                break;
            }
            Err(_) => {
                eprintln!(
                    "[{label}] {connected} connected, {failed} failed ({:.0} s){}",
                    connect_started.elapsed().as_secs_f64(),
                    rss_now(&samplers)
                );
                next_line += opts.report_every;
            }
        }
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    let connected_rss: Vec<Option<u64>> = pids.iter().map(|&p| rss::read_rss_kib(p)).collect();
    eprintln!(
        "[{label}] {connected} connected and subscribed in {connect_secs:.1} s, {failed} failed{}",
        rss_now(&samplers)
    );

    // The schedule: idle holds, the others send.
    let hold_start = Instant::now();
    let send_start = hold_start + Duration::from_millis(500);
    let measure_start = send_start + opts.warmup;
    let send_end = measure_start + opts.duration;
    shared.measure_from_us.store(
        u64::try_from(measure_start.duration_since(shared.origin).as_micros()).unwrap_or(0),
        Ordering::Relaxed,
    );
    let subscribers = Arc::new(subscribers);
    let mut senders = JoinSet::new();
    let rate = opts.send_rate();
    if rate > 0.0 {
        let count = opts.senders.min(rooms).max(1);
        for k in 0..count {
            let target = &targets[k % targets.len()];
            let mut conn = Conn::new(target, opts.request_timeout)?;
            conn.session = Some(world.sender.clone());
            let owned: Vec<usize> = (k..rooms).step_by(count).collect();
            let rids = Arc::new(world.rooms.clone());
            let (shared, subscribers) = (Arc::clone(&shared), Arc::clone(&subscribers));
            let msg_bytes = opts.msg_bytes;
            senders.spawn(async move {
                send_loop(
                    conn,
                    owned,
                    rids,
                    shared,
                    subscribers,
                    send_start,
                    send_end,
                    rate,
                    planned,
                    msg_bytes,
                )
                .await;
            });
        }
    }
    // CPU is read when the measured period starts (after the warm-up).
    let cpu_now = || -> (Vec<Option<f64>>, Option<f64>, Option<[u64; 4]>) {
        (
            pids.iter().map(|&p| limits::cpu_seconds(p)).collect(),
            limits::cpu_seconds(std::process::id()),
            limits::machine_cpu(),
        )
    };
    let mut cpu_start = cpu_now();
    let mut measured_from = if rate > 0.0 { measure_start } else { hold_start };
    let mut next_line = hold_start + opts.report_every;
    let mut warm = opts.warmup.is_zero() || rate == 0.0;
    let mut last_line = hold_start;
    loop {
        let now = Instant::now();
        if now >= send_end {
            break;
        }
        if !warm && now >= measure_start {
            warm = true;
            measured_from = measure_start;
            cpu_start = cpu_now();
        }
        if now >= next_line {
            progress(
                label,
                &shared,
                now.duration_since(last_line),
                &samplers,
                if warm { "" } else { "warm-up" },
            );
            last_line = now;
            next_line += opts.report_every;
        }
        let wake = [next_line, send_end, if warm { send_end } else { measure_start }]
            .into_iter()
            .min()
            .unwrap_or(send_end);
        tokio::time::sleep_until(wake.into()).await;
    }
    let measured_end = Instant::now();
    let (cpu_end, own_cpu_end, machine_end) = cpu_now();
    let (cpu_start, own_cpu_start, machine_start) = cpu_start;
    let machine_cpu = machine_start.zip(machine_end).map(|(a, b)| limits::cpu_shares(a, b));
    let measured_secs = measured_end.duration_since(measured_from).as_secs_f64().max(1e-3);

    // Sends in flight finish; then the frames still on their way arrive.
    let drained = tokio::time::timeout(opts.request_timeout + Duration::from_secs(5), async {
        while senders.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        shared.error("sends still running after the deadline were aborted".to_owned());
        senders.abort_all();
    }
    if rate > 0.0 {
        let drain_end = Instant::now() + opts.drain;
        while shared.received.load(Ordering::Relaxed) < shared.expected.load(Ordering::Relaxed)
            && Instant::now() < drain_end
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let _ = stop_tx.send(true);
    let mut outcomes = Vec::new();
    let joined = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(outcome) = tasks.join_next().await {
            if let Ok(Some(outcome)) = outcome {
                outcomes.push(outcome);
            }
        }
    })
    .await;
    if joined.is_err() {
        shared.error("connections still open 120 s after the end were aborted".to_owned());
        tasks.abort_all();
    }
    drop(tasks);
    // Let the server notice the closes before the last RSS reading.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after_close: Vec<Option<u64>> = pids.iter().map(|&p| rss::read_rss_kib(p)).collect();

    // Losses: every connection must have every message of its room whose
    // send was answered 2xx.
    let (mut lost, mut duplicates, mut out_of_order, mut wrong_room, mut expected) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    for outcome in &outcomes {
        duplicates += outcome.duplicates;
        out_of_order += outcome.out_of_order;
        wrong_room += outcome.wrong_room;
        let mut k = 0usize;
        loop {
            let j = k * rooms + outcome.room;
            if j >= shared.status.len() {
                break;
            }
            if shared.status[j].load(Ordering::Relaxed) == SENT {
                expected += 1;
                let seen = outcome.seen.get(k / 64).is_some_and(|w| w & (1 << (k % 64)) != 0);
                if !seen {
                    lost += 1;
                }
            }
            k += 1;
        }
    }

    // RSS: per process, over the measured period.
    let mut rss_reports = Vec::new();
    let mut rss_points = Vec::new();
    for (i, (samples, task)) in samplers.iter().enumerate() {
        task.abort();
        let points: Vec<(f64, u64)> = samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|&&(at, _)| at <= measured_end)
            .map(|&(at, kib)| (crate::signed_secs(at, measured_from), kib))
            .collect();
        let mut held = rss::analyse(&points);
        if let Some(h) = held.as_mut() {
            h.before_setup = before_connect[i];
        }
        if i == 0 {
            rss_points = points;
        }
        rss_reports.push(PidReport {
            pid: pids[i],
            name: rss::process_name(pids[i]),
            before_connect: before_connect[i],
            connected: connected_rss[i],
            after_close: after_close[i],
            held,
            cpu_cores: match (cpu_start[i], cpu_end[i]) {
                (Some(a), Some(b)) => Some((b - a) / measured_secs),
                _ => None,
            },
        });
    }
    let sends = shared.sends.lock().unwrap_or_else(|e| e.into_inner());
    let per_message = shared
        .per_message
        .iter()
        .enumerate()
        .filter(|(j, _)| shared.status[*j].load(Ordering::Relaxed) != PENDING)
        .map(|(j, h)| (j as u64, Latency::of(&h.lock().unwrap_or_else(|e| e.into_inner()))))
        .collect();
    let deliveries = shared.received.load(Ordering::Relaxed);
    let first_errors = shared.first_errors.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let phase = Phase {
        label,
        scenario: opts.scenario,
        connections: opts.connections,
        connected,
        connect_failed: failed,
        connect_secs,
        source_addrs: sources.len(),
        subscribers: subscribers.to_vec(),
        rss: rss_reports,
        rss_points,
        client_cpu_cores: match (own_cpu_start, own_cpu_end) {
            (Some(a), Some(b)) => Some((b - a) / measured_secs),
            _ => None,
        },
        measured_secs,
        sends_ok: sends.ok,
        sends_failed: sends.failed,
        planned,
        send_latency: Latency::of(&sends.latency),
        send_lag: Latency::of(&sends.lag),
        deliveries,
        expected,
        lost,
        duplicates,
        out_of_order,
        wrong_room,
        early: shared.early.load(Ordering::Relaxed),
        dropped: shared.dropped.load(Ordering::Relaxed),
        from_answer: Latency::of(&shared.merged(|s| &s.from_answer)),
        from_start: Latency::of(&shared.merged(|s| &s.from_start)),
        warmup_delay: Latency::of(&shared.merged(|s| &s.warmup)),
        per_message,
        frame_bytes: shared.frame_bytes.load(Ordering::Relaxed).checked_div(deliveries).unwrap_or(0),
        first_errors,
        frame_size_asked,
        machine_cpu,
    };
    Ok(phase)
}

fn rss_now(samplers: &[(rss::Samples, tokio::task::JoinHandle<()>)]) -> String {
    let values: Vec<String> =
        samplers.iter().filter_map(|(s, _)| rss::latest(s)).map(|k| rss::fmt_kib(k as f64)).collect();
    if values.is_empty() {
        String::new()
    } else {
        format!("  rss {}", values.join(" + "))
    }
}

fn progress(
    label: &str,
    shared: &Shared,
    period: Duration,
    samplers: &[(rss::Samples, tokio::task::JoinHandle<()>)],
    phase: &str,
) {
    let secs = period.as_secs_f64().max(1e-3);
    let interval = Latency::of(&shared.take_interval());
    let sent = {
        let mut sends = shared.sends.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut sends.interval_ok)
    };
    eprintln!(
        "[{label}{}{phase}] sent {:.0}/s  delivered {:.0}/s  delay p50 {} p99 {} max {}  dropped {}{}",
        if phase.is_empty() { "" } else { " " },
        sent as f64 / secs,
        interval.count as f64 / secs,
        fmt_micros(interval.p50),
        fmt_micros(interval.p99),
        fmt_micros(interval.max),
        shared.dropped.load(Ordering::Relaxed),
        rss_now(samplers)
    );
}

type Ws = WebSocketStream<TcpStream>;

/// Opens connection `spec`: TCP from its source address, the websocket
/// handshake, DDP `connect`, `login` with `{resume}`, and the subs of a
/// client with one room open; returns once the login answered and every
/// sub is ready.
async fn open(spec: &ConnSpec, host: &str, port: u16, read_buffer: usize) -> Result<Ws, String> {
    let socket = if spec.addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
        .map_err(|e| format!("socket: {e}"))?;
    if let Some(source) = spec.source {
        socket.bind(SocketAddr::new(source, 0)).map_err(|e| format!("bind {source}: {e}"))?;
    }
    let stream = socket.connect(spec.addr).await.map_err(|e| format!("connect {}: {e}", spec.addr))?;
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default().read_buffer_size(read_buffer).write_buffer_size(0);
    let url = format!("ws://{host}:{port}/websocket");
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map_err(|e| format!("websocket handshake: {e}"))?;
    let uid = &spec.user.user_id;
    let rid = &spec.rid;
    let mut frames = vec![
        json!({"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]}),
        json!({"msg": "method", "id": "login", "method": "login", "params": [{"resume": spec.user.token}]}),
        json!({"msg": "sub", "id": "room", "name": "stream-room-messages", "params": [rid, false]}),
        json!({"msg": "sub", "id": "deleted", "name": "stream-notify-room", "params": [format!("{rid}/deleteMessage"), false]}),
    ];
    for event in ["message", "notification", "rooms-changed", "subscriptions-changed"] {
        frames.push(json!({"msg": "sub", "id": event, "name": "stream-notify-user", "params": [format!("{uid}/{event}"), false]}));
    }
    let mut waiting: Vec<String> =
        frames.iter().skip(2).filter_map(|f| f["id"].as_str().map(str::to_owned)).collect();
    let mut logged_in = false;
    for frame in frames {
        ws.feed(Message::text(frame.to_string())).await.map_err(|e| format!("send: {e}"))?;
    }
    ws.flush().await.map_err(|e| format!("send: {e}"))?;
    while !(logged_in && waiting.is_empty()) {
        let text = match ws.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => return Err(format!("closed by the server: {close:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("closed by the server".to_owned()),
        };
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else { continue };
        match frame["msg"].as_str().unwrap_or_default() {
            "result" if frame["id"] == "login" => {
                if frame.get("error").is_some() {
                    return Err(format!("login refused: {}", frame["error"]));
                }
                logged_in = true;
            }
            "ready" => {
                let subs = frame["subs"].as_array().cloned().unwrap_or_default();
                waiting.retain(|id| !subs.iter().any(|s| s == id.as_str()));
            }
            "nosub" => return Err(format!("sub {} refused: {}", frame["id"], frame["error"])),
            "ping" => {
                ws.send(Message::text(r#"{"msg":"pong"}"#)).await.map_err(|e| format!("send: {e}"))?;
            }
            _ => {}
        }
    }
    Ok(ws)
}

/// The sequence number of a message frame of this tool, if `text` is one.
fn message_seq(text: &str) -> Option<usize> {
    if !text.starts_with(ROOM_FRAME) {
        return None;
    }
    let at = text.find(MARK)? + MARK.len();
    let digits = &text[at..];
    let end = digits.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Reads frames until told to stop: answers pings, records every message
/// of this tool.
async fn hold(mut ws: Ws, spec: &ConnSpec, shared: &Shared, mut stop: watch::Receiver<bool>) -> ConnOutcome {
    let rooms = shared.rooms;
    let mut outcome =
        ConnOutcome { room: spec.room, seen: Vec::new(), duplicates: 0, out_of_order: 0, wrong_room: 0 };
    let mut last: Option<usize> = None;
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.changed() => break,
            next = ws.next() => next,
        };
        let text = match next {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                shared.error(format!("connection {} closed by the server: {close:?}", spec.index));
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                shared.error(format!("connection {}: {e}", spec.index));
                break;
            }
            None => {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                shared.error(format!("connection {} ended", spec.index));
                break;
            }
        };
        if text.as_str() == r#"{"msg":"ping"}"# {
            if ws.send(Message::text(r#"{"msg":"pong"}"#)).await.is_err() {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                break;
            }
            continue;
        }
        let Some(j) = message_seq(text.as_str()) else { continue };
        if j % rooms != spec.room {
            outcome.wrong_room += 1;
            continue;
        }
        let k = j / rooms;
        if outcome.seen.len() <= k / 64 {
            outcome.seen.resize(k / 64 + 1, 0);
        }
        let bit = 1u64 << (k % 64);
        if outcome.seen[k / 64] & bit != 0 {
            outcome.duplicates += 1;
            continue;
        }
        outcome.seen[k / 64] |= bit;
        if let Some(l) = last.filter(|&l| k < l) {
            if outcome.out_of_order == 0 {
                shared.error(format!(
                    "connection {}: room message {k} (j {j}) arrived after message {l}",
                    spec.index
                ));
            }
            outcome.out_of_order += 1;
        }
        last = Some(last.map_or(k, |l| l.max(k)));
        shared.delivered(spec.index, j, text.len());
    }
    outcome
}

/// One sender: the messages of its rooms, each at its time in the schedule
/// (message `j` at `start + j / rate`, to room `j % rooms`), one after the
/// other, so each room's messages are written in order. A late sender sends
/// at once; the lag is reported.
#[allow(clippy::too_many_arguments)]
async fn send_loop(
    conn: Conn,
    owned: Vec<usize>,
    rids: Arc<Vec<String>>,
    shared: Arc<Shared>,
    subscribers: Arc<Vec<usize>>,
    start: Instant,
    end: Instant,
    rate: f64,
    planned: u64,
    msg_bytes: usize,
) {
    let rooms = rids.len().max(1);
    let mut round = 0usize;
    'rounds: loop {
        for &r in &owned {
            let j = round * rooms + r;
            let at = start + Duration::from_secs_f64(j as f64 / rate);
            if at >= end || j as u64 >= planned || j >= shared.status.len() {
                break 'rounds;
            }
            tokio::time::sleep_until(at.into()).await;
            let now = Instant::now();
            if now >= end {
                // Behind schedule at the deadline: the rest is not sent.
                break 'rounds;
            }
            let lag = now.saturating_duration_since(at);
            let mut text = format!("load {j} ");
            while text.len() < msg_bytes {
                text.push('x');
            }
            let body = json!({"message": {"rid": rids[r], "msg": text}});
            shared.started_us[j].store(shared.now_us(), Ordering::Release);
            let begun = Instant::now();
            let answer = conn.post("/api/v1/chat.sendMessage", &body).await;
            let ok = match &answer {
                Ok(body) if body["success"] == true && body["message"]["_id"].is_string() => true,
                Ok(body) => {
                    shared.error(format!("send {j}: unexpected answer {body:.200}"));
                    false
                }
                Err(e) => {
                    shared.error(format!("send {j}: {e}"));
                    false
                }
            };
            if ok {
                shared.answered_us[j].store(shared.now_us(), Ordering::Release);
                shared.status[j].store(SENT, Ordering::Release);
                shared.expected.fetch_add(subscribers[r] as u64, Ordering::Relaxed);
            } else {
                shared.status[j].store(FAILED, Ordering::Release);
            }
            let mut sends = shared.sends.lock().unwrap_or_else(|e| e.into_inner());
            let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
            sends.latency.saturating_record(micros(begun.elapsed()));
            sends.lag.saturating_record(micros(lag));
            if ok {
                sends.ok += 1;
                sends.interval_ok += 1;
            } else {
                sends.failed += 1;
            }
        }
        round += 1;
    }
}

impl Phase {
    fn errors(&self) -> u64 {
        self.connect_failed as u64
            + self.sends_failed
            + self.lost
            + self.dropped
            + self.duplicates
            + self.wrong_room
    }

    fn mean_frame_bytes(&self) -> Option<u64> {
        (self.frame_bytes > 0).then_some(self.frame_bytes)
    }

    fn kib_per_connection(&self) -> Option<f64> {
        let per_pid = self.connected.div_ceil(self.rss.len().max(1));
        let values: Vec<f64> = self.rss.iter().filter_map(|r| r.kib_per_connection(per_pid)).collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    /// Server CPU time per delivered frame in the measured period, in µs
    /// (less sensitive to other work on the machine than rates are).
    fn cpu_us_per_delivery(&self) -> Option<f64> {
        let cores = self.server_cpu()?;
        (self.from_answer.count > 0).then(|| cores * self.measured_secs * 1e6 / self.from_answer.count as f64)
    }

    fn server_cpu(&self) -> Option<f64> {
        let values: Vec<f64> = self.rss.iter().filter_map(|r| r.cpu_cores).collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }

    fn report(&self, opts: &Options) -> String {
        let mut out = String::new();
        let rooms = self.subscribers.len();
        let (min_subs, max_subs) = (
            self.subscribers.iter().min().copied().unwrap_or(0),
            self.subscribers.iter().max().copied().unwrap_or(0),
        );
        out.push_str(&format!(
            "threadsync-load {} against {}: {} connections over {} room(s) ({}–{} subscribers each), {} source address(es)\n",
            self.scenario.name(),
            self.label,
            self.connections,
            rooms,
            min_subs,
            max_subs,
            self.source_addrs
        ));
        out.push_str(&format!(
            "connect   {} connected and subscribed in {:.1} s, {} failed\n",
            self.connected, self.connect_secs, self.connect_failed
        ));
        if self.scenario != Scenario::WsIdle {
            out.push_str(&format!(
                "sends     {} answered 2xx of {} planned ({:.1}/s over {:.1} s measured, asked {:.1}/s), {} failed; send {}; schedule lag p99 {}\n",
                self.sends_ok,
                self.planned,
                self.sends_ok as f64 / (opts.warmup + opts.duration).as_secs_f64().max(1e-3),
                self.measured_secs,
                opts.send_rate(),
                self.sends_failed,
                self.send_latency.short(),
                fmt_micros(self.send_lag.p99),
            ));
            out.push_str(&format!(
                "delivered {} frames of {} expected ({:.0}/s), lost {}, duplicates {}, out of order {}, wrong room {}, before the answer {}; mean frame {} bytes{}\n",
                self.deliveries,
                self.expected,
                self.from_answer.count as f64 / self.measured_secs,
                self.lost,
                self.duplicates,
                self.out_of_order,
                self.wrong_room,
                self.early,
                self.frame_bytes,
                self.frame_size_asked.map(|b| format!(" (asked {b})")).unwrap_or_default(),
            ));
            out.push_str(&format!(
                "delay     from the send's answer: {}  max {}  mean {}\n",
                self.from_answer.short(),
                fmt_micros(self.from_answer.max),
                fmt_micros(self.from_answer.mean as u64)
            ));
            out.push_str(&format!(
                "          from the send's start:  {}  max {}\n",
                self.from_start.short(),
                fmt_micros(self.from_start.max)
            ));
            if self.warmup_delay.count > 0 {
                out.push_str(&format!("          warm-up, from the answer: {}\n", self.warmup_delay.short()));
            }
            for (j, l) in &self.per_message {
                out.push_str(&format!(
                    "  message {j:>3}: {} frames  p50 {}  p99 {}  max {}\n",
                    l.count,
                    fmt_micros(l.p50),
                    fmt_micros(l.p99),
                    fmt_micros(l.max)
                ));
            }
        }
        out.push_str(&format!("dropped   {} connections ended before the end of the run\n", self.dropped));
        for r in &self.rss {
            let k = |v: Option<u64>| v.map_or("-".to_owned(), |v| rss::fmt_kib(v as f64));
            out.push_str(&format!(
                "server    pid {}{}: RSS before connecting {}, connected {}, after closing {}; CPU {}\n",
                r.pid,
                r.name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default(),
                k(r.before_connect),
                k(r.connected),
                k(r.after_close),
                r.cpu_cores.map_or("-".to_owned(), |c| format!("{c:.2} cores"))
            ));
            if let Some(h) = &r.held {
                out.push_str(&format!(
                    "          measured {:.0} s: start {}, min {}, max {}, end {}, growth {} (last {:.0} s minus first), trend {}/min\n",
                    self.measured_secs,
                    rss::fmt_kib(h.start as f64),
                    rss::fmt_kib(h.min as f64),
                    rss::fmt_kib(h.max as f64),
                    rss::fmt_kib(h.end as f64),
                    rss::fmt_kib(h.growth_kib()),
                    h.window_secs,
                    rss::fmt_kib(h.slope_kib_per_min),
                ));
            }
        }
        if let Some(kib) = self.kib_per_connection() {
            out.push_str(&format!(
                "per connection: {kib:.1} KiB of server RSS (held minus before connecting)\n"
            ));
        }
        if let Some(us) = self.cpu_us_per_delivery() {
            out.push_str(&format!("server CPU per delivered frame: {us:.1} µs\n"));
        }
        if let Some(c) = self.client_cpu_cores {
            out.push_str(&format!("client    CPU {c:.2} cores (this process)\n"));
        }
        if let Some((busy, idle, steal)) = self.machine_cpu {
            out.push_str(&format!(
                "machine   CPU over the measured period: {:.0}% busy, {:.0}% idle, {:.0}% stolen by the hypervisor\n",
                busy * 100.0,
                idle * 100.0,
                steal * 100.0
            ));
        }
        if !self.first_errors.is_empty() {
            out.push_str(&format!("first {} errors:\n", self.first_errors.len()));
            for e in &self.first_errors {
                out.push_str(&format!("  {e}\n"));
            }
        }
        out
    }

    fn to_json(&self, opts: &Options) -> Value {
        json!({
            "tool": "threadsync-load",
            "version": env!("CARGO_PKG_VERSION"),
            "scenario": self.scenario.name(),
            "against": self.label,
            "connections": self.connections,
            "connected": self.connected,
            "connect_failed": self.connect_failed,
            "connect_s": (self.connect_secs * 10.0).round() / 10.0,
            "rooms": self.subscribers.len(),
            "users": opts.users,
            "source_addrs": self.source_addrs,
            "duration_s": opts.duration.as_secs(),
            "warmup_s": opts.warmup.as_secs(),
            "rate_asked": opts.send_rate(),
            "sends_ok": self.sends_ok,
            "sends_failed": self.sends_failed,
            "send_latency_us": self.send_latency.to_json(),
            "send_lag_us": self.send_lag.to_json(),
            "deliveries": self.deliveries,
            "expected": self.expected,
            "deliveries_per_s": (self.from_answer.count as f64 / self.measured_secs).round(),
            "lost": self.lost,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "wrong_room": self.wrong_room,
            "before_answer": self.early,
            "dropped": self.dropped,
            "frame_bytes": self.frame_bytes,
            "delay_from_answer_us": self.from_answer.to_json(),
            "delay_from_start_us": self.from_start.to_json(),
            "per_message_us": self.per_message.iter().map(|(j, l)| json!({"j": j, "count": l.count, "p50": l.p50, "p99": l.p99, "max": l.max})).collect::<Vec<_>>(),
            "servers": self.rss.iter().map(|r| json!({
                "pid": r.pid,
                "rss_before_connect_kib": r.before_connect,
                "rss_connected_kib": r.connected,
                "rss_after_close_kib": r.after_close,
                "rss_kib": r.held.as_ref().map(rss::RssReport::to_json),
                "cpu_cores": r.cpu_cores,
            })).collect::<Vec<_>>(),
            "kib_per_connection": self.kib_per_connection(),
            "client_cpu_cores": self.client_cpu_cores,
            "cpu_us_per_delivery": self.cpu_us_per_delivery(),
            "machine_cpu": self.machine_cpu.map(|(busy, idle, steal)| json!({"busy": busy, "idle": idle, "steal": steal})),
            "errors": self.errors(),
        })
    }
}

/// The server's figures over the ceiling's, as text and JSON.
fn ratios(opts: &Options, main: &Phase, ceiling: &Phase) -> (String, Value) {
    let ratio = |a: f64, b: f64| if b > 0.0 { Some(a / b) } else { None };
    let mut out = String::from("ratios (threadsync / ceiling, same clients, same message frames):\n");
    let mut json = serde_json::Map::new();
    let mut line = |name: &str, a: Option<f64>, b: Option<f64>, unit: &str| {
        if let (Some(a), Some(b)) = (a, b) {
            let r = ratio(a, b);
            out.push_str(&format!(
                "  {name:<28} {a:>10.2} {unit} vs {b:>10.2} {unit}  = {}\n",
                r.map_or("-".to_owned(), |r| format!("{r:.2}×"))
            ));
            json.insert(name.replace(' ', "_"), json!({"threadsync": a, "ceiling": b, "ratio": r}));
        }
    };
    if opts.scenario == Scenario::WsIdle {
        // Elsewhere the server may have served an earlier run: RSS before
        // connecting is not a fresh baseline.
        line("RSS per connection", main.kib_per_connection(), ceiling.kib_per_connection(), "KiB");
    }
    if opts.scenario != Scenario::WsIdle {
        let ms = |v: u64| Some(v as f64 / 1000.0);
        line("delay p50", ms(main.from_answer.p50), ms(ceiling.from_answer.p50), "ms");
        line("delay p99", ms(main.from_answer.p99), ms(ceiling.from_answer.p99), "ms");
        line("delay max", ms(main.from_answer.max), ms(ceiling.from_answer.max), "ms");
        line("send p99", ms(main.send_latency.p99), ms(ceiling.send_latency.p99), "ms");
        line(
            "deliveries per s",
            Some(main.from_answer.count as f64 / main.measured_secs),
            Some(ceiling.from_answer.count as f64 / ceiling.measured_secs),
            "/s",
        );
    }
    line("server CPU", main.server_cpu(), ceiling.server_cpu(), "cores");
    line("CPU per delivery", main.cpu_us_per_delivery(), ceiling.cpu_us_per_delivery(), "µs");
    (out, Value::Object(json))
}

/// The ceiling process (`threadsync-ws-ceiling`, next to this binary).
struct Ceiling {
    child: std::process::Child,
    pid: u32,
    target: Target,
}

impl Ceiling {
    fn start(frame_bytes: u64, read_buffer: usize) -> anyhow::Result<Ceiling> {
        let exe = std::env::current_exe().context("cannot find this executable")?;
        let path = exe.with_file_name("threadsync-ws-ceiling");
        let mut child = std::process::Command::new(&path)
            .args(["--listen", "127.0.0.1:0", "--frame-bytes", &frame_bytes.to_string()])
            .args(["--read-buffer", &read_buffer.to_string()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {} (build it with cargo build --release -p threadsync-load)",
                    path.display()
                )
            })?;
        let pid = child.id();
        let stdout = child.stdout.take().context("no stdout from the ceiling")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).context("the ceiling did not start")?;
        let url = line.trim().strip_prefix("listening on ").map(str::to_owned);
        let target = match url.as_deref().map(crate::target::parse_target) {
            Some(Ok(target)) => target,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the ceiling answered {line:?} instead of its address");
            }
        };
        eprintln!(
            "ceiling: threadsync-ws-ceiling pid {pid} on {} (frames of {frame_bytes} bytes)",
            target.base
        );
        Ok(Ceiling { child, pid, target })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_frames_give_their_sequence_number() {
        let frame = r#"{"msg":"changed","collection":"stream-room-messages","id":"id","fields":{"eventName":"R","args":[{"_id":"x","rid":"R","msg":"load 1234 xxxx","ts":{"$date":1}}]}}"#;
        assert_eq!(message_seq(frame), Some(1234));
        assert_eq!(message_seq(r#"{"msg":"ping"}"#), None);
        let other = r#"{"msg":"changed","collection":"stream-room-messages","id":"id","fields":{"eventName":"R","args":[{"msg":"hello"}]}}"#;
        assert_eq!(message_seq(other), None);
        let notify = r#"{"msg":"changed","collection":"stream-notify-user","id":"id","fields":{"args":[{"msg":"load 5 x"}]}}"#;
        assert_eq!(message_seq(notify), None, "only room message frames count");
    }

    #[test]
    fn source_addresses_spread_large_runs() {
        let target = crate::target::parse_target("http://127.0.0.1:3000").expect("target");
        let opts = |connections, source_addrs| Options {
            scenario: Scenario::WsIdle,
            targets: vec![target.clone()],
            pids: Vec::new(),
            connections,
            users: 1,
            rooms: 1,
            rate: 0.0,
            senders: 1,
            fanout_every: Duration::from_secs(1),
            warmup: Duration::ZERO,
            duration: Duration::from_secs(1),
            drain: Duration::from_secs(1),
            connect_concurrency: 1,
            source_addrs,
            msg_bytes: 64,
            read_buffer: 4096,
            report_every: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            admin_user: String::new(),
            admin_pass: None,
            user_prefix: String::new(),
            user_pass: String::new(),
            room_prefix: String::new(),
            ceiling: false,
            rss_log: None,
            nofile: limits::raise_nofile(),
        };
        assert_eq!(source_addresses(&opts(100, None), std::slice::from_ref(&target)), vec![None]);
        let many = source_addresses(&opts(20_000, None), std::slice::from_ref(&target));
        assert_eq!(many.len(), 4);
        assert_eq!(many[3], Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 4))));
        assert_eq!(source_addresses(&opts(10, Some(3)), std::slice::from_ref(&target)).len(), 3);
        let v6 = crate::target::parse_target("http://[::1]:3000").expect("v6");
        assert_eq!(source_addresses(&opts(20_000, None), &[v6]), vec![None]);
    }
}
