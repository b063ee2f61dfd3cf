//! Room settings of the `channels` and `groups` families
//! (docs/rest.md#room-settings).

use crate::support::{Session, TestApp};
use serde_json::{json, Value};

const NOT_EDITABLE: &str = "Editing room is not allowed [error-action-not-allowed]";

/// The newest message of a room, as its members see it.
async fn last_message(app: &TestApp, who: &Session, family: &str, rid: &str) -> Value {
    let history = app.get(&format!("/api/v1/{family}.history?roomId={rid}&count=1"), Some(who)).await.ok();
    history["messages"][0].clone()
}

#[tokio::test]
async fn texts_are_set_by_editors_and_announced() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = app.channel(&alice, "town", &[&bob]).await;
    for (route, key, kind, info_key) in [
        ("setTopic", "topic", "room_changed_topic", "topic"),
        ("setDescription", "description", "room_changed_description", "description"),
        ("setPurpose", "purpose", "room_changed_description", "description"),
        ("setAnnouncement", "announcement", "room_changed_announcement", "announcement"),
    ] {
        let text = format!("new {key}");
        let body = app
            .post(&format!("/api/v1/channels.{route}"), Some(&alice), json!({"roomId": rid, key: text}))
            .await
            .ok();
        assert_eq!(body, json!({"success": true, key: text}));
        let info = app.get(&format!("/api/v1/channels.info?roomId={rid}"), Some(&bob)).await.ok();
        assert_eq!(info["channel"][info_key], json!(text), "{route}: {info}");
        let notice = last_message(&app, &bob, "channels", &rid).await;
        assert_eq!((notice["t"].clone(), notice["msg"].clone()), (json!(kind), json!(text)), "{route}");
        assert_eq!(notice["u"]["username"], "alice");
        // A member without `edit-room` may not; a missing field is named.
        app.post(&format!("/api/v1/channels.{route}"), Some(&bob), json!({"roomId": rid, key: "x"}))
            .await
            .err(400, NOT_EDITABLE, Some("error-action-not-allowed"));
        let missing =
            app.post(&format!("/api/v1/channels.{route}"), Some(&alice), json!({"roomId": rid})).await;
        assert_eq!(missing.status.as_u16(), 400);
        assert_eq!(
            missing.body,
            json!({"success": false, "error": format!("The bodyParam \"{key}\" is required")})
        );
    }
    // Setting the same topic again changes nothing and posts nothing.
    let before = last_message(&app, &bob, "channels", &rid).await;
    app.post("/api/v1/channels.setTopic", Some(&alice), json!({"roomId": rid, "topic": "new topic"}))
        .await
        .ok();
    assert_eq!(last_message(&app, &bob, "channels", &rid).await["_id"], before["_id"]);
    // An empty text clears it.
    app.post("/api/v1/channels.setTopic", Some(&alice), json!({"roomName": "town", "topic": ""})).await.ok();
    let info = app.get(&format!("/api/v1/channels.info?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(info["channel"].get("topic"), None);
}

#[tokio::test]
async fn read_only_rename_and_type_follow_rocket_chat() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = app.channel(&alice, "town", &[&bob]).await;
    app.channel(&alice, "taken", &[]).await;

    // Read-only: members without `post-readonly` stop posting.
    let ro = app
        .post("/api/v1/channels.setReadOnly", Some(&alice), json!({"roomId": rid, "readOnly": true}))
        .await
        .ok();
    assert_eq!(ro["channel"]["ro"], true);
    assert_eq!(last_message(&app, &bob, "channels", &rid).await["t"], "room-set-read-only");
    app.post("/api/v1/chat.postMessage", Some(&bob), json!({"roomId": rid, "text": "hi"}))
        .await
        .err_type("error-not-allowed");
    let same = app
        .post("/api/v1/channels.setReadOnly", Some(&alice), json!({"roomId": rid, "readOnly": true}))
        .await;
    assert_eq!(
        same.body["error"],
        "The channel read only setting is the same as what it would be changed to."
    );
    app.post("/api/v1/channels.setReadOnly", Some(&alice), json!({"roomId": rid, "readOnly": false}))
        .await
        .ok();
    assert_eq!(last_message(&app, &bob, "channels", &rid).await["t"], "room-removed-read-only");

    // Rename: the room, its lookup by name, members' subscriptions, the delta.
    let sub = app.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(&bob)).await.ok();
    let since = sub["subscription"]["_updatedAt"].as_str().expect("stamp").to_owned();
    let renamed = app
        .post("/api/v1/channels.rename", Some(&alice), json!({"roomId": rid, "name": "square"}))
        .await
        .ok();
    assert_eq!(
        (renamed["channel"]["name"].clone(), renamed["channel"]["fname"].clone()),
        (json!("square"), json!("square"))
    );
    app.get("/api/v1/channels.info?roomName=square", Some(&bob)).await.ok();
    app.get("/api/v1/channels.info?roomName=town", Some(&bob)).await.err_type("error-room-not-found");
    let delta = app.get(&format!("/api/v1/subscriptions.get?updatedSince={since}"), Some(&bob)).await.ok();
    let mine = delta["update"].as_array().expect("update").iter().find(|s| s["rid"] == json!(rid)).cloned();
    assert_eq!(mine.expect("in the delta")["name"], "square", "{delta}");
    let notice = last_message(&app, &bob, "channels", &rid).await;
    assert_eq!((notice["t"].clone(), notice["msg"].clone()), (json!("r"), json!("square")));
    app.post("/api/v1/channels.rename", Some(&alice), json!({"roomId": rid, "name": "TAKEN"})).await.err(
        400,
        "A channel with name 'TAKEN' exists [error-duplicate-channel-name]",
        Some("error-duplicate-channel-name"),
    );
    app.post("/api/v1/channels.rename", Some(&alice), json!({"roomId": rid, "name": "no spaces"}))
        .await
        .err_type("error-invalid-room-name");
    let same =
        app.post("/api/v1/channels.rename", Some(&alice), json!({"roomId": rid, "name": "square"})).await;
    assert_eq!(same.body["error"], "The channel name is the same as what it would be renamed to.");
    app.post("/api/v1/channels.rename", Some(&bob), json!({"roomId": rid, "name": "bobs"})).await.err(
        400,
        NOT_EDITABLE,
        Some("error-action-not-allowed"),
    );

    // Type: the channel becomes a group, for the groups family and members.
    let group =
        app.post("/api/v1/channels.setType", Some(&alice), json!({"roomId": rid, "type": "p"})).await.ok();
    assert_eq!(group["channel"]["t"], "p");
    app.get(&format!("/api/v1/groups.info?roomId={rid}"), Some(&bob)).await.ok();
    app.get(&format!("/api/v1/channels.info?roomId={rid}"), Some(&bob))
        .await
        .err_type("error-room-not-found");
    let sub = app.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(sub["subscription"]["t"], "p");
    let notice = last_message(&app, &bob, "groups", &rid).await;
    assert_eq!(
        (notice["t"].clone(), notice["msg"].clone()),
        (json!("room_changed_privacy"), json!("Private"))
    );
    let same = app.post("/api/v1/groups.setType", Some(&alice), json!({"roomId": rid, "type": "p"})).await;
    assert_eq!(same.body["error"], "The private group type is the same as what it would be changed to.");
    app.post("/api/v1/groups.setType", Some(&alice), json!({"roomId": rid, "type": "d"}))
        .await
        .err_type("error-invalid-params");
    app.post("/api/v1/groups.setType", Some(&alice), json!({"roomId": rid, "type": "x"}))
        .await
        .err_type("error-invalid-params");
    // An outsider does not find the group at all.
    let carol = app.user("carol").await;
    app.post("/api/v1/groups.setTopic", Some(&carol), json!({"roomId": rid, "topic": "x"}))
        .await
        .err_type("error-room-not-found");
    let back =
        app.post("/api/v1/groups.setType", Some(&alice), json!({"roomId": rid, "type": "c"})).await.ok();
    assert_eq!(back["group"]["t"], "c");
}

