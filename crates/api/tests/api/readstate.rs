//! `subscriptions.read` and `subscriptions.unread`.

use crate::support::TestApp;
use serde_json::json;
use threadsync_domain::Timestamp;

#[tokio::test]
async fn read_clears_and_unread_sets_the_alert() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = app.group(&alice, "den", &[&bob]).await;
    let parent = app.say(&alice, &rid, "parent").await;
    let pid = parent["_id"].as_str().expect("id").to_owned();
    // Bob follows the thread and gets it in his unread threads.
    app.post("/api/v1/chat.followMessage", Some(&bob), json!({"mid": pid})).await.ok();
    app.reply_in(&alice, &rid, &pid, "reply").await;
    let sub = |who| {
        let rid = rid.clone();
        let app = &app;
        async move {
            app.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(who)).await.ok()
                ["subscription"]
                .clone()
        }
    };
    assert_eq!(sub(&bob).await["tunread"], json!([pid]));

    app.post("/api/v1/subscriptions.read", Some(&bob), json!({"rid": rid})).await.ok();
    let read = sub(&bob).await;
    assert_eq!((read["alert"].clone(), read["unread"].clone()), (json!(false), json!(0)));
    assert_eq!(read["tunread"], json!([pid]), "threads stay without readThreads");
    assert!(read["ls"].is_string(), "{read}");
    app.post("/api/v1/subscriptions.read", Some(&bob), json!({"roomId": rid, "readThreads": true}))
        .await
        .ok();
    assert_eq!(sub(&bob).await["tunread"], json!([]));

    // Unread from the last message, or from a chosen one.
    let last = app.say(&alice, &rid, "last").await;
    app.post("/api/v1/subscriptions.unread", Some(&bob), json!({"roomId": rid})).await.ok();
    let unread = sub(&bob).await;
    assert_eq!(unread["alert"], true);
    let ls = Timestamp::parse(unread["ls"].as_str().expect("ls")).expect("date");
    assert_eq!(ls.millis() + 1, Timestamp::parse(last["ts"].as_str().expect("ts")).expect("ts").millis());
    app.post("/api/v1/subscriptions.unread", Some(&bob), json!({"firstUnreadMessage": {"_id": pid}}))
        .await
        .ok();
    let ls = Timestamp::parse(sub(&bob).await["ls"].as_str().expect("ls")).expect("date");
    assert_eq!(ls.millis() + 1, Timestamp::parse(parent["ts"].as_str().expect("ts")).expect("ts").millis());
}

