//! `sub`: the streams a client may listen to, and who may read which.
//!
//! A stream sub names the stream (`stream-room-messages`, ...) and an event
//! name (`params[0]`: a room id, `<rid>/<event>`, `<uid>/<event>`). The read
//! permission is checked once, at sub time; a denial is `nosub` with
//! `not-allowed`. Losing access later (a user removed from a private room)
//! is handled by the relay, which drops such subs when the room changes.

use super::ddp;
use super::ddp::DdpRefusal;
use super::session::Session;
use serde_json::Value;

pub const ROOM_MESSAGES: &str = "stream-room-messages";
pub const NOTIFY_ROOM: &str = "stream-notify-room";
pub const NOTIFY_USER: &str = "stream-notify-user";
pub const NOTIFY_LOGGED: &str = "stream-notify-logged";
pub const USER_PRESENCE: &str = "stream-user-presence";
/// `stream-notify-logged`'s event for every user's status change.
pub const USER_STATUS: &str = "user-status";
/// `stream-room-messages`' event for every message of every room of the user.
pub const MY_MESSAGES: &str = "__my_messages__";
/// Users one connection's `stream-user-presence` listener may follow.
pub const MAX_PRESENCE_USERS: usize = 5_000;

/// Streams and publications clients subscribe to that carry nothing we
/// have (roles, apps, login services...): they get `ready` and
/// stay silent, since a client whose sub never becomes ready hangs.
const SILENT: &[&str] = &[
    "meteor.loginServiceConfiguration",
    "meteor_autoupdate_clientVersions",
    "userData",
    "activeUsers",
    "roles",
    "stream-notify-all",
    "stream-roles",
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
    if name == USER_PRESENCE {
        presence_listener(session, sub_id, &params);
        return;
    }
    if ![ROOM_MESSAGES, NOTIFY_ROOM, NOTIFY_USER, NOTIFY_LOGGED].contains(&name) {
        let error = DdpRefusal::SubscriptionNotFound { name: name.to_owned() }.object();
        session.send(&ddp::nosub_frame(&id, Some(error)));
        return;
    }
    let event = match params.first().and_then(Value::as_str) {
        Some(e) if !e.is_empty() => e.to_owned(),
        _ => {
            let error = DdpRefusal::InvalidEventName.object();
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
    DdpRefusal::StreamNotAllowed.object()
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
        // Any logged-in user: `user-status` carries every user's status
        // changes; other events subscribe fine and stay silent.
        NOTIFY_LOGGED => Ok(true),
        _ => Ok(false),
    }
}

/// `stream-user-presence`, any logged-in user, in Rocket.Chat's two forms:
///
/// - `[uid]`: one sub per user followed (older clients);
/// - `["", {added: [uid...], removed: [uid...]}]`: the web client's. A
///   connection has one listener: the first such sub creates it and is
///   `ready`; each later one changes the listener's users and ends at once
///   (`nosub` without error), as Rocket.Chat stops it.
///
/// Either way the events are `[username, code, statusText]` under the
/// user's id; nothing is sent at sub time (clients read the current status
/// with `users.presence`).
fn presence_listener(session: &mut Session, sub_id: String, params: &[Value]) {
    let id = Value::String(sub_id.clone());
    if session.user().is_none() {
        session.send(&ddp::nosub_frame(&id, Some(not_allowed())));
        return;
    }
    if let Some(uid) = params.first().and_then(Value::as_str).filter(|uid| !uid.is_empty()) {
        session.add_sub(sub_id, (USER_PRESENCE.to_owned(), uid.to_owned()));
        session.send(&ddp::ready_frame(&id));
        return;
    }
    let ids = |key: &str| -> Vec<String> {
        let list = params.get(1).and_then(|o| o.get(key)).and_then(Value::as_array);
        list.into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
    };
    let (added, removed) = (ids("added"), ids("removed"));
    let main = session.presence_listener.is_none();
    let (listener_id, mut users) =
        session.presence_listener.take().unwrap_or_else(|| (sub_id.clone(), Default::default()));
    let target = session.target(&listener_id);
    for uid in added {
        if users.len() < MAX_PRESENCE_USERS && !users.contains(&uid) {
            session.rt.hub.add((USER_PRESENCE.to_owned(), uid.clone()), target.clone());
            users.insert(uid);
        }
    }
    for uid in removed {
        if users.remove(&uid) {
            session.rt.hub.remove(&(USER_PRESENCE.to_owned(), uid), session.conn, &listener_id);
        }
    }
    session.presence_listener = Some((listener_id, users));
    if main {
        session.send(&ddp::ready_frame(&id));
    } else {
        session.send(&ddp::nosub_frame(&id, None));
    }
}
