//! chat.sendMessage, chat.postMessage, chat.getMessage, chat.update, chat.delete,
//! and the thread bookkeeping a reply implies.

use crate::support::{Reply, Session, TestApp};
use serde_json::{json, Value};
use threadsync_domain::{Room, RoomType, Subscription, Timestamp, UserRef};

const SEND: &str = "/api/v1/chat.sendMessage";
const POST: &str = "/api/v1/chat.postMessage";
const UPDATE: &str = "/api/v1/chat.update";
const DELETE: &str = "/api/v1/chat.delete";

/// A fresh app with the rate limiter off (these tests send many messages).
async fn app() -> TestApp {
    let app = TestApp::new().await;
    app.set_setting("API_Enable_Rate_Limiter", json!(false)).await;
    app
}

async fn send(app: &TestApp, who: &Session, message: Value) -> Reply {
    app.post(SEND, Some(who), json!({ "message": message })).await
}

/// Sends `msg` to `rid` and returns the stored message.
async fn say(app: &TestApp, who: &Session, rid: &str, msg: &str) -> Value {
    send(app, who, json!({"rid": rid, "msg": msg})).await.ok()["message"].clone()
}

/// Replies `msg` in the thread `tmid` of `rid`.
async fn reply(app: &TestApp, who: &Session, rid: &str, tmid: &str, msg: &str) -> Value {
    send(app, who, json!({"rid": rid, "msg": msg, "tmid": tmid})).await.ok()["message"].clone()
}

async fn get_message(app: &TestApp, who: &Session, id: &str) -> Reply {
    app.get(&format!("/api/v1/chat.getMessage?msgId={id}"), Some(who)).await
}