#[tokio::test]
async fn read_and_unread_refusals() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let carol = app.user("carol").await;
    let rid = app.group(&alice, "den", &[]).await;
    app.post("/api/v1/subscriptions.read", Some(&alice), json!({})).await.err(
        400,
        "must have required property 'rid' [invalid-params]",
        Some("invalid-params"),
    );
    let body = app.post("/api/v1/subscriptions.read", Some(&carol), json!({"rid": rid})).await.err(
        400,
        "Invalid subscription [error-invalid-subscription]",
        Some("error-invalid-subscription"),
    );
    assert_eq!(body["details"], json!({"method": "readMessages"}));
    // A room that does not exist is the same refusal (found by the HTTP
    // fuzzer: PostgreSQL answered 500).
    app.post("/api/v1/subscriptions.read", Some(&alice), json!({"rid": "no-such-room"})).await.err(
        400,
        "Invalid subscription [error-invalid-subscription]",
        Some("error-invalid-subscription"),
    );
    app.post("/api/v1/subscriptions.read", Some(&alice), json!({"rid": rid, "readThreads": 5}))
        .await
        .err_type("error-invalid-params");
    app.post("/api/v1/subscriptions.unread", Some(&alice), json!({})).await.err(
        400,
        "must have required property 'roomId' [invalid-params]",
        Some("invalid-params"),
    );
    // No messages yet.
    app.post("/api/v1/subscriptions.unread", Some(&alice), json!({"roomId": rid})).await.err(
        400,
        "Not allowed [error-action-not-allowed]",
        Some("error-action-not-allowed"),
    );
    let mid = app.say(&alice, &rid, "secret").await["_id"].as_str().expect("id").to_owned();
    app.post("/api/v1/subscriptions.unread", Some(&carol), json!({"roomId": rid})).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    app.post("/api/v1/subscriptions.unread", Some(&carol), json!({"firstUnreadMessage": {"_id": mid}}))
        .await
        .err_type("error-message-not-found");
    app.post("/api/v1/subscriptions.read", None, json!({"rid": rid})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

/// Every new message shown in a room moves the other members' counters
/// (Rocket.Chat's rules and `Unread_Count` settings) and marks it read for
/// its sender; `subscriptions.read` clears them.
#[tokio::test]
async fn new_messages_count_in_the_members_counters() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = app.channel(&alice, "hall", &[&bob, &carol]).await;
    let sub = |who, rid: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(who)).await.ok()
                ["subscription"]
                .clone()
        }
    };
    let counters = |s: &serde_json::Value| {
        (s["alert"].clone(), s["unread"].clone(), s["userMentions"].clone(), s["groupMentions"].clone())
    };

    // By default a plain message alerts without counting.
    app.say(&alice, &rid, "hello").await;
    assert_eq!(counters(&sub(&bob, rid.clone()).await), (json!(true), json!(0), json!(0), json!(0)));
    // A mention counts for the mentioned member only.
    app.say(&alice, &rid, "hi @bob").await;
    assert_eq!(counters(&sub(&bob, rid.clone()).await), (json!(true), json!(1), json!(1), json!(0)));
    assert_eq!(counters(&sub(&carol, rid.clone()).await), (json!(true), json!(0), json!(0), json!(0)));
    // A group mention counts for everyone else.
    let before = sub(&bob, rid.clone()).await["_updatedAt"].clone();
    let all = app.say(&alice, &rid, "@all look").await;
    assert_eq!(counters(&sub(&bob, rid.clone()).await), (json!(true), json!(2), json!(1), json!(1)));
    assert_eq!(counters(&sub(&carol, rid.clone()).await), (json!(true), json!(1), json!(0), json!(1)));
    // The sender read the room up to their message.
    let own = sub(&alice, rid.clone()).await;
    assert_eq!(counters(&own), (json!(false), json!(0), json!(0), json!(0)));
    assert_eq!(own["ls"], all["ts"]);
    // The roster delta reports the changed subscription.
    let since = before.as_str().expect("stamp");
    let delta = app.get(&format!("/api/v1/subscriptions.get?updatedSince={since}"), Some(&bob)).await.ok();
    let updated = delta["update"].as_array().expect("update");
    assert!(updated.iter().any(|s| s["rid"] == rid.as_str() && s["unread"] == 2), "{delta}");

    // A thread reply not shown in the room counts only in `tunread`.
    let parent = all["_id"].as_str().expect("id").to_owned();
    app.reply_in(&bob, &rid, &parent, "in the thread @carol").await;
    assert_eq!(counters(&sub(&carol, rid.clone()).await), (json!(true), json!(1), json!(0), json!(1)));

    app.post("/api/v1/subscriptions.read", Some(&bob), json!({"rid": rid})).await.ok();
    assert_eq!(counters(&sub(&bob, rid.clone()).await), (json!(false), json!(0), json!(0), json!(0)));

    // Every message counts with `all_messages`, and in direct messages by default.
    app.set_setting("Unread_Count", json!("all_messages")).await;
    app.say(&alice, &rid, "plain").await;
    assert_eq!(counters(&sub(&bob, rid.clone()).await), (json!(true), json!(1), json!(0), json!(0)));
    let dm = app.direct(&alice, &bob).await;
    app.say(&alice, &dm, "psst").await;
    app.say(&alice, &dm, "psst again").await;
    assert_eq!(counters(&sub(&bob, dm.clone()).await), (json!(true), json!(2), json!(0), json!(0)));
}
