//! Direct messages of several users: `im.create` / `dm.create` with
//! `usernames` (and `excludeSelf`), the `DirectMesssage_maxUsers` limit, and
//! the DM flows (listing, members, posting, reading, closing, deleting) on
//! a room of more than two members.

use crate::support::{Reply, Session, TestApp};
use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};

const CREATE: &str = "/api/v1/im.create";
const POST: &str = "/api/v1/chat.postMessage";
const NOT_ALLOWED: &str = "Not allowed [error-not-allowed]";
const INVALID_USER: &str = "Invalid user [error-invalid-user]";

/// Registers `username` with the display name `name` and logs them in.
async fn named_user(app: &TestApp, username: &str, name: &str) -> Session {
    let body = json!({
        "username": username,
        "email": format!("{username}@example.com"),
        "pass": "pw-123456",
        "name": name,
    });
    app.post("/api/v1/users.register", None, body).await.ok();
    app.login(username, "pw-123456").await
}

/// Posts a form-encoded body as `who`.
async fn post_form(app: &TestApp, path: &str, who: &Session, form: &str) -> Reply {
    let req = Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-User-Id", &who.user_id)
        .header("X-Auth-Token", &who.token)
        .body(Body::from(form.to_owned()))
        .expect("request");
    app.request(req).await
}

fn id_of(room: &Value) -> String {
    room["_id"].as_str().expect("room id").to_owned()
}

/// Opens the DM `who` names with `usernames` (comma-separated); its room.
async fn open(app: &TestApp, who: &Session, usernames: &str) -> Value {
    app.post(CREATE, Some(who), json!({"usernames": usernames})).await.ok()["room"].clone()
}

/// `who`'s subscription to `rid` (`null` when they have none).
async fn subscription(app: &TestApp, rid: &str, who: &Session) -> Value {
    app.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(who)).await.ok()["subscription"]
        .clone()
}

/// The ids of the DMs `who` lists with `im.list`.
async fn listed(app: &TestApp, who: &Session) -> Vec<String> {
    let body = app.get("/api/v1/im.list", Some(who)).await.ok();
    body["ims"].as_array().expect("ims").iter().map(id_of).collect()
}

/// The `msg` of each message `im.messages` shows `who`, newest first.
async fn texts(app: &TestApp, rid: &str, who: &Session) -> Vec<String> {
    let body = app.get(&format!("/api/v1/im.messages?roomId={rid}"), Some(who)).await.ok();
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["msg"].as_str().expect("msg").to_owned())
        .collect()
}

#[tokio::test]
async fn one_room_per_set_of_members() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;

    let room = open(&app, &alice, "bob,carol").await;
    assert_eq!(room["t"], "d");
    assert_eq!(room["rid"], room["_id"]);
    assert_eq!(room["usersCount"], 3);
    assert!(room.get("name").is_none(), "{room}");
    // Members sorted by id; the id is their ids concatenated, as
    // Rocket.Chat composes a DM's id.
    let mut members =
        [(alice.user_id.clone(), "alice"), (bob.user_id.clone(), "bob"), (carol.user_id.clone(), "carol")];
    members.sort();
    let uids: Vec<&str> = members.iter().map(|(id, _)| id.as_str()).collect();
    let names: Vec<&str> = members.iter().map(|(_, name)| *name).collect();
    assert_eq!(room["uids"], json!(uids));
    assert_eq!(room["usernames"], json!(names));
    let rid = id_of(&room);
    assert_eq!(rid, uids.concat());

    // The same set, in any order, spelled any way, by any member and by
    // either route, is the same room; a name given twice counts once.
    let again =
        app.post("/api/v1/dm.create", Some(&carol), json!({"usernames": " @Bob , alice "})).await.ok();
    assert_eq!(id_of(&again["room"]), rid);
    assert_eq!(again["room"]["usersCount"], 3);
    let again = open(&app, &bob, "carol,alice,carol,bob").await;
    assert_eq!(id_of(&again), rid);

    // A single name in `usernames` is the 1:1 DM, as with `username`.
    let pair = open(&app, &alice, "bob").await;
    assert_eq!(pair["usersCount"], 2);
    assert_ne!(id_of(&pair), rid);
    let by_username = app.post(CREATE, Some(&bob), json!({"username": "alice"})).await.ok();
    assert_eq!(by_username["room"]["_id"], pair["_id"]);

    // Each member lists the group DM (and Alice and Bob their 1:1 too).
    assert!(listed(&app, &carol).await == vec![rid.clone()]);
    for who in [&alice, &bob] {
        let mut ids = listed(&app, who).await;
        ids.sort();
        let mut want = vec![rid.clone(), id_of(&pair)];
        want.sort();
        assert_eq!(ids, want);
    }
    let info = app.get(&format!("/api/v1/rooms.info?roomId={rid}"), Some(&carol)).await.ok();
    assert_eq!(info["room"]["usersCount"], 3);
}

