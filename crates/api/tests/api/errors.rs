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

#[tokio::test]
async fn oversized_bodies_are_400_not_413() {
    let app = TestApp::new().await;
    let huge = format!("{{\"user\": \"{}\"}}", "x".repeat(threadsync_api::MAX_BODY_BYTES + 10));
    app.post_raw("/api/v1/login", None, huge).await.err_type("error-invalid-params");
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
    assert!(reply["error"].as_str().is_some_and(|e| e.contains("invalid type")), "{reply}");
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
