//! The HTTP edge beyond the endpoints: form bodies, refusals of oversized
//! requests, health checks, CORS, and (over a real socket, with the
//! server's own connection handling and shortened limits) the time limits,
//! the prompt stop and HTTP upgrades.

use crate::support::{RawReply, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use threadsync_api::limits::{EdgeLimits, MAX_HEADER_BYTES, MAX_URI_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn json_of(reply: &RawReply) -> Value {
    serde_json::from_slice(&reply.bytes).unwrap_or_else(|_| panic!("not JSON: {:?}", reply.bytes))
}

// ------------------------------------------------------------ form bodies

async fn post_form(app: &TestApp, path: &str, admin: bool, form: &str) -> RawReply {
    let mut req =
        Request::post(path).header("content-type", "application/x-www-form-urlencoded; charset=UTF-8");
    if admin {
        req = req.header("X-User-Id", &app.admin.user_id).header("X-Auth-Token", &app.admin.token);
    }
    app.send(req.body(Body::from(form.to_owned())).expect("request")).await
}

/// Regression (issue 11, defect 12): Rocket.Chat accepts
/// `application/x-www-form-urlencoded` bodies on its POST endpoints;
/// threadsync answered 400 `Invalid JSON`.
#[tokio::test]
async fn form_bodies_work_like_json() {
    let app = TestApp::unlimited().await;
    let reply = post_form(&app, "/api/v1/login", false, "user=admin&password=admin-pass").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.bytes);
    assert!(json_of(&reply)["data"]["authToken"].is_string());

    let reply = post_form(
        &app,
        "/api/v1/users.register",
        false,
        "username=formuser&email=formuser%40example.com&pass=pw-123456&name=Form+User",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.bytes);
    assert_eq!(json_of(&reply)["user"]["name"], "Form User");

    // Booleans and lists where the body wants them, as Rocket.Chat reads them.
    let reply =
        post_form(&app, "/api/v1/channels.create", true, "name=formchan&readOnly=true&members[]=formuser")
            .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.bytes);
    let channel = json_of(&reply)["channel"].clone();
    assert_eq!(channel["ro"], json!(true), "{channel}");
    assert_eq!(channel["usersCount"], json!(2), "{channel}");

    // Nested fields.
    let reply =
        post_form(&app, "/api/v1/chat.sendMessage", true, "message[rid]=GENERAL&message[msg]=hello+form")
            .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.bytes);
    assert_eq!(json_of(&reply)["message"]["msg"], "hello form");
    let reply = post_form(&app, "/api/v1/chat.postMessage", true, "roomId=GENERAL&text=posted").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.bytes);

    // Wrong values are worded like JSON ones.
    let reply = post_form(&app, "/api/v1/channels.create", true, "name=other&readOnly=maybe").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json_of(&reply),
        json!({
            "success": false,
            "error": "Invalid request body: \"readOnly\" must be true or false, not a string [error-invalid-params]",
            "errorType": "error-invalid-params",
        })
    );
    // An empty form is an empty body.
    let reply = post_form(&app, "/api/v1/channels.create", true, "").await;
    assert_eq!(json_of(&reply)["errorType"], "error-invalid-params");
}

// ------------------------------------------------------------ head limits

