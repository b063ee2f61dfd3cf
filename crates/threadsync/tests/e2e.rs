//! End-to-end: the real `threadsync` binary, over real HTTP, with real
//! signals and restarts on the same data directory.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_threadsync");
const ADMIN: &str = "admin";
const ADMIN_PASS: &str = "e2e-admin-pass";
const ADMIN_EMAIL: &str = "admin@example.com";

/// Generous: debug builds on a busy two-core machine start slowly, and the
/// first start hashes the admin password with bcrypt.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// A `threadsync` command with none of the test machine's own settings
/// leaking in (a `DATABASE_URL` in the environment would make it refuse to
/// start, for instance).
fn threadsync() -> Command {
    let mut cmd = Command::new(BIN);
    for var in [
        "DATABASE_URL",
        "THREADSYNC_LISTEN",
        "THREADSYNC_DATA",
        "THREADSYNC_CONFIG",
        "THREADSYNC_SQLITE_READERS",
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
fn serve_cmd(data: &Path) -> Command {
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
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, as the server printed it.
    base: String,
    log: Arc<Mutex<String>>,
    log_reader: Option<JoinHandle<()>>,
    http: reqwest::Client,
}

/// A logged-in user: the values of the `X-User-Id` / `X-Auth-Token` headers.
struct Session {
    user_id: String,
    token: String,
}

impl Server {
    /// Starts `cmd` and waits for its `listening on http://...` line on stdout.
    fn start(mut cmd: Command) -> Server {
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
    fn fail(&mut self, message: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.join_log();
        panic!("{message}\n--- server log ---\n{}", self.log());
    }

    fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    fn join_log(&mut self) {
        if let Some(reader) = self.log_reader.take() {
            let _ = reader.join();
        }
    }

    /// Sends SIGTERM and waits for the process to exit; the log is complete
    /// afterwards.
    fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").arg("-TERM").arg(&pid).status().expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
        let status = wait_with_timeout(&mut self.child, EXIT_TIMEOUT)
            .unwrap_or_else(|| self.fail("the server did not exit after SIGTERM"));
        self.join_log();
        status
    }

    async fn get(&self, path: &str, session: Option<&Session>) -> (u16, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(s) = session {
            req = req.header("X-User-Id", &s.user_id).header("X-Auth-Token", &s.token);
        }
        reply(req.send().await.expect("GET")).await
    }

    async fn post(&self, path: &str, session: Option<&Session>, body: Value) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(s) = session {
            req = req.header("X-User-Id", &s.user_id).header("X-Auth-Token", &s.token);
        }
        reply(req.send().await.expect("POST")).await
    }

    async fn login(&self, user: &str, password: &str) -> Session {
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
async fn reply(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = response.text().await.expect("body");
    assert!(content_type.starts_with("application/json"), "{status} with {content_type:?}: {text}");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"));
    (status, body)
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
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
fn run_to_exit(mut cmd: Command) -> (ExitStatus, String, String) {
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

/// The whole life of a server: first start creates the admin, the API
/// works over HTTP, SIGTERM stops it cleanly, and a restart on the same data
/// directory finds the admin and the message again.
#[tokio::test]
async fn serve_post_stop_restart_and_read_back() {
    let data = tempfile::tempdir().expect("temp dir");
    let text = "hello from the end-to-end test";

    let mut server = Server::start(serve_cmd(data.path()));

    let (status, body) = server.get("/api/v1/me", None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"], "You must be logged in to do this.", "{body}");

    let (status, body) = server.get("/api/v1/no.such.route", None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body, json!({"success": false, "error": "Resource not found"}));

    let admin = server.login(ADMIN, ADMIN_PASS).await;
    let (status, me) = server.get("/api/v1/me", Some(&admin)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["success"], true, "{me}");
    assert_eq!(me["_id"], admin.user_id.as_str(), "{me}");
    assert_eq!(me["username"], ADMIN, "{me}");

    let (status, posted) = server
        .post("/api/v1/chat.postMessage", Some(&admin), json!({"roomId": "GENERAL", "text": text}))
        .await;
    assert_eq!(status, 200, "chat.postMessage: {posted}");
    assert_eq!(posted["success"], true, "{posted}");
    assert!(posted["ts"].is_number(), "chat.postMessage returns ts as epoch ms: {posted}");
    let msg_id = posted["message"]["_id"].as_str().expect("message _id").to_owned();

    let (status, got) = server.get(&format!("/api/v1/chat.getMessage?msgId={msg_id}"), Some(&admin)).await;
    assert_eq!(status, 200, "chat.getMessage: {got}");
    assert_eq!(got["message"]["msg"], text, "{got}");
    assert_eq!(got["message"]["rid"], "GENERAL", "{got}");

    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM: {status}\n{}", server.log());
    let log = server.log();
    assert!(log.contains(&format!("admin {ADMIN} created")), "{log}");
    assert!(log.contains("stopped"), "{log}");
    drop(server);

    // Same data directory, same admin seed: nothing is recreated.
    let mut server = Server::start(serve_cmd(data.path()));
    let admin = server.login(ADMIN, ADMIN_PASS).await;
    let (status, got) = server.get(&format!("/api/v1/chat.getMessage?msgId={msg_id}"), Some(&admin)).await;
    assert_eq!(status, 200, "chat.getMessage after restart: {got}");
    assert_eq!(got["message"]["msg"], text, "{got}");

    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM: {status}\n{}", server.log());
    let log = server.log();
    assert!(!log.contains(&format!("admin {ADMIN} created")), "the admin must not be recreated:\n{log}");
    assert!(!log.contains("ERROR"), "{log}");
}

/// Without ADMIN_* the server still runs and says how to get an admin.
#[tokio::test]
async fn first_start_without_admin_warns() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut cmd = threadsync();
    cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data").arg(data.path());
    let mut server = Server::start(cmd);

    let (status, body) = server.get("/api/info", None).await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(server.terminate().code(), Some(0), "{}", server.log());
    let log = server.log();
    assert!(log.contains("no admin exists"), "{log}");
    assert!(log.contains("ADMIN_USERNAME") && log.contains("users.register"), "{log}");
}

/// `--config` supplies the settings; a flag overrides it.
#[tokio::test]
async fn config_file_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("from-config");
    let config = dir.path().join("threadsync.json");
    std::fs::write(
        &config,
        json!({"listen": "127.0.0.1:1", "data": data, "sqlite_readers": 2, "log": "info"}).to_string(),
    )
    .expect("write config");

    // Port 1 from the file would fail (privileged, or taken); the flag wins.
    let mut cmd = threadsync();
    cmd.arg("serve").arg("--config").arg(&config).arg("--listen").arg("127.0.0.1:0");
    let mut server = Server::start(cmd);
    let (status, body) = server.get("/api/info", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.terminate().code(), Some(0), "{}", server.log());
    assert!(data.is_dir(), "the data directory from the config file was not used");
}

#[test]
fn bad_config_file_fails_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("threadsync.json");
    std::fs::write(&config, r#"{"listn": "127.0.0.1:0"}"#).expect("write config");
    let mut cmd = threadsync();
    cmd.arg("serve").arg("--config").arg(&config);
    let (status, _, stderr) = run_to_exit(cmd);
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("threadsync.json") && stderr.contains("listn"), "{stderr}");
}

/// PostgreSQL is not there yet: asking for it must fail at once, say so,
/// and not echo the URL (it carries a password).
#[test]
fn database_url_is_refused() {
    for via_env in [false, true] {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let url = "postgres://threadsync:s3cret-pw@localhost/threadsync";
        let mut cmd = threadsync();
        cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data").arg(&data);
        if via_env {
            cmd.env("DATABASE_URL", url);
        } else {
            cmd.arg("--database-url").arg(url);
        }
        let (status, stdout, stderr) = run_to_exit(cmd);
        assert!(!status.success(), "must fail (env: {via_env}); stderr:\n{stderr}");
        assert!(stderr.contains("PostgreSQL backend is not available yet"), "{stderr}");
        assert!(!stderr.contains("s3cret-pw"), "the URL's password leaked:\n{stderr}");
        assert!(!stdout.contains("listening on"), "{stdout}");
        assert!(!data.exists(), "nothing must be created when refusing to start");
    }
}

#[test]
fn help_describes_the_commands_and_settings() {
    let mut cmd = threadsync();
    cmd.arg("--help");
    let (status, stdout, _) = run_to_exit(cmd);
    assert!(status.success());
    assert!(stdout.contains("serve"), "{stdout}");

    let mut cmd = threadsync();
    cmd.args(["serve", "--help"]);
    let (status, stdout, _) = run_to_exit(cmd);
    assert!(status.success());
    for needle in [
        "--listen",
        "--data",
        "--database-url",
        "--config",
        "THREADSYNC_LISTEN",
        "THREADSYNC_DATA",
        "DATABASE_URL",
        "127.0.0.1:3000",
        "./threadsync-data",
    ] {
        assert!(stdout.contains(needle), "`serve --help` lacks {needle}:\n{stdout}");
    }
}