#[tokio::test]
async fn subscriptions_are_named_after_the_other_members() {
    let app = TestApp::new().await;
    // Display names in another order than the usernames: Rocket.Chat
    // orders the others by display name.
    let ann = named_user(&app, "ann", "Zoe Ann").await;
    let ben = named_user(&app, "ben", "adam Ben").await;
    let cat = named_user(&app, "cat", "Mia Cat").await;
    let rid = id_of(&open(&app, &ann, "ben,cat").await);

    for (who, name, fname) in [
        (&ann, "ben, cat", "adam Ben, Mia Cat"),
        (&ben, "cat, ann", "Mia Cat, Zoe Ann"),
        (&cat, "ben, ann", "adam Ben, Zoe Ann"),
    ] {
        let sub = subscription(&app, &rid, who).await;
        assert_eq!(sub["t"], "d", "{sub}");
        assert_eq!(sub["name"], name, "{sub}");
        assert_eq!(sub["fname"], fname, "{sub}");
        assert_eq!(sub["open"], true, "{sub}");
        assert_eq!(sub["u"]["_id"], json!(who.user_id), "{sub}");
    }
    // `subscriptions.get` carries the same names.
    let all = app.get("/api/v1/subscriptions.get", Some(&ben)).await.ok();
    let found = all["update"].as_array().expect("update").iter().find(|s| s["rid"] == json!(rid)).cloned();
    assert_eq!(found.expect("listed")["name"], "cat, ann");
}

#[tokio::test]
async fn members_post_and_read_outsiders_cannot() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let olga = app.user("olga").await;
    let rid = id_of(&open(&app, &alice, "bob,carol").await);

    app.post(POST, Some(&alice), json!({"roomId": rid, "text": "from alice"})).await.ok();
    app.post(POST, Some(&bob), json!({"roomId": rid, "text": "from bob"})).await.ok();
    let sent = app.say(&carol, &rid, "from carol").await;
    assert_eq!(sent["rid"], json!(rid));

    for who in [&alice, &bob, &carol] {
        assert_eq!(texts(&app, &rid, who).await, ["from carol", "from bob", "from alice"]);
        let history = app.get(&format!("/api/v1/im.history?roomId={rid}"), Some(who)).await.ok();
        assert_eq!(history["messages"].as_array().expect("messages").len(), 3);
        let dm_history = app.get(&format!("/api/v1/dm.history?roomId={rid}"), Some(who)).await.ok();
        assert_eq!(dm_history["messages"], history["messages"]);
    }
    // Every message counts as unread for the other members (Unread_Count_DM).
    let sub = subscription(&app, &rid, &alice).await;
    assert_eq!(sub["unread"], 2, "{sub}");

    // An outsider can neither post nor read, by any route; admins included.
    app.post(POST, Some(&olga), json!({"roomId": rid, "text": "let me in"})).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    for who in [&olga, &app.admin] {
        // As for a 1:1 DM the caller is not in (docs/rest.md).
        app.get(&format!("/api/v1/im.messages?roomId={rid}"), Some(who)).await.err_type("invalid-channel");
        app.get(&format!("/api/v1/im.history?roomId={rid}"), Some(who)).await.err_type("invalid-channel");
        let reply = app.get(&format!("/api/v1/im.members?roomId={rid}"), Some(who)).await;
        assert_eq!(reply.status.as_u16(), 403, "{}", reply.body);
        app.get(&format!("/api/v1/rooms.info?roomId={rid}"), Some(who)).await.err(
            400,
            NOT_ALLOWED,
            Some("error-not-allowed"),
        );
    }
    assert_eq!(texts(&app, &rid, &bob).await.len(), 3, "the outsider posted nothing");
}

