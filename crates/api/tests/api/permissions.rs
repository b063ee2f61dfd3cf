//! permissions.update and the permission table that every access decision
//! asks (docs/rest.md#roles-and-permissions).

use crate::support::{usernames, Session, TestApp};
use serde_json::{json, Value};
use std::time::Duration;
use threadsync_domain::permissions::PermissionChange;
use threadsync_domain::Timestamp;

const FORBIDDEN: &str = "User does not have the permissions required for this action [error-unauthorized]";

async fn set_roles(app: &TestApp, permission: &str, roles: &[&str]) -> Value {
    app.post(
        "/api/v1/permissions.update",
        Some(&app.admin),
        json!({"permissions": [{"_id": permission, "roles": roles}]}),
    )
    .await
    .ok()
}

fn roles_of(list: &Value, permission: &str) -> Value {
    list.as_array()
        .expect("a list")
        .iter()
        .find(|p| p["_id"] == permission)
        .map(|p| p["roles"].clone())
        .expect("listed")
}

#[tokio::test]
async fn update_answers_every_permission_and_list_all_reports_the_change() {
    let app = TestApp::new().await;
    let bob = app.user("bob").await;
    let before = app.get("/api/v1/permissions.listAll", Some(&bob)).await.ok();
    let since = before["update"]
        .as_array()
        .expect("update")
        .iter()
        .map(|p| p["_updatedAt"].as_str().expect("date").to_owned())
        .max()
        .expect("some permissions");
    let answer = set_roles(&app, "post-readonly", &["admin", "user", "user"]).await;
    let all = answer["permissions"].as_array().expect("permissions").len();
    assert_eq!(all, before["update"].as_array().expect("update").len(), "every permission is answered");
    // A role named twice holds the permission once.
    assert_eq!(roles_of(&answer["permissions"], "post-readonly"), json!(["admin", "user"]));

    // A client that synced before the change gets exactly the change.
    let delta = app.get(&format!("/api/v1/permissions.listAll?updatedSince={since}"), Some(&bob)).await.ok();
    let ids: Vec<&str> =
        delta["update"].as_array().expect("update").iter().filter_map(|p| p["_id"].as_str()).collect();
    assert_eq!(ids, vec!["post-readonly"]);
    assert_eq!(roles_of(&delta["update"], "post-readonly"), json!(["admin", "user"]));
}

#[tokio::test]
async fn update_needs_access_permissions() {
    let app = TestApp::new().await;
    let bob = app.user("bob").await;
    let body = json!({"permissions": [{"_id": "post-readonly", "roles": ["user"]}]});
    app.post("/api/v1/permissions.update", Some(&bob), body.clone()).await.err(
        403,
        FORBIDDEN,
        Some("error-unauthorized"),
    );
    app.post("/api/v1/permissions.update", None, body.clone()).await.err(
        401,
        "You must be logged in to do this.",
        None,
    );
    // Granting `access-permissions` to users lets bob change the table.
    set_roles(&app, "access-permissions", &["admin", "user"]).await;
    app.post("/api/v1/permissions.update", Some(&bob), body).await.ok();
}

#[tokio::test]
async fn update_refusals_in_order_and_all_or_nothing() {
    let app = TestApp::new().await;
    let admin = &app.admin;
    for body in [
        json!({}),
        json!({"permissions": "post-readonly"}),
        json!({"permissions": [{"_id": "post-readonly"}]}),
        json!({"permissions": [{"roles": ["user"]}]}),
        json!({"permissions": [{"_id": "post-readonly", "roles": [1]}]}),
    ] {
        app.post("/api/v1/permissions.update", Some(admin), body).await.err(
            400,
            "Invalid body params [error-invalid-body-params]",
            Some("error-invalid-body-params"),
        );
    }
    // An unknown permission is reported before an unknown role, and a
    // batch with one bad entry changes nothing.
    app.post(
        "/api/v1/permissions.update",
        Some(admin),
        json!({"permissions": [
            {"_id": "post-readonly", "roles": ["user"]},
            {"_id": "no-such-permission", "roles": ["no-such-role"]},
        ]}),
    )
    .await
    .err(400, "Invalid permission [error-invalid-permission]", Some("error-invalid-permission"));
    app.post(
        "/api/v1/permissions.update",
        Some(admin),
        json!({"permissions": [
            {"_id": "post-readonly", "roles": ["user"]},
            {"_id": "delete-message", "roles": ["no-such-role"]},
        ]}),
    )
    .await
    .err(400, "Invalid role [error-invalid-role]", Some("error-invalid-role"));
    let list = app.get("/api/v1/permissions.listAll", Some(admin)).await.ok();
    assert_eq!(roles_of(&list["update"], "post-readonly"), json!(["admin", "owner", "moderator"]));
    assert!(app.services.store().load_permissions().await.expect("load").is_empty());
}

