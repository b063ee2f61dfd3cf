//! The thread family: chat.syncThreadMessages, chat.getThreadMessages,
//! chat.getThreadsList, chat.syncThreadsList, chat.followMessage and
//! chat.unfollowMessage.

use crate::support::{enc, Reply, Session, TestApp};
use serde_json::{json, Value};
use std::collections::HashSet;
use threadsync_domain::Timestamp;
use threadsync_service::ServiceOptions;

const SYNC: &str = "/api/v1/chat.syncThreadMessages";
const MESSAGES: &str = "/api/v1/chat.getThreadMessages";
const LIST: &str = "/api/v1/chat.getThreadsList";
const SYNC_LIST: &str = "/api/v1/chat.syncThreadsList";
const FOLLOW: &str = "/api/v1/chat.followMessage";
const UNFOLLOW: &str = "/api/v1/chat.unfollowMessage";

/// Before anything any test writes.
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

/// `syncThreadMessages` for `tmid` since `since` (an ISO date), extra query appended.
async fn sync_ok(app: &TestApp, who: &Session, tmid: &str, since: &str, extra: &str) -> Value {
    sync(app, who, &format!("tmid={tmid}&updatedSince={since}{extra}")).await.ok()["messages"].clone()
}

/// A fresh app, the users alice and bob, and a thread in GENERAL started by
/// alice with `replies` replies by bob. Returns the parent and the replies.
async fn thread(replies: usize) -> (TestApp, Session, Session, Value, Vec<Value>) {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let parent = app.say(&alice, "GENERAL", "parent").await;
    let mut out = Vec::new();
    for i in 0..replies {
        out.push(app.reply_in(&bob, "GENERAL", &id(&parent), &format!("reply {i}")).await);
    }
    (app, alice, bob, parent, out)
}

// ------------------------------------------------------ syncThreadMessages

#[tokio::test]
async fn sync_thread_needs_auth() {
    let app = TestApp::unlimited().await;
    app.get(&format!("{SYNC}?tmid=x&updatedSince={EPOCH}"), None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}

#[tokio::test]
async fn sync_thread_errors_in_order() {
    let (app, alice, _bob, parent, _) = thread(1).await;
    let pid = id(&parent);

    // Threads disabled wins over everything, even a missing tmid.
    app.set_setting("Threads_enabled", json!(false)).await;
    sync(&app, &alice, "").await.err(400, "Threads Disabled [error-not-allowed]", Some("error-not-allowed"));
    sync(&app, &alice, &format!("tmid={pid}&updatedSince={EPOCH}")).await.err(
        400,
        "Threads Disabled [error-not-allowed]",
        Some("error-not-allowed"),
    );
    app.set_setting("Threads_enabled", json!(true)).await;

    // Missing tmid wins over a missing updatedSince (empty counts as missing).
    for q in ["", "tmid=", "updatedSince=bad"] {
        sync(&app, &alice, q).await.err(
            400,
            "The required \"tmid\" query param is missing. [error-invalid-params]",
            Some("error-invalid-params"),
        );
    }
    for q in ["tmid=nope".to_owned(), format!("tmid={pid}&updatedSince=")] {
        sync(&app, &alice, &q).await.err(
            400,
            "The required param \"updatedSince\" is missing. [error-updatedSince-param-invalid]",
            Some("error-updatedSince-param-invalid"),
        );
    }
    // A bad date comes before a bad sort and before Invalid Message.
    let bad_sort = enc("{\"ts\": 2}");
    for q in
        ["tmid=nope&updatedSince=yesterday".to_owned(), format!("tmid=nope&updatedSince=x&sort={bad_sort}")]
    {
        sync(&app, &alice, &q).await.err(
            400,
            "The \"updatedSince\" query parameter must be a valid date. [error-updatedSince-param-invalid]",
            Some("error-updatedSince-param-invalid"),
        );
    }
    // sort, then query, then fields, then paging, all before Invalid Message.
    let bad_query = enc("{\"msg\": {\"$where\": 1}}");
    let bad_fields = enc("{\"msg\": 2}");
    sync(&app, &alice, &format!("tmid=nope&updatedSince={EPOCH}&sort={bad_sort}&query={bad_query}"))
        .await
        .err(
            400,
            "Invalid sort parameter provided: \"{\"ts\": 2}\" (the direction of \"ts\" must be 1 or -1) [error-invalid-sort]",
            Some("error-invalid-sort"),
        );
    sync(&app, &alice, &format!("tmid=nope&updatedSince={EPOCH}&query={bad_query}&fields={bad_fields}"))
        .await
        .err(
            400,
            "Invalid query parameter provided: \"{\"msg\": {\"$where\": 1}}\" (operator \"$where\" is not allowed) [error-invalid-query]",
            Some("error-invalid-query"),
        );
    sync(&app, &alice, &format!("tmid=nope&updatedSince={EPOCH}&fields={bad_fields}&count=x")).await.err(
        400,
        "Invalid fields parameter provided: \"{\"msg\": 2}\" (the value of \"msg\" must be 0 or 1) [error-invalid-fields]",
        Some("error-invalid-fields"),
    );
    for paging in ["count=x", "offset=-1", "count=1.5"] {
        sync(&app, &alice, &format!("tmid=nope&updatedSince={EPOCH}&{paging}"))
            .await
            .err_type("error-invalid-params");
    }
    sync(&app, &alice, &format!("tmid=nope&updatedSince={EPOCH}")).await.err(
        400,
        "Invalid Message [error-invalid-message]",
        Some("error-invalid-message"),
    );
}

/// A thread in a room the caller cannot read answers as a missing one, so
/// thread ids cannot be probed.
#[tokio::test]
async fn sync_thread_of_an_unreadable_room_is_an_invalid_message() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let eve = app.user("eve").await;
    let rid = app.group(&alice, "secret", &[]).await;
    let parent = app.say(&alice, &rid, "p").await;
    app.reply_in(&alice, &rid, &id(&parent), "r").await;
    sync(&app, &eve, &format!("tmid=nope&updatedSince={EPOCH}")).await.err(
        400,
        "Invalid Message [error-invalid-message]",
        Some("error-invalid-message"),
    );
    sync(&app, &eve, &format!("tmid={}&updatedSince={EPOCH}", id(&parent))).await.err(
        400,
        "Invalid Message [error-invalid-message]",
        Some("error-invalid-message"),
    );
    // The outsider's bad date is still reported first.
    sync(&app, &eve, &format!("tmid={}&updatedSince=bad", id(&parent)))
        .await
        .err_type("error-updatedSince-param-invalid");
}

