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
pub mod limits;
pub mod methods;
pub mod relay;
pub mod session;
pub mod streams;

use crate::error::ApiError;
use crate::extract::{Body, CurrentUser};
use crate::openapi::schemas as doc;
use crate::ratelimit::ClientIp;
use crate::routing::routes;
use crate::routing::Routes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use std::sync::Arc;
use threadsync_domain::Error;
use threadsync_domain::Reject;
use threadsync_service::Services;

/// The realtime side of one instance: the subscription registry and the
/// relay that feeds it.
pub struct Realtime {
    pub services: Arc<Services>,
    pub hub: Arc<hub::Hub>,
    pub relay: Arc<relay::Relay>,
    pub options: RealtimeOptions,
}

/// Tunables of the realtime side; the defaults are Rocket.Chat's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealtimeOptions {
    /// Silence from a client after which the server pings it (30 s).
    pub ping_after: std::time::Duration,
    /// Further silence after that ping before the socket is closed with
    /// 4000 (30 s).
    pub drop_after: std::time::Duration,
}

impl Default for RealtimeOptions {
    fn default() -> Self {
        RealtimeOptions { ping_after: session::PING_AFTER, drop_after: session::DROP_AFTER }
    }
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

/// Renews this instance's presence records and sweeps expired ones (any
/// instance's) every third of the presence lease, the first time
/// at start-up: records left by a previous run that died are removed once
/// their lease ends. A failed beat is logged; the next one retries. The
/// task holds the services weakly: it must not keep the store open (and
/// the relay, which ends when the store closes, running) after shutdown.
fn spawn_presence_heartbeat(services: Arc<Services>, instance: String) {
    let every = services.presence_renewal().max(std::time::Duration::from_millis(100));
    let services = Arc::downgrade(&services);
    tokio::spawn(async move {
        let mut beat = tokio::time::interval(every);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            beat.tick().await;
            let Some(services) = services.upgrade() else { break };
            if let Err(e) = services.presence_heartbeat(&instance).await {
                tracing::warn!(error = %e, "presence heartbeat failed");
            }
        }
    });
}

impl Realtime {
    /// Builds the registry and starts the relay (needs a Tokio runtime).
    pub fn start(services: Arc<Services>, options: RealtimeOptions) -> Arc<Realtime> {
        let hub = hub::Hub::new();
        let relay = relay::Relay::new(Arc::clone(&services), Arc::clone(&hub));
        relay.spawn();
        spawn_presence_heartbeat(Arc::clone(&services), relay.instance().to_owned());
        Arc::new(Realtime { services, hub, relay, options })
    }

    /// The realtime figures for `/metrics` (Prometheus text).
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        use std::sync::atomic::Ordering::Relaxed;
        let stats = &self.hub.stats;
        let figures: [(&str, &str, &str, u64); 6] = [
            (
                "threadsync_ws_connections",
                "gauge",
                "Open realtime (DDP) connections.",
                stats.connections.load(Relaxed),
            ),
            (
                "threadsync_ws_subscriptions",
                "gauge",
                "Stream subscriptions held by open connections.",
                stats.subscriptions.load(Relaxed),
            ),
            (
                "threadsync_ws_connections_total",
                "counter",
                "Realtime connections accepted.",
                stats.connections_total.load(Relaxed),
            ),
            (
                "threadsync_ws_events_total",
                "counter",
                "Stream events fanned out (one per event, whatever the subscribers).",
                stats.events_total.load(Relaxed),
            ),
            (
                "threadsync_ws_frames_total",
                "counter",
                "Stream frames queued to subscribers.",
                stats.frames_total.load(Relaxed),
            ),
            (
                "threadsync_ws_slow_consumers_dropped_total",
                "counter",
                "Connections closed (1013) because they did not read their frames.",
                stats.slow_consumers_dropped.load(Relaxed),
            ),
        ];
        for (name, kind, help, value) in figures {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
    }
}

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(websocket))
        .merge(routes!(sockjs_info))
        .merge(routes!(sockjs_websocket))
        .merge(routes!(method_call))
        .merge(routes!(method_call_anon))
}

/// A plain GET where a websocket was expected: a JSON 400, never axum's
/// plain-text rejection.
fn upgrade_or_refuse(
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    rt: Arc<Realtime>,
    ip: Option<std::net::IpAddr>,
    transport: Transport,
) -> Response {
    match upgrade {
        Ok(upgrade) => upgrade
            .max_message_size(MAX_CLIENT_MESSAGE)
            .read_buffer_size(READ_BUFFER)
            .on_upgrade(move |socket| session::run(socket, rt, ip, transport)),
        Err(_) => ApiError(Error::from(Reject::WebsocketExpected)).into_response(),
    }
}