#[tokio::test]
async fn archived_rooms_take_no_messages() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let gid = app.group(&alice, "den", &[&bob]).await;
    // A member without `archive-room` may not; the owner may.
    let refused = app.post("/api/v1/groups.archive", Some(&bob), json!({"roomId": gid})).await.err(
        400,
        "Not authorized [error-not-authorized]",
        Some("error-not-authorized"),
    );
    assert_eq!(refused["details"], json!({"method": "archiveRoom"}));
    assert_eq!(
        app.post("/api/v1/groups.archive", Some(&alice), json!({"roomId": gid})).await.ok(),
        json!({"success": true})
    );
    assert_eq!(last_message(&app, &bob, "groups", &gid).await["t"], "room-archived");
    let info = app.get(&format!("/api/v1/groups.info?roomId={gid}"), Some(&bob)).await.ok();
    assert_eq!(info["group"]["archived"], true);
    let sub = app.get(&format!("/api/v1/subscriptions.getOne?roomId={gid}"), Some(&bob)).await.ok();
    assert_eq!(
        (sub["subscription"]["archived"].clone(), sub["subscription"]["open"].clone()),
        (json!(true), json!(false))
    );
    for who in [&alice, &bob] {
        let sent =
            app.post("/api/v1/chat.postMessage", Some(who), json!({"roomId": gid, "text": "hi"})).await;
        assert_eq!(
            (sent.status.as_u16(), sent.body.clone()),
            (400, json!({"success": false, "error": "room_is_archived"}))
        );
    }
    let again = app.post("/api/v1/groups.archive", Some(&alice), json!({"roomId": gid})).await;
    assert_eq!(again.body["error"], "The private group, den, is already archived");
    // Unarchiving is for admins by default.
    app.post("/api/v1/groups.unarchive", Some(&alice), json!({"roomId": gid})).await.err(
        400,
        "Not authorized [error-not-authorized]",
        Some("error-not-authorized"),
    );
    app.post("/api/v1/groups.unarchive", Some(&app.admin), json!({"roomId": gid})).await.ok();
    assert_eq!(last_message(&app, &bob, "groups", &gid).await["t"], "room-unarchived");
    app.post("/api/v1/chat.postMessage", Some(&bob), json!({"roomId": gid, "text": "back"})).await.ok();
    let again = app.post("/api/v1/groups.unarchive", Some(&app.admin), json!({"roomId": gid})).await;
    assert_eq!(again.body["error"], "The private group, den, is not archived");
}