/// Posting into a read-only room follows `post-readonly`, at once.
#[tokio::test]
async fn post_readonly_is_what_the_table_says() {
    let app = TestApp::new().await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let room = app
        .post(
            "/api/v1/channels.create",
            Some(&bob),
            json!({"name": "news", "members": ["carol"], "readOnly": true}),
        )
        .await
        .ok();
    let rid = room["channel"]["_id"].as_str().expect("rid").to_owned();
    let post = |who: &Session| {
        let (who, rid) = (who.clone(), rid.clone());
        let app = &app;
        async move {
            app.post("/api/v1/chat.sendMessage", Some(&who), json!({"message": {"rid": rid, "msg": "hi"}}))
                .await
        }
    };
    // The owner may, the member may not (the defaults).
    post(&bob).await.ok();
    post(&carol).await.err_type("error-not-allowed");
    // Granted to every user: carol may.
    set_roles(&app, "post-readonly", &["admin", "owner", "moderator", "user"]).await;
    post(&carol).await.ok();
    // Revoked from owners too: bob (owner, not admin) may no longer.
    set_roles(&app, "post-readonly", &["admin"]).await;
    post(&bob).await.err_type("error-not-allowed");
    post(&carol).await.err_type("error-not-allowed");
    post(&app.admin).await.ok();
}

/// Deleting another's message follows `delete-message`.
#[tokio::test]
async fn delete_message_is_what_the_table_says() {
    let app = TestApp::new().await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = app.channel(&bob, "town", &[&carol]).await;
    let first = app.say(&bob, &rid, "one").await["_id"].as_str().expect("id").to_owned();
    let second = app.say(&bob, &rid, "two").await["_id"].as_str().expect("id").to_owned();
    let delete =
        |id: &str| app.post("/api/v1/chat.delete", Some(&carol), json!({"roomId": rid, "msgId": id}));
    delete(&first).await.err_type("error-action-not-allowed");
    set_roles(&app, "delete-message", &["admin", "owner", "moderator", "user"]).await;
    delete(&first).await.ok();
    set_roles(&app, "delete-message", &["admin", "owner", "moderator"]).await;
    delete(&second).await.err_type("error-action-not-allowed");
}

/// Room creation follows `create-c` / `create-p`; users.create `create-user`.
#[tokio::test]
async fn creating_rooms_and_users_is_what_the_table_says() {
    let app = TestApp::new().await;
    let bob = app.user("bob").await;
    set_roles(&app, "create-c", &["admin"]).await;
    app.post("/api/v1/channels.create", Some(&bob), json!({"name": "mine"})).await.err(
        403,
        FORBIDDEN,
        Some("error-unauthorized"),
    );
    app.post("/api/v1/groups.create", Some(&bob), json!({"name": "secret"})).await.ok();
    let new_user =
        json!({"email": "x@example.com", "name": "X", "password": "pw-123456", "username": "xavier"});
    app.post("/api/v1/users.create", Some(&bob), new_user.clone()).await.err(
        403,
        FORBIDDEN,
        Some("error-unauthorized"),
    );
    set_roles(&app, "create-user", &["admin", "user"]).await;
    app.post("/api/v1/users.create", Some(&bob), new_user).await.ok();
}

