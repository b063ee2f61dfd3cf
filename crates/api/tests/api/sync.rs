//! Room-level sync: chat.syncMessages (both forms) and chat.getDeletedMessages.

use crate::support::{Reply, Session, TestApp};
use serde_json::{json, Value};
use threadsync_domain::Timestamp;

const SYNC: &str = "/api/v1/chat.syncMessages";
const DELETED: &str = "/api/v1/chat.getDeletedMessages";
const EPOCH: &str = "2000-01-01T00:00:00.000Z";

fn id(v: &Value) -> String {
    v["_id"].as_str().unwrap_or_else(|| panic!("no _id in {v}")).to_owned()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().unwrap_or_else(|| panic!("not an array: {list}")).iter().map(id).collect()
}

fn stamp(v: &Value, key: &str) -> Timestamp {
    v[key].as_str().and_then(Timestamp::parse).unwrap_or_else(|| panic!("{key} is not a date in {v}"))
}

async fn sync(app: &TestApp, who: &Session, query: &str) -> Reply {
    app.get(&format!("{SYNC}?{query}"), Some(who)).await
}

async fn result(app: &TestApp, who: &Session, query: &str) -> Value {
    sync(app, who, query).await.ok()["result"].clone()
}

/// A fresh app, alice, and a public channel `room` of hers with messages
/// m0..m{n-1}. Returns the channel id and the messages.
async fn room_with(n: usize) -> (TestApp, Session, String, Vec<Value>) {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let body = app.post("/api/v1/channels.create", Some(&alice), json!({"name": "room"})).await.ok();
    let rid = body["channel"]["_id"].as_str().expect("id").to_owned();
    let mut messages = Vec::new();
    for i in 0..n {
        messages.push(app.say(&alice, &rid, &format!("m{i}")).await);
    }
    (app, alice, rid, messages)
}

// ------------------------------------------------------------ syncMessages

