//! `threadsync-ws-ceiling`: the ceiling of the websocket scenarios of
//! `threadsync-load` (docs/load.md): the cheapest process that does the
//! same visible work as the server for those clients, so that the server's
//! figures can be read as ratios to what this machine does anyway.
//!
//! It speaks just enough DDP for the load tool's clients (the greeting,
//! `connected`, a `result` for any method, `ready` for any sub, `pong`) and
//! answers `POST /api/v1/chat.sendMessage` by serialising one
//! `stream-room-messages` frame of the size the server's frames had
//! (`--frame-bytes`) and queueing it, shared, to every subscriber of the
//! room. No store, no auth, no permission check, no per-sub bookkeeping
//! beyond a room → senders map: whatever the server spends above this is
//! its own work. Loopback only; it holds no data.

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

#[derive(Parser, Debug)]
#[command(
    name = "threadsync-ws-ceiling",
    about = "Minimal websocket fan-out server: the ceiling of threadsync-load's ws scenarios (loopback only)."
)]
struct Args {
    /// Address to listen on; only loopback addresses are accepted.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Size of each message frame sent to subscribers, in bytes (the load
    /// tool passes the mean size of the server's frames).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(200..=1_048_576))]
    frame_bytes: u64,
    /// Websocket read buffer per connection, bytes (the server's setting).
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(256..=1_048_576))]
    read_buffer: u64,
}

/// A subscriber: its connection id and frame queue.
type Subscriber = (u64, mpsc::UnboundedSender<Utf8Bytes>);

