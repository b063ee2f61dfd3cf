//! `channels.history` / `groups.history` / `im.history` and
//! `channels.messages` / `groups.messages` / `im.messages`.

use crate::support::{enc, TestApp};
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
    message["_id"].as_str().expect("_id").to_owned()
}

#[tokio::test]
async fn history_is_newest_first_in_a_window_with_paging() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let rid = app.channel(&alice, "town", &[]).await;
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(app.say(&alice, &rid, &format!("m{i}")).await);
    }
    let all = app.get(&format!("/api/v1/channels.history?roomId={rid}"), Some(&alice)).await.ok();
    let newest_first: Vec<String> = sent.iter().rev().map(id).collect();
    assert_eq!(ids(&all), newest_first);
    assert_eq!(
        (all["count"].clone(), all["total"].clone(), all["offset"].clone()),
        (json!(5), json!(5), json!(0))
    );

    let page = app.get("/api/v1/channels.history?roomName=town&count=2&offset=1", Some(&alice)).await.ok();
    assert_eq!(ids(&page), newest_first[1..3].to_vec());

    // `latest` / `oldest` exclusive by default, inclusive on request.
    let (latest, oldest) =
        (enc(sent[3]["ts"].as_str().expect("ts")), enc(sent[1]["ts"].as_str().expect("ts")));
    let window = app
        .get(&format!("/api/v1/channels.history?roomId={rid}&latest={latest}&oldest={oldest}"), Some(&alice))
        .await
        .ok();
    assert_eq!(ids(&window), vec![id(&sent[2])]);
    let inclusive = app
        .get(
            &format!("/api/v1/channels.history?roomId={rid}&latest={latest}&oldest={oldest}&inclusive=true"),
            Some(&alice),
        )
        .await
        .ok();
    assert_eq!(ids(&inclusive), vec![id(&sent[3]), id(&sent[2]), id(&sent[1])]);

    for bad in ["latest=yesterday", "oldest=x", "inclusive=maybe", "showThreadMessages=2", "count=-1"] {
        app.get(&format!("/api/v1/channels.history?roomId={rid}&{bad}"), Some(&alice))
            .await
            .err_type("error-invalid-params");
    }
}

#[tokio::test]
async fn history_shows_thread_messages_unless_asked_not_to() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let gid = app.group(&alice, "den", &[]).await;
    let parent = id(&app.say(&alice, &gid, "parent").await);
    let hidden = id(&app.reply_in(&alice, &gid, &parent, "in the thread only").await);
    let shown = app
        .post(
            "/api/v1/chat.sendMessage",
            Some(&alice),
            json!({"message": {"rid": gid, "msg": "also in room", "tmid": parent, "tshow": true}}),
        )
        .await
        .ok()["message"]["_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let all = app.get(&format!("/api/v1/groups.history?roomId={gid}"), Some(&alice)).await.ok();
    assert_eq!(ids(&all), vec![shown.clone(), hidden.clone(), parent.clone()]);
    let room_only = app
        .get(&format!("/api/v1/groups.history?roomId={gid}&showThreadMessages=false"), Some(&alice))
        .await
        .ok();
    assert_eq!(ids(&room_only), vec![shown, parent]);
}

