//! `spotlight` and `directory` (docs/rest.md#finding-users-and-rooms).

use crate::support::TestApp;
use serde_json::{json, Value};

fn field(list: &Value, key: &str) -> Vec<String> {
    list.as_array().expect("a list").iter().map(|v| v[key].as_str().unwrap_or("").to_owned()).collect()
}

#[tokio::test]
async fn spotlight_finds_users_and_the_rooms_the_caller_may_see() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bobby").await;
    let carol = app.user("carol").await;
    app.channel(&alice, "bob-fans", &[]).await;
    let secret = app.post("/api/v1/groups.create", Some(&alice), json!({"name": "bob-secret"})).await.ok();
    assert!(secret["group"]["_id"].is_string());
    let mine = app.post("/api/v1/groups.create", Some(&carol), json!({"name": "bob-club"})).await.ok();
    assert!(mine["group"]["_id"].is_string());

    let found = app.get("/api/v1/spotlight?query=BOB", Some(&carol)).await.ok();
    assert_eq!(field(&found["users"], "username"), vec!["bobby"]);
    assert!(found["users"][0].get("emails").is_none(), "no account details: {found}");
    let mut rooms = field(&found["rooms"], "name");
    rooms.sort();
    assert_eq!(rooms, vec!["bob-club", "bob-fans"], "not alice's private group");
    // `@`: users only; `#`: rooms only; nothing for an empty text.
    let users_only = app.get("/api/v1/spotlight?query=%40bob", Some(&carol)).await.ok();
    assert_eq!(
        (users_only["users"].as_array().map(Vec::len), users_only["rooms"].clone()),
        (Some(1), json!([]))
    );
    let rooms_only = app.get("/api/v1/spotlight?query=%23bob", Some(&carol)).await.ok();
    assert_eq!(rooms_only["users"], json!([]));
    assert_eq!(rooms_only["rooms"].as_array().map(Vec::len), Some(2));
    let nothing = app.get("/api/v1/spotlight?query=", Some(&carol)).await.ok();
    assert_eq!((nothing["users"].clone(), nothing["rooms"].clone()), (json!([]), json!([])));
    // Deactivated users are not offered.
    app.post(
        "/api/v1/users.setActiveStatus",
        Some(&app.admin),
        json!({"userId": bob.user_id, "activeStatus": false}),
    )
    .await
    .ok();
    let found = app.get("/api/v1/spotlight?query=bob", Some(&carol)).await.ok();
    assert_eq!(found["users"], json!([]));
    // A pattern is plain text.
    let found = app.get("/api/v1/spotlight?query=%25", Some(&carol)).await.ok();
    assert_eq!((found["users"].clone(), found["rooms"].clone()), (json!([]), json!([])));
    app.get("/api/v1/spotlight?query=x", None).await.err(401, "You must be logged in to do this.", None);
}

#[tokio::test]
async fn directory_pages_users_and_public_channels() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    app.user("rocketeer").await;
    app.user("rocky").await;
    app.channel(&alice, "rockets", &[]).await;
    app.post("/api/v1/groups.create", Some(&alice), json!({"name": "rock-secret"})).await.ok();

    let users = app.get("/api/v1/directory?text=ROCK&type=users", Some(&alice)).await.ok();
    // The server's own bot is a user like any other here, as in Rocket.Chat.
    assert_eq!(field(&users["result"], "username"), vec!["rocket.cat", "rocketeer", "rocky"]);
    assert_eq!(
        (users["count"].clone(), users["offset"].clone(), users["total"].clone()),
        (json!(3), json!(0), json!(3))
    );
    assert!(users["result"][0]["createdAt"].is_string());
    let page = app.get("/api/v1/directory?text=rock&type=users&count=1&offset=2", Some(&alice)).await.ok();
    assert_eq!(
        (field(&page["result"], "username"), page["total"].clone()),
        (vec!["rocky".to_owned()], json!(3))
    );
    // The older form, as the Python library sends it.
    let legacy = app
        .get(
            "/api/v1/directory?query=%7B%22text%22%3A%20%22rock%22%2C%20%22type%22%3A%20%22users%22%7D",
            Some(&alice),
        )
        .await
        .ok();
    assert_eq!(legacy["total"], 3);
    // Channels: public ones only, by name.
    let channels = app.get("/api/v1/directory?text=rock", Some(&alice)).await.ok();
    assert_eq!(field(&channels["result"], "name"), vec!["rockets"]);
    assert_eq!(channels["result"][0]["t"], "c");
    app.get("/api/v1/directory?type=teams", Some(&alice)).await.err(
        400,
        "Invalid type [error-invalid-type]",
        Some("error-invalid-type"),
    );
    app.get("/api/v1/directory?query=%5B1%5D", Some(&alice)).await.err_type("error-invalid-query");
}
