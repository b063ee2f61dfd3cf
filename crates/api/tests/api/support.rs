//! Test harness: a fresh server per test.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use tempfile::TempDir;
use threadsync_service::{bootstrap, AdminSeed, ServiceOptions, Services};
use threadsync_storage::Store;
use threadsync_storage_postgres::{PgOptions, PgStore};
use threadsync_storage_sqlite::{SqliteOptions, SqliteStore};
use tower::ServiceExt;

pub const ADMIN: &str = "admin";
pub const ADMIN_PASS: &str = "admin-pass";

/// A logged-in client: the ids the API expects in headers.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: String,
    pub token: String,
    pub username: String,
}

pub struct TestApp {
    pub router: Router,
    pub services: Arc<Services>,
    pub admin: Session,
    _guard: StoreGuard,
    /// Where uploaded files' bytes go.
    _files: TempDir,
}

/// A response: status and JSON body (every response must be JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// Asserts a 200 success and returns the body.
    #[track_caller]
    pub fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "expected 200, got {:?}: {}", self.status, self.body);
        assert_eq!(self.body["success"], json!(true), "{}", self.body);
        self.body
    }

    /// Asserts a Rocket.Chat error with this status, error text and errorType.
    #[track_caller]
    pub fn err(self, status: u16, error: &str, error_type: Option<&str>) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["success"], json!(false), "{}", self.body);
        assert_eq!(self.body["error"], json!(error), "{}", self.body);
        match error_type {
            Some(t) => assert_eq!(self.body["errorType"], json!(t), "{}", self.body),
            None => assert!(self.body.get("errorType").is_none(), "{}", self.body),
        }
        self.body
    }

    /// Asserts a 400 with this errorType (text checked loosely).
    #[track_caller]
    pub fn err_type(self, error_type: &str) -> Value {
        assert_eq!(self.status.as_u16(), 400, "body: {}", self.body);
        assert_eq!(self.body["success"], json!(false), "{}", self.body);
        assert_eq!(self.body["errorType"], json!(error_type), "{}", self.body);
        self.body
    }
}

/// Which backend the test binary runs on (`crate::BACKEND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What keeps a test's store alive, and cleans it up afterwards.
enum StoreGuard {
    /// The SQLite database's temporary directory.
    Dir(#[allow(dead_code)] TempDir),
    /// A PostgreSQL schema of the test's own, dropped with the guard.
    Schema { url: String, schema: String },
}

impl Drop for StoreGuard {
    fn drop(&mut self) {
        if let StoreGuard::Schema { url, schema } = self {
            let (url, schema) = (url.clone(), schema.clone());
            // Drop runs inside the test's runtime; a blocking wait there is
            // not allowed, so the cleanup gets a thread and runtime of its own.
            let cleanup = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async {
                    if let Ok((client, connection)) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                    {
                        tokio::spawn(connection);
                        let _ =
                            client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
                    }
                });
            });
            let _ = cleanup.join();
        }
    }
}

async fn open_store() -> (Arc<dyn Store>, StoreGuard) {
    match crate::BACKEND {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = SqliteStore::open(dir.path(), SqliteOptions::default()).await.expect("open store");
            (Arc::new(store), StoreGuard::Dir(dir))
        }
        Backend::Postgres => {
            let url = threadsync_storage::conformance::test_database_url();
            let schema = format!("ts_api_{}", threadsync_domain::id::new_id().to_lowercase());
            let options = PgOptions { schema: Some(schema.clone()), pool_size: 4, ..PgOptions::default() };
            let store = PgStore::connect(&url, options).await.expect("connect to PostgreSQL");
            (Arc::new(store), StoreGuard::Schema { url, schema })
        }
    }
}

impl TestApp {
    /// A fresh server on the test binary's backend, bootstrapped with the admin.
    pub async fn new() -> TestApp {
        TestApp::open(ServiceOptions::default()).await
    }

