//! users.register, users.create, users.info, users.delete, users.setActiveStatus, users.list.

use crate::support::{usernames, TestApp};
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
    app.get("/api/v1/users.info?username=ghost", Some(&alice)).await.err(400, "User not found.", None);
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

#[tokio::test]
async fn set_active_status_ends_sessions_and_keeps_an_active_admin() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let set = |who: &str, active: bool| json!({"userId": who, "activeStatus": active});
    // Permission first, as Rocket.Chat checks it before the body.
    app.post("/api/v1/users.setActiveStatus", Some(&alice), set(&bob.user_id, false)).await.err(
        403,
        "User does not have the permissions required for this action [error-unauthorized]",
        Some("error-unauthorized"),
    );
    app.post("/api/v1/users.setActiveStatus", Some(&alice), json!({})).await.err(
        403,
        "User does not have the permissions required for this action [error-unauthorized]",
        Some("error-unauthorized"),
    );
    for (body, error) in [
        (json!({"activeStatus": false}), "must have required property 'userId' [invalid-params]"),
        (json!({"userId": bob.user_id}), "must have required property 'activeStatus' [invalid-params]"),
        (json!({"userId": bob.user_id, "activeStatus": "no"}), "must be boolean [invalid-params]"),
        (json!({"userId": 7, "activeStatus": false}), "must be string [invalid-params]"),
    ] {
        app.post("/api/v1/users.setActiveStatus", Some(&app.admin), body).await.err(
            400,
            error,
            Some("invalid-params"),
        );
    }
    app.post("/api/v1/users.setActiveStatus", Some(&app.admin), set("ghost", false)).await.err(
        400,
        "Invalid user [error-invalid-user]",
        Some("error-invalid-user"),
    );

    let off =
        app.post("/api/v1/users.setActiveStatus", Some(&app.admin), set(&bob.user_id, false)).await.ok();
    assert_eq!(off["user"], json!({"_id": bob.user_id, "active": false}));
    // Bob's session ends at once and he cannot log in again; alice is untouched.
    app.get("/api/v1/me", Some(&bob)).await.err(401, "You must be logged in to do this.", None);
    app.post("/api/v1/login", None, json!({"user": "bob", "password": "pw-123456"})).await.err(
        401,
        "Unauthorized",
        None,
    );
    app.get("/api/v1/me", Some(&alice)).await.ok();
    let info = app.get(&format!("/api/v1/users.info?userId={}", bob.user_id), Some(&app.admin)).await.ok();
    assert_eq!(info["user"]["active"], false);
    // Reactivated, he logs in again (the old token stays gone).
    let on = app.post("/api/v1/users.setActiveStatus", Some(&app.admin), set(&bob.user_id, true)).await.ok();
    assert_eq!(on["user"], json!({"_id": bob.user_id, "active": true}));
    app.get("/api/v1/me", Some(&bob)).await.err(401, "You must be logged in to do this.", None);
    app.login("bob", "pw-123456").await;

    // The only active admin cannot be deactivated, not even by themself.
    app.post("/api/v1/users.setActiveStatus", Some(&app.admin), set(&app.admin.user_id, false)).await.err(
        400,
        "Leaving the app without an active admin is not allowed [error-action-not-allowed]",
        Some("error-action-not-allowed"),
    );
    app.get("/api/v1/me", Some(&app.admin)).await.ok();
}

#[tokio::test]
async fn list_sorts_pages_filters_and_hides_addresses() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    app.user("Bob").await;
    app.user("carol").await;
    // By username, byte order (capitals first); addresses only for admins.
    let all = app.get("/api/v1/users.list", Some(&alice)).await.ok();
    // The server's bot is listed, as in Rocket.Chat.
    assert_eq!(usernames(&all), ["Bob", "admin", "alice", "carol", "rocket.cat"]);
    assert_eq!(
        (all["count"].clone(), all["offset"].clone(), all["total"].clone()),
        (json!(5), json!(0), json!(5))
    );
    assert!(all["users"][0].get("emails").is_none(), "{all}");
    assert_eq!(all["users"][0]["active"], true);
    let admin_view = app.get("/api/v1/users.list?count=1&offset=2", Some(&app.admin)).await.ok();
    assert_eq!(usernames(&admin_view), ["alice"]);
    assert_eq!(admin_view["users"][0]["emails"][0]["address"], "alice@example.com");
    assert_eq!((admin_view["count"].clone(), admin_view["total"].clone()), (json!(1), json!(5)));
    // Newest first; by address, whatever its case.
    let newest = app.get("/api/v1/users.list?sort=%7B%22createdAt%22%3A-1%7D", Some(&alice)).await.ok();
    assert_eq!(usernames(&newest)[0], "carol");
    let one = app.get("/api/v1/users.list?email=ALICE%40example.com", Some(&alice)).await.ok();
    assert_eq!((usernames(&one), one["total"].clone()), (vec!["alice".to_owned()], json!(1)));
    // Refusals.
    for (sort, reason) in [
        ("%7B%22emails%22%3A1%7D", "users sort by username, name, createdAt, status or active"),
        ("%7B%22name%22%3A2%7D", "the direction is 1 or -1"),
        ("%5B1%5D", "not an object"),
        ("nope", "not JSON"),
    ] {
        let raw = urlencoding_decode(sort);
        app.get(&format!("/api/v1/users.list?sort={sort}"), Some(&alice)).await.err(
            400,
            &format!("Invalid sort parameter provided: \"{raw}\" ({reason}) [error-invalid-sort]"),
            Some("error-invalid-sort"),
        );
    }
    app.get("/api/v1/users.list?email=", Some(&alice)).await.err(
        400,
        "must NOT have fewer than 1 characters [invalid-params]",
        Some("invalid-params"),
    );
    app.get("/api/v1/users.list?query=%7B%22username%22%3A%22alice%22%7D", Some(&alice))
        .await
        .err_type("error-invalid-query");
    app.get("/api/v1/users.list?count=x", Some(&alice)).await.err_type("error-invalid-params");
    app.get("/api/v1/users.list", None).await.err(401, "You must be logged in to do this.", None);
    // The permission table decides: without `view-d-room`, 403.
    app.post(
        "/api/v1/permissions.update",
        Some(&app.admin),
        json!({"permissions": [{"_id": "view-d-room", "roles": ["admin"]}]}),
    )
    .await
    .ok();
    app.get("/api/v1/users.list", Some(&alice)).await.err(
        403,
        "User does not have the permissions required for this action [error-unauthorized]",
        Some("error-unauthorized"),
    );
    app.get("/api/v1/users.list", Some(&app.admin)).await.ok();
}

/// Percent-decoding of the test's own ASCII literals.
fn urlencoding_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}
