//! users.setStatus, users.getStatus's message, users.update,
//! users.getPreferences / setPreferences (and `me`'s preferences),
//! users.getUsernameSuggestion, users.forgotPassword.

use crate::support::TestApp;
use serde_json::json;

#[tokio::test]
async fn status_and_message_are_set_and_shown() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;

    app.post(
        "/api/v1/users.setStatus",
        Some(&alice),
        json!({"status": "busy", "message": "  in a meeting  "}),
    )
    .await
    .ok();
    let mine = app.get("/api/v1/users.getStatus", Some(&alice)).await.ok();
    assert_eq!((mine["status"].clone(), mine["message"].clone()), (json!("busy"), json!("in a meeting")));
    // Others see it too, and users.info carries `statusText`.
    let seen = app.get(&format!("/api/v1/users.getStatus?userId={}", alice.user_id), Some(&bob)).await.ok();
    assert_eq!(seen["message"], "in a meeting");
    let info = app.get("/api/v1/users.info?username=alice", Some(&bob)).await.ok();
    assert_eq!(
        (info["user"]["status"].clone(), info["user"]["statusText"].clone()),
        (json!("busy"), json!("in a meeting"))
    );
    // A message alone keeps the status; an empty message clears the text;
    // long messages keep their first 120 characters.
    app.post("/api/v1/users.setStatus", Some(&alice), json!({"message": "x".repeat(300)})).await.ok();
    let long = app.get("/api/v1/users.getStatus", Some(&alice)).await.ok();
    assert_eq!((long["status"].clone(), long["message"].as_str().map(str::len)), (json!("busy"), Some(120)));
    app.post("/api/v1/users.setStatus", Some(&alice), json!({"message": ""})).await.ok();
    let info = app.get("/api/v1/users.info?username=alice", Some(&bob)).await.ok();
    assert!(info["user"].get("statusText").is_none(), "{info}");

    // Bad input.
    app.post("/api/v1/users.setStatus", Some(&alice), json!({"status": "sleeping"})).await.err(
        400,
        "Valid status types include online, away, offline, and busy. [error-invalid-status]",
        Some("error-invalid-status"),
    );
    app.post("/api/v1/users.setStatus", Some(&alice), json!({})).await.err(
        400,
        "Match error: Failed Match.OneOf, Match.Maybe or Match.Optional validation",
        None,
    );
    app.post("/api/v1/users.setStatus", Some(&alice), json!({"status": 3})).await.err(
        400,
        "Match error: Expected string, got number in field status",
        None,
    );
    app.post("/api/v1/users.setStatus", None, json!({"status": "away"})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

#[tokio::test]
async fn status_rules_follow_settings_and_permissions() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;

    // Another user's status needs edit-other-user-info (admins).
    app.post("/api/v1/users.setStatus", Some(&bob), json!({"status": "away", "userId": alice.user_id}))
        .await
        .err(
            403,
            "User does not have the permissions required for this action [error-unauthorized]",
            Some("error-unauthorized"),
        );
    // Naming oneself is fine.
    app.post("/api/v1/users.setStatus", Some(&bob), json!({"status": "away", "username": "BOB"})).await.ok();
    app.post("/api/v1/users.setStatus", Some(&app.admin), json!({"status": "away", "username": "alice"}))
        .await
        .ok();
    let alices = app.get("/api/v1/users.getStatus?username=alice", Some(&bob)).await.ok();
    assert_eq!(alices["status"], "away");
    app.post("/api/v1/users.setStatus", Some(&app.admin), json!({"status": "away", "userId": "nobody"}))
        .await
        .err_type("error-invalid-user");

    // Invisible only while allowed; nothing while changes are off.
    app.set_setting("Accounts_AllowInvisibleStatusOption", json!(false)).await;
    app.post("/api/v1/users.setStatus", Some(&bob), json!({"status": "offline"})).await.err(
        400,
        "Invisible status is disabled [error-status-not-allowed]",
        Some("error-status-not-allowed"),
    );
    app.post("/api/v1/users.setStatus", Some(&bob), json!({"status": "online"})).await.ok();
    app.set_setting("Accounts_AllowUserStatusMessageChange", json!(false)).await;
    app.post("/api/v1/users.setStatus", Some(&bob), json!({"message": "hi"})).await.err(
        400,
        "Change status is not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    let bobs = app.get("/api/v1/users.getStatus", Some(&bob)).await.ok();
    assert_eq!((bobs["status"].clone(), bobs["message"].clone()), (json!("online"), json!("")));
    // Both settings are public: clients hide the status editor by them.
    let public = app.get("/api/v1/settings.public", None).await.ok();
    for id in ["Accounts_AllowUserStatusMessageChange", "Accounts_AllowInvisibleStatusOption"] {
        assert!(public["settings"].as_array().is_some_and(|s| s.iter().any(|s| s["_id"] == id)), "{id}");
    }
}

#[tokio::test]
async fn update_edits_fields_with_their_permissions() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;

    let edited = app
        .post(
            "/api/v1/users.update",
            Some(&app.admin),
            json!({"userId": alice.user_id, "data": {
                "name": "Alice Liddell", "email": "alice@wonder.land", "verified": true,
                "password": "new-pass-1", "roles": ["user", "bot"], "statusText": "down the hole",
                "username": "alice", "joinDefaultChannels": false, "customFields": {"x": 1}
            }}),
        )
        .await
        .ok();
    let user = &edited["user"];
    assert_eq!(user["name"], "Alice Liddell");
    assert_eq!(user["emails"], json!([{"address": "alice@wonder.land", "verified": true}]));
    assert_eq!(user["roles"], json!(["user", "bot"]));
    assert_eq!(user["statusText"], "down the hole");
    assert!(!edited.to_string().contains("$2"), "no password hash: {edited}");
    // The new password logs in, the old one no longer does.
    app.login("alice", "new-pass-1").await;
    app.post("/api/v1/login", None, json!({"user": "alice", "password": "pw-123456"})).await.err(
        401,
        "Unauthorized",
        None,
    );
    let found = app.get("/api/v1/users.info?username=alice", Some(&bob)).await.ok();
    assert_eq!(found["user"]["name"], "Alice Liddell");

    // A user edits its own name and address, not its roles nor others.
    let own = app
        .post("/api/v1/users.update", Some(&bob), json!({"userId": bob.user_id, "data": {"name": "Bobby"}}))
        .await
        .ok();
    assert_eq!(own["user"]["name"], "Bobby");
    app.post(
        "/api/v1/users.update",
        Some(&bob),
        json!({"userId": bob.user_id, "data": {"roles": ["admin"]}}),
    )
    .await
    .err(400, "Assign roles is not allowed [error-action-not-allowed]", Some("error-action-not-allowed"));
    app.post("/api/v1/users.update", Some(&bob), json!({"userId": alice.user_id, "data": {"name": "x"}}))
        .await
        .err(400, "Editing user is not allowed [error-action-not-allowed]", Some("error-action-not-allowed"));
    let me = app.get("/api/v1/me", Some(&bob)).await.ok();
    assert_eq!(me["roles"], json!(["user"]), "nothing of a refused update is written");

    // Checked before anything is written.
    app.post(
        "/api/v1/users.update",
        Some(&app.admin),
        json!({"userId": bob.user_id, "data": {"name": "Not written", "email": "ALICE@wonder.land"}}),
    )
    .await
    .err(
        400,
        "Email already exists: ALICE@wonder.land [error-field-unavailable]",
        Some("error-field-unavailable"),
    );
    app.post(
        "/api/v1/users.update",
        Some(&app.admin),
        json!({"userId": bob.user_id, "data": {"name": "Not written", "roles": ["user", "root"]}}),
    )
    .await
    .err(400, "Invalid role root [error-invalid-role]", Some("error-invalid-role"));
    app.post(
        "/api/v1/users.update",
        Some(&app.admin),
        json!({"userId": bob.user_id, "data": {"email": "nope"}}),
    )
    .await
    .err_type("error-invalid-email");
    app.post(
        "/api/v1/users.update",
        Some(&app.admin),
        json!({"userId": bob.user_id, "data": {"name": "Not written", "username": "ALICE"}}),
    )
    .await
    .err(
        400,
        "Username is already in use: ALICE [error-field-unavailable]",
        Some("error-field-unavailable"),
    );
    let bobs = app.get("/api/v1/users.info?username=bob", Some(&bob)).await.ok();
    assert_eq!(bobs["user"]["name"], "Bobby");

    // Shapes.
    app.post("/api/v1/users.update", Some(&app.admin), json!({"data": {}})).await.err(
        400,
        "Match error: Missing key 'userId'",
        None,
    );
    app.post("/api/v1/users.update", Some(&app.admin), json!({"userId": bob.user_id})).await.err(
        400,
        "Match error: Missing key 'data'",
        None,
    );
    app.post("/api/v1/users.update", Some(&app.admin), json!({"userId": bob.user_id, "data": {"name": 5}}))
        .await
        .err(400, "Match error: Expected string, got number in field data.name", None);
    app.post(
        "/api/v1/users.update",
        Some(&app.admin),
        json!({"userId": bob.user_id, "data": {"roles": "admin"}}),
    )
    .await
    .err(400, "Match error: Expected array, got string in field data.roles", None);
    app.post("/api/v1/users.update", Some(&app.admin), json!({"userId": "nobody", "data": {"name": "x"}}))
        .await
        .err(400, "Invalid user [error-invalid-user]", Some("error-invalid-user"));
}

