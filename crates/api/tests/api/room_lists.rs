//! `channels.list`, `groups.listAll`, `rooms.adminRooms`: rooms listed
//! beyond the caller's own (docs/rest.md#room-listings).

use crate::support::TestApp;
use serde_json::{json, Value};

const FORBIDDEN: &str = "User does not have the permissions required for this action [error-unauthorized]";

fn names(body: &Value, key: &str) -> Vec<String> {
    body[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {body}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn channels_list_shows_every_public_channel_to_users() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.channel(&alice, "zoo", &[]).await;
    app.channel(&alice, "Apple", &[]).await;
    app.group(&alice, "secret-den", &[]).await;
    // bob is in none of them but GENERAL, and sees them all (not the group).
    let all = app.get("/api/v1/channels.list", Some(&bob)).await.ok();
    assert_eq!(names(&all, "channels"), vec!["Apple", "general", "zoo"]);
    assert_eq!(
        (all["count"].clone(), all["offset"].clone(), all["total"].clone()),
        (json!(3), json!(0), json!(3))
    );
    let page = app.get("/api/v1/channels.list?count=1&offset=1", Some(&bob)).await.ok();
    assert_eq!(names(&page, "channels"), vec!["general"]);
    assert_eq!((page["count"].clone(), page["total"].clone()), (json!(1), json!(3)));
    app.get("/api/v1/channels.list?count=x", Some(&bob)).await.err_type("error-invalid-params");
    app.get("/api/v1/channels.list", None).await.err(401, "You must be logged in to do this.", None);

    // Without `view-c-room`, `view-joined-room` lists one's own channels;
    // with neither, nothing is listed.
    let set = |id: &str, roles: Value| {
        let app = &app;
        let body = json!({"permissions": [{"_id": id, "roles": roles}]});
        async move { app.post("/api/v1/permissions.update", Some(&app.admin), body).await.ok() }
    };
    set("view-c-room", json!(["admin"])).await;
    app.get("/api/v1/channels.list", Some(&bob)).await.err(403, FORBIDDEN, Some("error-unauthorized"));
    set("view-joined-room", json!(["user"])).await;
    let own = app.get("/api/v1/channels.list", Some(&alice)).await.ok();
    assert_eq!(names(&own, "channels"), vec!["Apple", "general", "zoo"]);
    let own = app.get("/api/v1/channels.list", Some(&bob)).await.ok();
    assert_eq!(names(&own, "channels"), vec!["general"]);
}

#[tokio::test]
async fn groups_list_all_and_admin_rooms_are_for_room_administrators() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.channel(&alice, "town-square", &[]).await;
    app.group(&alice, "Town-den", &[]).await;
    app.group(&bob, "bobs-den", &[]).await;
    let dm = app.direct(&alice, &bob).await;

    for path in ["/api/v1/groups.listAll", "/api/v1/rooms.adminRooms"] {
        app.get(path, Some(&alice)).await.err(403, FORBIDDEN, Some("error-unauthorized"));
    }
    let groups = app.get("/api/v1/groups.listAll", Some(&app.admin)).await.ok();
    assert_eq!(names(&groups, "groups"), vec!["bobs-den", "Town-den"]);
    assert_eq!(groups["total"], 2);

    let admin = |query: &str| {
        let path = format!("/api/v1/rooms.adminRooms{query}");
        let app = &app;
        async move { app.get(&path, Some(&app.admin)).await }
    };
    // Every type; the DM (no name) first.
    let all = admin("").await.ok();
    assert_eq!(all["total"], 5, "{all}");
    assert_eq!(all["rooms"][0]["_id"], json!(dm));
    // A name filter, case-insensitive and plain text.
    let town = admin("?filter=TOWN").await.ok();
    assert_eq!(names(&town, "rooms"), vec!["Town-den", "town-square"]);
    assert_eq!(names(&admin("?filter=.*").await.ok(), "rooms"), Vec::<String>::new());
    // Types, repeated or single.
    let both = admin("?types[]=p&types[]=d").await.ok();
    assert_eq!(both["total"], 3);
    let encoded = admin("?types%5B%5D=c&filter=town").await.ok();
    assert_eq!(names(&encoded, "rooms"), vec!["town-square"]);
    assert_eq!(names(&admin("?types=p&count=1").await.ok(), "rooms"), vec!["bobs-den"]);
    // Types we do not have select nothing; unknown letters are refused.
    assert_eq!(admin("?types[]=discussions").await.ok()["total"], 0);
    admin("?types[]=x").await.err_type("error-invalid-params");
    admin(&format!("?filter={}", "a".repeat(300))).await.err_type("error-invalid-params");
}