#[tokio::test]
async fn sync_messages_errors() {
    let (app, alice, rid, _) = room_with(1).await;
    app.get(&format!("{SYNC}?roomId={rid}&lastUpdate={EPOCH}"), None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
    sync(&app, &alice, &format!("lastUpdate={EPOCH}")).await.err(
        400,
        "The required \"roomId\" query param is missing. [error-roomId-param-not-provided]",
        Some("error-roomId-param-not-provided"),
    );
    sync(&app, &alice, &format!("roomId={rid}")).await.err(
        400,
        "The required \"lastUpdate\" query param is missing. [error-lastUpdate-param-not-provided]",
        Some("error-lastUpdate-param-not-provided"),
    );
    // Regression (issue 11, defect 7): Rocket.Chat types this one
    // `error-roomId-param-invalid`; the code names the parameter at fault.
    sync(&app, &alice, &format!("roomId={rid}&lastUpdate=soon")).await.err(
        400,
        "The \"lastUpdate\" query parameter must be a valid date. [error-lastUpdate-param-invalid]",
        Some("error-lastUpdate-param-invalid"),
    );
    let invalid = |q: String| {
        let app = &app;
        let alice = &alice;
        async move { sync(app, alice, &q).await.err_type("error-invalid-params") }
    };
    let body = invalid(format!("roomId={rid}&lastUpdate={EPOCH}&next=5&type=UPDATED")).await;
    assert_eq!(
        body["error"],
        "The \"lastUpdate\" query param cannot be combined with \"next\", \"previous\" or \"type\". [error-invalid-params]"
    );
    invalid(format!("roomId={rid}&lastUpdate={EPOCH}&type=UPDATED")).await;
    let body = invalid(format!("roomId={rid}&next=5&previous=6&type=UPDATED")).await;
    assert_eq!(
        body["error"],
        "Only one of the \"next\" and \"previous\" query params may be given. [error-invalid-params]"
    );
    let body = invalid(format!("roomId={rid}&next=5")).await;
    assert_eq!(
        body["error"],
        "The \"type\" query param (\"UPDATED\" or \"DELETED\") is required with \"next\" or \"previous\". [error-invalid-params]"
    );
    let body = invalid(format!("roomId={rid}&next=5&type=CHANGED")).await;
    assert_eq!(
        body["error"],
        "The \"type\" query param must be \"UPDATED\" or \"DELETED\". [error-invalid-params]"
    );
    let body = invalid(format!("roomId={rid}&next=yesterday&type=UPDATED")).await;
    assert_eq!(
        body["error"],
        "The \"next\" query param must be a number of milliseconds since the epoch. [error-invalid-params]"
    );
    invalid(format!("roomId={rid}&previous=-3&type=DELETED")).await;
    invalid(format!("roomId={rid}&lastUpdate={EPOCH}&count=x")).await;
    invalid(format!("roomId={rid}&type=UPDATED&count=x")).await;

    // Access: unknown rooms and others' private groups alike.
    let eve = app.user("eve").await;
    let group = app.group(&alice, "secret", &[]).await;
    for rid in ["nope", group.as_str()] {
        for q in [format!("roomId={rid}&lastUpdate={EPOCH}"), format!("roomId={rid}&type=UPDATED&next=0")] {
            sync(&app, &eve, &q).await.err(400, "Not allowed [error-not-allowed]", Some("error-not-allowed"));
        }
    }
    // A bad date is reported before access.
    sync(&app, &eve, &format!("roomId={group}&lastUpdate=x"))
        .await
        .err_type("error-lastUpdate-param-invalid");
}

#[tokio::test]
async fn sync_messages_last_update_form() {
    let (app, alice, rid, m) = room_with(3).await;
    let bob = app.user("bob").await;
    let first = result(&app, &alice, &format!("roomId={rid}&lastUpdate={EPOCH}")).await;
    assert_eq!(ids(&first["updated"]), m.iter().map(id).collect::<Vec<_>>());
    assert_eq!(first["updated"][0], m[0]);
    assert_eq!(first["deleted"], json!([]));
    let mark = stamp(&m[2], "_updatedAt").to_iso();

    let edited = app.edit(&alice, &rid, &id(&m[0]), "edited").await;
    app.remove(&alice, &rid, &id(&m[1])).await;
    let reply = app.reply_in(&bob, &rid, &id(&m[2]), "reply").await;
    let delta = result(&app, &alice, &format!("roomId={rid}&lastUpdate={mark}")).await;
    // The parent m2 moved after its reply.
    assert_eq!(ids(&delta["updated"]), vec![id(&edited), id(&reply), id(&m[2])]);
    let deleted = &delta["deleted"];
    assert_eq!(*deleted, json!([{"_id": id(&m[1]), "_deletedAt": deleted[0]["_deletedAt"]}]));
    assert!(stamp(&deleted[0], "_deletedAt") > stamp(&edited, "_updatedAt"));
    // Strictly after: the edit's own stamp excludes it.
    let later = result(
        &app,
        &alice,
        &format!("roomId={rid}&lastUpdate={}", edited["_updatedAt"].as_str().expect("s")),
    )
    .await;
    assert!(!ids(&later["updated"]).contains(&id(&edited)));

    // Bounded and resumable: count=2, following the greatest stamp.
    let mut seen = Vec::new();
    let mut since = EPOCH.to_owned();
    for _ in 0..10 {
        let page = result(&app, &alice, &format!("roomId={rid}&lastUpdate={since}&count=2")).await;
        let mut stamped: Vec<(Timestamp, String)> = page["updated"]
            .as_array()
            .expect("updated")
            .iter()
            .map(|x| (stamp(x, "_updatedAt"), id(x)))
            .chain(
                page["deleted"].as_array().expect("deleted").iter().map(|x| (stamp(x, "_deletedAt"), id(x))),
            )
            .collect();
        assert!(stamped.len() <= 2);
        stamped.sort();
        let Some((max, _)) = stamped.last().cloned() else { break };
        seen.extend(stamped.into_iter().map(|(_, i)| i));
        since = max.to_iso();
    }
    let mut expected = vec![id(&m[1])];
    expected.extend([id(&edited), id(&reply), id(&m[2])]);
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    expected.sort();
    assert_eq!(sorted_seen, expected, "every current change once: {seen:?}");
}

#[tokio::test]
async fn sync_messages_without_count_is_bounded() {
    let app = TestApp::with_options(threadsync_service::ServiceOptions {
        max_sync_items: 3,
        ..threadsync_service::ServiceOptions::default()
    })
    .await;
    let alice = app.user("alice").await;
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(id(&app.say(&alice, "GENERAL", &format!("m{i}")).await));
    }
    let page = result(&app, &alice, &format!("roomId=GENERAL&lastUpdate={EPOCH}")).await;
    assert_eq!(ids(&page["updated"]), sent[..3].to_vec(), "the oldest three");
    let cursor = result(&app, &alice, "roomId=GENERAL&type=UPDATED&next=0").await;
    assert_eq!(ids(&cursor["updated"]), sent[..3].to_vec());
}