async fn fetch(app: &TestApp, who: &Session, id: &str) -> Value {
    get_message(app, who, id).await.ok()["message"].clone()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

fn stamp(v: &Value, key: &str) -> Timestamp {
    Timestamp::parse(text(v, key)).unwrap_or_else(|| panic!("{key} is not a date in {v}"))
}

fn set_of(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_str().expect("string").to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    ids.sort();
    ids
}

/// Creates a room straight in the store: `members` with their room roles.
async fn make_room(
    app: &TestApp,
    t: RoomType,
    name: &str,
    read_only: bool,
    members: &[(&Session, &[&str])],
) -> String {
    let store = app.services.store();
    let now = Timestamp::now();
    let id = format!("room-{name}");
    let room = Room {
        name: Some(name.to_owned()),
        fname: Some(name.to_owned()),
        read_only,
        ..Room::new(id.clone(), t, now)
    };
    let subscriptions: Vec<Subscription> = members
        .iter()
        .map(|(s, roles)| Subscription {
            id: format!("sub-{name}-{}", s.username),
            rid: id.clone(),
            u: UserRef { id: s.user_id.clone(), username: s.username.clone(), name: None },
            t,
            name: name.to_owned(),
            fname: name.to_owned(),
            ts: now,
            ls: Some(now),
            updated_at: now,
            open: true,
            alert: false,
            unread: 0,
            user_mentions: 0,
            group_mentions: 0,
            tunread: Vec::new(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            f: false,
            archived: false,
            ignored: Vec::new(),
        })
        .collect();
    store.create_room(&room, &subscriptions).await.expect("create room");
    id
}

// ---------------------------------------------------------------- sendMessage

#[tokio::test]
async fn send_message_returns_the_stored_message() {
    let app = app().await;
    let alice = app.user("alice").await;
    let body = send(&app, &alice, json!({"rid": "GENERAL", "msg": "hello"})).await.ok();
    let m = &body["message"];
    assert_eq!(m["rid"], "GENERAL");
    assert_eq!(m["msg"], "hello");
    assert_eq!(m["u"], json!({"_id": alice.user_id, "username": "alice", "name": "alice"}));
    assert_eq!(m["mentions"], json!([]));
    assert_eq!(m["channels"], json!([]));
    assert_eq!(text(m, "_id").len(), 17, "generated ids are Meteor ids");
    assert!(stamp(m, "ts") <= stamp(m, "_updatedAt"));
    assert!(text(m, "ts").ends_with('Z'));
    for absent in ["tmid", "tcount", "tlm", "replies", "t", "editedAt"] {
        assert!(m.get(absent).is_none(), "{absent} in {m}");
    }
    assert_eq!(fetch(&app, &alice, text(m, "_id")).await, *m);
}

#[tokio::test]
async fn send_message_needs_auth() {
    let app = app().await;
    app.post(SEND, None, json!({"message": {"rid": "GENERAL", "msg": "x"}})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

#[tokio::test]
async fn client_id_is_kept_and_must_be_unique_and_valid() {
    let app = app().await;
    let alice = app.user("alice").await;
    let m = send(&app, &alice, json!({"_id": "client-id.1", "rid": "GENERAL", "msg": "a"})).await.ok();
    assert_eq!(m["message"]["_id"], "client-id.1");
    send(&app, &alice, json!({"_id": "client-id.1", "rid": "GENERAL", "msg": "b"})).await.err(
        400,
        "A message with this _id already exists [error-duplicate-id]",
        Some("error-duplicate-id"),
    );
    assert_eq!(fetch(&app, &alice, "client-id.1").await["msg"], "a", "the first message is untouched");
    send(&app, &alice, json!({"_id": "bad id!", "rid": "GENERAL", "msg": "c"}))
        .await
        .err_type("error-invalid-params");
    send(&app, &alice, json!({"_id": 42, "rid": "GENERAL", "msg": "c"}))
        .await
        .err_type("error-invalid-params");
}

#[tokio::test]
async fn send_message_rejects_bad_input() {
    let app = app().await;
    let alice = app.user("alice").await;
    app.post(SEND, Some(&alice), json!({})).await.err(
        400,
        "The \"message\" parameter must be provided. [error-invalid-params]",
        Some("error-invalid-params"),
    );
    send(&app, &alice, json!({"msg": "no room"})).await.err(
        400,
        "The 'rid' property on the message object is missing.",
        None,
    );
    send(&app, &alice, json!({"rid": "nope", "msg": "x"})).await.err(
        400,
        "Invalid room [error-invalid-room]",
        Some("error-invalid-room"),
    );
    for bad in [
        json!({"rid": "GENERAL", "msg": 5}),
        json!({"rid": "GENERAL", "msg": "x", "tshow": "yes"}),
        json!({"rid": "GENERAL", "msg": "x", "attachments": {}}),
        json!({"rid": "GENERAL", "msg": "x", "attachments": ["not an object"]}),
        json!({"rid": "GENERAL", "msg": "x", "customFields": []}),
        json!({"rid": "GENERAL", "msg": "x", "blocks": {}}),
        json!({"rid": "GENERAL", "msg": "x", "blocks": [1]}),
        json!({"rid": "GENERAL", "msg": "x", "alias": 1}),
        json!({"rid": "GENERAL", "msg": "x", "tmid": true}),
        json!({"rid": ["GENERAL"], "msg": "x"}),
    ] {
        send(&app, &alice, bad).await.err_type("error-invalid-params");
    }
    app.post(SEND, Some(&alice), json!({"message": "text"})).await.err_type("error-invalid-params");
    send(&app, &alice, json!({"rid": "GENERAL", "msg": "x", "tshow": true})).await.err(
        400,
        "tshow provided but missing tmid [invalid-params]",
        Some("invalid-params"),
    );
}

#[tokio::test]
async fn content_fields_round_trip_and_unknown_fields_are_dropped() {
    let app = app().await;
    let alice = app.user("alice").await;
    let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]);
    let sent = send(
        &app,
        &alice,
        json!({
            "rid": "GENERAL",
            "text": "the test helper's field",
            "alias": "Ali",
            "emoji": ":smile:",
            "avatar": "http://example.com/a.png",
            "attachments": [{"title": "t", "fields": [{"title": "a", "value": "b"}]}],
            "blocks": blocks,
            "customFields": {"priority": "high"},
            "somethingNew": {"nested": [1, 2, {"x": null}]},
            "parseUrls": false,
            "bot": {"i": "forged-integration"},
        }),
    )
    .await
    .ok()["message"]
        .clone();
    // Rocket.Chat's test helper sends `text`: like Rocket.Chat, `msg` stays empty.
    assert_eq!(sent["msg"], "");
    let got = fetch(&app, &alice, text(&sent, "_id")).await;
    assert_eq!(got["alias"], "Ali");
    assert_eq!(got["emoji"], ":smile:");
    assert_eq!(got["avatar"], "http://example.com/a.png");
    assert_eq!(got["attachments"], json!([{"title": "t", "fields": [{"title": "a", "value": "b"}]}]));
    assert_eq!(got["blocks"], blocks);
    assert_eq!(got["customFields"], json!({"priority": "high"}));
    for dropped in ["text", "somethingNew", "parseUrls", "bot"] {
        assert!(got.get(dropped).is_none(), "{dropped} kept in {got}");
    }
    assert_eq!(got, sent);
}

/// Issue 11, defect 4: a field nobody reads must not carry 900 KB past
/// `Message_MaxAllowedSize` into the store.
#[tokio::test]
async fn an_unknown_field_cannot_smuggle_a_large_document() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bogus = "z".repeat(900_000);
    let sent = send(&app, &alice, json!({"rid": "GENERAL", "msg": "small", "bogus": bogus})).await.ok();
    let id = text(&sent["message"], "_id").to_owned();
    let got = get_message(&app, &alice, &id).await.ok();
    assert!(got["message"].get("bogus").is_none(), "the unknown field was stored");
    assert!(got.to_string().len() < 2_000, "chat.getMessage answers {} bytes", got.to_string().len());
    let stored = app.services.store().message_by_id(&id).await.expect("store").expect("stored");
    assert!(stored.extra.is_empty(), "stored extra fields: {:?}", stored.extra.keys().collect::<Vec<_>>());
}

/// The fields kept besides `msg` are bounded together (64 KiB of JSON):
/// enough for a message with several rich attachments, not for a payload.
#[tokio::test]
async fn content_fields_are_bounded_together() {
    let app = app().await;
    let alice = app.user("alice").await;
    let exceeded = "Message content exceeds 65536 bytes (alias, emoji, avatar, attachments, blocks and \
                    customFields together) [error-message-size-exceeded]";
    // A legitimate rich message: ten attachments with a long text each.
    let attachment = |i: usize| {
        json!({
            "title": format!("attachment {i}"), "title_link": "https://example.com/file.pdf",
            "image_url": "https://example.com/image.png", "collapsed": false,
            "text": "t".repeat(5_000),
            "fields": [{"short": true, "title": "size", "value": "1 MB"}],
        })
    };
    let rich: Vec<Value> = (0..10).map(attachment).collect();
    let m = send(&app, &alice, json!({"rid": "GENERAL", "msg": "files", "attachments": rich})).await.ok();
    assert_eq!(m["message"]["attachments"].as_array().map(Vec::len), Some(10));
    // Over the bound, through each structured field and each sending route.
    let big = "x".repeat(70_000);
    for oversized in [
        json!({"attachments": [{"text": big}]}),
        json!({"customFields": {"note": big}}),
        json!({"blocks": [{"type": "section", "text": big}]}),
        json!({"alias": big}),
        // Many fields each under the bound, together over it.
        json!({"alias": "x".repeat(20_000), "avatar": "x".repeat(20_000), "customFields": {"a": "x".repeat(30_000)}}),
    ] {
        let mut message = oversized.clone();
        message["rid"] = json!("GENERAL");
        message["msg"] = json!("small");
        send(&app, &alice, message).await.err(400, exceeded, Some("error-message-size-exceeded"));
    }
    for oversized in [json!({"attachments": [{"text": big}]}), json!({"customFields": {"note": big}})] {
        let mut body = oversized.clone();
        body["roomId"] = json!("GENERAL");
        body["text"] = json!("small");
        app.post(POST, Some(&alice), body).await.err(400, exceeded, Some("error-message-size-exceeded"));
    }
    // Nothing of the refused messages was stored.
    let store = app.services.store();
    let general = store.room_by_id("GENERAL").await.expect("store").expect("GENERAL");
    assert_eq!(general.msgs, 1, "only the rich message was stored");
}

#[tokio::test]
async fn forged_reserved_fields_are_ignored() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let sent = send(
        &app,
        &alice,
        json!({
            "rid": "GENERAL",
            "msg": "honest",
            "u": {"_id": bob.user_id, "username": "bob"},
            "ts": "2000-01-01T00:00:00.000Z",
            "_updatedAt": "2000-01-01T00:00:00.000Z",
            "tcount": 99,
            "tlm": "2000-01-01T00:00:00.000Z",
            "replies": [bob.user_id],
            "t": "rm",
            "editedAt": "2000-01-01T00:00:00.000Z",
            "editedBy": {"_id": bob.user_id, "username": "bob"},
            "mentions": [{"_id": bob.user_id, "username": "bob"}],
            "channels": [{"_id": "GENERAL", "name": "general"}],
            "_deletedAt": "2000-01-01T00:00:00.000Z",
            "pinned": true,
            "reactions": {":x:": {"usernames": ["bob"]}},
        }),
    )
    .await
    .ok()["message"]
        .clone();
    let got = fetch(&app, &alice, text(&sent, "_id")).await;
    assert_eq!(got, sent);
    assert_eq!(got["u"]["_id"], json!(alice.user_id));
    assert!(stamp(&got, "ts") > Timestamp::parse("2020-01-01T00:00:00Z").expect("date"));
    assert!(stamp(&got, "_updatedAt") > Timestamp::parse("2020-01-01T00:00:00Z").expect("date"));
    assert_eq!(got["mentions"], json!([]));
    assert_eq!(got["channels"], json!([]));
    for forged in
        ["tcount", "tlm", "replies", "t", "editedAt", "editedBy", "_deletedAt", "pinned", "reactions"]
    {
        assert!(got.get(forged).is_none(), "{forged} kept in {got}");
    }
}

