//! Rooms: `channels.*`, `groups.*`, `im.create` / `dm.create`, `rooms.info`,
//! `subscriptions.getOne` (docs/contract.md#rooms-and-access).

use crate::support::{Session, TestApp};
use serde_json::{json, Value};

const CHANNEL_NOT_FOUND: &str =
    "The required \"roomId\" or \"roomName\" param provided does not match any channel [error-room-not-found]";
const GROUP_NOT_FOUND: &str =
    "The required \"roomId\" or \"roomName\" param provided does not match any group [error-room-not-found]";
const ROOM_PARAM_MISSING: &str =
    "The parameter \"roomId\" or \"roomName\" is required [error-roomid-param-not-provided]";
const GROUP_PARAM_MISSING: &str =
    "The parameter \"roomId\" or \"roomName\" is required [error-room-param-not-provided]";
const NOT_ALLOWED: &str = "Not allowed [error-not-allowed]";
const LAST_OWNER: &str =
    "You are the last owner. Please set new owner before leaving the room. [error-you-are-last-owner]";
const NOT_IN_ROOM: &str = "User is not in this room [error-user-not-in-room]";
const NO_SUCH_USER: &str =
    "The required \"userId\" or \"username\" param provided does not match any users [error-invalid-user]";
const USER_PARAM_MISSING: &str =
    "The required \"userId\" or \"username\" param was not provided [error-user-param-not-provided]";

/// Creates a room through `<family>.create` and returns its JSON.
async fn create(app: &TestApp, family: &str, owner: &Session, name: &str, members: &[&str]) -> Value {
    let key = if family == "channels" { "channel" } else { "group" };
    let body = app
        .post(&format!("/api/v1/{family}.create"), Some(owner), json!({"name": name, "members": members}))
        .await
        .ok();
    body[key].clone()
}

fn id_of(room: &Value) -> String {
    room["_id"].as_str().expect("room _id").to_owned()
}

fn usernames(members: &Value) -> Vec<String> {
    members
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["username"].as_str().expect("username").to_owned())
        .collect()
}

fn names(rooms: &Value) -> Vec<String> {
    rooms.as_array().expect("array").iter().map(|r| r["name"].as_str().expect("name").to_owned()).collect()
}

async fn members_of(app: &TestApp, family: &str, rid: &str, session: &Session) -> Vec<String> {
    let body = app.get(&format!("/api/v1/{family}.members?roomId={rid}"), Some(session)).await.ok();
    usernames(&body["members"])
}

async fn subscription(app: &TestApp, rid: &str, session: &Session) -> Value {
    app.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(session)).await.ok()["subscription"]
        .clone()
}

// ---------------------------------------------------------------- create

#[tokio::test]
async fn channels_create_makes_the_caller_owner_and_adds_members() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let body = app
        .post(
            "/api/v1/channels.create",
            Some(&alice),
            json!({"name": "dev-room.1", "members": ["bob", "alice", "BOB"]}),
        )
        .await
        .ok();
    let channel = &body["channel"];
    assert_eq!(channel["_id"].as_str().map(str::len), Some(17), "{channel}");
    assert_eq!(channel["t"], "c");
    assert_eq!(channel["name"], "dev-room.1");
    assert_eq!(channel["fname"], "dev-room.1");
    assert_eq!(channel["usersCount"], 2);
    assert_eq!(channel["msgs"], 0);
    assert_eq!(channel["ro"], false);
    assert_eq!(channel["sysMes"], true);
    assert_eq!(channel["default"], false);
    assert_eq!(channel["u"]["_id"], json!(alice.user_id));
    assert_eq!(channel["u"]["username"], "alice");
    assert!(channel["ts"].as_str().is_some_and(|t| t.ends_with('Z')), "{channel}");
    assert!(channel["_updatedAt"].as_str().is_some(), "{channel}");

    let rid = id_of(channel);
    assert_eq!(members_of(&app, "channels", &rid, &alice).await, ["alice", "bob"]);
    let owner_sub = subscription(&app, &rid, &alice).await;
    assert_eq!(owner_sub["roles"], json!(["owner"]));
    assert_eq!(owner_sub["name"], "dev-room.1");
    assert_eq!(owner_sub["t"], "c");
    let member_sub = subscription(&app, &rid, &bob).await;
    assert_eq!(member_sub["roles"], json!([]));
    assert_eq!(member_sub["u"]["_id"], json!(bob.user_id));
}

#[tokio::test]
async fn channels_create_read_only() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let body = app
        .post("/api/v1/channels.create", Some(&alice), json!({"name": "news", "readOnly": true}))
        .await
        .ok();
    assert_eq!(body["channel"]["ro"], true);
    assert_eq!(body["channel"]["sysMes"], false);
    assert_eq!(body["channel"]["usersCount"], 1);
}