    async fn open(options: ServiceOptions) -> TestApp {
        let (store, guard) = open_store().await;
        let files = tempfile::tempdir().expect("temp dir for files");
        let blobs = threadsync_storage_files::DiskBlobs::open(files.path()).await.expect("file store");
        let services =
            Services::start_with(store, Arc::new(blobs), ServiceOptions { bcrypt_cost: 4, ..options })
                .await
                .expect("services");
        bootstrap(
            &services,
            Some(AdminSeed {
                username: ADMIN.into(),
                password: ADMIN_PASS.into(),
                email: "admin@example.com".into(),
            }),
        )
        .await
        .expect("bootstrap");
        let router = threadsync_api::router(Arc::clone(&services));
        let mut app = TestApp {
            router,
            services,
            admin: Session { user_id: String::new(), token: String::new(), username: ADMIN.into() },
            _guard: guard,
            _files: files,
        };
        app.admin = app.login(ADMIN, ADMIN_PASS).await;
        app
    }

    /// PostgreSQL only: drops the test's schema under the running server, so
    /// every further query fails as a lost database would.
    // Used by the PostgreSQL copy only (tests/api_postgres/failures.rs).
    #[allow(dead_code)]
    pub async fn break_database(&self) {
        let StoreGuard::Schema { url, schema } = &self._guard else {
            panic!("break_database needs the PostgreSQL backend");
        };
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.expect("drop schema");
    }

    /// Where the server keeps uploaded files' bytes.
    #[allow(dead_code)]
    pub fn files_dir(&self) -> &std::path::Path {
        self._files.path()
    }

    /// Sends a raw request.
    pub async fn request(&self, req: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(req).await.expect("infallible");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        assert!(content_type.starts_with("application/json"), "non-JSON response {status}: {content_type}");
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("invalid JSON: {bytes:?}"));
        Reply { status, body }
    }

    pub async fn get(&self, path: &str, session: Option<&Session>) -> Reply {
        let mut req = Request::get(path);
        if let Some(s) = session {
            req = req.header("X-User-Id", &s.user_id).header("X-Auth-Token", &s.token);
        }
        self.request(req.body(Body::empty()).expect("request")).await
    }

    pub async fn post(&self, path: &str, session: Option<&Session>, body: Value) -> Reply {
        self.post_raw(path, session, body.to_string()).await
    }

    pub async fn post_raw(&self, path: &str, session: Option<&Session>, body: impl Into<Body>) -> Reply {
        let mut req = Request::post(path).header("content-type", "application/json");
        if let Some(s) = session {
            req = req.header("X-User-Id", &s.user_id).header("X-Auth-Token", &s.token);
        }
        self.request(req.body(body.into()).expect("request")).await
    }

    pub async fn login(&self, user: &str, password: &str) -> Session {
        let body = self.post("/api/v1/login", None, json!({"user": user, "password": password})).await.ok();
        Session {
            user_id: body["data"]["userId"].as_str().expect("userId").to_owned(),
            token: body["data"]["authToken"].as_str().expect("authToken").to_owned(),
            username: user.to_owned(),
        }
    }

    /// Registers a user through the API and logs them in.
    pub async fn user(&self, username: &str) -> Session {
        self.post(
            "/api/v1/users.register",
            None,
            json!({"username": username, "email": format!("{username}@example.com"), "pass": "pw-123456", "name": username}),
        )
        .await
        .ok();
        self.login(username, "pw-123456").await
    }

    /// Sets a setting as the admin.
    pub async fn set_setting(&self, id: &str, value: Value) {
        self.post(&format!("/api/v1/settings/{id}"), Some(&self.admin), json!({"value": value})).await.ok();
    }
}

// ------------------------------------------------ helpers for threads and sync

impl TestApp {
    /// A fresh server with chosen service options (bcrypt cost forced to 4)
    /// and the rate limiter off, e.g. a small `max_sync_items`.
    pub async fn with_options(options: ServiceOptions) -> TestApp {
        let app = TestApp::open(options).await;
        app.set_setting("API_Enable_Rate_Limiter", json!(false)).await;
        app
    }

    /// A fresh server with default options and the rate limiter off.
    pub async fn unlimited() -> TestApp {
        TestApp::with_options(ServiceOptions::default()).await
    }

    /// Sends `msg` to `rid` (`chat.sendMessage`) and returns the stored message.
    pub async fn say(&self, who: &Session, rid: &str, msg: &str) -> Value {
        self.post("/api/v1/chat.sendMessage", Some(who), json!({"message": {"rid": rid, "msg": msg}}))
            .await
            .ok()["message"]
            .clone()
    }