#[tokio::test]
async fn sync_thread_reports_updates_and_removals() {
    let (app, alice, bob, parent, replies) = thread(2).await;
    let pid = id(&parent);
    let first = sync_ok(&app, &alice, &pid, EPOCH, "").await;
    assert_eq!(
        ids(&first["update"]),
        vec![id(&replies[0]), id(&replies[1])],
        "oldest first, parent excluded"
    );
    assert_eq!(first["update"][0], replies[0], "full documents");
    assert_eq!(first["remove"], json!([]));
    let mark = stamp(&first["update"][1], "_updatedAt").to_iso();

    let edited = app.edit(&bob, "GENERAL", &id(&replies[0]), "edited").await;
    app.remove(&bob, "GENERAL", &id(&replies[1])).await;
    let r3 = app.reply_in(&alice, "GENERAL", &pid, "third").await;
    app.say(&alice, "GENERAL", "not in the thread").await;

    let delta = sync_ok(&app, &alice, &pid, &mark, "").await;
    assert_eq!(ids(&delta["update"]), vec![id(&edited), id(&r3)]);
    assert_eq!(delta["update"][0]["msg"], "edited");
    let removed = &delta["remove"];
    assert_eq!(ids(removed), vec![id(&replies[1])]);
    let tomb = &removed[0];
    assert_eq!(
        *tomb,
        json!({"_id": id(&replies[1]), "rid": "GENERAL", "tmid": pid, "_deletedAt": tomb["_deletedAt"]}),
        "a tombstone carries _id, rid, tmid and _deletedAt only"
    );
    assert!(stamp(tomb, "_deletedAt") > Timestamp::parse(&mark).expect("mark"));

    // From the start: the deleted reply is a removal, never an update.
    let all = sync_ok(&app, &alice, &pid, EPOCH, "").await;
    assert_eq!(ids(&all["update"]), vec![id(&edited), id(&r3)]);
    assert_eq!(ids(&all["remove"]), vec![id(&replies[1])]);

    // Nothing after the newest stamp.
    let newest = stamp(&all["update"][1], "_updatedAt").max(stamp(&all["remove"][0], "_deletedAt"));
    let none = sync_ok(&app, &alice, &pid, &newest.to_iso(), "").await;
    assert_eq!(none, json!({"update": [], "remove": []}));
}

#[tokio::test]
async fn sync_thread_is_strictly_after_updated_since() {
    let (app, alice, _bob, parent, replies) = thread(2).await;
    let since = replies[0]["_updatedAt"].as_str().expect("stamp").to_owned();
    let delta = sync_ok(&app, &alice, &id(&parent), &since, "").await;
    assert_eq!(
        ids(&delta["update"]),
        vec![id(&replies[1])],
        "a reply stamped exactly updatedSince is not returned"
    );
}

#[tokio::test]
async fn sync_thread_accepts_the_date_forms_clients_send() {
    let (app, alice, _bob, parent, replies) = thread(1).await;
    for since in
        ["2000-01-01T00:00:00Z", "2000-01-01", "2000-01-01T02:00:00%2B02:00", "2000-01-01T00:00:00.000"]
    {
        let delta = sync_ok(&app, &alice, &id(&parent), since, "").await;
        assert_eq!(ids(&delta["update"]), vec![id(&replies[0])], "{since}");
    }
}

