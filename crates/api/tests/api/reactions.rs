//! `chat.react`: reactions stored on the message, toggled or set, stamped
//! like an edit so every sync feed reports them.

use crate::support::{enc, TestApp};
use serde_json::json;

#[tokio::test]
async fn react_toggles_sets_and_is_synced() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = app.group(&alice, "den", &[&bob]).await;
    let parent = app.say(&alice, &rid, "parent").await;
    let pid = parent["_id"].as_str().expect("id").to_owned();
    let reply = app.reply_in(&bob, &rid, &pid, "reply").await;
    let reply_id = reply["_id"].as_str().expect("id").to_owned();
    let before = reply["_updatedAt"].as_str().expect("stamp").to_owned();

    let app = &app;
    let react = |who, emoji: &str, should: Option<bool>| {
        let mut body = json!({"messageId": reply_id, "emoji": emoji});
        if let Some(should) = should {
            body["shouldReact"] = json!(should);
        }
        async move { app.post("/api/v1/chat.react", Some(who), body).await }
    };
    react(&alice, "smile", None).await.ok();
    react(&bob, ":smile:", None).await.ok();
    react(&bob, ":+1:", Some(true)).await.ok();
    let stored = app.message(&alice, &reply_id).await;
    assert_eq!(
        stored["reactions"],
        json!({":smile:": {"usernames": ["alice", "bob"]}, ":+1:": {"usernames": ["bob"]}})
    );
    assert_eq!(stored["msg"], "reply");
    assert!(stored.get("editedAt").is_none(), "a reaction is not an edit: {stored}");

    // Setting what is already so changes nothing; toggling removes.
    react(&bob, "+1", Some(true)).await.ok();
    react(&alice, "smile", None).await.ok();
    react(&bob, "+1", Some(false)).await.ok();
    let stored = app.message(&alice, &reply_id).await;
    assert_eq!(stored["reactions"], json!({":smile:": {"usernames": ["bob"]}}));

    // The thread feed and the room feed report the change.
    let since = enc(&before);
    let thread = app
        .get(&format!("/api/v1/chat.syncThreadMessages?tmid={pid}&updatedSince={since}"), Some(&alice))
        .await
        .ok();
    assert_eq!(thread["messages"]["update"][0]["reactions"], stored["reactions"]);
    let room = app
        .get(&format!("/api/v1/chat.syncMessages?roomId={rid}&lastUpdate={since}"), Some(&alice))
        .await
        .ok();
    let updated = room["result"]["updated"].as_array().expect("updated");
    assert!(
        updated.iter().any(|m| m["_id"] == json!(reply_id) && m["reactions"] == stored["reactions"]),
        "{room}"
    );

    // `reaction` is accepted for `emoji`.
    app.post("/api/v1/chat.react", Some(&alice), json!({"messageId": pid, "reaction": "tada"})).await.ok();
    assert_eq!(app.message(&bob, &pid).await["reactions"], json!({":tada:": {"usernames": ["alice"]}}));
}

#[tokio::test]
async fn react_refusals_in_order() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let carol = app.user("carol").await;
    let rid = app.group(&alice, "den", &[]).await;
    let mid = app.say(&alice, &rid, "secret").await["_id"].as_str().expect("id").to_owned();
    let app = &app;
    let react = |who, body| async move { app.post("/api/v1/chat.react", Some(who), body).await };
    react(&alice, json!({"emoji": "smile"})).await.err(
        400,
        "The required \"messageId\" param is missing. [error-messageid-param-not-provided]",
        Some("error-messageid-param-not-provided"),
    );
    react(&alice, json!({"messageId": mid})).await.err(
        400,
        "The required \"emoji\" param is missing. [error-emoji-param-not-provided]",
        Some("error-emoji-param-not-provided"),
    );
    let not_found =
        "The provided \"messageId\" does not match any existing message. [error-message-not-found]";
    react(&alice, json!({"messageId": "nope", "emoji": "smile"})).await.err(
        400,
        not_found,
        Some("error-message-not-found"),
    );
    // A message of a room the caller may not read does not exist for them.
    react(&carol, json!({"messageId": mid, "emoji": "smile"})).await.err(
        400,
        not_found,
        Some("error-message-not-found"),
    );
    for bad in [":not an emoji:", "<b>", "::"] {
        let body = react(&alice, json!({"messageId": mid, "emoji": bad})).await.err(
            400,
            "Invalid emoji provided. [error-not-allowed]",
            Some("error-not-allowed"),
        );
        assert_eq!(body["details"], json!({"method": "setReaction"}));
    }
    react(&alice, json!({"messageId": mid, "emoji": "smile", "shouldReact": 3}))
        .await
        .err_type("error-invalid-params");
    assert!(app.message(&alice, &mid).await.get("reactions").is_none());
    app.post("/api/v1/chat.react", None, json!({"messageId": mid, "emoji": "smile"})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}
