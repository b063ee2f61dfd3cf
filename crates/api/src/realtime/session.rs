//! One DDP connection: the handshake, heartbeats, methods run in order,
//! and the connection's subs.
//!
//! The connection reads one frame at a time and finishes handling it
//! (a method runs to its `result` + `updated`) before reading the next, so
//! a client's methods run in the order it sent them; clients such as
//! rocketchat-async send `login` before `connected` arrives and rely on it.
//! Frames go out through the connection's [`Outbox`], drained by a writer
//! task, so a stream event never waits for a slow method and a slow socket
//! never blocks the relay (see `hub`).

use super::ddp;
use super::hub::{ConnId, Frame, Key, Outbox, Target};
use super::{methods, streams, Realtime, Transport};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use threadsync_domain::{presence, Error, User};
use tokio::sync::{mpsc, oneshot};

/// Silence after which the server pings (Rocket.Chat's streamer: 30 s).
pub const PING_AFTER: Duration = Duration::from_secs(30);
/// Further silence after the ping before the socket is closed (4000).
pub const DROP_AFTER: Duration = Duration::from_secs(30);
/// SockJS heartbeat (`h`) period.
const SOCKJS_HEARTBEAT: Duration = Duration::from_secs(25);
/// Subs one connection may hold (the mobile app opens about 20 per room).
pub const MAX_SUBS_PER_CONNECTION: usize = 500;

/// DDP protocol versions we speak, in order of preference.
const VERSIONS: &[&str] = &["1", "pre2", "pre1"];

/// The state a connection's methods and subs see.
pub struct Session {
    pub conn: ConnId,
    pub outbox: Arc<Outbox>,
    pub ip: Option<IpAddr>,
    /// The logged-in user and the token they logged in with.
    pub user: Option<(User, String)>,
    /// sub id → the key it is registered under.
    pub subs: HashMap<String, Key>,
    pub limiter: super::limits::MethodLimiter,
    pub rt: Arc<Realtime>,
    /// Whether this is a socket (not a one-call REST session): only a
    /// socket's login counts as a connection for presence.
    pub socket: bool,
    /// The connection's record in the store while it is logged in (see
    /// `presence`): a name unique across instances and logins.
    pub presence: Option<String>,
    /// Logins so far on this connection (each record's name has its own).
    pub logins: u64,
    /// The connection's `stream-user-presence` listener, when it has one:
    /// its sub id and the users it listens to.
    pub presence_listener: Option<(String, std::collections::HashSet<String>)>,
}

impl Session {
    pub fn user(&self) -> Option<&User> {
        self.user.as_ref().map(|(u, _)| u)
    }

    /// This connection as the receiver of sub `sub_id`.
    pub fn target(&self, sub_id: &str) -> Target {
        Target {
            outbox: Arc::clone(&self.outbox),
            sub_id: sub_id.to_owned(),
            user_id: self.user().map(|u| u.id.clone()),
        }
    }

    /// Registers a sub in the hub and remembers it for teardown.
    pub fn add_sub(&mut self, sub_id: String, key: Key) {
        self.rt.hub.add(key.clone(), self.target(&sub_id));
        self.subs.insert(sub_id, key);
    }

    pub fn remove_sub(&mut self, sub_id: &str) -> bool {
        if self.presence_listener.as_ref().is_some_and(|(id, _)| id == sub_id) {
            return self.stop_presence_listener();
        }
        match self.subs.remove(sub_id) {
            Some(key) => self.rt.hub.remove(&key, self.conn, sub_id),
            None => false,
        }
    }

    /// Binds the connection to the user who just logged in. Its subs now
    /// act for that user, as Meteor re-runs a connection's subs when its
    /// user changes: only `__my_messages__` can exist before a login (the
    /// other streams need a user to subscribe), and it starts following the
    /// user's rooms. Fails, leaving the session as it was, if the rooms
    /// cannot be read.
    pub async fn bind_user(&mut self, user: User, token: String) -> threadsync_domain::Result<()> {
        let my_messages = (streams::ROOM_MESSAGES.to_owned(), streams::MY_MESSAGES.to_owned());
        if self.subs.values().any(|key| *key == my_messages) {
            self.rt.relay.track_user_rooms(&user).await?;
        }
        for (sub_id, key) in &self.subs {
            self.rt.hub.set_user(key, self.conn, sub_id, Some(user.id.clone()));
        }
        self.forget_login();
        self.rt.hub.add_login(&user.id, &self.outbox);
        if self.socket {
            // A store that cannot record the connection costs the user's
            // status, not the login.
            self.logins += 1;
            let record = format!("{}:{}:{}", self.rt.relay.instance(), self.conn, self.logins);
            let opened = self
                .rt
                .services
                .connection_status(&user.id, &record, self.rt.relay.instance(), presence::ONLINE)
                .await;
            if let Err(e) = opened {
                tracing::warn!(error = %e, "could not record a realtime connection for presence");
            }
            self.presence = Some(record);
        }
        self.user = Some((user, token));
        Ok(())
    }

