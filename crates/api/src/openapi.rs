//! The OpenAPI 3.1 document of the API, served at `GET /api/openapi.json`.
//!
//! Generated from the code, never written by hand: every handler carries a
//! `#[utoipa::path(...)]` attribute (method, path, parameters, body, answers,
//! auth) and is mounted with `routes!(handler)` (crate::routing), which reads
//! the route's method and path from that same attribute. A route is therefore
//! served and documented from one place, and `tests/api/openapi.rs` fails if
//! anything is served that the document does not list. docs/openapi.md says
//! how to read it.
//!
//! Request body fields are `Option`s so that a missing one gets Rocket.Chat's
//! own error message rather than serde's; `#[schema(value_type = T)]` on a
//! field marks it required in the document.
//!
//! The attributes say what is particular to each route; [`Document::new`]
//! adds what every route shares, so it is written once: the security schemes,
//! the error envelope on every error answer, the 401 of authenticated routes,
//! and the 413 / 429 / 500 any route can give.

pub mod schemas;

use crate::routing::{routes, Describe, Routes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use schemas::ErrorBody;
use std::sync::{Arc, OnceLock};
use utoipa::openapi::content::Content;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::Response as Answer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{OpenApi as Document31, Ref, RefOr};
use utoipa::{OpenApi, PartialSchema, ToSchema};

/// The security scheme of the `X-User-Id` header.
pub const USER_ID: &str = "userId";
/// The security scheme of the `X-Auth-Token` header.
pub const AUTH_TOKEN: &str = "authToken";

/// What the attributes do not say: the document's info and tags, and the
/// schemas and answers every route shares.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "threadsync",
        description = "A chat server speaking Rocket.Chat's REST API, built for exact and fast \
            incremental thread sync.\n\n\
            **Auth.** Routes marked with the `userId` + `authToken` security need both headers \
            `X-User-Id` and `X-Auth-Token`, from `POST /api/v1/login`'s `data.userId` and \
            `data.authToken`.\n\n\
            **Answers.** A success is the route's object with `\"success\": true`. Every failure is \
            `{\"success\": false, \"error\": \"<reason> [<errorType>]\", \"errorType\": \"<code>\"}` \
            (the `Error` schema) with its status; an unknown route or a wrong method answers 404 \
            `{\"success\": false, \"error\": \"Resource not found\"}`.\n\n\
            **Dates** are ISO-8601 UTC strings with milliseconds (`2019-04-16T18:30:46.615Z`).",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "server", description = "Server information, this document and metrics."),
        (name = "auth", description = "Login, logout and the caller's own user."),
        (name = "users", description = "Registering, creating, reading and deleting users."),
        (name = "settings", description = "Reading and changing server settings: the public ones \
            without login, every one for admins."),
        (name = "permissions", description = "Roles and the permission table."),
        (name = "client", description = "What clients ask for at start-up that threadsync has no \
            feature for (custom emoji, slash commands, push): Rocket.Chat's shapes, honestly empty."),
        (name = "channels", description = "Public channels (`t: \"c\"`)."),
        (name = "groups", description = "Private groups (`t: \"p\"`)."),
        (name = "im", description = "Direct messages (`t: \"d\"`)."),
        (name = "rooms", description = "Rooms of any type."),
        (name = "subscriptions", description = "The caller's membership and read state of a room."),
        (name = "chat", description = "Sending, reading, editing and deleting messages."),
        (name = "threads", description = "Threads, and the incremental sync of threads and rooms \
            (bounded, resumable pages; see docs/sync.md)."),
        (name = "realtime", description = "Rocket.Chat's realtime protocol (DDP) at `/websocket` \
            and in SockJS framing, and its REST fallback `method.call` (see docs/realtime.md)."),
    ),
    components(schemas(ErrorBody)),
)]
struct Base;

