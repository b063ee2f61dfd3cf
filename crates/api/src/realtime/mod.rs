//! Realtime: Rocket.Chat's DDP protocol over a websocket, so official
//! clients hold a live session (docs/realtime.md).
//!
//! - `GET /websocket`: a raw websocket, one DDP message per text frame
//!   (bots, the mobile app, the SDKs).
//! - `GET /sockjs/info` and `/sockjs/<n>/<id>/websocket`: the SockJS form the
//!   web app's Meteor client uses (`o`, `a[...]`, `h`, `c[...]` framing).
//! - `POST /api/v1/method.call/<m>` and `method.callAnon/<m>`: the REST
//!   fallback for methods (`API_Use_REST_For_DDP_Calls`).
//!
//! Modules: [`ddp`] the wire format, [`session`] one connection, [`methods`]
//! the methods, [`streams`] subs and their read rules, [`hub`] who receives
//! what, [`relay`] committed changes → stream events.

pub mod ddp;
pub mod hub;
pub mod methods;
pub mod relay;
pub mod session;
pub mod streams;

use crate::error::ApiError;
use crate::extract::{Body, CurrentUser};
use crate::ratelimit::ClientIp;
use crate::AppState;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;
use threadsync_domain::Error;
use threadsync_service::Services;

/// The realtime side of one instance: the subscription registry and the
/// relay that feeds it.
pub struct Realtime {
    pub services: Arc<Services>,
    pub hub: Arc<hub::Hub>,
    pub relay: Arc<relay::Relay>,
}

/// How DDP messages are framed on a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Raw,
    SockJs,
}

/// Largest websocket message accepted from a client. A DDP call is small;
/// `sendMessage` is bounded by `Message_MaxAllowedSize` far below this.
const MAX_CLIENT_MESSAGE: usize = 256 * 1024;

/// Read buffer of each websocket. The library's default (128 KiB) is
/// zero-filled before every read, so each connection that ever received a
/// frame kept 128 KiB resident (145 KiB of RSS per idle connection in
/// BENCHMARKS.md) and each client frame cost a 128 KiB memset. DDP frames
/// from clients are small; a larger one grows the buffer to its size.
const READ_BUFFER: usize = 4 * 1024;

impl Realtime {
    /// Builds the registry and starts the relay (needs a Tokio runtime).
    pub fn start(services: Arc<Services>) -> Arc<Realtime> {
        let hub = hub::Hub::new();
        let relay = relay::Relay::new(Arc::clone(&services), Arc::clone(&hub));
        relay.spawn();
        Arc::new(Realtime { services, hub, relay })
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/websocket", get(websocket))
        .route("/sockjs/info", get(sockjs_info))
        .route("/sockjs/{server}/{session}/websocket", get(sockjs_websocket))
        .route("/api/v1/method.call/{method}", post(method_call))
        .route("/api/v1/method.callAnon/{method}", post(method_call_anon))
}

/// `GET /websocket`: a raw DDP websocket.
async fn websocket(
    upgrade: WebSocketUpgrade,
    Extension(rt): Extension<Arc<Realtime>>,
    ClientIp(ip): ClientIp,
) -> Response {
    upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| session::run(socket, rt, ip, Transport::Raw))
}

/// `GET /sockjs/<n>/<id>/websocket`: DDP inside SockJS framing.
async fn sockjs_websocket(
    upgrade: WebSocketUpgrade,
    Extension(rt): Extension<Arc<Realtime>>,
    ClientIp(ip): ClientIp,
) -> Response {
    upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| session::run(socket, rt, ip, Transport::SockJs))
}

/// `GET /sockjs/info`: what SockJS clients ask before opening the socket.
async fn sockjs_info() -> Json<Value> {
    let entropy: u32 = rand_entropy();
    Json(json!({"websocket": true, "origins": ["*:*"], "cookie_needed": false, "entropy": entropy}))
}

fn rand_entropy() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish() as u32
}

/// `POST /api/v1/method.call/:method` (auth): runs a DDP method given as
/// an EJSON string in `message`; the answer is the DDP `result` frame as a
/// string, with status 200 even when the method failed (as Rocket.Chat).
async fn method_call(
    user: CurrentUser,
    Extension(rt): Extension<Arc<Realtime>>,
    ClientIp(ip): ClientIp,
    Path(method): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    run_method_call(rt, Some((user.user, user.token)), ip, &method, body).await
}

/// `POST /api/v1/method.callAnon/:method` (no auth): the same, without a
/// user (`login` works here).
async fn method_call_anon(
    Extension(rt): Extension<Arc<Realtime>>,
    ClientIp(ip): ClientIp,
    Path(method): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    run_method_call(rt, None, ip, &method, body).await
}

async fn run_method_call(
    rt: Arc<Realtime>,
    user: Option<(threadsync_domain::User, String)>,
    ip: Option<std::net::IpAddr>,
    _route_method: &str,
    body: Value,
) -> Result<Response, ApiError> {
    let invalid = || ApiError(Error::Legacy("Invalid method call".into()));
    let inner: Value = body
        .get("message")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(invalid)?;
    let id = inner.get("id").cloned().filter(Value::is_string).ok_or_else(invalid)?;
    // The body names the method; the path is informative, as in Rocket.Chat.
    let method = inner.get("method").and_then(Value::as_str).ok_or_else(invalid)?.to_owned();
    let params = match inner.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(invalid()),
    };
    // A one-call session: its outbox goes nowhere, since nothing can be
    // subscribed over REST.
    let conn = rt.hub.next_conn_id();
    let (outbox, _queue) = hub::Outbox::new(conn);
    let mut session = session::Session { conn, outbox, ip, user, subs: Default::default(), rt };
    let frame = match methods::call(&mut session, &method, params).await {
        Ok(value) => ddp::result_frame(&id, value),
        Err(error) => ddp::error_result_frame(&id, error),
    };
    Ok(Json(json!({"success": true, "message": frame.to_string()})).into_response())
}
