//! `query`, `fields` and `sort` on the listing endpoints (docs/query.md):
//! the safe query language, always inside the endpoint's own filter.

use crate::support::{enc, TestApp};
use serde_json::{json, Value};

const EPOCH: &str = "2000-01-01T00:00:00.000Z";

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|m| m["_id"].as_str().expect("_id").to_owned())
        .collect()
}

/// A thread in GENERAL by alice with replies by bob ("one", "Two été") and
/// carol ("three @bob"), another thread with a reply by bob, and the ids.
async fn fixture() -> (TestApp, crate::support::Session, String, Vec<String>, String) {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let parent = app.say(&alice, "GENERAL", "parent").await["_id"].as_str().expect("id").to_owned();
    let mut replies = Vec::new();
    for (who, text) in [(&bob, "one"), (&bob, "Two ÉTÉ"), (&carol, "three @bob")] {
        replies
            .push(app.reply_in(who, "GENERAL", &parent, text).await["_id"].as_str().expect("id").to_owned());
    }
    let other = app.say(&alice, "GENERAL", "other thread").await["_id"].as_str().expect("id").to_owned();
    app.reply_in(&bob, "GENERAL", &other, "elsewhere").await;
    (app, alice, parent, replies, other)
}

#[tokio::test]
async fn sync_thread_messages_honours_query_fields_and_sort() {
    let (app, alice, parent, replies, _) = fixture().await;
    let sync = |q: &str| {
        format!("/api/v1/chat.syncThreadMessages?tmid={parent}&updatedSince={EPOCH}&query={}", enc(q))
    };
    let by_bob = app.get(&sync(r#"{"u.username": "bob"}"#), Some(&alice)).await.ok();
    assert_eq!(ids(&by_bob["messages"]["update"]), replies[..2].to_vec());

    let regex = app.get(&sync(r#"{"msg": {"$regex": "été", "$options": "i"}}"#), Some(&alice)).await.ok();
    assert_eq!(ids(&regex["messages"]["update"]), vec![replies[1].clone()], "Unicode case folding");

    let mentions =
        app.get(&sync(r#"{"mentions.username": {"$in": ["bob", "zed"]}}"#), Some(&alice)).await.ok();
    assert_eq!(ids(&mentions["messages"]["update"]), vec![replies[2].clone()]);

    let projected = app
        .get(
            &format!(
                "/api/v1/chat.syncThreadMessages?tmid={parent}&updatedSince={EPOCH}&fields={}&sort={}",
                enc(r#"{"msg": 1}"#),
                enc(r#"{"u.username": -1, "ts": 1}"#)
            ),
            Some(&alice),
        )
        .await
        .ok();
    let update = &projected["messages"]["update"];
    assert_eq!(ids(update), vec![replies[2].clone(), replies[0].clone(), replies[1].clone()]);
    assert_eq!(update[0], json!({"_id": replies[2], "msg": "three @bob"}), "only _id and msg");
}

/// A page asked for whole is served from the stored documents without
/// decoding them; `sort` alone and `fields` alone decode and shape it. All
/// three must list the same documents, field for field.
#[tokio::test]
async fn a_whole_sync_page_holds_the_documents_the_shaped_pages_hold() {
    let (app, alice, parent, replies, _) = fixture().await;
    let base = format!("/api/v1/chat.syncThreadMessages?tmid={parent}&updatedSince={EPOCH}");
    let whole = app.get(&base, Some(&alice)).await.ok();
    let whole = whole["messages"]["update"].as_array().expect("update").clone();
    assert_eq!(ids(&Value::Array(whole.clone())), replies);

    let sorted = app.get(&format!("{base}&sort={}", enc(r#"{"ts": -1}"#)), Some(&alice)).await.ok();
    let mut sorted = sorted["messages"]["update"].as_array().expect("update").clone();
    sorted.reverse();
    assert_eq!(sorted, whole, "same documents, field for field, whichever path served them");

    let listed = app.get(&format!("/api/v1/chat.getThreadMessages?tmid={parent}"), Some(&alice)).await.ok();
    assert_eq!(listed["messages"].as_array().expect("messages"), &whole);
    for doc in &whole {
        assert!(
            doc["md"].is_array() && doc["u"]["username"].is_string() && doc["_updatedAt"].is_string(),
            "{doc}"
        );
    }
}

#[tokio::test]
async fn a_query_narrows_and_never_widens() {
    let (app, alice, parent, replies, other) = fixture().await;
    // Clauses naming other threads or rooms are ANDed inside the endpoint's
    // own filter: they can only remove documents.
    for q in [
        format!(r#"{{"$or": [{{"tmid": "{other}"}}, {{"rid": "GENERAL"}}]}}"#),
        format!(r#"{{"tmid": "{other}"}}"#),
        r#"{"rid": {"$ne": "nothing"}}"#.to_owned(),
    ] {
        let body = app
            .get(&format!("/api/v1/chat.getThreadMessages?tmid={parent}&query={}", enc(&q)), Some(&alice))
            .await
            .ok();
        for id in ids(&body["messages"]) {
            assert!(replies.contains(&id), "{q} reached {id} outside the thread");
        }
    }
}

#[tokio::test]
async fn get_thread_messages_and_threads_list_take_queries() {
    let (app, alice, parent, replies, other) = fixture().await;
    let body = app
        .get(
            &format!(
                "/api/v1/chat.getThreadMessages?tmid={parent}&query={}",
                enc(r#"{"$nor": [{"u.username": "carol"}], "msg": {"$not": {"$regex": "^one$"}}}"#)
            ),
            Some(&alice),
        )
        .await
        .ok();
    assert_eq!(ids(&body["messages"]), vec![replies[1].clone()]);
    assert_eq!((body["count"].clone(), body["total"].clone()), (json!(1), json!(1)), "total counts matches");

    let busy = app
        .get(
            &format!("/api/v1/chat.getThreadsList?rid=GENERAL&query={}", enc(r#"{"tcount": {"$gte": 2}}"#)),
            Some(&alice),
        )
        .await
        .ok();
    assert_eq!(ids(&busy["threads"]), vec![parent.clone()]);
    let quiet = app
        .get(
            &format!("/api/v1/chat.getThreadsList?rid=GENERAL&query={}", enc(r#"{"tcount": 1}"#)),
            Some(&alice),
        )
        .await
        .ok();
    assert_eq!(ids(&quiet["threads"]), vec![other]);

    let path = format!("/api/v1/chat.getThreadsList?rid=GENERAL&text={}", enc("PARENT"));
    let found = app.get(&path, Some(&alice)).await.ok();
    assert_eq!(ids(&found["threads"]), vec![parent], "case-insensitive text filter");
}

#[tokio::test]
async fn hostile_queries_are_refused_or_harmless() {
    let (app, alice, parent, _, _) = fixture().await;
    let list = |q: &str| format!("/api/v1/chat.getThreadMessages?tmid={parent}&query={}", enc(q));
    let deep = format!("{}{{\"msg\": \"x\"}}{}", "{\"$and\": [".repeat(50), "]}".repeat(50));
    // 2000 elements: far over the `$in` limit, and under the URL limit once encoded.
    let wide_in = format!(r#"{{"msg": {{"$in": [{}]}}}}"#, vec!["\"x\""; 2000].join(","));
    let long_string = format!(r#"{{"msg": "{}"}}"#, "y".repeat(20_000));
    for q in [
        r#"{"$where": "sleep(1000)"}"#.to_owned(),
        r#"{"$expr": {"$eq": ["$msg", "x"]}}"#.to_owned(),
        r#"{"$function": {"body": "x", "args": [], "lang": "js"}}"#.to_owned(),
        r#"{"e2e": "x"}"#.to_owned(),
        r#"{"password": "x"}"#.to_owned(),
        r#"{"msg": {"$regex": "(a)\\1"}}"#.to_owned(),
        r#"["not", "an", "object"]"#.to_owned(),
        deep,
        wide_in,
        long_string,
    ] {
        let reply = app.get(&list(&q), Some(&alice)).await;
        let body = reply.err_type("error-invalid-query");
        let text = body["error"].as_str().expect("error");
        assert!(text.starts_with("Invalid query parameter provided: \""), "{text}");
        assert!(text.len() < 600, "the echo of a huge query is truncated: {} bytes", text.len());
    }
    // A catastrophic pattern for a backtracking engine is harmless here.
    let evil = app.get(&list(r#"{"msg": {"$regex": "(a+)+$"}}"#), Some(&alice)).await.ok();
    assert_eq!(evil["messages"], json!([]));
}