#[tokio::test]
async fn mentions_and_channels_are_parsed() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("outsider").await;
    let mine = make_room(&app, RoomType::Group, "mine", false, &[(&alice, &["owner"])]).await;
    make_room(&app, RoomType::Group, "secret", false, &[(&outsider, &["owner"])]).await;
    let m = say(
        &app,
        &alice,
        "GENERAL",
        "@bob look @all @here @nobody mail@bob.com thanks @bob. #general #secret #mine #nothing\n@alice",
    )
    .await;
    assert_eq!(
        m["mentions"],
        json!([
            {"_id": bob.user_id, "username": "bob", "name": "bob", "type": "user"},
            {"_id": "all", "username": "all"},
            {"_id": "here", "username": "here"},
            {"_id": alice.user_id, "username": "alice", "name": "alice", "type": "user"},
        ])
    );
    assert_eq!(m["channels"], json!([{"_id": "GENERAL", "name": "general"}, {"_id": mine, "name": "mine"}]));
    assert_eq!(fetch(&app, &bob, text(&m, "_id")).await["mentions"], m["mentions"]);
}

/// The `md` tree the reference parser (`@rocket.chat/message-parser`
/// 0.31.32 with a Rocket.Chat server's default options) returns for `text`;
/// the literals below were produced by it (scripts/markup-corpus).
fn reference_md(text: &str) -> Value {
    let tree = match text {
        "hello *world* @bob :smile: https://rocket.chat" => {
            r#"[{"type":"PARAGRAPH","value":[{"type":"PLAIN_TEXT","value":"hello "},{"type":"BOLD","value":[{"type":"PLAIN_TEXT","value":"world"}]},{"type":"PLAIN_TEXT","value":" "},{"type":"MENTION_USER","value":{"type":"PLAIN_TEXT","value":"bob"}},{"type":"PLAIN_TEXT","value":" "},{"type":"EMOJI","value":{"type":"PLAIN_TEXT","value":"smile"},"shortCode":"smile"},{"type":"PLAIN_TEXT","value":" "},{"type":"LINK","value":{"src":{"type":"PLAIN_TEXT","value":"https://rocket.chat"},"label":[{"type":"PLAIN_TEXT","value":"https://rocket.chat"}]}}]}]"#
        }
        "edited _text_ in #general" => {
            r#"[{"type":"PARAGRAPH","value":[{"type":"PLAIN_TEXT","value":"edited "},{"type":"ITALIC","value":[{"type":"PLAIN_TEXT","value":"text"}]},{"type":"PLAIN_TEXT","value":" in "},{"type":"MENTION_CHANNEL","value":{"type":"PLAIN_TEXT","value":"general"}}]}]"#
        }
        "```js\nlet x = 1;\n```" => {
            r#"[{"type":"CODE","language":"js","value":[{"type":"CODE_LINE","value":{"type":"PLAIN_TEXT","value":"let x = 1;"}}]}]"#
        }
        "- [x] done\n> quoted" => {
            r#"[{"type":"TASKS","value":[{"type":"TASK","status":true,"value":[{"type":"PLAIN_TEXT","value":"done"}]}]},{"type":"QUOTE","value":[{"type":"PARAGRAPH","value":[{"type":"PLAIN_TEXT","value":"quoted"}]}]}]"#
        }
        other => panic!("no reference tree for {other:?}"),
    };
    serde_json::from_str(tree).expect("reference tree")
}

#[tokio::test]
async fn messages_carry_the_reference_markup_tree() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let text1 = "hello *world* @bob :smile: https://rocket.chat";
    let m = say(&app, &alice, "GENERAL", text1).await;
    assert_eq!(m["md"], reference_md(text1));
    // mentions come from the same parse as md
    assert_eq!(
        m["mentions"],
        json!([{"_id": bob.user_id, "username": "bob", "name": "bob", "type": "user"}])
    );
    assert_eq!(fetch(&app, &bob, text(&m, "_id")).await["md"], m["md"], "stored, not recomputed differently");

    // An edit parses again: md, mentions and channels follow the new text.
    let edited_text = "edited _text_ in #general";
    let edited = app.edit(&alice, "GENERAL", text(&m, "_id"), edited_text).await;
    assert_eq!(edited["md"], reference_md(edited_text));
    assert_eq!(edited["mentions"], json!([]));
    assert_eq!(edited["channels"], json!([{"_id": "GENERAL", "name": "general"}]));
    assert_eq!(fetch(&app, &alice, text(&m, "_id")).await["md"], reference_md(edited_text));

    // Thread replies and chat.postMessage carry it too.
    let code = "```js\nlet x = 1;\n```";
    let r = reply(&app, &bob, "GENERAL", text(&m, "_id"), code).await;
    assert_eq!(r["md"], reference_md(code));
    let tasks = "- [x] done\n> quoted";
    let posted = app.post(POST, Some(&alice), json!({"channel": "#general", "text": tasks})).await.ok();
    assert_eq!(posted["message"]["md"], reference_md(tasks));
    let parent = fetch(&app, &alice, text(&m, "_id")).await;
    assert_eq!(parent["md"], reference_md(edited_text), "the parent keeps its md when replied to");

    // A message without text has no md; a deleted parent's placeholder neither.
    let bare = send(&app, &alice, json!({"rid": "GENERAL", "attachments": [{"title": "a file"}]})).await.ok();
    assert!(bare["message"].get("md").is_none(), "{bare}");
    app.remove(&alice, "GENERAL", text(&m, "_id")).await;
    let placeholder = fetch(&app, &alice, text(&m, "_id")).await;
    assert_eq!(placeholder["t"], "rm");
    assert!(placeholder.get("md").is_none(), "{placeholder}");
}

