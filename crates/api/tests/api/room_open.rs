//! `channels.` / `groups.` / `im.` / `dm.` `close` and `open`.

use crate::support::{Session, TestApp};
use serde_json::{json, Value};

/// The caller's subscription's `open` flag.
async fn sub_open(app: &TestApp, rid: String, who: &Session) -> Value {
    let path = format!("/api/v1/subscriptions.getOne?roomId={rid}");
    app.get(&path, Some(who)).await.ok()["subscription"]["open"].clone()
}

#[tokio::test]
async fn closing_hides_the_room_and_opening_shows_it() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let town = app.channel(&alice, "town", &[&bob]).await;
    assert_eq!(sub_open(&app, town.clone(), &bob).await, json!(true));
    let stamp = app.get(&format!("/api/v1/subscriptions.getOne?roomId={town}"), Some(&bob)).await.ok()
        ["subscription"]["_updatedAt"]
        .as_str()
        .expect("stamp")
        .to_owned();

    app.post("/api/v1/channels.close", Some(&bob), json!({"roomName": "town"})).await.ok();
    assert_eq!(sub_open(&app, town.clone(), &bob).await, json!(false));
    // Only Bob's list changed; the subscription delta reports it.
    assert_eq!(sub_open(&app, town.clone(), &alice).await, json!(true));
    let delta = app
        .get(&format!("/api/v1/subscriptions.get?updatedSince={}", crate::support::enc(&stamp)), Some(&bob))
        .await
        .ok();
    assert!(
        delta["update"]
            .as_array()
            .expect("update")
            .iter()
            .any(|s| s["rid"] == json!(town) && s["open"] == json!(false)),
        "{delta}"
    );
    app.post("/api/v1/channels.close", Some(&bob), json!({"roomId": town})).await.err(
        400,
        "The channel, town, is already closed to the sender",
        None,
    );
    app.post("/api/v1/channels.open", Some(&bob), json!({"roomId": town})).await.ok();
    assert_eq!(sub_open(&app, town.clone(), &bob).await, json!(true));
    app.post("/api/v1/channels.open", Some(&bob), json!({"roomId": town})).await.err(
        400,
        "The channel, town, is already open to the sender",
        None,
    );

    // A channel the caller is not in.
    let carol = app.user("carol").await;
    app.post("/api/v1/channels.close", Some(&carol), json!({"roomId": town})).await.err(
        400,
        "The user/callee is not in the channel \"town.",
        None,
    );
    app.post("/api/v1/channels.open", Some(&carol), json!({"roomId": town})).await.err(
        400,
        "The user/callee is not in the channel \"town\".",
        None,
    );

    // Groups: members only; others do not learn it exists.
    let den = app.group(&alice, "den", &[&bob]).await;
    app.post("/api/v1/groups.close", Some(&bob), json!({"roomId": den})).await.ok();
    app.post("/api/v1/groups.close", Some(&bob), json!({"roomId": den})).await.err(
        400,
        "The private group, den, is already closed to the sender",
        None,
    );
    app.post("/api/v1/groups.open", Some(&bob), json!({"roomName": "den"})).await.ok();
    app.post("/api/v1/groups.close", Some(&carol), json!({"roomId": den}))
        .await
        .err_type("error-room-not-found");
    // A channel is not a group.
    app.post("/api/v1/groups.close", Some(&bob), json!({"roomId": town}))
        .await
        .err_type("error-room-not-found");

    // Direct messages: im.open always succeeds.
    let dm = app.direct(&alice, &bob).await;
    app.post("/api/v1/im.open", Some(&bob), json!({"roomId": dm})).await.ok();
    app.post("/api/v1/im.close", Some(&bob), json!({"roomId": dm})).await.ok();
    assert_eq!(sub_open(&app, dm.clone(), &bob).await, json!(false));
    app.post("/api/v1/dm.close", Some(&bob), json!({"roomId": dm})).await.err(
        400,
        &format!("The direct message room, {dm}, is already closed to the sender"),
        None,
    );
    app.post("/api/v1/dm.open", Some(&bob), json!({"roomId": dm})).await.ok();
    assert_eq!(sub_open(&app, dm.clone(), &bob).await, json!(true));
    app.post("/api/v1/im.close", Some(&carol), json!({"roomId": dm})).await.err_type("error-room-not-found");

    // Shapes.
    app.post("/api/v1/channels.close", Some(&bob), json!({}))
        .await
        .err_type("error-roomid-param-not-provided");
    app.post("/api/v1/channels.open", None, json!({"roomId": town})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}