#[tokio::test]
async fn messages_reads_a_thread_or_the_room_without_threads() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = app.direct(&alice, &bob).await;
    let parent = id(&app.say(&alice, &dm, "parent").await);
    let r1 = id(&app.reply_in(&bob, &dm, &parent, "r1").await);
    let r2 = id(&app.reply_in(&alice, &dm, &parent, "r2").await);
    let plain = id(&app.say(&bob, &dm, "plain").await);

    // EmbeddedChat's thread read.
    let thread = enc(&json!({"tmid": parent}).to_string());
    let body = app.get(&format!("/api/v1/im.messages?roomId={dm}&query={thread}"), Some(&bob)).await.ok();
    assert_eq!(ids(&body), vec![r2.clone(), r1.clone()], "newest first by default");
    assert_eq!(body["total"], 2);
    let sort = enc(r#"{"ts":1}"#);
    let body = app
        .get(
            &format!("/api/v1/dm.messages?roomId={dm}&query={thread}&sort={sort}&count=1&offset=1"),
            Some(&bob),
        )
        .await
        .ok();
    assert_eq!((ids(&body), body["total"].clone()), (vec![r2], json!(2)));

    let top = enc(r#"{"tmid":{"$exists":false}}"#);
    let body = app.get(&format!("/api/v1/im.messages?roomId={dm}&query={top}"), Some(&alice)).await.ok();
    assert_eq!(ids(&body), vec![plain.clone(), parent.clone()]);
    let fields = enc(r#"{"msg":1}"#);
    let body = app
        .get(&format!("/api/v1/im.messages?roomId={dm}&query={top}&fields={fields}&count=1"), Some(&alice))
        .await
        .ok();
    assert_eq!(body["messages"], json!([{"_id": plain, "msg": "plain"}]));

    let bad = enc(r#"{"$where":"1"}"#);
    app.get(&format!("/api/v1/im.messages?roomId={dm}&query={bad}"), Some(&alice))
        .await
        .err_type("error-invalid-query");

    // The DM named by the other member's username reads the same.
    let by_id = app.get(&format!("/api/v1/im.messages?roomId={dm}"), Some(&alice)).await.ok();
    let by_name = app.get("/api/v1/dm.messages?username=BOB", Some(&alice)).await.ok();
    assert_eq!(by_name, by_id);
    let history = app.get("/api/v1/im.history?username=alice", Some(&bob)).await.ok();
    assert_eq!(history["messages"].as_array().map(Vec::len), Some(4), "{history}");
    // No DM with that user (or no such user): as a DM one may not read.
    let carol = app.user("carol").await;
    app.get("/api/v1/im.messages?username=carol", Some(&alice)).await.err_type("invalid-channel");
    app.get("/api/v1/im.messages?username=nobody", Some(&alice)).await.err_type("invalid-channel");
    app.get("/api/v1/im.messages?username=bob", Some(&carol)).await.err_type("invalid-channel");
}

#[tokio::test]
async fn each_family_reads_only_its_rooms_and_members_only_where_private() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let town = app.channel(&alice, "town", &[]).await;
    let den = app.group(&alice, "den", &[&bob]).await;
    let dm = app.direct(&alice, &bob).await;
    let channel_nf = "The required \"roomId\" or \"roomName\" param provided does not match any channel [error-room-not-found]";
    let group_nf = "The required \"roomId\" or \"roomName\" param provided does not match any group [error-room-not-found]";
    for read in ["history", "messages"] {
        // A public channel is readable by anyone logged in.
        app.get(&format!("/api/v1/channels.{read}?roomId={town}"), Some(&carol)).await.ok();
        app.get(&format!("/api/v1/channels.{read}?roomId={den}"), Some(&alice)).await.err(
            400,
            channel_nf,
            Some("error-room-not-found"),
        );
        app.get(&format!("/api/v1/groups.{read}?roomId={den}"), Some(&carol)).await.err(
            400,
            group_nf,
            Some("error-room-not-found"),
        );
        app.get(&format!("/api/v1/groups.{read}?roomId={den}"), Some(&bob)).await.ok();
        app.get(&format!("/api/v1/im.{read}?roomId={dm}"), Some(&carol)).await.err(
            400,
            "[invalid-channel]",
            Some("invalid-channel"),
        );
        app.get(&format!("/api/v1/im.{read}?roomId={town}"), Some(&alice)).await.err(
            400,
            "[invalid-channel]",
            Some("invalid-channel"),
        );
        app.get(&format!("/api/v1/im.{read}"), Some(&alice)).await.err(
            400,
            "must have required property 'roomId' [invalid-params]",
            Some("invalid-params"),
        );
        app.get(&format!("/api/v1/channels.{read}"), Some(&alice)).await.err(
            400,
            "The parameter \"roomId\" or \"roomName\" is required [error-roomid-param-not-provided]",
            Some("error-roomid-param-not-provided"),
        );
        app.get(&format!("/api/v1/groups.{read}?roomId={den}"), None).await.err(
            401,
            "You must be logged in to do this.",
            None,
        );
    }
}
