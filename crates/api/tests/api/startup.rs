//! What clients call at start-up: `/api/info`, the settings lists, roles
//! and permissions, presence, and the features threadsync answers empty.

use crate::support::{enc, TestApp};
use serde_json::{json, Value};
use threadsync_service::{bootstrap, BootstrapReport};

fn ids(list: &Value, key: &str) -> Vec<String> {
    list[key].as_array().expect("array").iter().map(|v| v["_id"].as_str().expect("_id").to_owned()).collect()
}

#[tokio::test]
async fn info_reports_the_rocketchat_version_and_ours_apart() {
    let app = TestApp::new().await;
    let body = app.get("/api/info", None).await.ok();
    assert_eq!(body["threadsyncVersion"], env!("CARGO_PKG_VERSION"));
    let version = body["version"].as_str().expect("version");
    let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).expect("numeric major");
    assert!(major >= 7, "{version}: the cursor form of chat.syncMessages needs 7.1 or later");
    assert!(body.get("info").is_none(), "no server details without login: {body}");

    // Admins (get-server-info) also get Rocket.Chat's `info`; other users,
    // and wrong credentials, are answered as anonymous.
    let admin = app.get("/api/info", Some(&app.admin)).await.ok();
    assert_eq!(admin["version"], body["version"]);
    assert_eq!(admin["info"]["version"], body["version"]);
    assert_eq!(admin["info"]["threadsyncVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(admin["info"]["build"]["platform"], std::env::consts::OS);
    assert!(admin["info"]["build"]["cpus"].as_u64().is_some_and(|n| n >= 1), "{admin}");
    let alice = app.user("alice").await;
    assert_eq!(app.get("/api/info", Some(&alice)).await.ok(), body);
    let forged = crate::support::Session { token: "wrong".into(), ..app.admin.clone() };
    assert_eq!(app.get("/api/info", Some(&forged)).await.ok(), body);
}

#[tokio::test]
async fn public_settings_without_login_in_both_forms() {
    let app = TestApp::new().await;
    app.set_setting("Message_MaxAllowedSize", json!(1234)).await;
    let all = app.get("/api/v1/settings.public", None).await.ok();
    let names = ids(&all, "settings");
    assert!(names.contains(&"Threads_enabled".to_owned()), "{all}");
    // Private settings are never listed.
    assert!(
        !names.iter().any(|n| n.starts_with("API_Enable_Rate_Limiter") || n == "API_CORS_Origin"),
        "{all}"
    );
    assert_eq!(all["total"], json!(names.len()));
    assert_eq!(all["offset"], 0);

    // 7.0 and later: `_id=a,b`; unknown and private ids are left out.
    let some = app
        .get("/api/v1/settings.public?_id=Message_MaxAllowedSize,Threads_enabled,API_CORS_Origin,Nope", None)
        .await
        .ok();
    assert_eq!(
        some["settings"],
        json!([{"_id": "Message_MaxAllowedSize", "value": 1234}, {"_id": "Threads_enabled", "value": true}])
    );
    assert_eq!((some["count"].clone(), some["total"].clone()), (json!(2), json!(2)));

    // Before 7.0: `query={"_id":{"$in":[…]}}`.
    let query = enc(r#"{"_id":{"$in":["Threads_enabled"]}}"#);
    let old = app.get(&format!("/api/v1/settings.public?query={query}"), None).await.ok();
    assert_eq!(old["settings"], json!([{"_id": "Threads_enabled", "value": true}]));

    // Paging.
    let page = app.get("/api/v1/settings.public?count=1&offset=1", None).await.ok();
    assert_eq!(ids(&page, "settings"), vec![names[1].clone()]);
    assert_eq!((page["count"].clone(), page["total"].clone()), (json!(1), json!(names.len())));

    let query = enc(r#"{"value":{"$ne":1}}"#);
    app.get(&format!("/api/v1/settings.public?query={query}"), None).await.err(
        400,
        "Invalid query parameter provided [error-invalid-params]",
        Some("error-invalid-params"),
    );
    app.get("/api/v1/settings.public?count=x", None).await.err_type("error-invalid-params");
}

#[tokio::test]
async fn oauth_services_are_an_empty_list() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/api/v1/settings.oauth", None).await.ok()["services"], json!([]));
}

#[tokio::test]
async fn the_settings_list_is_for_admins() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let all = app.get("/api/v1/settings?count=0", Some(&app.admin)).await.ok();
    let names = ids(&all, "settings");
    // Private ones too, sorted by id.
    assert!(names.contains(&"API_CORS_Origin".to_owned()), "{all}");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    app.get("/api/v1/settings", Some(&alice)).await.err(
        403,
        "User does not have the permissions required for this action [error-unauthorized]",
        Some("error-unauthorized"),
    );
    app.get("/api/v1/settings", None).await.err(401, "You must be logged in to do this.", None);
}

#[tokio::test]
async fn roles_and_permissions_are_rocketchats_defaults() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let roles = app.get("/api/v1/roles.list", Some(&alice)).await.ok();
    let names = ids(&roles, "roles");
    for role in ["admin", "user", "bot", "owner", "moderator", "leader", "guest", "anonymous"] {
        assert!(names.contains(&role.to_owned()), "{role} missing: {roles}");
    }
    let owner =
        roles["roles"].as_array().expect("roles").iter().find(|r| r["_id"] == "owner").expect("owner");
    assert_eq!(owner["scope"], "Subscriptions");
    assert_eq!(owner["protected"], true);

    let all = app.get("/api/v1/permissions.listAll", Some(&alice)).await.ok();
    assert_eq!(all["remove"], json!([]));
    let update = all["update"].as_array().expect("update");
    let find = |id: &str| update.iter().find(|p| p["_id"] == id).map(|p| p["roles"].clone());
    assert_eq!(find("post-readonly"), Some(json!(["admin", "owner", "moderator"])));
    assert_eq!(find("delete-own-message"), Some(json!(["admin", "user"])));
    assert_eq!(find("view-c-room"), Some(json!(["admin", "user", "bot", "app", "anonymous"])));
    // A delta from after the table's last change is empty; from before, whole.
    let stamp = update[0]["_updatedAt"].as_str().expect("_updatedAt");
    let after =
        app.get(&format!("/api/v1/permissions.listAll?updatedSince={}", enc(stamp)), Some(&alice)).await;
    assert_eq!(after.ok()["update"], json!([]));
    let before =
        app.get("/api/v1/permissions.listAll?updatedSince=2001-01-01T00:00:00.000Z", Some(&alice)).await;
    assert_eq!(before.ok()["update"].as_array().map(Vec::len), Some(update.len()));
    app.get("/api/v1/permissions.listAll?updatedSince=yesterday", Some(&alice)).await.err(
        400,
        "The \"updatedSince\" query parameter must be a valid date. [error-updatedSince-param-invalid]",
        Some("error-updatedSince-param-invalid"),
    );
    app.get("/api/v1/roles.list", None).await.err(401, "You must be logged in to do this.", None);
}

