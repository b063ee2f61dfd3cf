//! settings/:id.

use crate::support::TestApp;
use serde_json::json;

#[tokio::test]
async fn read_and_change_a_setting() {
    let app = TestApp::new().await;
    let body = app.get("/api/v1/settings/Message_MaxAllowedSize", Some(&app.admin)).await.ok();
    assert_eq!(body["_id"], "Message_MaxAllowedSize");
    assert_eq!(body["value"], json!(5000));
    app.set_setting("Message_MaxAllowedSize", json!(10)).await;
    let body = app.get("/api/v1/settings/Message_MaxAllowedSize", Some(&app.admin)).await.ok();
    assert_eq!(body["value"], json!(10));
    assert_eq!(app.services.settings().message_max_allowed_size(), 10);
}

#[tokio::test]
async fn settings_are_persisted_in_the_store() {
    let app = TestApp::new().await;
    app.set_setting("Threads_enabled", json!(false)).await;
    let stored = app.services.store().load_settings().await.expect("load");
    assert!(stored.contains(&("Threads_enabled".to_owned(), json!(false))), "{stored:?}");
}

#[tokio::test]
async fn settings_are_admin_only() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let forbidden = "User does not have the permissions required for this action [error-unauthorized]";
    app.get("/api/v1/settings/Threads_enabled", Some(&alice)).await.err(
        403,
        forbidden,
        Some("error-unauthorized"),
    );
    app.post("/api/v1/settings/Threads_enabled", Some(&alice), json!({"value": false})).await.err(
        403,
        forbidden,
        Some("error-unauthorized"),
    );
    app.get("/api/v1/settings/Threads_enabled", None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
    assert!(app.services.settings().threads_enabled());
}

#[tokio::test]
async fn bad_setting_values_and_ids_are_rejected() {
    let app = TestApp::new().await;
    app.post("/api/v1/settings/Threads_enabled", Some(&app.admin), json!({"value": "yes"}))
        .await
        .err_type("error-invalid-params");
    app.post("/api/v1/settings/API_Upper_Count_Limit", Some(&app.admin), json!({"value": -5}))
        .await
        .err_type("error-invalid-params");
    app.post("/api/v1/settings/Threads_enabled", Some(&app.admin), json!({})).await.err(
        400,
        "The required \"value\" param is missing. [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.get("/api/v1/settings/No_Such_Setting", Some(&app.admin)).await.err_type("error-setting-not-found");
    app.post("/api/v1/settings/No_Such_Setting", Some(&app.admin), json!({"value": 1}))
        .await
        .err_type("error-setting-not-found");
}