    /// Replies `msg` in the thread `tmid` of `rid` and returns the reply.
    pub async fn reply_in(&self, who: &Session, rid: &str, tmid: &str, msg: &str) -> Value {
        self.post(
            "/api/v1/chat.sendMessage",
            Some(who),
            json!({"message": {"rid": rid, "msg": msg, "tmid": tmid}}),
        )
        .await
        .ok()["message"]
            .clone()
    }

    /// Edits a message's text (`chat.update`) and returns it.
    pub async fn edit(&self, who: &Session, rid: &str, id: &str, text: &str) -> Value {
        self.post("/api/v1/chat.update", Some(who), json!({"roomId": rid, "msgId": id, "text": text}))
            .await
            .ok()["message"]
            .clone()
    }

    /// Deletes a message (`chat.delete`).
    pub async fn remove(&self, who: &Session, rid: &str, id: &str) {
        self.post("/api/v1/chat.delete", Some(who), json!({"roomId": rid, "msgId": id})).await.ok();
    }

    /// A message as `chat.getMessage` returns it.
    pub async fn message(&self, who: &Session, id: &str) -> Value {
        self.get(&format!("/api/v1/chat.getMessage?msgId={id}"), Some(who)).await.ok()["message"].clone()
    }

    /// Creates a private group owned by `owner` with `members`; returns its id.
    pub async fn group(&self, owner: &Session, name: &str, members: &[&Session]) -> String {
        let members: Vec<&str> = members.iter().map(|s| s.username.as_str()).collect();
        let body = self
            .post("/api/v1/groups.create", Some(owner), json!({"name": name, "members": members}))
            .await
            .ok();
        body["group"]["_id"].as_str().expect("group id").to_owned()
    }

    /// Opens the direct message between `me` and `other`; returns its id.
    pub async fn direct(&self, me: &Session, other: &Session) -> String {
        let body = self.post("/api/v1/im.create", Some(me), json!({"username": other.username})).await.ok();
        body["room"]["_id"].as_str().expect("room id").to_owned()
    }
}

/// Percent-encodes a query-string value (JSON for `sort`, `fields`, `query`).
/// The usernames of a `{users: [...]}` answer, in order.
pub fn usernames(body: &Value) -> Vec<String> {
    body["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["username"].as_str().expect("name").to_owned())
        .collect()
}

pub fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ------------------------------------------------ helpers for fuzzing and access

/// A response exactly as the router produced it, unchecked: the fuzz tests
/// judge status, headers and body themselves.
#[derive(Debug)]
pub struct RawReply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub bytes: axum::body::Bytes,
}

impl TestApp {
    /// Sends a raw request and returns the raw response (no assertions).
    pub async fn send(&self, req: Request<Body>) -> RawReply {
        let response = self.router.clone().oneshot(req).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        RawReply { status, headers, bytes }
    }

    /// Creates a public channel owned by `owner` with `members`; returns its id.
    pub async fn channel(&self, owner: &Session, name: &str, members: &[&Session]) -> String {
        let members: Vec<&str> = members.iter().map(|s| s.username.as_str()).collect();
        let body = self
            .post("/api/v1/channels.create", Some(owner), json!({"name": name, "members": members}))
            .await
            .ok();
        body["channel"]["_id"].as_str().expect("channel id").to_owned()
    }
}

// ------------------------------------------------ multipart forms (file uploads)

pub const BOUNDARY: &str = "threadsync-test-boundary";

/// One part of a multipart form: a text field, or a file.
pub enum Part<'a> {
    Text(&'a str, &'a str),
    File { field: &'a str, name: &'a str, content_type: Option<&'a str>, bytes: &'a [u8] },
}

pub fn multipart_form(parts: &[Part<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                out.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                );
                out.extend_from_slice(value.as_bytes());
            }
            Part::File { field, name, content_type, bytes } => {
                out.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n")
                        .as_bytes(),
                );
                if let Some(content_type) = content_type {
                    out.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(bytes);
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

pub fn file<'a>(name: &'a str, content_type: &'a str, bytes: &'a [u8]) -> Part<'a> {
    Part::File { field: "file", name, content_type: Some(content_type), bytes }
}

pub async fn post_form(app: &TestApp, path: &str, who: &Session, parts: &[Part<'_>]) -> Reply {
    let req = Request::post(path)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .header("X-User-Id", &who.user_id)
        .header("X-Auth-Token", &who.token)
        .body(Body::from(multipart_form(parts)))
        .expect("request");
    app.request(req).await
}
