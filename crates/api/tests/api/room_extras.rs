//! `channels.addAll` / `groups.addAll`, `channels.getIntegrations` /
//! `groups.getIntegrations`, `channels.getAllUserMentionsByChannel` and
//! `chat.reportMessage`, `channels.online` / `groups.online`.

use crate::support::TestApp;
use serde_json::{json, Value};

fn usernames_of(members: &Value) -> Vec<String> {
    let mut names: Vec<String> = members["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["username"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn add_all_makes_every_user_a_member() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let _bob = app.user("bob").await;
    let carol = app.user("carol").await;
    app.post(
        "/api/v1/users.setActiveStatus",
        Some(&app.admin),
        json!({"userId": carol.user_id, "activeStatus": false}),
    )
    .await
    .ok();
    let town = app.channel(&alice, "town", &[]).await;
    // Only holders of add-all-to-room (admins), even for the owner.
    app.post("/api/v1/channels.addAll", Some(&alice), json!({"roomId": town}))
        .await
        .err_type("error-not-allowed");
    let body = app
        .post("/api/v1/channels.addAll", Some(&app.admin), json!({"roomId": town, "activeUsersOnly": true}))
        .await
        .ok();
    assert_eq!(body["channel"]["_id"], json!(town));
    let members = app.get(&format!("/api/v1/channels.members?roomId={town}"), Some(&alice)).await.ok();
    // Every user includes the server's bot, as in Rocket.Chat.
    assert_eq!(usernames_of(&members), ["admin", "alice", "bob", "rocket.cat"], "inactive carol left out");
    app.post("/api/v1/channels.addAll", Some(&app.admin), json!({"roomName": "town"})).await.ok();
    let members = app.get(&format!("/api/v1/channels.members?roomId={town}"), Some(&alice)).await.ok();
    assert_eq!(usernames_of(&members), ["admin", "alice", "bob", "carol", "rocket.cat"]);

    let secret = app.group(&alice, "secret", &[]).await;
    let body = app.post("/api/v1/groups.addAll", Some(&app.admin), json!({"roomId": secret})).await.ok();
    assert_eq!(body["group"]["_id"], json!(secret));
    assert_eq!(body["group"]["usersCount"], 5);
    app.post("/api/v1/groups.addAll", Some(&app.admin), json!({"roomId": town}))
        .await
        .err_type("error-room-not-found");
}

#[tokio::test]
async fn integrations_are_listed_for_their_managers_only() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let body = app.get("/api/v1/channels.getIntegrations?roomName=general", Some(&app.admin)).await.ok();
    assert_eq!(
        (body["integrations"].clone(), body["total"].clone(), body["count"].clone()),
        (json!([]), json!(0), json!(0))
    );
    let reply = app.get("/api/v1/channels.getIntegrations?roomName=general", Some(&alice)).await;
    assert_eq!(reply.status.as_u16(), 403, "{}", reply.body);
    app.get("/api/v1/groups.getIntegrations?roomName=nope", Some(&app.admin))
        .await
        .err_type("error-room-not-found");
}

#[tokio::test]
async fn channel_mentions_list_the_caller_s_mentions_oldest_first() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let town = app.channel(&alice, "town", &[&bob]).await;
    let first = app.say(&alice, &town, "hello @bob").await;
    app.say(&alice, &town, "hello everyone @all").await;
    let second = app.say(&alice, &town, "again @bob").await;
    let body = app
        .get(&format!("/api/v1/channels.getAllUserMentionsByChannel?roomId={town}"), Some(&bob))
        .await
        .ok();
    let ids: Vec<&Value> = body["mentions"].as_array().expect("mentions").iter().map(|m| &m["_id"]).collect();
    assert_eq!(ids, [&first["_id"], &second["_id"]]);
    assert_eq!((body["total"].clone(), body["count"].clone()), (json!(2), json!(2)));
    let page = app
        .get(
            &format!("/api/v1/channels.getAllUserMentionsByChannel?roomId={town}&count=1&offset=1"),
            Some(&bob),
        )
        .await
        .ok();
    assert_eq!(page["mentions"][0]["_id"], second["_id"]);
    let carol = app.user("carol").await;
    let secret = app.group(&alice, "secret", &[]).await;
    app.get(&format!("/api/v1/channels.getAllUserMentionsByChannel?roomId={secret}"), Some(&carol))
        .await
        .err_type("error-not-allowed");
    app.get("/api/v1/channels.getAllUserMentionsByChannel", Some(&bob))
        .await
        .err_type("error-roomId-param-not-provided");
}