#[tokio::test]
async fn direct_message_lists_and_members() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let ab = app.direct(&alice, &bob).await;
    let ac = app.direct(&alice, &carol).await;
    app.channel(&alice, "town", &[&bob]).await;

    let ids = |body: &Value| -> Vec<String> {
        let mut ids: Vec<String> = body["ims"]
            .as_array()
            .expect("ims")
            .iter()
            .map(|r| r["_id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        ids
    };
    let mut both = vec![ab.clone(), ac.clone()];
    both.sort();
    for family in ["im", "dm"] {
        let alices = app.get(&format!("/api/v1/{family}.list"), Some(&alice)).await.ok();
        assert_eq!(ids(&alices), both);
        assert_eq!(alices["total"], 2);
        let bobs = app.get(&format!("/api/v1/{family}.list"), Some(&bob)).await.ok();
        assert_eq!(ids(&bobs), vec![ab.clone()]);
        let page = app.get(&format!("/api/v1/{family}.list?count=1"), Some(&alice)).await.ok();
        assert_eq!((page["count"].clone(), page["total"].clone()), (json!(1), json!(2)));

        app.get(&format!("/api/v1/{family}.list.everyone"), Some(&alice)).await.err(
            403,
            FORBIDDEN,
            Some("error-unauthorized"),
        );
        let everyone = app.get(&format!("/api/v1/{family}.list.everyone"), Some(&app.admin)).await.ok();
        assert_eq!(ids(&everyone), both);

        // Members by room id or by the other member's username.
        let members = app.get(&format!("/api/v1/{family}.members?roomId={ab}"), Some(&bob)).await.ok();
        let names: Vec<&str> = members["members"]
            .as_array()
            .expect("members")
            .iter()
            .filter_map(|m| m["username"].as_str())
            .collect();
        assert_eq!(names, vec!["alice", "bob"]);
        assert_eq!(members["total"], 2);
        let by_name = app.get(&format!("/api/v1/{family}.members?username=carol"), Some(&alice)).await.ok();
        assert_eq!(by_name["total"], 2);
        // Not a member: 403; no such DM; no parameter.
        app.get(&format!("/api/v1/{family}.members?roomId={ac}"), Some(&bob)).await.err(
            403,
            FORBIDDEN,
            Some("error-unauthorized"),
        );
        let no_dm = "The required \"roomId\" or \"username\" param provided does not match any direct message [error-room-not-found]";
        app.get(&format!("/api/v1/{family}.members?username=carol"), Some(&bob)).await.err(
            400,
            no_dm,
            Some("error-room-not-found"),
        );
        app.get(&format!("/api/v1/{family}.members?roomId=GENERAL"), Some(&bob)).await.err(
            400,
            no_dm,
            Some("error-room-not-found"),
        );
        app.get(&format!("/api/v1/{family}.members"), Some(&bob)).await.err(
            400,
            "Query param \"roomId\" or \"username\" is required [error-room-param-not-provided]",
            Some("error-room-param-not-provided"),
        );
    }
}

#[tokio::test]
async fn direct_messages_are_deleted_by_holders_of_delete_d() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = app.direct(&alice, &bob).await;
    let said = app.say(&alice, &dm, "hello").await;
    let msg = said["_id"].as_str().expect("id").to_owned();

    // Members without delete-d (users) may not.
    app.post("/api/v1/im.delete", Some(&bob), json!({"roomId": dm})).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    // Admins may, member or not (view-room-administration).
    app.post("/api/v1/dm.delete", Some(&app.admin), json!({"roomId": dm})).await.ok();
    let list = app.get("/api/v1/im.list", Some(&alice)).await.ok();
    assert!(!list.to_string().contains(&dm), "{list}");
    app.get(&format!("/api/v1/chat.getMessage?msgId={msg}"), Some(&alice))
        .await
        .err_type("error-message-not-found");
    app.post("/api/v1/im.delete", Some(&app.admin), json!({"roomId": dm}))
        .await
        .err_type("error-room-not-found");

    // By username: the caller's DM with that user; delete-d granted to users.
    let again = app.direct(&alice, &bob).await;
    app.post(
        "/api/v1/permissions.update",
        Some(&app.admin),
        json!({"permissions": [{"_id": "delete-d", "roles": ["admin", "user"]}]}),
    )
    .await
    .ok();
    let carol = app.user("carol").await;
    app.post("/api/v1/im.delete", Some(&carol), json!({"roomId": again})).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    app.post("/api/v1/im.delete", Some(&bob), json!({"username": "alice"})).await.ok();
    assert!(app.services.store().room_by_id(&again).await.expect("store").is_none());

    // Shapes.
    app.post("/api/v1/im.delete", Some(&bob), json!({})).await.err_type("error-room-param-not-provided");
    app.post("/api/v1/im.delete", Some(&bob), json!({"username": "nobody"}))
        .await
        .err_type("error-room-not-found");
    let town = app.channel(&alice, "town", &[]).await;
    app.post("/api/v1/im.delete", Some(&alice), json!({"roomId": town}))
        .await
        .err_type("error-room-not-found");
}

#[tokio::test]
async fn direct_message_topics_need_edit_room() {
    let app = TestApp::new().await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dm = app.direct(&app.admin, &bob).await;

    let set = app
        .post("/api/v1/dm.setTopic", Some(&app.admin), json!({"username": "bob", "topic": "plans"}))
        .await
        .ok();
    assert_eq!(set["topic"], "plans");
    let info = app.get(&format!("/api/v1/rooms.info?roomId={dm}"), Some(&bob)).await.ok();
    assert_eq!(info["room"]["topic"], "plans");
    let history = app.get(&format!("/api/v1/im.history?roomId={dm}"), Some(&bob)).await.ok();
    assert_eq!(history["messages"][0]["t"], "room_changed_topic", "{history}");
    assert_eq!(history["messages"][0]["msg"], "plans");

    // Members without edit-room (users), non-members, and shapes.
    app.post("/api/v1/im.setTopic", Some(&bob), json!({"roomId": dm, "topic": "mine"}))
        .await
        .err_type("error-action-not-allowed");
    app.post("/api/v1/im.setTopic", Some(&carol), json!({"roomId": dm, "topic": "x"})).await.err(
        400,
        "The user is not subscribed to the room",
        None,
    );
    app.post("/api/v1/im.setTopic", Some(&bob), json!({"roomId": dm})).await.err(
        400,
        "The bodyParam 'topic' is required",
        None,
    );
    app.post("/api/v1/im.setTopic", Some(&bob), json!({"topic": "x"}))
        .await
        .err_type("error-room-param-not-provided");
    let info = app.get(&format!("/api/v1/rooms.info?roomId={dm}"), Some(&bob)).await.ok();
    assert_eq!(info["room"]["topic"], "plans", "refusals change nothing");
}
