//! `rooms.leave`, `rooms.favorite`, `rooms.cleanHistory` and
//! `chat.ignoreUser`: actions on a room of any type.

use crate::support::{Session, TestApp};
use serde_json::{json, Value};

const NO_ROOM: &str =
    "The required \"roomId\" or \"roomName\" param provided does not match any channel [error-room-not-found]";
const NO_PARAM: &str =
    "The parameter \"roomId\" or \"roomName\" is required [error-roomid-param-not-provided]";

async fn subscription(app: &TestApp, who: &Session, rid: &str) -> Value {
    app.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(who)).await.ok()["subscription"]
        .clone()
}

#[tokio::test]
async fn leaving_any_room_keeps_an_owner_and_refuses_direct_messages() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let channel = app.channel(&alice, "town", &[&bob]).await;
    let group = app.group(&alice, "den", &[&bob]).await;
    let dm = app.direct(&alice, &bob).await;

    // A member leaves a channel by id and a group by name.
    assert_eq!(
        app.post("/api/v1/rooms.leave", Some(&bob), json!({"roomId": channel})).await.ok(),
        json!({"success": true})
    );
    assert_eq!(subscription(&app, &bob, &channel).await, Value::Null);
    app.post("/api/v1/rooms.leave", Some(&bob), json!({"roomName": "den"})).await.ok();
    assert_eq!(subscription(&app, &bob, &group).await, Value::Null);
    let info = app.get(&format!("/api/v1/groups.info?roomId={group}"), Some(&alice)).await.ok();
    assert_eq!(info["group"]["usersCount"], 1);
    // The removal is remembered for the roster delta.
    let delta =
        app.get("/api/v1/subscriptions.get?updatedSince=2001-01-01T00:00:00.000Z", Some(&bob)).await.ok();
    let removed: Vec<&str> =
        delta["remove"].as_array().expect("list").iter().filter_map(|r| r["_id"].as_str()).collect();
    assert_eq!(removed.len(), 2, "{delta}");

    // Not a member (any more).
    let body = app.post("/api/v1/rooms.leave", Some(&bob), json!({"roomId": channel})).await.err(
        400,
        "You are not in this room [error-user-not-in-room]",
        Some("error-user-not-in-room"),
    );
    assert_eq!(body["details"], json!({"method": "leaveRoom"}));
    // The only owner stays.
    app.post("/api/v1/rooms.leave", Some(&alice), json!({"roomId": channel})).await.err(
        400,
        "You are the last owner. Please set new owner before leaving the room. [error-you-are-last-owner]",
        Some("error-you-are-last-owner"),
    );
    // A direct message cannot be left.
    let body = app.post("/api/v1/rooms.leave", Some(&bob), json!({"roomId": dm})).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    assert_eq!(body["details"], json!({"method": "leaveRoom"}));
    assert!(subscription(&app, &bob, &dm).await.is_object());
    // Naming no room, or one that does not exist.
    app.post("/api/v1/rooms.leave", Some(&carol), json!({})).await.err(
        400,
        NO_PARAM,
        Some("error-roomid-param-not-provided"),
    );
    app.post("/api/v1/rooms.leave", Some(&carol), json!({"roomId": "nope"})).await.err(
        400,
        NO_ROOM,
        Some("error-room-not-found"),
    );
    app.post("/api/v1/rooms.leave", None, json!({"roomId": channel})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

#[tokio::test]
async fn leaving_follows_the_permission_table() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let channel = app.channel(&alice, "town", &[&bob]).await;
    let group = app.group(&alice, "den", &[&bob]).await;
    app.post(
        "/api/v1/permissions.update",
        Some(&app.admin),
        json!({"permissions": [{"_id": "leave-c", "roles": ["admin"]}]}),
    )
    .await
    .ok();
    app.post("/api/v1/rooms.leave", Some(&bob), json!({"roomId": channel})).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    assert!(subscription(&app, &bob, &channel).await.is_object());
    // `leave-p` is another permission.
    app.post("/api/v1/rooms.leave", Some(&bob), json!({"roomId": group})).await.ok();
}

