//! login, logout, me, and the auth headers.

use crate::support::{TestApp, ADMIN, ADMIN_PASS};
use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use sha2::{Digest, Sha256};

const NOT_LOGGED_IN: &str = "You must be logged in to do this.";

#[tokio::test]
async fn login_with_user_field_returns_token_and_me() {
    let app = TestApp::new().await;
    let body = app.post("/api/v1/login", None, json!({"user": ADMIN, "password": ADMIN_PASS})).await.ok();
    assert_eq!(body["status"], "success");
    let token = body["data"]["authToken"].as_str().expect("token");
    assert_eq!(token.len(), 43);
    let me = &body["data"]["me"];
    assert_eq!(me["username"], ADMIN);
    assert_eq!(me["roles"], json!(["admin", "user"]));
    assert_eq!(me["settings"], json!({"preferences": {}}));
    for field in ["_id", "name", "emails", "status", "active", "utcOffset"] {
        assert!(me.get(field).is_some(), "me lacks {field}: {me}");
    }
    let text = body.to_string();
    assert!(!text.contains("$2b$") && !text.contains("password"), "secrets leaked: {text}");
}

#[tokio::test]
async fn login_accepts_username_email_and_digest_forms() {
    let app = TestApp::new().await;
    app.post("/api/v1/login", None, json!({"username": ADMIN, "password": ADMIN_PASS})).await.ok();
    app.post("/api/v1/login", None, json!({"user": "admin@example.com", "password": ADMIN_PASS})).await.ok();
    app.post("/api/v1/login", None, json!({"email": "ADMIN@example.com", "password": ADMIN_PASS})).await.ok();
    let digest: String = Sha256::digest(ADMIN_PASS.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    app.post(
        "/api/v1/login",
        None,
        json!({"user": ADMIN, "password": {"digest": digest.to_uppercase(), "algorithm": "sha-256"}}),
    )
    .await
    .ok();
    let wrong: String = Sha256::digest(b"other").iter().map(|b| format!("{b:02x}")).collect();
    app.post(
        "/api/v1/login",
        None,
        json!({"user": ADMIN, "password": {"digest": wrong, "algorithm": "sha-256"}}),
    )
    .await
    .err(401, "Unauthorized", None);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = TestApp::new().await;
    let a = app.post("/api/v1/login", None, json!({"user": ADMIN, "password": "nope"})).await.err(
        401,
        "Unauthorized",
        None,
    );
    let b = app.post("/api/v1/login", None, json!({"user": "ghost", "password": "nope"})).await.err(
        401,
        "Unauthorized",
        None,
    );
    assert_eq!(a, b);
    assert_eq!(a["status"], "error");
    assert_eq!(a["message"], "Unauthorized");
}

#[tokio::test]
async fn login_with_malformed_bodies_is_a_clean_error() {
    let app = TestApp::new().await;
    app.post("/api/v1/login", None, json!({"user": ADMIN})).await.err(401, "Unauthorized", None);
    app.post("/api/v1/login", None, json!({"user": ADMIN, "password": 12})).await.err(
        401,
        "Unauthorized",
        None,
    );
    app.post_raw("/api/v1/login", None, "{not json").await.err_type("error-invalid-params");
    app.post_raw("/api/v1/login", None, "[1,2]").await.err(401, "Unauthorized", None);
}

#[tokio::test]
async fn resume_login_with_an_existing_token() {
    let app = TestApp::new().await;
    let body = app.post("/api/v1/login", None, json!({"resume": app.admin.token})).await.ok();
    assert_eq!(body["data"]["userId"], json!(app.admin.user_id));
    app.post("/api/v1/login", None, json!({"resume": "not-a-token"})).await.err(401, "Unauthorized", None);
}

#[tokio::test]
async fn me_needs_both_headers_and_a_valid_token() {
    let app = TestApp::new().await;
    let me = app.get("/api/v1/me", Some(&app.admin)).await.ok();
    assert_eq!(me["username"], ADMIN);
    assert_eq!(me["_id"], json!(app.admin.user_id));

    let unauth = app.get("/api/v1/me", None).await.err(401, NOT_LOGGED_IN, None);
    assert_eq!(unauth["status"], "error");
    assert_eq!(unauth["message"], NOT_LOGGED_IN);

    let only_id = Request::get("/api/v1/me")
        .header("X-User-Id", &app.admin.user_id)
        .body(Body::empty())
        .expect("request");
    app.request(only_id).await.err(401, NOT_LOGGED_IN, None);

    let mut wrong = app.admin.clone();
    wrong.token.push('x');
    app.get("/api/v1/me", Some(&wrong)).await.err(401, NOT_LOGGED_IN, None);

    let mut other_user = app.admin.clone();
    other_user.user_id = "someoneElse".into();
    app.get("/api/v1/me", Some(&other_user)).await.err(401, NOT_LOGGED_IN, None);
}

#[tokio::test]
async fn logout_revokes_only_that_token() {
    let app = TestApp::new().await;
    let second = app.login(ADMIN, ADMIN_PASS).await;
    let body = app.post("/api/v1/logout", Some(&app.admin), json!({})).await.ok();
    assert_eq!(body["data"]["message"], "You've been logged out!");
    app.get("/api/v1/me", Some(&app.admin)).await.err(401, NOT_LOGGED_IN, None);
    app.get("/api/v1/me", Some(&second)).await.ok();
    app.post("/api/v1/logout", None, json!({})).await.err(401, NOT_LOGGED_IN, None);
}

#[tokio::test]
async fn tokens_are_stored_hashed() {
    let app = TestApp::new().await;
    let store = app.services.store();
    assert!(store.user_by_login_token(&app.admin.user_id, &app.admin.token).await.expect("lookup").is_none());
    let hashed = threadsync_service::hash_token(&app.admin.token);
    assert!(store.user_by_login_token(&app.admin.user_id, &hashed).await.expect("lookup").is_some());
    let user = store.user_by_username(ADMIN).await.expect("lookup").expect("admin");
    let hash = user.password_hash.expect("hash");
    assert!(hash.starts_with("$2"), "bcrypt hash expected");
    assert!(!hash.contains(ADMIN_PASS));
}
