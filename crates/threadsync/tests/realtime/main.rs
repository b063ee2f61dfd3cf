//! The realtime protocol (DDP at `/websocket`) over a real socket against
//! the real binary: each test sends frames and checks the frames that come
//! back, on SQLite and, with `TEST_DATABASE_URL`, on PostgreSQL, plus a
//! two-instance test where a write through one instance reaches a client of
//! the other.

mod ddp;
#[path = "../support/mod.rs"]
mod support;

use ddp::{sha256_hex, Ddp};
use serde_json::{json, Value};
use std::time::Duration;
use support::{PgSchema, Server, Session, ADMIN, ADMIN_PASS};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// Which store a test runs on.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

struct Running {
    server: Server,
    _data: tempfile::TempDir,
    pg: Option<PgSchema>,
}

impl Running {
    async fn finish(self) {
        drop(self.server);
        if let Some(pg) = self.pg {
            pg.drop().await;
        }
    }
}

/// Starts a server on the backend (PostgreSQL: a schema of its own in the
/// database of `TEST_DATABASE_URL`).
async fn start(backend: Backend) -> Running {
    let data = tempfile::tempdir().expect("tempdir");
    let (cmd, pg) = match backend {
        Backend::Sqlite => (support::serve_cmd(data.path()), None),
        Backend::Postgres => {
            let pg = PgSchema::create().await;
            (support::pg_serve_cmd(data.path(), &pg), Some(pg))
        }
    };
    let server = Server::start(cmd);
    Running { server, _data: data, pg }
}

/// Admin, alice and bob, the limiter off.
async fn people(server: &Server) -> (Session, Session, Session) {
    let admin = server.login(ADMIN, ADMIN_PASS).await;
    server.disable_rate_limiter(&admin).await;
    server.register("alice").await;
    server.register("bob").await;
    let alice = server.login("alice", "pw-123456").await;
    let bob = server.login("bob", "pw-123456").await;
    (admin, alice, bob)
}

/// A private group of `owner` with `members`.
async fn group(server: &Server, owner: &Session, name: &str, members: &[&str]) -> String {
    let (status, body) =
        server.post("/api/v1/groups.create", Some(owner), json!({"name": name, "members": members})).await;
    assert_eq!(status, 200, "{body}");
    body["group"]["_id"].as_str().expect("group id").to_owned()
}

async fn post(server: &Server, who: &Session, rid: &str, text: &str, tmid: Option<&str>) -> Value {
    let mut message = json!({"rid": rid, "msg": text});
    if let Some(tmid) = tmid {
        message["tmid"] = json!(tmid);
    }
    let (status, body) =
        server.post("/api/v1/chat.sendMessage", Some(who), json!({"message": message})).await;
    assert_eq!(status, 200, "{body}");
    body["message"].clone()
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let run = super::start(super::Backend::Sqlite).await;
                super::$name(&run.server).await;
                run.finish().await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
            async fn $name() {
                let run = super::start(super::Backend::Postgres).await;
                super::$name(&run.server).await;
                run.finish().await;
            })*
        }
    };
}

on_both_backends!(
    handshake_versions_and_ping,
    login_forms_share_the_token_store,
    sub_permissions,
    reply_edit_delete_events,
    deleted_status_placeholders_are_message_changes,
    rest_fallback_and_typing,
    removed_member_stops_receiving,
    my_messages_legacy_collection,
    history_methods,
    read_and_membership_events,
    room_settings_reach_members,
    method_limits_and_metrics,
    my_messages_subscribed_before_login,
    reactions_over_the_socket,
    ended_logins_close_their_sockets,
    counters_reach_members,
    direct_messages_and_join_codes_over_the_socket,
    renames_reach_open_sockets,
    presence_follows_sockets,
);