#[tokio::test]
async fn members_listing_pages() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    for name in ["bob", "carol", "dave"] {
        app.user(name).await;
    }
    let rid = id_of(&open(&app, &alice, "dave,carol,bob").await);
    let names = |body: &Value| -> Vec<String> {
        body["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| m["username"].as_str().expect("username").to_owned())
            .collect()
    };

    let all = app.get(&format!("/api/v1/im.members?roomId={rid}"), Some(&alice)).await.ok();
    assert_eq!(names(&all), ["alice", "bob", "carol", "dave"]);
    assert_eq!((all["count"].clone(), all["total"].clone()), (json!(4), json!(4)));
    let page = app.get(&format!("/api/v1/dm.members?roomId={rid}&count=2&offset=1"), Some(&alice)).await.ok();
    assert_eq!(names(&page), ["bob", "carol"]);
    assert_eq!(
        (page["count"].clone(), page["offset"].clone(), page["total"].clone()),
        (json!(2), json!(1), json!(4))
    );
    // `username` names the caller's 1:1 DM, never a group DM.
    app.get("/api/v1/im.members?username=bob", Some(&alice)).await.err_type("error-room-not-found");

    let counters = app.get(&format!("/api/v1/im.counters?roomId={rid}"), Some(&alice)).await.ok();
    assert_eq!(counters["joined"], true);
    assert_eq!(counters["members"], 4);
    let files = app.get(&format!("/api/v1/im.files?roomId={rid}"), Some(&alice)).await.ok();
    assert_eq!(files["total"], 0);
}

#[tokio::test]
async fn exclude_self_opens_a_dm_among_others() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;

    let body = json!({"usernames": "bob,carol", "excludeSelf": true});
    let room = app.post("/api/v1/dm.create", Some(&alice), body).await.ok()["room"].clone();
    assert_eq!(room["usersCount"], 2);
    let mut uids = [bob.user_id.clone(), carol.user_id.clone()];
    uids.sort();
    assert_eq!(room["uids"], json!(uids));
    let rid = id_of(&room);
    assert_eq!(subscription(&app, &rid, &alice).await, Value::Null);
    assert_eq!(subscription(&app, &rid, &bob).await["name"], "carol");
    assert_eq!(subscription(&app, &rid, &carol).await["name"], "bob");
    assert!(listed(&app, &alice).await.is_empty());
    // It is Bob and Carol's 1:1 DM: opening that finds it.
    assert_eq!(app.direct(&bob, &carol).await, rid);
    // The caller named among the users is left out too.
    let body = json!({"usernames": "alice,bob,carol", "excludeSelf": true});
    assert_eq!(app.post(CREATE, Some(&alice), body).await.ok()["room"]["_id"], json!(rid));
    // A form body works as well.
    let form = post_form(&app, CREATE, &alice, "usernames=carol%2Cbob&excludeSelf=true").await.ok();
    assert_eq!(form["room"]["_id"], json!(rid));

    // Fewer than two others would be someone else's DM with themselves.
    for usernames in ["bob", "alice,bob", "alice"] {
        let body = json!({"usernames": usernames, "excludeSelf": true});
        app.post(CREATE, Some(&alice), body).await.err(400, INVALID_USER, Some("error-invalid-user"));
    }
    let body = json!({"username": "bob", "excludeSelf": true});
    app.post(CREATE, Some(&alice), body).await.err(400, INVALID_USER, Some("error-invalid-user"));
    // `excludeSelf: false` is the ordinary form.
    let body = json!({"usernames": "bob", "excludeSelf": false});
    assert_eq!(app.post(CREATE, Some(&alice), body).await.ok()["room"]["usersCount"], 2);
}

