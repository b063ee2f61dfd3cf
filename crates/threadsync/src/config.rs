//! The effective configuration of `serve`: built-in defaults, overridden by
//! the config file, overridden by flags and environment variables.

use crate::cli::ServeArgs;
use anyhow::{bail, Context};
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA: &str = "./threadsync-data";
pub const DEFAULT_LOG: &str = "info";

/// The keys a config file may hold; all optional.
#[derive(Debug, Default, Deserialize)]
// A misspelt key would otherwise be ignored silently and the server would
// run with a default the operator thought they had changed.
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data: Option<PathBuf>,
    pub database_url: Option<String>,
    pub pg_schema: Option<String>,
    pub pg_pool_size: Option<usize>,
    pub pg_connect_attempts: Option<u32>,
    pub sqlite_readers: Option<usize>,
    pub max_sync_items: Option<u64>,
    pub tombstone_retention_days: Option<u32>,
    /// Log filter in `RUST_LOG` syntax; `RUST_LOG` itself wins over it.
    pub log: Option<String>,
}

/// What `serve` runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub listen: String,
    pub data: PathBuf,
    /// Set when the PostgreSQL backend was asked for.
    pub database_url: Option<String>,
    /// PostgreSQL schema (`None`: the server's default, `public`).
    pub pg_schema: Option<String>,
    /// PostgreSQL pool size (`None`: the backend's default).
    pub pg_pool_size: Option<usize>,
    /// Attempts to reach PostgreSQL at start (`None`: the backend's default).
    pub pg_connect_attempts: Option<u32>,
    /// `None`: the backend's default.
    pub sqlite_readers: Option<usize>,
    /// Cap on changes per sync response (`None`: the services' default).
    pub max_sync_items: Option<u64>,
    /// `None`: tombstones are kept forever.
    pub tombstone_retention_days: Option<u32>,
    /// Log filter used when `RUST_LOG` is not set.
    pub log: String,
    /// Serve the `/bench` ceiling endpoints (flag only, never from a file).
    pub bench_endpoints: bool,
}

impl Config {
    /// Merges the flags/env values in `args` over the file named by
    /// `args.config` (if any) over the defaults.
    pub fn resolve(args: ServeArgs) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        Config::merge(args, file)
    }

    fn merge(args: ServeArgs, file: FileConfig) -> anyhow::Result<Config> {
        let listen =
            non_empty(args.listen).or(non_empty(file.listen)).unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let data = args
            .data
            .filter(|p| !p.as_os_str().is_empty())
            .or(file.data.filter(|p| !p.as_os_str().is_empty()))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
        // An empty DATABASE_URL is how many environments say "unset"; treating
        // it as a request for PostgreSQL would refuse to start for no reason.
        let database_url = non_empty(args.database_url).or(non_empty(file.database_url));
        let pg_schema = non_empty(args.pg_schema).or(non_empty(file.pg_schema));
        if let Some(schema) = &pg_schema {
            // It ends up in SQL (CREATE SCHEMA, search_path): identifiers only.
            let valid = schema.len() <= 63
                && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                bail!("pg_schema must be a lowercase identifier ([a-z_][a-z0-9_]*, at most 63 characters)");
            }
        }
        let pg_pool_size = args.pg_pool_size.or(file.pg_pool_size);
        if pg_pool_size == Some(0) {
            bail!("pg_pool_size must be at least 1");
        }
        let pg_connect_attempts = args.pg_connect_attempts.or(file.pg_connect_attempts).map(|n| n.max(1));
        let sqlite_readers = args.sqlite_readers.or(file.sqlite_readers);
        if sqlite_readers == Some(0) {
            bail!("sqlite_readers must be at least 1");
        }
        let max_sync_items = args.max_sync_items.or(file.max_sync_items);
        if max_sync_items == Some(0) {
            bail!("max_sync_items must be at least 1");
        }
        let tombstone_retention_days = args.tombstone_retention_days.or(file.tombstone_retention_days);
        if tombstone_retention_days == Some(0) {
            bail!("tombstone_retention_days must be at least 1 (leave it unset to keep tombstones forever)");
        }
        let log = non_empty(file.log).unwrap_or_else(|| DEFAULT_LOG.to_owned());
        Ok(Config {
            listen,
            data,
            database_url,
            pg_schema,
            pg_pool_size,
            pg_connect_attempts,
            sqlite_readers,
            max_sync_items,
            tombstone_retention_days,
            log,
            bench_endpoints: args.bench_endpoints,
        })
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