fn cursor_ms(v: &Value) -> Value {
    json!(stamp(v, "_updatedAt").millis().to_string())
}

#[tokio::test]
async fn sync_messages_cursor_form() {
    let (app, alice, rid, m) = room_with(5).await;
    let all: Vec<String> = m.iter().map(id).collect();

    let page = result(&app, &alice, &format!("roomId={rid}&type=UPDATED&next=0&count=2")).await;
    assert_eq!(ids(&page["updated"]), all[..2].to_vec(), "ascending after next");
    assert_eq!(page["cursor"], json!({"next": cursor_ms(&m[1]), "previous": cursor_ms(&m[0])}));
    assert!(page.get("deleted").is_none());

    let next = page["cursor"]["next"].as_str().expect("next").to_owned();
    let page2 = result(&app, &alice, &format!("roomId={rid}&type=UPDATED&next={next}&count=2")).await;
    assert_eq!(ids(&page2["updated"]), all[2..4].to_vec(), "continues exactly");

    let newest = stamp(&m[4], "_updatedAt").millis() + 1;
    let back = result(&app, &alice, &format!("roomId={rid}&type=UPDATED&previous={newest}&count=2")).await;
    assert_eq!(ids(&back["updated"]), vec![all[4].clone(), all[3].clone()], "descending before previous");
    assert_eq!(back["cursor"], json!({"next": cursor_ms(&m[4]), "previous": cursor_ms(&m[3])}));

    let from_start = result(&app, &alice, &format!("roomId={rid}&type=UPDATED&count=1")).await;
    assert_eq!(ids(&from_start["updated"]), vec![all[0].clone()], "type alone starts at the beginning");

    let empty = result(&app, &alice, &format!("roomId={rid}&type=UPDATED&next={newest}")).await;
    assert_eq!(empty, json!({"updated": [], "cursor": {"next": null, "previous": null}}));

    // Removals.
    app.remove(&alice, &rid, &id(&m[1])).await;
    app.remove(&alice, &rid, &id(&m[3])).await;
    let gone = result(&app, &alice, &format!("roomId={rid}&type=DELETED&next=0")).await;
    assert_eq!(ids(&gone["deleted"]), vec![all[1].clone(), all[3].clone()]);
    assert!(gone.get("updated").is_none());
    let d0 = stamp(&gone["deleted"][0], "_deletedAt").millis().to_string();
    let d1 = stamp(&gone["deleted"][1], "_deletedAt").millis().to_string();
    assert_eq!(gone["cursor"], json!({"next": d1, "previous": d0}));
    assert_eq!(gone["deleted"][0].as_object().expect("object").len(), 2, "{{_id, _deletedAt}}");
    let before = result(&app, &alice, &format!("roomId={rid}&type=DELETED&previous={d1}")).await;
    assert_eq!(ids(&before["deleted"]), vec![all[1].clone()]);
    let after = result(&app, &alice, &format!("roomId={rid}&type=DELETED&next={d1}")).await;
    assert_eq!(after, json!({"deleted": [], "cursor": {"next": null, "previous": null}}));
}

#[tokio::test]
async fn sync_messages_refuses_dates_before_the_tombstone_horizon() {
    let (app, alice, rid, m) = room_with(2).await;
    app.remove(&alice, &rid, &id(&m[0])).await;
    let horizon = Timestamp::now();
    app.services.store().prune_tombstones(horizon).await.expect("prune");
    sync(&app, &alice, &format!("roomId={rid}&lastUpdate={EPOCH}")).await.err(
        400,
        "The \"lastUpdate\" date is older than the deletion history this server keeps; resync the room from scratch. [error-resync-required]",
        Some("error-resync-required"),
    );
    sync(&app, &alice, &format!("roomId={rid}&type=DELETED&next=0")).await.err_type("error-resync-required");
    // Updates alone never depend on tombstones.
    result(&app, &alice, &format!("roomId={rid}&type=UPDATED&next=0")).await;
    result(&app, &alice, &format!("roomId={rid}&lastUpdate={}", horizon.to_iso())).await;
    app.get(&format!("{DELETED}?roomId={rid}&since={EPOCH}"), Some(&alice))
        .await
        .err_type("error-resync-required");
}