#[tokio::test]
async fn users_in_public_roles_are_those_with_more_than_user() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let body = json!({"email": "b@example.com", "name": "B", "username": "botty", "password": "pw-123456", "roles": ["bot"]});
    app.post("/api/v1/users.create", Some(&app.admin), body).await.ok();
    let users = app.get("/api/v1/roles.getUsersInPublicRoles", Some(&alice)).await.ok();
    let names: Vec<&str> = users["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["username"].as_str().expect("name"))
        .collect();
    assert_eq!(names, vec!["admin", "botty", "rocket.cat"], "{users}");
    assert_eq!(users["users"][1]["roles"], json!(["bot"]));
    assert_eq!(users["users"][2]["roles"], json!(["bot"]));
}

/// The server's own bot exists from the first start, as Rocket.Chat's
/// `rocket.cat` does: a bot nobody can log in as, in no room until someone
/// adds it, and created once however often the server starts.
#[tokio::test]
async fn the_rocket_cat_bot_exists_from_the_first_start() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let cat = app.get("/api/v1/users.info?username=rocket.cat", Some(&alice)).await.ok();
    assert_eq!(
        (
            cat["user"]["_id"].clone(),
            cat["user"]["name"].clone(),
            cat["user"]["type"].clone(),
            cat["user"]["roles"].clone(),
            cat["user"]["active"].clone(),
            cat["user"]["status"].clone(),
        ),
        (
            json!("rocket.cat"),
            json!("Rocket.Cat"),
            json!("bot"),
            json!(["bot"]),
            json!(true),
            json!("online")
        ),
        "{cat}"
    );
    // No password: no login, whatever is tried.
    for password in ["", "rocket.cat", "x"] {
        app.post("/api/v1/login", None, json!({"user": "rocket.cat", "password": password})).await.err(
            401,
            "Unauthorized",
            None,
        );
    }
    // Not a member of GENERAL until someone adds every user there; then it
    // can be ignored there (the Python client's suite does exactly this).
    let members = app.get("/api/v1/channels.members?roomId=GENERAL", Some(&alice)).await.ok();
    assert!(!members.to_string().contains("rocket.cat"), "{members}");
    app.get("/api/v1/chat.ignoreUser?rid=GENERAL&userId=rocket.cat", Some(&alice))
        .await
        .err_type("error-invalid-subscription");
    app.post("/api/v1/channels.addAll", Some(&app.admin), json!({"roomId": "GENERAL"})).await.ok();
    app.get("/api/v1/chat.ignoreUser?rid=GENERAL&userId=rocket.cat", Some(&alice)).await.ok();
    let sub = app.get("/api/v1/subscriptions.getOne?roomId=GENERAL", Some(&alice)).await.ok();
    assert_eq!(sub["subscription"]["ignored"], json!(["rocket.cat"]), "{sub}");
    app.get("/api/v1/chat.ignoreUser?rid=GENERAL&userId=rocket.cat&ignore=false", Some(&alice)).await.ok();
    // A second start changes nothing: one bot, the admin kept.
    let before = app.get("/api/v1/users.list", Some(&app.admin)).await.ok()["total"].clone();
    let report = bootstrap(&app.services, None).await.expect("second start");
    assert_eq!(report, BootstrapReport::AlreadyInitialised);
    let after = app.get("/api/v1/users.list", Some(&app.admin)).await.ok()["total"].clone();
    assert_eq!(before, after);
}