#[tokio::test]
async fn create_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    for family in ["channels", "groups"] {
        let path = format!("/api/v1/{family}.create");
        app.post(&path, Some(&alice), json!({})).await.err(
            400,
            "The required \"name\" param is missing. [error-invalid-params]",
            Some("error-invalid-params"),
        );
        app.post(&path, Some(&alice), json!({"name": "with space"})).await.err(
            400,
            "with space is not a valid room name. [error-invalid-room-name]",
            Some("error-invalid-room-name"),
        );
        app.post(&path, Some(&alice), json!({"name": "x".repeat(65)}))
            .await
            .err_type("error-invalid-room-name");
        app.post(&path, Some(&alice), json!({"name": "all"})).await.err_type("error-invalid-room-name");
        app.post(&path, Some(&alice), json!({"name": "ok-name", "members": ["ghost", "bob"]})).await.err(
            400,
            "Invalid username: ghost, bob [error-invalid-username]",
            Some("error-invalid-username"),
        );
        app.post(&path, Some(&alice), json!({"name": "ok-name", "members": "bob"}))
            .await
            .err_type("error-invalid-params");
        app.post(&path, None, json!({"name": "nobody"})).await.err(
            401,
            "You must be logged in to do this.",
            None,
        );
    }
    // Names are unique across channels and groups, case-insensitively.
    create(&app, "channels", &alice, "taken", &[]).await;
    for (family, name) in [("channels", "taken"), ("channels", "TAKEN"), ("groups", "Taken")] {
        app.post(&format!("/api/v1/{family}.create"), Some(&alice), json!({"name": name})).await.err(
            400,
            &format!("A channel with name '{name}' exists [error-duplicate-channel-name]"),
            Some("error-duplicate-channel-name"),
        );
    }
    app.post("/api/v1/groups.create", Some(&alice), json!({"name": "general"}))
        .await
        .err_type("error-duplicate-channel-name");
    // Nothing half-created by the refusals.
    let joined = app.get("/api/v1/channels.list.joined", Some(&alice)).await.ok();
    assert_eq!(names(&joined["channels"]), ["general", "taken"]);
    let groups = app.get("/api/v1/groups.list", Some(&alice)).await.ok();
    assert_eq!(groups["total"], 0);
}

// ---------------------------------------------------------------- channels

#[tokio::test]
async fn channels_info_is_readable_by_any_user() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let outsider = app.user("olga").await;
    let rid = id_of(&create(&app, "channels", &alice, "Public-One", &[]).await);

    let by_id = app.get(&format!("/api/v1/channels.info?roomId={rid}"), Some(&outsider)).await.ok();
    assert_eq!(by_id["channel"]["_id"], json!(rid));
    assert_eq!(by_id["channel"]["name"], "Public-One");
    assert_eq!(by_id["channel"]["usersCount"], 1);
    let by_name = app.get("/api/v1/channels.info?roomName=public-one", Some(&outsider)).await.ok();
    assert_eq!(by_name["channel"]["_id"], json!(rid));
    let general = app.get("/api/v1/channels.info?roomName=general", Some(&alice)).await.ok();
    assert_eq!(general["channel"]["_id"], "GENERAL");
    assert_eq!(general["channel"]["default"], true);
    // Both admin and alice and olga joined GENERAL at registration.
    assert_eq!(general["channel"]["usersCount"], 3);
}

#[tokio::test]
async fn channels_info_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let gid = id_of(&create(&app, "groups", &alice, "secret", &[]).await);
    app.get("/api/v1/channels.info", Some(&alice)).await.err(
        400,
        ROOM_PARAM_MISSING,
        Some("error-roomid-param-not-provided"),
    );
    app.get("/api/v1/channels.info?roomId=&roomName=", Some(&alice))
        .await
        .err_type("error-roomid-param-not-provided");
    app.get("/api/v1/channels.info?roomId=nope", Some(&alice)).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.get("/api/v1/channels.info?roomName=nope", Some(&alice)).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    // A group is not a channel, even for its owner.
    app.get(&format!("/api/v1/channels.info?roomId={gid}"), Some(&alice)).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.get("/api/v1/channels.info?roomId=GENERAL", None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

#[tokio::test]
async fn channels_join() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = id_of(&create(&app, "channels", &alice, "open", &[]).await);

    let joined = app.post("/api/v1/channels.join", Some(&bob), json!({"roomId": rid})).await.ok();
    assert_eq!(joined["channel"]["_id"], json!(rid));
    assert_eq!(joined["channel"]["usersCount"], 2);
    assert_eq!(members_of(&app, "channels", &rid, &bob).await, ["alice", "bob"]);
    assert_eq!(subscription(&app, &rid, &bob).await["roles"], json!([]));
    // Joining again is a no-op.
    let again = app.post("/api/v1/channels.join", Some(&bob), json!({"roomName": "open"})).await.ok();
    assert_eq!(again["channel"]["usersCount"], 2);
}