/// Regression (issue 11, defect 5): a long URL was hyper's 414 with an
/// empty body. Below hyper's own limit the router refuses it, as JSON, and
/// so it does headers that are too large (431).
#[tokio::test]
async fn long_urls_and_large_headers_are_json_refusals() {
    let app = TestApp::new().await;
    let path = "/api/info?x=";
    let uri = format!("{path}{}", "a".repeat(MAX_URI_BYTES + 1 - path.len()));
    let reply = app.send(Request::get(&uri).body(Body::empty()).expect("request")).await;
    assert_eq!(reply.status, StatusCode::URI_TOO_LONG);
    assert_eq!(
        json_of(&reply),
        json!({
            "success": false,
            "error": format!("The request URL is longer than {MAX_URI_BYTES} bytes [error-uri-too-long]"),
            "errorType": "error-uri-too-long",
        })
    );
    let ok = app.send(Request::get(&uri[..uri.len() - 1]).body(Body::empty()).expect("request")).await;
    assert_eq!(ok.status, StatusCode::OK, "exactly at the limit is served");

    let req = Request::get("/api/info").header("X-Big", "b".repeat(MAX_HEADER_BYTES)).body(Body::empty());
    let reply = app.send(req.expect("request")).await;
    assert_eq!(reply.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(json_of(&reply)["errorType"], "error-headers-too-large");
}

// ------------------------------------------------------------ health

/// `/livez` answers while the process runs; `/readyz` while the store does,
/// and 503 with a JSON body once it does not.
#[tokio::test]
async fn health_checks_follow_the_store() {
    let app = TestApp::new().await;
    let ok = json!({"status": "ok", "success": true});
    assert_eq!(app.get("/livez", None).await.ok(), ok);
    assert_eq!(app.get("/readyz", None).await.ok(), ok);
    match crate::BACKEND {
        crate::support::Backend::Postgres => app.break_database().await,
        crate::support::Backend::Sqlite => app.services.store().close().await,
    }
    app.get("/readyz", None).await.err(
        503,
        "The store is not answering [error-not-ready]",
        Some("error-not-ready"),
    );
    assert_eq!(app.get("/livez", None).await.ok(), ok, "the process still answers");
}

// ------------------------------------------------------------ CORS

async fn with_origin(app: &TestApp, method: &str, path: &str, origin: &str) -> RawReply {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "x-user-id, x-auth-token, content-type")
        .body(Body::empty())
        .expect("request");
    app.send(req).await
}

fn header<'a>(reply: &'a RawReply, name: &str) -> Option<&'a str> {
    reply.headers.get(name).and_then(|v| v.to_str().ok())
}

/// CORS as Rocket.Chat configures it: `API_Enable_CORS` (off by default)
/// and `API_CORS_Origin` (`*` or a list), read live.
#[tokio::test]
async fn cors_follows_the_settings() {
    let app = TestApp::unlimited().await;
    let origin = "https://client.example";
    // Off: no CORS headers, and OPTIONS is not a route.
    let reply = with_origin(&app, "GET", "/api/info", origin).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header(&reply, "access-control-allow-origin"), None);
    let preflight = with_origin(&app, "OPTIONS", "/api/v1/chat.postMessage", origin).await;
    assert_eq!(preflight.status, StatusCode::NOT_FOUND);
    assert_eq!(header(&preflight, "access-control-allow-origin"), None);

    // On, any origin.
    app.set_setting("API_Enable_CORS", json!(true)).await;
    let preflight = with_origin(&app, "OPTIONS", "/api/v1/chat.postMessage", origin).await;
    assert_eq!(preflight.status, StatusCode::OK);
    assert_eq!(json_of(&preflight), json!({"success": true}));
    assert_eq!(header(&preflight, "access-control-allow-origin"), Some("*"));
    let methods = header(&preflight, "access-control-allow-methods").expect("methods");
    assert!(methods.contains("GET") && methods.contains("POST"), "{methods}");
    let allowed = header(&preflight, "access-control-allow-headers").expect("headers").to_ascii_lowercase();
    for wanted in ["x-user-id", "x-auth-token", "content-type"] {
        assert!(allowed.contains(wanted), "{allowed}");
    }
    // Answers carry the origin, refusals too (a browser must read them).
    for (path, status) in [("/api/info", StatusCode::OK), ("/api/v1/me", StatusCode::UNAUTHORIZED)] {
        let reply = with_origin(&app, "GET", path, origin).await;
        assert_eq!(reply.status, status);
        assert_eq!(header(&reply, "access-control-allow-origin"), Some("*"), "{path}");
        assert!(
            header(&reply, "access-control-expose-headers").is_some_and(|h| h.contains("X-RateLimit-Reset"))
        );
    }

    // A list: only listed origins are echoed.
    app.set_setting("API_CORS_Origin", json!("https://a.example, https://Client.Example")).await;
    let reply = with_origin(&app, "OPTIONS", "/api/v1/login", origin).await;
    assert_eq!(header(&reply, "access-control-allow-origin"), Some(origin));
    assert_eq!(header(&reply, "vary"), Some("Origin"));
    let reply = with_origin(&app, "GET", "/api/info", "https://evil.example").await;
    assert_eq!(header(&reply, "access-control-allow-origin"), None);
    let reply = with_origin(&app, "OPTIONS", "/api/info", "https://evil.example").await;
    assert_eq!(header(&reply, "access-control-allow-origin"), None);
    assert_eq!(header(&reply, "access-control-allow-headers"), None);

    // The origin setting is a string.
    let reply = app.post("/api/v1/settings/API_CORS_Origin", Some(&app.admin), json!({"value": 5})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    // Off again: nothing.
    app.set_setting("API_Enable_CORS", json!(false)).await;
    let reply = with_origin(&app, "GET", "/api/info", origin).await;
    assert_eq!(header(&reply, "access-control-allow-origin"), None);
}