#[tokio::test]
async fn a_favourite_is_the_members_own_mark_and_is_synced() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let channel = app.channel(&alice, "town", &[&bob]).await;
    let before = subscription(&app, &bob, &channel).await;
    assert_eq!(before.get("f"), None, "Rocket.Chat writes `f` only when true: {before}");
    let since = before["_updatedAt"].as_str().expect("stamp").to_owned();

    app.post("/api/v1/rooms.favorite", Some(&bob), json!({"roomId": channel, "favorite": true})).await.ok();
    let marked = subscription(&app, &bob, &channel).await;
    assert_eq!(marked["f"], true);
    assert!(marked["_updatedAt"].as_str() > Some(since.as_str()));
    assert_eq!(subscription(&app, &alice, &channel).await.get("f"), None, "only bob's");
    // The change is in bob's subscription delta and his room list.
    let delta = app.get(&format!("/api/v1/subscriptions.get?updatedSince={since}"), Some(&bob)).await.ok();
    let update = delta["update"].as_array().expect("list");
    assert!(update.iter().any(|s| s["rid"] == json!(channel) && s["f"] == true), "{delta}");

    // By name, and back.
    app.post("/api/v1/rooms.favorite", Some(&bob), json!({"roomName": "town", "favorite": false})).await.ok();
    assert_eq!(subscription(&app, &bob, &channel).await.get("f"), None);

    // Refusals: `favorite` missing or not a boolean, no room, not a member.
    app.post("/api/v1/rooms.favorite", Some(&bob), json!({"roomId": channel})).await.err(
        400,
        "The 'favorite' param is required [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.post("/api/v1/rooms.favorite", Some(&bob), json!({"roomId": channel, "favorite": "yes"}))
        .await
        .err_type("error-invalid-params");
    app.post("/api/v1/rooms.favorite", Some(&bob), json!({"favorite": true})).await.err(
        400,
        NO_PARAM,
        Some("error-roomid-param-not-provided"),
    );
    app.post("/api/v1/rooms.favorite", Some(&bob), json!({"roomId": "nope", "favorite": true})).await.err(
        400,
        NO_ROOM,
        Some("error-room-not-found"),
    );
    let body = app
        .post("/api/v1/rooms.favorite", Some(&carol), json!({"roomId": channel, "favorite": true}))
        .await
        .err(
            400,
            "You must be part of a room to favorite it [error-invalid-subscription]",
            Some("error-invalid-subscription"),
        );
    assert_eq!(body["details"], json!({"method": "toggleFavorite"}));
}

fn ts(message: &Value) -> String {
    message["ts"].as_str().expect("ts").to_owned()
}

fn mid(message: &Value) -> String {
    message["_id"].as_str().expect("id").to_owned()
}

async fn exists(app: &TestApp, id: &str) -> bool {
    app.services.store().message_by_id(id).await.expect("store").is_some()
}

#[tokio::test]
async fn clean_history_removes_a_range_for_sync_to_see() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = app.channel(&alice, "town", &[&bob]).await;
    let first = app.say(&alice, &rid, "first").await;
    let parent = app.say(&bob, &rid, "parent").await;
    let reply = app.reply_in(&alice, &rid, &mid(&parent), "reply").await;
    let pinned = app.say(&bob, &rid, "pinned").await;
    app.post("/api/v1/chat.pinMessage", Some(&app.admin), json!({"messageId": mid(&pinned)})).await.ok();
    let by_alice = app.say(&alice, &rid, "alice again").await;
    let last = app.say(&bob, &rid, "last").await;
    let clean = |body: Value| {
        let app = &app;
        async move { app.post("/api/v1/rooms.cleanHistory", Some(&app.admin), body).await }
    };

    // Exclusive ends: `first` and `last` stay. Pinned ones stay when asked;
    // only alice's messages when `users` names her.
    let only_alice = clean(json!({
        "roomId": rid, "oldest": ts(&first), "latest": ts(&last), "users": ["alice"], "excludePinned": "true",
    }))
    .await
    .ok();
    assert_eq!(only_alice, json!({"success": true, "_id": rid, "count": 2}));
    assert!(!exists(&app, &mid(&reply)).await && !exists(&app, &mid(&by_alice)).await);
    assert!(exists(&app, &mid(&first)).await && exists(&app, &mid(&parent)).await);
    // Threads kept when ignored; then everything in range but the pin.
    let kept = clean(json!({"roomName": "town", "oldest": ts(&first), "latest": ts(&last), "ignoreThreads": true, "excludePinned": true}))
        .await
        .ok();
    assert_eq!(kept["count"], 1, "only the pin's notice (no thread, not pinned itself): {kept}");
    assert!(exists(&app, &mid(&parent)).await);
    let since = ts(&first);
    let rest = clean(json!({"roomId": rid, "oldest": ts(&first), "latest": ts(&last), "excludePinned": 1}))
        .await
        .ok();
    assert_eq!(rest["count"], 1, "the parent (its reply already gone): {rest}");
    assert!(!exists(&app, &mid(&parent)).await);
    assert!(
        exists(&app, &mid(&pinned)).await
            && exists(&app, &mid(&first)).await
            && exists(&app, &mid(&last)).await
    );
    // Inclusive ends and a limit: the newest first.
    let one = clean(
        json!({"roomId": rid, "oldest": ts(&first), "latest": ts(&last), "inclusive": true, "limit": 1}),
    )
    .await
    .ok();
    assert_eq!(one["count"], 1);
    assert!(!exists(&app, &mid(&last)).await && exists(&app, &mid(&pinned)).await);

    // Every removal is a tombstone that sync reports.
    let sync =
        app.get(&format!("/api/v1/chat.syncMessages?roomId={rid}&lastUpdate={since}"), Some(&bob)).await.ok();
    let deleted: Vec<&str> = sync["result"]["deleted"]
        .as_array()
        .expect("deleted")
        .iter()
        .filter_map(|m| m["_id"].as_str())
        .collect();
    for gone in [&reply, &by_alice, &parent, &last] {
        assert!(deleted.contains(&mid(gone).as_str()), "{} not in {sync}", mid(gone));
    }
    // Files only, in a room that shares none: nothing to prune.
    let files = clean(json!({"roomId": rid, "oldest": "2000-01-01T00:00:00.000Z", "latest": "2100-01-01T00:00:00.000Z", "filesOnly": true}))
        .await
        .ok();
    assert_eq!(files["count"], 0);
}

