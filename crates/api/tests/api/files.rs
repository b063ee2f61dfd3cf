//! Files: `rooms.upload`, `rooms.media` + `rooms.mediaConfirm`, the rooms'
//! `files` listings, downloads at `/file-upload/…`, and removal with the
//! message or room that shared them.

use crate::support::{file, post_form, Part, Session, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

/// A download: status, content type, disposition and bytes.
async fn fetch(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String, String, Vec<u8>) {
    let mut req = Request::get(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let reply = app.send(req.body(Body::empty()).expect("request")).await;
    let header =
        |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (reply.status, header("content-type"), header("content-disposition"), reply.bytes.to_vec())
}

fn auth(who: &Session) -> Vec<(&'static str, String)> {
    vec![("X-User-Id", who.user_id.clone()), ("X-Auth-Token", who.token.clone())]
}

async fn fetch_as(app: &TestApp, path: &str, who: &Session) -> (StatusCode, String, String, Vec<u8>) {
    let headers = auth(who);
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    fetch(app, path, &borrowed).await
}

fn url_of(message: &Value) -> String {
    message["attachments"][0]["title_link"].as_str().expect("title_link").to_owned()
}

#[tokio::test]
async fn upload_shares_a_file_in_a_message_that_members_can_download() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let rid = app.group(&alice, "secret", &[&bob]).await;
    let png = b"\x89PNG\r\n\x1a\nnot really an image";

    let body = post_form(
        &app,
        &format!("/api/v1/rooms.upload/{rid}"),
        &alice,
        &[
            Part::Text("msg", "look at this"),
            file("cat picture.png", "image/png", png),
            Part::Text("description", "a cat"),
        ],
    )
    .await
    .ok();
    let message = &body["message"];
    assert_eq!(message["rid"], json!(rid));
    assert_eq!(message["msg"], "look at this");
    assert_eq!(message["u"]["username"], "alice");
    assert_eq!(message["groupable"], false);
    let file_id = message["file"]["_id"].as_str().expect("file id").to_owned();
    assert_eq!(message["file"]["name"], "cat picture.png");
    assert_eq!(message["file"]["type"], "image/png");
    assert_eq!(message["file"]["size"], png.len());
    assert_eq!(message["files"][0]["_id"], json!(file_id));
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["type"], "file");
    assert_eq!(attachment["title"], "cat picture.png");
    assert_eq!(attachment["description"], "a cat");
    assert_eq!(attachment["title_link_download"], true);
    let url = url_of(message);
    assert_eq!(url, format!("/file-upload/{file_id}/cat%20picture.png"));
    assert_eq!(attachment["image_url"], json!(url));
    assert_eq!(attachment["image_type"], "image/png");
    // Its header is no PNG's: no size is claimed.
    assert!(attachment.get("image_dimensions").is_none(), "{attachment}");

    // The message is an ordinary message: it is in the room's history.
    let stored = app.message(&bob, message["_id"].as_str().expect("id")).await;
    assert_eq!(stored["file"]["_id"], json!(file_id));

    // Members download it, by headers, cookies or query; others cannot.
    let (status, content_type, disposition, bytes) = fetch_as(&app, &url, &bob).await;
    assert_eq!((status, content_type.as_str(), bytes.as_slice()), (StatusCode::OK, "image/png", &png[..]));
    assert!(disposition.starts_with("inline;"), "{disposition}");
    let cookie = format!("rc_uid={}; rc_token={}", bob.user_id, bob.token);
    let (status, _, _, bytes) = fetch(&app, &url, &[("cookie", &cookie)]).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::OK, &png[..]));
    let query = format!("{url}?rc_uid={}&rc_token={}&download", bob.user_id, bob.token);
    let (status, _, disposition, _) = fetch(&app, &query, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let (status, _, _, _) =
        fetch(&app, &format!("/file-upload/{file_id}/other.png"), &[("cookie", &cookie)]).await;
    assert_eq!(status, StatusCode::OK, "the id decides, not the name");

    app.request(
        Request::get(&url)
            .header("X-User-Id", &carol.user_id)
            .header("X-Auth-Token", &carol.token)
            .body(Body::empty())
            .expect("req"),
    )
    .await
    .err(400, "File not found [error-file-not-found]", Some("error-file-not-found"));
    app.request(Request::get(&url).body(Body::empty()).expect("req")).await.err(
        403,
        "User does not have the permissions required for this action [error-unauthorized]",
        Some("error-unauthorized"),
    );
    let wrong = format!("rc_uid={}; rc_token=wrong", bob.user_id);
    app.request(Request::get(&url).header("cookie", wrong).body(Body::empty()).expect("req")).await.err(
        403,
        "User does not have the permissions required for this action [error-unauthorized]",
        Some("error-unauthorized"),
    );

    // With FileUpload_ProtectFiles off, anyone with the link may download.
    app.set_setting("FileUpload_ProtectFiles", json!(false)).await;
    let (status, _, _, bytes) = fetch(&app, &url, &[]).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::OK, &png[..]));
}

