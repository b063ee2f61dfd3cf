//! `users.setAvatar`, `users.resetAvatar`, `users.getAvatar`, and the
//! pictures `/avatar/<username>` serves.

use crate::support::{post_form, Part, Session, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

fn image<'a>(name: &'a str, content_type: &'a str, bytes: &'a [u8]) -> Part<'a> {
    Part::File { field: "image", name, content_type: Some(content_type), bytes }
}

async fn picture(
    app: &TestApp,
    path: &str,
    if_none_match: Option<&str>,
) -> (StatusCode, String, String, Vec<u8>) {
    let mut req = Request::get(path);
    if let Some(etag) = if_none_match {
        req = req.header("if-none-match", etag);
    }
    let reply = app.send(req.body(Body::empty()).expect("request")).await;
    let header =
        |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (reply.status, header("content-type"), header("etag"), reply.bytes.to_vec())
}

fn stored_pictures(app: &TestApp) -> usize {
    std::fs::read_dir(app.files_dir())
        .expect("files dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("avatar-"))
        .count()
}

async fn set(app: &TestApp, who: &Session, parts: &[Part<'_>]) -> crate::support::Reply {
    post_form(app, "/api/v1/users.setAvatar", who, parts).await
}

#[tokio::test]
async fn an_uploaded_picture_replaces_the_initials_until_reset() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let (status, content_type, _, _) = picture(&app, "/avatar/alice", None).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "image/svg+xml"), "drawn");

    set(&app, &alice, &[image("me.png", "image/png", b"first picture")]).await.ok();
    let (status, content_type, etag, bytes) = picture(&app, "/avatar/alice", None).await;
    assert_eq!(
        (status, content_type.as_str(), bytes.as_slice()),
        (StatusCode::OK, "image/png", &b"first picture"[..])
    );
    assert!(!etag.is_empty());
    let (status, _, _, bytes) = picture(&app, "/avatar/alice", Some(&etag)).await;
    assert_eq!((status, bytes.len()), (StatusCode::NOT_MODIFIED, 0), "revalidated by its ETag");
    let (_, _, _, bytes) = picture(&app, "/avatar/@alice.png", None).await;
    assert_eq!(bytes, b"first picture", "Rocket.Chat's @ and extension forms");

    // A new picture: a new ETag, and the old bytes are gone.
    set(&app, &alice, &[image("me.jpg", "image/jpeg", b"second picture")]).await.ok();
    let (_, content_type, new_etag, bytes) = picture(&app, "/avatar/alice", Some(&etag)).await;
    assert_eq!((content_type.as_str(), bytes.as_slice()), ("image/jpeg", &b"second picture"[..]));
    assert_ne!(new_etag, etag);
    assert_eq!(stored_pictures(&app), 1, "the replaced picture's bytes are removed");

    app.post("/api/v1/users.resetAvatar", Some(&alice), json!({"username": "alice"})).await.ok();
    let (_, content_type, _, _) = picture(&app, "/avatar/alice", None).await;
    assert_eq!(content_type, "image/svg+xml", "drawn again");
    assert_eq!(stored_pictures(&app), 0);

    // No username holds a NUL (and PostgreSQL refuses one in a parameter).
    let (status, content_type, _, _) = picture(&app, "/avatar/ali%00ce", None).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::BAD_REQUEST, "application/json"));
}

#[tokio::test]
async fn another_user_s_picture_needs_the_permission() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    set(&app, &bob, &[image("x.png", "image/png", b"x"), Part::Text("username", "alice")]).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    app.post("/api/v1/users.resetAvatar", Some(&bob), json!({"userId": alice.user_id})).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    assert_eq!(stored_pictures(&app), 0, "a refused picture is not kept");
    // Admins hold edit-other-user-avatar.
    set(&app, &app.admin, &[image("x.png", "image/png", b"by admin"), Part::Text("userId", &alice.user_id)])
        .await
        .ok();
    assert_eq!(picture(&app, "/avatar/alice", None).await.3, b"by admin");
    set(&app, &app.admin, &[image("x.png", "image/png", b"x"), Part::Text("username", "nobody")])
        .await
        .err_type("error-invalid-user");

    // With changes switched off, only holders of the permission change pictures.
    app.set_setting("Accounts_AllowUserAvatarChange", json!(false)).await;
    set(&app, &alice, &[image("x.png", "image/png", b"x")]).await.err(
        400,
        "Change avatar is not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    app.post("/api/v1/users.resetAvatar", Some(&alice), json!({"username": "alice"}))
        .await
        .err_type("error-not-allowed");
    app.post("/api/v1/users.resetAvatar", Some(&app.admin), json!({"username": "alice"})).await.ok();
}

#[tokio::test]
async fn pictures_are_images_of_bounded_size() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    set(&app, &alice, &[image("notes.txt", "text/plain", b"x")]).await.err(
        400,
        "The avatar must be an image [error-invalid-image]",
        Some("error-invalid-image"),
    );
    let big = vec![b'x'; threadsync_service::MAX_AVATAR_BYTES as usize + 1];
    set(&app, &alice, &[image("big.png", "image/png", &big)]).await.err_type("error-file-too-large");
    set(
        &app,
        &alice,
        &[Part::File { field: "file", name: "a.png", content_type: Some("image/png"), bytes: b"x" }],
    )
    .await
    .err(400, "[invalid-field]", Some("invalid-field"));
    app.post("/api/v1/users.setAvatar", Some(&alice), json!({"avatarUrl": "https://example.com/a.png"}))
        .await
        .err_type("error-avatar-url-handling");
    app.post("/api/v1/users.setAvatar", Some(&alice), json!({})).await.err_type("error-invalid-params");
    assert_eq!(stored_pictures(&app), 0);
}

#[tokio::test]
async fn get_avatar_redirects_to_the_picture() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    for query in [format!("userId={}", alice.user_id), "username=alice".to_owned()] {
        let req = Request::get(format!("/api/v1/users.getAvatar?{query}"))
            .header("X-User-Id", &alice.user_id)
            .header("X-Auth-Token", &alice.token);
        let reply = app.send(req.body(Body::empty()).expect("request")).await;
        assert_eq!(reply.status, StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(reply.headers["location"], "/avatar/alice");
    }
    app.get("/api/v1/users.getAvatar?userId=nope", Some(&alice)).await.err_type("error-invalid-user");
    app.get("/api/v1/users.getAvatar", Some(&alice)).await.err_type("error-user-param-not-provided");
}
