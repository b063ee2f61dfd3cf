//! Discussions: `rooms.createDiscussion` and `chat.getDiscussions`.

use crate::support::TestApp;
use serde_json::json;

#[tokio::test]
async fn a_discussion_is_a_room_linked_to_its_parent() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = app.channel(&alice, "town", &[&bob]).await;
    let topic = app.say(&alice, &rid, "shall we plan the party?").await;
    let pmid = topic["_id"].as_str().expect("id").to_owned();

    let created = app
        .post(
            "/api/v1/rooms.createDiscussion",
            Some(&alice),
            json!({"prid": rid, "t_name": "Party plans", "pmid": pmid, "users": ["carol", "nobody"], "reply": "let's plan"}),
        )
        .await
        .ok();
    let discussion = &created["discussion"];
    let drid = discussion["_id"].as_str().expect("id").to_owned();
    assert_eq!(discussion["rid"], json!(drid));
    assert_eq!(
        (
            discussion["t"].clone(),
            discussion["prid"].clone(),
            discussion["fname"].clone(),
            discussion["msgs"].clone()
        ),
        (json!("c"), json!(rid), json!("Party plans"), json!(1)),
        "{created}"
    );
    // Carol was invited; the reply is the discussion's first message.
    let sub = app.get(&format!("/api/v1/subscriptions.getOne?roomId={drid}"), Some(&carol)).await.ok();
    assert_eq!(sub["subscription"]["rid"], json!(drid));
    let history = app.get(&format!("/api/v1/channels.history?roomId={drid}"), Some(&carol)).await.ok();
    assert_eq!(history["messages"][0]["msg"], "let's plan");

    // The parent lists it: its discussion-created message, which follows
    // the discussion's count and last message.
    let listed = app.get(&format!("/api/v1/chat.getDiscussions?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(listed["total"], 1, "{listed}");
    let notice = &listed["messages"][0];
    assert_eq!(
        (notice["t"].clone(), notice["_id"].clone(), notice["drid"].clone(), notice["msg"].clone()),
        (json!("discussion-created"), json!(drid), json!(drid), json!("Party plans"))
    );
    assert_eq!(notice["dcount"], 1);
    assert_eq!(notice["attachments"][0]["text"], "shall we plan the party?");
    let said = app.say(&bob, &drid, "I bring cake").await;
    let listed = app.get(&format!("/api/v1/chat.getDiscussions?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(
        (listed["messages"][0]["dcount"].clone(), listed["messages"][0]["dlm"].clone()),
        (json!(2), said["ts"].clone())
    );
    app.remove(&bob, &drid, said["_id"].as_str().expect("id")).await;
    let listed = app.get(&format!("/api/v1/chat.getDiscussions?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(listed["messages"][0]["dcount"], 1, "a deletion counts too");
    // `text` filters by name, as plain text.
    let found =
        app.get(&format!("/api/v1/chat.getDiscussions?roomId={rid}&text=PARTY"), Some(&bob)).await.ok();
    assert_eq!(found["total"], 1);
    let none =
        app.get(&format!("/api/v1/chat.getDiscussions?roomId={rid}&text=pa.ty"), Some(&bob)).await.ok();
    assert_eq!(none["total"], 0);

    // A direct message's discussion is a private group.
    let dm = app.direct(&alice, &bob).await;
    let private = app
        .post(
            "/api/v1/rooms.createDiscussion",
            Some(&alice),
            json!({"prid": dm, "t_name": "Just us", "users": ["bob"]}),
        )
        .await
        .ok();
    assert_eq!(private["discussion"]["t"], "p");
}

#[tokio::test]
async fn create_discussion_refusals() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let dave = app.user("dave").await;
    let gid = app.group(&alice, "den", &[]).await;
    let other = app.group(&alice, "elsewhere", &[]).await;
    let stranger = app.say(&alice, &other, "not here").await;
    let create = "/api/v1/rooms.createDiscussion";
    app.post(create, Some(&alice), json!({"t_name": "x"})).await.err(
        400,
        "Body parameter \"prid\" is required. [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.post(create, Some(&alice), json!({"prid": gid})).await.err_type("error-invalid-params");
    app.post(create, Some(&alice), json!({"prid": gid, "t_name": "x", "users": "bob"}))
        .await
        .err_type("error-invalid-params");
    app.post(create, Some(&dave), json!({"prid": gid, "t_name": "x"})).await.err_type("error-not-allowed");
    app.post(create, Some(&alice), json!({"prid": gid, "t_name": "x", "pmid": stranger["_id"]})).await.err(
        400,
        "Invalid message [error-invalid-message]",
        Some("error-invalid-message"),
    );
    let first = app.post(create, Some(&alice), json!({"prid": gid, "t_name": "first"})).await.ok();
    let drid = first["discussion"]["_id"].as_str().expect("id").to_owned();
    app.post(create, Some(&alice), json!({"prid": drid, "t_name": "nested"})).await.err(
        400,
        "Cannot create nested discussions [error-nested-discussion]",
        Some("error-nested-discussion"),
    );
    app.get(&format!("/api/v1/chat.getDiscussions?roomId={gid}"), Some(&dave))
        .await
        .err_type("error-not-allowed");
    app.get("/api/v1/chat.getDiscussions", Some(&alice)).await.err_type("error-invalid-params");
    app.set_setting("Discussion_enabled", json!(false)).await;
    app.post(create, Some(&alice), json!({"prid": gid, "t_name": "x"})).await.err(
        400,
        "You are not allowed to create a discussion [error-action-not-allowed]",
        Some("error-action-not-allowed"),
    );
    app.post(create, None, json!({"prid": gid, "t_name": "x"})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}
