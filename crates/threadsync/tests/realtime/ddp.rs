//! A minimal DDP client for the tests: frames in, frames out, nothing
//! hidden (official clients are exercised by scripts/realtime-clients).

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub const WAIT: Duration = Duration::from_secs(20);

pub struct Ddp {
    pub socket: Socket,
    next_id: u64,
    /// Frames read while looking for another one, not yet consumed.
    pending: std::collections::VecDeque<Value>,
}

impl Ddp {
    /// Opens `/websocket` on `base` (`http://127.0.0.1:PORT`) without connecting.
    pub async fn open(base: &str) -> Ddp {
        let url = format!("{}/websocket", base.replacen("http://", "ws://", 1));
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket opens");
        Ddp { socket, next_id: 0, pending: Default::default() }
    }

    /// Opens and completes the handshake (greeting, connect v1).
    pub async fn connect(base: &str) -> Ddp {
        let mut ddp = Ddp::open(base).await;
        assert_eq!(ddp.recv().await, json!({"server_id": "0"}));
        ddp.send(json!({"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]})).await;
        let connected = ddp.recv().await;
        assert_eq!(connected["msg"], "connected", "{connected}");
        ddp
    }

    /// Connects and logs in with a sha-256 digest.
    pub async fn login(base: &str, user: &str, password: &str) -> (Ddp, String) {
        let mut ddp = Ddp::connect(base).await;
        let result = ddp
            .call("login", json!([{"user": {"username": user}, "password": {"digest": sha256_hex(password), "algorithm": "sha-256"}}]))
            .await;
        let uid = result["result"]["id"].as_str().unwrap_or_else(|| panic!("login: {result}")).to_owned();
        (ddp, uid)
    }

    pub async fn send(&mut self, frame: Value) {
        self.socket.send(Message::text(frame.to_string())).await.expect("send frame");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.expect("send frame");
    }

    /// The next DDP frame (server pings are answered and skipped).
    pub async fn recv(&mut self) -> Value {
        if let Some(frame) = self.pending.pop_front() {
            return frame;
        }
        self.read().await
    }

    async fn read(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("a frame within the wait")
                .expect("socket open")
                .expect("frame");
            match message {
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(&text).expect("JSON frame");
                    if frame["msg"] == "ping" {
                        self.send(json!({"msg": "pong"})).await;
                        continue;
                    }
                    return frame;
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected message {other:?}"),
            }
        }
    }

    /// The first frame that matches, from the frames already read or the
    /// socket; the others stay pending, in order. Returns it and the frames
    /// passed over.
    pub async fn until(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
        if let Some(at) = self.pending.iter().position(&matches) {
            let skipped = self.pending.iter().take(at).cloned().collect();
            let frame = self.pending.remove(at).expect("present");
            return (frame, skipped);
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            assert!(tokio::time::Instant::now() < deadline, "no {what}; got {:?}", self.pending);
            let frame = self.read().await;
            if matches(&frame) {
                return (frame, self.pending.iter().cloned().collect());
            }
            self.pending.push_back(frame);
        }
    }

    /// Forgets the frames read and not consumed (a check that follows
    /// then sees only what arrives from now on).
    pub fn discard_pending(&mut self) {
        self.pending.clear();
    }

    /// Every frame that arrives until `wait` passes with none.
    pub async fn frames_for(&mut self, wait: Duration) -> Vec<Value> {
        let mut frames = Vec::new();
        while let Some(frame) = self.quiet_for(wait).await {
            frames.push(frame);
        }
        frames
    }

    /// Whether a frame arrives within `wait` (for "nothing is sent" checks).
    pub async fn quiet_for(&mut self, wait: Duration) -> Option<Value> {
        if let Some(frame) = self.pending.pop_front() {
            return Some(frame);
        }
        match tokio::time::timeout(wait, self.socket.next()).await {
            Err(_) => None,
            Ok(Some(Ok(Message::Text(text)))) => Some(serde_json::from_str(&text).expect("JSON")),
            Ok(other) => Some(json!({"non-text": format!("{other:?}")})),
        }
    }

    /// Calls a method; returns its `result` frame after checking `updated`.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = format!("m{}", self.next_id);
        self.send(json!({"msg": "method", "id": id, "method": method, "params": params})).await;
        let (result, _) =
            self.until(&format!("result of {method}"), |f| f["msg"] == "result" && f["id"] == id).await;
        let (updated, _) = self.until("updated", |f| f["msg"] == "updated").await;
        assert_eq!(updated["methods"], json!([id]), "{updated}");
        result
    }

    /// Subscribes and waits for `ready` or `nosub` of that sub.
    pub async fn sub(&mut self, id: &str, name: &str, params: Value) -> Value {
        self.send(json!({"msg": "sub", "id": id, "name": name, "params": params})).await;
        let (answer, _) = self
            .until(&format!("ready/nosub of {id}"), |f| {
                (f["msg"] == "ready" && f["subs"].as_array().is_some_and(|s| s.contains(&json!(id))))
                    || (f["msg"] == "nosub" && f["id"] == id)
            })
            .await;
        answer
    }

    /// The next stream event of `(collection, eventName)`.
    pub async fn event(&mut self, collection: &str, event: &str) -> Value {
        let (frame, _) = self
            .until(&format!("{collection} {event}"), |f| {
                f["msg"] == "changed" && f["collection"] == collection && f["fields"]["eventName"] == event
            })
            .await;
        assert_eq!(frame["id"], "id", "streams use the literal id \"id\": {frame}");
        frame["fields"]["args"].clone()
    }

    /// The next event of a user stream that is not an `updated` of room
    /// `rid`. A room-level change is relayed with the room as it is when
    /// the relay reads it, so a user who joined meanwhile may get the room
    /// `updated` just before its `inserted` (clients upsert both).
    pub async fn event_past_updates(&mut self, collection: &str, event: &str, rid: &str) -> Value {
        loop {
            let args = self.event(collection, event).await;
            let about = if args[1]["rid"].is_string() { &args[1]["rid"] } else { &args[1]["_id"] };
            if !(args[0] == "updated" && about == rid) {
                return args;
            }
        }
    }
}

pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