#[tokio::test]
async fn channels_join_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let gid = id_of(&create(&app, "groups", &alice, "secret", &[]).await);
    app.post("/api/v1/channels.join", Some(&bob), json!({})).await.err(
        400,
        ROOM_PARAM_MISSING,
        Some("error-roomid-param-not-provided"),
    );
    app.post("/api/v1/channels.join", Some(&bob), json!({"roomId": "nope"})).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post("/api/v1/channels.join", Some(&bob), json!({"roomId": gid})).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    // Even for the admin, and even for a member of the group.
    app.post("/api/v1/channels.join", Some(&app.admin), json!({"roomId": gid})).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    app.post("/api/v1/channels.join", Some(&alice), json!({"roomId": gid})).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    let info = app.get(&format!("/api/v1/groups.info?roomId={gid}"), Some(&alice)).await.ok();
    assert_eq!(info["group"]["usersCount"], 1);
    app.post("/api/v1/channels.join", None, json!({"roomId": "GENERAL"})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

#[tokio::test]
async fn channels_invite() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = id_of(&create(&app, "channels", &alice, "team", &[]).await);

    let by_name = app
        .post("/api/v1/channels.invite", Some(&alice), json!({"roomId": rid, "username": "bob"}))
        .await
        .ok();
    assert_eq!(by_name["channel"]["usersCount"], 2);
    // A plain member may not invite (`add-user-to-joined-room` is the
    // owners', moderators' and admins')...
    let body = json!({"roomName": "team", "userId": carol.user_id});
    app.post("/api/v1/channels.invite", Some(&bob), body.clone()).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    // ...unless the table says members may.
    app.post(
        "/api/v1/permissions.update",
        Some(&app.admin),
        json!({"permissions": [{"_id": "add-user-to-joined-room", "roles": ["admin", "owner", "moderator", "user"]}]}),
    )
    .await
    .ok();
    let by_id = app.post("/api/v1/channels.invite", Some(&bob), body).await.ok();
    assert_eq!(by_id["channel"]["usersCount"], 3);
    // Inviting a member again changes nothing.
    let again = app
        .post("/api/v1/channels.invite", Some(&alice), json!({"roomId": rid, "username": "carol"}))
        .await
        .ok();
    assert_eq!(again["channel"]["usersCount"], 3);
    assert_eq!(members_of(&app, "channels", &rid, &alice).await, ["alice", "bob", "carol"]);
    // An admin who is not a member may invite (`add-user-to-any-c-room`).
    let dave = app.user("dave").await;
    let by_admin = app
        .post("/api/v1/channels.invite", Some(&app.admin), json!({"roomId": rid, "username": "dave"}))
        .await
        .ok();
    assert_eq!(by_admin["channel"]["usersCount"], 4);
    assert_eq!(subscription(&app, &rid, &dave).await["rid"], json!(rid));
}

#[tokio::test]
async fn channels_invite_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let outsider = app.user("olga").await;
    app.user("bob").await;
    let rid = id_of(&create(&app, "channels", &alice, "team", &[]).await);
    let gid = id_of(&create(&app, "groups", &alice, "secret", &[]).await);
    let path = "/api/v1/channels.invite";

    app.post(path, Some(&outsider), json!({"roomId": rid, "username": "bob"})).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    app.post(path, Some(&alice), json!({"username": "bob"})).await.err(
        400,
        ROOM_PARAM_MISSING,
        Some("error-roomid-param-not-provided"),
    );
    app.post(path, Some(&alice), json!({"roomId": rid})).await.err(
        400,
        USER_PARAM_MISSING,
        Some("error-user-param-not-provided"),
    );
    app.post(path, Some(&alice), json!({"roomId": rid, "username": "ghost"})).await.err(
        400,
        NO_SUCH_USER,
        Some("error-invalid-user"),
    );
    app.post(path, Some(&alice), json!({"roomId": rid, "userId": "nope"})).await.err(
        400,
        NO_SUCH_USER,
        Some("error-invalid-user"),
    );
    app.post(path, Some(&alice), json!({"roomId": "nope", "username": "bob"})).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, Some(&alice), json!({"roomId": gid, "username": "bob"})).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, None, json!({"roomId": rid, "username": "bob"})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
    let info = app.get(&format!("/api/v1/channels.info?roomId={rid}"), Some(&alice)).await.ok();
    assert_eq!(info["channel"]["usersCount"], 1);
}

#[tokio::test]
async fn channels_kick() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.user("carol").await;
    let rid = id_of(&create(&app, "channels", &alice, "team", &["bob", "carol"]).await);

    let kicked = app
        .post("/api/v1/channels.kick", Some(&alice), json!({"roomId": rid, "userId": bob.user_id}))
        .await
        .ok();
    assert_eq!(kicked["channel"]["usersCount"], 2);
    assert_eq!(members_of(&app, "channels", &rid, &alice).await, ["alice", "carol"]);
    assert_eq!(subscription(&app, &rid, &bob).await, Value::Null);
    // An admin who is not a member may kick too.
    let by_admin = app
        .post("/api/v1/channels.kick", Some(&app.admin), json!({"roomName": "team", "username": "carol"}))
        .await
        .ok();
    assert_eq!(by_admin["channel"]["usersCount"], 1);
}

#[tokio::test]
async fn channels_kick_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = id_of(&create(&app, "channels", &alice, "team", &["bob"]).await);
    let gid = id_of(&create(&app, "groups", &alice, "secret", &["bob"]).await);
    let path = "/api/v1/channels.kick";

    // A plain member may not kick.
    app.post(path, Some(&bob), json!({"roomId": rid, "username": "alice"})).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    // Neither may an outsider.
    app.post(path, Some(&carol), json!({"roomId": rid, "username": "bob"})).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    app.post(path, Some(&alice), json!({"roomId": rid, "userId": carol.user_id})).await.err(
        400,
        NOT_IN_ROOM,
        Some("error-user-not-in-room"),
    );
    // The last owner cannot be kicked, not even by an admin.
    app.post(path, Some(&app.admin), json!({"roomId": rid, "userId": alice.user_id})).await.err(
        400,
        LAST_OWNER,
        Some("error-you-are-last-owner"),
    );
    app.post(path, Some(&alice), json!({"roomId": rid})).await.err(
        400,
        USER_PARAM_MISSING,
        Some("error-user-param-not-provided"),
    );
    app.post(path, Some(&alice), json!({"roomId": rid, "username": "ghost"})).await.err(
        400,
        NO_SUCH_USER,
        Some("error-invalid-user"),
    );
    app.post(path, Some(&alice), json!({"userId": bob.user_id})).await.err(
        400,
        ROOM_PARAM_MISSING,
        Some("error-roomid-param-not-provided"),
    );
    app.post(path, Some(&alice), json!({"roomId": "nope", "userId": bob.user_id})).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, Some(&alice), json!({"roomId": gid, "userId": bob.user_id})).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, None, json!({"roomId": rid, "userId": bob.user_id})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
    assert_eq!(members_of(&app, "channels", &rid, &alice).await, ["alice", "bob"]);
}