/// Protocol rules (docs/realtime.md): greeting, connect, failed, a first frame other than connect, ping.
async fn handshake_versions_and_ping(server: &Server) {
    let mut ddp = Ddp::open(&server.base).await;
    assert_eq!(ddp.recv().await, json!({"server_id": "0"}));
    ddp.send(json!({"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]})).await;
    let connected = ddp.recv().await;
    assert_eq!(connected["msg"], "connected");
    assert!(connected["session"].as_str().is_some_and(|s| !s.is_empty()), "{connected}");
    ddp.send(json!({"msg": "ping", "id": "p1"})).await;
    assert_eq!(ddp.recv().await, json!({"msg": "pong", "id": "p1"}));
    ddp.send(json!({"msg": "ping"})).await;
    assert_eq!(ddp.recv().await, json!({"msg": "pong"}));
    // An unknown method: Meteor's 404, then `updated`.
    let result = ddp.call("no.such.method", json!([])).await;
    assert_eq!(result["error"]["error"], 404, "{result}");
    assert_eq!(result["error"]["reason"], "Method 'no.such.method' not found");
    // A frame that is not DDP gets an error frame, the socket stays.
    ddp.send(json!({"msg": "bogus"})).await;
    assert_eq!(ddp.recv().await["msg"], "error");

    // The 0.2.9 SDK speaks pre2 only.
    let mut old = Ddp::open(&server.base).await;
    old.recv().await;
    old.send(json!({"msg": "connect", "version": "pre2", "support": ["pre2"]})).await;
    assert_eq!(old.recv().await["msg"], "connected");

    // No version in common: `failed`, then close.
    let mut bad = Ddp::open(&server.base).await;
    bad.recv().await;
    bad.send(json!({"msg": "connect", "version": "9", "support": ["9"]})).await;
    assert_eq!(bad.recv().await, json!({"msg": "failed", "version": "1"}));
    assert_closed(&mut bad, None).await;

    // A method before connect: close 1002.
    let mut early = Ddp::open(&server.base).await;
    early.recv().await;
    early.send(json!({"msg": "method", "id": "1", "method": "login", "params": []})).await;
    assert_closed(&mut early, Some(CloseCode::Protocol)).await;

    // Binary frames are refused with 1007.
    let mut binary = Ddp::connect(&server.base).await;
    binary.send_raw(Message::binary(vec![1u8, 2, 3])).await;
    assert_closed(&mut binary, Some(CloseCode::Invalid)).await;
}

async fn assert_closed(ddp: &mut Ddp, code: Option<CloseCode>) {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + ddp::WAIT;
    loop {
        let next = tokio::time::timeout_at(deadline, ddp.socket.next()).await.expect("the socket closes");
        match next {
            None | Some(Err(_)) => {
                assert!(code.is_none(), "closed without the close code {code:?}");
                return;
            }
            Some(Ok(Message::Close(frame))) => {
                if let Some(code) = code {
                    assert_eq!(frame.map(|f| f.code), Some(code));
                }
                return;
            }
            Some(Ok(_)) => continue,
        }
    }
}

/// Login (docs/realtime.md): digest, plain and resume logins; a REST token resumes over DDP and
/// comes back unchanged; a bad resume is 403; logout ends the token.
async fn login_forms_share_the_token_store(server: &Server) {
    let (_admin, alice, _bob) = people(server).await;
    let mut ddp = Ddp::connect(&server.base).await;
    let digest = ddp
        .call("login", json!([{"user": {"username": "alice"}, "password": {"digest": sha256_hex("pw-123456"), "algorithm": "sha-256"}}]))
        .await;
    let result = &digest["result"];
    assert_eq!(result["id"], json!(alice.user_id), "{digest}");
    assert_eq!(result["type"], "password");
    assert!(result["token"].as_str().is_some_and(|t| t.len() >= 40));
    let expires = result["tokenExpires"]["$date"].as_i64().expect("tokenExpires as $date");
    assert!(expires > chrono_now_ms() + 80 * 86_400_000, "about 90 days ahead");

    let plain = ddp.call("login", json!([{"user": {"username": "alice"}, "password": "pw-123456"}])).await;
    assert_eq!(plain["result"]["id"], json!(alice.user_id), "{plain}");

    let wrong = ddp.call("login", json!([{"user": {"username": "alice"}, "password": "nope"}])).await;
    assert_eq!(wrong["error"]["error"], 403, "{wrong}");

    // The mobile app: REST login, then DDP resume with that token.
    let mut mobile = Ddp::connect(&server.base).await;
    let resumed = mobile.call("login", json!([{"resume": alice.token}])).await;
    assert_eq!(resumed["result"]["id"], json!(alice.user_id), "{resumed}");
    assert_eq!(resumed["result"]["token"], json!(alice.token), "resume answers the same token");
    assert_eq!(resumed["result"]["type"], "resume");

    let bad = mobile.call("login", json!([{"resume": "nope"}])).await;
    assert_eq!(bad["error"]["error"], 403, "{bad}");
    assert!(bad["error"]["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(bad.get("result").is_none(), "{bad}");

    // A DDP token works over REST, and DDP logout removes it.
    let token = digest["result"]["token"].as_str().expect("token").to_owned();
    let session = Session { user_id: alice.user_id.clone(), token };
    assert_eq!(server.get("/api/v1/me", Some(&session)).await.0, 200);
    let (mut third, _) = (Ddp::connect(&server.base).await, ());
    third.call("login", json!([{"resume": session.token}])).await;
    let out = third.call("logout", json!([])).await;
    assert!(out.get("error").is_none(), "{out}");
    assert_eq!(server.get("/api/v1/me", Some(&session)).await.0, 401);
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Streams and who may read them (docs/realtime.md), at sub time.
async fn sub_permissions(server: &Server) {
    let (admin, alice, bob) = people(server).await;
    let secret = group(server, &alice, "secret", &[]).await;
    let (mut a, a_uid) = Ddp::login(&server.base, "alice", "pw-123456").await;
    let (mut b, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    let ready =
        a.sub("s1", "stream-room-messages", json!([secret, {"useCollection": false, "args": []}])).await;
    assert_eq!(ready, json!({"msg": "ready", "subs": ["s1"]}));
    let denied =
        b.sub("s1", "stream-room-messages", json!([secret, {"useCollection": false, "args": []}])).await;
    assert_eq!(denied["msg"], "nosub", "{denied}");
    assert_eq!(denied["error"]["error"], "not-allowed");
    let other_user =
        b.sub("s2", "stream-notify-user", json!([format!("{a_uid}/rooms-changed"), false])).await;
    assert_eq!(other_user["error"]["error"], "not-allowed", "{other_user}");
    let own = a.sub("s2", "stream-notify-user", json!([format!("{a_uid}/rooms-changed"), false])).await;
    assert_eq!(own["msg"], "ready");
    // Public channels: any logged-in user.
    assert_eq!(b.sub("s3", "stream-room-messages", json!(["GENERAL", false])).await["msg"], "ready");
    // Streams we have nothing for still become ready (clients hang otherwise).
    for (i, name) in [
        "stream-notify-all",
        "stream-notify-logged",
        "stream-roles",
        "stream-user-presence",
        "meteor.loginServiceConfiguration",
    ]
    .iter()
    .enumerate()
    {
        let answer = b.sub(&format!("x{i}"), name, json!(["anything", false])).await;
        assert_eq!(answer["msg"], "ready", "{name}: {answer}");
    }
    // An empty event name.
    let empty = b.sub("s4", "stream-room-messages", json!(["", false])).await;
    assert_eq!(empty["error"]["error"], "invalid-event-name");
    // Not logged in.
    let mut anon = Ddp::connect(&server.base).await;
    assert_eq!(anon.sub("s1", "stream-room-messages", json!(["GENERAL", false])).await["msg"], "nosub");
    // Unsub answers nosub without error.
    a.send(json!({"msg": "unsub", "id": "s1"})).await;
    let (nosub, _) = a.until("nosub", |f| f["msg"] == "nosub").await;
    assert_eq!(nosub, json!({"msg": "nosub", "id": "s1"}));
    let _ = (admin, bob);
}

/// What each write sends (docs/realtime.md): a reply, its edit and its deletion.
async fn reply_edit_delete_events(server: &Server) {
    let (_admin, alice, bob) = people(server).await;
    let room = group(server, &bob, "thread-room", &["alice"]).await;
    let parent = post(server, &bob, &room, "the parent", None).await;
    let pid = parent["_id"].as_str().expect("parent id").to_owned();
    let (mut a, _) = Ddp::login(&server.base, "alice", "pw-123456").await;
    let (mut b, bob_uid) = Ddp::login(&server.base, "bob", "pw-123456").await;
    for ddp in [&mut a, &mut b] {
        assert_eq!(
            ddp.sub("r", "stream-room-messages", json!([room, {"useCollection": false, "args": []}])).await
                ["msg"],
            "ready"
        );
        assert_eq!(
            ddp.sub("d", "stream-notify-room", json!([format!("{room}/deleteMessage"), false])).await["msg"],
            "ready"
        );
    }
    assert_eq!(
        b.sub("u", "stream-notify-user", json!([format!("{bob_uid}/subscriptions-changed"), false])).await
            ["msg"],
        "ready"
    );

    // Reply.
    let sent = a.call("sendMessage", json!([{"_id": "r1", "rid": room, "msg": "x", "tmid": pid}])).await;
    let reply = &sent["result"];
    assert_eq!(reply["_id"], "r1", "{sent}");
    assert_eq!(reply["tmid"], json!(pid));
    let reply_ts = reply["ts"]["$date"].as_i64().expect("ts as $date");
    for ddp in [&mut a, &mut b] {
        let first = ddp.event("stream-room-messages", &room).await;
        assert_eq!(first[0]["_id"], "r1");
        assert!(first[0]["_updatedAt"]["$date"].is_i64(), "{first}");
        for field in ["_id", "rid", "msg", "ts", "u", "_updatedAt"] {
            assert!(first[0].get(field).is_some(), "{field} in {first}");
        }
        assert_eq!(
            first[0]["md"],
            json!([{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": "x"}]}]),
            "frames carry the markup tree"
        );
        let second = ddp.event("stream-room-messages", &room).await;
        assert_eq!(second[0]["_id"], json!(pid));
        assert_eq!(second[0]["tcount"], 1);
        assert_eq!(second[0]["tlm"]["$date"], json!(reply_ts));
    }
    let changed = b.event("stream-notify-user", &format!("{bob_uid}/subscriptions-changed")).await;
    assert_eq!(changed[0], "updated");
    assert_eq!(changed[1]["tunread"], json!([pid]), "{changed}");

    // Edit: a result without a value; the reply again, no frame for P.
    let edited = a.call("updateMessage", json!([{"_id": "r1", "rid": room, "msg": "y"}])).await;
    assert!(edited.get("result").is_none() && edited.get("error").is_none(), "{edited}");
    let again = b.event("stream-room-messages", &room).await;
    assert_eq!(again[0]["_id"], "r1");
    assert_eq!(again[0]["msg"], "y");
    assert_eq!(
        again[0]["md"],
        json!([{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": "y"}]}])
    );
    assert!(again[0]["editedAt"]["$date"].is_i64());
    assert_eq!(again[0]["editedBy"]["username"], "alice");
    assert_eq!(b.quiet_for(Duration::from_millis(500)).await, None, "no frame for the parent");

    // Delete: deleteMessage on notify-room, and the parent with tcount - 1.
    let deleted = a.call("deleteMessage", json!([{"_id": "r1"}])).await;
    assert!(deleted.get("error").is_none(), "{deleted}");
    let mut saw_delete = false;
    let mut saw_parent = false;
    while !(saw_delete && saw_parent) {
        let (frame, _) = b.until("delete events", |f| f["msg"] == "changed").await;
        match frame["collection"].as_str() {
            Some("stream-notify-room") => {
                assert_eq!(frame["fields"]["eventName"], json!(format!("{room}/deleteMessage")));
                assert_eq!(frame["fields"]["args"], json!([{"_id": "r1"}]));
                saw_delete = true;
            }
            Some("stream-room-messages") => {
                assert_eq!(frame["fields"]["args"][0]["_id"], json!(pid));
                assert_eq!(frame["fields"]["args"][0]["tcount"], 0);
                saw_parent = true;
            }
            _ => panic!("unexpected {frame}"),
        }
    }
    // A write through REST reaches the socket too.
    let rest = post(server, &alice, &room, "from REST", None).await;
    assert_eq!(b.event("stream-room-messages", &room).await[0]["_id"], rest["_id"]);
}

/// `setReaction [emoji, messageId, shouldReact?]`: stored on the message,
/// broadcast as a message change, refused for an invalid emoji; a REST
/// `chat.react` reaches the socket the same way.
async fn reactions_over_the_socket(server: &Server) {
    let (_admin, alice, bob) = people(server).await;
    let room = group(server, &bob, "reaction-room", &["alice"]).await;
    let message = post(server, &bob, &room, "react to me", None).await;
    let mid = message["_id"].as_str().expect("id").to_owned();
    let (mut a, _) = Ddp::login(&server.base, "alice", "pw-123456").await;
    let (mut b, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    assert_eq!(
        b.sub("r", "stream-room-messages", json!([room, {"useCollection": false, "args": []}])).await["msg"],
        "ready"
    );

    let reacted = a.call("setReaction", json!([":thumbsup:", mid])).await;
    assert!(reacted.get("error").is_none(), "{reacted}");
    let changed = b.event("stream-room-messages", &room).await;
    assert_eq!(changed[0]["_id"], json!(mid));
    assert_eq!(changed[0]["reactions"], json!({":thumbsup:": {"usernames": ["alice"]}}), "{changed}");
    assert!(changed[0]["_updatedAt"]["$date"].is_i64(), "{changed}");

    // Forcing what is already so: no change, no frame.
    let same = a.call("setReaction", json!(["thumbsup", mid, true])).await;
    assert!(same.get("error").is_none(), "{same}");
    assert_eq!(b.quiet_for(Duration::from_millis(300)).await, None, "no frame without a change");

    let invalid = a.call("setReaction", json!([":not an emoji:", mid])).await;
    assert_eq!(invalid["error"]["error"], "error-not-allowed", "{invalid}");
    assert_eq!(invalid["error"]["reason"], "Invalid emoji provided.", "{invalid}");
    let missing = a.call("setReaction", json!([":x:", "no-such-message"])).await;
    assert_eq!(missing["error"]["error"], "error-message-not-found", "{missing}");

    // REST removes it (a toggle), and the socket hears of it.
    let (status, body) = server
        .post("/api/v1/chat.react", Some(&alice), json!({"messageId": mid, "emoji": ":thumbsup:"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let removed = b.event("stream-room-messages", &room).await;
    assert_eq!(removed[0]["_id"], json!(mid));
    assert!(removed[0].get("reactions").is_none(), "{removed}");
}

/// With `Message_ShowDeletedStatus` on, deleting a reply re-sends it as a
/// `t: "rm"` placeholder on the room's message stream (a message change),
/// with the parent's `tcount - 1`, and sends no `deleteMessage`.
async fn deleted_status_placeholders_are_message_changes(server: &Server) {
    let (admin, alice, bob) = people(server).await;
    let (status, body) =
        server.post("/api/v1/settings/Message_ShowDeletedStatus", Some(&admin), json!({"value": true})).await;
    assert_eq!(status, 200, "{body}");
    let room = group(server, &bob, "deleted-status-room", &["alice"]).await;
    let parent = post(server, &bob, &room, "the parent", None).await;
    let pid = parent["_id"].as_str().expect("parent id").to_owned();
    let reply = post(server, &alice, &room, "the reply", Some(&pid)).await;
    let rid_of_reply = reply["_id"].as_str().expect("reply id").to_owned();
    let (mut b, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    assert_eq!(
        b.sub("r", "stream-room-messages", json!([room, {"useCollection": false, "args": []}])).await["msg"],
        "ready"
    );
    assert_eq!(
        b.sub("d", "stream-notify-room", json!([format!("{room}/deleteMessage"), false])).await["msg"],
        "ready"
    );

    let (status, body) = server
        .post("/api/v1/chat.delete", Some(&alice), json!({"roomId": room, "msgId": rid_of_reply}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (mut saw_placeholder, mut saw_parent) = (false, false);
    while !(saw_placeholder && saw_parent) {
        let (frame, _) = b.until("deletion events", |f| f["msg"] == "changed").await;
        assert_eq!(frame["collection"], "stream-room-messages", "no deleteMessage: {frame}");
        let message = &frame["fields"]["args"][0];
        if message["_id"] == json!(rid_of_reply) {
            assert_eq!((message["t"].clone(), message["msg"].clone()), (json!("rm"), json!("")), "{frame}");
            assert_eq!(message["tmid"], json!(pid));
            saw_placeholder = true;
        } else {
            assert_eq!(message["_id"], json!(pid), "{frame}");
            assert_eq!(message["tcount"], 0, "{frame}");
            saw_parent = true;
        }
    }
    assert_eq!(b.quiet_for(Duration::from_millis(500)).await, None, "nothing else, no deleteMessage");
    // Sync reports the placeholder as an update, not a removal.
    let (status, body) = server
        .get(
            &format!("/api/v1/chat.syncThreadMessages?tmid={pid}&updatedSince=1970-01-01T00:00:00.000Z"),
            Some(&bob),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messages"]["remove"], json!([]), "{body}");
    assert_eq!(body["messages"]["update"][0]["t"], "rm", "{body}");
}

/// The REST fallback (`method.call`), and the typing write.
async fn rest_fallback_and_typing(server: &Server) {
    let (_admin, alice, bob) = people(server).await;
    let room = group(server, &alice, "typing-room", &["bob"]).await;
    let parent = post(server, &alice, &room, "p", None).await;
    let pid = parent["_id"].as_str().expect("id").to_owned();
    post(server, &bob, &room, "r", Some(&pid)).await;

    let inner = json!({"msg": "method", "id": "9", "method": "getThreadMessages", "params": [{"tmid": pid}]});
    let (status, body) = server
        .post("/api/v1/method.call/getThreadMessages", Some(&alice), json!({"message": inner.to_string()}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    let frame: Value =
        serde_json::from_str(body["message"].as_str().expect("message string")).expect("EJSON");
    assert_eq!(frame["msg"], "result");
    assert_eq!(frame["id"], "9");
    let list = frame["result"].as_array().expect("result list");
    assert_eq!(list.len(), 2, "parent and one reply: {frame}");
    assert_eq!(list[0]["_id"], json!(pid));
    assert!(list[0]["ts"]["$date"].is_i64());
    // A method error is still 200 success:true, with the error inside.
    let inner = json!({"msg": "method", "id": "10", "method": "nope", "params": []});
    let (status, body) =
        server.post("/api/v1/method.call/nope", Some(&alice), json!({"message": inner.to_string()})).await;
    assert_eq!(status, 200);
    assert!(body["message"].as_str().expect("string").contains("\"error\":404"), "{body}");
    // A bad body is a 400.
    let (status, body) =
        server.post("/api/v1/method.call/x", Some(&alice), json!({"message": "not json"})).await;
    assert_eq!((status, body["error"].clone()), (400, json!("Invalid method call")));
    // Without auth: 401; callAnon logs in.
    assert_eq!(server.post("/api/v1/method.call/x", None, json!({})).await.0, 401);
    let inner = json!({"msg": "method", "id": "1", "method": "login", "params": [{"user": {"username": "bob"}, "password": "pw-123456"}]});
    let (status, body) =
        server.post("/api/v1/method.callAnon/login", None, json!({"message": inner.to_string()})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["message"].as_str().expect("string").contains(&bob.user_id));

    // Typing: others get user-activity and typing; the writer no echo.
    let (mut a, _) = Ddp::login(&server.base, "alice", "pw-123456").await;
    let (mut b, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    for ddp in [&mut a, &mut b] {
        ddp.sub("ua", "stream-notify-room", json!([format!("{room}/user-activity"), false])).await;
        ddp.sub("ty", "stream-notify-room", json!([format!("{room}/typing"), false])).await;
    }
    let wrote = a
        .call(
            "stream-notify-room",
            json!([format!("{room}/user-activity"), "alice", ["user-typing"], {"tmid": pid}]),
        )
        .await;
    assert!(wrote.get("result").is_none() && wrote.get("error").is_none(), "{wrote}");
    let activity = b.event("stream-notify-room", &format!("{room}/user-activity")).await;
    assert_eq!(activity, json!(["alice", ["user-typing"], {"tmid": pid}]));
    let typing = b.event("stream-notify-room", &format!("{room}/typing")).await;
    assert_eq!(typing, json!(["alice", true]));
    assert_eq!(a.quiet_for(Duration::from_millis(500)).await, None, "no echo to the writer");
    // Someone else's username is refused.
    let forged =
        a.call("stream-notify-room", json!([format!("{room}/user-activity"), "bob", ["user-typing"]])).await;
    assert!(forged.get("error").is_some(), "{forged}");
}

/// A user removed from a private room stops receiving it at once.
async fn removed_member_stops_receiving(server: &Server) {
    let (_admin, alice, _bob) = people(server).await;
    let room = group(server, &alice, "kick-room", &["bob"]).await;
    let (mut b, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    assert_eq!(b.sub("r", "stream-room-messages", json!([room, false])).await["msg"], "ready");
    post(server, &alice, &room, "before", None).await;
    assert_eq!(b.event("stream-room-messages", &room).await[0]["msg"], "before");
    let (status, body) =
        server.post("/api/v1/groups.kick", Some(&alice), json!({"roomId": room, "username": "bob"})).await;
    assert_eq!(status, 200, "{body}");
    post(server, &alice, &room, "after", None).await;
    assert_eq!(b.quiet_for(Duration::from_millis(1500)).await, None, "nothing after the kick");
}

/// A socket whose login ends elsewhere (its token logged out over REST,
/// its user deactivated) is closed, as Meteor closes it; other users'
/// sockets stay; the client's resume then fails.
async fn ended_logins_close_their_sockets(server: &Server) {
    let (admin, alice, bob) = people(server).await;
    let room = group(server, &alice, "ending", &["bob"]).await;
    let mut resumed = Ddp::connect(&server.base).await;
    assert_eq!(
        resumed.call("login", json!([{"resume": bob.token}])).await["result"]["id"],
        json!(bob.user_id)
    );
    assert_eq!(resumed.sub("r", "stream-room-messages", json!([room, false])).await["msg"], "ready");
    let (status, body) = server.post("/api/v1/logout", Some(&bob), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_closed(&mut resumed, Some(CloseCode::Normal)).await;

    let (mut bobs, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    let (mut alices, _) = Ddp::login(&server.base, "alice", "pw-123456").await;
    let (status, body) = server
        .post(
            "/api/v1/users.setActiveStatus",
            Some(&admin),
            json!({"userId": bob.user_id, "activeStatus": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_closed(&mut bobs, Some(CloseCode::Normal)).await;
    // Alice's socket is untouched.
    let still = alices.call("getRoomNameById", json!([room])).await;
    assert_eq!(still["result"], "ending", "{still}");
    let mut again = Ddp::connect(&server.base).await;
    let refused = again.call("login", json!([{"user": {"username": "bob"}, "password": "pw-123456"}])).await;
    assert_eq!(refused["error"]["error"], 403, "{refused}");
}

/// An admin renames bob over REST while bob's socket is open: bob's later
/// methods act with the new name (the session's user is re-read, not kept
/// from the login), and alice's room stream receives bob's earlier message
/// rewritten (a rename is announced as a re-read of every stream).
async fn renames_reach_open_sockets(server: &Server) {
    let (admin, alice, bob) = people(server).await;
    let room = group(server, &alice, "renames", &["bob"]).await;
    let earlier = post(server, &bob, &room, "before the rename", None).await;
    let (mut bobs, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    let (mut alices, _) = Ddp::login(&server.base, "alice", "pw-123456").await;
    assert_eq!(alices.sub("r", "stream-room-messages", json!([room, false])).await["msg"], "ready");
    server.rename(&admin, &bob.user_id, "robert").await;
    let (event, _) = alices.until("changed", |f| f["fields"]["args"][0]["_id"] == earlier["_id"]).await;
    assert_eq!(event["fields"]["args"][0]["u"]["username"], "robert", "{event}");
    // bob's socket still holds; what he sends now carries his new name.
    let mut sent = Value::Null;
    for _ in 0..50 {
        let reply = bobs
            .call(
                "sendMessage",
                json!([{"_id": format!("after-{}", chrono_now_ms()), "rid": room, "msg": "after"}]),
            )
            .await;
        sent = reply["result"].clone();
        if sent["u"]["username"] == "robert" {
            break;
        }
        // The session re-reads its user when the rename's announcement
        // reaches it, which may be just after the REST answer.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sent["u"]["username"], "robert", "{sent}");
}

/// Presence (docs/realtime.md#presence): a user's status follows their
/// sockets (login online, `UserPresence:away` idle, the last socket closed
/// offline) and their chosen status; each change reaches
/// `stream-user-presence` (the web client's `{added}` form and the one-user
/// form), `stream-notify-logged` `user-status` and the user's own
/// `userData`, and REST reads the same status.
async fn presence_follows_sockets(server: &Server) {
    let (admin, alice, bob) = people(server).await;
    let status_of = |who: &Session| format!("/api/v1/users.getStatus?userId={}", who.user_id);
    let (_, before) = server.get(&status_of(&bob), Some(&alice)).await;
    assert_eq!(before["status"], "offline", "{before}");
    let (mut watcher, _) = Ddp::login(&server.base, "alice", "pw-123456").await;
    let listen = json!(["", {"added": [bob.user_id], "removed": []}]);
    assert_eq!(watcher.sub("p", "stream-user-presence", listen).await["msg"], "ready");
    // A later sub of the web client's form changes the one listener and ends.
    let more = json!(["", {"added": ["someone-else"], "removed": []}]);
    assert_eq!(watcher.sub("p2", "stream-user-presence", more).await, json!({"msg": "nosub", "id": "p2"}));
    assert_eq!(watcher.sub("l", "stream-notify-logged", json!(["user-status", false])).await["msg"], "ready");
    let mut legacy = Ddp::login(&server.base, "alice", "pw-123456").await.0;
    assert_eq!(legacy.sub("one", "stream-user-presence", json!([bob.user_id, false])).await["msg"], "ready");
    // Not logged in: refused.
    let mut anonymous = Ddp::connect(&server.base).await;
    let refused = anonymous.sub("x", "stream-user-presence", json!(["", {"added": [bob.user_id]}])).await;
    assert_eq!(refused["msg"], "nosub", "{refused}");
    assert_eq!(refused["error"]["error"], "not-allowed", "{refused}");

    // bob's socket logs in: online everywhere.
    let (mut bobs, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    assert_eq!(watcher.event("stream-user-presence", &bob.user_id).await, json!([["bob", 1, ""]]));
    let logged = watcher.event("stream-notify-logged", "user-status").await;
    let fields = logged[0].as_array().map(|a| a[..4].to_vec()).unwrap_or_default();
    assert_eq!(fields, [json!(bob.user_id), json!("bob"), json!(1), json!("")], "{logged}");
    assert_eq!(legacy.event("stream-user-presence", &bob.user_id).await, json!([["bob", 1, ""]]));
    let (_, now) = server.get(&status_of(&bob), Some(&alice)).await;
    assert_eq!(now["status"], "online", "{now}");
    let (_, present) = server.get(&format!("/api/v1/users.presence?ids={}", bob.user_id), Some(&alice)).await;
    assert_eq!(present["users"][0]["status"], "online", "{present}");
    assert_eq!(present["users"][0]["username"], "bob", "{present}");

    // Idle, then a chosen status, then a status message.
    assert_eq!(bobs.call("UserPresence:away", json!([])).await["result"], true);
    assert_eq!(watcher.event("stream-user-presence", &bob.user_id).await, json!([["bob", 2, ""]]));
    assert_eq!(
        bobs.sub("me", "stream-notify-user", json!([format!("{}/userData", bob.user_id), false])).await
            ["msg"],
        "ready"
    );
    assert_eq!(bobs.call("UserPresence:setDefaultStatus", json!(["busy"])).await["result"], true);
    assert_eq!(watcher.event("stream-user-presence", &bob.user_id).await, json!([["bob", 3, ""]]));
    let own = bobs.event("stream-notify-user", &format!("{}/userData", bob.user_id)).await;
    assert_eq!(own[0]["type"], "updated", "{own}");
    assert_eq!(own[0]["diff"]["status"], "busy", "{own}");
    let invalid = bobs.call("UserPresence:setDefaultStatus", json!(["sleeping"])).await;
    assert_eq!(invalid["error"]["error"], "error-invalid-status", "{invalid}");
    assert!(bobs.call("setUserStatus", json!(["online", "in a meeting"])).await.get("error").is_none());
    // Online chosen: the (idle) connection decides; then the message.
    let (event, _) = watcher
        .until("bob away with a message", |f| {
            f["fields"]["eventName"] == bob.user_id.as_str()
                && f["fields"]["args"] == json!([["bob", 2, "in a meeting"]])
        })
        .await;
    assert_eq!(event["collection"], "stream-user-presence");
    // users.setStatus over REST is a presence change too.
    let (status, body) = server.post("/api/v1/users.setStatus", Some(&bob), json!({"status": "busy"})).await;
    assert_eq!(status, 200, "{body}");
    watcher
        .until("bob busy", |f| {
            f["fields"]["eventName"] == bob.user_id.as_str() && f["fields"]["args"][0][1] == 3
        })
        .await;
    assert_eq!(bobs.call("UserPresence:setDefaultStatus", json!(["online"])).await["result"], true);
    watcher
        .until("bob away again", |f| {
            f["fields"]["eventName"] == bob.user_id.as_str() && f["fields"]["args"][0][1] == 2
        })
        .await;

    // A second socket, active: online; the first (idle) closes: still
    // online; the last closes: offline.
    let (bobs2, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    watcher
        .until("bob online", |f| {
            f["fields"]["eventName"] == bob.user_id.as_str() && f["fields"]["args"][0][1] == 1
        })
        .await;
    drop(bobs);
    drop(bobs2);
    let (event, _) = watcher
        .until("bob offline", |f| {
            f["fields"]["eventName"] == bob.user_id.as_str() && f["fields"]["args"][0][1] == 0
        })
        .await;
    assert_eq!(event["fields"]["args"], json!([["bob", 0, "in a meeting"]]));
    let (_, after) = server.get(&status_of(&bob), Some(&alice)).await;
    assert_eq!(after["status"], "offline", "{after}");
    // The listener ended by its unsub hears nothing more (a one-user
    // listener opened now shows the event was sent).
    watcher.discard_pending();
    watcher.send(json!({"msg": "unsub", "id": "p"})).await;
    watcher.until("nosub of p", |f| f["msg"] == "nosub" && f["id"] == "p").await;
    watcher.discard_pending();
    let mut probe = Ddp::login(&server.base, "alice", "pw-123456").await.0;
    assert_eq!(probe.sub("q", "stream-user-presence", json!([bob.user_id, false])).await["msg"], "ready");
    let (again, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    assert_eq!(probe.event("stream-user-presence", &bob.user_id).await[0][1], 1);
    let strays = watcher.frames_for(Duration::from_millis(300)).await;
    assert!(strays.iter().all(|f| f["collection"] != "stream-user-presence"), "{strays:?}");

    // Broadcast off: the status still changes (REST), no event is sent.
    let setting = "/api/v1/settings/Troubleshoot_Disable_Presence_Broadcast";
    assert_eq!(server.post(setting, Some(&admin), json!({"value": true})).await.0, 200);
    drop(again);
    for _ in 0..100 {
        if server.get(&status_of(&bob), Some(&alice)).await.1["status"] == "offline" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.get(&status_of(&bob), Some(&alice)).await.1["status"], "offline");
    let strays = probe.frames_for(Duration::from_millis(300)).await;
    assert!(strays.iter().all(|f| f["collection"] != "stream-user-presence"), "{strays:?}");
    assert_eq!(server.post(setting, Some(&admin), json!({"value": false})).await.0, 200);
}

/// The 0.2.9 SDK's `["__my_messages__", true]`: `added` before `ready`,
/// then every message of the user's rooms with the room's details.
async fn my_messages_legacy_collection(server: &Server) {
    let (_admin, alice, _bob) = people(server).await;
    let room = group(server, &alice, "bot-room", &["bob"]).await;
    let (mut b, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    b.send(json!({"msg": "sub", "id": "my", "name": "stream-room-messages", "params": ["__my_messages__", true]})).await;
    let added = b.recv().await;
    assert_eq!(
        added,
        json!({"msg": "added", "collection": "stream-room-messages", "id": "id", "fields": {"eventName": "__my_messages__"}})
    );
    assert_eq!(b.recv().await, json!({"msg": "ready", "subs": ["my"]}));
    let message = post(server, &alice, &room, "hello bot", None).await;
    let args = b.event("stream-room-messages", "__my_messages__").await;
    assert_eq!(args[0]["_id"], message["_id"]);
    assert_eq!(args[1], json!({"roomParticipant": true, "roomType": "p", "roomName": "bot-room"}));
    // GENERAL too (bob joined it on registering).
    let general = post(server, &alice, "GENERAL", "in general", None).await;
    let args = b.event("stream-room-messages", "__my_messages__").await;
    assert_eq!(args[0]["_id"], general["_id"]);
}

/// loadHistory, loadNextMessages and loadSurroundingMessages read the room
/// by time, with `$date` parameters.
async fn history_methods(server: &Server) {
    let (_admin, alice, _bob) = people(server).await;
    let room = group(server, &alice, "history", &["bob"]).await;
    let mut sent = Vec::new();
    for i in 0..6 {
        sent.push(post(server, &alice, &room, &format!("m{i}"), None).await);
    }
    let pid = sent[0]["_id"].as_str().expect("id").to_owned();
    let reply = post(server, &alice, &room, "a reply", Some(&pid)).await;
    let (mut b, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    let ids = |v: &Value| -> Vec<String> {
        v.as_array().expect("messages").iter().map(|m| m["msg"].as_str().expect("msg").to_owned()).collect()
    };
    let latest = b.call("loadHistory", json!([room, null, 3, null, true])).await;
    assert_eq!(ids(&latest["result"]["messages"]), vec!["a reply", "m5", "m4"], "{latest}");
    assert!(latest["result"]["messages"][0]["ts"]["$date"].is_i64());
    let no_threads = b.call("loadHistory", json!([room, null, 3, null, false])).await;
    assert_eq!(ids(&no_threads["result"]["messages"]), vec!["m5", "m4", "m3"]);
    let end = sent[3]["ts"].clone();
    let end_ms = server_ts(&end);
    let older = b.call("loadHistory", json!([room, {"$date": end_ms}, 10])).await;
    assert_eq!(ids(&older["result"]["messages"]), vec!["m2", "m1", "m0"], "strictly before end");
    // ls: the last seen time; newer messages outside the page are counted.
    let ls = server_ts(&sent[1]["ts"]);
    let unread = b.call("loadHistory", json!([room, null, 2, {"$date": ls}, true])).await;
    assert_eq!(unread["result"]["unreadNotLoaded"], 3, "m2, m3, m4 are unread and not loaded: {unread}");
    assert_eq!(unread["result"]["firstUnread"]["msg"], "m2");
    let next = b.call("loadNextMessages", json!([room, {"$date": end_ms}, 2])).await;
    assert_eq!(ids(&next["result"]["messages"]), vec!["m4", "m5"]);
    let around = b
        .call(
            "loadSurroundingMessages",
            json!([{"_id": sent[3]["_id"], "rid": room, "ts": {"$date": end_ms}}, 4]),
        )
        .await;
    assert_eq!(ids(&around["result"]["messages"]), vec!["m2", "m1", "m3", "m4", "m5"], "{around}");
    assert_eq!(around["result"]["moreBefore"], true);
    assert_eq!(around["result"]["moreAfter"], true);
    // A room the caller cannot read: false, as Rocket.Chat.
    let secret = group(server, &alice, "secret-history", &[]).await;
    assert_eq!(b.call("loadHistory", json!([secret])).await["result"], false);
    let _ = reply;
}

/// The server's ISO `ts` as epoch milliseconds.
fn server_ts(ts: &Value) -> i64 {
    let s = ts.as_str().expect("ISO ts");
    chrono::DateTime::parse_from_rfc3339(s).expect("date").timestamp_millis()
}

/// Marking a thread read and joining or leaving a room reach the user's
/// own streams: subscriptions-changed and rooms-changed.
async fn read_and_membership_events(server: &Server) {
    let (_admin, alice, bob) = people(server).await;
    let room = group(server, &alice, "reads", &["bob"]).await;
    let parent = post(server, &bob, &room, "p", None).await;
    let pid = parent["_id"].as_str().expect("id").to_owned();
    post(server, &alice, &room, "r", Some(&pid)).await;
    let (mut b, bob_uid) = Ddp::login(&server.base, "bob", "pw-123456").await;
    b.sub("s", "stream-notify-user", json!([format!("{bob_uid}/subscriptions-changed"), false])).await;
    b.sub("r", "stream-notify-user", json!([format!("{bob_uid}/rooms-changed"), false])).await;
    let read = b.call("readThreads", json!([pid])).await;
    assert!(read.get("error").is_none(), "{read}");
    let changed = b.event("stream-notify-user", &format!("{bob_uid}/subscriptions-changed")).await;
    assert_eq!(changed[0], "updated");
    assert_eq!(changed[1]["tunread"], json!([]), "{changed}");
    // Invited into a new room: inserted; kicked: removed.
    let other = group(server, &alice, "elsewhere", &[]).await;
    let (status, body) =
        server.post("/api/v1/groups.invite", Some(&alice), json!({"roomId": other, "username": "bob"})).await;
    assert_eq!(status, 200, "{body}");
    let inserted =
        b.event_past_updates("stream-notify-user", &format!("{bob_uid}/rooms-changed"), &other).await;
    assert_eq!(inserted[0], "inserted", "{inserted}");
    assert_eq!(inserted[1]["_id"], json!(other));
    let sub =
        b.event_past_updates("stream-notify-user", &format!("{bob_uid}/subscriptions-changed"), &other).await;
    assert_eq!((sub[0].clone(), sub[1]["rid"].clone()), (json!("inserted"), json!(other)));
    let (status, body) =
        server.post("/api/v1/groups.kick", Some(&alice), json!({"roomId": other, "username": "bob"})).await;
    assert_eq!(status, 200, "{body}");
    let removed =
        b.event_past_updates("stream-notify-user", &format!("{bob_uid}/rooms-changed"), &other).await;
    assert_eq!(removed, json!(["removed", {"_id": other}]));
    let _ = bob;
}

/// A new message moves the members' counters, and each member connected
/// (through `__my_messages__`, as the official clients) gets the changed
/// subscription on subscriptions-changed; the sender gets theirs read.
async fn counters_reach_members(server: &Server) {
    let (_admin, alice, bob) = people(server).await;
    let room = group(server, &alice, "counted", &["bob"]).await;
    let (mut b, bob_uid) = Ddp::login(&server.base, "bob", "pw-123456").await;
    b.sub("m", "stream-room-messages", json!(["__my_messages__", false])).await;
    b.sub("s", "stream-notify-user", json!([format!("{bob_uid}/subscriptions-changed"), false])).await;
    let event = format!("{bob_uid}/subscriptions-changed");

    async fn about(b: &mut Ddp, event: &str, room: &str) -> Value {
        loop {
            let args = b.event("stream-notify-user", event).await;
            if args[1]["rid"] == room {
                return args;
            }
        }
    }
    post(server, &alice, &room, "hi @bob", None).await;
    let sub = about(&mut b, &event, &room).await;
    assert_eq!(sub[0], "updated");
    let counters = |s: &Value| (s["alert"].clone(), s["unread"].clone(), s["userMentions"].clone());
    assert_eq!(counters(&sub[1]), (json!(true), json!(1), json!(1)), "{sub}");

    let own = post(server, &bob, &room, "thanks", None).await;
    let sub = about(&mut b, &event, &room).await;
    assert_eq!(counters(&sub[1]), (json!(false), json!(0), json!(0)), "{sub}");
    assert_eq!(sub[1]["ls"]["$date"], json!(server_ts(&own["ts"])), "{sub}");
}

/// A room's settings changed over REST reach its members' own streams: the
/// room on rooms-changed, their subscription (renamed, archived) on
/// subscriptions-changed; a non-member hears nothing.
async fn room_settings_reach_members(server: &Server) {
    let (admin, alice, _bob) = people(server).await;
    let room = group(server, &alice, "settings-room", &["bob"]).await;
    let (mut b, bob_uid) = Ddp::login(&server.base, "bob", "pw-123456").await;
    b.sub("s", "stream-notify-user", json!([format!("{bob_uid}/subscriptions-changed"), false])).await;
    b.sub("r", "stream-notify-user", json!([format!("{bob_uid}/rooms-changed"), false])).await;
    let (mut outsider, admin_uid) = Ddp::login(&server.base, ADMIN, ADMIN_PASS).await;
    outsider.sub("r", "stream-notify-user", json!([format!("{admin_uid}/rooms-changed"), false])).await;

    let (status, body) = server
        .post("/api/v1/groups.rename", Some(&alice), json!({"roomId": room, "name": "renamed-room"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let changed = b.event("stream-notify-user", &format!("{bob_uid}/rooms-changed")).await;
    assert_eq!((changed[0].clone(), changed[1]["_id"].clone()), (json!("updated"), json!(room)));
    assert_eq!(changed[1]["name"], "renamed-room", "{changed}");
    let sub = b.event("stream-notify-user", &format!("{bob_uid}/subscriptions-changed")).await;
    assert_eq!((sub[0].clone(), sub[1]["name"].clone()), (json!("updated"), json!("renamed-room")), "{sub}");

    let (status, body) = server.post("/api/v1/groups.archive", Some(&alice), json!({"roomId": room})).await;
    assert_eq!(status, 200, "{body}");
    let changed = b.event("stream-notify-user", &format!("{bob_uid}/rooms-changed")).await;
    assert_eq!(changed[1]["archived"], true, "{changed}");
    let sub = b.event("stream-notify-user", &format!("{bob_uid}/subscriptions-changed")).await;
    assert_eq!((sub[1]["archived"].clone(), sub[1]["open"].clone()), (json!(true), json!(false)), "{sub}");
    // The admin is not a member: their own stream stays quiet.
    assert_eq!(outsider.quiet_for(Duration::from_millis(300)).await, None);
    let _ = admin;
}

/// After a reconnect the 0.2.9 SDK (asteroid) re-subscribes
/// `["__my_messages__", true]` before its resume login goes out. The sub
/// must be accepted (Rocket.Chat checks each delivery, not the sub), stay
/// silent while nobody is logged in, and deliver once the login lands;
/// refusing it left a reconnected bot deaf.
async fn my_messages_subscribed_before_login(server: &Server) {
    let (_admin, alice, bob) = people(server).await;
    let room = group(server, &alice, "early-room", &["bob"]).await;
    let mut b = Ddp::connect(&server.base).await;
    b.send(json!({"msg": "sub", "id": "my", "name": "stream-room-messages", "params": ["__my_messages__", true]}))
        .await;
    assert_eq!(
        b.recv().await,
        json!({"msg": "added", "collection": "stream-room-messages", "id": "id", "fields": {"eventName": "__my_messages__"}})
    );
    assert_eq!(b.recv().await, json!({"msg": "ready", "subs": ["my"]}));
    post(server, &alice, &room, "before the login", None).await;
    let quiet = b.quiet_for(Duration::from_millis(500)).await;
    assert_eq!(quiet, None, "nothing for a connection without a user");

    let login = b.call("login", json!([{"resume": bob.token}])).await;
    assert_eq!(login["result"]["id"], json!(bob.user_id), "{login}");
    let message = post(server, &alice, &room, "after the login", None).await;
    let args = b.event("stream-room-messages", "__my_messages__").await;
    assert_eq!(args[0]["_id"], message["_id"]);
    assert_eq!(args[1], json!({"roomParticipant": true, "roomType": "p", "roomName": "early-room"}));
    // Other streams still need a user at sub time.
    let mut anon = Ddp::connect(&server.base).await;
    assert_eq!(anon.sub("r", "stream-room-messages", json!([room, false])).await["msg"], "nosub");
}

/// Two instances on one PostgreSQL database: a client of A receives what is
/// written through B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn postgres_two_instances_relay_each_others_writes() {
    let pg = PgSchema::create().await;
    let data_a = tempfile::tempdir().expect("tempdir");
    let data_b = tempfile::tempdir().expect("tempdir");
    let a = Server::start(support::pg_serve_cmd(data_a.path(), &pg));
    let b = Server::start(support::pg_serve_cmd(data_b.path(), &pg));
    let (_admin, alice, bob) = people(&a).await;
    let room = group(&a, &alice, "across", &["bob"]).await;
    let (mut on_a, _) = Ddp::login(&a.base, "bob", "pw-123456").await;
    assert_eq!(on_a.sub("r", "stream-room-messages", json!([room, false])).await["msg"], "ready");
    for i in 0..5 {
        let sent = post(&b, &alice, &room, &format!("via b {i}"), None).await;
        let got = on_a.event("stream-room-messages", &room).await;
        assert_eq!(got[0]["_id"], sent["_id"]);
    }
    // Typing written on B reaches a listener on A.
    on_a.sub("t", "stream-notify-room", json!([format!("{room}/typing"), false])).await;
    let (mut on_b, _) = Ddp::login(&b.base, "alice", "pw-123456").await;
    let wrote = on_b.call("stream-notify-room", json!([format!("{room}/typing"), "alice", true])).await;
    assert!(wrote.get("error").is_none(), "{wrote}");
    assert_eq!(on_a.event("stream-notify-room", &format!("{room}/typing")).await, json!(["alice", true]));
    // Bob deactivated through B: his socket on A closes.
    let admin = b.login(ADMIN, ADMIN_PASS).await;
    let (status, body) = b
        .post(
            "/api/v1/users.setActiveStatus",
            Some(&admin),
            json!({"userId": bob.user_id, "activeStatus": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_closed(&mut on_a, Some(CloseCode::Normal)).await;
    drop(a);
    drop(b);
    pg.drop().await;
}

/// The server pings a silent client, then closes it with 4000; timings
/// shortened through the router's options, on an in-process server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_clients_are_pinged_then_dropped() {
    use futures_util::StreamExt;
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        threadsync_storage_sqlite::SqliteStore::open(dir.path(), Default::default()).await.expect("store");
    let blobs = threadsync_storage_files::DiskBlobs::open(dir.path().join("uploads")).await.expect("files");
    let services =
        threadsync_service::Services::start(Arc::new(store), Arc::new(blobs)).await.expect("services");
    // Without the bench feature `realtime` is the only field; with it (the
    // workspace build) the rest must default.
    #[allow(clippy::needless_update)]
    let options = threadsync_api::RouterOptions {
        realtime: threadsync_api::realtime::RealtimeOptions {
            ping_after: Duration::from_millis(300),
            drop_after: Duration::from_millis(300),
        },
        ..Default::default()
    };
    let app = threadsync_api::router_with(services, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ =
            axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
    });

    // A client that answers pings stays; one that does not is dropped.
    let mut silent = Ddp::connect(&base).await;
    let ping = tokio::time::timeout(Duration::from_secs(5), silent.socket.next()).await.expect("a ping");
    match ping {
        Some(Ok(Message::Text(text))) => {
            assert_eq!(serde_json::from_str::<Value>(&text).expect("json"), json!({"msg": "ping"}))
        }
        other => panic!("expected a ping, got {other:?}"),
    }
    assert_closed(&mut silent, Some(CloseCode::from(4000))).await;

    let mut lively = Ddp::connect(&base).await;
    for _ in 0..4 {
        // recv answers each ping with a pong; the connection survives.
        lively.send(json!({"msg": "ping", "id": "k"})).await;
        assert_eq!(lively.recv().await, json!({"msg": "pong", "id": "k"}));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = lively.call("no.such.method", json!([])).await;
    assert_eq!(after["error"]["error"], 404, "still open: {after}");
}

/// Methods are rate limited per connection (sendMessage 5 per second for a
/// plain user), and /metrics counts connections and frames.
async fn method_limits_and_metrics(server: &Server) {
    let admin = server.login(ADMIN, ADMIN_PASS).await;
    server.register("carol").await;
    let (mut c, _) = Ddp::login(&server.base, "carol", "pw-123456").await;
    let mut refused = None;
    for i in 0..8 {
        let sent = c.call("sendMessage", json!([{"rid": "GENERAL", "msg": format!("fast {i}")}])).await;
        if sent.get("error").is_some() {
            refused = Some((i, sent));
            break;
        }
    }
    let (at, refusal) = refused.expect("a refusal within 8 quick sends");
    assert_eq!(at, 5, "five per second go through");
    assert_eq!(refusal["error"]["error"], "too-many-requests", "{refusal}");
    assert!(refusal["error"]["details"]["timeToReset"].as_u64().is_some_and(|ms| ms <= 1000));
    // Admins are exempt.
    let (mut a, _) = Ddp::login(&server.base, ADMIN, ADMIN_PASS).await;
    for i in 0..8 {
        let sent = a.call("sendMessage", json!([{"rid": "GENERAL", "msg": format!("admin {i}")}])).await;
        assert!(sent.get("error").is_none(), "{sent}");
    }
    let response = server.http.get(format!("{}/metrics", server.base)).send().await.expect("metrics");
    let text = response.text().await.expect("text");
    let figure = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /metrics"))
    };
    assert!(figure("threadsync_ws_connections") >= 2.0);
    assert!(figure("threadsync_ws_connections_total") >= 2.0);
    assert!(text.contains("# TYPE threadsync_ws_frames_total counter"));
    // Clients may use the REST fallback: the setting says so, as Rocket.Chat's default.
    let (status, setting) = server.get("/api/v1/settings/API_Use_REST_For_DDP_Calls", Some(&admin)).await;
    assert_eq!((status, setting["value"].clone()), (200, json!(true)), "{setting}");
}

/// `createDirectMessage` with one username or several (a DM of several
/// users, the same room however the names are ordered), and `joinRoom`
/// with a channel's join code.
async fn direct_messages_and_join_codes_over_the_socket(server: &Server) {
    let (_admin, alice, _bob) = people(server).await;
    let (mut a, alice_uid) = Ddp::login(&server.base, "alice", "pw-123456").await;
    let one = a.call("createDirectMessage", json!(["bob"])).await;
    assert_eq!(one["result"]["t"], "d", "{one}");
    assert_eq!(one["result"]["uids"].as_array().map(Vec::len), Some(2), "{one}");
    let several = a.call("createDirectMessage", json!(["bob", ADMIN])).await;
    let rid = several["result"]["rid"].as_str().expect("rid").to_owned();
    assert_eq!(several["result"]["uids"].as_array().map(Vec::len), Some(3), "{several}");
    assert!(several["result"]["uids"].as_array().is_some_and(|u| u.contains(&json!(alice_uid))));
    let again = a.call("createDirectMessage", json!([ADMIN, "bob"])).await;
    assert_eq!(again["result"]["_id"], json!(rid), "the same members, the same room");
    let bad = a.call("createDirectMessage", json!(["bob", 7])).await;
    assert_eq!(bad["error"]["error"], "error-invalid-params", "{bad}");

    let (status, body) = server.post("/api/v1/channels.create", Some(&alice), json!({"name": "vault"})).await;
    assert_eq!(status, 200, "{body}");
    let vault = body["channel"]["_id"].as_str().expect("id").to_owned();
    let (status, body) = server
        .post("/api/v1/channels.setJoinCode", Some(&alice), json!({"roomId": vault, "joinCode": "k3y"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (mut b, _) = Ddp::login(&server.base, "bob", "pw-123456").await;
    let refused = b.call("joinRoom", json!([vault])).await;
    assert_eq!(refused["error"]["error"], "error-code-required", "{refused}");
    let wrong = b.call("joinRoom", json!([vault, "nope"])).await;
    assert_eq!(wrong["error"]["error"], "error-code-invalid", "{wrong}");
    let joined = b.call("joinRoom", json!([vault, "k3y"])).await;
    assert_eq!(joined["result"], true, "{joined}");
}
