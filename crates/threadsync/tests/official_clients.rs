//! The official Rocket.Chat clients, unchanged, against the real binary
//! (docs/realtime-clients.md): the scripts in `scripts/realtime-clients/`
//! drive a Hubot-style bot on `@rocket.chat/sdk` 0.2.9, the web app's
//! `@rocket.chat/ddp-client`, and the mobile app's websocket flow with its
//! `chat.syncMessages` catch-up. Each test starts a server, runs one script
//! with the server's base URL and asserts that it exits 0.
//!
//! They need Node.js and npm. The first test to run installs the pinned
//! packages (`npm ci`) when `node_modules` is missing or older than
//! `package-lock.json`. Without `node` or `npm` the tests print that they
//! were skipped, except under CI (`CI` set), where that is a failure; a
//! failed `npm ci` is always a failure, with npm's output.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
use support::{in_ci, run_bounded, PgSchema, Server};

/// A script's own bound (`CLIENT_TIMEOUT_MS`); it fails with a message past it.
const SCRIPT_BOUND: Duration = Duration::from_secs(120);
/// The test kills a script that outlives its own bound by this much.
const SCRIPT_KILL_AFTER: Duration = Duration::from_secs(150);
/// `npm ci` downloads about a hundred packages.
const NPM_CI_TIMEOUT: Duration = Duration::from_secs(600);

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/realtime-clients")
}

/// Whether the scripts can run here: `Ok(None)` yes, `Ok(Some(why))` no
/// because Node.js is absent, `Err` on a broken install.
fn setup() -> &'static Result<Option<String>, String> {
    static SETUP: OnceLock<Result<Option<String>, String>> = OnceLock::new();
    SETUP.get_or_init(|| {
        for tool in ["node", "npm"] {
            match Command::new(tool).arg("--version").stdin(Stdio::null()).output() {
                Ok(out) if out.status.success() => {
                    eprintln!("{tool} {}", String::from_utf8_lossy(&out.stdout).trim());
                }
                _ => return Ok(Some(format!("`{tool}` is not installed (or does not run)"))),
            }
        }
        let dir = scripts_dir();
        if installed_and_current(&dir) {
            return Ok(None);
        }
        eprintln!("installing the client packages: npm ci in {}", dir.display());
        let mut npm = Command::new("npm");
        npm.args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir);
        match run_bounded(npm, NPM_CI_TIMEOUT) {
            Ok((true, _)) => Ok(None),
            Ok((false, output)) => Err(format!("`npm ci` failed in {}:\n{output}", dir.display())),
            Err(e) => Err(format!("`npm ci` in {}: {e}", dir.display())),
        }
    })
}

/// `node_modules` exists and was installed from the current lock file (npm
/// writes its own copy of the lock, `node_modules/.package-lock.json`).
fn installed_and_current(dir: &Path) -> bool {
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(dir.join("node_modules/.package-lock.json")), modified(dir.join("package-lock.json"))) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    }
}

/// `false` (and a note) when the scripts cannot run here and that is allowed.
fn ready() -> bool {
    match setup() {
        Ok(None) => true,
        Ok(Some(why)) if !in_ci() => {
            eprintln!(
                "skipped: {why}; the official client scripts need Node.js and npm (docs/realtime-clients.md)"
            );
            false
        }
        Ok(Some(why)) => panic!("CI is set and {why}: the official client scripts need Node.js and npm"),
        Err(e) => panic!("{e}"),
    }
}

/// Runs `script` against `server`; panics with its output and the server's
/// log unless it exits 0.
fn run_script(server: &mut Server, script: &str) {
    let mut node = Command::new("node");
    node.arg(script)
        .arg(&server.base)
        .current_dir(scripts_dir())
        .env("CLIENT_TIMEOUT_MS", SCRIPT_BOUND.as_millis().to_string());
    let (ok, output) =
        run_bounded(node, SCRIPT_KILL_AFTER).unwrap_or_else(|e| panic!("run node {script}: {e}"));
    if !ok {
        server.fail(&format!("node {script} {} failed:\n{output}", server.base));
    }
    eprintln!("{script}: {}", output.lines().last().unwrap_or_default());
}

async fn on_sqlite(script: &'static str) {
    if !ready() {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(support::serve_cmd(data.path()));
    tokio::task::block_in_place(|| run_script(&mut server, script));
}

async fn on_postgres(script: &'static str) {
    let pg = PgSchema::create().await;
    if ready() {
        let data = tempfile::tempdir().expect("tempdir");
        let mut server = Server::start(support::pg_serve_cmd(data.path(), &pg));
        tokio::task::block_in_place(|| run_script(&mut server, script));
    }
    pg.drop().await;
}

/// `@rocket.chat/sdk` 0.2.9's driver, as Hubot bots use it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_0_2_9_bot_sqlite() {
    on_sqlite("bot.js").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn sdk_0_2_9_bot_postgres() {
    on_postgres("bot.js").await;
}

/// `@rocket.chat/ddp-client`, the web app's client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_ddp_client_sqlite() {
    on_sqlite("ddp-client.js").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn web_ddp_client_postgres() {
    on_postgres("ddp-client.js").await;
}

/// The mobile app's flow, with its catch-up after a reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mobile_flow_sqlite() {
    on_sqlite("mobile.js").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn mobile_flow_postgres() {
    on_postgres("mobile.js").await;
}