// ------------------------------------------------------------ over a socket

/// Short limits, so the tests wait for them in fractions of a second.
const LIMITS: EdgeLimits = EdgeLimits {
    header_read_timeout: Duration::from_millis(800),
    body_read_timeout: Duration::from_millis(2500),
    upload_read_timeout: Duration::from_millis(4000),
    body_idle_timeout: Duration::from_millis(500),
};

struct Served {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

/// `router` served as the binary serves it, with [`LIMITS`].
fn serve(router: axum::Router) -> Served {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopping = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(threadsync_api::server::serve(listener, router, stopping, LIMITS));
    Served { addr, stop: Some(stop), task }
}

/// Reads until the server closes the connection or `limit` passes; the
/// text read, and whether the connection was closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

fn body_of(response: &str) -> Value {
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body).unwrap_or_else(|_| panic!("no JSON body in {response:?}"))
}

const STALLED: &[u8] = b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user\"";

/// Regression (issue 11, defect 3): a body that stops arriving held the
/// connection forever. It is answered 408, as JSON, once it has paused for
/// the idle limit, and the connection is closed.
#[tokio::test]
async fn a_stalled_body_is_answered_408_and_closed() {
    let app = TestApp::unlimited().await;
    let served = serve(app.router.clone());
    let mut stream = TcpStream::connect(served.addr).await.expect("connect");
    stream.write_all(STALLED).await.expect("write");
    let started = Instant::now();
    let (response, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    let elapsed = started.elapsed();
    assert!(response.starts_with("HTTP/1.1 408 "), "{response}");
    assert!(closed, "the connection is closed after the 408");
    assert!(elapsed >= LIMITS.body_idle_timeout && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(
        body_of(&response),
        json!({
            "success": false,
            "error": "The request was not received in time [error-request-timeout]",
            "errorType": "error-request-timeout",
        })
    );

    // A body that trickles in (never pausing for long) is bounded in all.
    let stream = TcpStream::connect(served.addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(STALLED).await.expect("write");
    let started = Instant::now();
    let dripper = tokio::spawn(async move {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    // Read while it drips: the answer comes before the writes start failing.
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(9), reader.read_to_end(&mut response)).await;
    let response = String::from_utf8_lossy(&response).into_owned();
    assert!(response.starts_with("HTTP/1.1 408 "), "{response}");
    let elapsed = started.elapsed();
    assert!(elapsed >= LIMITS.body_read_timeout && elapsed < Duration::from_secs(6), "{elapsed:?}");
    dripper.abort();
    served.task.abort();
}

/// A head that never completes, and a connection idle after an answer, are
/// closed once the header time runs out (there is no request to answer).
#[tokio::test]
async fn slow_heads_and_idle_connections_are_closed() {
    let app = TestApp::unlimited().await;
    let served = serve(app.router.clone());
    let mut partial = TcpStream::connect(served.addr).await.expect("connect");
    partial.write_all(b"GET /api/info HTTP/1.1\r\nHost: x\r\n").await.expect("write");
    let mut idle = TcpStream::connect(served.addr).await.expect("connect");
    idle.write_all(b"GET /api/info HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    let started = Instant::now();
    let (response, closed) = read_until_closed(&mut partial, Duration::from_secs(5)).await;
    assert!(closed && response.is_empty(), "closed without an answer: {response:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let (response, closed) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    assert!(closed, "the idle keep-alive connection is closed");
    served.task.abort();
}

/// Stopping closes idle connections and connections still sending a head
/// at once, gives up stalled bodies (408), lets a body that is still
/// flowing finish and its request be answered, and then returns.
#[tokio::test]
async fn stopping_is_prompt_and_lets_requests_in_progress_finish() {
    let app = TestApp::unlimited().await;
    let mut served = serve(app.router.clone());
    let mut stalled = TcpStream::connect(served.addr).await.expect("connect");
    stalled.write_all(STALLED).await.expect("write");
    let mut partial = TcpStream::connect(served.addr).await.expect("connect");
    partial.write_all(b"GET /api/info HTTP/1.1\r\n").await.expect("write");
    let mut idle = TcpStream::connect(served.addr).await.expect("connect");
    // A login whose body arrives steadily, over the stop.
    let body = br#"{"user": "admin", "password": "admin-pass"}"#;
    let mut flowing = TcpStream::connect(served.addr).await.expect("connect");
    let head = format!(
        "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    flowing.write_all(head.as_bytes()).await.expect("write");
    let writer = tokio::spawn(async move {
        for chunk in body.chunks(4) {
            flowing.write_all(chunk).await.expect("write a chunk");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        flowing
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    let _ = served.stop.take().map(|stop| stop.send(()));
    let (response, closed) = read_until_closed(&mut stalled, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 408 ") && closed, "{response}");
    for stream in [&mut partial, &mut idle] {
        let (response, closed) = read_until_closed(stream, Duration::from_secs(5)).await;
        assert!(closed && response.is_empty(), "{response:?}");
    }
    let mut flowing = writer.await.expect("writer");
    let (response, _) = read_until_closed(&mut flowing, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "the request in progress is answered: {response}");
    assert!(body_of(&response)["data"]["authToken"].is_string(), "{response}");
    tokio::time::timeout(Duration::from_secs(5), served.task)
        .await
        .expect("serve returns")
        .expect("no panic");
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    assert!(TcpStream::connect(served.addr).await.is_err(), "no longer accepting");
}

/// HTTP upgrades (the coming `/websocket`) pass through the server's
/// connection handling: a handler's 101 hands the raw connection over.
#[tokio::test]
async fn upgrades_hand_the_connection_over() {
    use axum::extract::Request as AxumRequest;
    use axum::response::IntoResponse;
    async fn echo(mut request: AxumRequest) -> axum::response::Response {
        let upgrade = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let Ok(upgraded) = upgrade.await else { return };
            let mut io = hyper_util::rt::TokioIo::new(upgraded);
            let mut buf = [0u8; 64];
            while let Ok(n) = io.read(&mut buf).await {
                if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        (StatusCode::SWITCHING_PROTOCOLS, [("connection", "upgrade"), ("upgrade", "echo")]).into_response()
    }
    let served = serve(axum::Router::new().route("/echo", axum::routing::get(echo)));
    let mut stream = TcpStream::connect(served.addr).await.expect("connect");
    stream
        .write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n")
        .await
        .expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.expect("read the head");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "), "{}", String::from_utf8_lossy(&head));
    stream.write_all(b"ping").await.expect("write");
    let mut echoed = [0u8; 4];
    stream.read_exact(&mut echoed).await.expect("echo");
    assert_eq!(&echoed, b"ping");
    served.task.abort();
}