#[tokio::test]
async fn private_group_outsiders_cannot_send_or_read() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = make_room(&app, RoomType::Group, "private", false, &[(&alice, &["owner"])]).await;
    let m = say(&app, &alice, &rid, "members only").await;
    send(&app, &bob, json!({"rid": rid, "msg": "let me in"})).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    // Outsiders are not told that the message exists.
    let hidden =
        format!("No message found with the id of \"{}\". [error-message-not-found]", text(&m, "_id"));
    get_message(&app, &bob, text(&m, "_id")).await.err(400, &hidden, Some("error-message-not-found"));
    // Admins are not exempt from reading private rooms they are not in.
    get_message(&app, &app.admin, text(&m, "_id")).await.err(400, &hidden, Some("error-message-not-found"));
    let uid = bob.user_id.clone();
    assert!(app.services.store().subscription(&rid, &uid).await.expect("lookup").is_none());
    // A reply from an outsider is refused too.
    send(&app, &bob, json!({"rid": rid, "msg": "x", "tmid": text(&m, "_id")})).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
}

#[tokio::test]
async fn posting_in_a_public_channel_joins_it() {
    let app = app().await;
    let alice = app.user("alice").await;
    let rid = make_room(&app, RoomType::Channel, "lobby", false, &[]).await;
    let before = app.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(&alice)).await.ok();
    assert_eq!(before["subscription"], Value::Null);
    // Reading a public channel needs no membership.
    let first = say(&app, &app.admin, &rid, "welcome").await;
    fetch(&app, &alice, text(&first, "_id")).await;
    say(&app, &alice, &rid, "hi").await;
    let after = app.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(&alice)).await.ok();
    assert_eq!(after["subscription"]["rid"], json!(rid));
    assert_eq!(after["subscription"]["u"]["_id"], json!(alice.user_id));
    // Posting again does not fail on the existing membership.
    say(&app, &alice, &rid, "again").await;
}

#[tokio::test]
async fn read_only_rooms_accept_owners_and_admins_only() {
    let app = app().await;
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    let rid =
        make_room(&app, RoomType::Channel, "announcements", true, &[(&owner, &["owner"]), (&member, &[])])
            .await;
    say(&app, &owner, &rid, "news").await;
    say(&app, &app.admin, &rid, "admin news").await;
    send(&app, &member, json!({"rid": rid, "msg": "me too"})).await.err(
        400,
        "You can't send messages because the room is readonly. [error-not-allowed]",
        Some("error-not-allowed"),
    );
}

#[tokio::test]
async fn message_size_limit_follows_the_setting() {
    let app = app().await;
    let alice = app.user("alice").await;
    app.set_setting("Message_MaxAllowedSize", json!(10)).await;
    // Counted in characters, not bytes.
    let m = say(&app, &alice, "GENERAL", &"é".repeat(10)).await;
    let too_long = "x".repeat(11);
    let exceeded = "Message size exceeds Message_MaxAllowedSize [error-message-size-exceeded]";
    send(&app, &alice, json!({"rid": "GENERAL", "msg": too_long})).await.err(
        400,
        exceeded,
        Some("error-message-size-exceeded"),
    );
    app.post(POST, Some(&alice), json!({"channel": "#general", "text": too_long})).await.err(
        400,
        exceeded,
        Some("error-message-size-exceeded"),
    );
    app.post(UPDATE, Some(&alice), json!({"roomId": "GENERAL", "msgId": m["_id"], "text": too_long}))
        .await
        .err(400, exceeded, Some("error-message-size-exceeded"));
    app.set_setting("Message_MaxAllowedSize", json!(5000)).await;
    say(&app, &alice, "GENERAL", &too_long).await;
}

// -------------------------------------------------------------------- threads

#[tokio::test]
async fn thread_reply_updates_the_parent() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    let parent = say(&app, &alice, "GENERAL", "a thread").await;
    let pid = text(&parent, "_id");

    let r1 = reply(&app, &bob, "GENERAL", pid, "first reply").await;
    assert_eq!(r1["tmid"], json!(pid));
    let p1 = fetch(&app, &alice, pid).await;
    assert_eq!(p1["tcount"], 1);
    assert_eq!(p1["tlm"], r1["ts"], "tlm is the reply's ts");
    assert_eq!(set_of(&p1["replies"]), sorted(&[&alice.user_id, &bob.user_id]));
    assert!(stamp(&p1, "_updatedAt") > stamp(&parent, "_updatedAt"));
    assert!(stamp(&p1, "_updatedAt") > stamp(&r1, "_updatedAt"), "the parent is written after the reply");
    assert_eq!(p1["msg"], "a thread");
    assert!(p1.get("tmid").is_none());

    let r2 = reply(&app, &carol, "GENERAL", pid, "second, cc @dave @all").await;
    let p2 = fetch(&app, &alice, pid).await;
    assert_eq!(p2["tcount"], 2);
    assert_eq!(p2["tlm"], r2["ts"]);
    assert_eq!(
        set_of(&p2["replies"]),
        sorted(&[&alice.user_id, &bob.user_id, &carol.user_id, &dave.user_id])
    );
    assert!(stamp(&p2, "_updatedAt") > stamp(&r2, "_updatedAt"));
    assert!(stamp(&r2, "_updatedAt") > stamp(&p1, "_updatedAt"));
    // Followers other than the sender have the thread unread.
    let uid = dave.user_id.clone();
    let sub = app.services.store().subscription("GENERAL", &uid).await.expect("lookup").expect("member");
    assert!(sub.tunread.contains(&pid.to_owned()));
}

