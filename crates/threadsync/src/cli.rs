//! Command-line interface. Every setting of `serve` can also come from an
//! environment variable or the config file; the precedence is resolved in
//! [`crate::config`], so the values here stay `Option`s.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// threadsync: a server speaking Rocket.Chat's REST API, with exact
/// incremental thread sync.
#[derive(Debug, Parser)]
#[command(name = "threadsync", version, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (Rocket.Chat REST API under /api/v1).
    ///
    /// On a first start with no users, the admin is created from
    /// ADMIN_USERNAME, ADMIN_PASS and ADMIN_EMAIL. Stops cleanly on SIGINT or
    /// SIGTERM. Log level: RUST_LOG (default `info`).
    Serve(ServeArgs),
    /// Write a deterministic benchmark dataset straight into the store
    /// (bulk path), and a manifest describing it.
    ///
    /// Zipf-distributed thread sizes, one mega-thread of 100k replies when
    /// --messages is at least 1M, about 5% of replies edited and 2% deleted,
    /// many writes in the same millisecond across rooms. Run it on a new
    /// data directory or database, then `serve` on the same one.
    Seed(SeedArgs),
}

/// Flags of `seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Directory of the SQLite store to fill (ignored with --database-url)
    #[arg(long, env = "THREADSYNC_DATA", value_name = "DIR", default_value = "./threadsync-data")]
    pub data: PathBuf,
    /// PostgreSQL URL: seed PostgreSQL instead of SQLite
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// PostgreSQL schema
    #[arg(long, env = "THREADSYNC_PG_SCHEMA", value_name = "NAME")]
    pub pg_schema: Option<String>,
    /// Total messages (thread parents, replies and plain messages; deleted
    /// replies count too)
    #[arg(long, value_name = "N")]
    pub messages: u64,
    /// Number of threads
    #[arg(long, value_name = "T")]
    pub threads: u64,
    /// Number of public channels (besides GENERAL)
    #[arg(long, value_name = "R", default_value_t = 10)]
    pub rooms: u64,
    /// Number of users (all members of every room)
    #[arg(long, value_name = "U", default_value_t = 100)]
    pub users: u64,
    /// Seed of the generator: the same seed gives the same dataset
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Where to write the manifest [default: <data>/manifest.json]
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
}

/// Flags of `serve`. Flags and environment variables override the config
/// file, which overrides the built-in defaults.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT; port 0 picks a free port
    /// [default: 127.0.0.1:3000]
    #[arg(long, env = "THREADSYNC_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,

    /// Directory of the embedded SQLite database, created if missing
    /// [default: ./threadsync-data]
    #[arg(long, env = "THREADSYNC_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// PostgreSQL connection URL (postgres://user:pass@host:port/db): use
    /// PostgreSQL instead of the embedded SQLite store. Several instances
    /// may share one database
    // The value may carry a password, so `--help` must not echo it.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// PostgreSQL schema to use (created if missing) [default: public]
    #[arg(long, env = "THREADSYNC_PG_SCHEMA", value_name = "NAME")]
    pub pg_schema: Option<String>,

    /// PostgreSQL connection pool size per instance [default: 16]
    #[arg(long, env = "THREADSYNC_PG_POOL_SIZE", value_name = "N")]
    pub pg_pool_size: Option<usize>,

    /// Attempts to reach PostgreSQL at start, with exponential backoff,
    /// before giving up [default: 10, about 30 s]
    #[arg(long, env = "THREADSYNC_PG_CONNECT_ATTEMPTS", value_name = "N")]
    pub pg_connect_attempts: Option<u32>,

    /// Number of SQLite reader connections [default: the backend's]
    #[arg(long, env = "THREADSYNC_SQLITE_READERS", value_name = "N")]
    pub sqlite_readers: Option<usize>,

    /// Most changes one sync response carries when the client asks for
    /// everything (no `count`, or `count=0`) [default: 1000]
    #[arg(long, env = "THREADSYNC_MAX_SYNC_ITEMS", value_name = "N")]
    pub max_sync_items: Option<u64>,

    /// Keep tombstones of deleted messages this many days, then prune them;
    /// syncs from before the pruning horizon are told to resync
    /// [default: keep forever]
    #[arg(long, env = "THREADSYNC_TOMBSTONE_RETENTION_DAYS", value_name = "DAYS")]
    pub tombstone_retention_days: Option<u32>,

    /// Mount the load harness's ceiling endpoints under /bench (they skip
    /// auth: for benchmarks on loopback only, never in production)
    #[arg(long, env = "THREADSYNC_BENCH_ENDPOINTS")]
    pub bench_endpoints: bool,

    /// JSON config file with the keys listen, data, database_url,
    /// pg_schema, pg_pool_size, sqlite_readers, max_sync_items,
    /// tombstone_retention_days, log; flags and environment variables
    /// override it
    #[arg(long, env = "THREADSYNC_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}
