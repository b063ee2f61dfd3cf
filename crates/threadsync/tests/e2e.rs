//! End-to-end: the real `threadsync` binary, over real HTTP, with real
//! signals and restarts on the same data directory.

mod support;

use serde_json::json;
use support::*;

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
    assert!(stderr.contains("threadsync.json") && stderr.contains("unknown key `listn`"), "{stderr}");
    // Worded for whoever wrote the file, not in the program's type names.
    assert!(!stderr.contains("FileConfig") && !stderr.contains("struct"), "{stderr}");
}

/// The listen address is bound before the store is opened: a bad or taken
/// address fails at once and leaves no data directory behind.
#[test]
fn bad_listen_address_fails_before_the_store_is_opened() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = taken.local_addr().expect("address").to_string();
    for address in ["nonsense", "127.0.0.1:99999", taken.as_str()] {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("d1");
        let mut cmd = threadsync();
        cmd.arg("serve").arg("--listen").arg(address).arg("--data").arg(&data);
        let (status, stdout, stderr) = run_to_exit(cmd);
        assert_eq!(status.code(), Some(1), "{address}: {stderr}");
        assert!(stderr.contains(&format!("error: cannot listen on {address}")), "{address}: {stderr}");
        assert!(!stdout.contains("listening on"), "{stdout}");
        assert!(!data.exists(), "{address}: the data directory was created before the address was checked");
    }
}

/// Readers are bounded at configuration time, so an absurd count fails at
/// once with the reason instead of opening connections until the open-file
/// limit is hit.
#[test]
fn too_many_sqlite_readers_fail_at_once_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let mut cmd = threadsync();
    cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data").arg(&data);
    cmd.arg("--sqlite-readers").arg("100000");
    let started = std::time::Instant::now();
    let (status, _, stderr) = run_to_exit(cmd);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: sqlite_readers must be at most 64 (got 100000)"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(!data.exists(), "nothing is created for a refused configuration");
}

/// `ADMIN_*` only create the first admin. On a restart they are ignored,
/// and the log says so (never with the password), whether they name the
/// existing admin or someone new.
#[tokio::test]
async fn admin_variables_on_a_restart_are_reported_as_ignored() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(serve_cmd(data.path()));
    assert_eq!(server.terminate().code(), Some(0), "{}", server.log());

    // The same admin, a new password: it is not changed.
    let mut cmd = serve_cmd(data.path());
    cmd.env("ADMIN_PASS", "a-new-password-42");
    let mut server = Server::start(cmd);
    server.login(ADMIN, ADMIN_PASS).await;
    assert_eq!(server.terminate().code(), Some(0), "{}", server.log());
    let log = server.log();
    assert!(
        log.contains("ADMIN_USERNAME, ADMIN_PASS and ADMIN_EMAIL are ignored: users already exist"),
        "{log}"
    );
    assert!(log.contains(&format!("the password and email of {ADMIN} are not changed")), "{log}");
    assert!(!log.contains("a-new-password-42"), "the password leaked:\n{log}");

    // Someone else: not created, and the log says so.
    let mut cmd = serve_cmd(data.path());
    cmd.env("ADMIN_USERNAME", "newboss").env("ADMIN_PASS", "another-secret-77");
    let mut server = Server::start(cmd);
    let (status, _) =
        server.post("/api/v1/login", None, json!({"user": "newboss", "password": "another-secret-77"})).await;
    assert_eq!(status, 401);
    assert_eq!(server.terminate().code(), Some(0), "{}", server.log());
    let log = server.log();
    assert!(log.contains("WARN") && log.contains("no user newboss was created"), "{log}");
    assert!(!log.contains("another-secret-77"), "the password leaked:\n{log}");
}

/// The `/bench` routes skip auth, so only a binary built with the
/// `bench-endpoints` feature has them; without it the flag is refused with
/// the way to get them.
#[tokio::test]
async fn bench_endpoints_need_the_feature() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut cmd = threadsync();
    cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data").arg(data.path());
    cmd.arg("--bench-endpoints");
    if cfg!(feature = "bench-endpoints") {
        let mut server = Server::start(cmd);
        let (status, body) = server.get("/bench/static?bytes=100", None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(server.terminate().code(), Some(0), "{}", server.log());
    } else {
        let (status, stdout, stderr) = run_to_exit(cmd);
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("--features bench-endpoints"), "{stderr}");
        assert!(!stdout.contains("listening on"), "{stdout}");
    }
    // Without the flag the routes are not there, whatever the build.
    let mut cmd = threadsync();
    cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data").arg(data.path());
    let mut server = Server::start(cmd);
    let (status, body) = server.get("/bench/static?bytes=100", None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(server.terminate().code(), Some(0), "{}", server.log());
}

/// An unreachable PostgreSQL: the server retries with backoff, then exits
/// non-zero with a clear message that never echoes the URL's password.
#[test]
fn unreachable_database_fails_clearly() {
    for via_env in [false, true] {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        // Port 1 on loopback: nothing listens there, connections are refused at once.
        let url = "postgres://threadsync:s3cret-pw@127.0.0.1:1/threadsync";
        let mut cmd = threadsync();
        cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data").arg(&data);
        cmd.arg("--pg-connect-attempts").arg("2");
        if via_env {
            cmd.env("DATABASE_URL", url);
        } else {
            cmd.arg("--database-url").arg(url);
        }
        let (status, stdout, stderr) = run_to_exit(cmd);
        assert!(!status.success(), "must fail (env: {via_env}); stderr:\n{stderr}");
        assert!(stderr.contains("cannot reach PostgreSQL at 127.0.0.1:1"), "{stderr}");
        assert!(stderr.to_lowercase().contains("connection refused"), "the OS's reason:\n{stderr}");
        assert!(!stderr.contains("s3cret-pw"), "the URL's password leaked:\n{stderr}");
        assert!(!stdout.contains("listening on"), "{stdout}");
        assert!(!data.exists(), "no SQLite store is created when PostgreSQL was asked for");
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

/// Each websocket client holds a file descriptor, so a server started with
/// the common soft limit of 1,024 open files would refuse clients at about a
/// thousand: `serve` raises its soft limit to the hard one at start. The
/// server is started through `prlimit` with a soft limit of 256, and its
/// own `/proc/<pid>/limits` is read while it runs.
#[test]
fn serve_raises_its_open_files_limit() {
    let data = tempfile::tempdir().expect("temp dir");
    let inner = serve_cmd(data.path());
    // `prlimit` execs the program in place, so the pid is the server's.
    let mut cmd = std::process::Command::new("prlimit");
    cmd.arg("--nofile=256:").arg("--").arg(inner.get_program()).args(inner.get_args());
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let mut server = Server::start(cmd);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.child.id())).expect("read limits");
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("open files line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    // "Max open files <soft> <hard> files"
    let (soft, hard) = (fields[3], fields[4]);
    assert_eq!(soft, hard, "the soft limit must be raised to the hard one: {line}");
    assert_ne!(soft, "256", "{line}");
    assert_eq!(server.terminate().code(), Some(0), "{}", server.log());
    let log = server.log();
    assert!(log.contains("raised the open-files limit"), "{log}");
}