#[tokio::test]
async fn parent_author_is_added_only_when_the_thread_starts() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let parent = say(&app, &alice, "GENERAL", "thread").await;
    let pid = text(&parent, "_id");
    reply(&app, &bob, "GENERAL", pid, "one").await;
    // Alice unfollows; a later reply does not add her back.
    app.services.store().set_following(pid, &alice.user_id, false).await.expect("unfollow");
    reply(&app, &bob, "GENERAL", pid, "two").await;
    assert_eq!(set_of(&fetch(&app, &bob, pid).await["replies"]), sorted(&[&bob.user_id]));
}

#[tokio::test]
async fn reply_to_a_reply_is_repointed_to_the_thread() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let parent = say(&app, &alice, "GENERAL", "top").await;
    let pid = text(&parent, "_id");
    let r1 = reply(&app, &bob, "GENERAL", pid, "reply").await;
    let r2 = reply(&app, &alice, "GENERAL", text(&r1, "_id"), "reply to the reply").await;
    assert_eq!(r2["tmid"], json!(pid));
    let p = fetch(&app, &alice, pid).await;
    assert_eq!(p["tcount"], 2);
    assert_eq!(p["tlm"], r2["ts"]);
    let r1_now = fetch(&app, &alice, text(&r1, "_id")).await;
    assert!(r1_now.get("tcount").is_none(), "a reply never becomes a parent: {r1_now}");
}

#[tokio::test]
async fn tmid_must_name_a_message_of_the_same_room() {
    let app = app().await;
    let alice = app.user("alice").await;
    send(&app, &alice, json!({"rid": "GENERAL", "msg": "x", "tmid": "does-not-exist"})).await.err(
        400,
        "Invalid message [error-invalid-message]",
        Some("error-invalid-message"),
    );
    let other = make_room(&app, RoomType::Channel, "other", false, &[(&alice, &[])]).await;
    let elsewhere = say(&app, &alice, &other, "elsewhere").await;
    send(&app, &alice, json!({"rid": "GENERAL", "msg": "x", "tmid": elsewhere["_id"]})).await.err(
        400,
        "Invalid message [error-invalid-message]",
        Some("error-invalid-message"),
    );
    let p = fetch(&app, &alice, text(&elsewhere, "_id")).await;
    assert!(p.get("tcount").is_none());
}

#[tokio::test]
async fn threads_disabled_rejects_replies() {
    let app = app().await;
    let alice = app.user("alice").await;
    let parent = say(&app, &alice, "GENERAL", "top").await;
    app.set_setting("Threads_enabled", json!(false)).await;
    send(&app, &alice, json!({"rid": "GENERAL", "msg": "x", "tmid": parent["_id"]})).await.err(
        400,
        "not-allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    app.post(POST, Some(&alice), json!({"roomId": "GENERAL", "text": "x", "tmid": parent["_id"]})).await.err(
        400,
        "not-allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    // Plain messages still work.
    say(&app, &alice, "GENERAL", "no thread").await;
    assert!(fetch(&app, &alice, text(&parent, "_id")).await.get("tcount").is_none());
}

#[tokio::test]
async fn deleting_a_reply_lowers_tcount_and_moves_the_parent() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let parent = say(&app, &alice, "GENERAL", "top").await;
    let pid = text(&parent, "_id");
    reply(&app, &bob, "GENERAL", pid, "keep").await;
    let r2 = reply(&app, &bob, "GENERAL", pid, "remove").await;
    let before = fetch(&app, &alice, pid).await;
    assert_eq!(before["tcount"], 2);
    let deleted = app.post(DELETE, Some(&bob), json!({"roomId": "GENERAL", "msgId": r2["_id"]})).await.ok();
    let after = fetch(&app, &alice, pid).await;
    assert_eq!(after["tcount"], 1);
    assert!(stamp(&after, "_updatedAt") > stamp(&before, "_updatedAt"));
    assert!(stamp(&after, "_updatedAt") > stamp(&deleted, "ts"));
    get_message(&app, &alice, text(&r2, "_id")).await.err(
        400,
        &format!("No message found with the id of \"{}\". [error-message-not-found]", text(&r2, "_id")),
        Some("error-message-not-found"),
    );
}

#[tokio::test]
async fn deleting_a_thread_parent_leaves_a_placeholder() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let parent = send(
        &app,
        &alice,
        json!({"rid": "GENERAL", "msg": "secret @bob", "alias": "A", "attachments": [{"title": "x"}]}),
    )
    .await
    .ok()["message"]
        .clone();
    let pid = text(&parent, "_id");
    let r = reply(&app, &bob, "GENERAL", pid, "reply").await;
    let before = fetch(&app, &alice, pid).await;
    let deleted = app.post(DELETE, Some(&alice), json!({"roomId": "GENERAL", "msgId": pid})).await.ok();
    assert_eq!(deleted["_id"], json!(pid));
    let p = fetch(&app, &bob, pid).await;
    assert_eq!(p["t"], "rm");
    assert_eq!(p["msg"], "");
    assert_eq!(p["tcount"], 1);
    assert_eq!(p["tlm"], r["ts"]);
    assert_eq!(set_of(&p["replies"]), set_of(&before["replies"]));
    assert!(p.get("alias").is_none() && p.get("attachments").is_none(), "content cleared: {p}");
    assert!(stamp(&p, "_updatedAt") > stamp(&before, "_updatedAt"));
    // The reply survives; the placeholder cannot be edited.
    fetch(&app, &bob, text(&r, "_id")).await;
    app.post(UPDATE, Some(&alice), json!({"roomId": "GENERAL", "msgId": pid, "text": "back"})).await.err(
        400,
        "Message editing not allowed [error-action-not-allowed]",
        Some("error-action-not-allowed"),
    );
}

#[tokio::test]
async fn updated_at_strictly_increases_across_writes_in_a_room() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut stamps = Vec::new();
    let m1 = say(&app, &alice, "GENERAL", "one").await;
    stamps.push(stamp(&m1, "_updatedAt"));
    let m2 = say(&app, &bob, "GENERAL", "two").await;
    stamps.push(stamp(&m2, "_updatedAt"));
    let r = reply(&app, &bob, "GENERAL", text(&m1, "_id"), "reply").await;
    stamps.push(stamp(&r, "_updatedAt"));
    stamps.push(stamp(&fetch(&app, &alice, text(&m1, "_id")).await, "_updatedAt"));
    let edited = app
        .post(UPDATE, Some(&bob), json!({"roomId": "GENERAL", "msgId": m2["_id"], "text": "two!"}))
        .await
        .ok();
    stamps.push(stamp(&edited["message"], "_updatedAt"));
    let deleted = app.post(DELETE, Some(&bob), json!({"roomId": "GENERAL", "msgId": r["_id"]})).await.ok();
    stamps.push(stamp(&deleted, "ts"));
    stamps.push(stamp(&fetch(&app, &alice, text(&m1, "_id")).await, "_updatedAt"));
    for _ in 0..5 {
        stamps.push(stamp(&say(&app, &alice, "GENERAL", "burst").await, "_updatedAt"));
    }
    for pair in stamps.windows(2) {
        assert!(pair[0] < pair[1], "not strictly increasing: {stamps:?}");
    }
}

