//! The settings of `serve`, declared once: [`Settings`] is at the same time
//! the command line (each field a flag with its environment variable), the
//! config file (each field a key) and, with [`Settings::defaults`], the
//! defaults that `--help` shows. The effective [`Config`] is flags and
//! environment over the config file over the defaults, checked in one place.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA: &str = "./threadsync-data";
pub const DEFAULT_PG_POOL_SIZE: usize = 16;
pub const DEFAULT_PG_CONNECT_ATTEMPTS: u32 = 10;

/// Half the CPU cores this process may use, at least one: a core of this
/// server keeps about half a core of PostgreSQL busy with hot syncs, and
/// fewer connections pipeline more statements per round trip
/// (BENCHMARKS.md, "Hot reads on shared connections").
pub fn default_pg_read_connections() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().div_ceil(2))
}
pub const DEFAULT_SQLITE_READERS: usize = 4;
/// The services' own cap: a sync response never carries more by default.
pub const DEFAULT_MAX_SYNC_ITEMS: u64 = threadsync_service::HARD_MAX_COUNT;
pub const DEFAULT_PRESENCE_LEASE_SECS: u64 = threadsync_service::DEFAULT_PRESENCE_LEASE.as_secs();
/// Renewals every third of the lease must stay a few seconds apart.
pub const MIN_PRESENCE_LEASE_SECS: u64 = 3;
pub const DEFAULT_LOG: &str = "info";
pub const DEFAULT_BENCH_ENDPOINTS: bool = false;
pub const DEFAULT_CREATE_TOKENS_FOR_USERS: bool = false;

/// Each reader is an open SQLite connection (file descriptors, page cache):
/// beyond a few per core they only cost, and tens of thousands exhaust the
/// open-file limit after a long start. The bound turns that into an
/// immediate, clear refusal.
pub const MAX_SQLITE_READERS: usize = 64;

