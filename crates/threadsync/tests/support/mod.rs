//! Shared by the end-to-end test binaries: starting the real `threadsync`
//! binary on a free port and talking to it over real HTTP.
// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_threadsync");
pub const ADMIN: &str = "admin";
pub const ADMIN_PASS: &str = "e2e-admin-pass";
pub const ADMIN_EMAIL: &str = "admin@example.com";

/// Generous: debug builds on a busy two-core machine start slowly, and the
/// first start hashes the admin password with bcrypt.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// A `threadsync` command with none of the test machine's own settings
/// leaking in (a `DATABASE_URL` in the environment would make it refuse to
/// start, for instance).
pub fn threadsync() -> Command {
    let mut cmd = Command::new(BIN);
    for var in [
        "DATABASE_URL",
        "THREADSYNC_LISTEN",
        "THREADSYNC_DATA",
        "THREADSYNC_CONFIG",
        "THREADSYNC_PG_SCHEMA",
        "THREADSYNC_PG_POOL_SIZE",
        "THREADSYNC_PG_CONNECT_ATTEMPTS",
        "THREADSYNC_MAX_SYNC_ITEMS",
        "THREADSYNC_TOMBSTONE_RETENTION_DAYS",
        "THREADSYNC_SQLITE_READERS",
        "THREADSYNC_BENCH_ENDPOINTS",
        "ADMIN_USERNAME",
        "ADMIN_PASS",
        "ADMIN_EMAIL",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "info");
    cmd
}

/// `serve` on a free port over `data`, with the admin seed.
pub fn serve_cmd(data: &Path) -> Command {
    let mut cmd = threadsync();
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data")
        .arg(data)
        .env("ADMIN_USERNAME", ADMIN)
        .env("ADMIN_PASS", ADMIN_PASS)
        .env("ADMIN_EMAIL", ADMIN_EMAIL);
    cmd
}

/// A running server. Dropping it kills the process, so a failing test never
/// leaves a server behind.
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, as the server printed it.
    pub base: String,
    pub log: Arc<Mutex<String>>,
    pub log_reader: Option<JoinHandle<()>>,
    pub http: reqwest::Client,
}

/// A logged-in user: the values of the `X-User-Id` / `X-Auth-Token` headers.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: String,
    pub token: String,
}