/// The document the routes are added to.
fn base() -> Document31 {
    let mut doc = Base::openapi();
    // The crate's version, not utoipa's default of the crate that derives it
    // (the same here, but said once).
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The generated document: built and serialised by the first request for it
/// (see crate::routing for why not at start-up), then kept.
#[derive(Clone)]
pub struct Document(Arc<Lazy>);

struct Lazy {
    described: Vec<Describe>,
    json: OnceLock<Arc<str>>,
}

impl Document {
    /// The document of the routes `described`, to be built when first asked.
    pub fn new(described: Vec<Describe>) -> Document {
        Document(Arc::new(Lazy { described, json: OnceLock::new() }))
    }

    /// The serialised document: the base, each route's operation, then what
    /// every route shares. Concurrent first requests wait for one build.
    pub fn json(&self) -> Arc<str> {
        let lazy = &self.0;
        Arc::clone(lazy.json.get_or_init(|| {
            let mut doc = base();
            for describe in &lazy.described {
                describe(&mut doc);
            }
            complete(&mut doc);
            let json = doc.to_json().unwrap_or_else(|e| {
                // Serialising plain data cannot fail; if it ever did, the
                // route still answers JSON.
                tracing::error!(%e, "the OpenAPI document could not be serialised");
                "{}".to_owned()
            });
            Arc::from(json)
        }))
    }
}

/// `GET /api/openapi.json`, as a route table.
pub fn routes() -> Routes {
    routes!(openapi_json)
}

/// `GET /api/openapi.json` (no auth): this document.
///
/// The OpenAPI 3.1 document of every route: parameters, bodies, answers and
/// auth, generated from the handlers.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "server",
    responses((status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json", body = Object)),
)]
pub async fn openapi_json(Extension(doc): Extension<Document>) -> Response {
    // The first request builds it (about 10 ms on this machine, once) on this
    // worker; no await point is held meanwhile.
    ([(header::CONTENT_TYPE, "application/json")], doc.json().to_string()).into_response()
}

/// Names of the shared answers under `components.responses`.
const SHARED: &[(&str, &str)] = &[
    ("BadRequest", "Invalid parameters or body: `error-invalid-params` and the reason."),
    ("Unauthorized", "Missing or invalid `X-User-Id` / `X-Auth-Token`: `You must be logged in to do this.`"),
    ("PayloadTooLarge", "The request body is over 1 MiB."),
    (
        "TooManyRequests",
        "Rate limited (`API_Enable_Rate_Limiter`): `error-too-many-requests`; \
         `X-RateLimit-Reset` says when the window ends.",
    ),
    ("InternalError", "The server failed (the store is unavailable, or a bug): `Internal server error`."),
];

/// Adds the shared parts to every operation (see the module docs).
fn complete(doc: &mut Document31) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        USER_ID,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-User-Id",
            "The user id from the login answer (`data.userId`).",
        ))),
    );
    components.add_security_scheme(
        AUTH_TOKEN,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Auth-Token",
            "The token from the login answer (`data.authToken`).",
        ))),
    );
    components.schemas.entry(ErrorBody::name().into_owned()).or_insert_with(ErrorBody::schema);
    for (name, description) in SHARED {
        components.responses.insert((*name).to_owned(), RefOr::T(error_answer(description)));
    }

    for (path, item) in doc.paths.paths.iter_mut() {
        let methods = operations(item).len();
        for (method, op) in operations(item) {
            // Unique ids a code generator can use: the Rocket.Chat method
            // name (`chat.sendMessage`), with the HTTP method where one path
            // has several (`settings.get`, `settings.post`).
            let name =
                path.trim_start_matches("/api/v1/").trim_start_matches("/api/").trim_start_matches('/');
            let name = name.trim_end_matches(".json");
            let name = name.split("/{").next().unwrap_or(name).replace('/', ".");
            op.operation_id = Some(if methods > 1 { format!("{name}.{method}") } else { name });
            add_shared_answers(path, op);
        }
    }
}

/// The operations of a path, with their method names.
fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("patch", item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
    .collect()
}

fn add_shared_answers(path: &str, op: &mut Operation) {
    let answers = &mut op.responses.responses;
    // Route-specific error answers give their reasons; they all carry the envelope.
    for (status, answer) in answers.iter_mut() {
        if let (false, RefOr::T(answer)) = (status.starts_with('2'), answer) {
            if answer.content.is_empty() {
                answer.content.insert("application/json".to_owned(), envelope());
            }
        }
    }
    let shared = |name: &str| RefOr::Ref(Ref::from_response_name(name));
    let takes_input = op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    if takes_input {
        answers.entry("400".to_owned()).or_insert_with(|| shared("BadRequest"));
    }
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        answers.entry("401".to_owned()).or_insert_with(|| shared("Unauthorized"));
    }
    if op.request_body.is_some() {
        answers.entry("413".to_owned()).or_insert_with(|| shared("PayloadTooLarge"));
    }
    // The rate limiter covers the API routes only (not `/metrics`).
    if path.starts_with("/api/") {
        answers.entry("429".to_owned()).or_insert_with(|| shared("TooManyRequests"));
    }
    answers.entry("500".to_owned()).or_insert_with(|| shared("InternalError"));
}

fn envelope() -> Content {
    Content::new(Some(RefOr::Ref(Ref::from_schema_name(ErrorBody::name()))))
}

fn error_answer(description: &str) -> Answer {
    let mut answer = Answer::new(description);
    answer.content.insert("application/json".to_owned(), envelope());
    answer
}