#[tokio::test]
async fn files_are_listed_per_room_newest_first_and_filtered() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let town = app.channel(&alice, "town", &[&bob]).await;
    let secret = app.group(&alice, "secret", &[&bob]).await;
    let dm = app.direct(&alice, &bob).await;
    for (rid, name, content_type) in [
        (&town, "report.pdf", "application/pdf"),
        (&town, "Holiday.JPG", "image/jpeg"),
        (&town, "notes.txt", "text/plain"),
        (&secret, "plan.txt", "text/plain"),
        (&dm, "hi.txt", "text/plain"),
    ] {
        post_form(&app, &format!("/api/v1/rooms.upload/{rid}"), &alice, &[file(name, content_type, b"x")])
            .await
            .ok();
    }
    let names = |body: &Value| -> Vec<String> {
        body["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f["name"].as_str().expect("name").to_owned())
            .collect()
    };

    let all = app.get("/api/v1/channels.files?roomName=town", Some(&bob)).await.ok();
    assert_eq!(names(&all), ["notes.txt", "Holiday.JPG", "report.pdf"]);
    assert_eq!(
        (all["count"].clone(), all["offset"].clone(), all["total"].clone()),
        (json!(3), json!(0), json!(3))
    );
    let first = &all["files"][0];
    assert_eq!(first["rid"], json!(town));
    assert_eq!(first["userId"], json!(alice.user_id));
    assert_eq!(first["user"]["username"], "alice");
    assert_eq!(first["typeGroup"], "text");
    assert_eq!(first["extension"], "txt");
    assert_eq!(first["complete"], true);
    assert!(first["path"].as_str().expect("path").starts_with("/file-upload/"));

    let page =
        app.get(&format!("/api/v1/channels.files?roomId={town}&count=1&offset=1"), Some(&bob)).await.ok();
    assert_eq!((names(&page), page["total"].clone()), (vec!["Holiday.JPG".to_owned()], json!(3)));
    let images = app.get("/api/v1/channels.files?roomName=town&typeGroup=image", Some(&bob)).await.ok();
    assert_eq!(names(&images), ["Holiday.JPG"]);
    let named = app.get("/api/v1/channels.files?roomName=town&name=holi", Some(&bob)).await.ok();
    assert_eq!(names(&named), ["Holiday.JPG"]);

    let group = app.get(&format!("/api/v1/groups.files?roomId={secret}"), Some(&bob)).await.ok();
    assert_eq!(names(&group), ["plan.txt"]);
    app.get(&format!("/api/v1/groups.files?roomId={secret}"), Some(&carol))
        .await
        .err_type("error-room-not-found");
    let direct = app.get(&format!("/api/v1/im.files?roomId={dm}"), Some(&bob)).await.ok();
    assert_eq!(names(&direct), ["hi.txt"]);
    let by_name = app.get("/api/v1/dm.files?username=alice", Some(&bob)).await.ok();
    assert_eq!(names(&by_name), ["hi.txt"]);
    app.get(&format!("/api/v1/im.files?roomId={dm}"), Some(&carol)).await.err_type("invalid-channel");
}

