//! `rooms.get` and `subscriptions.get`: a user's rooms and subscriptions,
//! whole or as lossless deltas (removals remembered as tombstones).

use crate::support::{enc, Session, TestApp};
use serde_json::{json, Value};
use threadsync_domain::Timestamp;
use threadsync_service::ServiceOptions;

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        list.as_array().expect("array").iter().map(|v| v["_id"].as_str().expect("_id").to_owned()).collect();
    ids.sort();
    ids
}

/// The greatest `_updatedAt` / `_deletedAt` of an answer: where a client
/// resumes.
fn greatest(body: &Value) -> String {
    let stamps = body["update"]
        .as_array()
        .expect("update")
        .iter()
        .map(|d| &d["_updatedAt"])
        .chain(body["remove"].as_array().expect("remove").iter().map(|d| &d["_deletedAt"]));
    let max = stamps.filter_map(|s| s.as_str().and_then(Timestamp::parse)).max().expect("a stamp");
    max.to_iso()
}

async fn delta(app: &TestApp, route: &str, who: &Session, since: &str) -> Value {
    app.get(&format!("/api/v1/{route}?updatedSince={}", enc(since)), Some(who)).await.ok()
}

#[tokio::test]
async fn without_updated_since_everything_and_no_removals() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let channel = app.channel(&alice, "town", &[&bob]).await;
    let group = app.group(&alice, "den", &[]).await;
    let dm = app.direct(&alice, &bob).await;

    let rooms = app.get("/api/v1/rooms.get", Some(&alice)).await.ok();
    let mut expected = vec!["GENERAL".to_owned(), channel.clone(), group.clone(), dm.clone()];
    expected.sort();
    assert_eq!(ids(&rooms["update"]), expected);
    assert_eq!(rooms["remove"], json!([]));

    let subs = app.get("/api/v1/subscriptions.get", Some(&alice)).await.ok();
    let mut rids: Vec<String> = subs["update"]
        .as_array()
        .expect("update")
        .iter()
        .map(|s| s["rid"].as_str().expect("rid").to_owned())
        .collect();
    rids.sort();
    assert_eq!(rids, expected);
    assert!(subs["update"].as_array().expect("update").iter().all(|s| s["u"]["_id"] == json!(alice.user_id)));
    assert_eq!(subs["remove"], json!([]));

    // Bob is not in the group.
    let bobs = app.get("/api/v1/rooms.get", Some(&bob)).await.ok();
    assert!(!ids(&bobs["update"]).contains(&group), "{bobs}");
}