/// A change stored by another instance (here: written to the store
/// directly, which announces it as any instance's write would) reaches this
/// instance's table through the store's configuration event.
#[tokio::test]
async fn a_change_made_elsewhere_is_picked_up() {
    let app = TestApp::new().await;
    let change = PermissionChange {
        id: "create-c".to_owned(),
        roles: vec!["admin".to_owned()],
        updated_at: Timestamp::now(),
    };
    app.services.store().save_permissions(&[change]).await.expect("save");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.services.permissions().holds("create-c", ["user"].into_iter()) {
        assert!(tokio::time::Instant::now() < deadline, "the change was not picked up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let bob = app.user("bob").await;
    app.post("/api/v1/channels.create", Some(&bob), json!({"name": "mine"})).await.err(
        403,
        FORBIDDEN,
        Some("error-unauthorized"),
    );
}

#[tokio::test]
async fn users_in_role_global_and_room_roles_with_rocket_chat_checks() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = app.channel(&alice, "town", &[&bob, &carol]).await;
    let gid = app.group(&bob, "club", &[&carol]).await;
    app.post("/api/v1/channels.addModerator", Some(&alice), json!({"roomId": rid, "userId": carol.user_id}))
        .await
        .ok();
    let get = |query: &str| format!("/api/v1/roles.getUsersInRole?{query}");
    // Global roles.
    let admins = app.get(&get("role=admin"), Some(&app.admin)).await.ok();
    assert_eq!((usernames(&admins), admins["total"].clone()), (vec!["admin".to_owned()], json!(1)));
    assert_eq!(admins["users"][0]["emails"].as_array().map(Vec::len), Some(1));
    let users = app.get(&get("role=user&count=2&offset=1"), Some(&app.admin)).await.ok();
    assert_eq!(
        (usernames(&users), users["total"].clone()),
        (vec!["alice".to_owned(), "bob".to_owned()], json!(4))
    );
    // Room roles: in one room, or in any.
    let owners = app.get(&get(&format!("role=owner&roomId={rid}")), Some(&app.admin)).await.ok();
    assert_eq!(usernames(&owners), ["alice"]);
    let owners = app.get(&get("role=owner"), Some(&app.admin)).await.ok();
    assert_eq!(usernames(&owners), ["alice", "bob"]);
    let moderators = app.get(&get(&format!("role=moderator&roomId={gid}")), Some(&app.admin)).await.ok();
    assert_eq!(moderators["total"], 0);
    let moderators = app.get(&get(&format!("role=moderator&roomId={rid}")), Some(&app.admin)).await.ok();
    assert_eq!(usernames(&moderators), ["carol"]);
    // Refusals, in Rocket.Chat's order.
    app.get(&get(""), Some(&alice)).await.err(
        400,
        "Query param \"role\" is required [error-param-not-provided]",
        Some("error-param-not-provided"),
    );
    app.get(&get("role=admin"), Some(&alice)).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    app.get(&get("role=nope"), Some(&app.admin)).await.err(
        400,
        "[error-invalid-roleId]",
        Some("error-invalid-roleId"),
    );
    app.get(&get("role=admin&count=-1"), Some(&app.admin)).await.err_type("error-invalid-params");
    app.get(&get("role=admin"), None).await.err(401, "You must be logged in to do this.", None);
    // The table decides: access-permissions given to users, but a room needs
    // view-other-user-channels as well.
    set_roles(&app, "access-permissions", &["admin", "user"]).await;
    app.get(&get("role=admin"), Some(&alice)).await.ok();
    app.get(&get(&format!("role=owner&roomId={rid}")), Some(&alice)).await.err(
        400,
        "Not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
}

/// `roles.addUserToRole` / `roles.removeUserFromRole`: global roles in the
/// user, room roles in the member's subscription, with Rocket.Chat's
/// refusals; what is granted is what the server then enforces.
#[tokio::test]
async fn roles_granted_and_taken_everywhere_and_in_a_room() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = app.channel(&alice, "town", &[&bob]).await;
    let add = "/api/v1/roles.addUserToRole";
    let remove = "/api/v1/roles.removeUserFromRole";
    let roles_of = |name: &'static str| {
        let app = &app;
        async move {
            let info = app.get(&format!("/api/v1/users.info?username={name}"), Some(&app.admin)).await.ok();
            info["user"]["roles"].clone()
        }
    };

    // A global role: granted, then enforced (a bot is not rate limited,
    // and `bot` holds no permission bob lacked; the admin role does).
    let granted = app.post(add, Some(&app.admin), json!({"roleName": "admin", "username": "bob"})).await.ok();
    assert_eq!(
        (granted["role"]["_id"].clone(), granted["role"]["scope"].clone()),
        (json!("admin"), json!("Users"))
    );
    assert_eq!(roles_of("bob").await, json!(["user", "admin"]));
    app.get("/api/v1/roles.getUsersInRole?role=admin", Some(&bob)).await.ok();
    app.post(add, Some(&app.admin), json!({"roleId": "admin", "userId": bob.user_id})).await.err(
        400,
        "User already in role [error-user-already-in-role]",
        Some("error-user-already-in-role"),
    );
    app.post(remove, Some(&bob), json!({"roleName": "admin", "username": "bob"})).await.ok();
    assert_eq!(roles_of("bob").await, json!(["user"]));
    app.get("/api/v1/roles.getUsersInRole?role=admin", Some(&bob)).await.err_type("error-not-allowed");

    // A room role needs the room, and a member of it.
    app.post(add, Some(&app.admin), json!({"roleName": "moderator", "username": "bob"})).await.err(
        400,
        "Invalid arguments [error-invalid-arguments]",
        Some("error-invalid-arguments"),
    );
    let lone = app.user("lone").await;
    app.post(add, Some(&app.admin), json!({"roleName": "moderator", "username": "lone", "roomId": rid}))
        .await
        .err(400, "User is not part of given room [error-invalid-user]", Some("error-invalid-user"));
    app.post(add, Some(&app.admin), json!({"roleName": "moderator", "username": "bob", "roomId": rid}))
        .await
        .ok();
    let moderators = app.get(&format!("/api/v1/channels.moderators?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(moderators["moderators"][0]["username"], "bob", "{moderators}");
    app.post(remove, Some(&app.admin), json!({"roleName": "moderator", "username": "bob", "scope": rid}))
        .await
        .ok();
    let moderators = app.get(&format!("/api/v1/channels.moderators?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(moderators["moderators"], json!([]));
    app.post(remove, Some(&app.admin), json!({"roleName": "owner", "username": "alice", "scope": rid}))
        .await
        .err_type("error-remove-last-owner");

    // Refusals, in order.
    app.post(add, Some(&alice), json!({"username": "bob"})).await.err(
        400,
        "The role properties are invalid. [error-invalid-role-properties]",
        Some("error-invalid-role-properties"),
    );
    app.post(add, Some(&alice), json!({"roleName": "bot", "username": "bob"})).await.err(
        400,
        "Accessing permissions is not allowed [error-action-not-allowed]",
        Some("error-action-not-allowed"),
    );
    app.post(remove, Some(&alice), json!({"roleName": "bot", "username": "bob"})).await.err(
        400,
        "Accessing permissions is not allowed [error-not-allowed]",
        Some("error-not-allowed"),
    );
    app.post(add, Some(&app.admin), json!({"roleName": "wizard", "username": "bob"})).await.err(
        400,
        "Role not found [error-role-not-found]",
        Some("error-role-not-found"),
    );
    app.post(remove, Some(&app.admin), json!({"roleName": "wizard", "username": "bob"})).await.err(
        400,
        "This role does not exist [error-invalid-roleId]",
        Some("error-invalid-roleId"),
    );
    app.post(add, Some(&app.admin), json!({"roleName": "bot", "username": "nobody"}))
        .await
        .err_type("error-invalid-user");
    app.post(remove, Some(&app.admin), json!({"roleName": "bot", "username": "bob"})).await.err(
        400,
        "User is not in this role [error-user-not-in-role]",
        Some("error-user-not-in-role"),
    );
    app.post(remove, Some(&app.admin), json!({"roleName": "admin", "username": "admin"})).await.err(
        400,
        "You need to have at least one admin [error-admin-required]",
        Some("error-admin-required"),
    );
    // Granting admin needs assign-admin-role besides access-permissions.
    set_roles(&app, "access-permissions", &["admin", "user"]).await;
    app.post(add, Some(&alice), json!({"roleName": "admin", "username": "alice"})).await.err(
        400,
        "Assigning admin is not allowed [error-action-not-allowed]",
        Some("error-action-not-allowed"),
    );
    app.post(add, Some(&alice), json!({"roleName": "bot", "username": "lone"})).await.ok();
    assert_eq!(roles_of("lone").await, json!(["user", "bot"]));
    let _ = lone;
}

/// An admin's own role: created, given a permission, granted, enforced,
/// renamed, refused deletion while held, taken back and deleted.
#[tokio::test]
async fn custom_roles_are_created_granted_enforced_and_deleted() {
    let app = TestApp::new().await;
    let bob = app.user("bob").await;
    let create = |who, body| app.post("/api/v1/roles.create", Some(who), body);
    create(&bob, json!({"name": "auditor"})).await.err(
        400,
        "Accessing permissions is not allowed [error-action-not-allowed]",
        Some("error-action-not-allowed"),
    );
    create(&app.admin, json!({})).await.err_type("error-invalid-role-properties");
    create(&app.admin, json!({"name": "admin"})).await.err(
        400,
        "Role name already exists [error-duplicate-role-names-not-allowed]",
        Some("error-duplicate-role-names-not-allowed"),
    );
    create(&app.admin, json!({"name": "x", "scope": "Rooms"})).await.err(
        400,
        "Invalid scope [error-invalid-scope]",
        Some("error-invalid-scope"),
    );
    let made = create(&app.admin, json!({"name": "auditor", "description": "Adds users"})).await.ok();
    let role = made["role"].clone();
    let id = role["_id"].as_str().expect("id").to_owned();
    assert_ne!(id, "auditor", "an admin's role has a random id");
    assert_eq!(
        (role["name"].clone(), role["scope"].clone(), role["protected"].clone(), role["description"].clone()),
        (json!("auditor"), json!("Users"), json!(false), json!("Adds users"))
    );
    create(&app.admin, json!({"name": "auditor"})).await.err_type("error-duplicate-role-names-not-allowed");
    let listed = app.get("/api/v1/roles.list", Some(&bob)).await.ok();
    assert!(listed["roles"].as_array().expect("roles").iter().any(|r| r["_id"] == json!(id)));

    // A permission given to the role by name is stored by id, and enforced
    // once bob holds the role.
    let table = set_roles(&app, "create-user", &["admin", "auditor"]).await;
    assert_eq!(roles_of(&table["permissions"], "create-user"), json!(["admin", id]));
    let newcomer = |n: &str| json!({"email": format!("{n}@example.com"), "name": n, "password": "pw-123456", "username": n});
    app.post("/api/v1/users.create", Some(&bob), newcomer("xavier")).await.err(
        403,
        FORBIDDEN,
        Some("error-unauthorized"),
    );
    app.post(
        "/api/v1/roles.addUserToRole",
        Some(&app.admin),
        json!({"roleName": "auditor", "username": "bob"}),
    )
    .await
    .ok();
    app.post("/api/v1/users.create", Some(&bob), newcomer("xavier")).await.ok();
    let holders = app.get("/api/v1/roles.getUsersInRole?role=auditor", Some(&app.admin)).await.ok();
    assert_eq!(usernames(&holders), vec!["bob"]);

    // Renamed (the id stays); built-in roles cannot be changed.
    let update = |body: Value| app.post("/api/v1/roles.update", Some(&app.admin), body);
    let renamed = update(json!({"roleId": id, "name": "reviewer", "mandatory2fa": true})).await.ok();
    assert_eq!(renamed["role"]["name"], "reviewer");
    assert_eq!(renamed["role"]["description"], "Adds users", "fields not given keep their values");
    assert_eq!(renamed["role"]["mandatory2fa"], true);
    update(json!({"roleId": "admin", "description": "x"})).await.err(
        400,
        "Role is protected [error-role-protected]",
        Some("error-role-protected"),
    );
    update(json!({"roleId": "nope", "name": "y"})).await.err_type("error-invalid-roleId");
    update(json!({"roleId": id, "name": "user"})).await.err_type("error-duplicate-role-names-not-allowed");
    app.post("/api/v1/roles.update", Some(&bob), json!({"roleId": id, "name": "mine"}))
        .await
        .err_type("error-action-not-allowed");

    // Deleting: 403 without `access-permissions`; refused while held.
    let delete = |who, role: &str| app.post("/api/v1/roles.delete", Some(who), json!({"roleId": role}));
    delete(&bob, &id).await.err(403, FORBIDDEN, Some("error-unauthorized"));
    delete(&app.admin, &id).await.err(
        400,
        "Cannot delete role because it's in use [error-role-in-use]",
        Some("error-role-in-use"),
    );
    delete(&app.admin, "admin").await.err(
        400,
        "Cannot delete a protected role [error-role-protected]",
        Some("error-role-protected"),
    );
    app.post(
        "/api/v1/roles.removeUserFromRole",
        Some(&app.admin),
        json!({"roleName": "reviewer", "username": "bob"}),
    )
    .await
    .ok();
    app.post("/api/v1/users.create", Some(&bob), newcomer("yvonne")).await.err(
        403,
        FORBIDDEN,
        Some("error-unauthorized"),
    );
    delete(&app.admin, "reviewer").await.ok();
    let table = app.get("/api/v1/permissions.listAll", Some(&app.admin)).await.ok();
    assert_eq!(
        roles_of(&table["update"], "create-user"),
        json!(["admin"]),
        "its permissions no longer name it"
    );
    delete(&app.admin, &id).await.err(
        400,
        "This role does not exist [error-invalid-roleId]",
        Some("error-invalid-roleId"),
    );
    let listed = app.get("/api/v1/roles.list", Some(&bob)).await.ok();
    assert!(!listed["roles"].as_array().expect("roles").iter().any(|r| r["_id"] == json!(id)));
}

/// A room-scoped role of an admin's: granted in one room, it carries its
/// permissions there and nowhere else.
#[tokio::test]
async fn a_custom_room_role_holds_its_permissions_in_its_room_only() {
    let app = TestApp::new().await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let town = app.channel(&bob, "town", &[&carol]).await;
    let city = app.channel(&bob, "city", &[&carol]).await;
    let made = app.post(
        "/api/v1/roles.create",
        Some(&app.admin),
        json!({"name": "janitor", "scope": "Subscriptions"}),
    );
    let id = made.await.ok()["role"]["_id"].as_str().expect("id").to_owned();
    set_roles(&app, "delete-message", &["admin", "owner", "moderator", &id]).await;
    let grant = json!({"roleId": id, "username": "carol", "roomId": town});
    app.post("/api/v1/roles.addUserToRole", Some(&app.admin), grant).await.ok();
    let in_town = app.say(&bob, &town, "one").await["_id"].as_str().expect("id").to_owned();
    let in_city = app.say(&bob, &city, "two").await["_id"].as_str().expect("id").to_owned();
    let delete = |rid: &str, id: &str| {
        app.post("/api/v1/chat.delete", Some(&carol), json!({"roomId": rid, "msgId": id}))
    };
    delete(&city, &in_city).await.err_type("error-action-not-allowed");
    delete(&town, &in_town).await.ok();
    // Held in a room: in use.
    app.post("/api/v1/roles.delete", Some(&app.admin), json!({"roleId": id}))
        .await
        .err_type("error-role-in-use");
}

/// `roles.sync`: what changed after a date, and every admin's role deleted
/// after it, however long ago.
#[tokio::test]
async fn roles_sync_reports_changes_and_removals() {
    let app = TestApp::new().await;
    let bob = app.user("bob").await;
    let (app, bob) = (&app, &bob);
    let sync = |since: &str| {
        let path = format!("/api/v1/roles.sync?updatedSince={since}");
        async move { app.get(&path, Some(bob)).await }
    };
    let all = sync("2017-11-25T15:08:17.248Z").await.ok();
    let names = |body: &Value, key: &str| -> Vec<String> {
        body["roles"][key]
            .as_array()
            .expect(key)
            .iter()
            .map(|r| r["name"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert!(names(&all, "update").contains(&"admin".to_owned()), "{all}");
    assert_eq!(all["roles"]["remove"], json!([]));
    let before = all["roles"]["update"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|r| r["_updatedAt"].as_str())
        .max()
        .expect("a date")
        .to_owned();
    let made = app.post("/api/v1/roles.create", Some(&app.admin), json!({"name": "auditor"})).await.ok();
    let id = made["role"]["_id"].as_str().expect("id").to_owned();
    let delta = sync(&before).await.ok();
    assert_eq!(names(&delta, "update"), vec!["auditor"], "only what changed after the date");
    let after_create = made["role"]["_updatedAt"].as_str().expect("date").to_owned();
    app.post("/api/v1/roles.delete", Some(&app.admin), json!({"roleId": id})).await.ok();
    let delta = sync(&after_create).await.ok();
    assert_eq!(delta["roles"]["update"], json!([]));
    assert_eq!(delta["roles"]["remove"].as_array().map(Vec::len), Some(1), "{delta}");
    assert_eq!(delta["roles"]["remove"][0]["_id"], json!(id));
    for bad in ["", "not-a-date"] {
        sync(bad).await.err(
            400,
            "The \"updatedSince\" query parameter must be a valid date. [error-updatedSince-param-invalid]",
            Some("error-updatedSince-param-invalid"),
        );
    }
    app.get("/api/v1/roles.sync", Some(bob)).await.err_type("error-updatedSince-param-invalid");
}