/// The greatest stamp in a sync page.
fn page_max(page: &Value) -> Option<Timestamp> {
    let u = page["update"].as_array().expect("update").iter().map(|m| stamp(m, "_updatedAt"));
    let r = page["remove"].as_array().expect("remove").iter().map(|t| stamp(t, "_deletedAt"));
    u.chain(r).max()
}

#[tokio::test]
async fn sync_thread_resumes_page_by_page() {
    let (app, alice, bob, parent, replies) = thread(5).await;
    let pid = id(&parent);
    // 5 changes after the 2nd reply: replies 2..4, an edit of reply 0, a deletion of reply 1.
    let since = replies[1]["_updatedAt"].as_str().expect("stamp").to_owned();
    app.edit(&bob, "GENERAL", &id(&replies[0]), "edited").await;
    app.remove(&bob, "GENERAL", &id(&replies[1])).await;
    let expected: Vec<String> = [2, 3, 4, 0, 1].iter().map(|&i| id(&replies[i])).collect();

    let mut seen = Vec::new();
    let mut cursor = since;
    let mut pages = 0;
    loop {
        let page = sync_ok(&app, &alice, &pid, &cursor, "&count=2").await;
        let n = page["update"].as_array().expect("update").len()
            + page["remove"].as_array().expect("remove").len();
        assert!(n <= 2, "count honoured: {page}");
        let Some(max) = page_max(&page) else { break };
        // Within a page, oldest first across both lists.
        let mut stamped: Vec<(Timestamp, String)> = page["update"]
            .as_array()
            .expect("update")
            .iter()
            .map(|m| (stamp(m, "_updatedAt"), id(m)))
            .chain(page["remove"].as_array().expect("remove").iter().map(|t| (stamp(t, "_deletedAt"), id(t))))
            .collect();
        stamped.sort();
        seen.extend(stamped.into_iter().map(|(_, i)| i));
        cursor = max.to_iso();
        pages += 1;
        assert!(pages < 10, "runaway paging");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "every change once, oldest first");
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");

    // offset skips changes in the same order.
    let from = replies[1]["_updatedAt"].as_str().expect("stamp");
    let skipped = sync_ok(&app, &alice, &pid, from, "&count=2&offset=1").await;
    assert_eq!(ids(&skipped["update"]), vec![id(&replies[3]), id(&replies[4])]);
}

#[tokio::test]
async fn sync_thread_without_count_is_bounded_by_the_server_cap() {
    let app = TestApp::with_options(ServiceOptions { max_sync_items: 3, ..ServiceOptions::default() }).await;
    let alice = app.user("alice").await;
    let parent = app.say(&alice, "GENERAL", "parent").await;
    let pid = id(&parent);
    let mut replies = Vec::new();
    for i in 0..5 {
        replies.push(id(&app.reply_in(&alice, "GENERAL", &pid, &format!("r{i}")).await));
    }
    let page = sync_ok(&app, &alice, &pid, EPOCH, "").await;
    assert_eq!(ids(&page["update"]), replies[..3].to_vec(), "the oldest three");
    let infinite = sync_ok(&app, &alice, &pid, EPOCH, "&count=0").await;
    assert_eq!(ids(&infinite["update"]), replies[..3].to_vec(), "count=0 is capped too");
    let asked = sync_ok(&app, &alice, &pid, EPOCH, "&count=5").await;
    assert_eq!(ids(&asked["update"]), replies, "an explicit count is honoured");
    let rest = sync_ok(&app, &alice, &pid, &stamp(&page["update"][2], "_updatedAt").to_iso(), "").await;
    assert_eq!(ids(&rest["update"]), replies[3..].to_vec(), "resuming gets the rest");
    // The count is capped by API_Upper_Count_Limit.
    app.set_setting("API_Upper_Count_Limit", json!(2)).await;
    let capped = sync_ok(&app, &alice, &pid, EPOCH, "&count=5").await;
    assert_eq!(ids(&capped["update"]), replies[..2].to_vec());
}

#[tokio::test]
async fn sync_thread_sort_reorders_only_the_selected_page() {
    let (app, alice, _bob, parent, replies) = thread(4).await;
    let sort = enc("{\"ts\": -1}");
    let page = sync_ok(&app, &alice, &id(&parent), EPOCH, &format!("&count=2&sort={sort}")).await;
    assert_eq!(ids(&page["update"]), vec![id(&replies[1]), id(&replies[0])], "the two oldest, newest first");
    let sort = enc("{\"msg\": -1}");
    let page = sync_ok(&app, &alice, &id(&parent), EPOCH, &format!("&sort={sort}")).await;
    assert_eq!(ids(&page["update"]), replies.iter().rev().map(id).collect::<Vec<_>>());
    // An empty query narrows nothing.
    let page = sync_ok(&app, &alice, &id(&parent), EPOCH, &format!("&query={}", enc("{}"))).await;
    assert_eq!(ids(&page["update"]).len(), 4);
}