#[tokio::test]
async fn status_and_presence() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let own = app.get("/api/v1/users.getStatus", Some(&alice)).await.ok();
    assert_eq!(
        (own["_id"].as_str(), own["status"].as_str()),
        (Some(alice.user_id.as_str()), Some("offline"))
    );
    let other = app.get("/api/v1/users.getStatus?username=bob", Some(&alice)).await.ok();
    assert_eq!(other["_id"], json!(bob.user_id));
    app.get("/api/v1/users.getStatus?username=nobody", Some(&alice)).await.err(
        400,
        "User not found. [error-invalid-user]",
        Some("error-invalid-user"),
    );

    let own = app.get("/api/v1/users.getPresence", Some(&alice)).await.ok();
    assert_eq!(
        (own["presence"].as_str(), own["connectionStatus"].as_str()),
        (Some("offline"), Some("offline"))
    );
    let other =
        app.get(&format!("/api/v1/users.getPresence?userId={}", bob.user_id), Some(&alice)).await.ok();
    assert_eq!(other["presence"], "offline");
    assert!(other.get("connectionStatus").is_none(), "{other}");

    // No realtime socket is logged in: only the server's bot is online.
    let ids_of = |answer: &Value| -> Vec<String> {
        answer["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u["_id"].as_str().expect("_id").to_owned())
            .collect()
    };
    let all = app.get("/api/v1/users.presence", Some(&alice)).await.ok();
    assert_eq!((ids_of(&all), all["full"].clone()), (vec!["rocket.cat".to_owned()], json!(true)));
    assert_eq!(
        all["users"][0],
        json!({"_id": "rocket.cat", "username": "rocket.cat", "name": "Rocket.Cat", "status": "online",
               "statusText": "", "utcOffset": 0.0})
    );
    let named = format!("/api/v1/users.presence?ids={},{}", alice.user_id, bob.user_id);
    let some = app.get(&named, Some(&alice)).await.ok();
    assert_eq!((ids_of(&some), some["full"].clone()), (Vec::<String>::new(), json!(false)));

    // Bob shows himself away (users.setStatus shows it at once): he is in
    // the full list, among the named, and among the changes since just
    // before; a `from` older than ten minutes gets the full list.
    app.post("/api/v1/users.setStatus", Some(&bob), json!({"status": "away", "message": "lunch"})).await.ok();
    let all = app.get("/api/v1/users.presence", Some(&alice)).await.ok();
    assert_eq!(ids_of(&all), vec![bob.user_id.clone(), "rocket.cat".to_owned()]);
    assert_eq!(
        (all["users"][0]["status"].clone(), all["users"][0]["statusText"].clone()),
        (json!("away"), json!("lunch"))
    );
    let some = app.get(&named, Some(&alice)).await.ok();
    assert_eq!((ids_of(&some), some["full"].clone()), (vec![bob.user_id.clone()], json!(false)));
    // The web app's REST client writes arrays with brackets.
    let bracketed = format!("/api/v1/users.presence?ids[]={}&ids[]={}", alice.user_id, bob.user_id);
    let some = app.get(&bracketed, Some(&alice)).await.ok();
    assert_eq!((ids_of(&some), some["full"].clone()), (vec![bob.user_id.clone()], json!(false)));
    let stamp = app.get("/api/v1/users.info?username=bob", Some(&alice)).await.ok()["user"]["_updatedAt"]
        .as_str()
        .expect("_updatedAt")
        .to_owned();
    let since = app.get(&format!("/api/v1/users.presence?from={stamp}"), Some(&alice)).await.ok();
    assert_eq!((ids_of(&since), since["full"].clone()), (vec![bob.user_id.clone()], json!(false)));
    // The caller is not told about themself.
    let own = app.get(&format!("/api/v1/users.presence?from={stamp}"), Some(&bob)).await.ok();
    assert_eq!(ids_of(&own), Vec::<String>::new());
    let old = app.get("/api/v1/users.presence?from=2020-01-01", Some(&alice)).await.ok();
    assert_eq!((ids_of(&old).len(), old["full"].clone()), (2, json!(true)));
    app.get("/api/v1/users.presence?from=soon", Some(&alice)).await.err_type("error-invalid-params");
    // The caller's own status answer carries the connections' state.
    let own = app.get("/api/v1/users.getStatus", Some(&bob)).await.ok();
    assert_eq!((own["status"].clone(), own["connectionStatus"].clone()), (json!("away"), json!("offline")));
    let other = app.get("/api/v1/users.getStatus?username=bob", Some(&alice)).await.ok();
    assert_eq!(other["status"], "away");
    assert!(other.get("connectionStatus").is_none(), "{other}");

    // With the presence broadcast off, nobody is shown.
    app.post(
        "/api/v1/settings/Troubleshoot_Disable_Presence_Broadcast",
        Some(&app.admin),
        json!({"value": true}),
    )
    .await
    .ok();
    let all = app.get("/api/v1/users.presence", Some(&alice)).await.ok();
    assert_eq!((ids_of(&all), all["full"].clone()), (Vec::<String>::new(), json!(true)));
}

