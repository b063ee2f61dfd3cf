//! DDP methods: Rocket.Chat's names and parameter forms, each mapped onto
//! the same services the REST API uses, so a rule holds on both paths.
//!
//! A method answers a JSON value (left out of the `result` frame when
//! null) or a Meteor error object. Writes need no event code here: the
//! relay sees every committed change in the store's feed and sends the
//! stream events (see `relay`).

use super::ddp;
use super::ddp::DdpRefusal;
use super::session::Session;
use serde_json::{json, Map, Value};
use threadsync_domain::Code;
use threadsync_domain::{presence, Error, RoomType, Timestamp, User};
use threadsync_service::{
    followed_message, HistoryQuery, ListParams, LoginCredentials, ReactRequest, RoomSelector, StatusChange,
    ThreadRequest, ThreadsListRequest,
};

/// What a method answers: a value, or an error object.
pub type Reply = Result<Value, Value>;

/// Runs method `name` for the session.
pub async fn call(session: &mut Session, name: &str, params: Vec<Value>) -> Reply {
    match name {
        "login" => login(session, params).await,
        "logout" => {
            logout(session).await;
            Ok(Value::Null)
        }
        _ => {
            let Some(user) = session.user().cloned() else {
                // Known methods need a user; unknown ones are unknown either way.
                return if is_known(name) {
                    Err(DdpRefusal::NeedsLogin { method: name.to_owned() }.object())
                } else {
                    Err(not_found(name))
                };
            };
            call_as(session, &user, name, params).await
        }
    }
}

const KNOWN: &[&str] = &[
    "sendMessage",
    "updateMessage",
    "deleteMessage",
    "setReaction",
    "getThreadMessages",
    "getThreadsList",
    "followMessage",
    "unfollowMessage",
    "getSingleMessage",
    "loadHistory",
    "loadNextMessages",
    "loadSurroundingMessages",
    "readThreads",
    "rooms/get",
    "subscriptions/get",
    "getRoomIdByNameOrId",
    "getRoomNameById",
    "joinRoom",
    "leaveRoom",
    "createDirectMessage",
    "stream-notify-room",
    "getUserRoles",
    "UserPresence:online",
    "UserPresence:away",
    "UserPresence:setDefaultStatus",
    "setUserStatus",
    "permissions/get",
    "public-settings/get",
];

fn is_known(name: &str) -> bool {
    KNOWN.contains(&name)
}

fn not_found(name: &str) -> Value {
    DdpRefusal::MethodNotFound { name: name.to_owned() }.object()
}

fn domain(e: Error) -> Value {
    if let Error::Internal(detail) = &e {
        tracing::error!(%detail, "internal error in a DDP method");
    }
    ddp::domain_error(&e)
}

fn invalid_params(method: &str) -> Value {
    DdpRefusal::InvalidParams { method: method.to_owned() }.object()
}

/// A document as DDP sends it (dates as `{"$date": ms}`).
fn ejson<T: serde::Serialize>(doc: &T) -> Reply {
    let mut value = serde_json::to_value(doc).map_err(|e| domain(Error::internal(e)))?;
    ddp::to_ejson(&mut value);
    Ok(value)
}

fn object_param(params: &[Value], method: &str) -> Result<Map<String, Value>, Value> {
    params.first().and_then(Value::as_object).cloned().ok_or_else(|| invalid_params(method))
}

fn string_param(params: &[Value], index: usize, method: &str) -> Result<String, Value> {
    params.get(index).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| invalid_params(method))
}