#[tokio::test]
async fn sync_thread_applies_the_fields_projection() {
    let (app, alice, bob, parent, replies) = thread(2).await;
    app.remove(&bob, "GENERAL", &id(&replies[1])).await;
    let fields = enc("{\"msg\": 1, \"u.username\": 1}");
    let page = sync_ok(&app, &alice, &id(&parent), EPOCH, &format!("&fields={fields}")).await;
    assert_eq!(page["update"], json!([{"_id": id(&replies[0]), "msg": "reply 0", "u": {"username": "bob"}}]));
    assert_eq!(ids(&page["remove"]), vec![id(&replies[1])], "remove items are not projected");
    assert!(page["remove"][0].get("_deletedAt").is_some());
    let fields = enc("{\"mentions\": 0, \"channels\": 0, \"_id\": 0}");
    let page = sync_ok(&app, &alice, &id(&parent), EPOCH, &format!("&fields={fields}")).await;
    let doc = &page["update"][0];
    assert!(
        doc.get("_id").is_none() && doc.get("mentions").is_none() && doc.get("channels").is_none(),
        "{doc}"
    );
    assert_eq!(doc["msg"], "reply 0");
}

#[tokio::test]
async fn sync_thread_keeps_working_on_a_deleted_parent() {
    let (app, alice, _bob, parent, replies) = thread(1).await;
    app.remove(&alice, "GENERAL", &id(&parent)).await;
    assert_eq!(app.message(&alice, &id(&parent)).await["t"], "rm");
    let page = sync_ok(&app, &alice, &id(&parent), EPOCH, "").await;
    assert_eq!(ids(&page["update"]), vec![id(&replies[0])], "a placeholder parent still syncs");

    // A message removed for good (no replies) is an Invalid Message.
    let lonely = app.say(&alice, "GENERAL", "lonely").await;
    app.remove(&alice, "GENERAL", &id(&lonely)).await;
    sync(&app, &alice, &format!("tmid={}&updatedSince={EPOCH}", id(&lonely))).await.err(
        400,
        "Invalid Message [error-invalid-message]",
        Some("error-invalid-message"),
    );
}

#[tokio::test]
async fn sync_thread_refuses_dates_before_the_tombstone_horizon() {
    let (app, alice, bob, parent, replies) = thread(2).await;
    app.remove(&bob, "GENERAL", &id(&replies[0])).await;
    let horizon = Timestamp::now();
    app.services.store().prune_tombstones(horizon).await.expect("prune");
    sync(&app, &alice, &format!("tmid={}&updatedSince={EPOCH}", id(&parent))).await.err(
        400,
        "The \"updatedSince\" date is older than the deletion history this server keeps; resync the thread from scratch. [error-resync-required]",
        Some("error-resync-required"),
    );
    // From the horizon on, the feed is complete again.
    sync_ok(&app, &alice, &id(&parent), &horizon.to_iso(), "").await;
}

#[tokio::test]
async fn thread_access_follows_the_room_rules() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let eve = app.user("eve").await;

    // A public channel eve never joined is readable.
    let body = app.post("/api/v1/channels.create", Some(&alice), json!({"name": "open"})).await.ok();
    let open = body["channel"]["_id"].as_str().expect("id").to_owned();
    let p = app.say(&alice, &open, "p").await;
    let r = app.reply_in(&alice, &open, &id(&p), "r").await;
    let page = sync_ok(&app, &eve, &id(&p), EPOCH, "").await;
    assert_eq!(ids(&page["update"]), vec![id(&r)]);
    app.get(&format!("{MESSAGES}?tmid={}", id(&p)), Some(&eve)).await.ok();
    app.get(&format!("{LIST}?rid={open}"), Some(&eve)).await.ok();
    app.get(&format!("{SYNC_LIST}?rid={open}&updatedSince={EPOCH}"), Some(&eve)).await.ok();

    // A private group and a DM: members only.
    let group = app.group(&alice, "secret", &[&bob]).await;
    let dm = app.direct(&alice, &bob).await;
    for rid in [group, dm] {
        let p = app.say(&alice, &rid, "p").await;
        let r = app.reply_in(&bob, &rid, &id(&p), "r").await;
        let page = sync_ok(&app, &bob, &id(&p), EPOCH, "").await;
        assert_eq!(ids(&page["update"]), vec![id(&r)], "members read");
        let denied =
            |reply: Reply| reply.err(400, "Not Allowed [error-not-allowed]", Some("error-not-allowed"));
        // A thread of a room the caller cannot read does not exist for them.
        let hidden = |reply: Reply| {
            reply.err(400, "Invalid Message [error-invalid-message]", Some("error-invalid-message"))
        };
        hidden(sync(&app, &eve, &format!("tmid={}&updatedSince={EPOCH}", id(&p))).await);
        hidden(app.get(&format!("{MESSAGES}?tmid={}", id(&p)), Some(&eve)).await);
        denied(app.get(&format!("{LIST}?rid={rid}"), Some(&eve)).await);
        denied(app.get(&format!("{SYNC_LIST}?rid={rid}&updatedSince={EPOCH}"), Some(&eve)).await);
        // Admins are not exempt from the read rule.
        hidden(sync(&app, &app.admin, &format!("tmid={}&updatedSince={EPOCH}", id(&p))).await);
    }
}