#[tokio::test]
async fn features_we_lack_answer_honestly_empty() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let emoji = app.get("/api/v1/emoji-custom.list", Some(&alice)).await.ok();
    assert_eq!(emoji["emojis"], json!({"update": [], "remove": []}));
    app.get("/api/v1/emoji-custom.list?updatedSince=never", Some(&alice))
        .await
        .err_type("error-roomId-param-invalid");
    let commands = app.get("/api/v1/commands.list?offset=2", Some(&alice)).await.ok();
    assert_eq!(commands, json!({"commands": [], "count": 0, "offset": 2, "total": 0, "success": true}));
}

#[tokio::test]
async fn push_tokens_are_accepted_and_checked_in_order() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let body = json!({"type": "gcm", "value": "tok", "appName": "chat.rocket.android"});
    let result = app.post("/api/v1/push.token", Some(&alice), body).await.ok()["result"].clone();
    assert_eq!(result["token"], json!({"gcm": "tok"}));
    assert_eq!(
        (result["userId"].as_str(), result["enabled"].as_bool()),
        (Some(alice.user_id.as_str()), Some(true))
    );
    for (body, code, text) in [
        (
            json!({"id": 5, "type": "apn"}),
            "error-id-param-not-valid",
            "The required \"id\" body param is invalid.",
        ),
        (
            json!({"type": "sms", "value": "t", "appName": "a"}),
            "error-type-param-not-valid",
            "The required \"type\" body param is missing or invalid.",
        ),
        (
            json!({"type": "apn", "value": 7, "appName": "a"}),
            "error-token-param-not-valid",
            "The required \"value\" body param is missing or invalid.",
        ),
        (
            json!({"type": "apn", "value": "t"}),
            "error-appName-param-not-valid",
            "The required \"appName\" body param is missing or invalid.",
        ),
    ] {
        app.post("/api/v1/push.token", Some(&alice), body).await.err(
            400,
            &format!("{text} [{code}]"),
            Some(code),
        );
    }
    let delete = |body: Value| {
        let req = axum::http::Request::delete("/api/v1/push.token")
            .header("content-type", "application/json")
            .header("X-User-Id", &alice.user_id)
            .header("X-Auth-Token", &alice.token)
            .body(axum::body::Body::from(body.to_string()))
            .expect("request");
        app.request(req)
    };
    delete(json!({"token": "tok"})).await.ok();
    delete(json!({})).await.err_type("error-token-param-not-valid");
}
