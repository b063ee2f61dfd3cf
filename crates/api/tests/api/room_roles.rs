//! channels/groups .addOwner, .removeOwner, .addModerator, .removeModerator,
//! .addLeader, .removeLeader (docs/rest.md#room-roles).

use crate::support::{Session, TestApp};
use serde_json::{json, Value};

async fn call(app: &TestApp, route: &str, who: &Session, rid: &str, user: &Session) -> crate::support::Reply {
    app.post(&format!("/api/v1/{route}"), Some(who), json!({"roomId": rid, "userId": user.user_id})).await
}

async fn roles(app: &TestApp, rid: &str, who: &Session) -> Value {
    app.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(who)).await.ok()["subscription"]
        ["roles"]
        .clone()
}

#[tokio::test]
async fn owners_moderators_and_leaders_in_both_families() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    for (family, rid) in [
        ("channels", app.channel(&alice, "town", &[&bob]).await),
        ("groups", app.group(&alice, "den", &[&bob]).await),
    ] {
        for (role, add, remove) in [
            ("owner", "addOwner", "removeOwner"),
            ("moderator", "addModerator", "removeModerator"),
            ("leader", "addLeader", "removeLeader"),
        ] {
            call(&app, &format!("{family}.{add}"), &alice, &rid, &bob).await.ok();
            assert!(
                roles(&app, &rid, &bob).await.as_array().expect("roles").contains(&json!(role)),
                "{family} {role}"
            );
            let article = if role == "owner" { "an" } else { "a" };
            call(&app, &format!("{family}.{add}"), &alice, &rid, &bob).await.err(
                400,
                &format!("User is already {article} {role} [error-user-already-{role}]"),
                Some(&format!("error-user-already-{role}")),
            );
            call(&app, &format!("{family}.{remove}"), &alice, &rid, &bob).await.ok();
            assert!(!roles(&app, &rid, &bob).await.as_array().expect("roles").contains(&json!(role)));
            call(&app, &format!("{family}.{remove}"), &alice, &rid, &bob).await.err(
                400,
                &format!("User is not {article} {role} [error-user-not-{role}]"),
                Some(&format!("error-user-not-{role}")),
            );
        }
        // The room tells its members, as Rocket.Chat's system messages do.
        let history =
            app.get(&format!("/api/v1/{family}.history?roomId={rid}&count=100"), Some(&alice)).await.ok();
        let kinds: Vec<&str> = history["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter_map(|m| m["t"].as_str())
            .collect();
        assert_eq!(kinds.iter().filter(|t| **t == "subscription-role-added").count(), 3, "{kinds:?}");
        assert_eq!(kinds.iter().filter(|t| **t == "subscription-role-removed").count(), 3, "{kinds:?}");
    }
}

/// A room role is a room permission: a new owner may do what owners may.
#[tokio::test]
async fn an_owner_made_owner_holds_the_owners_permissions() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = app.channel(&alice, "town", &[&bob, &carol]).await;
    // bob, a plain member, may not kick; once owner, he may.
    app.post("/api/v1/channels.kick", Some(&bob), json!({"roomId": rid, "username": "carol"}))
        .await
        .err_type("error-not-allowed");
    call(&app, "channels.addOwner", &bob, &rid, &bob).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    call(&app, "channels.addOwner", &alice, &rid, &bob).await.ok();
    app.post("/api/v1/channels.kick", Some(&bob), json!({"roomId": rid, "username": "carol"})).await.ok();
    // A moderator may kick but not make owners (`set-owner` is the owners').
    call(&app, "channels.addModerator", &bob, &rid, &alice).await.ok();
    call(&app, "channels.removeOwner", &bob, &rid, &alice).await.ok();
    let dave = app.user("dave").await;
    app.post("/api/v1/channels.invite", Some(&bob), json!({"roomId": rid, "username": "dave"})).await.ok();
    call(&app, "channels.addOwner", &alice, &rid, &dave).await.err_type("error-not-allowed");
}

#[tokio::test]
async fn refusals_in_order_and_the_last_owner() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("olga").await;
    let rid = app.channel(&alice, "town", &[&bob]).await;
    app.post("/api/v1/channels.addOwner", Some(&alice), json!({"userId": bob.user_id})).await.err(
        400,
        "The parameter \"roomId\" or \"roomName\" is required [error-roomid-param-not-provided]",
        Some("error-roomid-param-not-provided"),
    );
    app.post("/api/v1/channels.addOwner", Some(&alice), json!({"roomId": rid})).await.err(
        400,
        "The required \"userId\" or \"username\" param was not provided [error-user-param-not-provided]",
        Some("error-user-param-not-provided"),
    );
    call(&app, "channels.addOwner", &alice, &rid, &outsider).await.err(
        400,
        "User is not in this room [error-user-not-in-room]",
        Some("error-user-not-in-room"),
    );
    call(&app, "channels.removeOwner", &alice, &rid, &alice).await.err(
        400,
        "This is the last owner. Please set a new owner before removing this one. [error-remove-last-owner]",
        Some("error-remove-last-owner"),
    );
    // A private group the caller is not in is not found, as for every
    // other groups.* write.
    let gid = app.group(&alice, "den", &[&bob]).await;
    call(&app, "groups.addOwner", &outsider, &gid, &bob).await.err_type("error-room-not-found");
    app.post("/api/v1/channels.addOwner", None, json!({"roomId": rid, "userId": bob.user_id})).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
}
