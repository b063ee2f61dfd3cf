//! Rocket.Chat's own embeddable web client, EmbeddedChat, in a real browser
//! (headless Chromium) against the real binary: `scripts/embeddedchat/`
//! builds a page that embeds it (vite), serves the page from another
//! origin, and drives the UI with `puppeteer-core` (check.mjs says what it
//! checks: login, the history's text, the composer, a live message within a
//! second, a thread with its replies, and no server call answered with an
//! error).
//!
//! It needs Node.js, npm and Chromium (`/usr/bin/chromium`, or `CHROMIUM`).
//! Without them the test prints that it was skipped, except under CI (`CI`
//! set), where that is a failure. The screenshot of the final screen is
//! written to `target/embeddedchat.png`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{in_ci, run_bounded, Server, ADMIN, ADMIN_PASS};

/// `npm ci` downloads a few hundred packages; the build bundles React.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);
/// The script's checks wait at most about a minute in all.
const CHECK_TIMEOUT: Duration = Duration::from_secs(240);

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/embeddedchat")
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// Runs `cmd` to its end or kills it after `timeout`: (success, output).
fn run(cmd: Command, timeout: Duration) -> (bool, String) {
    run_bounded(cmd, timeout).unwrap_or_else(|e| (false, format!("cannot start the command: {e}")))
}

/// What is missing for the browser check, if anything.
fn missing_tool() -> Option<String> {
    for (tool, arg) in [("node", "--version"), ("npm", "--version"), (chromium().as_str(), "--version")] {
        match Command::new(tool).arg(arg).stdin(Stdio::null()).output() {
            Ok(out) if out.status.success() => {
                eprintln!("{tool}: {}", String::from_utf8_lossy(&out.stdout).trim());
            }
            _ => return Some(format!("`{tool}` is not installed (or does not run)")),
        }
    }
    None
}

/// `npm ci` when `node_modules` is missing or older than the lock file, and
/// the page's build (`npm run build`) every time: it takes seconds and then
/// always matches the sources.
fn install_and_build() {
    let dir = dir();
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let current = match (
        modified(dir.join("node_modules/.package-lock.json")),
        modified(dir.join("package-lock.json")),
    ) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    };
    if !current {
        let mut npm = Command::new("npm");
        npm.args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir);
        let (ok, output) = run(npm, INSTALL_TIMEOUT);
        assert!(ok, "`npm ci` failed in {}:\n{output}", dir.display());
    }
    let mut build = Command::new("npm");
    build.args(["run", "build"]).current_dir(&dir);
    let (ok, output) = run(build, INSTALL_TIMEOUT);
    assert!(ok, "`npm run build` failed in {}:\n{output}", dir.display());
}

/// EmbeddedChat logs in, shows the history with its text, sends from its
/// composer, receives a message posted elsewhere within a second and opens
/// a thread with its replies, against a server on SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddedchat_in_chromium() {
    if let Some(why) = missing_tool() {
        assert!(!in_ci(), "CI is set and {why}: the browser test needs Node.js, npm and Chromium");
        eprintln!("skipped: {why}; the EmbeddedChat browser test needs Node.js, npm and Chromium");
        return;
    }
    tokio::task::block_in_place(install_and_build);
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(support::serve_cmd(data.path()));
    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/embeddedchat.png");
    let mut node = Command::new("node");
    node.arg("check.mjs")
        .arg(&server.base)
        .arg(ADMIN)
        .arg(ADMIN_PASS)
        .arg(&shot)
        .current_dir(dir())
        .env("CHROMIUM", chromium());
    let (ok, output) = tokio::task::block_in_place(|| run(node, CHECK_TIMEOUT));
    if !ok {
        server.fail(&format!("node check.mjs {} failed:\n{output}", server.base));
    }
    eprintln!("{output}");
    assert!(output.contains("ok: the thread opens with its replies"), "{output}");
}