/// The realtime (DDP) websocket.
///
/// `GET /websocket`: a raw websocket, one DDP message per text frame (bots,
/// the mobile app, the SDKs); docs/realtime.md. Login happens inside (DDP
/// `login`). Not a websocket upgrade → 400 `error-websocket-expected`.
#[utoipa::path(
    get,
    path = "/websocket",
    tag = "realtime",
    responses(
        (status = 101, description = "Switched to the websocket; DDP follows (docs/realtime.md)."),
        (status = 400, description = "Not a websocket upgrade request (`error-websocket-expected`)."),
    ),
)]
async fn websocket(
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    Extension(rt): Extension<Arc<Realtime>>,
    ClientIp(ip): ClientIp,
) -> Response {
    upgrade_or_refuse(upgrade, rt, ip, Transport::Raw)
}

/// The realtime websocket in SockJS framing.
///
/// `GET /sockjs/<n>/<id>/websocket`: DDP inside SockJS frames (`o`,
/// `a[...]`, `h`, `c[...]`), as the web app's Meteor client opens it.
#[utoipa::path(
    get,
    path = "/sockjs/{server}/{session}/websocket",
    tag = "realtime",
    params(
        ("server" = String, Path, description = "Any three digits (SockJS's server id)."),
        ("session" = String, Path, description = "Any session id the client picked."),
    ),
    responses(
        (status = 101, description = "Switched to the websocket; SockJS-framed DDP follows."),
        (status = 400, description = "Not a websocket upgrade request (`error-websocket-expected`)."),
    ),
)]
async fn sockjs_websocket(
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    Extension(rt): Extension<Arc<Realtime>>,
    ClientIp(ip): ClientIp,
) -> Response {
    upgrade_or_refuse(upgrade, rt, ip, Transport::SockJs)
}

/// What SockJS clients ask before opening the socket.
///
/// `GET /sockjs/info` → `{websocket: true, origins: ["*:*"],
/// cookie_needed: false, entropy}`.
#[utoipa::path(
    get,
    path = "/sockjs/info",
    tag = "realtime",
    responses((status = 200, description = "SockJS's server information.", body = doc::SockJsInfo)),
)]
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

/// Runs a realtime (DDP) method over REST.
///
/// `POST /api/v1/method.call/:method` (auth): runs a DDP method given as
/// an EJSON string in `message`; the answer is the DDP `result` frame as a
/// string, with status 200 even when the method failed (as Rocket.Chat).
/// A body that is not such a message → 400 `Invalid method call`.
#[utoipa::path(
    post,
    path = "/api/v1/method.call/{method}",
    tag = "realtime",
    security(("userId" = [], "authToken" = [])),
    params(("method" = String, Path, description = "The method's name (the body's `method` is the one run).")),
    request_body = doc::MethodCall,
    responses(
        (status = 200, description = "The method's `result` frame, success or error, as a string.", body = doc::MethodResult),
        (status = 400, description = "The body is not a DDP method message (`Invalid method call`)."),
    ),
)]
async fn method_call(
    user: CurrentUser,
    Extension(rt): Extension<Arc<Realtime>>,
    ClientIp(ip): ClientIp,
    Path(method): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    run_method_call(rt, Some((user.user, user.token)), ip, &method, body).await
}

/// Runs a realtime (DDP) method over REST, without a user.
///
/// `POST /api/v1/method.callAnon/:method` (no auth): the same, without a
/// user (`login` works here).
#[utoipa::path(
    post,
    path = "/api/v1/method.callAnon/{method}",
    tag = "realtime",
    params(("method" = String, Path, description = "The method's name (the body's `method` is the one run).")),
    request_body = doc::MethodCall,
    responses(
        (status = 200, description = "The method's `result` frame, success or error, as a string.", body = doc::MethodResult),
        (status = 400, description = "The body is not a DDP method message (`Invalid method call`)."),
    ),
)]
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
    let invalid = || ApiError(Error::from(Reject::InvalidMethodCall));
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
    let mut session = session::Session {
        conn,
        outbox,
        ip,
        user,
        subs: Default::default(),
        limiter: Default::default(),
        rt,
        socket: false,
        presence: None,
        logins: 0,
        presence_listener: None,
    };
    let frame = match methods::call(&mut session, &method, params).await {
        Ok(value) => ddp::result_frame(&id, value),
        Err(error) => ddp::error_result_frame(&id, error),
    };
    Ok(Json(json!({"success": true, "message": frame.to_string()})).into_response())
}
