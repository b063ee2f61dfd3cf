//! Stars and pins, and the messages that mention the caller.

use crate::support::TestApp;
use serde_json::{json, Value};

fn ids(body: &Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["_id"].as_str().expect("_id").to_owned())
        .collect()
}

#[tokio::test]
async fn stars_are_per_user_and_listed() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = app.group(&alice, "den", &[&bob]).await;
    let m1 = app.say(&alice, &rid, "one").await["_id"].as_str().expect("id").to_owned();
    let m2 = app.say(&alice, &rid, "two").await["_id"].as_str().expect("id").to_owned();
    app.post("/api/v1/chat.starMessage", Some(&bob), json!({"messageId": m1})).await.ok();
    app.post("/api/v1/chat.starMessage", Some(&bob), json!({"messageId": m2})).await.ok();
    app.post("/api/v1/chat.starMessage", Some(&alice), json!({"messageId": m2})).await.ok();
    let bobs = app.get(&format!("/api/v1/chat.getStarredMessages?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(ids(&bobs), vec![m2.clone(), m1.clone()]);
    assert_eq!(bobs["total"], 2);
    let alices = app.get(&format!("/api/v1/chat.getStarredMessages?roomId={rid}"), Some(&alice)).await.ok();
    assert_eq!(ids(&alices), vec![m2.clone()]);
    assert_eq!(
        app.message(&alice, &m2).await["starred"],
        json!([{"_id": bob.user_id}, {"_id": alice.user_id}])
    );
    app.post("/api/v1/chat.unStarMessage", Some(&bob), json!({"messageId": m2})).await.ok();
    let bobs =
        app.get(&format!("/api/v1/chat.getStarredMessages?roomId={rid}&count=1"), Some(&bob)).await.ok();
    assert_eq!((ids(&bobs), bobs["total"].clone()), (vec![m1], json!(1)));
}

#[tokio::test]
async fn pins_need_the_permission_and_leave_a_system_message() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = app.group(&alice, "den", &[&bob]).await;
    let mid = app.say(&bob, &rid, "pin me").await["_id"].as_str().expect("id").to_owned();
    // A plain member does not hold pin-message; the owner does.
    let body = app.post("/api/v1/chat.pinMessage", Some(&bob), json!({"messageId": mid})).await.err(
        400,
        "Not Authorized [not-authorized]",
        Some("not-authorized"),
    );
    assert_eq!(body["details"], json!({"method": "pinMessage"}));
    let system = app.post("/api/v1/chat.pinMessage", Some(&alice), json!({"messageId": mid})).await.ok()
        ["message"]
        .clone();
    assert_eq!(system["t"], "message_pinned");
    assert_eq!(system["rid"], json!(rid));
    assert_eq!(system["u"]["username"], "alice");
    assert_eq!(system["attachments"][0]["text"], "pin me");
    assert_eq!(system["attachments"][0]["author_name"], "bob");
    let pinned = app.message(&bob, &mid).await;
    assert_eq!(
        (pinned["pinned"].clone(), pinned["pinnedBy"]["username"].clone()),
        (json!(true), json!("alice"))
    );
    // Pinning again changes nothing and adds no second system message.
    let again = app.post("/api/v1/chat.pinMessage", Some(&app.admin), json!({"messageId": mid})).await;
    let admin_is_member = again.status == 200;
    assert!(!admin_is_member, "admins read private groups only as members: {:?}", again.body);
    let again = app.post("/api/v1/chat.pinMessage", Some(&alice), json!({"messageId": mid})).await.ok();
    assert_eq!(again["message"]["_id"], json!(mid));
    let history = app.get(&format!("/api/v1/groups.history?roomId={rid}"), Some(&bob)).await.ok();
    let kinds: Vec<Value> =
        history["messages"].as_array().expect("messages").iter().map(|m| m["t"].clone()).collect();
    assert_eq!(kinds, vec![json!("message_pinned"), Value::Null]);

    let list = app.get(&format!("/api/v1/chat.getPinnedMessages?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(ids(&list), vec![mid.clone()]);
    app.post("/api/v1/chat.unPinMessage", Some(&alice), json!({"messageId": mid})).await.ok();
    let list = app.get(&format!("/api/v1/chat.getPinnedMessages?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(list["total"], 0);
    assert_eq!(app.message(&bob, &mid).await["pinned"], false);
}

#[tokio::test]
async fn star_and_pin_refusals() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let carol = app.user("carol").await;
    let rid = app.group(&alice, "den", &[]).await;
    let mid = app.say(&alice, &rid, "secret").await["_id"].as_str().expect("id").to_owned();
    let channel = app.channel(&alice, "town", &[]).await;
    let public = app.say(&alice, &channel, "hello").await["_id"].as_str().expect("id").to_owned();
    let not_found =
        "The provided \"messageId\" does not match any existing message. [error-message-not-found]";
    for route in ["chat.starMessage", "chat.unStarMessage", "chat.pinMessage", "chat.unPinMessage"] {
        app.post(&format!("/api/v1/{route}"), Some(&alice), json!({})).await.err(
            400,
            "The required \"messageId\" param is missing. [error-messageid-param-not-provided]",
            Some("error-messageid-param-not-provided"),
        );
        app.post(&format!("/api/v1/{route}"), Some(&alice), json!({"messageId": "nope"})).await.err(
            400,
            not_found,
            Some("error-message-not-found"),
        );
        // Not even said to exist in a room the caller may not read.
        app.post(&format!("/api/v1/{route}"), Some(&carol), json!({"messageId": mid})).await.err(
            400,
            not_found,
            Some("error-message-not-found"),
        );
        app.post(&format!("/api/v1/{route}"), None, json!({"messageId": mid})).await.err(
            401,
            "You must be logged in to do this.",
            None,
        );
    }
    // Starring needs a subscription; a public channel's reader has none.
    let body = app.post("/api/v1/chat.starMessage", Some(&carol), json!({"messageId": public})).await.err(
        400,
        "Not allowed [error-action-not-allowed]",
        Some("error-action-not-allowed"),
    );
    assert_eq!(body["details"], json!({"method": "starMessage", "action": "Message_starring"}));
    for route in ["chat.getPinnedMessages", "chat.getStarredMessages", "chat.getMentionedMessages"] {
        app.get(&format!("/api/v1/{route}"), Some(&alice)).await.err(
            400,
            "The required \"roomId\" query param is missing. [error-roomId-param-not-provided]",
            Some("error-roomId-param-not-provided"),
        );
        app.get(&format!("/api/v1/{route}?roomId={rid}"), Some(&carol)).await.err(
            400,
            "Not allowed [error-not-allowed]",
            Some("error-not-allowed"),
        );
        app.get(&format!("/api/v1/{route}?roomId={rid}&count=x"), Some(&alice))
            .await
            .err_type("error-invalid-params");
    }
}

#[tokio::test]
async fn mentioned_messages_name_the_caller_newest_first() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = app.channel(&alice, "town", &[&bob, &carol]).await;
    let first = app.say(&alice, &rid, "hello @bob").await;
    app.say(&alice, &rid, "hello @carol").await;
    app.say(&alice, &rid, "hello @all and @here").await;
    let parent = app.say(&carol, &rid, "a thread").await;
    let pid = parent["_id"].as_str().expect("id").to_owned();
    let reply = app.reply_in(&alice, &rid, &pid, "@bob in a thread, and @carol").await;
    let edited = app.say(&alice, &rid, "nobody yet").await;
    let edited_id = edited["_id"].as_str().expect("id").to_owned();
    app.edit(&alice, &rid, &edited_id, "now @bob").await;
    let gone = app.say(&alice, &rid, "@bob soon deleted").await;
    app.remove(&alice, &rid, gone["_id"].as_str().expect("id")).await;

    let list = |who: &crate::support::Session, query: &str| {
        let path = format!("/api/v1/chat.getMentionedMessages?roomId={rid}{query}");
        let who = who.clone();
        let app = &app;
        async move { app.get(&path, Some(&who)).await.ok() }
    };
    let bobs = list(&bob, "").await;
    // An edit that adds a mention counts; a deleted message does not;
    // `@all` / `@here` are not the caller's mentions.
    assert_eq!(
        ids(&bobs),
        vec![
            edited_id.clone(),
            reply["_id"].as_str().expect("id").to_owned(),
            first["_id"].as_str().expect("id").to_owned()
        ]
    );
    assert_eq!(
        (bobs["total"].clone(), bobs["count"].clone(), bobs["offset"].clone()),
        (json!(3), json!(3), json!(0))
    );
    let page = list(&bob, "&count=1&offset=1").await;
    assert_eq!(ids(&page), vec![reply["_id"].as_str().expect("id").to_owned()]);
    assert_eq!(page["total"], 3);
    assert_eq!(ids(&list(&carol, "").await).len(), 2);
    assert!(ids(&list(&alice, "").await).is_empty());
}
