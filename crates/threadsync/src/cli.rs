//! Command-line interface. The settings of `serve` are declared in
//! [`crate::config::Settings`], which is flags, environment variables and
//! config file keys at once; the precedence is resolved there.

use crate::config::{Settings, DEFAULT_DATA};
use clap::{Args, CommandFactory, Parser, Subcommand};
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
    #[arg(long, env = "THREADSYNC_DATA", value_name = "DIR", default_value = DEFAULT_DATA)]
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

/// Flags of `serve`: every setting, and the config file that may hold them.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    #[command(flatten)]
    pub settings: Settings,

    /// JSON config file: an object whose keys are the settings above, named
    /// as their flags with `_` for `-` (e.g. `pg_pool_size`); unknown keys
    /// are an error. Flags and environment variables override it
    /// [default: none]
    #[arg(long, env = "THREADSYNC_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `serve`'s arguments alone, as a command: for the tests that compare the
/// settings with `--help` and the README.
#[cfg(test)]
#[derive(Debug, Parser)]
pub struct ServeArgsCommand {
    #[command(flatten)]
    pub args: ServeArgs,
}

/// The command line, with each setting's default value (from
/// [`Settings::defaults`]) added to its `--help`.
pub fn command() -> clap::Command {
    Cli::command().mut_subcommand("serve", with_defaults_in_help)
}

/// Appends `[default: VALUE]` to the help of every argument of `command`
/// that names a setting with a default value. clap's own `default_value`
/// cannot serve: it would fill the value in, and the config file could then
/// never override it.
pub fn with_defaults_in_help(command: clap::Command) -> clap::Command {
    let defaults = match serde_json::to_value(Settings::defaults()) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => return command,
    };
    let mut command = command;
    for (key, value) in defaults {
        let shown = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        };
        let present = command.get_arguments().any(|a| a.get_id() == key.as_str());
        if present {
            command = command.mut_arg(key.as_str(), |arg| {
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                arg.help(format!("{help} [default: {shown}]"))
            });
        }
    }
    command
}
