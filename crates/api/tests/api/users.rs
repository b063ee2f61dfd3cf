//! users.register, users.create, users.info, users.delete.

use crate::support::TestApp;
use serde_json::json;

#[tokio::test]
async fn register_creates_a_user_who_can_log_in_and_joins_general() {
    let app = TestApp::new().await;
    let body = app
        .post(
            "/api/v1/users.register",
            None,
            json!({"username": "alice", "email": "alice@example.com", "pass": "pw-123456", "name": "Alice A"}),
        )
        .await
        .ok();
    let user = &body["user"];
    assert_eq!(user["username"], "alice");
    assert_eq!(user["name"], "Alice A");
    assert_eq!(user["roles"], json!(["user"]));
    assert_eq!(user["emails"][0]["address"], "alice@example.com");
    assert!(user.get("services").is_none() && !body.to_string().contains("$2"));
    let alice = app.login("alice", "pw-123456").await;
    assert_eq!(alice.user_id, user["_id"].as_str().expect("id"));
    let uid = alice.user_id.clone();
    let sub = app.services.store().subscription("GENERAL", &uid).await.expect("lookup");
    assert!(sub.is_some(), "new users join GENERAL");
}

#[tokio::test]
async fn register_rejects_duplicates_and_bad_fields() {
    let app = TestApp::new().await;
    app.user("bob").await;
    let dup_name = app
        .post(
            "/api/v1/users.register",
            None,
            json!({"username": "BOB", "email": "other@example.com", "pass": "x"}),
        )
        .await
        .err_type("error-field-unavailable");
    assert!(dup_name["error"].as_str().expect("text").contains("Username is already in use"));
    let dup_mail = app
        .post(
            "/api/v1/users.register",
            None,
            json!({"username": "bob2", "email": "Bob@Example.com", "pass": "x"}),
        )
        .await
        .err_type("error-field-unavailable");
    assert!(dup_mail["error"].as_str().expect("text").contains("Email already exists"));
    app.post("/api/v1/users.register", None, json!({"username": "b o b", "email": "c@d.e", "pass": "x"}))
        .await
        .err_type("error-invalid-username");
    app.post("/api/v1/users.register", None, json!({"username": "carol", "email": "nope", "pass": "x"}))
        .await
        .err_type("error-invalid-email");
    app.post("/api/v1/users.register", None, json!({"email": "c@d.e", "pass": "x"})).await.err(
        400,
        "The required \"username\" param is missing. [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.post("/api/v1/users.register", None, json!({"username": "carol", "email": "c@d.e"})).await.err(
        400,
        "The required \"pass\" param is missing. [error-invalid-params]",
        Some("error-invalid-params"),
    );
}

#[tokio::test]
async fn register_honours_the_registration_setting() {
    let app = TestApp::new().await;
    app.set_setting("Accounts_RegistrationForm", json!("Disabled")).await;
    app.post(
        "/api/v1/users.register",
        None,
        json!({"username": "dave", "email": "dave@example.com", "pass": "x"}),
    )
    .await
    .err_type("error-user-registration-secret");
}

#[tokio::test]
async fn create_is_admin_only_and_honours_options() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let body = json!({"username": "bot1", "email": "bot1@example.com", "password": "pw", "name": "Bot",
        "roles": ["bot"], "joinDefaultChannels": false, "verified": true});
    app.post("/api/v1/users.create", Some(&alice), body.clone()).await.err(
        403,
        "User does not have the permissions required for this action [error-unauthorized]",
        Some("error-unauthorized"),
    );
    let created = app.post("/api/v1/users.create", Some(&app.admin), body).await.ok();
    assert_eq!(created["user"]["roles"], json!(["bot"]));
    assert_eq!(created["user"]["type"], "bot");
    assert_eq!(created["user"]["emails"][0]["verified"], json!(true));
    let id = created["user"]["_id"].as_str().expect("id").to_owned();
    let sub = app.services.store().subscription("GENERAL", &id).await.expect("lookup");
    assert!(sub.is_none(), "joinDefaultChannels: false is honoured");
    app.post(
        "/api/v1/users.create",
        Some(&app.admin),
        json!({"username": "x", "email": "x@example.com", "password": "pw", "name": "X", "roles": ["overlord"]}),
    )
    .await
    .err_type("error-invalid-role");
    app.post(
        "/api/v1/users.create",
        Some(&app.admin),
        json!({"username": "y", "email": "y@e.com", "password": "pw"}),
    )
    .await
    .err_type("error-invalid-params");
    app.post("/api/v1/users.create", None, json!({})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

#[tokio::test]
async fn inactive_users_cannot_log_in() {
    let app = TestApp::new().await;
    app.post(
        "/api/v1/users.create",
        Some(&app.admin),
        json!({"username": "sleepy", "email": "s@example.com", "password": "pw", "name": "S", "active": false}),
    )
    .await
    .ok();
    app.post("/api/v1/login", None, json!({"user": "sleepy", "password": "pw"})).await.err(
        401,
        "Unauthorized",
        None,
    );
}

#[tokio::test]
async fn info_by_id_and_username() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let by_id = app.get(&format!("/api/v1/users.info?userId={}", alice.user_id), Some(&app.admin)).await.ok();
    assert_eq!(by_id["user"]["username"], "alice");
    let by_name = app.get("/api/v1/users.info?username=ALICE", Some(&alice)).await.ok();
    assert_eq!(by_name["user"]["_id"], json!(alice.user_id));
    app.get("/api/v1/users.info?username=ghost", Some(&alice)).await.err(
        400,
        "User not found. [error-invalid-user]",
        Some("error-invalid-user"),
    );
    app.get("/api/v1/users.info", Some(&alice)).await.err_type("error-invalid-params");
    app.get("/api/v1/users.info?username=alice", None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

#[tokio::test]
async fn delete_is_admin_only_and_removes_access() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.post("/api/v1/users.delete", Some(&bob), json!({"userId": alice.user_id})).await.err(
        403,
        "User does not have the permissions required for this action [error-unauthorized]",
        Some("error-unauthorized"),
    );
    app.post("/api/v1/users.delete", Some(&app.admin), json!({"userId": alice.user_id})).await.ok();
    app.get("/api/v1/me", Some(&alice)).await.err(401, "You must be logged in to do this.", None);
    app.post("/api/v1/users.delete", Some(&app.admin), json!({"userId": alice.user_id}))
        .await
        .err_type("error-invalid-user");
    app.post("/api/v1/users.delete", Some(&app.admin), json!({"username": "bob"})).await.ok();
    app.post("/api/v1/users.delete", Some(&app.admin), json!({})).await.err_type("error-invalid-params");
    app.post("/api/v1/users.delete", Some(&app.admin), json!({"userId": app.admin.user_id}))
        .await
        .err_type("error-action-not-allowed");
}