// ---------------------------------------------------------------- postMessage

#[tokio::test]
async fn post_message_by_name_id_and_hash() {
    let app = app().await;
    let alice = app.user("alice").await;
    let by_hash = app
        .post(
            POST,
            Some(&alice),
            json!({"channel": "#general", "text": "by #name", "alias": "A", "emoji": ":x:"}),
        )
        .await
        .ok();
    assert_eq!(by_hash["channel"], "#general");
    assert_eq!(by_hash["message"]["rid"], "GENERAL");
    assert_eq!(by_hash["message"]["msg"], "by #name");
    assert_eq!(by_hash["message"]["alias"], "A");
    let ts = by_hash["ts"].as_i64().expect("ts is epoch milliseconds");
    assert_eq!(ts, stamp(&by_hash["message"], "ts").millis());

    let by_id = app.post(POST, Some(&alice), json!({"roomId": "GENERAL", "text": "by id"})).await.ok();
    assert_eq!(by_id["channel"], "GENERAL");
    assert_eq!(by_id["message"]["rid"], "GENERAL");
    assert!(by_id["ts"].is_number());

    let by_name =
        app.post(POST, Some(&alice), json!({"channel": "general", "text": "by plain name"})).await.ok();
    assert_eq!(by_name["message"]["rid"], "GENERAL");

    let as_array =
        app.post(POST, Some(&alice), json!({"roomId": ["GENERAL"], "text": "array of one"})).await.ok();
    assert_eq!(as_array["channel"], "GENERAL");

    let got = fetch(&app, &alice, text(&by_id["message"], "_id")).await;
    assert_eq!(got, by_id["message"]);

    // A thread reply through postMessage.
    let r = app
        .post(
            POST,
            Some(&alice),
            json!({"roomId": "GENERAL", "text": "reply", "tmid": by_id["message"]["_id"]}),
        )
        .await
        .ok();
    assert_eq!(r["message"]["tmid"], by_id["message"]["_id"]);
    assert_eq!(fetch(&app, &alice, text(&by_id["message"], "_id")).await["tcount"], 1);
}

#[tokio::test]
async fn post_message_to_a_user_opens_a_direct_message() {
    // Needs `Services::open_direct_message` (rooms service).
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let posted = app.post(POST, Some(&alice), json!({"channel": "@bob", "text": "psst"})).await.ok();
    assert_eq!(posted["channel"], "@bob");
    let m = &posted["message"];
    let rid = text(m, "rid").to_owned();
    assert_ne!(rid, "GENERAL");
    assert_eq!(fetch(&app, &bob, text(m, "_id")).await["msg"], "psst");
    // To anyone else the message does not exist.
    let hidden = format!("No message found with the id of \"{}\". [error-message-not-found]", text(m, "_id"));
    get_message(&app, &carol, text(m, "_id")).await.err(400, &hidden, Some("error-message-not-found"));
    // The same DM the second time, also from the other side.
    let again = app.post(POST, Some(&bob), json!({"channel": "@alice", "text": "ok"})).await.ok();
    assert_eq!(again["message"]["rid"], json!(rid));
    app.post(POST, Some(&alice), json!({"channel": "@nobody", "text": "x"}))
        .await
        .err_type("error-invalid-user");
}

#[tokio::test]
async fn post_message_needs_a_known_channel() {
    let app = app().await;
    let alice = app.user("alice").await;
    let invalid = "Invalid channel [invalid-channel]";
    app.post(POST, Some(&alice), json!({"text": "nowhere"})).await.err(400, invalid, Some("invalid-channel"));
    app.post(POST, Some(&alice), json!({"channel": "#nope", "text": "x"})).await.err(
        400,
        invalid,
        Some("invalid-channel"),
    );
    app.post(POST, Some(&alice), json!({"roomId": "nope", "text": "x"})).await.err(
        400,
        invalid,
        Some("invalid-channel"),
    );
    app.post(POST, Some(&alice), json!({"roomId": ["GENERAL", "other"], "text": "x"}))
        .await
        .err_type("error-invalid-params");
    app.post(POST, Some(&alice), json!({"roomId": "GENERAL", "text": 3}))
        .await
        .err_type("error-invalid-params");
    let rid = make_room(&app, RoomType::Group, "hidden", false, &[(&app.admin, &["owner"])]).await;
    app.post(POST, Some(&alice), json!({"roomId": rid, "text": "x"})).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
}

// ----------------------------------------------------------------- getMessage

#[tokio::test]
async fn get_message_errors() {
    let app = app().await;
    let alice = app.user("alice").await;
    app.get("/api/v1/chat.getMessage", Some(&alice)).await.err(
        400,
        "The required \"msgId\" query param is missing. [error-invalid-params]",
        Some("error-invalid-params"),
    );
    // Rocket.Chat answers a bare `{"success": false}`; ours has a reason and a code.
    app.get("/api/v1/chat.getMessage?msgId=missing", Some(&alice)).await.err(
        400,
        "No message found with the id of \"missing\". [error-message-not-found]",
        Some("error-message-not-found"),
    );
    app.get("/api/v1/chat.getMessage?msgId=x", None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

// --------------------------------------------------------------------- update

#[tokio::test]
async fn update_edits_text_and_mentions() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let m = say(&app, &alice, "GENERAL", "typo").await;
    let body = app
        .post(
            UPDATE,
            Some(&alice),
            json!({"roomId": "GENERAL", "msgId": m["_id"], "text": "fixed @bob #general"}),
        )
        .await
        .ok();
    let e = &body["message"];
    assert_eq!(e["msg"], "fixed @bob #general");
    assert_eq!(e["editedBy"], json!({"_id": alice.user_id, "username": "alice"}));
    assert!(stamp(e, "editedAt") > stamp(&m, "ts"));
    assert!(stamp(e, "_updatedAt") > stamp(&m, "_updatedAt"));
    assert_eq!(e["ts"], m["ts"]);
    assert_eq!(e["mentions"][0]["_id"], json!(bob.user_id));
    assert_eq!(e["channels"], json!([{"_id": "GENERAL", "name": "general"}]));
    assert_eq!(fetch(&app, &bob, text(&m, "_id")).await, *e);
    // The admin may edit anyone's message.
    let by_admin = app
        .post(UPDATE, Some(&app.admin), json!({"roomId": "GENERAL", "msgId": m["_id"], "text": "moderated"}))
        .await
        .ok();
    assert_eq!(by_admin["message"]["editedBy"]["username"], "admin");
}

#[tokio::test]
async fn editing_a_reply_keeps_thread_counters() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let parent = say(&app, &alice, "GENERAL", "top").await;
    let pid = text(&parent, "_id");
    let r = reply(&app, &bob, "GENERAL", pid, "reply").await;
    let before = fetch(&app, &alice, pid).await;
    app.post(UPDATE, Some(&bob), json!({"roomId": "GENERAL", "msgId": r["_id"], "text": "edited reply"}))
        .await
        .ok();
    assert_eq!(fetch(&app, &alice, pid).await, before);
}