// -------------------------------------------------------- getDeletedMessages

#[tokio::test]
async fn get_deleted_messages_errors() {
    let (app, alice, rid, _) = room_with(0).await;
    app.get(&format!("{DELETED}?roomId={rid}&since={EPOCH}"), None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
    // Regression (issue 11, defect 7): Rocket.Chat throws these bare
    // (`"error": "[<text>]"`, the text as `errorType`); here they have the
    // `<reason> [<code>]` form, with the codes of `chat.syncMessages`' checks.
    let coded = |text: &str, code: &'static str| (format!("{text} [{code}]"), code);
    let (error, kind) =
        coded("The required \"roomId\" query param is missing.", "error-roomId-param-not-provided");
    app.get(&format!("{DELETED}?since=bad"), Some(&alice)).await.err(400, &error, Some(kind));
    app.get(DELETED, Some(&alice)).await.err(400, &error, Some(kind));
    let (error, kind) =
        coded("The required \"since\" query param is missing.", "error-since-param-not-provided");
    app.get(&format!("{DELETED}?roomId=nope"), Some(&alice)).await.err(400, &error, Some(kind));
    let (error, kind) =
        coded("The \"since\" query parameter must be a valid date.", "error-since-param-invalid");
    app.get(&format!("{DELETED}?roomId=nope&since=someday"), Some(&alice)).await.err(400, &error, Some(kind));
    app.get(&format!("{DELETED}?roomId={rid}&since={EPOCH}&count=x"), Some(&alice))
        .await
        .err_type("error-invalid-params");
    let eve = app.user("eve").await;
    let group = app.group(&alice, "secret", &[]).await;
    for rid in ["nope", group.as_str()] {
        app.get(&format!("{DELETED}?roomId={rid}&since={EPOCH}"), Some(&eve)).await.err(
            400,
            "Not allowed [error-not-allowed]",
            Some("error-not-allowed"),
        );
    }
}

#[tokio::test]
async fn get_deleted_messages_lists_removals() {
    let (app, alice, rid, m) = room_with(4).await;
    for i in [2, 0, 3] {
        app.remove(&alice, &rid, &id(&m[i])).await;
    }
    let all = app.get(&format!("{DELETED}?roomId={rid}&since={EPOCH}"), Some(&alice)).await.ok();
    assert_eq!(ids(&all["messages"]), vec![id(&m[2]), id(&m[0]), id(&m[3])], "oldest deletion first");
    assert_eq!(
        (all["count"].clone(), all["offset"].clone(), all["total"].clone()),
        (json!(3), json!(0), json!(3))
    );
    let first = &all["messages"][0];
    assert_eq!(*first, json!({"_id": id(&m[2]), "_deletedAt": first["_deletedAt"]}));

    let page =
        app.get(&format!("{DELETED}?roomId={rid}&since={EPOCH}&count=1&offset=1"), Some(&alice)).await.ok();
    assert_eq!(ids(&page["messages"]), vec![id(&m[0])]);
    assert_eq!(
        (page["count"].clone(), page["offset"].clone(), page["total"].clone()),
        (json!(1), json!(1), json!(3))
    );

    let since = first["_deletedAt"].as_str().expect("stamp");
    let later = app.get(&format!("{DELETED}?roomId={rid}&since={since}"), Some(&alice)).await.ok();
    assert_eq!(ids(&later["messages"]), vec![id(&m[0]), id(&m[3])], "strictly after since");

    // A non-member reads a public channel's removals.
    let bob = app.user("bob").await;
    let body = app.get(&format!("{DELETED}?roomId={rid}&since={EPOCH}"), Some(&bob)).await.ok();
    assert_eq!(body["total"], 3);
}