// ------------------------------------------------------- getThreadMessages

#[tokio::test]
async fn get_thread_messages_errors_in_order() {
    let (app, alice, _bob, parent, _) = thread(1).await;
    app.get(&format!("{MESSAGES}?tmid={}", id(&parent)), None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
    app.set_setting("Threads_enabled", json!(false)).await;
    app.get(MESSAGES, Some(&alice)).await.err(
        400,
        "Threads Disabled [error-not-allowed]",
        Some("error-not-allowed"),
    );
    app.set_setting("Threads_enabled", json!(true)).await;
    app.get(MESSAGES, Some(&alice)).await.err(
        400,
        "The required \"tmid\" query param is missing. [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.get(&format!("{MESSAGES}?tmid=nope&sort={}", enc("[1]")), Some(&alice)).await.err(
        400,
        "Invalid sort parameter provided: \"[1]\" (not a JSON object) [error-invalid-sort]",
        Some("error-invalid-sort"),
    );
    app.get(&format!("{MESSAGES}?tmid=nope&query={}", enc("{\"$where\": \"1\"}")), Some(&alice))
        .await
        .err_type("error-invalid-query");
    app.get(&format!("{MESSAGES}?tmid=nope&fields={}", enc("x")), Some(&alice)).await.err(
        400,
        "Invalid fields parameter provided: \"x\" (not valid JSON) [error-invalid-fields]",
        Some("error-invalid-fields"),
    );
    app.get(&format!("{MESSAGES}?tmid=nope&count=many"), Some(&alice)).await.err_type("error-invalid-params");
    app.get(&format!("{MESSAGES}?tmid=nope"), Some(&alice)).await.err(
        400,
        "Invalid Message [error-invalid-message]",
        Some("error-invalid-message"),
    );
}

#[tokio::test]
async fn get_thread_messages_pages_and_sorts() {
    let (app, alice, _bob, parent, replies) = thread(3).await;
    let pid = id(&parent);
    let all = app.get(&format!("{MESSAGES}?tmid={pid}"), Some(&alice)).await.ok();
    assert_eq!(ids(&all["messages"]), replies.iter().map(id).collect::<Vec<_>>(), "ts ascending, no parent");
    assert_eq!(
        (all["count"].clone(), all["offset"].clone(), all["total"].clone()),
        (json!(3), json!(0), json!(3))
    );
    assert_eq!(all["messages"][0], replies[0]);

    let page = app.get(&format!("{MESSAGES}?tmid={pid}&offset=1&count=1"), Some(&alice)).await.ok();
    assert_eq!(ids(&page["messages"]), vec![id(&replies[1])]);
    assert_eq!(
        (page["count"].clone(), page["offset"].clone(), page["total"].clone()),
        (json!(1), json!(1), json!(3))
    );

    let desc =
        app.get(&format!("{MESSAGES}?tmid={pid}&sort={}", enc("{\"ts\": -1}")), Some(&alice)).await.ok();
    assert_eq!(ids(&desc["messages"]), replies.iter().rev().map(id).collect::<Vec<_>>());

    let slim = app
        .get(&format!("{MESSAGES}?tmid={pid}&count=1&fields={}", enc("{\"tmid\": 1}")), Some(&alice))
        .await
        .ok();
    assert_eq!(slim["messages"], json!([{"_id": id(&replies[0]), "tmid": pid}]));

    let lonely = app.say(&alice, "GENERAL", "no replies").await;
    let empty = app.get(&format!("{MESSAGES}?tmid={}", id(&lonely)), Some(&alice)).await.ok();
    assert_eq!(
        (empty["messages"].clone(), empty["count"].clone(), empty["total"].clone()),
        (json!([]), json!(0), json!(0))
    );
}

// --------------------------------------------------------- getThreadsList

#[tokio::test]
async fn get_threads_list_errors_in_order() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    app.get(&format!("{LIST}?rid=GENERAL"), None).await.err(401, "You must be logged in to do this.", None);
    app.set_setting("Threads_enabled", json!(false)).await;
    app.get(LIST, Some(&alice)).await.err(
        400,
        "Threads Disabled [error-not-allowed]",
        Some("error-not-allowed"),
    );
    app.set_setting("Threads_enabled", json!(true)).await;
    app.get(&format!("{LIST}?type=bogus"), Some(&alice)).await.err(
        400,
        "The required \"rid\" query param is missing. [error-room-id-param-not-provided]",
        Some("error-room-id-param-not-provided"),
    );
    app.get(&format!("{LIST}?rid=nope&type=bogus"), Some(&alice)).await.err(
        400,
        "must be equal to one of the allowed values [invalid-params]",
        Some("invalid-params"),
    );
    app.get(&format!("{LIST}?rid=nope&sort={}", enc("{\"nope\": 1}")), Some(&alice))
        .await
        .err_type("error-invalid-sort");
    app.get(&format!("{LIST}?rid=nope"), Some(&alice)).await.err(
        400,
        "Not Allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
}

#[tokio::test]
async fn get_threads_list_filters() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let p1 = app.say(&alice, "GENERAL", "Hello World").await;
    let p2 = app.say(&alice, "GENERAL", "another topic").await;
    app.say(&alice, "GENERAL", "not a thread").await;
    app.reply_in(&bob, "GENERAL", &id(&p1), "r1").await;
    app.reply_in(&bob, "GENERAL", &id(&p2), "r2").await;

    let all = app.get(&format!("{LIST}?rid=GENERAL"), Some(&carol)).await.ok();
    assert_eq!(ids(&all["threads"]), vec![id(&p2), id(&p1)], "tlm descending, parents only");
    assert_eq!(
        (all["count"].clone(), all["offset"].clone(), all["total"].clone()),
        (json!(2), json!(0), json!(2))
    );
    assert_eq!(all["threads"][0]["tcount"], 1);
    let same = app.get(&format!("{LIST}?rid=GENERAL&type=all"), Some(&carol)).await.ok();
    assert_eq!(same["threads"], all["threads"]);

    let page = app.get(&format!("{LIST}?rid=GENERAL&count=1&offset=1"), Some(&carol)).await.ok();
    assert_eq!(ids(&page["threads"]), vec![id(&p1)]);
    assert_eq!(
        (page["count"].clone(), page["total"].clone()),
        (json!(1), json!(2)),
        "count is the items returned"
    );

    let asc = app.get(&format!("{LIST}?rid=GENERAL&sort={}", enc("{\"tlm\": 1}")), Some(&carol)).await.ok();
    assert_eq!(ids(&asc["threads"]), vec![id(&p1), id(&p2)]);

    let found = app.get(&format!("{LIST}?rid=GENERAL&text=WORLD"), Some(&carol)).await.ok();
    assert_eq!(ids(&found["threads"]), vec![id(&p1)], "case-insensitive substring");

    // carol follows p1 only.
    app.post(FOLLOW, Some(&carol), json!({"mid": id(&p1)})).await.ok();
    let following = app.get(&format!("{LIST}?rid=GENERAL&type=following"), Some(&carol)).await.ok();
    assert_eq!(ids(&following["threads"]), vec![id(&p1)]);
    let bobs = app.get(&format!("{LIST}?rid=GENERAL&type=following"), Some(&bob)).await.ok();
    assert_eq!(ids(&bobs["threads"]), vec![id(&p2), id(&p1)]);

    // alice replies in p2: bob (a follower) has it unread; carol does not.
    app.reply_in(&alice, "GENERAL", &id(&p2), "ping").await;
    let unread = app.get(&format!("{LIST}?rid=GENERAL&type=unread"), Some(&bob)).await.ok();
    assert_eq!(ids(&unread["threads"]), vec![id(&p2)]);
    assert_eq!((unread["count"].clone(), unread["total"].clone()), (json!(1), json!(1)));
    let none = app.get(&format!("{LIST}?rid=GENERAL&type=unread"), Some(&carol)).await.ok();
    assert_eq!(
        (none["threads"].clone(), none["count"].clone(), none["total"].clone()),
        (json!([]), json!(0), json!(0))
    );

    // Without a subscription: readable (public) but nothing unread.
    let body = app.post("/api/v1/channels.create", Some(&alice), json!({"name": "open"})).await.ok();
    let open = body["channel"]["_id"].as_str().expect("id").to_owned();
    let op = app.say(&alice, &open, "p").await;
    app.reply_in(&alice, &open, &id(&op), "r").await;
    let outsider = app.get(&format!("{LIST}?rid={open}&type=unread"), Some(&carol)).await.ok();
    assert_eq!(outsider["threads"], json!([]));
    let slim = app
        .get(&format!("{LIST}?rid={open}&fields={}", enc("{\"tcount\": 1, \"_id\": 0}")), Some(&carol))
        .await
        .ok();
    assert_eq!(slim["threads"], json!([{"tcount": 1}]));
}