struct Hub {
    /// Room id → its subscribers.
    rooms: RwLock<HashMap<String, Vec<Subscriber>>>,
    next_conn: AtomicU64,
    next_message: AtomicU64,
    frame_bytes: usize,
    read_buffer: usize,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        eprintln!("error: --listen {}: only loopback addresses are accepted", args.listen);
        return std::process::ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn serve(args: Args) -> std::io::Result<()> {
    let (soft, hard) = raise_nofile();
    eprintln!("threadsync-ws-ceiling: open files limit {soft} (hard {hard})");
    let hub = Arc::new(Hub {
        rooms: RwLock::default(),
        next_conn: AtomicU64::new(0),
        next_message: AtomicU64::new(0),
        frame_bytes: args.frame_bytes as usize,
        read_buffer: args.read_buffer as usize,
    });
    let app = Router::new()
        .route("/websocket", get(websocket))
        .route("/api/v1/login", post(login))
        .route("/api/v1/settings/{name}", post(ok))
        .route("/api/v1/chat.sendMessage", post(send_message))
        .with_state(hub);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}

/// Raises the soft open-files limit to the hard one; `(soft, hard)` after.
fn raise_nofile() -> (u64, u64) {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (limit.current, limit.maximum) {
        if current < maximum {
            let _ = setrlimit(Resource::Nofile, Rlimit { current: Some(maximum), maximum: Some(maximum) });
        }
    }
    let after = getrlimit(Resource::Nofile);
    (after.current.unwrap_or(u64::MAX), after.maximum.unwrap_or(u64::MAX))
}

async fn ok() -> Json<Value> {
    Json(json!({"success": true}))
}

async fn login() -> Json<Value> {
    Json(json!({"status": "success", "data": {"userId": "ceiling-user", "authToken": "ceiling-token"}}))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// `POST /api/v1/chat.sendMessage`: one frame, serialised once, shared by
/// every subscriber of the room; the answer carries the document.
async fn send_message(State(hub): State<Arc<Hub>>, Json(body): Json<Value>) -> Json<Value> {
    let rid = body["message"]["rid"].as_str().unwrap_or_default().to_owned();
    let text = body["message"]["msg"].as_str().unwrap_or_default().to_owned();
    let n = hub.next_message.fetch_add(1, Ordering::Relaxed);
    let ts = json!({"$date": now_ms()});
    let doc = |pad: &str| {
        json!({
            "_id": format!("ceiling{n:010}"),
            "rid": rid,
            "msg": text,
            "ts": ts,
            "u": {"_id": "ceiling-user", "username": "ceiling"},
            "_updatedAt": ts,
            "pad": pad,
        })
    };
    let frame = |doc: Value| {
        json!({
            "msg": "changed",
            "collection": "stream-room-messages",
            "id": "id",
            "fields": {"eventName": rid, "args": [doc]},
        })
        .to_string()
    };
    let bare = frame(doc("")).len();
    let pad = "x".repeat(hub.frame_bytes.saturating_sub(bare));
    let full = doc(&pad);
    let shared = Utf8Bytes::from(frame(full.clone()));
    {
        let rooms = hub.rooms.read().unwrap_or_else(|p| p.into_inner());
        for (_, tx) in rooms.get(&rid).into_iter().flatten() {
            let _ = tx.send(shared.clone());
        }
    }
    Json(json!({"message": full, "success": true}))
}

async fn websocket(upgrade: WebSocketUpgrade, State(hub): State<Arc<Hub>>) -> axum::response::Response {
    let read_buffer = hub.read_buffer;
    upgrade.read_buffer_size(read_buffer).on_upgrade(move |socket| connection(socket, hub))
}

/// One connection, one task: frames from the client are answered inline,
/// frames for the client come through its queue.
async fn connection(mut socket: WebSocket, hub: Arc<Hub>) {
    let id = hub.next_conn.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::unbounded_channel::<Utf8Bytes>();
    let mut rooms: Vec<String> = Vec::new();
    let mut alive = socket.send(Message::Text(Utf8Bytes::from_static(r#"{"server_id":"0"}"#))).await.is_ok();
    while alive {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    for reply in answer(text.as_str(), &hub, &tx, id, &mut rooms) {
                        if socket.send(Message::Text(Utf8Bytes::from(reply))).await.is_err() {
                            alive = false;
                            break;
                        }
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => alive = false,
                Some(Ok(_)) => {}
            },
            frame = rx.recv() => match frame {
                Some(frame) => alive = socket.send(Message::Text(frame)).await.is_ok(),
                None => alive = false,
            },
        }
    }
    let mut map = hub.rooms.write().unwrap_or_else(|p| p.into_inner());
    for rid in rooms {
        if let Some(subs) = map.get_mut(&rid) {
            subs.retain(|(conn, _)| *conn != id);
            if subs.is_empty() {
                map.remove(&rid);
            }
        }
    }
}

/// The replies to one DDP message.
fn answer(
    text: &str,
    hub: &Hub,
    tx: &mpsc::UnboundedSender<Utf8Bytes>,
    id: u64,
    rooms: &mut Vec<String>,
) -> Vec<String> {
    let Ok(frame) = serde_json::from_str::<Value>(text) else { return Vec::new() };
    match frame["msg"].as_str().unwrap_or_default() {
        "connect" => vec![json!({"msg": "connected", "session": format!("c{id}")}).to_string()],
        "ping" => vec![r#"{"msg":"pong"}"#.to_owned()],
        "method" => {
            let result = json!({"id": "ceiling-user", "token": "ceiling-token", "tokenExpires": {"$date": 0}, "type": "resume"});
            vec![
                json!({"msg": "result", "id": frame["id"], "result": result}).to_string(),
                json!({"msg": "updated", "methods": [frame["id"]]}).to_string(),
            ]
        }
        "sub" => {
            if frame["name"] == "stream-room-messages" {
                if let Some(rid) = frame["params"][0].as_str() {
                    let mut map = hub.rooms.write().unwrap_or_else(|p| p.into_inner());
                    map.entry(rid.to_owned()).or_default().push((id, tx.clone()));
                    rooms.push(rid.to_owned());
                }
            }
            vec![json!({"msg": "ready", "subs": [frame["id"]]}).to_string()]
        }
        _ => Vec::new(),
    }
}
