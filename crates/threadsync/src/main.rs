//! The threadsync server binary: configuration, backend choice, startup and
//! shutdown. Everything else lives in the library crates.

mod cli;
mod config;
mod seed;
mod serve;

use clap::Parser;
use cli::{Cli, Command};
use config::Config;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => run_serve(args),
        Command::Seed(args) => run_seed(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole context chain on one line.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_serve(args: cli::ServeArgs) -> anyhow::Result<()> {
    let config = Config::resolve(args)?;
    init_tracing(&config.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve::run(config))
}

fn run_seed(args: cli::SeedArgs) -> anyhow::Result<()> {
    init_tracing("warn")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(seed::run(args))
}

/// Logs go to stderr so stdout carries only the `listening on` line.
/// `RUST_LOG` wins over the config file's `log`.
fn init_tracing(config_filter: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => {
            EnvFilter::try_new(&value).map_err(|e| anyhow::anyhow!("invalid RUST_LOG {value:?}: {e}"))?
        }
        _ => EnvFilter::try_new(config_filter)
            .map_err(|e| anyhow::anyhow!("invalid log filter {config_filter:?}: {e}"))?,
    };
    // tokio_postgres logs every statement with its parameter values at
    // debug level (password hashes, emails, message text): keep it at info
    // unless the filter asks for it by name.
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if value.contains("tokio_postgres") => filter,
        _ if config_filter.contains("tokio_postgres") => filter,
        _ => filter.add_directive(
            "tokio_postgres=info".parse().map_err(|e| anyhow::anyhow!("invalid log directive: {e}"))?,
        ),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot initialise logging: {e}"))
}