    /// Ends the connection's login (logout, close), returning it.
    pub fn forget_login(&mut self) -> Option<(User, String)> {
        let login = self.user.take();
        if let Some((user, _)) = &login {
            self.rt.hub.remove_login(&user.id, self.conn);
            if let Some(record) = self.presence.take() {
                // Not awaited (a closing connection does not wait for it):
                // each login has its own record, so this cannot undo a
                // later login's. If it fails, the record's lease ends it.
                let services = Arc::clone(&self.rt.services);
                let user_id = user.id.clone();
                tokio::spawn(async move {
                    if let Err(e) = services.connection_closed(&user_id, &record).await {
                        tracing::warn!(error = %e, "could not close a realtime connection's presence record");
                    }
                });
            }
        }
        login
    }

    /// `UserPresence:online` / `UserPresence:away`: the client reports its
    /// user active or idle. `false` when this session has no connection
    /// record (not logged in, or a REST call).
    pub async fn report_presence(&self, status: &str) -> threadsync_domain::Result<bool> {
        let (Some((user, _)), Some(record)) = (&self.user, &self.presence) else { return Ok(false) };
        let instance = self.rt.relay.instance();
        self.rt.services.connection_status(&user.id, record, instance, status).await?;
        Ok(true)
    }

    /// Whether the connection's login still holds: its user is active and
    /// its token not removed (logout elsewhere, deactivation, deletion). A
    /// store that cannot answer is not a logout. When it holds, the
    /// session's copy of its user is replaced by the stored one, so the
    /// methods it runs next act with the user's current name and roles
    /// (an admin's rename, a role granted or taken).
    async fn refresh_login(&mut self) -> bool {
        let Some((user, token)) = &self.user else { return true };
        match self.rt.services.authenticate(&user.id, token).await {
            Ok(current) => {
                let token = token.clone();
                self.user = Some((current, token));
                true
            }
            Err(Error::NotLoggedIn) => false,
            Err(_) => true,
        }
    }

    /// Drops every sub (logout, login as someone else, close).
    pub fn clear_subs(&mut self) {
        for (sub_id, key) in std::mem::take(&mut self.subs) {
            self.rt.hub.remove(&key, self.conn, &sub_id);
        }
        self.stop_presence_listener();
    }

    /// Ends the `stream-user-presence` listener, if any; whether there was one.
    pub fn stop_presence_listener(&mut self) -> bool {
        let Some((sub_id, users)) = self.presence_listener.take() else { return false };
        for uid in users {
            self.rt.hub.remove(&(streams::USER_PRESENCE.to_owned(), uid), self.conn, &sub_id);
        }
        true
    }

    pub fn send(&self, frame: &Value) {
        self.outbox.send_value(frame);
    }
}

