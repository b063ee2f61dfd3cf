//! The HTTP edge of the real binary, over real sockets: slow clients
//! (slow-loris) neither hold a connection nor the shutdown, refusals are
//! JSON however large the request, and the access log.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;
use threadsync_api::limits::{BODY_IDLE_TIMEOUT, HYPER_MAX_URI_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or `limit` passes).
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(limit, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn body_of(response: &str) -> Value {
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body).unwrap_or_else(|_| panic!("no JSON body in {response:?}"))
}

/// An authenticated `chat.sendMessage` announcing 100 bytes and sending 9.
fn stalled_post(admin: &Session) -> Vec<u8> {
    format!(
        "POST /api/v1/chat.sendMessage HTTP/1.1\r\nHost: localhost\r\nX-User-Id: {}\r\nX-Auth-Token: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"roomId\"",
        admin.user_id, admin.token
    )
    .into_bytes()
}

/// Regression (issue 11, defect 3): an authenticated POST whose body stops
/// after `{"roomId"` got no answer and no close after 90 s. It gets a JSON
/// 408 once the body has paused for the idle limit, and the connection
/// closes.
#[tokio::test]
async fn a_stalled_body_gets_a_json_408_within_the_bound() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = Server::start(serve_cmd(data.path()));
    let admin = server.login(ADMIN, ADMIN_PASS).await;
    let mut stream = TcpStream::connect(address(&server)).await.expect("connect");
    stream.write_all(&stalled_post(&admin)).await.expect("write");
    let started = Instant::now();
    let response = read_to_close(&mut stream, BODY_IDLE_TIMEOUT + Duration::from_secs(20)).await;
    let elapsed = started.elapsed();
    assert!(response.starts_with("HTTP/1.1 408 "), "after {elapsed:?}: {response:?}");
    assert!(response.to_ascii_lowercase().contains("content-type: application/json"), "{response}");
    assert_eq!(
        body_of(&response),
        json!({
            "success": false,
            "error": "The request was not received in time [error-request-timeout]",
            "errorType": "error-request-timeout",
        })
    );
    assert!(
        elapsed >= BODY_IDLE_TIMEOUT - Duration::from_millis(100)
            && elapsed < BODY_IDLE_TIMEOUT + Duration::from_secs(5),
        "answered after {elapsed:?}, the bound is {BODY_IDLE_TIMEOUT:?}"
    );
}

/// Regression (issue 11, defect 3): on SIGTERM such a connection held the
/// shutdown for the whole 30 s grace. Stalled bodies, heads that never end
/// and idle connections no longer delay the stop.
#[tokio::test]
async fn sigterm_with_stalled_connections_exits_promptly() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(serve_cmd(data.path()));
    let admin = server.login(ADMIN, ADMIN_PASS).await;
    let address = address(&server);
    let mut stalled = TcpStream::connect(&address).await.expect("connect");
    stalled.write_all(&stalled_post(&admin)).await.expect("write");
    let mut partial = TcpStream::connect(&address).await.expect("connect");
    partial.write_all(b"GET /api/info HTTP/1.1\r\nHost: local").await.expect("write");
    let _idle = TcpStream::connect(&address).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let status = server.terminate();
    let elapsed = started.elapsed();
    assert_eq!(status.code(), Some(0), "{}", server.log());
    assert!(elapsed < Duration::from_secs(5), "stopping took {elapsed:?}:\n{}", server.log());
    assert!(server.log().contains("stopped"), "{}", server.log());
    let response = read_to_close(&mut stalled, Duration::from_secs(5)).await;
    assert!(response.is_empty() || response.starts_with("HTTP/1.1 408 "), "{response:?}");
}

/// Regression (issue 11, defect 5): a 70 KB URL was a 414 and a 2 MB one a
/// 431, both with an empty body (hyper's own answers). Both are JSON now.
#[tokio::test]
async fn huge_urls_are_refused_with_json() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = Server::start(serve_cmd(data.path()));
    let address = address(&server);
    let request = |len: usize| {
        format!("GET /api/info?x={} HTTP/1.1\r\nHost: localhost\r\n\r\n", "a".repeat(len)).into_bytes()
    };
    let mut stream = TcpStream::connect(&address).await.expect("connect");
    stream.write_all(&request(70_000)).await.expect("write");
    let response = read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert!(response.starts_with("HTTP/1.1 414 "), "{response:?}");
    assert_eq!(
        body_of(&response),
        json!({
            "success": false,
            "error": format!("The request URL is longer than {HYPER_MAX_URI_BYTES} bytes [error-uri-too-long]"),
            "errorType": "error-uri-too-long",
        })
    );

    // 2 MB: refused once the head buffer is full. Read while writing: the
    // server answers and closes before it has read the rest.
    let stream = TcpStream::connect(&address).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let big = request(2_000_000);
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&big).await;
    });
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut response)).await;
    writing.abort();
    let response = String::from_utf8_lossy(&response).into_owned();
    assert!(response.starts_with("HTTP/1.1 431 "), "{response:?}");
    assert_eq!(body_of(&response)["errorType"], "error-headers-too-large", "{response}");

    // The server goes on serving.
    let (status, body) = server.get("/api/info", None).await;
    assert_eq!(status, 200, "{body}");
}

/// One access-log line per request at the default level: method, route
/// template, status, duration, user id and client address; off with
/// `threadsync::access=off` in the log filter.
#[tokio::test]
async fn the_access_log_is_on_by_default_and_can_be_switched_off() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(serve_cmd(data.path()));
    let admin = server.login(ADMIN, ADMIN_PASS).await;
    let (status, _) = server.get("/api/v1/settings/Threads_enabled", Some(&admin)).await;
    assert_eq!(status, 200);
    let (status, _) = server.get("/api/v1/no.such.route?secret=1", None).await;
    assert_eq!(status, 404);
    server.terminate();
    let log = server.log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(" threadsync::access: ")).collect();
    let line = lines
        .iter()
        .find(|l| l.contains("route=/api/v1/settings/{id}"))
        .unwrap_or_else(|| panic!("no access line for the settings route:\n{log}"));
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains("method=GET") && line.contains("status=200"), "{line}");
    assert!(line.contains(&format!("user={}", admin.user_id)), "{line}");
    assert!(line.contains("ip=127.0.0.1") && line.contains("duration_ms="), "{line}");
    assert!(!line.contains("Threads_enabled"), "the template, not the path: {line}");
    assert!(
        lines.iter().any(|l| l.contains("route=- status=404") && !l.contains("secret")),
        "unknown routes are logged without their path:\n{log}"
    );
    assert!(lines.iter().any(|l| l.contains("route=/api/v1/login status=200 ")), "{log}");

    let data = tempfile::tempdir().expect("temp dir");
    let mut cmd = serve_cmd(data.path());
    cmd.env("RUST_LOG", "info,threadsync::access=off");
    let mut server = Server::start(cmd);
    let (status, _) = server.get("/api/info", None).await;
    assert_eq!(status, 200);
    server.terminate();
    assert!(!server.log().contains("threadsync::access"), "{}", server.log());
}