#[tokio::test]
async fn channels_leave() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = id_of(&create(&app, "channels", &alice, "team", &["bob"]).await);

    let left = app.post("/api/v1/channels.leave", Some(&bob), json!({"roomId": rid})).await.ok();
    assert_eq!(left["channel"]["_id"], json!(rid));
    assert_eq!(left["channel"]["usersCount"], 1);
    assert_eq!(subscription(&app, &rid, &bob).await, Value::Null);
    // Leaving GENERAL (no owner) is fine.
    let general = app.post("/api/v1/channels.leave", Some(&bob), json!({"roomName": "general"})).await.ok();
    assert_eq!(general["channel"]["_id"], "GENERAL");
}

#[tokio::test]
async fn channels_leave_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = id_of(&create(&app, "channels", &alice, "team", &["bob"]).await);
    let gid = id_of(&create(&app, "groups", &alice, "secret", &[]).await);
    let path = "/api/v1/channels.leave";

    app.post(path, Some(&alice), json!({"roomId": rid})).await.err(
        400,
        LAST_OWNER,
        Some("error-you-are-last-owner"),
    );
    app.post(path, Some(&app.admin), json!({"roomId": rid})).await.err(
        400,
        "You are not in this room [error-user-not-in-room]",
        Some("error-user-not-in-room"),
    );
    app.post(path, Some(&bob), json!({})).await.err(
        400,
        ROOM_PARAM_MISSING,
        Some("error-roomid-param-not-provided"),
    );
    app.post(path, Some(&bob), json!({"roomId": "nope"})).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, Some(&alice), json!({"roomId": gid})).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, None, json!({"roomId": rid})).await.err(401, "You must be logged in to do this.", None);
    assert_eq!(members_of(&app, "channels", &rid, &bob).await, ["alice", "bob"]);
}

#[tokio::test]
async fn channels_members_pages_by_username() {
    let app = TestApp::new().await;
    let zed = app.user("zed").await;
    let outsider = app.user("olga").await;
    for name in ["bob", "carol", "alice"] {
        app.user(name).await;
    }
    let rid = id_of(&create(&app, "channels", &zed, "team", &["carol", "alice", "bob"]).await);

    let all = app.get(&format!("/api/v1/channels.members?roomId={rid}"), Some(&outsider)).await.ok();
    assert_eq!(usernames(&all["members"]), ["alice", "bob", "carol", "zed"]);
    assert_eq!(all["count"], 4);
    assert_eq!(all["offset"], 0);
    assert_eq!(all["total"], 4);
    let first = &all["members"][0];
    let keys: Vec<&str> = first.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["_id", "username", "name", "status", "_updatedAt"]);
    assert_eq!(first["name"], "alice");
    assert_eq!(first["status"], "offline");

    let page = app.get("/api/v1/channels.members?roomName=team&count=2&offset=1", Some(&zed)).await.ok();
    assert_eq!(usernames(&page["members"]), ["bob", "carol"]);
    assert_eq!(page["count"], 2);
    assert_eq!(page["offset"], 1);
    assert_eq!(page["total"], 4);
    let past_end =
        app.get(&format!("/api/v1/channels.members?roomId={rid}&offset=10"), Some(&zed)).await.ok();
    assert_eq!(past_end["members"], json!([]));
    assert_eq!(past_end["count"], 0);
    assert_eq!(past_end["total"], 4);
}

#[tokio::test]
async fn channels_members_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let gid = id_of(&create(&app, "groups", &alice, "secret", &[]).await);
    app.get("/api/v1/channels.members", Some(&alice)).await.err(
        400,
        ROOM_PARAM_MISSING,
        Some("error-roomid-param-not-provided"),
    );
    app.get("/api/v1/channels.members?roomId=nope", Some(&alice)).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.get(&format!("/api/v1/channels.members?roomId={gid}"), Some(&alice)).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.get("/api/v1/channels.members?roomId=GENERAL&count=ten", Some(&alice))
        .await
        .err_type("error-invalid-params");
    app.get("/api/v1/channels.members?roomId=GENERAL", None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

#[tokio::test]
async fn channels_delete() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = id_of(&create(&app, "channels", &alice, "doomed", &["bob"]).await);
    let body = app.post("/api/v1/channels.delete", Some(&alice), json!({"roomId": rid})).await.ok();
    assert_eq!(body, json!({"success": true}));
    app.get(&format!("/api/v1/channels.info?roomId={rid}"), Some(&alice)).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    assert_eq!(subscription(&app, &rid, &bob).await, Value::Null);
    // The name is free again.
    create(&app, "channels", &bob, "doomed", &[]).await;
    // An admin may delete any channel.
    app.post("/api/v1/channels.delete", Some(&app.admin), json!({"roomName": "doomed"})).await.ok();
    let joined = app.get("/api/v1/channels.list.joined", Some(&bob)).await.ok();
    assert_eq!(names(&joined["channels"]), ["general"]);
}