/// How a connection ended, for the close frame.
enum End {
    /// The client closed or the socket failed: nothing more to send.
    Gone,
    Close(u16, &'static str),
}

/// Runs one connection to its end.
pub async fn run(socket: WebSocket, rt: Arc<Realtime>, ip: Option<IpAddr>, transport: Transport) {
    let conn = rt.hub.next_conn_id();
    let (outbox, queue) = Outbox::new(conn);
    rt.hub.stats.connections.fetch_add(1, Ordering::Relaxed);
    rt.hub.stats.connections_total.fetch_add(1, Ordering::Relaxed);
    let (sink, stream) = socket.split();
    // A oneshot, not a channel: a few dozen bytes per connection instead of
    // a channel's block of slots.
    let (close_tx, close_rx) = oneshot::channel::<(u16, &'static str)>();
    let writer = tokio::spawn(write_frames(sink, queue, close_rx, Arc::clone(&outbox), transport));

    let mut session = Session {
        limiter: Default::default(),
        conn,
        outbox: Arc::clone(&outbox),
        ip,
        user: None,
        subs: HashMap::new(),
        rt: Arc::clone(&rt),
        socket: true,
        presence: None,
        logins: 0,
        presence_listener: None,
    };
    let end = read_frames(stream, &mut session, transport).await;
    session.clear_subs();
    session.forget_login();
    rt.hub.stats.connections.fetch_sub(1, Ordering::Relaxed);
    // Dropping the sender without a close (the client is gone) ends the
    // writer too, once the frames queued before are written.
    if let End::Close(code, reason) = end {
        let _ = close_tx.send((code, reason));
    } else {
        drop(close_tx);
    }
    drop(session);
    // The writer ends once the close is sent or every sender is gone.
    let _ = writer.await;
}

/// Reads and handles frames until the connection ends.
async fn read_frames(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    session: &mut Session,
    transport: Transport,
) -> End {
    match transport {
        // SockJS opens with `o`; the DDP greeting follows as a message.
        Transport::SockJs => {
            session.outbox.send(Frame::from_static("o"));
        }
        Transport::Raw => {}
    }
    // The greeting, exactly as clients expect it (the 0.2.9 SDK drops any
    // other first frame).
    session.outbox.send(Frame::from_static(r#"{"server_id":"0"}"#));
    let mut connected = false;
    let mut pinged = false;
    loop {
        let options = session.rt.options;
        let wait = if pinged { options.drop_after } else { options.ping_after };
        let next = tokio::select! {
            next = tokio::time::timeout(wait, stream.next()) => next,
            () = session.outbox.close.notified() => {
                if session.outbox.overflowed() {
                    return End::Close(1013, "slow consumer");
                }
                // The account changed: a session whose login no longer
                // holds is closed, as Meteor closes a connection whose
                // token is removed; the client's `resume` then fails and
                // it asks its user to log in.
                if session.outbox.take_recheck() && !session.refresh_login().await {
                    return End::Close(1000, "logged out");
                }
                continue;
            }
        };
        let message = match next {
            Err(_) if pinged => return End::Close(4000, "idle"),
            Err(_) => {
                pinged = true;
                session.send(&json!({"msg": "ping"}));
                continue;
            }
            Ok(None) | Ok(Some(Err(_))) => return End::Gone,
            Ok(Some(Ok(message))) => message,
        };
        pinged = false;
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => return End::Close(1007, "binary frames are not supported"),
            Message::Close(_) => return End::Gone,
            // Websocket-level pings are answered by the library.
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let frames = match transport {
            Transport::Raw => vec![text.as_str().to_owned()],
            Transport::SockJs => match sockjs_messages(text.as_str()) {
                Some(frames) => frames,
                None => return End::Close(1002, "broken SockJS frame"),
            },
        };
        for frame in frames {
            if let Some(end) = handle_text(&frame, session, &mut connected).await {
                return end;
            }
        }
    }
}

/// A SockJS client frame: a JSON array of DDP messages as strings.
fn sockjs_messages(text: &str) -> Option<Vec<String>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    let value: Value = serde_json::from_str(text).ok()?;
    match value {
        Value::Array(items) => items.into_iter().map(|i| i.as_str().map(str::to_owned)).collect(),
        Value::String(s) => Some(vec![s]),
        _ => None,
    }
}

/// Handles one DDP message; `Some` ends the connection.
async fn handle_text(text: &str, session: &mut Session, connected: &mut bool) -> Option<End> {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        if !*connected {
            return Some(End::Close(1002, "expected connect"));
        }
        session.send(&ddp::bad_request_frame(json!({"raw": threadsync_domain::error::echo(text)})));
        return None;
    };
    let kind = frame.get("msg").and_then(Value::as_str).unwrap_or("");
    if !*connected {
        if kind != "connect" {
            return Some(End::Close(1002, "expected connect"));
        }
        return match negotiate(&frame) {
            Some(_version) => {
                *connected = true;
                let session_id = threadsync_domain::id::new_id();
                session.send(&json!({"msg": "connected", "session": session_id}));
                None
            }
            None => {
                session.send(&json!({"msg": "failed", "version": "1"}));
                Some(End::Close(1002, "unsupported DDP version"))
            }
        };
    }
    match kind {
        "ping" => {
            let mut pong = json!({"msg": "pong"});
            if let Some(id) = frame.get("id") {
                pong["id"] = id.clone();
            }
            session.send(&pong);
        }
        "pong" | "connect" => {}
        "method" => {
            let (Some(id), Some(method)) =
                (frame.get("id").filter(|i| i.is_string()), frame.get("method").and_then(Value::as_str))
            else {
                // Meteor treats a method without id or name as a protocol error.
                return Some(End::Close(1002, "method without id or name"));
            };
            let params = match frame.get("params") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items.clone(),
                Some(_) => {
                    session.send(&ddp::bad_request_frame(frame.clone()));
                    return None;
                }
            };
            let id = id.clone();
            let method = method.to_owned();
            let verdict = if session.rt.services.settings().rate_limiter_enabled() {
                let user = session.user.as_ref().map(|(u, _)| u);
                session.limiter.check(&method, user, std::time::Instant::now())
            } else {
                Ok(())
            };
            let reply = match verdict {
                // Boxed: the largest method's state would otherwise be part of
                // every connection's task for its whole life (about 6 KiB of
                // the connection's memory while idle; BENCHMARKS.md).
                Ok(()) => Box::pin(methods::call(session, &method, params)).await,
                Err(wait) => Err(ddp::domain_error(&threadsync_domain::Error::TooManyRequests {
                    wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
                })),
            };
            let result = match reply {
                Ok(value) => ddp::result_frame(&id, value),
                Err(error) => ddp::error_result_frame(&id, error),
            };
            session.send(&result);
            session.send(&ddp::updated_frame(&id));
        }
        "sub" => {
            let (Some(id), Some(name)) =
                (frame.get("id").filter(|i| i.is_string()), frame.get("name").and_then(Value::as_str))
            else {
                session.send(&ddp::bad_request_frame(frame.clone()));
                return None;
            };
            let params = frame.get("params").and_then(Value::as_array).cloned().unwrap_or_default();
            let sub_id = id.as_str().unwrap_or_default().to_owned();
            if session.subs.len() >= MAX_SUBS_PER_CONNECTION && !session.subs.contains_key(&sub_id) {
                let error = ddp::DdpRefusal::TooManySubscriptions.object();
                session.send(&ddp::nosub_frame(id, Some(error)));
                return None;
            }
            // Boxed for the same reason as methods.
            Box::pin(streams::subscribe(session, sub_id, name, params)).await;
        }
        "unsub" => {
            let Some(id) = frame.get("id").filter(|i| i.is_string()) else {
                session.send(&ddp::bad_request_frame(frame.clone()));
                return None;
            };
            session.remove_sub(id.as_str().unwrap_or_default());
            session.send(&ddp::nosub_frame(id, None));
        }
        _ => session.send(&ddp::bad_request_frame(frame.clone())),
    }
    None
}

/// The version to speak: the client's `version` if we support it, else
/// the first of its `support` list we know.
fn negotiate(frame: &Value) -> Option<&'static str> {
    let offered = frame.get("version").and_then(Value::as_str);
    let support: Vec<&str> = frame
        .get("support")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let known = |v: &str| VERSIONS.iter().copied().find(|k| *k == v);
    offered.and_then(known).or_else(|| support.into_iter().find_map(known))
}