/// Every setting of `serve`. A field is at once a flag (`--pg-pool-size`),
/// an environment variable (`env`) and a key of the config file
/// (`pg_pool_size`); all are optional here, and [`Config::resolve`] fills in
/// the defaults. A new setting is added here, to [`Settings::defaults`] if
/// it has a default value, to [`Settings::over`] (the compiler insists) and
/// to [`Config`]; the tests check that `--help` and the README agree.
///
/// A `[default: ...]` in a doc comment below describes a default that is not
/// a value (the backend's own choice, "forever"); value defaults are added
/// to `--help` from [`Settings::defaults`].
#[derive(Debug, Default, Clone, PartialEq, Eq, clap::Args, Deserialize, Serialize)]
// A misspelt key would otherwise be ignored silently and the server would
// run with a default the operator thought they had changed.
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on, HOST:PORT; port 0 picks a free port
    #[arg(long, env = "THREADSYNC_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,

    /// Directory of the embedded SQLite database and of uploaded files, created if missing
    #[arg(long, env = "THREADSYNC_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// PostgreSQL connection URL (postgres://user:pass@host:port/db): use
    /// PostgreSQL instead of the embedded SQLite store. Several instances
    /// may share one database [default: unset, SQLite]
    // The value may carry a password, so `--help` must not echo it.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// PostgreSQL schema to use (created if missing) [default: public]
    #[arg(long, env = "THREADSYNC_PG_SCHEMA", value_name = "NAME")]
    pub pg_schema: Option<String>,

    /// PostgreSQL connection pool size per instance
    #[arg(long, env = "THREADSYNC_PG_POOL_SIZE", value_name = "N")]
    pub pg_pool_size: Option<usize>,

    /// PostgreSQL connections shared by hot reads (change feeds without a
    /// client query), besides the pool: their statements are pipelined
    /// [default: half the CPU cores, at least 1]
    #[arg(long, env = "THREADSYNC_PG_READ_CONNECTIONS", value_name = "N")]
    pub pg_read_connections: Option<usize>,

    /// Attempts to reach PostgreSQL at start, with exponential backoff (about
    /// 30 s for 10), before giving up
    #[arg(long, env = "THREADSYNC_PG_CONNECT_ATTEMPTS", value_name = "N")]
    pub pg_connect_attempts: Option<u32>,

    /// PEM file of certificates trusted for PostgreSQL TLS besides the
    /// system's (a private CA, or the server's self-signed certificate).
    /// TLS itself follows `sslmode` in the URL [default: unset]
    #[arg(long, env = "THREADSYNC_PG_CA_FILE", value_name = "FILE")]
    pub pg_ca_file: Option<PathBuf>,

    /// Number of SQLite reader connections (1 to 64)
    #[arg(long, env = "THREADSYNC_SQLITE_READERS", value_name = "N")]
    pub sqlite_readers: Option<usize>,

    /// Most changes one sync response carries when the client asks for
    /// everything (no `count`, or `count=0`)
    #[arg(long, env = "THREADSYNC_MAX_SYNC_ITEMS", value_name = "N")]
    pub max_sync_items: Option<u64>,

    /// Keep tombstones of deleted messages this many days, then prune them;
    /// syncs from before the pruning horizon are told to resync
    /// [default: keep forever]
    #[arg(long, env = "THREADSYNC_TOMBSTONE_RETENTION_DAYS", value_name = "DAYS")]
    pub tombstone_retention_days: Option<u32>,

    /// Seconds a realtime connection counts for its user's presence
    /// without its instance renewing it (renewed every third of it): after
    /// an instance dies, its users show offline within this and a third
    #[arg(long, env = "THREADSYNC_PRESENCE_LEASE_SECS", value_name = "SECS")]
    pub presence_lease_secs: Option<u64>,

    /// Log filter, in RUST_LOG syntax (e.g. `info,threadsync_api=debug`)
    #[arg(long, env = "RUST_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    /// Mount the load harness's ceiling endpoints under /bench. They skip
    /// auth: for benchmarks on loopback only, and only in a binary built
    /// with `--features bench-endpoints`
    #[arg(
        long,
        env = "THREADSYNC_BENCH_ENDPOINTS",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = parse_switch,
    )]
    pub bench_endpoints: Option<bool>,

    /// Let `users.createToken` issue login tokens: for the caller itself,
    /// or for any user by holders of `user-generate-access-token` (admins).
    /// Rocket.Chat's environment variable of the same name
    #[arg(
        long,
        env = "CREATE_TOKENS_FOR_USERS",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = parse_switch,
    )]
    pub create_tokens_for_users: Option<bool>,

    /// A secret `users.createToken` must be given (its `secret`) when set
    /// (Rocket.Chat's `CREATE_TOKENS_FOR_USERS_SECRET`) [default: unset,
    /// none asked]
    // A secret: `--help` must not echo it.
    #[arg(long, env = "CREATE_TOKENS_FOR_USERS_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub create_tokens_for_users_secret: Option<String>,
}

impl Settings {
    /// The defaults that are values (the others are described in the field
    /// docs). `--help` shows these, and [`Config::resolve`] applies them.
    pub fn defaults() -> Settings {
        Settings {
            listen: Some(DEFAULT_LISTEN.to_owned()),
            data: Some(PathBuf::from(DEFAULT_DATA)),
            pg_pool_size: Some(DEFAULT_PG_POOL_SIZE),
            pg_connect_attempts: Some(DEFAULT_PG_CONNECT_ATTEMPTS),
            sqlite_readers: Some(DEFAULT_SQLITE_READERS),
            max_sync_items: Some(DEFAULT_MAX_SYNC_ITEMS),
            presence_lease_secs: Some(DEFAULT_PRESENCE_LEASE_SECS),
            log: Some(DEFAULT_LOG.to_owned()),
            bench_endpoints: Some(DEFAULT_BENCH_ENDPOINTS),
            create_tokens_for_users: Some(DEFAULT_CREATE_TOKENS_FOR_USERS),
            ..Settings::default()
        }
    }

