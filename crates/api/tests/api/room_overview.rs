//! `*.roles`, `*.moderators`, `*.counters` (docs/rest.md#room-roles-and-counters).

use crate::support::TestApp;
use serde_json::{json, Value};

const FORBIDDEN: &str = "User does not have the permissions required for this action [error-unauthorized]";

#[tokio::test]
async fn roles_and_moderators_list_the_role_holders() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    for family in ["channels", "groups"] {
        let rid = if family == "channels" {
            app.channel(&alice, "town", &[&bob, &carol]).await
        } else {
            app.group(&alice, "den", &[&bob, &carol]).await
        };
        app.post(
            &format!("/api/v1/{family}.addModerator"),
            Some(&alice),
            json!({"roomId": rid, "username": "carol"}),
        )
        .await
        .ok();
        let roles = app.get(&format!("/api/v1/{family}.roles?roomId={rid}"), Some(&bob)).await.ok();
        let holders: Vec<(String, Value)> = roles["roles"]
            .as_array()
            .expect("roles")
            .iter()
            .map(|h| (h["u"]["username"].as_str().expect("name").to_owned(), h["roles"].clone()))
            .collect();
        assert_eq!(
            holders,
            vec![("alice".to_owned(), json!(["owner"])), ("carol".to_owned(), json!(["moderator"]))]
        );
        assert_eq!(roles["roles"][0]["rid"], json!(rid));
        let moderators = app.get(&format!("/api/v1/{family}.moderators?roomId={rid}"), Some(&bob)).await.ok();
        let names: Vec<&str> = moderators["moderators"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|u| u["username"].as_str())
            .collect();
        assert_eq!(names, vec!["carol"]);
    }
    // A group is invisible to non-members; a channel to nobody.
    let dave = app.user("dave").await;
    app.get("/api/v1/groups.roles?roomName=den", Some(&dave)).await.err_type("error-room-not-found");
    app.get("/api/v1/channels.roles?roomName=town", Some(&dave)).await.ok();
    app.get("/api/v1/channels.moderators", Some(&dave)).await.err_type("error-roomid-param-not-provided");
}

#[tokio::test]
async fn counters_count_what_is_unread() {
    let app = TestApp::unlimited().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = app.channel(&alice, "town", &[&bob]).await;
    app.post("/api/v1/subscriptions.read", Some(&bob), json!({"rid": rid})).await.ok();
    app.say(&alice, &rid, "one").await;
    let last = app.say(&alice, &rid, "two @bob").await;

    let bobs = app.get(&format!("/api/v1/channels.counters?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(bobs["joined"], true);
    assert_eq!(bobs["unreads"], 2, "{bobs}");
    assert_eq!(bobs["members"], 2);
    assert_eq!(bobs["msgs"], 2);
    assert_eq!(bobs["latest"], last["ts"]);
    assert!(bobs["unreadsFrom"].is_string() && bobs["userMentions"].is_number(), "{bobs}");
    app.post("/api/v1/subscriptions.read", Some(&bob), json!({"rid": rid})).await.ok();
    let read = app.get("/api/v1/channels.counters?roomName=town", Some(&bob)).await.ok();
    assert_eq!(read["unreads"], 0);

    // A reader who is not a member learns nothing but that.
    let outsider = app.get(&format!("/api/v1/channels.counters?roomId={rid}"), Some(&carol)).await.ok();
    assert_eq!(
        outsider,
        json!({"success": true, "joined": false, "members": null, "unreads": null, "unreadsFrom": null,
               "msgs": null, "latest": null, "userMentions": null})
    );
    // Another user's counters: room administrators only.
    app.get(&format!("/api/v1/channels.counters?roomId={rid}&userId={}", bob.user_id), Some(&carol))
        .await
        .err(403, FORBIDDEN, Some("error-unauthorized"));
    let as_admin = app
        .get(&format!("/api/v1/channels.counters?roomId={rid}&userId={}", bob.user_id), Some(&app.admin))
        .await
        .ok();
    assert_eq!((as_admin["joined"].clone(), as_admin["unreads"].clone()), (json!(true), json!(0)));

    // Groups and DMs.
    let gid = app.group(&alice, "den", &[&bob]).await;
    app.say(&alice, &gid, "g").await;
    let group = app.get(&format!("/api/v1/groups.counters?roomId={gid}"), Some(&bob)).await.ok();
    assert_eq!(group["msgs"], 1);
    app.get(&format!("/api/v1/groups.counters?roomId={gid}"), Some(&carol))
        .await
        .err_type("error-room-not-found");
    let dm = app.direct(&alice, &bob).await;
    app.say(&alice, &dm, "hi").await;
    for family in ["im", "dm"] {
        let counters = app.get(&format!("/api/v1/{family}.counters?roomId={dm}"), Some(&bob)).await.ok();
        assert_eq!(
            (counters["joined"].clone(), counters["msgs"].clone()),
            (json!(true), json!(1)),
            "{counters}"
        );
        app.get(&format!("/api/v1/{family}.counters?roomId={dm}"), Some(&carol)).await.err(
            403,
            FORBIDDEN,
            Some("error-unauthorized"),
        );
        app.get(&format!("/api/v1/{family}.counters"), Some(&bob))
            .await
            .err_type("error-room-param-not-provided");
        app.get(&format!("/api/v1/{family}.counters?roomId={rid}"), Some(&bob))
            .await
            .err_type("error-room-not-found");
    }
}
