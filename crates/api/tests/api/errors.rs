//! The wire rules every route shares: JSON errors, 404s, body limits.

use crate::support::TestApp;
use axum::body::Body;
use axum::http::Request;
use serde_json::json;

#[tokio::test]
async fn unknown_routes_are_json_404() {
    let app = TestApp::new().await;
    app.get("/api/v1/no.such.route", None).await.err(404, "Resource not found", None);
    app.get("/", None).await.err(404, "Resource not found", None);
    // A known route with the wrong method is unknown too, as in Rocket.Chat.
    app.get("/api/v1/login", None).await.err(404, "Resource not found", None);
}

#[tokio::test]
async fn info_needs_no_auth() {
    let app = TestApp::new().await;
    let body = app.get("/api/info", None).await.ok();
    assert!(body["version"].as_str().is_some_and(|v| !v.is_empty()));
}

/// Regression (issue 11, defect 5): an oversized body was a 400 `Invalid
/// request body`; it is a 413 with a Rocket.Chat-style body, whether the
/// length is declared up front or only found while reading.
#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = TestApp::new().await;
    let huge = format!("{{\"user\": \"{}\"}}", "x".repeat(threadsync_api::MAX_BODY_BYTES + 10));
    let expected = "The request body is larger than 1048576 bytes [error-request-too-large]";
    app.post_raw("/api/v1/login", None, huge.clone()).await.err(
        413,
        expected,
        Some("error-request-too-large"),
    );
    // Streamed, with no Content-Length: found while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        huge.into_bytes().chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let req = Request::post("/api/v1/login")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .expect("request");
    app.request(req).await.err(413, expected, Some("error-request-too-large"));
}

#[tokio::test]
async fn bodies_without_content_type_or_empty_are_accepted() {
    let app = TestApp::new().await;
    let req = Request::post("/api/v1/logout")
        .header("X-User-Id", &app.admin.user_id)
        .header("X-Auth-Token", &app.admin.token)
        .body(Body::empty())
        .expect("request");
    app.request(req).await.ok();
}

#[tokio::test]
async fn wrong_json_types_are_invalid_params() {
    let app = TestApp::new().await;
    let reply = app
        .post("/api/v1/users.register", None, json!({"username": 5, "email": "a@b.c", "pass": "x"}))
        .await
        .err_type("error-invalid-params");
    assert_eq!(
        reply["error"],
        "Invalid request body: \"username\" must be a string, not a number [error-invalid-params]"
    );
}

/// Regression (issue 11, defect 7): serde's messages leaked Rust type names
/// (`invalid length 0, expected struct RegisterBody with 4 elements`) and
/// internal words (`unexpected end of hex escape` for a lone surrogate).
#[tokio::test]
async fn body_errors_never_name_rust_types() {
    let app = TestApp::new().await;
    app.post("/api/v1/users.register", None, json!([])).await.err(
        400,
        "Invalid request body: the body must be an object, not a list [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.post_raw("/api/v1/users.register", None, r#"{"username": "\ud800"}"#).await.err(
        400,
        "Invalid JSON in request body: invalid unicode escape (line 1, column 21) [error-invalid-params]",
        Some("error-invalid-params"),
    );
    let reply = app
        .post("/api/v1/users.create", Some(&app.admin), json!({"username": "x", "roles": ["user", 7]}))
        .await
        .err_type("error-invalid-params");
    assert_eq!(
        reply["error"],
        "Invalid request body: \"roles[1]\" must be a string, not a number [error-invalid-params]"
    );
    let reply = app
        .post("/api/v1/chat.postMessage", Some(&app.admin), json!({"roomId": ["a", "b"], "text": 1}))
        .await
        .err_type("error-invalid-params");
    for leak in ["struct", "enum", "Body", "Target", "expected", "invalid type"] {
        assert!(!reply["error"].as_str().unwrap_or_default().contains(leak), "{reply}");
    }
}

#[tokio::test]
async fn bad_query_strings_are_400() {
    let app = TestApp::new().await;
    let req = Request::get("/api/v1/users.info?username=%ZZ")
        .header("X-User-Id", &app.admin.user_id)
        .header("X-Auth-Token", &app.admin.token)
        .body(Body::empty())
        .expect("request");
    let reply = app.request(req).await;
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.body);
    assert_eq!(reply.body["success"], json!(false));
}

#[tokio::test]
async fn nul_characters_are_refused_everywhere() {
    let app = TestApp::new().await;
    app.post(
        "/api/v1/chat.sendMessage",
        Some(&app.admin),
        json!({"message": {"rid": "GENERAL", "msg": "a\u{0}b"}}),
    )
    .await
    .err(
        400,
        "Invalid request body: strings may not contain NUL characters [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.post(
        "/api/v1/users.register",
        None,
        json!({"username": "x", "email": "x@e.com", "pass": "p", "name": "\u{0}"}),
    )
    .await
    .err_type("error-invalid-params");
    app.get("/api/v1/chat.getMessage?msgId=a%00b", Some(&app.admin)).await.err(
        400,
        "Query parameters may not contain NUL characters. [error-invalid-params]",
        Some("error-invalid-params"),
    );
}