#[tokio::test]
async fn media_then_confirm_shares_the_file_once() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let town = app.channel(&alice, "town", &[&bob]).await;
    let parent = app.say(&alice, &town, "thread start").await;
    let parent_id = parent["_id"].as_str().expect("id");

    let body = post_form(
        &app,
        &format!("/api/v1/rooms.media/{town}"),
        &alice,
        &[file("song.mp3", "audio/mpeg", b"ID3")],
    )
    .await
    .ok();
    let file_id = body["file"]["_id"].as_str().expect("id").to_owned();
    let url = body["file"]["url"].as_str().expect("url").to_owned();
    assert_eq!(url, format!("/file-upload/{file_id}/song.mp3"));

    // Not shared yet: not listed, and only the uploader may fetch it.
    let listed = app.get("/api/v1/channels.files?roomName=town", Some(&bob)).await.ok();
    assert_eq!(listed["total"], 0);
    assert_eq!(fetch_as(&app, &url, &alice).await.0, StatusCode::OK);
    assert_eq!(fetch_as(&app, &url, &bob).await.0, StatusCode::BAD_REQUEST);

    // Only the uploader confirms, in the upload's room.
    let confirm = format!("/api/v1/rooms.mediaConfirm/{town}/{file_id}");
    app.post(&confirm, Some(&bob), json!({"msg": "mine"})).await.err(
        400,
        "[invalid-file]",
        Some("invalid-file"),
    );
    let other = app.channel(&alice, "other", &[]).await;
    app.post(&format!("/api/v1/rooms.mediaConfirm/{other}/{file_id}"), Some(&alice), json!({})).await.err(
        400,
        "[invalid-file]",
        Some("invalid-file"),
    );
    app.post(&format!("/api/v1/rooms.mediaConfirm/{town}/nope"), Some(&alice), json!({})).await.err(
        400,
        "[invalid-file]",
        Some("invalid-file"),
    );

    let shared = app
        .post(&confirm, Some(&alice), json!({"msg": "listen", "description": "demo", "tmid": parent_id}))
        .await
        .ok();
    let message = &shared["message"];
    assert_eq!(message["msg"], "listen");
    assert_eq!(message["tmid"], json!(parent_id));
    assert_eq!(message["file"]["_id"], json!(file_id));
    assert_eq!(message["attachments"][0]["audio_url"], json!(url));
    assert_eq!(message["attachments"][0]["description"], "demo");
    assert_eq!(app.message(&bob, parent_id).await["tcount"], 1, "a reply like any other");
    assert_eq!(fetch_as(&app, &url, &bob).await.0, StatusCode::OK);
    let listed = app.get("/api/v1/channels.files?roomName=town", Some(&bob)).await.ok();
    assert_eq!(
        (listed["total"].clone(), listed["files"][0]["description"].clone()),
        (json!(1), json!("demo"))
    );

    // Shared once: a second confirmation is refused.
    app.post(&confirm, Some(&alice), json!({})).await.err(400, "[invalid-file]", Some("invalid-file"));
}