impl Server {
    /// Starts `cmd` and waits for its `listening on http://...` line on stdout.
    pub fn start(mut cmd: Command) -> Server {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn threadsync");
        let stdout = child.stdout.take().expect("child stdout");
        let stderr = child.stderr.take().expect("child stderr");

        let log = Arc::new(Mutex::new(String::new()));
        let log_reader = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut log = log.lock().expect("log lock");
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        };
        let (address_tx, address_rx) = mpsc::channel();
        // Keeps draining stdout after the address line so the server never
        // blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = address_tx.send(url.to_owned());
                }
            }
        });

        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("http client");
        let mut server = Server { child, base: String::new(), log, log_reader: Some(log_reader), http };
        match address_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(url) => server.base = url,
            Err(e) => server.fail(&format!("no `listening on` line on stdout ({e:?})")),
        }
        let port: u16 = server
            .base
            .strip_prefix("http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| server.fail(&format!("unexpected address line {:?}", server.base)));
        assert_ne!(port, 0, "the real port must be printed, not the requested 0");
        server
    }

    /// Kills the server and panics with its log, for diagnosis.
    pub fn fail(&mut self, message: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.join_log();
        panic!("{message}\n--- server log ---\n{}", self.log());
    }

    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    pub fn join_log(&mut self) {
        if let Some(reader) = self.log_reader.take() {
            let _ = reader.join();
        }
    }

    /// Sends SIGTERM and waits for the process to exit; the log is complete
    /// afterwards.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").arg("-TERM").arg(&pid).status().expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
        let status = wait_with_timeout(&mut self.child, EXIT_TIMEOUT)
            .unwrap_or_else(|| self.fail("the server did not exit after SIGTERM"));
        self.join_log();
        status
    }

    pub async fn get(&self, path: &str, session: Option<&Session>) -> (u16, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(s) = session {
            req = req.header("X-User-Id", &s.user_id).header("X-Auth-Token", &s.token);
        }
        reply(req.send().await.expect("GET")).await
    }

    pub async fn post(&self, path: &str, session: Option<&Session>, body: Value) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(s) = session {
            req = req.header("X-User-Id", &s.user_id).header("X-Auth-Token", &s.token);
        }
        reply(req.send().await.expect("POST")).await
    }

    /// Renames user `user_id` to `username` through `users.update`, as `admin`.
    pub async fn rename(&self, admin: &Session, user_id: &str, username: &str) {
        let body = json!({"userId": user_id, "data": {"username": username}});
        let (status, body) = self.post("/api/v1/users.update", Some(admin), body).await;
        assert_eq!(status, 200, "rename to {username}: {body}");
    }

    /// Registers `name` (password `pw-123456`) through `users.register`.
    pub async fn register(&self, name: &str) {
        let body = json!({"username": name, "email": format!("{name}@example.com"), "pass": "pw-123456", "name": name});
        let (status, body) = self.post("/api/v1/users.register", None, body).await;
        assert_eq!(status, 200, "register {name}: {body}");
    }

    /// Turns the rate limiter off, as `admin`: load in tests is deliberate.
    pub async fn disable_rate_limiter(&self, admin: &Session) {
        let (status, body) =
            self.post("/api/v1/settings/API_Enable_Rate_Limiter", Some(admin), json!({"value": false})).await;
        assert_eq!(status, 200, "{body}");
    }

    pub async fn login(&self, user: &str, password: &str) -> Session {
        let (status, body) =
            self.post("/api/v1/login", None, json!({"user": user, "password": password})).await;
        assert_eq!(status, 200, "login: {body}");
        assert_eq!(body["status"], "success", "{body}");
        Session {
            user_id: body["data"]["userId"].as_str().expect("userId").to_owned(),
            token: body["data"]["authToken"].as_str().expect("authToken").to_owned(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Status and JSON body; every response of the API must be JSON.
pub async fn reply(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = response.text().await.expect("body");
    assert!(content_type.starts_with("application/json"), "{status} with {content_type:?}: {text}");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"));
    (status, body)
}

pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a command that must exit by itself; returns (status, stdout, stderr).
pub fn run_to_exit(mut cmd: Command) -> (ExitStatus, String, String) {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn threadsync");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let Some(status) = wait_with_timeout(&mut child, EXIT_TIMEOUT) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("threadsync did not exit; stderr:\n{}", err.join().unwrap_or_default());
    };
    (status, out.join().expect("stdout reader"), err.join().expect("stderr reader"))
}

/// A schema of its own in the PostgreSQL database named by
/// `TEST_DATABASE_URL`, for one test. The tests that use it are ignored
/// without that variable (see build.rs).
pub struct PgSchema {
    pub url: String,
    pub schema: String,
}

impl PgSchema {
    /// Panics, naming the variable, when no server is configured.
    pub async fn create() -> PgSchema {
        let url = threadsync_storage::conformance::test_database_url();
        let schema = format!("ts_e2e_{:016x}", rand_u64());
        PgSchema { url, schema }
    }

    /// Drops the schema and everything in it.
    pub async fn drop(self) {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect to drop the schema");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .await
            .expect("drop schema");
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// `serve` on PostgreSQL: the schema of `db` in its database (`data` is
/// only the data directory every server is given).
pub fn pg_serve_cmd(data: &Path, db: &PgSchema) -> Command {
    let mut cmd = serve_cmd(data);
    cmd.arg("--database-url").arg(&db.url).arg("--pg-schema").arg(&db.schema);
    cmd
}

impl Server {
    /// Sends SIGKILL (`kill -KILL <pid>`: no handler runs, nothing is
    /// flushed or closed) and waits for the process to be gone; the log is
    /// complete afterwards.
    pub fn kill9(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").arg("-KILL").arg(&pid).status().expect("run kill");
        assert!(status.success(), "kill -KILL {pid} failed");
        let status = wait_with_timeout(&mut self.child, EXIT_TIMEOUT)
            .unwrap_or_else(|| self.fail("the server did not die after SIGKILL"));
        self.join_log();
        status
    }

    /// The server's address and HTTP client, for tasks that must keep
    /// talking to it while the test holds the [`Server`] (to kill it).
    pub fn endpoint(&self) -> Endpoint {
        Endpoint { base: self.base.clone(), http: self.http.clone() }
    }
}

/// Where a server listens, for requests that may be cut by its death.
#[derive(Clone)]
pub struct Endpoint {
    pub base: String,
    pub http: reqwest::Client,
}

impl Endpoint {
    /// A GET whose answer may never come: `None` when no complete answer
    /// arrived (connection refused or cut, body cut short), i.e. the
    /// request's outcome is unknown.
    pub async fn try_get(&self, path: &str, session: Option<&Session>) -> Option<(u16, Value)> {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(s) = session {
            req = req.header("X-User-Id", &s.user_id).header("X-Auth-Token", &s.token);
        }
        try_reply(req.send().await.ok()?).await
    }

    /// A POST whose answer may never come (see [`Endpoint::try_get`]).
    pub async fn try_post(&self, path: &str, session: Option<&Session>, body: Value) -> Option<(u16, Value)> {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(s) = session {
            req = req.header("X-User-Id", &s.user_id).header("X-Auth-Token", &s.token);
        }
        try_reply(req.send().await.ok()?).await
    }
}

/// As [`reply`], but `None` when the body cannot be read to its end (the
/// server died while sending it). A complete answer must still be JSON.
pub async fn try_reply(response: reqwest::Response) -> Option<(u16, Value)> {
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = response.text().await.ok()?;
    assert!(content_type.starts_with("application/json"), "{status} with {content_type:?}: {text}");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"));
    Some((status, body))
}

/// A tiny deterministic generator (xorshift), so a failing run can be
/// replayed from its seed. The seed must not be 0.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).expect("small")).expect("small")
    }

    pub fn pick<'a>(&mut self, items: &'a [String]) -> &'a String {
        &items[self.below(items.len())]
    }
}

/// Whether CI is set to a true value: tests that need an outside tool
/// (Node.js, Chromium) fail without it there instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Runs `cmd` to its end or kills it after `timeout`; returns whether it
/// succeeded and its stdout and stderr together.
pub fn run_bounded(mut cmd: Command, timeout: Duration) -> std::io::Result<(bool, String)> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let status = wait_with_timeout(&mut child, timeout);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut output = stdout.join().unwrap_or_default();
    output.push_str(&stderr.join().unwrap_or_default());
    match status {
        Some(status) => Ok((status.success(), output)),
        None => Ok((false, format!("{output}\n(killed after {} s)", timeout.as_secs()))),
    }
}