#[tokio::test]
async fn clean_history_refusals() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let rid = app.channel(&alice, "town", &[]).await;
    let range = |extra: Value| {
        let mut body = json!({"roomId": rid, "oldest": "2000-01-01T00:00:00.000Z", "latest": "2100-01-01T00:00:00.000Z"});
        body.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        body
    };
    // The owner of the room is no admin: `clean-channel-history` is admins'.
    let body = app.post("/api/v1/rooms.cleanHistory", Some(&alice), range(json!({}))).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    assert_eq!(body["details"], json!({"method": "cleanRoomHistory"}));
    let admin = Some(&app.admin);
    let missing =
        app.post("/api/v1/rooms.cleanHistory", admin, json!({"roomId": rid, "oldest": "2000-01-01"})).await;
    assert_eq!(missing.status.as_u16(), 400);
    assert_eq!(missing.body, json!({"success": false, "error": "Body parameter \"latest\" is required."}));
    app.post("/api/v1/rooms.cleanHistory", admin, range(json!({"oldest": "yesterday"})))
        .await
        .err_type("error-invalid-params");
    app.post("/api/v1/rooms.cleanHistory", admin, range(json!({"excludePinned": "maybe"})))
        .await
        .err_type("error-invalid-params");
    app.post("/api/v1/rooms.cleanHistory", admin, range(json!({"limit": -1})))
        .await
        .err_type("error-invalid-params");
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    app.post("/api/v1/rooms.cleanHistory", admin, range(json!({"users": many})))
        .await
        .err_type("error-invalid-params");
    app.post("/api/v1/rooms.cleanHistory", admin, range(json!({"roomId": "nope"}))).await.err(
        400,
        NO_ROOM,
        Some("error-room-not-found"),
    );
    // Granted in the table, the owner may.
    app.post(
        "/api/v1/permissions.update",
        admin,
        json!({"permissions": [{"_id": "clean-channel-history", "roles": ["admin", "owner"]}]}),
    )
    .await
    .ok();
    app.say(&alice, &rid, "to go").await;
    let done = app.post("/api/v1/rooms.cleanHistory", Some(&alice), range(json!({}))).await.ok();
    assert_eq!(done["count"], 1);
}

#[tokio::test]
async fn ignoring_a_member_marks_ones_own_subscription() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = app.group(&alice, "den", &[&bob]).await;
    let ignore = |query: String| {
        let app = &app;
        let alice = alice.clone();
        async move { app.get(&format!("/api/v1/chat.ignoreUser?{query}"), Some(&alice)).await }
    };
    assert_eq!(ignore(format!("rid={rid}&userId={}", bob.user_id)).await.ok(), json!({"success": true}));
    assert_eq!(subscription(&app, &alice, &rid).await["ignored"], json!([bob.user_id]));
    // Twice is once; bob's own subscription is untouched.
    ignore(format!("rid={rid}&userId={}&ignore=true", bob.user_id)).await.ok();
    assert_eq!(subscription(&app, &alice, &rid).await["ignored"], json!([bob.user_id]));
    assert_eq!(subscription(&app, &bob, &rid).await.get("ignored"), None);
    ignore(format!("rid={rid}&userId={}&ignore=false", bob.user_id)).await.ok();
    assert_eq!(subscription(&app, &alice, &rid).await.get("ignored"), None, "an empty list is not written");

    ignore(format!("userId={}", bob.user_id)).await.err(
        400,
        "The required \"rid\" param is required. [error-room-id-param-not-provided]",
        Some("error-room-id-param-not-provided"),
    );
    ignore(format!("rid={rid}")).await.err(
        400,
        "The required \"userId\" param is required. [error-user-id-param-not-provided]",
        Some("error-user-id-param-not-provided"),
    );
    // The ignored user must be a member, and so must the caller.
    let body = ignore(format!("rid={rid}&userId={}", carol.user_id)).await.err(
        400,
        "Invalid subscription [error-invalid-subscription]",
        Some("error-invalid-subscription"),
    );
    assert_eq!(body["details"], json!({"method": "ignoreUser"}));
    app.get(&format!("/api/v1/chat.ignoreUser?rid={rid}&userId={}", bob.user_id), Some(&carol))
        .await
        .err_type("error-invalid-subscription");
}
