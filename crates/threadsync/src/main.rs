//! The threadsync server binary: configuration, backend choice, startup and
//! shutdown. Everything else lives in the library crates.

mod allocator;
mod cli;
mod config;
mod limits;
mod seed;
mod serve;

use clap::FromArgMatches;
use cli::{Cli, Command};
use config::Config;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Before any thread exists (allocator.rs says why).
    allocator::limit_arenas();
    let cli = Cli::from_arg_matches(&cli::command().get_matches()).unwrap_or_else(|e| e.exit());
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
    let config = Config::resolve(args.settings, args.config.as_deref())?;
    init_tracing(&config.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve::run(config))
}

fn run_seed(args: cli::SeedArgs) -> anyhow::Result<()> {
    let filter = std::env::var("RUST_LOG").ok().filter(|f| !f.trim().is_empty());
    init_tracing(filter.as_deref().unwrap_or("warn"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(seed::run(args))
}

/// Logs go to stderr so stdout carries only the `listening on` line.
/// `filter` is the `log` setting (`RUST_LOG` wins over the config file's).
fn init_tracing(filter: &str) -> anyhow::Result<()> {
    let parsed =
        EnvFilter::try_new(filter).map_err(|e| anyhow::anyhow!("invalid log filter {filter:?}: {e}"))?;
    // tokio_postgres logs every statement with its parameter values at
    // debug level (password hashes, emails, message text): keep it at info
    // unless the filter asks for it by name.
    let parsed = if filter.contains("tokio_postgres") {
        parsed
    } else {
        parsed.add_directive(
            "tokio_postgres=info".parse().map_err(|e| anyhow::anyhow!("invalid log directive: {e}"))?,
        )
    };
    tracing_subscriber::fmt()
        .with_env_filter(parsed)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot initialise logging: {e}"))
}