#[tokio::test]
async fn channels_delete_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("olga").await;
    let rid = id_of(&create(&app, "channels", &alice, "keep", &["bob"]).await);
    let gid = id_of(&create(&app, "groups", &alice, "secret", &[]).await);
    let path = "/api/v1/channels.delete";
    app.post(path, Some(&bob), json!({"roomId": rid})).await.err(400, NOT_ALLOWED, Some("error-not-allowed"));
    app.post(path, Some(&outsider), json!({"roomId": rid})).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    app.post(path, Some(&alice), json!({})).await.err(
        400,
        ROOM_PARAM_MISSING,
        Some("error-roomid-param-not-provided"),
    );
    app.post(path, Some(&alice), json!({"roomId": "nope"})).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, Some(&alice), json!({"roomId": gid})).await.err(
        400,
        CHANNEL_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, None, json!({"roomId": rid})).await.err(401, "You must be logged in to do this.", None);
    let info = app.get(&format!("/api/v1/channels.info?roomId={rid}"), Some(&alice)).await.ok();
    assert_eq!(info["channel"]["usersCount"], 2);
}

#[tokio::test]
async fn channels_list_joined() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    create(&app, "channels", &alice, "zeta", &[]).await;
    create(&app, "channels", &alice, "alpha", &[]).await;
    create(&app, "channels", &bob, "bobs", &[]).await;
    create(&app, "groups", &alice, "hidden", &[]).await;

    let all = app.get("/api/v1/channels.list.joined", Some(&alice)).await.ok();
    assert_eq!(names(&all["channels"]), ["alpha", "general", "zeta"]);
    assert_eq!(all["channels"][0]["t"], "c");
    assert_eq!(all["count"], 3);
    assert_eq!(all["offset"], 0);
    assert_eq!(all["total"], 3);
    let page = app.get("/api/v1/channels.list.joined?count=1&offset=1", Some(&alice)).await.ok();
    assert_eq!(names(&page["channels"]), ["general"]);
    assert_eq!(page["count"], 1);
    assert_eq!(page["offset"], 1);
    assert_eq!(page["total"], 3);
    app.get("/api/v1/channels.list.joined?offset=-1", Some(&alice)).await.err_type("error-invalid-params");
    app.get("/api/v1/channels.list.joined", None).await.err(401, "You must be logged in to do this.", None);
}

// ---------------------------------------------------------------- groups

#[tokio::test]
async fn groups_create_and_info() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let group = create(&app, "groups", &alice, "private-1", &["bob"]).await;
    assert_eq!(group["t"], "p");
    assert_eq!(group["name"], "private-1");
    assert_eq!(group["usersCount"], 2);
    assert_eq!(group["u"]["username"], "alice");
    let gid = id_of(&group);
    assert_eq!(subscription(&app, &gid, &alice).await["roles"], json!(["owner"]));

    let by_id = app.get(&format!("/api/v1/groups.info?roomId={gid}"), Some(&bob)).await.ok();
    assert_eq!(by_id["group"]["_id"], json!(gid));
    assert_eq!(by_id["group"]["usersCount"], 2);
    let by_name = app.get("/api/v1/groups.info?roomName=PRIVATE-1", Some(&alice)).await.ok();
    assert_eq!(by_name["group"]["_id"], json!(gid));
}

#[tokio::test]
async fn groups_info_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let outsider = app.user("olga").await;
    let gid = id_of(&create(&app, "groups", &alice, "secret", &[]).await);
    let cid = id_of(&create(&app, "channels", &alice, "public", &[]).await);
    // Outsiders, admins included, cannot tell the group exists.
    for who in [&outsider, &app.admin] {
        app.get(&format!("/api/v1/groups.info?roomId={gid}"), Some(who)).await.err(
            400,
            GROUP_NOT_FOUND,
            Some("error-room-not-found"),
        );
        app.get("/api/v1/groups.info?roomName=secret", Some(who)).await.err(
            400,
            GROUP_NOT_FOUND,
            Some("error-room-not-found"),
        );
    }
    app.get("/api/v1/groups.info", Some(&alice)).await.err(
        400,
        GROUP_PARAM_MISSING,
        Some("error-room-param-not-provided"),
    );
    app.get("/api/v1/groups.info?roomId=nope", Some(&alice)).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.get(&format!("/api/v1/groups.info?roomId={cid}"), Some(&alice)).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.get(&format!("/api/v1/groups.info?roomId={gid}"), None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

#[tokio::test]
async fn groups_invite() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let outsider = app.user("olga").await;
    let gid = id_of(&create(&app, "groups", &alice, "secret", &[]).await);
    let path = "/api/v1/groups.invite";

    app.get(&format!("/api/v1/groups.info?roomId={gid}"), Some(&bob)).await.err_type("error-room-not-found");
    let invited = app.post(path, Some(&alice), json!({"roomId": gid, "username": "bob"})).await.ok();
    assert_eq!(invited["group"]["_id"], json!(gid));
    assert_eq!(invited["group"]["usersCount"], 2);
    // Now bob can read it; as a plain member he may not invite, until the
    // table lets members add users to rooms they are in.
    app.get(&format!("/api/v1/groups.info?roomId={gid}"), Some(&bob)).await.ok();
    let carol_body = json!({"roomId": gid, "userId": carol.user_id});
    app.post(path, Some(&bob), carol_body.clone()).await.err_type("error-not-allowed");
    let grant = |permission: &str, roles: &[&str]| {
        app.post(
            "/api/v1/permissions.update",
            Some(&app.admin),
            json!({"permissions": [{"_id": permission, "roles": roles}]}),
        )
    };
    grant("add-user-to-joined-room", &["admin", "owner", "moderator", "user"]).await.ok();
    let by_bob = app.post(path, Some(&bob), carol_body).await.ok();
    assert_eq!(by_bob["group"]["usersCount"], 3);
    // An admin who is not a member may not, by default
    // (`add-user-to-any-p-room` is nobody's), until granted it.
    let olga = json!({"roomId": gid, "username": "olga"});
    app.post(path, Some(&app.admin), olga.clone()).await.err_type("error-not-allowed");
    grant("add-user-to-any-p-room", &["admin"]).await.ok();
    let by_admin = app.post(path, Some(&app.admin), olga).await.ok();
    assert_eq!(by_admin["group"]["usersCount"], 4);
    assert_eq!(members_of(&app, "groups", &gid, &outsider).await, ["alice", "bob", "carol", "olga"]);
    // ...but being able to invite does not make the admin a reader.
    app.get(&format!("/api/v1/groups.info?roomId={gid}"), Some(&app.admin))
        .await
        .err_type("error-room-not-found");
}