/// A queued frame as the socket sends it: as it is on a raw websocket
/// (shared, not copied), inside SockJS's `a[...]` otherwise.
fn socket_text(frame: Frame, transport: Transport) -> Utf8Bytes {
    match transport {
        Transport::Raw => frame,
        Transport::SockJs if frame.as_str() == "o" => frame,
        Transport::SockJs => {
            Utf8Bytes::from(format!("a{}", Value::Array(vec![Value::String(frame.as_str().to_owned())])))
        }
    }
}

/// Drains the outbox into the socket; sends the close frame when asked.
async fn write_frames(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut queue: mpsc::UnboundedReceiver<Frame>,
    mut close: oneshot::Receiver<(u16, &'static str)>,
    outbox: Arc<Outbox>,
    transport: Transport,
) {
    let mut heartbeat = tokio::time::interval(SOCKJS_HEARTBEAT);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            // Frames queued before a close are still written first.
            biased;
            frame = queue.recv() => {
                let Some(frame) = frame else { break };
                outbox.written(frame.len());
                if sink.send(Message::Text(socket_text(frame, transport))).await.is_err() {
                    break;
                }
            }
            request = &mut close => {
                if let Ok((code, reason)) = request {
                    if transport == Transport::SockJs {
                        let _ = sink.send(Message::Text(Utf8Bytes::from(format!("c[{code},\"{reason}\"]")))).await;
                    }
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }))).await;
                }
                break;
            }
            _ = heartbeat.tick(), if transport == Transport::SockJs => {
                if sink.send(Message::Text(Utf8Bytes::from_static("h"))).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = sink.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_negotiated() {
        assert_eq!(
            negotiate(&json!({"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]})),
            Some("1")
        );
        assert_eq!(
            negotiate(&json!({"msg": "connect", "version": "pre2", "support": ["pre2"]})),
            Some("pre2")
        );
        assert_eq!(
            negotiate(&json!({"msg": "connect", "version": "9", "support": ["9", "pre1"]})),
            Some("pre1")
        );
        assert_eq!(negotiate(&json!({"msg": "connect", "version": "9", "support": ["9"]})), None);
    }

    #[test]
    fn sockjs_frames_hold_many_messages() {
        assert_eq!(
            sockjs_messages(r#"["{\"msg\":\"ping\"}","{}"]"#),
            Some(vec![r#"{"msg":"ping"}"#.to_owned(), "{}".to_owned()])
        );
        assert_eq!(sockjs_messages("[1]"), None);
        assert_eq!(sockjs_messages("nope"), None);
    }
}