fn load_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "invalid config file {} (expected a JSON object with the keys listen, data, database_url, pg_schema, pg_pool_size, pg_connect_attempts, sqlite_readers, max_sync_items, tombstone_retention_days, log)",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let config = Config::merge(ServeArgs::default(), FileConfig::default()).expect("config");
        assert_eq!(config.listen, DEFAULT_LISTEN);
        assert_eq!(config.data, PathBuf::from(DEFAULT_DATA));
        assert_eq!(config.database_url, None);
        assert_eq!(config.sqlite_readers, None);
        assert_eq!(config.max_sync_items, None);
        assert_eq!(config.tombstone_retention_days, None);
        assert_eq!(config.log, DEFAULT_LOG);
    }

    #[test]
    fn flags_override_the_file() {
        let file: FileConfig = serde_json::from_str(
            r#"{"listen": "0.0.0.0:80", "data": "/srv/ts", "sqlite_readers": 8, "log": "debug"}"#,
        )
        .expect("json");
        let args = ServeArgs { listen: Some("127.0.0.1:0".into()), ..ServeArgs::default() };
        let config = Config::merge(args, file).expect("config");
        assert_eq!(config.listen, "127.0.0.1:0");
        assert_eq!(config.data, PathBuf::from("/srv/ts"));
        assert_eq!(config.sqlite_readers, Some(8));
        assert_eq!(config.log, "debug");
    }

    #[test]
    fn empty_database_url_means_unset() {
        let args = ServeArgs { database_url: Some(String::new()), ..ServeArgs::default() };
        let config = Config::merge(args, FileConfig::default()).expect("config");
        assert_eq!(config.database_url, None);
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        assert!(serde_json::from_str::<FileConfig>(r#"{"listn": "x"}"#).is_err());
    }

    #[test]
    fn sync_settings_come_from_file_or_flags_and_zero_is_rejected() {
        let file: FileConfig =
            serde_json::from_str(r#"{"max_sync_items": 200, "tombstone_retention_days": 90}"#).expect("json");
        let args = ServeArgs { max_sync_items: Some(50), ..ServeArgs::default() };
        let config = Config::merge(args, file).expect("config");
        assert_eq!((config.max_sync_items, config.tombstone_retention_days), (Some(50), Some(90)));
        let zero = ServeArgs { max_sync_items: Some(0), ..ServeArgs::default() };
        assert!(Config::merge(zero, FileConfig::default()).is_err());
        let zero = ServeArgs { tombstone_retention_days: Some(0), ..ServeArgs::default() };
        assert!(Config::merge(zero, FileConfig::default()).is_err());
    }

    #[test]
    fn pg_settings_are_checked() {
        let args =
            ServeArgs { pg_schema: Some("team_1".into()), pg_pool_size: Some(4), ..ServeArgs::default() };
        let config = Config::merge(args, FileConfig::default()).expect("config");
        assert_eq!((config.pg_schema.as_deref(), config.pg_pool_size), (Some("team_1"), Some(4)));
        for bad in ["Team", "a-b", "x; drop table users", "1abc"] {
            let args = ServeArgs { pg_schema: Some(bad.into()), ..ServeArgs::default() };
            assert!(Config::merge(args, FileConfig::default()).is_err(), "{bad}");
        }
        let args = ServeArgs { pg_pool_size: Some(0), ..ServeArgs::default() };
        assert!(Config::merge(args, FileConfig::default()).is_err());
    }

    #[test]
    fn zero_readers_is_rejected() {
        let args = ServeArgs { sqlite_readers: Some(0), ..ServeArgs::default() };
        assert!(Config::merge(args, FileConfig::default()).is_err());
    }
}