#[tokio::test]
async fn uploads_are_checked_before_and_while_they_arrive() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let secret = app.group(&alice, "secret", &[&bob]).await;
    let upload = format!("/api/v1/rooms.upload/{secret}");
    let forbidden = "User does not have the permissions required for this action [error-unauthorized]";

    // Not a member: 403 before the body is read.
    post_form(&app, &upload, &carol, &[file("a.txt", "text/plain", b"x")]).await.err(
        403,
        forbidden,
        Some("error-unauthorized"),
    );
    post_form(&app, "/api/v1/rooms.upload/nope", &alice, &[file("a.txt", "text/plain", b"x")]).await.err(
        403,
        forbidden,
        Some("error-unauthorized"),
    );
    // The form.
    post_form(&app, &upload, &alice, &[Part::Text("msg", "no file")]).await.err(
        400,
        "No file uploaded [error-no-file]",
        Some("error-no-file"),
    );
    post_form(
        &app,
        &upload,
        &alice,
        &[Part::File { field: "image", name: "a.png", content_type: None, bytes: b"x" }],
    )
    .await
    .err(400, "[invalid-field]", Some("invalid-field"));
    post_form(&app, &upload, &alice, &[file("a.txt", "text/plain", b"x"), file("b.txt", "text/plain", b"y")])
        .await
        .err_type("error-invalid-params");
    app.post(&upload, Some(&alice), json!({"msg": "json"})).await.err_type("error-invalid-params");
    // Types: SVG is refused by default; the allow-list narrows further.
    post_form(&app, &upload, &alice, &[file("x.svg", "image/svg+xml", b"<svg/>")]).await.err(
        400,
        "File type is not accepted. [error-invalid-file-type]",
        Some("error-invalid-file-type"),
    );
    post_form(
        &app,
        &upload,
        &alice,
        &[Part::File { field: "file", name: "x.svg", content_type: None, bytes: b"<svg/>" }],
    )
    .await
    .err_type("error-invalid-file-type");
    app.set_setting("FileUpload_MediaTypeWhiteList", json!("image/*,application/pdf")).await;
    post_form(&app, &upload, &alice, &[file("a.txt", "text/plain", b"x")])
        .await
        .err_type("error-invalid-file-type");
    post_form(&app, &upload, &alice, &[file("a.png", "image/png", b"x")]).await.ok();
    app.set_setting("FileUpload_MediaTypeWhiteList", json!("")).await;
    // Size, counted as the bytes arrive.
    app.set_setting("FileUpload_MaxFileSize", json!(10)).await;
    post_form(&app, &upload, &alice, &[file("big.txt", "text/plain", b"0123456789A")]).await.err(
        400,
        "[error-file-too-large]",
        Some("error-file-too-large"),
    );
    post_form(&app, &upload, &alice, &[file("fits.txt", "text/plain", b"0123456789")]).await.ok();
    app.set_setting("FileUpload_MaxFileSize", json!(-1)).await;
    // The description, like a message's text.
    app.set_setting("Message_MaxAllowedSize", json!(5)).await;
    post_form(
        &app,
        &upload,
        &alice,
        &[file("a.txt", "text/plain", b"x"), Part::Text("description", "too long")],
    )
    .await
    .err(400, "[error-message-size-exceeded]", Some("error-message-size-exceeded"));
    app.set_setting("Message_MaxAllowedSize", json!(5000)).await;
    // The message's rules: a bad thread.
    post_form(&app, &upload, &alice, &[file("a.txt", "text/plain", b"x"), Part::Text("tmid", "nope")])
        .await
        .err_type("error-invalid-message");
    // Read-only rooms: only holders of post-readonly.
    app.post("/api/v1/groups.setReadOnly", Some(&alice), json!({"roomId": secret, "readOnly": true}))
        .await
        .ok();
    post_form(&app, &upload, &bob, &[file("a.txt", "text/plain", b"x")]).await.err_type("error-not-allowed");
    // Uploads switched off.
    app.set_setting("FileUpload_Enabled", json!(false)).await;
    post_form(&app, &upload, &alice, &[file("a.txt", "text/plain", b"x")]).await.err(
        400,
        "File upload is disabled [error-file-upload-disabled]",
        Some("error-file-upload-disabled"),
    );

    // Only the two accepted uploads were kept.
    let listed = app.get(&format!("/api/v1/groups.files?roomId={secret}"), Some(&alice)).await.ok();
    let mut names: Vec<&str> =
        listed["files"].as_array().expect("files").iter().filter_map(|f| f["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["a.png", "fits.txt"]);
}

#[tokio::test]
async fn deleting_the_message_or_the_room_deletes_the_files() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let town = app.channel(&alice, "town", &[]).await;
    let shared = post_form(
        &app,
        &format!("/api/v1/rooms.upload/{town}"),
        &alice,
        &[file("a.txt", "text/plain", b"abc")],
    )
    .await
    .ok();
    let message_id = shared["message"]["_id"].as_str().expect("id").to_owned();
    let url = url_of(&shared["message"]);
    assert_eq!(fetch_as(&app, &url, &alice).await.0, StatusCode::OK);
    app.remove(&alice, &town, &message_id).await;
    assert_eq!(fetch_as(&app, &url, &alice).await.0, StatusCode::BAD_REQUEST, "gone with its message");
    let listed = app.get("/api/v1/channels.files?roomName=town", Some(&alice)).await.ok();
    assert_eq!(listed["total"], 0);

    let kept = post_form(
        &app,
        &format!("/api/v1/rooms.upload/{town}"),
        &alice,
        &[file("b.txt", "text/plain", b"abc")],
    )
    .await
    .ok();
    let url = url_of(&kept["message"]);
    app.post("/api/v1/channels.delete", Some(&alice), json!({"roomId": town})).await.ok();
    assert_eq!(fetch_as(&app, &url, &app.admin).await.0, StatusCode::BAD_REQUEST, "gone with its room");
}