    /// Field by field, `self`'s value where it has one, else `lower`'s. An
    /// empty text counts as unset: an empty `DATABASE_URL=` is how many
    /// environments say "none", not a request for PostgreSQL.
    pub fn over(self, lower: Settings) -> Settings {
        // Destructured, so that a new field cannot be forgotten here.
        let Settings {
            listen,
            data,
            database_url,
            pg_schema,
            pg_pool_size,
            pg_read_connections,
            pg_connect_attempts,
            pg_ca_file,
            sqlite_readers,
            max_sync_items,
            tombstone_retention_days,
            presence_lease_secs,
            log,
            bench_endpoints,
            create_tokens_for_users,
            create_tokens_for_users_secret,
        } = self;
        Settings {
            listen: pick(listen, lower.listen),
            data: pick(data, lower.data),
            database_url: pick(database_url, lower.database_url),
            pg_schema: pick(pg_schema, lower.pg_schema),
            pg_pool_size: pick(pg_pool_size, lower.pg_pool_size),
            pg_read_connections: pick(pg_read_connections, lower.pg_read_connections),
            pg_connect_attempts: pick(pg_connect_attempts, lower.pg_connect_attempts),
            pg_ca_file: pick(pg_ca_file, lower.pg_ca_file),
            sqlite_readers: pick(sqlite_readers, lower.sqlite_readers),
            max_sync_items: pick(max_sync_items, lower.max_sync_items),
            tombstone_retention_days: pick(tombstone_retention_days, lower.tombstone_retention_days),
            presence_lease_secs: pick(presence_lease_secs, lower.presence_lease_secs),
            log: pick(log, lower.log),
            bench_endpoints: pick(bench_endpoints, lower.bench_endpoints),
            create_tokens_for_users: pick(create_tokens_for_users, lower.create_tokens_for_users),
            create_tokens_for_users_secret: pick(
                create_tokens_for_users_secret,
                lower.create_tokens_for_users_secret,
            ),
        }
    }
}

/// A yes/no setting on the command line or in the environment: `true`,
/// `1`, `yes`, `on`, or `false`, `0`, `no`, `off`; empty means no, as
/// `THREADSYNC_BENCH_ENDPOINTS=` does for most tools.
fn parse_switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "" | "false" | "0" | "no" | "off" => Ok(false),
        other => Err(format!("{other:?} is not a yes/no value (use true or false)")),
    }
}

/// A setting's value, of whatever type: whether it says anything.
trait Value {
    fn is_set(&self) -> bool {
        true
    }
}

impl Value for String {
    fn is_set(&self) -> bool {
        !self.trim().is_empty()
    }
}

impl Value for PathBuf {
    fn is_set(&self) -> bool {
        !self.as_os_str().is_empty()
    }
}

impl Value for bool {}
impl Value for u32 {}
impl Value for u64 {}
impl Value for usize {}

/// The merge rule of one field: the higher layer wins when it is set.
fn pick<T: Value>(high: Option<T>, low: Option<T>) -> Option<T> {
    high.filter(Value::is_set).or(low.filter(Value::is_set))
}

/// What `serve` runs with: every setting resolved and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub listen: String,
    pub data: PathBuf,
    /// Set when the PostgreSQL backend was asked for.
    pub database_url: Option<String>,
    /// PostgreSQL schema (`None`: the server's default, `public`).
    pub pg_schema: Option<String>,
    pub pg_pool_size: usize,
    /// Connections shared by hot reads.
    pub pg_read_connections: usize,
    pub pg_connect_attempts: u32,
    /// Extra trusted certificates for PostgreSQL TLS.
    pub pg_ca_file: Option<PathBuf>,
    pub sqlite_readers: usize,
    /// Cap on changes per sync response.
    pub max_sync_items: u64,
    /// `None`: tombstones are kept forever.
    pub tombstone_retention_days: Option<u32>,
    /// How long a realtime connection's presence record lives unrenewed.
    pub presence_lease_secs: u64,
    /// The log filter.
    pub log: String,
    /// Serve the `/bench` ceiling endpoints (only possible in a binary built
    /// with the `bench-endpoints` feature).
    pub bench_endpoints: bool,
    /// `users.createToken` may issue tokens.
    pub create_tokens_for_users: bool,
    /// The secret `users.createToken` must be given, when set.
    pub create_tokens_for_users_secret: Option<String>,
}