#[tokio::test]
async fn update_errors() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let m = say(&app, &alice, "GENERAL", "mine").await;
    let id = text(&m, "_id").to_owned();
    app.post(UPDATE, Some(&alice), json!({"msgId": id, "text": "x"})).await.err(
        400,
        "The required \"roomId\" param is missing. [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.post(UPDATE, Some(&alice), json!({"roomId": "GENERAL", "text": "x"})).await.err(
        400,
        "The required \"msgId\" param is missing. [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.post(UPDATE, Some(&alice), json!({"roomId": "GENERAL", "msgId": id})).await.err(
        400,
        "The required \"text\" param is missing. [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.post(UPDATE, Some(&alice), json!({"roomId": "GENERAL", "msgId": "nope", "text": "x"})).await.err(
        400,
        "No message found with the id of \"nope\".",
        None,
    );
    app.post(UPDATE, Some(&alice), json!({"roomId": "other", "msgId": id, "text": "x"})).await.err(
        400,
        "The room id provided does not match where the message is from.",
        None,
    );
    let not_allowed = "Message editing not allowed [error-action-not-allowed]";
    app.post(UPDATE, Some(&bob), json!({"roomId": "GENERAL", "msgId": id, "text": "hijack"})).await.err(
        400,
        not_allowed,
        Some("error-action-not-allowed"),
    );
    app.set_setting("Message_AllowEditing", json!(false)).await;
    app.post(UPDATE, Some(&alice), json!({"roomId": "GENERAL", "msgId": id, "text": "later"})).await.err(
        400,
        not_allowed,
        Some("error-action-not-allowed"),
    );
    assert_eq!(fetch(&app, &alice, &id).await, m, "nothing changed");
    // Admins keep `edit-message` whatever the setting.
    app.post(UPDATE, Some(&app.admin), json!({"roomId": "GENERAL", "msgId": id, "text": "admin"})).await.ok();
}

// --------------------------------------------------------------------- delete

#[tokio::test]
async fn delete_returns_the_identity_and_leaves_nothing() {
    let app = app().await;
    let alice = app.user("alice").await;
    let m = say(&app, &alice, "GENERAL", "bye").await;
    let body = app.post(DELETE, Some(&alice), json!({"roomId": "GENERAL", "msgId": m["_id"]})).await.ok();
    assert_eq!(body["_id"], m["_id"]);
    assert_eq!(
        body["message"],
        json!({"_id": m["_id"], "rid": "GENERAL", "u": {"_id": alice.user_id, "username": "alice", "name": "alice"}})
    );
    assert!(stamp(&body, "ts") > stamp(&m, "_updatedAt"));
    get_message(&app, &alice, text(&m, "_id")).await.err(
        400,
        &format!("No message found with the id of \"{}\". [error-message-not-found]", text(&m, "_id")),
        Some("error-message-not-found"),
    );
}

/// Issue 11, defect 8: naming GENERAL with the id of a message in a private
/// group the caller is not in must answer exactly as for an id that names
/// nothing; a member naming the wrong room is still told it is the wrong room.
#[tokio::test]
async fn a_private_message_is_not_revealed_by_naming_another_room() {
    let app = app().await;
    let alice = app.user("alice").await;
    let eve = app.user("eve").await;
    let rid = make_room(&app, RoomType::Group, "private", false, &[(&alice, &["owner"])]).await;
    let secret = say(&app, &alice, &rid, "members only").await;
    let secret_id = text(&secret, "_id");
    for path in [DELETE, UPDATE] {
        let probe = |msg_id: &str| json!({"roomId": "GENERAL", "msgId": msg_id, "text": "x"});
        let existing = app.post(path, Some(&eve), probe(secret_id)).await;
        let missing = app.post(path, Some(&eve), probe("nosuchmessage")).await;
        assert_eq!(existing.status, missing.status);
        assert_eq!(
            existing.body.to_string().replace(secret_id, "<id>"),
            missing.body.to_string().replace("nosuchmessage", "<id>"),
            "{path} tells an outsider that the message exists"
        );
        existing.err(400, &format!("No message found with the id of \"{secret_id}\"."), None);
        app.post(path, Some(&alice), probe(secret_id)).await.err(
            400,
            "The room id provided does not match where the message is from.",
            None,
        );
    }
    assert_eq!(fetch(&app, &alice, secret_id).await["msg"], "members only");
}