#[tokio::test]
async fn the_limit_counts_every_member() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    for name in ["bob", "carol", "dave", "erin", "fred", "gina", "hugo", "ivan"] {
        app.user(name).await;
    }
    // Rocket.Chat's default: 8 members, the caller included.
    let public = app.get("/api/v1/settings.public?_id=DirectMesssage_maxUsers", None).await.ok();
    assert_eq!(public["settings"], json!([{"_id": "DirectMesssage_maxUsers", "value": 8}]));
    let room = open(&app, &alice, "bob,carol,dave,erin,fred,gina,hugo").await;
    assert_eq!(room["usersCount"], 8);
    let too_many = "You cannot add more than 8 users, including yourself to a direct message \
                    [error-direct-message-max-user-exceeded]";
    app.post(CREATE, Some(&alice), json!({"usernames": "bob,carol,dave,erin,fred,gina,hugo,ivan"}))
        .await
        .err(400, too_many, Some("error-direct-message-max-user-exceeded"));

    app.set_setting("DirectMesssage_maxUsers", json!(3)).await;
    let too_many = "You cannot add more than 3 users, including yourself to a direct message \
                    [error-direct-message-max-user-exceeded]";
    assert_eq!(open(&app, &alice, "bob,carol").await["usersCount"], 3);
    // Repeated names and the caller's own count once.
    assert_eq!(open(&app, &alice, "bob,BOB,@bob,alice,carol").await["usersCount"], 3);
    for path in ["/api/v1/im.create", "/api/v1/dm.create"] {
        app.post(path, Some(&alice), json!({"usernames": "bob,carol,dave"})).await.err(
            400,
            too_many,
            Some("error-direct-message-max-user-exceeded"),
        );
    }
    // Checked before the names are looked up, and before reopening: an
    // existing DM over the limit does not open either (Rocket.Chat's order).
    app.post(CREATE, Some(&alice), json!({"usernames": "bob,ghost,nobody"})).await.err(
        400,
        too_many,
        Some("error-direct-message-max-user-exceeded"),
    );
    app.post(CREATE, Some(&alice), json!({"usernames": "bob,carol,dave,erin,fred,gina,hugo"})).await.err(
        400,
        too_many,
        Some("error-direct-message-max-user-exceeded"),
    );
    // Without the caller, three others fit.
    let body = json!({"usernames": "bob,carol,dave", "excludeSelf": true});
    assert_eq!(app.post(CREATE, Some(&alice), body).await.ok()["room"]["usersCount"], 3);

    // At 1, only a DM with oneself remains, as in Rocket.Chat.
    app.set_setting("DirectMesssage_maxUsers", json!(1)).await;
    app.post(CREATE, Some(&alice), json!({"username": "bob"}))
        .await
        .err_type("error-direct-message-max-user-exceeded");
    assert_eq!(
        app.post(CREATE, Some(&alice), json!({"username": "alice"})).await.ok()["room"]["usersCount"],
        1
    );
    // The setting's range: at least 1.
    for bad in [json!(0), json!(-2), json!(101), json!("8")] {
        let reply = app
            .post("/api/v1/settings/DirectMesssage_maxUsers", Some(&app.admin), json!({"value": bad}))
            .await;
        reply.err_type("error-invalid-params");
    }
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    app.user("bob").await;
    app.user("carol").await;
    for path in ["/api/v1/im.create", "/api/v1/dm.create"] {
        app.post(path, Some(&alice), json!({})).await.err(
            400,
            "The required \"username\" param is missing. [error-invalid-params]",
            Some("error-invalid-params"),
        );
        for blank in ["", " , ,", "@", ","] {
            app.post(path, Some(&alice), json!({"usernames": blank})).await.err(
                400,
                "The required \"usernames\" param is missing. [error-invalid-params]",
                Some("error-invalid-params"),
            );
        }
        app.post(path, Some(&alice), json!({"username": "bob", "usernames": "bob,carol"})).await.err(
            400,
            "Give either \"username\" or \"usernames\", not both. [error-invalid-params]",
            Some("error-invalid-params"),
        );
        // A blank `username` beside `usernames` is no `username`.
        let room =
            app.post(path, Some(&alice), json!({"username": " ", "usernames": "bob,carol"})).await.ok();
        assert_eq!(room["room"]["usersCount"], 3);
        // Rocket.Chat's `usernames` is a string, not a list.
        app.post(path, Some(&alice), json!({"usernames": ["bob", "carol"]}))
            .await
            .err_type("error-invalid-params");
        app.post(path, Some(&alice), json!({"usernames": "bob,carol", "excludeSelf": "maybe"}))
            .await
            .err_type("error-invalid-params");
        // Any unknown name refuses the whole DM.
        app.post(path, Some(&alice), json!({"usernames": "bob,ghost"})).await.err(
            400,
            INVALID_USER,
            Some("error-invalid-user"),
        );
        app.post(path, None, json!({"usernames": "bob,carol"})).await.err(
            401,
            "You must be logged in to do this.",
            None,
        );
    }
    // Nothing was created by the refused requests.
    assert_eq!(listed(&app, &alice).await.len(), 1);
}