#[tokio::test]
async fn groups_invite_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let outsider = app.user("olga").await;
    app.user("bob").await;
    let gid = id_of(&create(&app, "groups", &alice, "secret", &[]).await);
    let cid = id_of(&create(&app, "channels", &alice, "public", &[]).await);
    let path = "/api/v1/groups.invite";
    // An outsider cannot even tell the group exists.
    app.post(path, Some(&outsider), json!({"roomId": gid, "username": "olga"})).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, Some(&alice), json!({"username": "bob"})).await.err(
        400,
        GROUP_PARAM_MISSING,
        Some("error-room-param-not-provided"),
    );
    app.post(path, Some(&alice), json!({"roomId": gid})).await.err(
        400,
        USER_PARAM_MISSING,
        Some("error-user-param-not-provided"),
    );
    app.post(path, Some(&alice), json!({"roomId": gid, "username": "ghost"})).await.err(
        400,
        NO_SUCH_USER,
        Some("error-invalid-user"),
    );
    app.post(path, Some(&alice), json!({"roomId": "nope", "username": "bob"})).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, Some(&alice), json!({"roomId": cid, "username": "bob"})).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, None, json!({"roomId": gid, "username": "bob"})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
    assert_eq!(members_of(&app, "groups", &gid, &alice).await, ["alice"]);
}

#[tokio::test]
async fn groups_kick() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let outsider = app.user("olga").await;
    let gid = id_of(&create(&app, "groups", &alice, "secret", &["bob", "carol"]).await);
    let path = "/api/v1/groups.kick";

    app.post(path, Some(&bob), json!({"roomId": gid, "userId": carol.user_id})).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    app.post(path, Some(&outsider), json!({"roomId": gid, "userId": carol.user_id})).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, Some(&alice), json!({"roomId": gid, "userId": outsider.user_id})).await.err(
        400,
        NOT_IN_ROOM,
        Some("error-user-not-in-room"),
    );
    app.post(path, Some(&app.admin), json!({"roomId": gid, "username": "alice"})).await.err(
        400,
        LAST_OWNER,
        Some("error-you-are-last-owner"),
    );
    app.post(path, Some(&alice), json!({"userId": bob.user_id})).await.err(
        400,
        GROUP_PARAM_MISSING,
        Some("error-room-param-not-provided"),
    );
    app.post(path, Some(&alice), json!({"roomId": "nope", "userId": bob.user_id})).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, None, json!({"roomId": gid, "userId": bob.user_id})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );

    let kicked = app.post(path, Some(&alice), json!({"roomId": gid, "userId": bob.user_id})).await.ok();
    assert_eq!(kicked["group"]["usersCount"], 2);
    // Bob lost access with his membership.
    app.get(&format!("/api/v1/groups.info?roomId={gid}"), Some(&bob)).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    let by_admin =
        app.post(path, Some(&app.admin), json!({"roomName": "secret", "username": "carol"})).await.ok();
    assert_eq!(by_admin["group"]["usersCount"], 1);
    assert_eq!(members_of(&app, "groups", &gid, &alice).await, ["alice"]);
}

#[tokio::test]
async fn groups_leave() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("olga").await;
    let gid = id_of(&create(&app, "groups", &alice, "secret", &["bob"]).await);
    let cid = id_of(&create(&app, "channels", &alice, "public", &["bob"]).await);
    let path = "/api/v1/groups.leave";

    app.post(path, Some(&alice), json!({"roomId": gid})).await.err(
        400,
        LAST_OWNER,
        Some("error-you-are-last-owner"),
    );
    app.post(path, Some(&outsider), json!({"roomId": gid})).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, Some(&bob), json!({})).await.err(
        400,
        GROUP_PARAM_MISSING,
        Some("error-room-param-not-provided"),
    );
    app.post(path, Some(&bob), json!({"roomId": "nope"})).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, Some(&bob), json!({"roomId": cid})).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, None, json!({"roomId": gid})).await.err(401, "You must be logged in to do this.", None);

    let left = app.post(path, Some(&bob), json!({"roomName": "secret"})).await.ok();
    assert_eq!(left["group"]["usersCount"], 1);
    app.get(&format!("/api/v1/groups.info?roomId={gid}"), Some(&bob)).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    // Leaving the group leaves the channel alone.
    assert_eq!(members_of(&app, "channels", &cid, &bob).await, ["alice", "bob"]);
}