#[tokio::test]
async fn set_default_makes_new_users_join_with_rocket_chat_checks() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let rid = app.channel(&alice, "lobby", &[]).await;
    let set = |default: Value| json!({"roomId": rid, "default": default});
    app.post("/api/v1/channels.setDefault", Some(&alice), json!({"roomId": rid})).await.err(
        400,
        "The bodyParam \"default\" is required",
        Some("error-channels-setdefault-is-required"),
    );
    app.post("/api/v1/channels.setDefault", Some(&alice), set(json!(false))).await.err(
        400,
        "The channel default setting is the same as what it would be changed to.",
        Some("error-channels-setdefault-missing-default-param"),
    );
    // The owner may edit the room, but not view room administration.
    let refused = app.post("/api/v1/channels.setDefault", Some(&alice), set(json!(true))).await.err(
        400,
        "Viewing room administration is not allowed [error-action-not-allowed]",
        Some("error-action-not-allowed"),
    );
    assert_eq!(
        refused["details"],
        json!({"method": "saveRoomSettings", "action": "Viewing_room_administration"})
    );
    app.post("/api/v1/channels.setDefault", Some(&app.admin), json!({"roomId": "nope", "default": true}))
        .await
        .err_type("error-room-not-found");
    // Admins may; a string is read as Rocket.Chat reads it.
    let on = app.post("/api/v1/channels.setDefault", Some(&app.admin), set(json!("TRUE"))).await.ok();
    assert_eq!(on["channel"]["default"], true);
    assert_eq!(on["channel"]["_id"], json!(rid));
    let newcomer = app.user("newcomer").await;
    let sub = app.services.store().subscription(&rid, &newcomer.user_id).await.expect("store");
    assert!(sub.is_some(), "a new user joins the default channel");
    let off = app.post("/api/v1/channels.setDefault", Some(&app.admin), set(json!(0))).await.ok();
    assert_eq!(off["channel"]["default"], false);
    let later = app.user("later").await;
    assert!(app.services.store().subscription(&rid, &later.user_id).await.expect("store").is_none());
}