// -------------------------------------------------------- syncThreadsList

#[tokio::test]
async fn sync_threads_list_errors_in_order() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let eve = app.user("eve").await;
    let group = app.group(&alice, "secret", &[]).await;
    app.get(&format!("{SYNC_LIST}?rid=GENERAL&updatedSince={EPOCH}"), None).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
    app.set_setting("Threads_enabled", json!(false)).await;
    app.get(SYNC_LIST, Some(&alice)).await.err(
        400,
        "Threads Disabled [error-not-allowed]",
        Some("error-not-allowed"),
    );
    app.set_setting("Threads_enabled", json!(true)).await;
    app.get(&format!("{SYNC_LIST}?updatedSince=bad"), Some(&alice)).await.err(
        400,
        "The required \"rid\" query param is missing. [error-room-id-param-not-provided]",
        Some("error-room-id-param-not-provided"),
    );
    app.get(&format!("{SYNC_LIST}?rid=nope"), Some(&alice)).await.err(
        400,
        "The required param \"updatedSince\" is missing. [error-updatedSince-param-invalid]",
        Some("error-updatedSince-param-invalid"),
    );
    app.get(&format!("{SYNC_LIST}?rid=nope&updatedSince=never"), Some(&alice)).await.err(
        400,
        "The \"updatedSince\" query parameter must be a valid date. [error-updatedSince-param-invalid]",
        Some("error-updatedSince-param-invalid"),
    );
    for rid in ["nope", group.as_str()] {
        app.get(&format!("{SYNC_LIST}?rid={rid}&updatedSince={EPOCH}"), Some(&eve)).await.err(
            400,
            "Not Allowed [error-not-allowed]",
            Some("error-not-allowed"),
        );
    }
}