/// A new `username` renames the user everywhere the name is held: their
/// messages, mentions of them, direct rooms and subscriptions, and what
/// the sync routes report as changed; their sessions stay.
#[tokio::test]
async fn update_renames_a_user_everywhere() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let general = app.channel(&alice, "general-talk", &[&bob]).await;
    let own = app.say(&bob, &general, "hello").await;
    let own_id = own["_id"].as_str().expect("id").to_owned();
    let mention = app.say(&alice, &general, "hi @bob, not @bobby").await;
    let mention_id = mention["_id"].as_str().expect("id").to_owned();
    let dm = app.direct(&alice, &bob).await;
    let before = app.message(&alice, &mention_id).await["_updatedAt"].as_str().expect("stamp").to_owned();

    let renamed = app
        .post(
            "/api/v1/users.update",
            Some(&app.admin),
            json!({"userId": bob.user_id, "data": {"username": "robert"}}),
        )
        .await
        .ok();
    assert_eq!(renamed["user"]["username"], "robert");
    let info = app.get("/api/v1/users.info?username=robert", Some(&alice)).await.ok();
    assert_eq!(info["user"]["_id"], bob.user_id.as_str());
    app.get("/api/v1/users.info?username=bob", Some(&alice)).await.err(400, "User not found.", None);

    let own = app.message(&alice, &own_id).await;
    assert_eq!(own["u"]["username"], "robert");
    let mention = app.message(&alice, &mention_id).await;
    assert_eq!(mention["msg"], "hi @robert, not @bobby");
    assert_eq!(mention["mentions"][0]["username"], "robert");
    // The room's sync feed reports both as changed since before the rename.
    let changed = app
        .get(&format!("/api/v1/chat.syncMessages?roomId={general}&lastUpdate={before}"), Some(&alice))
        .await
        .ok();
    let updated: Vec<&str> = changed["result"]["updated"]
        .as_array()
        .expect("updated")
        .iter()
        .filter_map(|m| m["_id"].as_str())
        .collect();
    assert!(updated.contains(&own_id.as_str()) && updated.contains(&mention_id.as_str()), "{updated:?}");
    // alice's direct room is now named after robert, in her room list delta.
    let sub = app.get(&format!("/api/v1/subscriptions.getOne?roomId={dm}"), Some(&alice)).await.ok();
    assert_eq!(sub["subscription"]["name"], "robert");
    let rooms = app.get(&format!("/api/v1/rooms.get?updatedSince={before}"), Some(&alice)).await.ok();
    let dm_room =
        rooms["update"].as_array().expect("update").iter().find(|r| r["_id"] == dm.as_str()).cloned();
    let usernames = dm_room.expect("the direct room is in the delta")["usernames"].clone();
    assert!(usernames.as_array().expect("usernames").contains(&json!("robert")), "{usernames}");
    // bob's session holds, and what he writes now carries the new name.
    let me = app.get("/api/v1/me", Some(&bob)).await.ok();
    assert_eq!(me["username"], "robert");
    assert_eq!(app.say(&bob, &general, "still me").await["u"]["username"], "robert");

    // Renaming oneself follows Accounts_AllowUsernameChange; admins rename
    // others whatever it says.
    app.set_setting("Accounts_AllowUsernameChange", json!(false)).await;
    app.post(
        "/api/v1/users.update",
        Some(&bob),
        json!({"userId": bob.user_id, "data": {"username": "bobbie"}}),
    )
    .await
    .err(
        400,
        "Edit username is not allowed [error-action-not-allowed]",
        Some("error-action-not-allowed"),
    );
    app.post(
        "/api/v1/users.update",
        Some(&app.admin),
        json!({"userId": bob.user_id, "data": {"username": "bobbie"}}),
    )
    .await
    .ok();
    app.set_setting("Accounts_AllowUsernameChange", json!(true)).await;
    let me = app
        .post("/api/v1/users.update", Some(&bob), json!({"userId": bob.user_id, "data": {"username": "bob"}}))
        .await
        .ok();
    assert_eq!(me["user"]["username"], "bob", "renamed back by himself");
    // The same name (trimmed) is no rename; names are checked as at registration.
    app.post(
        "/api/v1/users.update",
        Some(&bob),
        json!({"userId": bob.user_id, "data": {"username": " bob "}}),
    )
    .await
    .ok();
    app.post(
        "/api/v1/users.update",
        Some(&bob),
        json!({"userId": bob.user_id, "data": {"username": "b o b"}}),
    )
    .await
    .err_type("error-invalid-username");
    app.post(
        "/api/v1/users.update",
        Some(&bob),
        json!({"userId": bob.user_id, "data": {"username": "here"}}),
    )
    .await
    .err_type("error-blocked-username");
    assert_eq!(app.message(&alice, &mention_id).await["msg"], "hi @bob, not @bobby");
}