#[tokio::test]
async fn starting_one_needs_create_d() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.user("carol").await;
    app.user("dave").await;
    let rid = id_of(&open(&app, &bob, "alice,carol").await);
    app.post(
        "/api/v1/permissions.update",
        Some(&app.admin),
        json!({"permissions": [{"_id": "create-d", "roles": ["admin"]}]}),
    )
    .await
    .ok();
    app.post(CREATE, Some(&alice), json!({"usernames": "carol,dave"})).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    // An existing one still opens.
    assert_eq!(id_of(&open(&app, &alice, "carol,bob").await), rid);
    // Admins hold it.
    assert_eq!(open(&app, &app.admin, "alice,carol,dave").await["usersCount"], 4);
}

#[tokio::test]
async fn close_open_and_delete() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = id_of(&open(&app, &alice, "bob,carol").await);

    // Closing hides it for the one member only; reopening by `im.create` shows it.
    app.post("/api/v1/im.close", Some(&bob), json!({"roomId": rid})).await.ok();
    assert_eq!(subscription(&app, &rid, &bob).await["open"], false);
    assert_eq!(subscription(&app, &rid, &carol).await["open"], true);
    app.post("/api/v1/dm.open", Some(&bob), json!({"roomId": rid})).await.ok();
    assert_eq!(subscription(&app, &rid, &bob).await["open"], true);

    // A topic, by a member holding `edit-room` (admins): not Alice.
    app.post("/api/v1/im.setTopic", Some(&alice), json!({"roomId": rid, "topic": "plans"}))
        .await
        .err_type("error-action-not-allowed");

    // Deleting needs `delete-d` (admins).
    app.post("/api/v1/im.delete", Some(&alice), json!({"roomId": rid})).await.err(
        400,
        NOT_ALLOWED,
        Some("error-not-allowed"),
    );
    let admins = app.post(CREATE, Some(&app.admin), json!({"usernames": "alice,bob,carol"})).await.ok();
    let admins = id_of(&admins["room"]);
    let topic = json!({"roomId": admins, "topic": "plans"});
    assert_eq!(app.post("/api/v1/dm.setTopic", Some(&app.admin), topic).await.ok()["topic"], "plans");
    app.say(&carol, &admins, "soon gone").await;
    app.post("/api/v1/dm.delete", Some(&app.admin), json!({"roomId": admins})).await.ok();
    for who in [&alice, &bob, &carol] {
        assert_eq!(subscription(&app, &admins, who).await, Value::Null);
        assert_eq!(listed(&app, who).await, vec![rid.clone()]);
    }
    // Opening the same set again makes it afresh, empty.
    let again = app.post(CREATE, Some(&app.admin), json!({"usernames": "carol,bob,alice"})).await.ok();
    assert_eq!(id_of(&again["room"]), admins);
    assert_eq!(again["room"]["msgs"], 0);
    assert!(texts(&app, &admins, &carol).await.is_empty());
}

#[tokio::test]
async fn at_username_stays_the_one_to_one_dm() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.user("carol").await;
    let group = id_of(&open(&app, &alice, "bob,carol").await);

    let sent = app.post(POST, Some(&alice), json!({"channel": "@bob", "text": "just us"})).await.ok();
    let pair = sent["message"]["rid"].as_str().expect("rid").to_owned();
    assert_ne!(pair, group);
    let mut ids = [alice.user_id.clone(), bob.user_id.clone()];
    ids.sort();
    assert_eq!(pair, ids.concat());
    assert_eq!(texts(&app, &pair, &bob).await, ["just us"]);
    assert!(texts(&app, &group, &bob).await.is_empty());
    // `im.messages?username=` reads the 1:1 DM too.
    let by_name = app.get("/api/v1/im.messages?username=bob", Some(&alice)).await.ok();
    assert_eq!(by_name["messages"][0]["msg"], "just us");
}