#[tokio::test]
async fn groups_members() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("olga").await;
    let gid = id_of(&create(&app, "groups", &alice, "secret", &["bob"]).await);
    let cid = id_of(&create(&app, "channels", &alice, "public", &[]).await);

    let body = app.get(&format!("/api/v1/groups.members?roomId={gid}&count=1"), Some(&bob)).await.ok();
    assert_eq!(usernames(&body["members"]), ["alice"]);
    assert_eq!(body["members"][0]["_id"], json!(alice.user_id));
    assert_eq!(body["count"], 1);
    assert_eq!(body["offset"], 0);
    assert_eq!(body["total"], 2);

    for who in [&outsider, &app.admin] {
        app.get(&format!("/api/v1/groups.members?roomId={gid}"), Some(who)).await.err(
            400,
            GROUP_NOT_FOUND,
            Some("error-room-not-found"),
        );
    }
    app.get("/api/v1/groups.members", Some(&bob)).await.err(
        400,
        GROUP_PARAM_MISSING,
        Some("error-room-param-not-provided"),
    );
    app.get("/api/v1/groups.members?roomId=nope", Some(&bob)).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.get(&format!("/api/v1/groups.members?roomId={cid}"), Some(&alice)).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.get(&format!("/api/v1/groups.members?roomId={gid}"), None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

#[tokio::test]
async fn groups_delete() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("olga").await;
    let gid = id_of(&create(&app, "groups", &alice, "secret", &["bob"]).await);
    let cid = id_of(&create(&app, "channels", &alice, "public", &[]).await);
    let path = "/api/v1/groups.delete";

    app.post(path, Some(&bob), json!({"roomId": gid})).await.err(400, NOT_ALLOWED, Some("error-not-allowed"));
    app.post(path, Some(&outsider), json!({"roomId": gid})).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, Some(&alice), json!({})).await.err(
        400,
        GROUP_PARAM_MISSING,
        Some("error-room-param-not-provided"),
    );
    app.post(path, Some(&alice), json!({"roomId": "nope"})).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, Some(&alice), json!({"roomId": cid})).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    app.post(path, None, json!({"roomId": gid})).await.err(401, "You must be logged in to do this.", None);

    let body = app.post(path, Some(&alice), json!({"roomId": gid})).await.ok();
    assert_eq!(body, json!({"success": true}));
    app.get(&format!("/api/v1/groups.info?roomId={gid}"), Some(&alice)).await.err(
        400,
        GROUP_NOT_FOUND,
        Some("error-room-not-found"),
    );
    assert_eq!(subscription(&app, &gid, &bob).await, Value::Null);
    // An admin may delete a group they are not in.
    let other = id_of(&create(&app, "groups", &bob, "other", &[]).await);
    app.post(path, Some(&app.admin), json!({"roomId": other})).await.ok();
    app.get(&format!("/api/v1/groups.info?roomId={other}"), Some(&bob))
        .await
        .err_type("error-room-not-found");
}

#[tokio::test]
async fn groups_list() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    create(&app, "groups", &alice, "g-two", &[]).await;
    create(&app, "groups", &alice, "g-one", &["bob"]).await;
    create(&app, "groups", &bob, "bobs", &[]).await;
    create(&app, "channels", &alice, "chan", &[]).await;

    for path in ["/api/v1/groups.list", "/api/v1/groups.list.joined"] {
        let all = app.get(path, Some(&alice)).await.ok();
        assert_eq!(names(&all["groups"]), ["g-one", "g-two"]);
        assert_eq!(all["groups"][0]["t"], "p");
        assert_eq!(all["count"], 2);
        assert_eq!(all["offset"], 0);
        assert_eq!(all["total"], 2);
        app.get(path, None).await.err(401, "You must be logged in to do this.", None);
    }
    let page = app.get("/api/v1/groups.list?count=1&offset=1", Some(&bob)).await.ok();
    assert_eq!(names(&page["groups"]), ["g-one"]);
    assert_eq!(page["count"], 1);
    assert_eq!(page["offset"], 1);
    assert_eq!(page["total"], 2);
}

// ---------------------------------------------------------------- DMs

#[tokio::test]
async fn im_create_opens_one_dm_per_pair() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;

    let body = app.post("/api/v1/im.create", Some(&alice), json!({"username": "bob"})).await.ok();
    let room = &body["room"];
    assert_eq!(room["t"], "d");
    assert_eq!(room["rid"], room["_id"]);
    assert_eq!(room["usersCount"], 2);
    assert!(room.get("name").is_none(), "{room}");
    let mut pair = [(alice.user_id.clone(), "alice"), (bob.user_id.clone(), "bob")];
    pair.sort();
    assert_eq!(room["uids"], json!([pair[0].0, pair[1].0]));
    assert_eq!(room["usernames"], json!([pair[0].1, pair[1].1]));
    let rid = id_of(room);

    // The same pair, either way round and by either route, is the same room.
    let again = app.post("/api/v1/dm.create", Some(&bob), json!({"username": "Alice"})).await.ok();
    assert_eq!(again["room"]["_id"], json!(rid));
    assert_eq!(again["room"]["usersCount"], 2);

    // Each side's subscription is named after the other member.
    let mine = subscription(&app, &rid, &alice).await;
    assert_eq!(mine["t"], "d");
    assert_eq!(mine["name"], "bob");
    assert_eq!(subscription(&app, &rid, &bob).await["name"], "alice");
}