async fn call_as(session: &mut Session, user: &User, name: &str, params: Vec<Value>) -> Reply {
    let services = std::sync::Arc::clone(&session.rt.services);
    match name {
        // [{_id?, rid, msg, tmid?, ...}] → the saved message.
        "sendMessage" => {
            let mut message = object_param(&params, name)?;
            // The client's `ts` is the server's to set.
            message.remove("ts");
            let saved = services.send_message(user, message).await.map_err(domain)?;
            ejson(&saved)
        }
        // [{_id, rid, msg}] → nothing; sets editedAt / editedBy.
        "updateMessage" => {
            let message = object_param(&params, name)?;
            let id = message.get("_id").and_then(Value::as_str).ok_or_else(|| invalid_params(name))?;
            let rid = message.get("rid").and_then(Value::as_str).ok_or_else(|| invalid_params(name))?;
            let msg = message.get("msg").and_then(Value::as_str).unwrap_or_default();
            services.update_message(user, rid, id, msg).await.map_err(domain)?;
            Ok(Value::Null)
        }
        // [emoji, messageId, shouldReact?] → nothing.
        "setReaction" => {
            let emoji = string_param(&params, 0, name)?;
            let mid = string_param(&params, 1, name)?;
            let should_react = match params.get(2) {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => return Err(invalid_params(name)),
            };
            let request = ReactRequest::read(Some(&mid), Some(&emoji), should_react);
            services.react(user, request).await.map_err(domain)?;
            Ok(Value::Null)
        }
        // [{_id}] → nothing.
        "deleteMessage" => {
            let message = object_param(&params, name)?;
            let id = message.get("_id").and_then(Value::as_str).ok_or_else(|| invalid_params(name))?;
            let found = services.get_message(user, id).await.map_err(domain)?;
            services.delete_message(user, &found.rid, id, false).await.map_err(domain)?;
            Ok(Value::Null)
        }
        "getSingleMessage" => {
            let id = string_param(&params, 0, name)?;
            let found = services.get_message(user, &id).await.map_err(domain)?;
            ejson(&found)
        }
        // [{tmid, limit?, skip?}] → [parent, ...replies, newest first];
        // [] for an unknown thread or one without replies.
        "getThreadMessages" => {
            let args = object_param(&params, name)?;
            let tmid = args.get("tmid").and_then(Value::as_str).ok_or_else(|| invalid_params(name))?;
            let limit = args.get("limit").and_then(Value::as_u64).unwrap_or(100).clamp(1, 100).to_string();
            let skip = args.get("skip").and_then(Value::as_u64).unwrap_or(0).to_string();
            let parent = match services.get_message(user, tmid).await {
                Ok(parent) => parent,
                Err(Error::Rejected { code: Code::NotAllowed, .. }) => {
                    return Err(DdpRefusal::ThreadNotAllowed { method: name.to_owned() }.object())
                }
                Err(_) => return Ok(json!([])),
            };
            if parent.tcount.unwrap_or(0) == 0 {
                return Ok(json!([]));
            }
            let list = ListParams {
                offset: Some(&skip),
                count: Some(&limit),
                sort: Some(r#"{"ts":-1}"#),
                query: None,
                fields: None,
            };
            let replies = services
                .thread_messages(user, ThreadRequest::read(Some(tmid), list))
                .await
                .map_err(domain)?;
            let mut out = vec![ejson(&parent)?];
            if let Value::Array(items) = ejson(&replies.items)? {
                out.extend(items);
            }
            // Opening a thread reads it, as in Rocket.Chat.
            services.mark_thread_read(user, tmid).await.map_err(domain)?;
            Ok(Value::Array(out))
        }
        // [tmid] → nothing; clears the thread from the caller's `tunread`.
        "readThreads" => {
            let tmid = string_param(&params, 0, name)?;
            services.mark_thread_read(user, &tmid).await.map_err(domain)?;
            Ok(Value::Null)
        }
        // [rid, end?, limit=20, ls?, showThreadMessages=true] →
        // {messages (newest first), firstUnread?, unreadNotLoaded}, or false
        // for a room the caller cannot read.
        "loadHistory" => {
            let rid = string_param(&params, 0, name)?;
            let query = HistoryQuery {
                before: params.get(1).and_then(ddp::date_param),
                after: None,
                newest_first: true,
                limit: params.get(2).and_then(Value::as_u64).unwrap_or(20),
                thread_messages: params.get(4).and_then(Value::as_bool).unwrap_or(true),
            };
            let history = match services.room_history(user, &rid, &query).await {
                Ok(history) => history,
                Err(Error::Rejected { code: Code::NotAllowed, .. }) => return Ok(json!(false)),
                Err(e) => return Err(domain(e)),
            };
            let mut reply = json!({"messages": ejson(&history.messages)?, "unreadNotLoaded": 0});
            if let Some(ls) = params.get(3).and_then(ddp::date_param) {
                // Unread: newer than the last seen time. Those not in this page
                // are counted, and the oldest of them named.
                let unread =
                    HistoryQuery { before: None, after: Some(ls), newest_first: false, limit: 1, ..query };
                let first = services.room_history(user, &rid, &unread).await.map_err(domain)?;
                let loaded = history.messages.iter().filter(|m| m.ts > ls).count() as u64;
                reply["unreadNotLoaded"] = json!(first.total.saturating_sub(loaded));
                if let Some(oldest) = first.messages.first() {
                    reply["firstUnread"] = ejson(oldest)?;
                }
            }
            Ok(reply)
        }
        // [rid, end, limit=20] → {messages}: after `end`, oldest first.
        "loadNextMessages" => {
            let rid = string_param(&params, 0, name)?;
            let query = HistoryQuery {
                before: None,
                after: params.get(1).and_then(ddp::date_param),
                newest_first: false,
                limit: params.get(2).and_then(Value::as_u64).unwrap_or(20),
                thread_messages: true,
            };
            let history = services.room_history(user, &rid, &query).await.map_err(domain)?;
            Ok(json!({"messages": ejson(&history.messages)?}))
        }
        // [{_id, rid, ts}, limit=50] → {messages, moreBefore, moreAfter}:
        // up to half the limit before the message (newest first, as
        // Rocket.Chat), the message, up to half after (oldest first).
        "loadSurroundingMessages" => {
            let args = object_param(&params, name)?;
            let id = args.get("_id").and_then(Value::as_str).ok_or_else(|| invalid_params(name))?;
            let limit = params
                .get(1)
                .and_then(Value::as_u64)
                .unwrap_or(50)
                .clamp(2, 2 * threadsync_service::MAX_HISTORY);
            let half = limit.div_ceil(2);
            let message = services.get_message(user, id).await.map_err(domain)?;
            let around = |before, after, newest_first| HistoryQuery {
                before,
                after,
                newest_first,
                limit: half,
                thread_messages: true,
            };
            let before = services
                .room_history(user, &message.rid, &around(Some(message.ts), None, true))
                .await
                .map_err(domain)?;
            let after = services
                .room_history(user, &message.rid, &around(None, Some(message.ts), false))
                .await
                .map_err(domain)?;
            let more_before = before.messages.len() as u64 == half;
            let more_after = after.messages.len() as u64 == half;
            let mut all = before.messages;
            all.push(message);
            all.extend(after.messages);
            Ok(json!({"messages": ejson(&all)?, "moreBefore": more_before, "moreAfter": more_after}))
        }
        // [{rid, limit=50, skip=0}] → the thread parents.
        "getThreadsList" => {
            let args = object_param(&params, name)?;
            let rid = args.get("rid").and_then(Value::as_str).ok_or_else(|| invalid_params(name))?;
            let limit = args.get("limit").and_then(Value::as_u64).unwrap_or(50).clamp(1, 100).to_string();
            let skip = args.get("skip").and_then(Value::as_u64).unwrap_or(0).to_string();
            let list = ListParams {
                offset: Some(&skip),
                count: Some(&limit),
                sort: None,
                query: None,
                fields: None,
            };
            let threads = services
                .threads_list(user, ThreadsListRequest::read(Some(rid), None, None, list))
                .await
                .map_err(domain)?;
            ejson(&threads.items)
        }
        // [{mid}] → false (Rocket.Chat's answer); the parent is re-sent by the relay.
        "followMessage" | "unfollowMessage" => {
            let args = object_param(&params, name)?;
            let mid = args.get("mid").and_then(Value::as_str);
            let mid = followed_message(mid);
            services.follow_thread(user, mid, name == "followMessage").await.map_err(domain)?;
            Ok(json!(false))
        }
        // [] → rooms; [{$date}] → {update, remove} since then.
        "rooms/get" => {
            let types = [RoomType::Channel, RoomType::Group, RoomType::Direct];
            let rooms = services
                .store()
                .rooms_of_user(&user.id, &types, 0, 10_000)
                .await
                .map_err(|e| domain(e.into()))?;
            match params.first().and_then(ddp::date_param) {
                Some(since) => {
                    let update: Vec<_> = rooms.items.into_iter().filter(|r| r.updated_at > since).collect();
                    Ok(json!({"update": ejson(&update)?, "remove": []}))
                }
                None => ejson(&rooms.items),
            }
        }
        "subscriptions/get" => {
            let types = [RoomType::Channel, RoomType::Group, RoomType::Direct];
            let rooms = services
                .store()
                .rooms_of_user(&user.id, &types, 0, 10_000)
                .await
                .map_err(|e| domain(e.into()))?;
            let since = params.first().and_then(ddp::date_param);
            let mut subs = Vec::new();
            for room in rooms.items {
                if let Some(sub) = services.own_subscription(user, &room.id).await.map_err(domain)? {
                    if since.is_none_or(|s| sub.updated_at > s) {
                        subs.push(sub);
                    }
                }
            }
            match since {
                Some(_) => Ok(json!({"update": ejson(&subs)?, "remove": []})),
                None => ejson(&subs),
            }
        }
        // [nameOrId] → the room id, for a room the caller may read.
        "getRoomIdByNameOrId" => {
            let key = string_param(&params, 0, name)?;
            let room = find_readable(&services, user, &key).await?;
            Ok(json!(room.id))
        }
        "getRoomNameById" => {
            let rid = string_param(&params, 0, name)?;
            let room = services
                .readable_room(user, &rid)
                .await
                .map_err(domain)?
                .ok_or_else(|| DdpRefusal::RoomNotReadable { method: name.to_owned() }.object())?;
            Ok(json!(room.name.unwrap_or_default()))
        }
        // [rid, code?] → true; public channels only; the code when the
        // channel has one.
        "joinRoom" => {
            let rid = string_param(&params, 0, name)?;
            let code = params.get(1).and_then(Value::as_str);
            services
                .join_room(user, RoomSelector { room_id: Some(&rid), room_name: None }, code)
                .await
                .map_err(domain)?;
            Ok(json!(true))
        }
        "leaveRoom" => {
            let rid = string_param(&params, 0, name)?;
            let room = services
                .readable_room(user, &rid)
                .await
                .map_err(domain)?
                .ok_or_else(|| DdpRefusal::InvalidRoom { method: name.to_owned() }.object())?;
            services
                .leave_room(user, room.t, RoomSelector { room_id: Some(&rid), room_name: None })
                .await
                .map_err(domain)?;
            Ok(json!(true))
        }
        // [username] → {rid, _id, t: "d", ...}.
        // [username, ...more]: a 1:1 DM, or one among the caller and all
        // of them (Rocket.Chat's `createDirectMessage(...usernames)`).
        "createDirectMessage" => {
            let mut usernames = Vec::with_capacity(params.len());
            for index in 0..params.len().max(1) {
                usernames.push(string_param(&params, index, name)?);
            }
            let room = services.open_direct_room(user, &usernames, false).await.map_err(domain)?;
            let mut doc = ejson(&room)?;
            if let Some(map) = doc.as_object_mut() {
                map.insert("rid".into(), json!(room.id));
            }
            Ok(doc)
        }
        // ["<rid>/user-activity" | "<rid>/typing", username, activity, extra?]:
        // the typing write. Only the caller's own username, only these two
        // events; others in the room get it and its twin, the writer does not.
        "stream-notify-room" => {
            typing(session, user, &params).await?;
            Ok(Value::Null)
        }
        // [] → whether this connection's status was recorded: the client
        // reports its user active or idle (a REST call has no connection).
        "UserPresence:online" | "UserPresence:away" => {
            let status = if name == "UserPresence:away" { presence::AWAY } else { presence::ONLINE };
            Ok(json!(session.report_presence(status).await.map_err(domain)?))
        }
        // [status] → true: the status the user chose (the status menu).
        "UserPresence:setDefaultStatus" => {
            let status = string_param(&params, 0, name)?;
            services.choose_status(user, &status).await.map_err(domain)?;
            Ok(json!(true))
        }
        // [statusType?, statusText?] → nothing: the chosen status and the
        // status message, each when given.
        "setUserStatus" => {
            if let Some(status) = params.first().and_then(Value::as_str).filter(|s| !s.is_empty()) {
                services.choose_status(user, status).await.map_err(domain)?;
            }
            if let Some(text) = params.get(1).and_then(Value::as_str) {
                let change = StatusChange { message: Some(text), ..StatusChange::default() };
                services.set_status(user, change).await.map_err(domain)?;
            }
            Ok(Value::Null)
        }
        "getUserRoles" => Ok(json!([])),
        "permissions/get" => Ok(json!([])),
        "public-settings/get" => Ok(json!([])),
        _ => Err(not_found(name)),
    }
}

async fn find_readable(
    services: &threadsync_service::Services,
    user: &User,
    key: &str,
) -> Result<threadsync_domain::Room, Value> {
    let not_allowed = || DdpRefusal::RoomNotReadable { method: "getRoomIdByNameOrId".to_owned() }.object();
    let store = services.store();
    let room = match store.room_by_id(key).await.map_err(|e| domain(e.into()))? {
        Some(room) => Some(room),
        None => store.room_by_name(key.trim_start_matches('#')).await.map_err(|e| domain(e.into()))?,
    };
    let room = room.ok_or_else(not_allowed)?;
    if services.can_read_room(user, &room).await.map_err(domain)? {
        Ok(room)
    } else {
        Err(not_allowed())
    }
}

async fn typing(session: &Session, user: &User, params: &[Value]) -> Result<(), Value> {
    let denied = || DdpRefusal::StreamNotAllowed.object();
    let event = params.first().and_then(Value::as_str).ok_or_else(denied)?;
    let (rid, kind) = event.split_once('/').ok_or_else(denied)?;
    let username = params.get(1).and_then(Value::as_str).ok_or_else(denied)?;
    if username != user.username || !matches!(kind, "user-activity" | "typing") {
        return Err(denied());
    }
    if session.rt.services.readable_room(user, rid).await.map_err(domain)?.is_none() {
        return Err(denied());
    }
    // user-activity carries a list of activities; legacy typing a bool.
    let (activities, typing) = match (kind, params.get(2)) {
        ("typing", Some(Value::Bool(b))) => (if *b { json!(["user-typing"]) } else { json!([]) }, *b),
        (_, Some(Value::Array(list))) => {
            let on = list.iter().any(|a| a == "user-typing");
            (Value::Array(list.clone()), on)
        }
        _ => (json!([]), false),
    };
    let extra = params.get(3).cloned().unwrap_or_else(|| json!({}));
    session.rt.relay.typing(session.conn, rid, username, activities, typing, extra).await.map_err(domain)
}

/// `login`: `{resume}` (the same token comes back), or
/// `{user:{username|email}, password}` with a plain or sha-256 password.
async fn login(session: &mut Session, params: Vec<Value>) -> Reply {
    let Some(form) = params.first() else { return Err(invalid_params("login")) };
    let services = std::sync::Arc::clone(&session.rt.services);
    let resume = form.get("resume").and_then(Value::as_str).map(str::to_owned);
    let result = match &resume {
        Some(token) => services.resume_session(token, session.ip).await,
        None => match LoginCredentials::from_json(form) {
            Some(credentials) => services.login_from(credentials, session.ip).await,
            None => return Err(DdpRefusal::LoginMatchFailed.object()),
        },
    };
    let login = match result {
        Ok(login) => login,
        Err(Error::LoginFailed) if resume.is_some() => return Err(DdpRefusal::LoggedOutByServer.object()),
        Err(Error::LoginFailed) => return Err(DdpRefusal::IncorrectPassword.object()),
        Err(Error::TooManyRequests { wait_ms }) => return Err(DdpRefusal::LoginBlocked { wait_ms }.object()),
        Err(e) => return Err(domain(e)),
    };
    // A new identity: subs made as someone else end; subs made before any
    // login (`__my_messages__`) now act for this user.
    if session.user().is_some_and(|u| u.id != login.user.id) {
        session.clear_subs();
    }
    let expires = Timestamp::now().millis() + LOGIN_EXPIRATION_MS;
    let reply = json!({
        "id": login.user.id,
        "token": login.token,
        "tokenExpires": {"$date": expires},
        "type": if resume.is_some() { "resume" } else { "password" },
    });
    session.bind_user(login.user, login.token).await.map_err(domain)?;
    Ok(reply)
}

/// Rocket.Chat's `Accounts_LoginExpiration` default: 90 days.
const LOGIN_EXPIRATION_MS: i64 = 90 * 24 * 3600 * 1000;

/// `logout`: removes the token this connection logged in with and ends
/// its subs.
async fn logout(session: &mut Session) {
    if let Some((user, token)) = session.forget_login() {
        if let Err(e) = session.rt.services.logout(&user, &token).await {
            tracing::warn!(error = %e, "logout over DDP could not remove the token");
        }
    }
    session.clear_subs();
}