#[tokio::test]
async fn reports_need_a_description_and_a_readable_message() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let message = app.say(&alice, "GENERAL", "something rude").await;
    let id = message["_id"].as_str().expect("id");
    app.post("/api/v1/chat.reportMessage", Some(&bob), json!({"messageId": id, "description": "rude"}))
        .await
        .ok();
    app.post("/api/v1/chat.reportMessage", Some(&bob), json!({"description": "rude"})).await.err(
        400,
        "The required \"messageId\" param is missing.",
        None,
    );
    app.post("/api/v1/chat.reportMessage", Some(&bob), json!({"messageId": id})).await.err(
        400,
        "The required \"description\" param is missing.",
        None,
    );
    app.post("/api/v1/chat.reportMessage", Some(&bob), json!({"messageId": id, "description": "  "}))
        .await
        .err(400, "Invalid description [error-invalid-description]", Some("error-invalid-description"));
    app.post("/api/v1/chat.reportMessage", Some(&bob), json!({"messageId": "nope", "description": "x"}))
        .await
        .err(400, "Invalid message id [error-invalid-message_id]", Some("error-invalid-message_id"));
    let secret = app.group(&alice, "secret", &[]).await;
    let hidden = app.say(&alice, &secret, "private").await;
    app.post(
        "/api/v1/chat.reportMessage",
        Some(&bob),
        json!({"messageId": hidden["_id"], "description": "x"}),
    )
    .await
    .err_type("error-invalid-message_id");
}

#[tokio::test]
async fn channels_and_groups_online_list_members_who_are_not_offline() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    let rid = app.channel(&alice, "lobby", &[&bob, &carol]).await;
    for (who, status) in [(&alice, "online"), (&bob, "away"), (&carol, "offline"), (&dave, "online")] {
        app.post("/api/v1/users.setStatus", Some(who), json!({"status": status})).await.ok();
    }
    // Anyone who may read the channel may ask; dave is online but no member.
    let body = app.get(&format!("/api/v1/channels.online?_id={rid}"), Some(&dave)).await.ok();
    assert_eq!(
        body,
        json!({"success": true, "online": [
            {"_id": alice.user_id, "username": "alice"},
            {"_id": bob.user_id, "username": "bob"},
        ]})
    );
    app.post("/api/v1/users.setStatus", Some(&carol), json!({"status": "busy"})).await.ok();
    app.post("/api/v1/users.setStatus", Some(&alice), json!({"status": "offline"})).await.ok();
    let body = app.get(&format!("/api/v1/channels.online?_id={rid}"), Some(&bob)).await.ok();
    let names: Vec<&str> =
        body["online"].as_array().expect("online").iter().filter_map(|m| m["username"].as_str()).collect();
    assert_eq!(names, ["bob", "carol"]);

    // Rocket.Chat's refusals, without an errorType.
    let refused = |error: &str| json!({"success": false, "error": error});
    let gid = app.group(&alice, "hideout", &[&bob]).await;
    for (query, error) in [
        (String::new(), "Invalid query"),
        ("?_id=".to_owned(), "Invalid query"),
        ("?_id=no-such-room".to_owned(), "Channel does not exists"),
        (format!("?_id={gid}"), "Channel does not exists"),
    ] {
        let answer = app.get(&format!("/api/v1/channels.online{query}"), Some(&bob)).await;
        assert_eq!((answer.status.as_u16(), answer.body), (400, refused(error)), "{query}");
    }
    let anonymous = app.get(&format!("/api/v1/channels.online?_id={rid}"), None).await;
    assert_eq!(anonymous.status.as_u16(), 401);

    // groups.online: the same for a private group, read by its members only.
    let body = app.get(&format!("/api/v1/groups.online?_id={gid}"), Some(&bob)).await.ok();
    assert_eq!(body, json!({"success": true, "online": [{"_id": bob.user_id, "username": "bob"}]}));
    app.get(&format!("/api/v1/groups.online?_id={gid}"), Some(&dave)).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    for (query, error) in [
        (String::new(), "Invalid query"),
        (format!("?_id={rid}"), "Group does not exists"),
        ("?_id=no-such-room".to_owned(), "Group does not exists"),
    ] {
        let answer = app.get(&format!("/api/v1/groups.online{query}"), Some(&bob)).await;
        assert_eq!((answer.status.as_u16(), answer.body), (400, refused(error)), "{query}");
    }
}