#[tokio::test]
async fn sync_threads_list_reports_parents_and_is_idempotent() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let p1 = app.say(&alice, "GENERAL", "p1").await;
    let p2 = app.say(&alice, "GENERAL", "p2").await;
    app.say(&alice, "GENERAL", "plain").await;
    app.reply_in(&bob, "GENERAL", &id(&p1), "r1").await;
    let r2 = app.reply_in(&bob, "GENERAL", &id(&p2), "r2").await;

    let url = format!("{SYNC_LIST}?rid=GENERAL&updatedSince={EPOCH}");
    let first = app.get(&url, Some(&alice)).await.ok();
    assert_eq!(ids(&first["threads"]["update"]), vec![id(&p1), id(&p2)], "parents only, oldest change first");
    assert_eq!(first["threads"]["remove"], json!([]));
    assert_eq!(first["threads"]["update"][0]["tcount"], 1);
    let again = app.get(&url, Some(&alice)).await.ok();
    assert_eq!(again, first, "the same request gives the same answer");

    // p2 loses its only reply, then is deleted: it is removed for good.
    let mark = page_max(&first["threads"]).expect("changes").to_iso();
    app.remove(&bob, "GENERAL", &id(&r2)).await;
    app.remove(&alice, "GENERAL", &id(&p2)).await;
    let delta = app.get(&format!("{SYNC_LIST}?rid=GENERAL&updatedSince={mark}"), Some(&alice)).await.ok();
    assert_eq!(delta["threads"]["update"], json!([]));
    let removed = &delta["threads"]["remove"];
    assert_eq!(ids(removed), vec![id(&p2)]);
    assert_eq!(removed[0]["rid"], "GENERAL");
    assert!(removed[0].get("_deletedAt").is_some());
    let full = app.get(&url, Some(&alice)).await.ok();
    assert_eq!(ids(&full["threads"]["update"]), vec![id(&p1)]);
    assert_eq!(ids(&full["threads"]["remove"]), vec![id(&p2)]);

    // A deleted parent with replies stays as a placeholder update.
    app.remove(&alice, "GENERAL", &id(&p1)).await;
    let delta = app.get(&format!("{SYNC_LIST}?rid=GENERAL&updatedSince={mark}"), Some(&alice)).await.ok();
    assert_eq!(ids(&delta["threads"]["update"]), vec![id(&p1)]);
    assert_eq!(delta["threads"]["update"][0]["t"], "rm");

    // Bounded and resumable like every feed.
    let one = app.get(&format!("{url}&count=1"), Some(&alice)).await.ok();
    let n = one["threads"]["update"].as_array().expect("u").len()
        + one["threads"]["remove"].as_array().expect("r").len();
    assert_eq!(n, 1);
}

// -------------------------------------------------- follow / unfollow