#[tokio::test]
async fn update_deactivates_and_keeps_an_admin() {
    let app = TestApp::new().await;
    let bob = app.user("bob").await;
    app.post(
        "/api/v1/users.update",
        Some(&app.admin),
        json!({"userId": bob.user_id, "data": {"active": false}}),
    )
    .await
    .ok();
    // Bob's session ended.
    app.get("/api/v1/me", Some(&bob)).await.err(401, "You must be logged in to do this.", None);
    // The only admin can neither lose its role nor be deactivated.
    let admin_id = app.admin.user_id.clone();
    app.post(
        "/api/v1/users.update",
        Some(&app.admin),
        json!({"userId": admin_id, "data": {"roles": ["user"]}}),
    )
    .await
    .err(
        400,
        "Leaving the app without an active admin is not allowed [error-action-not-allowed]",
        Some("error-action-not-allowed"),
    );
    app.post(
        "/api/v1/users.update",
        Some(&app.admin),
        json!({"userId": admin_id, "data": {"active": false}}),
    )
    .await
    .err_type("error-action-not-allowed");
    app.get("/api/v1/me", Some(&app.admin)).await.ok();
}

#[tokio::test]
async fn preferences_are_merged_and_shown_in_me() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;

    let none = app.get("/api/v1/users.getPreferences", Some(&alice)).await.ok();
    assert_eq!(none["preferences"], json!({}));
    let set = app
        .post(
            "/api/v1/users.setPreferences",
            Some(&alice),
            json!({"data": {"useEmojis": false, "language": "de", "sidebarSortby": "activity", "notAPreference": 1}}),
        )
        .await
        .ok();
    assert_eq!(
        set["user"],
        json!({"_id": alice.user_id, "settings": {"preferences": {"useEmojis": false, "language": "de", "sidebarSortby": "activity"}}})
    );
    app.post(
        "/api/v1/users.setPreferences",
        Some(&alice),
        json!({"data": {"language": "fr", "highlights": ["deploy"]}}),
    )
    .await
    .ok();
    let merged =
        json!({"useEmojis": false, "language": "fr", "sidebarSortby": "activity", "highlights": ["deploy"]});
    assert_eq!(app.get("/api/v1/users.getPreferences", Some(&alice)).await.ok()["preferences"], merged);
    assert_eq!(app.get("/api/v1/me", Some(&alice)).await.ok()["settings"]["preferences"], merged);
    let login = app.post("/api/v1/login", None, json!({"user": "alice", "password": "pw-123456"})).await.ok();
    assert_eq!(login["data"]["me"]["settings"]["preferences"], merged);
    // Bob's are his own.
    assert_eq!(app.get("/api/v1/users.getPreferences", Some(&bob)).await.ok()["preferences"], json!({}));

    // Another user's need edit-other-user-info.
    app.post(
        "/api/v1/users.setPreferences",
        Some(&bob),
        json!({"userId": alice.user_id, "data": {"language": "en"}}),
    )
    .await
    .err(400, "Editing user is not allowed [error-action-not-allowed]", Some("error-action-not-allowed"));
    app.post(
        "/api/v1/users.setPreferences",
        Some(&app.admin),
        json!({"userId": bob.user_id, "data": {"language": "en"}}),
    )
    .await
    .ok();
    assert_eq!(
        app.get("/api/v1/users.getPreferences", Some(&bob)).await.ok()["preferences"],
        json!({"language": "en"})
    );
    app.post("/api/v1/users.setPreferences", Some(&app.admin), json!({"userId": "nobody", "data": {}}))
        .await
        .err_type("error-invalid-user");

    // Shapes.
    app.post("/api/v1/users.setPreferences", Some(&alice), json!({"data": {"clockMode": "24h"}})).await.err(
        400,
        "Match error: Expected number, got string in field data.clockMode",
        None,
    );
    app.post("/api/v1/users.setPreferences", Some(&alice), json!({})).await.err(
        400,
        "Match error: Missing key 'data'",
        None,
    );
    assert_eq!(
        app.get("/api/v1/users.getPreferences", Some(&alice)).await.ok()["preferences"],
        merged,
        "unchanged"
    );
}