impl Config {
    /// `flags` (the command line and environment) over the config file
    /// `file` (if any) over the defaults.
    pub fn resolve(flags: Settings, file: Option<&Path>) -> anyhow::Result<Config> {
        let from_file = match file {
            Some(path) => load_file(path)?,
            None => Settings::default(),
        };
        Config::check(flags.over(from_file).over(Settings::defaults()))
    }

    /// The checks of every setting, whichever layer it came from; each
    /// message names the setting as the config file and the flags do.
    fn check(settings: Settings) -> anyhow::Result<Config> {
        let Settings {
            listen,
            data,
            database_url,
            pg_schema,
            pg_pool_size,
            pg_read_connections,
            pg_connect_attempts,
            pg_ca_file,
            sqlite_readers,
            max_sync_items,
            tombstone_retention_days,
            presence_lease_secs,
            log,
            bench_endpoints,
            create_tokens_for_users,
            create_tokens_for_users_secret,
        } = settings;
        if let Some(schema) = &pg_schema {
            // It ends up in SQL (CREATE SCHEMA, search_path): identifiers only.
            let valid = schema.len() <= 63
                && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                bail!("pg_schema must be a lowercase identifier ([a-z_][a-z0-9_]*, at most 63 characters)");
            }
        }
        let pg_pool_size = at_least_one("pg_pool_size", pg_pool_size, DEFAULT_PG_POOL_SIZE)?;
        let pg_read_connections =
            at_least_one("pg_read_connections", pg_read_connections, default_pg_read_connections())?;
        let pg_connect_attempts =
            at_least_one("pg_connect_attempts", pg_connect_attempts, DEFAULT_PG_CONNECT_ATTEMPTS)?;
        let sqlite_readers = at_least_one("sqlite_readers", sqlite_readers, DEFAULT_SQLITE_READERS)?;
        if sqlite_readers > MAX_SQLITE_READERS {
            bail!(
                "sqlite_readers must be at most {MAX_SQLITE_READERS} (got {sqlite_readers}): each reader is \
                 an open database connection, and more than a few per core only cost memory and file \
                 descriptors"
            );
        }
        let max_sync_items = at_least_one("max_sync_items", max_sync_items, DEFAULT_MAX_SYNC_ITEMS)?;
        if tombstone_retention_days == Some(0) {
            bail!("tombstone_retention_days must be at least 1 (leave it unset to keep tombstones forever)");
        }
        let presence_lease_secs = presence_lease_secs.unwrap_or(DEFAULT_PRESENCE_LEASE_SECS);
        if presence_lease_secs < MIN_PRESENCE_LEASE_SECS {
            bail!(
                "presence_lease_secs must be at least {MIN_PRESENCE_LEASE_SECS} (got {presence_lease_secs}): \
                 each instance renews its leases every third of it"
            );
        }
        let bench_endpoints = bench_endpoints.unwrap_or(DEFAULT_BENCH_ENDPOINTS);
        if bench_endpoints && !cfg!(feature = "bench-endpoints") {
            bail!(
                "bench_endpoints needs a binary built with the bench-endpoints feature (the /bench routes \
                 skip auth, so release builds leave them out): \
                 cargo run --release --features bench-endpoints -- serve --bench-endpoints"
            );
        }
        Ok(Config {
            listen: listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            data: data.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA)),
            database_url,
            pg_schema,
            pg_pool_size,
            pg_read_connections,
            pg_connect_attempts,
            pg_ca_file,
            sqlite_readers,
            max_sync_items,
            tombstone_retention_days,
            presence_lease_secs,
            log: log.unwrap_or_else(|| DEFAULT_LOG.to_owned()),
            bench_endpoints,
            create_tokens_for_users: create_tokens_for_users.unwrap_or(DEFAULT_CREATE_TOKENS_FOR_USERS),
            create_tokens_for_users_secret,
        })
    }
}