#[tokio::test]
async fn delete_permissions_and_errors() {
    let app = app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let m = say(&app, &alice, "GENERAL", "mine").await;
    let id = text(&m, "_id").to_owned();
    app.post(DELETE, Some(&alice), json!({"msgId": id})).await.err(
        400,
        "The required \"roomId\" param is missing. [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.post(DELETE, Some(&alice), json!({"roomId": "GENERAL"})).await.err(
        400,
        "The required \"msgId\" param is missing. [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.post(DELETE, Some(&alice), json!({"roomId": "GENERAL", "msgId": "nope"})).await.err(
        400,
        "No message found with the id of \"nope\".",
        None,
    );
    app.post(DELETE, Some(&alice), json!({"roomId": "elsewhere", "msgId": id})).await.err(
        400,
        "The room id provided does not match where the message is from.",
        None,
    );
    let not_allowed = "Not allowed [error-action-not-allowed]";
    app.post(DELETE, Some(&bob), json!({"roomId": "GENERAL", "msgId": id})).await.err(
        400,
        not_allowed,
        Some("error-action-not-allowed"),
    );
    app.post(DELETE, Some(&bob), json!({"roomId": "GENERAL", "msgId": id, "asUser": true}))
        .await
        .err(
            400,
            "Unauthorized. You must have the permission \"force-delete-message\" to delete other's message as them.",
            None,
        );
    app.set_setting("Message_AllowDeleting", json!(false)).await;
    app.post(DELETE, Some(&alice), json!({"roomId": "GENERAL", "msgId": id})).await.err(
        400,
        not_allowed,
        Some("error-action-not-allowed"),
    );
    fetch(&app, &alice, &id).await;
    // Admins keep `force-delete-message` whatever the setting.
    app.post(DELETE, Some(&app.admin), json!({"roomId": "GENERAL", "msgId": id})).await.ok();
}

#[tokio::test]
async fn room_owners_may_delete_others_messages() {
    let app = app().await;
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    let rid = make_room(&app, RoomType::Group, "team", false, &[(&owner, &["owner"]), (&member, &[])]).await;
    let m = say(&app, &member, &rid, "oops").await;
    app.post(DELETE, Some(&owner), json!({"roomId": rid, "msgId": m["_id"]})).await.ok();
}

/// The node types of the first paragraph of a message's `md`.
fn inline_types(m: &Value) -> Vec<String> {
    m["md"][0]["value"].as_array().map_or_else(Vec::new, |items| {
        items.iter().filter_map(|n| n["type"].as_str().map(str::to_owned)).collect()
    })
}

#[tokio::test]
async fn markup_options_follow_the_settings_for_later_writes() {
    let app = app().await;
    let alice = app.user("alice").await;
    // Rocket.Chat's defaults: colours, KaTeX with `\(…\)` but not `$…$`,
    // no custom domains.
    // (A colour ends the text: `color:#f00` followed by a letter or a
    // space is text, in the reference parser too.)
    let mixed = "\\(x\\) $y$ mail.intranet color:#f00";
    let before = say(&app, &alice, "GENERAL", mixed).await;
    assert_eq!(inline_types(&before), ["INLINE_KATEX", "PLAIN_TEXT", "COLOR"], "{}", before["md"]);
    // The parser's settings are public, as in Rocket.Chat.
    let public = app.get("/api/v1/settings.public", None).await.ok();
    for id in [
        "HexColorPreview_Enabled",
        "Katex_Enabled",
        "Katex_Dollar_Syntax",
        "Katex_Parenthesis_Syntax",
        "Message_CustomDomain_AutoLink",
    ] {
        assert!(public["settings"].as_array().is_some_and(|s| s.iter().any(|s| s["_id"] == id)), "{id}");
    }

    app.set_setting("HexColorPreview_Enabled", json!(false)).await;
    app.set_setting("Katex_Dollar_Syntax", json!(true)).await;
    app.set_setting("Message_CustomDomain_AutoLink", json!("wiki.corp, intranet")).await;
    let after = say(&app, &alice, "GENERAL", mixed).await;
    assert_eq!(
        inline_types(&after),
        ["INLINE_KATEX", "PLAIN_TEXT", "INLINE_KATEX", "PLAIN_TEXT", "LINK", "PLAIN_TEXT"],
        "{}",
        after["md"]
    );
    // A host under a custom domain links as in the reference parser's corpus.
    assert_eq!(after["md"][0]["value"][4]["value"]["src"]["value"], "//mail.intranet");
    // What was stored before the change stays as it was parsed.
    assert_eq!(fetch(&app, &alice, text(&before, "_id")).await["md"], before["md"]);

    // Katex_Enabled off: neither syntax, whatever the other two say.
    app.set_setting("Katex_Enabled", json!(false)).await;
    let off = say(&app, &alice, "GENERAL", "\\(x\\) $y$").await;
    assert_eq!(inline_types(&off), ["PLAIN_TEXT"], "{}", off["md"]);
    // An edit parses with the settings of the moment.
    app.set_setting("Katex_Enabled", json!(true)).await;
    let edited = app.edit(&alice, "GENERAL", text(&off, "_id"), "\\(x\\) $z$").await;
    assert_eq!(inline_types(&edited), ["INLINE_KATEX", "PLAIN_TEXT", "INLINE_KATEX"], "{}", edited["md"]);
}

#[tokio::test]
async fn messages_stored_without_markup_get_it_unstamped() {
    let app = app().await;
    let alice = app.user("alice").await;
    let text1 = "hello *world* @bob :smile: https://rocket.chat";
    let current = say(&app, &alice, "GENERAL", text1).await;
    // Copies of it as an earlier version stored them: no `md`.
    let store = app.services.store();
    let template = store.message_by_id(text(&current, "_id")).await.expect("read").expect("stored");
    for id in ["old-1", "old-2", "old-3"] {
        let message = threadsync_domain::Message { id: id.to_owned(), md: None, ..template.clone() };
        store
            .insert_message(threadsync_storage::NewMessage {
                message,
                reply: None,
                join: None,
                counters: None,
            })
            .await
            .expect("insert without md");
    }
    let before = fetch(&app, &alice, "old-2").await;
    assert!(before.get("md").is_none(), "{before}");

    // Batches of two: every message is visited once; the one that had md is not counted.
    assert_eq!(app.services.backfill_markup(2).await.expect("backfill"), 3);
    for id in ["old-1", "old-2", "old-3"] {
        assert_eq!(fetch(&app, &alice, id).await["md"], reference_md(text1), "{id}");
    }
    let after = fetch(&app, &alice, "old-2").await;
    assert_eq!(after["_updatedAt"], before["_updatedAt"], "md is derived: not a change to sync");
    assert!(store.markup_backfilled().await.expect("read the record"), "a walk found nothing left: recorded");

    // Later starts do not walk again: a message without md written now (no
    // version that stores md writes one) is left as it is.
    let message = threadsync_domain::Message { id: "old-4".to_owned(), md: None, ..template.clone() };
    store
        .insert_message(threadsync_storage::NewMessage { message, reply: None, join: None, counters: None })
        .await
        .expect("insert without md");
    assert_eq!(app.services.backfill_markup(2).await.expect("nothing left"), 0);
    assert!(fetch(&app, &alice, "old-4").await.get("md").is_none());
}