#[tokio::test]
async fn custom_fields_are_replaced_whole_by_editors_without_a_notice() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = app.channel(&alice, "guild", &[&bob]).await;
    let before = last_message(&app, &bob, "channels", &rid).await;

    let fields = json!({"team": "blue", "size": 3, "tags": ["a", "b"], "nested": {"k": null}});
    let body = app
        .post(
            "/api/v1/channels.setCustomFields",
            Some(&alice),
            json!({"roomId": rid, "customFields": fields}),
        )
        .await
        .ok();
    assert_eq!(body["success"], true);
    assert_eq!(body["channel"]["_id"], json!(rid));
    assert_eq!(body["channel"]["customFields"], fields);
    let info = app.get(&format!("/api/v1/channels.info?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(info["channel"]["customFields"], fields, "members read them back");
    // Rocket.Chat posts no system message for custom fields.
    assert_eq!(last_message(&app, &bob, "channels", &rid).await["_id"], before["_id"]);

    // A new object replaces the old one whole (by name, too).
    let body = app
        .post(
            "/api/v1/channels.setCustomFields",
            Some(&alice),
            json!({"roomName": "guild", "customFields": {"x": 1}}),
        )
        .await
        .ok();
    assert_eq!(body["channel"]["customFields"], json!({"x": 1}));

    // A member without `edit-room` may not.
    app.post(
        "/api/v1/channels.setCustomFields",
        Some(&bob),
        json!({"roomId": rid, "customFields": {"y": 2}}),
    )
    .await
    .err(400, NOT_EDITABLE, Some("error-action-not-allowed"));
    let info = app.get(&format!("/api/v1/channels.info?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(info["channel"]["customFields"], json!({"x": 1}), "a refused change changes nothing");

    // `customFields` must be an object, and is checked before the room.
    let refused = json!({"success": false, "error": "The bodyParam \"customFields\" is required with a type like object."});
    for bad in [
        json!({"roomId": rid}),
        json!({"roomId": rid, "customFields": "x"}),
        json!({"roomId": rid, "customFields": [1]}),
        json!({"roomId": rid, "customFields": null}),
        json!({"roomId": "no-such-room"}),
    ] {
        let answer = app.post("/api/v1/channels.setCustomFields", Some(&alice), bad.clone()).await;
        assert_eq!((answer.status.as_u16(), answer.body), (400, refused.clone()), "{bad}");
    }

    // The groups family answers `{group}`; a channel is not a group.
    let gid = app.group(&alice, "den", &[&bob]).await;
    let body = app
        .post(
            "/api/v1/groups.setCustomFields",
            Some(&alice),
            json!({"roomId": gid, "customFields": {"secret": true}}),
        )
        .await
        .ok();
    assert_eq!(body["group"]["customFields"], json!({"secret": true}));
    let wrong = app
        .post(
            "/api/v1/groups.setCustomFields",
            Some(&alice),
            json!({"roomId": rid, "customFields": {"x": 2}}),
        )
        .await;
    assert_eq!(wrong.status.as_u16(), 400, "{}", wrong.body);
}

#[tokio::test]
async fn a_join_code_gates_joining_and_is_never_answered() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = app.channel(&alice, "vault", &[&bob]).await;
    let set = |code: Value| json!({"roomId": rid, "joinCode": code});
    let required = "The bodyParam \"joinCode\" is required";

    // The code is checked first, then the room, then `edit-room`.
    app.post("/api/v1/channels.setJoinCode", Some(&alice), json!({"roomId": rid}))
        .await
        .err(400, required, None);
    app.post("/api/v1/channels.setJoinCode", Some(&alice), set(json!("  "))).await.err(400, required, None);
    app.post("/api/v1/channels.setJoinCode", Some(&alice), json!({"roomId": "nope", "joinCode": "x"}))
        .await
        .err_type("error-room-not-found");
    let refused = app.post("/api/v1/channels.setJoinCode", Some(&bob), set(json!("s3cret"))).await.err(
        400,
        NOT_EDITABLE,
        Some("error-action-not-allowed"),
    );
    assert_eq!(refused["details"]["method"], "saveRoomSettings");

    let before = last_message(&app, &bob, "channels", &rid).await;
    let body = app.post("/api/v1/channels.setJoinCode", Some(&alice), set(json!("s3cret"))).await.ok();
    assert_eq!(body["channel"]["_id"], json!(rid));
    assert_eq!(body["channel"]["joinCodeRequired"], true);
    assert_eq!(last_message(&app, &bob, "channels", &rid).await["_id"], before["_id"], "no system message");
    // No answer that carries the room carries the code.
    let reads = [
        app.get(&format!("/api/v1/channels.info?roomId={rid}"), Some(&carol)).await.ok(),
        app.get("/api/v1/channels.list", Some(&carol)).await.ok(),
        app.get("/api/v1/rooms.get", Some(&alice)).await.ok(),
        app.get(&format!("/api/v1/rooms.info?roomId={rid}"), Some(&alice)).await.ok(),
        body,
    ];
    for read in &reads {
        assert!(!read.to_string().contains("s3cret"), "the code leaked: {read}");
    }
    assert_eq!(reads[0]["channel"]["joinCodeRequired"], true);

    // Without the code, or with a wrong one, carol cannot join.
    let join = |code: Option<&str>| match code {
        Some(code) => json!({"roomId": rid, "joinCode": code}),
        None => json!({"roomId": rid}),
    };
    let missing = app.post("/api/v1/channels.join", Some(&carol), join(None)).await.err(
        400,
        "Code required [error-code-required]",
        Some("error-code-required"),
    );
    assert_eq!(missing["details"], json!({"method": "joinRoom"}));
    app.post("/api/v1/channels.join", Some(&carol), join(Some("S3CRET"))).await.err(
        400,
        "Invalid code [error-code-invalid]",
        Some("error-code-invalid"),
    );
    app.post("/api/v1/channels.join", Some(&carol), join(Some("s3cre"))).await.err_type("error-code-invalid");
    let store = app.services.store();
    assert!(store.subscription(&rid, &carol.user_id).await.expect("store").is_none());
    // With it, she joins.
    let joined = app.post("/api/v1/channels.join", Some(&carol), join(Some("s3cret"))).await.ok();
    assert_eq!(joined["channel"]["_id"], json!(rid));
    assert!(store.subscription(&rid, &carol.user_id).await.expect("store").is_some());
    // An admin holds `join-without-join-code`.
    app.post("/api/v1/channels.join", Some(&app.admin), join(None)).await.ok();
    assert!(store.subscription(&rid, &app.admin.user_id).await.expect("store").is_some());

    // A new code replaces the old one.
    app.post("/api/v1/channels.setJoinCode", Some(&alice), set(json!("other"))).await.ok();
    let dave = app.user("dave").await;
    app.post("/api/v1/channels.join", Some(&dave), join(Some("s3cret"))).await.err_type("error-code-invalid");
    app.post("/api/v1/channels.join", Some(&dave), join(Some("other"))).await.ok();
}