#[tokio::test]
async fn im_create_with_oneself() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let body = app.post("/api/v1/dm.create", Some(&alice), json!({"username": "alice"})).await.ok();
    assert_eq!(body["room"]["t"], "d");
    assert_eq!(body["room"]["usersCount"], 1);
    assert_eq!(body["room"]["uids"], json!([alice.user_id]));
    assert_eq!(body["room"]["usernames"], json!(["alice"]));
    let rid = id_of(&body["room"]);
    let again = app.post("/api/v1/im.create", Some(&alice), json!({"username": "alice"})).await.ok();
    assert_eq!(again["room"]["_id"], json!(rid));
    assert_eq!(subscription(&app, &rid, &alice).await["name"], "alice");
}

#[tokio::test]
async fn im_create_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    for path in ["/api/v1/im.create", "/api/v1/dm.create"] {
        app.post(path, Some(&alice), json!({})).await.err(
            400,
            "The required \"username\" param is missing. [error-invalid-params]",
            Some("error-invalid-params"),
        );
        app.post(path, Some(&alice), json!({"username": "ghost"})).await.err(
            400,
            "Invalid user [error-invalid-user]",
            Some("error-invalid-user"),
        );
        app.post(path, None, json!({"username": "alice"})).await.err(
            401,
            "You must be logged in to do this.",
            None,
        );
    }
}

// ---------------------------------------------------------------- rooms.info

#[tokio::test]
async fn rooms_info_follows_the_access_rule() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("olga").await;
    let cid = id_of(&create(&app, "channels", &alice, "public", &[]).await);
    let gid = id_of(&create(&app, "groups", &alice, "secret", &["bob"]).await);
    let dm = app.post("/api/v1/im.create", Some(&alice), json!({"username": "bob"})).await.ok();
    let did = id_of(&dm["room"]);

    // A public channel: anyone.
    let body = app.get(&format!("/api/v1/rooms.info?roomId={cid}"), Some(&outsider)).await.ok();
    assert_eq!(body["room"]["_id"], json!(cid));
    assert_eq!(body["room"]["t"], "c");
    let by_name = app.get("/api/v1/rooms.info?roomName=PUBLIC", Some(&outsider)).await.ok();
    assert_eq!(by_name["room"]["_id"], json!(cid));
    // A group and a DM: members only; admins get no exemption.
    let body = app.get(&format!("/api/v1/rooms.info?roomId={gid}"), Some(&bob)).await.ok();
    assert_eq!(body["room"]["t"], "p");
    assert_eq!(body["room"]["usersCount"], 2);
    let body = app.get(&format!("/api/v1/rooms.info?roomId={did}"), Some(&bob)).await.ok();
    assert_eq!(body["room"]["t"], "d");
    for who in [&outsider, &app.admin] {
        for rid in [&gid, &did] {
            app.get(&format!("/api/v1/rooms.info?roomId={rid}"), Some(who)).await.err(
                400,
                NOT_ALLOWED,
                Some("error-not-allowed"),
            );
        }
        app.get("/api/v1/rooms.info?roomName=secret", Some(who)).await.err(
            400,
            NOT_ALLOWED,
            Some("error-not-allowed"),
        );
    }
}

#[tokio::test]
async fn rooms_info_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    app.get("/api/v1/rooms.info", Some(&alice)).await.err(
        400,
        ROOM_PARAM_MISSING,
        Some("error-roomid-param-not-provided"),
    );
    // An unknown room is indistinguishable from an unreadable one.
    app.get("/api/v1/rooms.info?roomId=nope", Some(&alice)).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    app.get("/api/v1/rooms.info?roomName=nope", Some(&alice)).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    app.get("/api/v1/rooms.info?roomId=GENERAL", None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

// ---------------------------------------------------------------- subscriptions

#[tokio::test]
async fn subscriptions_get_one() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let outsider = app.user("olga").await;
    let gid = id_of(&create(&app, "groups", &alice, "secret", &[]).await);

    let sub = subscription(&app, "GENERAL", &alice).await;
    assert_eq!(sub["rid"], "GENERAL");
    assert_eq!(sub["t"], "c");
    assert_eq!(sub["name"], "general");
    assert_eq!(sub["u"]["_id"], json!(alice.user_id));
    assert_eq!(sub["u"]["username"], "alice");
    assert_eq!(sub["open"], true);
    assert_eq!(sub["alert"], false);
    assert_eq!(sub["unread"], 0);
    assert_eq!(sub["userMentions"], 0);
    assert_eq!(sub["tunread"], json!([]));
    assert_eq!(sub["roles"], json!([]));
    assert_eq!(sub["_id"].as_str().map(str::len), Some(17), "{sub}");
    assert!(sub["ls"].as_str().is_some(), "{sub}");
    assert!(sub["_updatedAt"].as_str().is_some(), "{sub}");

    let own = subscription(&app, &gid, &alice).await;
    assert_eq!(own["t"], "p");
    assert_eq!(own["roles"], json!(["owner"]));
    // No subscription (not a member, or no such room): `null`, as Rocket.Chat.
    let body = app.get(&format!("/api/v1/subscriptions.getOne?roomId={gid}"), Some(&outsider)).await.ok();
    assert_eq!(body, json!({"subscription": null, "success": true}));
    assert_eq!(subscription(&app, "nope", &alice).await, Value::Null);
}

#[tokio::test]
async fn subscriptions_get_one_errors() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    app.get("/api/v1/subscriptions.getOne", Some(&alice)).await.err(
        400,
        "must have required property 'roomId' [invalid-params]",
        Some("invalid-params"),
    );
    app.get("/api/v1/subscriptions.getOne?roomId=", Some(&alice)).await.err_type("invalid-params");
    app.get("/api/v1/subscriptions.getOne?roomId=GENERAL", None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}