/// A count that must be at least 1.
fn at_least_one<T: Copy + Default + PartialEq + std::fmt::Display>(
    name: &str,
    value: Option<T>,
    default: T,
) -> anyhow::Result<T> {
    let value = value.unwrap_or(default);
    if value == T::default() {
        bail!("{name} must be at least 1");
    }
    Ok(value)
}

/// Reads a config file. Its errors speak of the file's keys and values,
/// never of the program's types.
fn load_file(path: &Path) -> anyhow::Result<Settings> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    parse_file(&text).map_err(|e| anyhow::anyhow!("invalid config file {}: {e}", path.display()))
}

/// A config file's text: a JSON object of settings.
fn parse_file(text: &str) -> Result<Settings, String> {
    let at = |e: &serde_json::Error| format!("line {}, column {}", e.line(), e.column());
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {} ({})", message_of(&e), at(&e)))?;
    let serde_json::Value::Object(entries) = value else {
        return Err("expected a JSON object of settings, like {\"listen\": \"127.0.0.1:3000\"}".to_owned());
    };
    // One key at a time, so that an error can name the key at fault: serde
    // would otherwise speak of the program's types.
    for (key, value) in entries {
        let mut one = serde_json::Map::new();
        one.insert(key.clone(), value);
        if let Err(e) = serde_json::from_value::<Settings>(serde_json::Value::Object(one)) {
            let message = message_of(&e);
            return Err(if message.starts_with("unknown field") {
                format!("unknown key `{key}`; the keys are {}", setting_keys().join(", "))
            } else {
                format!("`{key}`: {}", in_json_terms(&message))
            });
        }
    }
    serde_json::from_str(text).map_err(|e| format!("{} ({})", in_json_terms(&message_of(&e)), at(&e)))
}

/// serde_json's message without its " at line L column C" tail.
fn message_of(e: &serde_json::Error) -> String {
    let message = e.to_string();
    message.split(" at line ").next().unwrap_or(&message).to_owned()
}

/// The names of the config file's keys, as `listen`, `data`, ...
fn setting_keys() -> Vec<String> {
    match serde_json::to_value(Settings::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().map(|k| format!("`{k}`")).collect(),
        _ => Vec::new(),
    }
}