#[tokio::test]
async fn username_suggestion_is_free() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    app.post(
        "/api/v1/users.update",
        Some(&app.admin),
        json!({"userId": alice.user_id, "data": {"name": "Ada Lovelace"}}),
    )
    .await
    .ok();
    let first = app.get("/api/v1/users.getUsernameSuggestion", Some(&alice)).await.ok();
    assert_eq!(first["result"], "ada.lovelace");
    app.post(
        "/api/v1/users.register",
        None,
        json!({"username": "ada.lovelace", "email": "ada@example.com", "pass": "pw-123456"}),
    )
    .await
    .ok();
    // Taken, and so is the address's local part (alice's own name): numbered.
    assert_eq!(
        app.get("/api/v1/users.getUsernameSuggestion", Some(&alice)).await.ok()["result"],
        "ada.lovelace-1"
    );
}

#[tokio::test]
async fn forgot_password_never_tells_whether_an_account_exists() {
    let app = TestApp::new().await;
    app.user("alice").await;
    let known =
        app.post("/api/v1/users.forgotPassword", None, json!({"email": "alice@example.com"})).await.ok();
    let unknown =
        app.post("/api/v1/users.forgotPassword", None, json!({"email": "who@example.com"})).await.ok();
    assert_eq!(known, unknown);
    app.post("/api/v1/users.forgotPassword", None, json!({})).await.err(
        400,
        "The 'email' param is required",
        None,
    );
    app.post("/api/v1/users.forgotPassword", None, json!({"email": 4})).await.err(
        400,
        "The 'email' param is required",
        None,
    );
}

