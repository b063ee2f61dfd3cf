//! `sub`: the streams a client may listen to, and who may read which.
//!
//! A stream sub names the stream (`stream-room-messages`, ...) and an event
//! name (`params[0]`: a room id, `<rid>/<event>`, `<uid>/<event>`). The read
//! permission is checked once, at sub time; a denial is `nosub` with
//! `not-allowed`. Losing access later (a user removed from a private room)
//! is handled by the relay, which drops such subs when the room changes.

use super::ddp;
use super::session::Session;
use serde_json::{json, Value};

pub const ROOM_MESSAGES: &str = "stream-room-messages";
pub const NOTIFY_ROOM: &str = "stream-notify-room";
pub const NOTIFY_USER: &str = "stream-notify-user";
/// `stream-room-messages`' event for every message of every room of the user.
pub const MY_MESSAGES: &str = "__my_messages__";

/// Streams and publications clients subscribe to that carry nothing we
/// have (presence, roles, apps, login services...): they get `ready` and
/// stay silent, since a client whose sub never becomes ready hangs.
const SILENT: &[&str] = &[
    "meteor.loginServiceConfiguration",
    "meteor_autoupdate_clientVersions",
    "userData",
    "activeUsers",
    "roles",
    "stream-notify-all",
    "stream-notify-logged",
    "stream-roles",
    "stream-user-presence",
    "stream-apps",
    "stream-importers",
    "stream-livechat-room",
    "stream-livechat-inquiry-queue-observer",
    "stream-integrations",
    "stream-integration-history",
    "stream-canned-responses",
    "stream-video-conference",
];

/// Handles one `sub` frame: registers it and answers `ready` (after the
/// optional `added`), or `nosub` with the reason.
pub async fn subscribe(session: &mut Session, sub_id: String, name: &str, params: Vec<Value>) {
    let id = Value::String(sub_id.clone());
    if SILENT.contains(&name) {
        session.send(&ddp::ready_frame(&id));
        return;
    }
    if ![ROOM_MESSAGES, NOTIFY_ROOM, NOTIFY_USER].contains(&name) {
        let reason = format!("Subscription '{}' not found", threadsync_domain::error::echo(name));
        session.send(&ddp::nosub_frame(&id, Some(ddp::error_object(json!(404), &reason, None))));
        return;
    }
    let event = match params.first().and_then(Value::as_str) {
        Some(e) if !e.is_empty() => e.to_owned(),
        _ => {
            let error = ddp::error_object(json!("invalid-event-name"), "Invalid event name", None);
            session.send(&ddp::nosub_frame(&id, Some(error)));
            return;
        }
    };
    // `true`, or `{useCollection: true}`: the legacy form that wants an
    // `added` document before `ready` (the 0.2.9 SDK drops every later
    // `changed` frame without it).
    let use_collection = match params.get(1) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Object(o)) => o.get("useCollection").and_then(Value::as_bool).unwrap_or(false),
        _ => false,
    };
    match allowed(session, name, &event).await {
        Ok(true) => {}
        Ok(false) => {
            session.send(&ddp::nosub_frame(&id, Some(not_allowed())));
            return;
        }
        Err(e) => {
            session.send(&ddp::nosub_frame(&id, Some(ddp::domain_error(&e))));
            return;
        }
    }
    session.add_sub(sub_id, (name.to_owned(), event.clone()));
    // The relay must know the room's current position before `ready`, so
    // every change committed after `ready` is delivered.
    let relay_result = match (name, event.as_str()) {
        (ROOM_MESSAGES, MY_MESSAGES) => match session.user() {
            Some(user) => session.rt.relay.track_user_rooms(user).await,
            None => Ok(()),
        },
        (ROOM_MESSAGES, rid) => session.rt.relay.track(rid).await,
        (NOTIFY_ROOM, ev) => match ev.split_once('/') {
            Some((rid, "deleteMessage" | "deleteMessageBulk")) => session.rt.relay.track(rid).await,
            _ => Ok(()),
        },
        _ => Ok(()),
    };
    if let Err(e) = relay_result {
        session.remove_sub(id.as_str().unwrap_or_default());
        session.send(&ddp::nosub_frame(&id, Some(ddp::domain_error(&e))));
        return;
    }
    if use_collection {
        session.send(&ddp::stream_added_frame(name, &event));
    }
    session.send(&ddp::ready_frame(&id));
}

pub fn not_allowed() -> Value {
    ddp::error_object(json!("not-allowed"), "Not allowed", None)
}

/// The read rule of each stream.
async fn allowed(session: &Session, stream: &str, event: &str) -> threadsync_domain::Result<bool> {
    // `__my_messages__` may be subscribed before login, as in Rocket.Chat
    // (it checks each delivery against the connection's user, not the sub):
    // after a reconnect the 0.2.9 SDK re-subscribes before its resume login
    // is sent. It delivers nothing until a login binds it to a user.
    if stream == ROOM_MESSAGES && event == MY_MESSAGES {
        return Ok(true);
    }
    let Some(user) = session.user() else { return Ok(false) };
    let services = &session.rt.services;
    match stream {
        // Room access: any logged-in user for a public channel, members
        // for private groups and direct messages.
        ROOM_MESSAGES => Ok(services.readable_room(user, event).await?.is_some()),
        NOTIFY_ROOM => {
            let Some((rid, _)) = event.split_once('/') else { return Ok(false) };
            Ok(services.readable_room(user, rid).await?.is_some())
        }
        NOTIFY_USER => Ok(event.split_once('/').is_some_and(|(uid, _)| uid == user.id)),
        _ => Ok(false),
    }
}
