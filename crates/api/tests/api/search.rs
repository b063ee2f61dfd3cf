//! `chat.search`: full-text search of a room's messages.

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

fn id(message: &Value) -> String {
    message["_id"].as_str().expect("id").to_owned()
}

/// `searchText` as a query parameter.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn search(app: &TestApp, who: &crate::support::Session, rid: &str, text: &str) -> Vec<String> {
    let url = format!("/api/v1/chat.search?roomId={rid}&searchText={}", encoded(text));
    ids(&app.get(&url, Some(who)).await.ok())
}

#[tokio::test]
async fn finds_words_newest_first_with_replies_and_without_deleted_messages() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = app.group(&alice, "den", &[&bob]).await;
    let m1 = id(&app.say(&alice, &rid, "Deploy the CAFÉ release").await);
    let m2 = id(&app.say(&bob, &rid, "déploiement du café").await);
    let m3 = id(&app.say(&bob, &rid, "unrelated words").await);
    let r1 = id(&app.reply_in(&bob, &rid, &m1, "café in the thread").await);

    assert_eq!(search(&app, &bob, &rid, "cafe").await, vec![r1.clone(), m2.clone(), m1.clone()]);
    assert_eq!(search(&app, &bob, &rid, "depl*").await, vec![m2.clone(), m1.clone()]);
    assert_eq!(search(&app, &bob, &rid, "\"the cafe\" -thread").await, vec![m1.clone()]);
    // The same documents as chat.getMessage.
    let body =
        app.get(&format!("/api/v1/chat.search?roomId={rid}&searchText=release"), Some(&bob)).await.ok();
    assert_eq!(body, json!({"messages": [app.message(&bob, &m1).await], "success": true}));

    // Edits and deletions reach the index at once.
    app.edit(&bob, &rid, &m3, "now about the cafe").await;
    assert_eq!(search(&app, &bob, &rid, "cafe").await, vec![r1.clone(), m3.clone(), m2.clone(), m1.clone()]);
    assert!(search(&app, &bob, &rid, "unrelated").await.is_empty());
    app.remove(&bob, &rid, &m2).await;
    app.remove(&bob, &rid, &r1).await;
    assert_eq!(search(&app, &bob, &rid, "cafe").await, vec![m3.clone(), m1.clone()]);

    // Paging: count and offset.
    let url = format!("/api/v1/chat.search?roomId={rid}&searchText=cafe&count=1&offset=1");
    assert_eq!(ids(&app.get(&url, Some(&bob)).await.ok()), vec![m1.clone()]);
    // Nothing to search by finds nothing, as Rocket.Chat.
    assert!(search(&app, &bob, &rid, "   ").await.is_empty());
    assert!(search(&app, &bob, &rid, "-cafe").await.is_empty());
}

#[tokio::test]
async fn operators_from_mention_star_pin_dates_and_order() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = app.group(&alice, "den", &[&bob]).await;
    let a1 = id(&app.say(&alice, &rid, "status report one").await);
    let b1 = id(&app.say(&bob, &rid, "status report two, @alice").await);
    let a2 = id(&app.say(&alice, &rid, "status report three").await);

    assert_eq!(search(&app, &bob, &rid, "status from:alice").await, vec![a2.clone(), a1.clone()]);
    assert_eq!(search(&app, &bob, &rid, "from:me").await, vec![b1.clone()]);
    assert_eq!(search(&app, &bob, &rid, "FROM:ALICE order:asc").await, vec![a1.clone(), a2.clone()]);
    assert!(search(&app, &bob, &rid, "status from:nobody").await.is_empty());
    assert_eq!(search(&app, &bob, &rid, "mention:alice").await, vec![b1.clone()]);

    app.post("/api/v1/chat.starMessage", Some(&bob), json!({"messageId": a1})).await.ok();
    assert_eq!(search(&app, &bob, &rid, "has:star").await, vec![a1.clone()]);
    assert!(search(&app, &alice, &rid, "has:star").await.is_empty(), "stars are the caller's");
    app.post("/api/v1/chat.pinMessage", Some(&alice), json!({"messageId": a2})).await.ok();
    assert_eq!(search(&app, &bob, &rid, "report is:pinned").await, vec![a2.clone()]);
    // Content threadsync does not store matches nothing.
    assert!(search(&app, &bob, &rid, "status has:url").await.is_empty());

    // Dates: everything was written today (UTC; the users' offset is 0).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let days = i64::try_from(now / 86_400).expect("days");
    let (y, m, d) = civil(days);
    let today = format!("{d}-{m}-{y}");
    let (y1, m1, d1) = civil(days - 1);
    let yesterday = format!("{d1}/{m1}/{y1}");
    assert_eq!(search(&app, &bob, &rid, &format!("report on:{today}")).await.len(), 3);
    assert_eq!(search(&app, &bob, &rid, &format!("report after:{yesterday}")).await.len(), 3);
    assert!(search(&app, &bob, &rid, &format!("report before:{today}")).await.is_empty());
}

/// (year, month, day) of a day count since 1970-01-01.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[tokio::test]
async fn checks_parameters_then_access() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let dave = app.user("dave").await;
    let rid = app.group(&alice, "den", &[]).await;
    app.say(&alice, &rid, "private words").await;
    app.get("/api/v1/chat.search?searchText=x", Some(&alice)).await.err(
        400,
        "The required \"roomId\" query param is missing. [error-roomId-param-not-provided]",
        Some("error-roomId-param-not-provided"),
    );
    app.get(&format!("/api/v1/chat.search?roomId={rid}&searchText="), Some(&alice)).await.err(
        400,
        "The required \"searchText\" query param is missing. [error-searchText-param-not-provided]",
        Some("error-searchText-param-not-provided"),
    );
    app.get(&format!("/api/v1/chat.search?roomId={rid}&searchText=x&count=ten"), Some(&alice))
        .await
        .err_type("error-invalid-params");
    // A room the caller may not read, and one that does not exist, answer alike.
    for room in [rid.as_str(), "no-such-room"] {
        app.get(&format!("/api/v1/chat.search?roomId={room}&searchText=private"), Some(&dave)).await.err(
            400,
            "Not allowed [error-not-allowed]",
            Some("error-not-allowed"),
        );
    }
    // Public channels are readable by every user.
    let general = app.channel(&alice, "open", &[]).await;
    let mid = id(&app.say(&alice, &general, "public words").await);
    assert_eq!(search(&app, &dave, &general, "public").await, vec![mid]);
    app.get(&format!("/api/v1/chat.search?roomId={rid}&searchText=x"), None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}