#[tokio::test]
async fn follow_and_unfollow_errors() {
    let (app, alice, _bob, parent, _) = thread(1).await;
    let eve = app.user("eve").await;
    app.post(FOLLOW, None, json!({"mid": id(&parent)})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
    for (path, method) in [(FOLLOW, "followMessage"), (UNFOLLOW, "unfollowMessage")] {
        for body in [json!({}), json!({"mid": ""})] {
            // Rocket.Chat throws this one bare (`[<text>]`, the text as
            // `errorType`); here it has a code like every other error.
            app.post(path, Some(&alice), body).await.err(
                400,
                "The required \"mid\" body param is missing. [error-invalid-params]",
                Some("error-invalid-params"),
            );
        }
        app.post(path, Some(&alice), json!({"mid": 5})).await.err_type("error-invalid-params");

        app.set_setting("Threads_enabled", json!(false)).await;
        // A missing mid is still reported first.
        let body = app.post(path, Some(&alice), json!({})).await.err_type("error-invalid-params");
        assert_eq!(body["error"], "The required \"mid\" body param is missing. [error-invalid-params]");
        let body = app.post(path, Some(&alice), json!({"mid": id(&parent)})).await.err(
            400,
            "not-allowed [error-not-allowed]",
            Some("error-not-allowed"),
        );
        assert_eq!(body["details"], json!({"method": method}));
        app.set_setting("Threads_enabled", json!(true)).await;

        let body = app.post(path, Some(&alice), json!({"mid": "nope"})).await.err(
            400,
            "Invalid message [error-invalid-message]",
            Some("error-invalid-message"),
        );
        assert_eq!(body["details"], json!({"method": method}));

        // A message of a room eve cannot read does not exist for her.
        let group = app.group(&alice, &format!("g-{method}").to_lowercase(), &[]).await;
        let secret = app.say(&alice, &group, "secret").await;
        let body = app.post(path, Some(&eve), json!({"mid": id(&secret)})).await.err(
            400,
            "Invalid message [error-invalid-message]",
            Some("error-invalid-message"),
        );
        assert_eq!(body["details"], json!({"method": method}));
    }
}

async fn tunread(app: &TestApp, who: &Session, rid: &str) -> Value {
    app.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(who)).await.ok()["subscription"]
        ["tunread"]
        .clone()
}

#[tokio::test]
async fn follow_and_unfollow_effects() {
    let (app, alice, bob, parent, replies) = thread(1).await;
    let carol = app.user("carol").await;
    let pid = id(&parent);
    let before = app.message(&alice, &pid).await;
    assert_eq!(before["replies"], json!([alice.user_id, bob.user_id]));

    // Following through a reply's id follows its thread.
    let body = app.post(FOLLOW, Some(&carol), json!({"mid": id(&replies[0])})).await.ok();
    assert_eq!(body, json!({"success": true}));
    let followed = app.message(&alice, &pid).await;
    assert_eq!(followed["replies"], json!([alice.user_id, bob.user_id, carol.user_id]));
    assert!(stamp(&followed, "_updatedAt") > stamp(&before, "_updatedAt"), "_updatedAt moves");
    assert_eq!(followed["tcount"], before["tcount"]);
    let reply = app.message(&alice, &id(&replies[0])).await;
    assert_eq!(reply, replies[0], "the reply itself is untouched");

    // The parent's change shows in syncThreadsList.
    let since = before["_updatedAt"].as_str().expect("stamp").to_owned();
    let delta = app.get(&format!("{SYNC_LIST}?rid=GENERAL&updatedSince={since}"), Some(&alice)).await.ok();
    assert_eq!(ids(&delta["threads"]["update"]), vec![pid.clone()]);

    // carol gets the thread unread on the next reply; unfollow clears it.
    app.reply_in(&bob, "GENERAL", &pid, "news").await;
    assert_eq!(tunread(&app, &carol, "GENERAL").await, json!([pid]));
    let before = app.message(&alice, &pid).await;
    app.post(UNFOLLOW, Some(&carol), json!({"mid": pid})).await.ok();
    let after = app.message(&alice, &pid).await;
    assert_eq!(after["replies"], json!([alice.user_id, bob.user_id]));
    assert!(stamp(&after, "_updatedAt") > stamp(&before, "_updatedAt"));
    assert_eq!(tunread(&app, &carol, "GENERAL").await, json!([]));
    assert_eq!(tunread(&app, &alice, "GENERAL").await, json!([pid]), "others keep theirs");
    app.reply_in(&bob, "GENERAL", &pid, "more").await;
    assert_eq!(tunread(&app, &carol, "GENERAL").await, json!([]), "no longer following");

    // Following twice is harmless.
    app.post(FOLLOW, Some(&carol), json!({"mid": pid})).await.ok();
    app.post(FOLLOW, Some(&carol), json!({"mid": pid})).await.ok();
    assert_eq!(
        app.message(&alice, &pid).await["replies"],
        json!([alice.user_id, bob.user_id, carol.user_id])
    );
}

// ------------------------------------------------- sending with threads off

#[tokio::test]
async fn replies_are_refused_while_threads_are_disabled() {
    let (app, alice, _bob, parent, _) = thread(0).await;
    app.set_setting("Threads_enabled", json!(false)).await;
    app.post(
        "/api/v1/chat.sendMessage",
        Some(&alice),
        json!({"message": {"rid": "GENERAL", "msg": "x", "tmid": id(&parent)}}),
    )
    .await
    .err(400, "not-allowed [error-not-allowed]", Some("error-not-allowed"));
    app.post(
        "/api/v1/chat.postMessage",
        Some(&alice),
        json!({"roomId": "GENERAL", "text": "x", "tmid": id(&parent)}),
    )
    .await
    .err(400, "not-allowed [error-not-allowed]", Some("error-not-allowed"));
    // Plain messages still go through.
    app.say(&alice, "GENERAL", "plain").await;
    app.set_setting("Threads_enabled", json!(true)).await;
    app.reply_in(&alice, "GENERAL", &id(&parent), "back on").await;
}