#[tokio::test]
async fn last_login_is_the_latest_login() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let first = app.get("/api/v1/users.getPresence", Some(&alice)).await.ok();
    let at = |v: &serde_json::Value| {
        threadsync_domain::Timestamp::parse(v.as_str().expect("lastLogin")).expect("date")
    };
    let first_login = at(&first["lastLogin"]);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = app.login("alice", "pw-123456").await;
    let me = app.get("/api/v1/me", Some(&again)).await.ok();
    assert!(at(&me["lastLogin"]) > first_login, "{me}");
    // Another user's presence does not tell when it logged in.
    let bob = app.user("bob").await;
    let seen = app.get(&format!("/api/v1/users.getPresence?userId={}", alice.user_id), Some(&bob)).await.ok();
    assert!(seen.get("lastLogin").is_none() && seen.get("connectionStatus").is_none(), "{seen}");
}

#[tokio::test]
async fn create_token_only_where_the_server_allows_it() {
    // Off by default, as in Rocket.Chat.
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    app.post("/api/v1/users.createToken", Some(&alice), json!({"userId": alice.user_id})).await.err(
        400,
        "Not authorized [error-not-authorized]",
        Some("error-not-authorized"),
    );

    let app = TestApp::with_options(threadsync_service::ServiceOptions {
        create_tokens_for_users: true,
        ..threadsync_service::ServiceOptions::default()
    })
    .await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let own = app.post("/api/v1/users.createToken", Some(&alice), json!({"username": "alice"})).await.ok();
    assert_eq!(own["data"]["userId"], json!(alice.user_id));
    let token = own["data"]["authToken"].as_str().expect("token").to_owned();
    assert_ne!(token, alice.token, "a new token");
    let minted = crate::support::Session { token, ..alice.clone() };
    assert_eq!(app.get("/api/v1/me", Some(&minted)).await.ok()["username"], "alice");
    // Another user's: admins (user-generate-access-token) only.
    app.post("/api/v1/users.createToken", Some(&alice), json!({"userId": bob.user_id})).await.err(
        400,
        "Not authorized [error-not-authorized]",
        Some("error-not-authorized"),
    );
    let for_bob =
        app.post("/api/v1/users.createToken", Some(&app.admin), json!({"userId": bob.user_id})).await.ok();
    assert_eq!(for_bob["data"]["userId"], json!(bob.user_id));
    app.post("/api/v1/users.createToken", Some(&app.admin), json!({}))
        .await
        .err_type("error-user-param-not-provided");
    app.post("/api/v1/users.createToken", Some(&app.admin), json!({"userId": "nobody"}))
        .await
        .err_type("error-invalid-user");

    // With a secret configured, it must be given.
    let app = TestApp::with_options(threadsync_service::ServiceOptions {
        create_tokens_for_users: true,
        create_tokens_secret: Some("s3cret".into()),
        ..threadsync_service::ServiceOptions::default()
    })
    .await;
    let alice = app.user("alice").await;
    for wrong in [json!({"userId": alice.user_id}), json!({"userId": alice.user_id, "secret": "nope"})] {
        app.post("/api/v1/users.createToken", Some(&alice), wrong).await.err_type("error-not-authorized");
    }
    app.post("/api/v1/users.createToken", Some(&alice), json!({"userId": alice.user_id, "secret": "s3cret"}))
        .await
        .ok();
}