/// Rewords serde's expectations (`expected u32`) as JSON values.
fn in_json_terms(message: &str) -> String {
    let Some((what, expected)) = message.rsplit_once(", expected ") else {
        return message.to_owned();
    };
    let expected = match expected {
        "u32" => format!("a whole number from 0 to {}", u32::MAX),
        "u64" | "usize" => "a whole number, 0 or more".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a string" | "path string" => "a string".to_owned(),
        other => other.to_owned(),
    };
    format!("{what}, expected {expected}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    fn resolve(flags: Settings, file: Settings) -> anyhow::Result<Config> {
        Config::check(flags.over(file).over(Settings::defaults()))
    }

    fn file(json: &str) -> Settings {
        serde_json::from_str(json).expect("json")
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let config = resolve(Settings::default(), Settings::default()).expect("config");
        assert_eq!(config.listen, DEFAULT_LISTEN);
        assert_eq!(config.data, PathBuf::from(DEFAULT_DATA));
        assert_eq!(config.database_url, None);
        assert_eq!(config.sqlite_readers, DEFAULT_SQLITE_READERS);
        assert_eq!(config.pg_pool_size, DEFAULT_PG_POOL_SIZE);
        assert_eq!(config.pg_read_connections, default_pg_read_connections());
        assert!(config.pg_read_connections >= 1);
        assert_eq!(config.pg_connect_attempts, DEFAULT_PG_CONNECT_ATTEMPTS);
        assert_eq!(config.max_sync_items, DEFAULT_MAX_SYNC_ITEMS);
        assert_eq!(config.tombstone_retention_days, None);
        assert_eq!(config.log, DEFAULT_LOG);
        assert!(!config.bench_endpoints);
    }

    #[test]
    fn flags_override_the_file() {
        let from_file =
            file(r#"{"listen": "0.0.0.0:80", "data": "/srv/ts", "sqlite_readers": 8, "log": "debug"}"#);
        let flags = Settings { listen: Some("127.0.0.1:0".into()), ..Settings::default() };
        let config = resolve(flags, from_file).expect("config");
        assert_eq!(config.listen, "127.0.0.1:0");
        assert_eq!(config.data, PathBuf::from("/srv/ts"));
        assert_eq!(config.sqlite_readers, 8);
        assert_eq!(config.log, "debug");
    }

    #[test]
    fn empty_values_mean_unset() {
        let flags = Settings {
            database_url: Some(String::new()),
            listen: Some(" ".into()),
            data: Some(PathBuf::new()),
            ..Settings::default()
        };
        let config = resolve(flags, file(r#"{"listen": "0.0.0.0:80"}"#)).expect("config");
        assert_eq!(config.database_url, None);
        assert_eq!(config.listen, "0.0.0.0:80", "an empty flag does not hide the file's value");
        assert_eq!(config.data, PathBuf::from(DEFAULT_DATA));
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        assert!(serde_json::from_str::<Settings>(r#"{"listn": "x"}"#).is_err());
    }

    /// The message of a bad config file speaks of keys and JSON, never of
    /// the Rust types behind them.
    #[test]
    fn file_errors_name_keys_not_types() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("threadsync.json");
        for (text, expected) in [
            (r#"{"listn": "x"}"#, "unknown key `listn`; the keys are `listen`, `data`"),
            ("[]", "expected a JSON object of settings"),
            ("[1, 2]", "expected a JSON object of settings"),
            (r#""text""#, "expected a JSON object of settings"),
            (
                r#"{"sqlite_readers": "four"}"#,
                "`sqlite_readers`: invalid type: string \"four\", expected a whole number",
            ),
            (
                r#"{"pg_connect_attempts": -1}"#,
                "`pg_connect_attempts`: invalid value: integer `-1`, expected a whole number from 0 to",
            ),
            (
                r#"{"bench_endpoints": "yes"}"#,
                "`bench_endpoints`: invalid type: string \"yes\", expected true or false",
            ),
            (r#"{"data": 5}"#, "`data`: invalid type: integer `5`, expected a string"),
            ("{", "not JSON: EOF while parsing an object (line 1, column 1)"),
        ] {
            std::fs::write(&path, text).expect("write");
            let message = format!("{:#}", load_file(&path).expect_err(text));
            assert!(message.contains(expected), "{text}: {message}");
            assert!(message.contains("threadsync.json"), "{text}: {message}");
            for internal in ["Settings", "FileConfig", "struct", "Option<", "u32", "usize", "u64", "PathBuf"]
            {
                assert!(!message.contains(internal), "{text}: {message}");
            }
        }
        std::fs::write(&path, r#"{"listn": "x"}"#).expect("write");
        let message = format!("{:#}", load_file(&path).expect_err("unknown key"));
        assert!(message.contains("`listen`") && message.contains("`bench_endpoints`"), "{message}");
    }

    #[test]
    fn sync_settings_come_from_file_or_flags_and_zero_is_rejected() {
        let from_file = file(r#"{"max_sync_items": 200, "tombstone_retention_days": 90}"#);
        let flags = Settings { max_sync_items: Some(50), ..Settings::default() };
        let config = resolve(flags, from_file).expect("config");
        assert_eq!((config.max_sync_items, config.tombstone_retention_days), (50, Some(90)));
        let zero = Settings { max_sync_items: Some(0), ..Settings::default() };
        assert!(resolve(zero, Settings::default()).is_err());
        let zero = Settings { tombstone_retention_days: Some(0), ..Settings::default() };
        assert!(resolve(zero, Settings::default()).is_err());
    }

    #[test]
    fn pg_settings_are_checked() {
        let flags =
            Settings { pg_schema: Some("team_1".into()), pg_pool_size: Some(4), ..Settings::default() };
        let config = resolve(flags, Settings::default()).expect("config");
        assert_eq!((config.pg_schema.as_deref(), config.pg_pool_size), (Some("team_1"), 4));
        for bad in ["Team", "a-b", "x; drop table users", "1abc"] {
            let flags = Settings { pg_schema: Some(bad.into()), ..Settings::default() };
            assert!(resolve(flags, Settings::default()).is_err(), "{bad}");
        }
        let flags = Settings { pg_pool_size: Some(0), ..Settings::default() };
        assert!(resolve(flags, Settings::default()).is_err());
        let flags = Settings { pg_read_connections: Some(3), ..Settings::default() };
        assert_eq!(resolve(flags, Settings::default()).expect("config").pg_read_connections, 3);
        let flags = Settings { pg_read_connections: Some(0), ..Settings::default() };
        let refused = resolve(flags, Settings::default()).expect_err("no shared connection");
        assert!(refused.to_string().contains("pg_read_connections must be at least 1"), "{refused}");
        let flags = Settings { pg_connect_attempts: Some(0), ..Settings::default() };
        assert!(resolve(flags, Settings::default()).is_err());
    }

    /// Readers are bounded at configuration time, from a flag or the file,
    /// with a message that says why.
    #[test]
    fn sqlite_readers_are_bounded() {
        for readers in [1, 4, MAX_SQLITE_READERS] {
            let flags = Settings { sqlite_readers: Some(readers), ..Settings::default() };
            assert_eq!(resolve(flags, Settings::default()).expect("config").sqlite_readers, readers);
        }
        for readers in [0, MAX_SQLITE_READERS + 1, 100_000] {
            let flags = Settings { sqlite_readers: Some(readers), ..Settings::default() };
            let message = resolve(flags, Settings::default()).expect_err("out of range").to_string();
            assert!(message.starts_with("sqlite_readers must be at"), "{message}");
        }
        let message = resolve(Settings::default(), file(r#"{"sqlite_readers": 100000}"#))
            .expect_err("out of range")
            .to_string();
        assert!(message.contains("at most 64") && message.contains("file descriptors"), "{message}");
    }

    #[test]
    fn bench_endpoints_need_the_feature() {
        let flags = Settings { bench_endpoints: Some(true), ..Settings::default() };
        let result = resolve(flags, Settings::default());
        if cfg!(feature = "bench-endpoints") {
            assert!(result.expect("config").bench_endpoints);
        } else {
            let message = result.expect_err("no feature").to_string();
            assert!(message.contains("--features bench-endpoints"), "{message}");
        }
        let flags = Settings { bench_endpoints: Some(false), ..Settings::default() };
        assert!(!resolve(flags, Settings::default()).expect("config").bench_endpoints);
    }

    /// Only to walk the flags of [`Settings`] as clap sees them.
    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        settings: Settings,
    }

    /// Every setting is a flag, an environment variable and a config key of
    /// the same name, and nothing else is: the three lists cannot drift.
    #[test]
    fn every_setting_has_a_flag_an_env_var_and_a_config_key() {
        let keys: Vec<String> = match serde_json::to_value(Settings::default()).expect("serialise") {
            serde_json::Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("settings serialise as an object: {other}"),
        };
        let command = Flags::command();
        let mut flags = Vec::new();
        for arg in command.get_arguments().filter(|a| a.get_id() != "help") {
            let id = arg.get_id().as_str().to_owned();
            let long = arg.get_long().unwrap_or_else(|| panic!("{id} has no flag"));
            assert_eq!(long, id.replace('_', "-"), "the flag of {id}");
            assert!(arg.get_env().is_some(), "{id} has no environment variable");
            // The key is accepted by the config file.
            let mut one = serde_json::Map::new();
            one.insert(id.clone(), serde_json::Value::Null);
            serde_json::from_value::<Settings>(serde_json::Value::Object(one))
                .unwrap_or_else(|e| panic!("config key {id}: {e}"));
            flags.push(id);
        }
        let mut sorted_keys = keys.clone();
        sorted_keys.sort();
        flags.sort();
        assert_eq!(flags, sorted_keys, "flags and config keys");
    }

    /// Each flag's `--help` ends with its default, taken from
    /// [`Settings::defaults`] or written in its doc comment.
    #[test]
    fn help_shows_every_default() {
        let command = crate::cli::with_defaults_in_help(Flags::command());
        for arg in command.get_arguments().filter(|a| a.get_id() != "help") {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            assert!(help.contains("[default: "), "{}: {help}", arg.get_id());
        }
        let listen = command.get_arguments().find(|a| a.get_id() == "listen").expect("listen");
        let help = listen.get_help().map(ToString::to_string).unwrap_or_default();
        assert!(help.ends_with(&format!("[default: {DEFAULT_LISTEN}]")), "{help}");
    }

    /// The README's configuration table lists every setting with the flag,
    /// environment variable, config key and default that the code has, and
    /// nothing else: the documentation cannot drift from the settings.
    #[test]
    fn readme_table_matches_the_settings() {
        let readme = include_str!("../../../README.md");
        let section = readme.split("\n## Configuration\n").nth(1).expect("a Configuration section");
        let section = section.split("\n## ").next().unwrap_or(section);
        let rows: Vec<Vec<String>> = section
            .lines()
            .filter(|line| {
                line.starts_with("| ") && !line.starts_with("| Setting") && !line.starts_with("| ---")
            })
            .map(|line| line.trim_matches('|').split(" | ").map(|c| c.trim().to_owned()).collect())
            .collect();
        let command = crate::cli::with_defaults_in_help(crate::cli::ServeArgsCommand::command());
        let mut documented = 0;
        for arg in command.get_arguments().filter(|a| a.get_id() != "help") {
            let id = arg.get_id().as_str();
            let long = arg.get_long().expect("a flag");
            let row = rows
                .iter()
                .find(|row| row.get(1).is_some_and(|flag| flag.starts_with(&format!("`--{long}"))))
                .unwrap_or_else(|| panic!("the README's table has no row for --{long}"));
            assert_eq!(row.len(), 5, "{row:?}");
            let env = arg.get_env().and_then(|e| e.to_str()).expect("an environment variable");
            assert_eq!(row[2], format!("`{env}`"), "environment variable of --{long}");
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            if id == "config" {
                assert_eq!(row[3], "–", "--config is not a key of the file");
            } else {
                assert_eq!(row[3], format!("`{id}`"), "config key of --{long}");
            }
            let default =
                help.rsplit_once("[default: ").and_then(|(_, d)| d.strip_suffix(']')).expect("a default");
            assert!(
                row[4].replace('`', "").starts_with(default),
                "default of --{long}: README {:?}, --help {default:?}",
                row[4]
            );
            documented += 1;
        }
        let flag_rows = rows.iter().filter(|row| row.get(1).is_some_and(|f| f.starts_with("`--"))).count();
        assert_eq!(flag_rows, documented, "every row with a flag is a setting of serve");
    }
}