/// With exact stamps (no settling), a delta after a leave, a kick and a
/// room's deletion reports each as a removal, and an unchanged room not at all.
#[tokio::test]
async fn removals_are_remembered() {
    let app =
        TestApp::with_options(ServiceOptions { roster_settle_ms: 0, ..ServiceOptions::default() }).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let town = app.channel(&alice, "town", &[&bob]).await;
    let den = app.group(&alice, "den", &[&bob]).await;
    let club = app.channel(&alice, "club", &[&bob]).await;

    let subs = app.get("/api/v1/subscriptions.get", Some(&bob)).await.ok();
    let sub_of = |rid: &str| {
        subs["update"].as_array().expect("update").iter().find(|s| s["rid"] == rid).expect("sub")["_id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    let (town_sub, den_sub, club_sub) = (sub_of(&town), sub_of(&den), sub_of(&club));

    // Each removal is checked from a stamp of its own room (stamps order
    // the writes of one room; across rooms the settled point takes over).
    let town_stamp = app.get(&format!("/api/v1/subscriptions.getOne?roomId={town}"), Some(&bob)).await.ok()
        ["subscription"]["_updatedAt"]
        .as_str()
        .expect("stamp")
        .to_owned();
    app.post("/api/v1/channels.leave", Some(&bob), json!({"roomId": town})).await.ok();
    let after_leave = delta(&app, "subscriptions.get", &bob, &town_stamp).await;
    assert_eq!(ids(&after_leave["remove"]), vec![town_sub.clone()]);
    // Leaving is not a deleted room.
    assert_eq!(delta(&app, "rooms.get", &bob, &town_stamp).await["remove"], json!([]));

    let den_stamp = app.get(&format!("/api/v1/subscriptions.getOne?roomId={den}"), Some(&bob)).await.ok()
        ["subscription"]["_updatedAt"]
        .as_str()
        .expect("stamp")
        .to_owned();
    app.post("/api/v1/groups.kick", Some(&alice), json!({"roomId": den, "username": "bob"})).await.ok();
    let after_kick = delta(&app, "subscriptions.get", &bob, &den_stamp).await;
    assert!(ids(&after_kick["remove"]).contains(&den_sub), "{after_kick}");

    let club_room = app.get(&format!("/api/v1/rooms.info?roomId={club}"), Some(&bob)).await.ok();
    let club_stamp = club_room["room"]["_updatedAt"].as_str().expect("stamp").to_owned();
    app.post("/api/v1/channels.delete", Some(&alice), json!({"roomId": club})).await.ok();
    let rooms = delta(&app, "rooms.get", &bob, &club_stamp).await;
    assert!(ids(&rooms["remove"]).contains(&club), "{rooms}");
    assert!(!ids(&rooms["update"]).contains(&club), "{rooms}");
    let subs = delta(&app, "subscriptions.get", &bob, &club_stamp).await;
    assert!(ids(&subs["remove"]).contains(&club_sub), "{subs}");
    let removal = subs["remove"]
        .as_array()
        .expect("remove")
        .iter()
        .find(|r| r["_id"] == json!(club_sub))
        .expect("removal");
    assert!(Timestamp::parse(removal["_deletedAt"].as_str().expect("date")) > Timestamp::parse(&club_stamp));

    // Idempotent: the same request, the same answer, once the wall clock
    // has passed every stamp shown. (A room's clock may run a few ticks
    // ahead of the wall clock when several writes share a millisecond, and
    // a stamp shown is never later than "now", so until then the removal's
    // `_deletedAt` can still move up to its stored stamp.)
    let deleted_at = |answer: &Value| {
        let removal = answer["remove"].as_array().expect("remove").iter().find(|r| r["_id"] == json!(club));
        Timestamp::parse(removal.expect("room removal")["_deletedAt"].as_str().expect("date")).expect("stamp")
    };
    let shown = deleted_at(&rooms);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let rooms = delta(&app, "rooms.get", &bob, &club_stamp).await;
    assert!(deleted_at(&rooms) >= shown, "{rooms}");
    assert_eq!(delta(&app, "rooms.get", &bob, &club_stamp).await, rooms);

    // Resuming from the greatest stamp of that answer, the removal is not
    // reported again.
    let later = delta(&app, "rooms.get", &bob, &greatest(&rooms)).await;
    assert!(!ids(&later["remove"]).contains(&club), "{later}");
}

/// With the default settling, no stamp shown is newer than the settled
/// point, so a client resuming from the greatest one sees recent changes
/// again rather than missing one committed later with a smaller stamp.
#[tokio::test]
async fn stamps_shown_are_settled_and_resuming_misses_nothing() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let town = app.channel(&alice, "town", &[&bob]).await;
    let first = app.get("/api/v1/subscriptions.get", Some(&bob)).await.ok();
    let resume = greatest(&first);
    let settled = Timestamp(Timestamp::now().millis() - threadsync_service::SETTLE_MS);
    assert!(Timestamp::parse(&resume).expect("date") <= settled, "{resume} is newer than the settled point");

    // A change after the first answer, in another room: never missed.
    let club = app.channel(&alice, "club", &[&bob]).await;
    app.post("/api/v1/channels.leave", Some(&bob), json!({"roomId": town})).await.ok();
    let next = delta(&app, "subscriptions.get", &bob, &resume).await;
    let rids: Vec<&str> =
        next["update"].as_array().expect("update").iter().filter_map(|s| s["rid"].as_str()).collect();
    assert!(rids.contains(&club.as_str()), "{next}");
    assert_eq!(next["remove"].as_array().map(Vec::len), Some(1), "{next}");
}

#[tokio::test]
async fn bad_dates_are_refused() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    for route in ["rooms.get", "subscriptions.get"] {
        app.get(&format!("/api/v1/{route}?updatedSince=last-week"), Some(&alice)).await.err(
            400,
            "The \"updatedSince\" query parameter must be a valid date. [error-updatedSince-param-invalid]",
            Some("error-updatedSince-param-invalid"),
        );
        app.get(&format!("/api/v1/{route}"), None).await.err(401, "You must be logged in to do this.", None);
    }
}