#[tokio::test]
async fn scriptable_files_are_downloads_never_pages() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let town = app.channel(&alice, "town", &[]).await;
    let shared = post_form(
        &app,
        &format!("/api/v1/rooms.upload/{town}"),
        &alice,
        &[file("page.html", "text/html", b"<script>alert(1)</script>")],
    )
    .await
    .ok();
    let url = url_of(&shared["message"]);
    let headers = auth(&alice);
    let mut req = Request::get(&url);
    for (name, value) in &headers {
        req = req.header(*name, value);
    }
    let reply = app.send(req.body(Body::empty()).expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let header =
        |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(header("content-disposition").starts_with("attachment;"), "{}", header("content-disposition"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-security-policy").contains("sandbox"));
}

#[tokio::test]
async fn clean_history_files_only_prunes_files_and_keeps_the_messages() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let rid = app.channel(&alice, "gallery", &[&bob]).await;
    let upload = |name: &'static str, text: &'static str| {
        let (app, alice, rid) = (&app, &alice, rid.clone());
        async move {
            let body = post_form(
                app,
                &format!("/api/v1/rooms.upload/{rid}"),
                alice,
                &[Part::Text("msg", text), file(name, "text/plain", b"some bytes")],
            )
            .await
            .ok();
            body["message"].clone()
        }
    };
    let kept = upload("pinned.txt", "pinned one").await;
    app.post("/api/v1/chat.pinMessage", Some(&app.admin), json!({"messageId": kept["_id"]})).await.ok();
    let first = upload("a.txt", "first file").await;
    let plain = app.say(&bob, &rid, "no file here").await;
    let second = upload("b.txt", "second file").await;
    let since = plain["ts"].as_str().expect("ts").to_owned();
    let clean = |body: Value| {
        let app = &app;
        async move { app.post("/api/v1/rooms.cleanHistory", Some(&app.admin), body).await }
    };
    let range = |extra: Value| {
        let mut body = json!({"roomId": rid, "oldest": "2000-01-01T00:00:00.000Z", "latest": "2100-01-01T00:00:00.000Z", "filesOnly": true});
        body.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        body
    };

    // `limit` counts pruned messages; pinned ones stay when asked.
    let one = clean(range(json!({"excludePinned": true, "limit": 1}))).await.ok();
    assert_eq!(one, json!({"success": true, "_id": rid, "count": 1}));
    let all = clean(range(json!({"excludePinned": true}))).await.ok();
    assert_eq!(all["count"], 1, "the other unpinned file: {all}");

    for message in [&first, &second] {
        let id = message["_id"].as_str().expect("id");
        let stored = app.message(&bob, id).await;
        assert_eq!(stored["msg"], message["msg"], "the message stays");
        assert_eq!(stored.get("file"), None);
        assert_eq!(stored.get("files"), None);
        assert_eq!(stored["attachments"], json!([{"color": "#FD745E", "text": "_File removed by prune_"}]));
        // Its file is gone: the download, and the room's file list.
        let (status, ..) = fetch_as(&app, &url_of(message), &bob).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "File not found");
    }
    let stored = app.message(&bob, kept["_id"].as_str().expect("id")).await;
    assert_eq!(stored["file"]["_id"], kept["file"]["_id"], "the pinned message keeps its file");
    assert_eq!(fetch_as(&app, &url_of(&kept), &bob).await.0, StatusCode::OK);
    let listed = app.get(&format!("/api/v1/channels.files?roomId={rid}"), Some(&bob)).await.ok();
    assert_eq!(listed["total"], 1, "{listed}");

    // The change reaches sync as an update; nothing was removed.
    let sync =
        app.get(&format!("/api/v1/chat.syncMessages?roomId={rid}&lastUpdate={since}"), Some(&bob)).await.ok();
    let updated: Vec<&str> = sync["result"]["updated"]
        .as_array()
        .expect("updated")
        .iter()
        .filter_map(|m| m["_id"].as_str())
        .collect();
    assert!(updated.contains(&second["_id"].as_str().expect("id")), "{sync}");
    assert_eq!(sync["result"]["deleted"], json!([]));

    // Nothing left to prune but the pinned one.
    assert_eq!(clean(range(json!({"excludePinned": true}))).await.ok()["count"], 0);
    assert_eq!(clean(range(json!({}))).await.ok()["count"], 1);
    assert_eq!(fetch_as(&app, &url_of(&kept), &bob).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn downloads_serve_one_byte_range() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let rid = app.channel(&alice, "media", &[]).await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let body = post_form(
        &app,
        &format!("/api/v1/rooms.upload/{rid}"),
        &alice,
        &[file("clip.mp4", "video/mp4", &bytes)],
    )
    .await
    .ok();
    let url = url_of(&body["message"]);
    let mut headers = auth(&alice);
    let ranged = |range: &'static str| {
        let mut h = headers.clone();
        h.push(("Range", range.to_owned()));
        h
    };
    let get = |h: Vec<(&'static str, String)>| {
        let (app, url) = (&app, url.clone());
        async move {
            let mut req = Request::get(&url);
            for (name, value) in &h {
                req = req.header(*name, value);
            }
            app.send(req.body(Body::empty()).expect("request")).await
        }
    };
    let header = |reply: &crate::support::RawReply, name: &str| {
        reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };

    // The whole file says that ranges are served.
    let whole = get(headers.clone()).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(header(&whole, "accept-ranges"), "bytes");
    assert_eq!(whole.bytes.to_vec(), bytes);

    for (range, start, end) in [
        ("bytes=0-99", 0, 99),
        ("bytes=900-", 900, 999),
        ("bytes=-10", 990, 999),
        ("bytes=500-5000", 500, 999),
    ] {
        let part = get(ranged(range)).await;
        assert_eq!(part.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(header(&part, "content-range"), format!("bytes {start}-{end}/1000"), "{range}");
        assert_eq!(header(&part, "content-length"), (end - start + 1).to_string(), "{range}");
        assert_eq!(header(&part, "content-type"), "video/mp4");
        assert_eq!(part.bytes.to_vec(), bytes[start..=end].to_vec(), "{range}");
    }
    // Past the end: 416 in the error envelope, with the size.
    let past = get(ranged("bytes=1000-")).await;
    assert_eq!(past.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&past, "content-range"), "bytes */1000");
    let error: Value = serde_json::from_slice(&past.bytes).expect("JSON");
    assert_eq!(error["errorType"], "error-range-not-satisfiable");
    assert_eq!(error["success"], false);
    // Several ranges, or an unreadable one: the whole file.
    for range in ["bytes=0-1,5-6", "bytes=x-y"] {
        let reply = get(ranged(range)).await;
        assert_eq!((reply.status, reply.bytes.len()), (StatusCode::OK, 1000), "{range}");
    }
    // A range never lets anyone past the access rule.
    headers.clear();
    let mut anonymous = headers.clone();
    anonymous.push(("Range", "bytes=0-9".to_owned()));
    let refused = get(anonymous).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

/// A JPEG as a phone writes it: large metadata segments first (a colour
/// profile of `padding` bytes in 60 KB APP2 segments), an EXIF block saying
/// "turn a quarter right" (orientation 6), then the frame header of a
/// `width` × `height` picture stored landscape.
fn phone_jpeg(width: u16, height: u16, padding: usize) -> Vec<u8> {
    let mut jpeg = vec![0xFF, 0xD8];
    let mut left = padding;
    while left > 0 {
        let part = left.min(60_000);
        jpeg.extend([0xFF, 0xE2]);
        jpeg.extend(u16::try_from(part + 2).expect("segment length").to_be_bytes());
        jpeg.extend(std::iter::repeat_n(0x42, part));
        left -= part;
    }
    let exif: &[u8] = &[
        b'E', b'x', b'i', b'f', 0, 0, b'M', b'M', 0, 42, 0, 0, 0, 8, // TIFF header, big-endian
        0, 1, // one entry
        0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, // orientation = 6
        0, 0, 0, 0,
    ];
    jpeg.extend([0xFF, 0xE1]);
    jpeg.extend(u16::try_from(exif.len() + 2).expect("segment length").to_be_bytes());
    jpeg.extend(exif);
    jpeg.extend([0xFF, 0xC0, 0x00, 0x11, 0x08]);
    jpeg.extend(height.to_be_bytes());
    jpeg.extend(width.to_be_bytes());
    jpeg.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    jpeg.extend([0xFF, 0xDA, 0x00, 0x02]);
    jpeg.extend(std::iter::repeat_n(0x55, 50_000)); // "pixels"
    jpeg.extend([0xFF, 0xD9]);
    jpeg
}

/// Shared images carry the size clients reserve for them
/// (`image_dimensions`), read from the file's header and turned as its EXIF
/// orientation says, through both ways of sharing a file.
#[tokio::test]
async fn images_carry_their_dimensions() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let rid = app.channel(&alice, "pictures", &[]).await;
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend(640u32.to_be_bytes());
    png.extend(480u32.to_be_bytes());
    png.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    let body =
        post_form(&app, &format!("/api/v1/rooms.upload/{rid}"), &alice, &[file("a.png", "image/png", &png)])
            .await
            .ok();
    assert_eq!(body["message"]["attachments"][0]["image_dimensions"], json!({"width": 640, "height": 480}));

    // 180 KB of metadata before the frame header; shown portrait.
    let photo = phone_jpeg(4032, 3024, 180_000);
    let media = post_form(
        &app,
        &format!("/api/v1/rooms.media/{rid}"),
        &alice,
        &[file("IMG_0001.JPG", "image/jpeg", &photo)],
    )
    .await
    .ok();
    let file_id = media["file"]["_id"].as_str().expect("file id").to_owned();
    let confirmed = app
        .post(&format!("/api/v1/rooms.mediaConfirm/{rid}/{file_id}"), Some(&alice), json!({"msg": "me"}))
        .await
        .ok();
    let attachment = &confirmed["message"]["attachments"][0];
    assert_eq!(attachment["image_dimensions"], json!({"width": 3024, "height": 4032}), "{attachment}");
    // Stored with the message, as every reader sees it.
    let stored = app.message(&alice, confirmed["message"]["_id"].as_str().expect("id")).await;
    assert_eq!(stored["attachments"][0]["image_dimensions"], json!({"width": 3024, "height": 4032}));

    // A frame header beyond the bytes read: the message is sent, unsized.
    let deep = phone_jpeg(100, 100, 300_000);
    let body = post_form(
        &app,
        &format!("/api/v1/rooms.upload/{rid}"),
        &alice,
        &[file("deep.jpg", "image/jpeg", &deep)],
    )
    .await
    .ok();
    assert!(body["message"]["attachments"][0].get("image_dimensions").is_none(), "{body}");
    // Not an image: never sized, whatever its bytes say.
    let body = post_form(
        &app,
        &format!("/api/v1/rooms.upload/{rid}"),
        &alice,
        &[file("a.bin", "application/octet-stream", &png)],
    )
    .await
    .ok();
    assert!(body["message"]["attachments"][0].get("image_dimensions").is_none(), "{body}");
}
