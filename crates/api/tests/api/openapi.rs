//! `GET /api/openapi.json`: the OpenAPI document generated from the handlers.
//!
//! The router is built from the documented handlers (`utoipa_axum`'s
//! `routes!(handler)` takes each route's method and path from its
//! `#[utoipa::path]`), so the two cannot drift by construction; these tests
//! hold that in place against a route mounted some other way
//! (`Router::route`), a document edited by hand, or an answer whose shape
//! changed without its schema:
//!
//! - every route the router serves, with every method it answers, is in the
//!   document, and every documented operation is served;
//! - the document is well formed: OpenAPI 3.1, every `$ref` resolves, ids are
//!   unique, every operation says its summary, auth, and its answers with
//!   their schemas;
//! - one real call of every documented operation answers what its 200 schema
//!   says, no field more or less.

use crate::support::{enc, file, post_form, Part, Session, TestApp};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The methods a route could answer besides the automatic HEAD and OPTIONS.
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

async fn document(app: &TestApp) -> Value {
    let raw = app.send(Request::get("/api/openapi.json").body(Body::empty()).expect("request")).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.headers["content-type"], "application/json");
    serde_json::from_slice(&raw.bytes).expect("the document is JSON")
}

/// `(method, path template)` of every documented operation.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("path item");
            METHODS.iter().filter(|m| item.contains_key(**m)).map(move |m| ((*m).to_owned(), path.clone()))
        })
        .collect()
}

/// A concrete URL for a path template (`{id}` → `x`).
fn concrete(template: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in template.chars() {
        match (c, in_param) {
            ('{', _) => in_param = true,
            ('}', true) => {
                in_param = false;
                out.push('x');
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

/// Whether the router answered "no such route" (the fallback for unknown
/// paths and for known paths with a method they do not serve).
async fn is_unknown_route(app: &TestApp, method: &str, template: &str) -> bool {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
    let req = Request::builder().method(method).uri(concrete(template)).body(Body::empty()).expect("request");
    let raw = app.send(req).await;
    raw.status == StatusCode::NOT_FOUND
        && serde_json::from_slice::<Value>(&raw.bytes).ok()
            == Some(json!({"success": false, "error": "Resource not found"}))
}

/// The path templates the router has mounted. axum offers no list of routes;
/// its `Debug` output names each one (`RouteId(n): "/path"`). If that format
/// ever changes this finds nothing and the test says so, rather than passing.
fn mounted_paths(app: &TestApp) -> BTreeSet<String> {
    let debug = format!("{:?}", app.router);
    // The routes proper; the fallback's own router comes after them.
    let start = debug.find("path_router:").expect("axum's Router Debug names path_router");
    let end = debug.find("fallback_router:").unwrap_or(debug.len());
    let mut paths = BTreeSet::new();
    let mut rest = &debug[start..end];
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at..];
        let Some(open) = rest.find(": \"") else { break };
        let after = &rest[open + 3..];
        let Some(close) = after.find('"') else { break };
        let path = &after[..close];
        // axum's own catch-all routes for the fallback.
        if path.starts_with('/') && !path.contains("__private__") {
            paths.insert(path.to_owned());
        }
        rest = &after[close..];
    }
    paths
}

#[tokio::test]
async fn the_document_is_openapi_3_1_of_threadsync_without_auth() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "threadsync");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let schemes = &doc["components"]["securitySchemes"];
    // For scripts/check-openapi.py, which runs a real OpenAPI validator on it in CI.
    let copy = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("openapi.json");
    std::fs::write(&copy, serde_json::to_vec_pretty(&doc).expect("json")).expect("write the document");
    for (scheme, header) in [("userId", "X-User-Id"), ("authToken", "X-Auth-Token")] {
        assert_eq!(schemes[scheme]["type"], "apiKey");
        assert_eq!(schemes[scheme]["in"], "header");
        assert_eq!(schemes[scheme]["name"], header);
    }
}

#[tokio::test]
async fn every_served_route_is_documented_and_every_documented_route_is_served() {
    let app = TestApp::unlimited().await;
    let doc = document(&app).await;
    let documented = documented(&doc);

    // Documented → served: each operation answers something other than the
    // unknown-route 404 (with no auth: a 401 or 400 is an answer too).
    for (method, path) in &documented {
        assert!(!is_unknown_route(&app, method, path).await, "documented but not served: {method} {path}");
    }

    // Served → documented: every mounted path, with every method it answers.
    let mounted = mounted_paths(&app);
    let documented_paths: BTreeSet<String> = documented.iter().map(|(_, p)| p.clone()).collect();
    assert!(
        mounted.len() >= 45,
        "found only {} routes in the router's Debug output: {mounted:?}",
        mounted.len()
    );
    let undocumented: Vec<_> = mounted.difference(&documented_paths).collect();
    assert!(undocumented.is_empty(), "served but not in /api/openapi.json: {undocumented:?}");
    for path in &mounted {
        for method in METHODS {
            if !is_unknown_route(&app, method, path).await {
                assert!(
                    documented.contains(&(method.to_owned(), path.clone())),
                    "{method} {path} is served but not in /api/openapi.json"
                );
            }
        }
    }
    // The benchmark routes are never part of the default router.
    assert!(!mounted.iter().any(|p| p.starts_with("/bench")), "{mounted:?}");
}

/// Every `$ref` in `value` names something the document defines.
fn check_refs(doc: &Value, value: &Value, at: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                assert!(resolve(doc, target).is_some(), "{at}: dangling $ref {target}");
            }
            for (k, v) in map {
                check_refs(doc, v, &format!("{at}/{k}"));
            }
        }
        Value::Array(items) => items.iter().for_each(|v| check_refs(doc, v, at)),
        _ => {}
    }
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// A response object, following a `$ref` to `components.responses`.
fn answer<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str() {
        Some(r) => resolve(doc, r).expect("response ref"),
        None => response,
    }
}

#[tokio::test]
async fn every_operation_says_its_summary_auth_and_answers() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    check_refs(&doc, &doc, "#");
    let mut ids = BTreeSet::new();
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][&method];
        let name = format!("{} {path}", method.to_uppercase());
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{name}: no summary");
        assert!(op["tags"].as_array().is_some_and(|t| t.len() == 1), "{name}: one tag");
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{name}: no operationId"));
        assert!(ids.insert(id.to_owned()), "{name}: operationId {id} is not unique");

        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{name}: no responses"));
        // A websocket answers 101 (then speaks DDP), not a JSON 200.
        let upgrade = responses.contains_key("101");
        // `users.getAvatar` redirects to the picture, as Rocket.Chat's.
        let redirect = responses.contains_key("307");
        // Read receipts are refused, as by a Rocket.Chat without them.
        let refused = path == "/api/v1/chat.getMessageReadReceipts";
        if !upgrade && !redirect && !refused {
            let ok = answer(&doc, &responses["200"]);
            assert!(ok["content"].as_object().is_some_and(|c| c.len() == 1), "{name}: 200 has no content");
        }
        // Every error answer carries the Rocket.Chat envelope.
        for (status, response) in responses.iter().filter(|(s, _)| !s.starts_with('2') && !s.starts_with('3'))
        {
            let schema = &answer(&doc, response)["content"]["application/json"]["schema"];
            assert_eq!(schema["$ref"], "#/components/schemas/Error", "{name}: {status} without the envelope");
        }
        assert!(responses.contains_key("500"), "{name}: no 500");

        let secured = op["security"] == json!([{"userId": [], "authToken": []}]);
        assert!(secured || op.get("security").is_none(), "{name}: unexpected security {}", op["security"]);
        assert_eq!(secured, responses.contains_key("401") && path != "/api/v1/login", "{name}: 401 iff auth");
        let public = [
            "/api/info",
            "/api/openapi.json",
            "/metrics",
            "/livez",
            "/readyz",
            "/api/v1/login",
            "/api/v1/users.register",
            "/api/v1/users.forgotPassword",
            "/api/v1/settings.public",
            "/api/v1/settings.oauth",
            "/websocket",
            "/sockjs/info",
            "/sockjs/{server}/{session}/websocket",
            "/api/v1/method.callAnon/{method}",
            "/avatar/{name}",
            // Credentials by headers, cookies or query, or none when files are not protected.
            "/file-upload/{id}/{name}",
        ];
        assert_eq!(!secured, public.contains(&path.as_str()), "{name}: auth as served");
        if path.starts_with("/api/") {
            assert!(responses.contains_key("429"), "{name}: no 429");
        }
        if op.get("requestBody").is_some() || op["parameters"].as_array().is_some_and(|p| !p.is_empty()) {
            assert!(responses.contains_key("400"), "{name}: takes input but documents no 400");
        }
    }
    // Every route that requires auth does refuse a call without it, as documented.
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][&method];
        if op.get("security").is_some() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let req =
                Request::builder().method(method).uri(concrete(&path)).body(Body::empty()).expect("req");
            assert_eq!(app.send(req).await.status, StatusCode::UNAUTHORIZED, "{path} without auth");
        }
    }
}

// ------------------------------------------------ answers against their schemas

/// Checks `value` against `schema`, the subset of JSON Schema the document
/// uses, strictly: an object may hold only the properties its schema lists
/// (unless the schema allows others with `additionalProperties`), so a field
/// added to an answer but not to its schema fails as surely as one missing.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        return check(doc, resolve(doc, r).ok_or(format!("{at}: dangling {r}"))?, value, at);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let matching = options.iter().filter(|s| check(doc, s, value, at).is_ok()).count();
        return if matching == 1 { Ok(()) } else { Err(format!("{at}: {matching} of oneOf match {value}")) };
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            other => return Err(format!("{at}: bad type {other}")),
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        if !fits {
            return Err(format!("{at}: {actual} where {types:?} is documented: {value}"));
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return Err(format!("{at}: {value} not in {allowed:?}"));
        }
    }
    if let (Some(items), Value::Array(values)) = (schema.get("items"), value) {
        for (i, v) in values.iter().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"))?;
        }
    }
    if let Value::Object(map) = value {
        let mut parts = Vec::new();
        object_parts(doc, schema, &mut parts);
        let mut known = BTreeSet::new();
        let mut open = false;
        for part in &parts {
            open |= part.get("additionalProperties").is_some();
            for name in part["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !map.contains_key(name) {
                    return Err(format!("{at}: required `{name}` missing from {value}"));
                }
            }
            for (name, property) in part["properties"].as_object().into_iter().flatten() {
                known.insert(name.as_str());
                if let Some(v) = map.get(name) {
                    check(doc, property, v, &format!("{at}.{name}"))?;
                }
            }
        }
        let has_properties = parts.iter().any(|p| p.get("properties").is_some());
        if has_properties && !open {
            if let Some(extra) = map.keys().find(|k| !known.contains(k.as_str())) {
                return Err(format!("{at}: `{extra}` is answered but not documented: {value}"));
            }
        }
    }
    Ok(())
}

/// The parts of an object schema: itself, or every branch of its `allOf`
/// (recursively, through `$ref`s).
fn object_parts<'a>(doc: &'a Value, schema: &'a Value, parts: &mut Vec<&'a Value>) {
    if let Some(target) = schema["$ref"].as_str().and_then(|r| resolve(doc, r)) {
        object_parts(doc, target, parts);
    } else if let Some(branches) = schema["allOf"].as_array() {
        branches.iter().for_each(|b| object_parts(doc, b, parts));
    } else {
        parts.push(schema);
    }
}

/// Calls every documented operation once, successfully, and checks each
/// answer against the operation's 200 schema.
struct Tour<'a> {
    app: &'a TestApp,
    doc: Value,
    seen: BTreeSet<(String, String)>,
}

impl Tour<'_> {
    /// The documented template a concrete path was served by.
    fn template(&self, path: &str) -> String {
        let path = path.split('?').next().unwrap_or(path);
        documented(&self.doc)
            .into_iter()
            .map(|(_, t)| t)
            .find(|t| t == path || t.split_once('{').is_some_and(|(prefix, _)| path.starts_with(prefix)))
            .unwrap_or_else(|| panic!("{path} is not documented"))
    }

    fn verify(&mut self, method: &str, path: &str, body: &Value) {
        let template = self.template(path);
        let op = &self.doc["paths"][&template][method];
        let schema = &answer(&self.doc, &op["responses"]["200"])["content"]["application/json"]["schema"];
        if let Err(e) = check(&self.doc, schema, body, "answer") {
            panic!("{} {path}: the answer does not match its documented schema: {e}", method.to_uppercase());
        }
        self.seen.insert((method.to_owned(), template));
    }

    async fn get(&mut self, path: &str, who: Option<&Session>) -> Value {
        let body = self.app.get(path, who).await.ok();
        self.verify("get", path, &body);
        body
    }

    async fn post(&mut self, path: &str, who: Option<&Session>, body: Value) -> Value {
        let body = self.app.post(path, who, body).await.ok();
        self.verify("post", path, &body);
        body
    }

    /// Any other method, with a JSON body.
    async fn send(&mut self, method: &str, path: &str, who: Option<&Session>, body: Value) -> Value {
        let method_name = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let mut req =
            Request::builder().method(method_name).uri(path).header("content-type", "application/json");
        if let Some(s) = who {
            req = req.header("X-User-Id", &s.user_id).header("X-Auth-Token", &s.token);
        }
        let body = self.app.request(req.body(Body::from(body.to_string())).expect("request")).await.ok();
        self.verify(method, path, &body);
        body
    }
}

#[tokio::test]
async fn every_documented_answer_matches_what_the_route_answers() {
    // users.createToken answers only where the server allows it.
    let options = threadsync_service::ServiceOptions {
        create_tokens_for_users: true,
        ..threadsync_service::ServiceOptions::default()
    };
    let app = TestApp::with_options(options).await;
    let doc = document(&app).await;
    let mut t = Tour { app: &app, doc: doc.clone(), seen: BTreeSet::new() };
    let admin = app.admin.clone();

    // Server.
    t.get("/api/info", None).await;
    t.get("/api/info", Some(&admin)).await;
    t.get("/livez", None).await;
    t.get("/readyz", None).await;
    let info = app.get("/sockjs/info", None).await;
    assert_eq!(info.status, StatusCode::OK);
    // SockJS's own shape: no `success` field.
    t.verify("get", "/sockjs/info", &info.body);
    // The websockets: a plain GET is refused with the envelope (their 101
    // and the DDP that follows are the realtime tests' business).
    for path in ["/websocket", "/sockjs/123/abcdefgh/websocket"] {
        let refused = app.get(path, None).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{path}: {refused:?}");
        check(&doc, &json!({"$ref": "#/components/schemas/Error"}), &refused.body, "error")
            .unwrap_or_else(|e| panic!("{e}"));
        t.seen.insert(("get".into(), t.template(path)));
    }
    let call = json!({"msg": "method", "id": "1", "method": "login", "params": [{"user": {"username": "admin"}, "password": "nope"}]});
    t.post("/api/v1/method.callAnon/login", None, json!({"message": call.to_string()})).await;
    let call = json!({"msg": "method", "id": "2", "method": "getRoomIdByNameOrId", "params": ["general"]});
    let answered = t
        .post("/api/v1/method.call/getRoomIdByNameOrId", Some(&admin), json!({"message": call.to_string()}))
        .await;
    assert!(answered["message"].as_str().is_some_and(|m| m.contains("GENERAL")), "{answered}");
    t.seen.insert(("get".into(), "/api/openapi.json".into()));
    let metrics = app.send(Request::get("/metrics").body(Body::empty()).expect("request")).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics.headers["content-type"].to_str().is_ok_and(|c| c.starts_with("text/plain")));
    t.seen.insert(("get".into(), "/metrics".into()));
    let avatar = app.send(Request::get("/avatar/admin?size=48").body(Body::empty()).expect("request")).await;
    assert_eq!(avatar.status, StatusCode::OK);
    assert_eq!(avatar.headers["content-type"], "image/svg+xml");
    assert!(String::from_utf8_lossy(&avatar.bytes).contains(r#"width="48""#));
    t.seen.insert(("get".into(), "/avatar/{name}".into()));

    // Users and auth.
    let reg = json!({"username": "bob", "email": "bob@example.com", "pass": "pw-123456", "name": "Bob"});
    t.post("/api/v1/users.register", None, reg).await;
    let login = t.post("/api/v1/login", None, json!({"user": "bob", "password": "pw-123456"})).await;
    let bob = Session {
        user_id: login["data"]["userId"].as_str().expect("id").to_owned(),
        token: login["data"]["authToken"].as_str().expect("token").to_owned(),
        username: "bob".into(),
    };
    let carol =
        json!({"email": "carol@example.com", "name": "Carol", "username": "carol", "password": "pw-123456"});
    t.post("/api/v1/users.create", Some(&admin), carol).await;
    let carol = app.login("carol", "pw-123456").await;
    let dave = app.user("dave").await;
    t.get("/api/v1/me", Some(&bob)).await;
    t.get("/api/v1/users.info?username=bob", Some(&bob)).await;
    t.get("/api/v1/users.list?sort=%7B%22createdAt%22%3A-1%7D&count=2", Some(&bob)).await;
    t.get("/api/v1/users.list?email=bob%40example.com", Some(&admin)).await;
    t.get("/api/v1/roles.getUsersInRole?role=admin", Some(&admin)).await;
    t.post("/api/v1/roles.addUserToRole", Some(&admin), json!({"roleName": "bot", "username": "dave"})).await;
    let made =
        t.post("/api/v1/roles.create", Some(&admin), json!({"name": "auditor", "scope": "Users"})).await;
    let role_id = made["role"]["_id"].as_str().expect("role id").to_owned();
    t.post("/api/v1/roles.update", Some(&admin), json!({"roleId": role_id, "description": "reads"})).await;
    t.post("/api/v1/roles.delete", Some(&admin), json!({"roleId": role_id})).await;
    t.get("/api/v1/roles.sync?updatedSince=2017-11-25T15:08:17.248Z", Some(&dave)).await;
    t.get("/api/v1/spotlight?query=ca", Some(&dave)).await;
    t.get("/api/v1/directory?text=ca&type=users", Some(&dave)).await;
    t.get("/api/v1/directory?type=channels", Some(&dave)).await;
    t.post("/api/v1/roles.removeUserFromRole", Some(&admin), json!({"roleName": "bot", "username": "dave"}))
        .await;

    // Settings.
    t.get("/api/v1/settings/Message_MaxAllowedSize", Some(&admin)).await;
    t.post("/api/v1/settings/Message_MaxAllowedSize", Some(&admin), json!({"value": 6000})).await;
    t.get("/api/v1/settings.public?_id=Threads_enabled,Message_MaxAllowedSize", None).await;
    t.get("/api/v1/settings.oauth", None).await;
    t.get("/api/v1/settings?count=5", Some(&admin)).await;

    // Start-up calls.
    t.get("/api/v1/permissions.listAll", Some(&bob)).await;
    let unchanged =
        json!({"permissions": [{"_id": "pin-message", "roles": ["admin", "owner", "moderator"]}]});
    t.post("/api/v1/permissions.update", Some(&admin), unchanged).await;
    t.get("/api/v1/roles.list", Some(&bob)).await;
    t.get("/api/v1/roles.getUsersInPublicRoles", Some(&bob)).await;
    t.get("/api/v1/emoji-custom.list", Some(&bob)).await;
    t.get("/api/v1/commands.list", Some(&bob)).await;
    let push = json!({"type": "apn", "value": "device", "appName": "chat.rocket.ios"});
    t.post("/api/v1/push.token", Some(&bob), push).await;
    t.send("delete", "/api/v1/push.token", Some(&bob), json!({"token": "device"})).await;
    t.get("/api/v1/users.presence", Some(&bob)).await;
    t.get("/api/v1/users.getStatus?username=carol", Some(&bob)).await;
    t.get("/api/v1/users.getPresence", Some(&bob)).await;
    t.post("/api/v1/users.setStatus", Some(&carol), json!({"status": "busy", "message": "in a meeting"}))
        .await;
    t.get("/api/v1/users.getStatus?username=carol", Some(&bob)).await;
    t.get("/api/v1/users.info?username=carol", Some(&bob)).await;
    let profile = json!({"userId": carol.user_id, "data": {"name": "Carol C", "statusText": "back soon"}});
    t.post("/api/v1/users.update", Some(&admin), profile).await;
    t.post(
        "/api/v1/users.setPreferences",
        Some(&bob),
        json!({"data": {"language": "de", "highlights": ["x"]}}),
    )
    .await;
    t.get("/api/v1/users.getPreferences", Some(&bob)).await;
    t.get("/api/v1/me", Some(&bob)).await;
    t.get("/api/v1/users.getUsernameSuggestion", Some(&bob)).await;
    t.post("/api/v1/users.forgotPassword", None, json!({"email": "carol@example.com"})).await;
    t.post("/api/v1/users.createToken", Some(&bob), json!({"username": "bob"})).await;

    // Channels.
    let channel =
        t.post("/api/v1/channels.create", Some(&bob), json!({"name": "town", "members": ["carol"]})).await;
    let rid = channel["channel"]["_id"].as_str().expect("rid").to_owned();
    t.get("/api/v1/channels.info?roomName=town", Some(&bob)).await;
    t.post("/api/v1/channels.join", Some(&dave), json!({"roomId": rid})).await;
    t.post("/api/v1/channels.kick", Some(&bob), json!({"roomId": rid, "username": "dave"})).await;
    t.post("/api/v1/channels.invite", Some(&bob), json!({"roomId": rid, "username": "dave"})).await;
    t.post("/api/v1/channels.leave", Some(&dave), json!({"roomId": rid})).await;
    t.get(&format!("/api/v1/channels.members?roomId={rid}"), Some(&bob)).await;
    t.get(&format!("/api/v1/channels.online?_id={rid}"), Some(&bob)).await;
    t.get("/api/v1/channels.list.joined", Some(&bob)).await;

    // Groups.
    let group =
        t.post("/api/v1/groups.create", Some(&bob), json!({"name": "den", "members": ["carol"]})).await;
    let gid = group["group"]["_id"].as_str().expect("gid").to_owned();
    t.get(&format!("/api/v1/groups.info?roomId={gid}"), Some(&bob)).await;
    t.get(&format!("/api/v1/groups.online?_id={gid}"), Some(&bob)).await;
    t.post("/api/v1/groups.invite", Some(&bob), json!({"roomId": gid, "username": "dave"})).await;
    t.post("/api/v1/groups.kick", Some(&bob), json!({"roomId": gid, "username": "dave"})).await;
    // Room roles (carol is a member of both rooms, bob their owner).
    t.post("/api/v1/channels.addOwner", Some(&bob), json!({"roomId": rid, "username": "carol"})).await;
    t.post("/api/v1/channels.addModerator", Some(&bob), json!({"roomId": rid, "username": "carol"})).await;
    t.post("/api/v1/channels.addLeader", Some(&bob), json!({"roomId": rid, "username": "carol"})).await;
    t.post("/api/v1/groups.addOwner", Some(&bob), json!({"roomId": gid, "username": "carol"})).await;
    t.post("/api/v1/groups.addModerator", Some(&bob), json!({"roomId": gid, "username": "carol"})).await;
    t.post("/api/v1/groups.addLeader", Some(&bob), json!({"roomId": gid, "username": "carol"})).await;
    t.post("/api/v1/channels.removeOwner", Some(&bob), json!({"roomId": rid, "username": "carol"})).await;
    t.post("/api/v1/channels.removeModerator", Some(&bob), json!({"roomId": rid, "username": "carol"})).await;
    t.post("/api/v1/channels.removeLeader", Some(&bob), json!({"roomId": rid, "username": "carol"})).await;
    t.post("/api/v1/groups.removeOwner", Some(&bob), json!({"roomId": gid, "username": "carol"})).await;
    t.post("/api/v1/groups.removeModerator", Some(&bob), json!({"roomId": gid, "username": "carol"})).await;
    t.post("/api/v1/groups.removeLeader", Some(&bob), json!({"roomId": gid, "username": "carol"})).await;
    t.post("/api/v1/groups.leave", Some(&carol), json!({"roomName": "den"})).await;
    t.get("/api/v1/groups.members?roomName=den", Some(&bob)).await;
    t.get("/api/v1/groups.list", Some(&bob)).await;
    t.get("/api/v1/groups.list.joined?count=10", Some(&bob)).await;
    t.post("/api/v1/groups.delete", Some(&bob), json!({"roomId": gid})).await;

    let gid2 = t.post("/api/v1/groups.create", Some(&bob), json!({"name": "nook"})).await["group"]["_id"]
        .as_str()
        .expect("gid")
        .to_owned();

    // Room settings, on a room of each family made for them.
    for (family, name) in [("channels", "plaza"), ("groups", "attic")] {
        let created = t.post(&format!("/api/v1/{family}.create"), Some(&bob), json!({"name": name})).await;
        let key = if family == "channels" { "channel" } else { "group" };
        let id = created[key]["_id"].as_str().expect("id").to_owned();
        let room = |extra: Value| {
            let mut body = json!({"roomId": id});
            body.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
            body
        };
        let other = if family == "channels" { "p" } else { "c" };
        let back = if family == "channels" { "c" } else { "p" };
        let renamed = format!("{name}-2");
        let steps = [
            ("setTopic", Some(&bob), json!({"topic": "t"})),
            ("setDescription", Some(&bob), json!({"description": "d"})),
            ("setPurpose", Some(&bob), json!({"purpose": "p"})),
            ("setAnnouncement", Some(&bob), json!({"announcement": "a"})),
            ("setReadOnly", Some(&bob), json!({"readOnly": true})),
            ("rename", Some(&bob), json!({"name": renamed})),
            ("setCustomFields", Some(&bob), json!({"customFields": {"team": "blue"}})),
            ("setType", Some(&bob), json!({"type": other})),
            ("archive", Some(&bob), json!({})),
            ("unarchive", Some(&admin), json!({})),
        ];
        for (route, who, extra) in steps {
            // After `setType` the room belongs to the other family.
            let family = if route == "archive" || route == "unarchive" {
                if family == "channels" {
                    "groups"
                } else {
                    "channels"
                }
            } else {
                family
            };
            t.post(&format!("/api/v1/{family}.{route}"), who, room(extra)).await;
        }
        let family = if family == "channels" { "groups" } else { "channels" };
        t.post(&format!("/api/v1/{family}.setType"), Some(&bob), room(json!({"type": back}))).await;
        if back == "c" {
            t.post("/api/v1/channels.setDefault", Some(&admin), room(json!({"default": true}))).await;
            t.post("/api/v1/channels.setJoinCode", Some(&bob), room(json!({"joinCode": "open sesame"})))
                .await;
            t.post("/api/v1/channels.join", Some(&carol), room(json!({"joinCode": "open sesame"}))).await;
        }
    }
    // Direct messages, rooms, subscriptions.
    let dm = t.post("/api/v1/im.create", Some(&bob), json!({"username": "carol"})).await;
    t.post("/api/v1/dm.create", Some(&bob), json!({"username": "carol"})).await;
    // A direct message of several users answers the same shape.
    t.post("/api/v1/im.create", Some(&bob), json!({"usernames": "carol,admin"})).await;
    let dm_id = dm["room"]["_id"].as_str().expect("dm").to_owned();
    t.get(&format!("/api/v1/rooms.info?roomId={dm_id}"), Some(&bob)).await;
    t.get("/api/v1/im.list", Some(&bob)).await;
    t.get("/api/v1/dm.list?count=1", Some(&bob)).await;
    t.get("/api/v1/im.list.everyone", Some(&admin)).await;
    t.get("/api/v1/dm.list.everyone", Some(&admin)).await;
    t.get(&format!("/api/v1/im.members?roomId={dm_id}"), Some(&bob)).await;
    t.get("/api/v1/dm.members?username=carol", Some(&bob)).await;
    t.get(&format!("/api/v1/im.counters?roomId={dm_id}"), Some(&bob)).await;
    t.get(&format!("/api/v1/dm.counters?roomId={dm_id}"), Some(&bob)).await;
    t.post("/api/v1/im.create", Some(&admin), json!({"username": "bob"})).await;
    t.post("/api/v1/im.setTopic", Some(&admin), json!({"username": "bob", "topic": "plans"})).await;
    t.post("/api/v1/dm.setTopic", Some(&admin), json!({"username": "bob", "topic": "later"})).await;
    t.post("/api/v1/im.close", Some(&bob), json!({"roomId": dm_id})).await;
    t.post("/api/v1/im.open", Some(&bob), json!({"roomId": dm_id})).await;
    t.post("/api/v1/dm.close", Some(&bob), json!({"roomId": dm_id})).await;
    t.post("/api/v1/dm.open", Some(&bob), json!({"roomId": dm_id})).await;
    t.post("/api/v1/channels.close", Some(&bob), json!({"roomId": rid})).await;
    t.post("/api/v1/channels.open", Some(&bob), json!({"roomId": rid})).await;
    t.post("/api/v1/groups.close", Some(&bob), json!({"roomName": "nook"})).await;
    t.post("/api/v1/groups.open", Some(&bob), json!({"roomName": "nook"})).await;
    t.get(&format!("/api/v1/channels.roles?roomId={rid}"), Some(&bob)).await;
    t.get(&format!("/api/v1/channels.moderators?roomId={rid}"), Some(&bob)).await;
    t.get(&format!("/api/v1/channels.counters?roomId={rid}"), Some(&bob)).await;
    t.get(&format!("/api/v1/channels.counters?roomId={rid}"), Some(&dave)).await;
    t.get("/api/v1/groups.roles?roomName=nook", Some(&bob)).await;
    t.get("/api/v1/groups.moderators?roomName=nook", Some(&bob)).await;
    t.get("/api/v1/groups.counters?roomName=nook", Some(&bob)).await;
    t.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(&bob)).await;
    t.get("/api/v1/rooms.get", Some(&bob)).await;
    t.get("/api/v1/subscriptions.get?updatedSince=2001-01-01T00:00:00.000Z", Some(&bob)).await;
    t.post("/api/v1/rooms.favorite", Some(&bob), json!({"roomId": rid, "favorite": true})).await;
    t.post("/api/v1/channels.create", Some(&bob), json!({"name": "porch", "members": ["carol"]})).await;
    t.post("/api/v1/rooms.leave", Some(&carol), json!({"roomName": "porch"})).await;
    let porch =
        json!({"roomName": "porch", "oldest": "2000-01-01T00:00:00Z", "latest": "2000-01-02T00:00:00Z"});
    t.post("/api/v1/rooms.cleanHistory", Some(&admin), porch).await;
    // `null` for a room the caller is not in.
    let none = t.get(&format!("/api/v1/subscriptions.getOne?roomId={rid}"), Some(&dave)).await;
    assert_eq!(none["subscription"], Value::Null);

    // Messages and threads, with every optional field a message can carry.
    let extras = json!({"alias": "B", "emoji": ":x:", "avatar": "http://a/b.png", "attachments": [{"text": "t"}], "customFields": {"k": 1}});
    let mut message = json!({"rid": rid, "msg": "parent @carol #town"});
    message.as_object_mut().expect("object").extend(extras.as_object().expect("object").clone());
    let parent = t.post("/api/v1/chat.sendMessage", Some(&bob), json!({"message": message})).await;
    let tmid = parent["message"]["_id"].as_str().expect("tmid").to_owned();
    let reply = json!({"message": {"rid": rid, "msg": "reply", "tmid": tmid, "tshow": true}});
    let reply = t.post("/api/v1/chat.sendMessage", Some(&carol), reply).await;
    let reply_id = reply["message"]["_id"].as_str().expect("reply").to_owned();
    let posted = json!({"channel": "#town", "text": "posted", "tmid": tmid, "alias": "C"});
    let posted = t.post("/api/v1/chat.postMessage", Some(&bob), posted).await;
    let posted_id = posted["message"]["_id"].as_str().expect("posted").to_owned();
    t.get(&format!("/api/v1/chat.getMessage?msgId={tmid}"), Some(&carol)).await;
    t.post("/api/v1/chat.update", Some(&bob), json!({"roomId": rid, "msgId": posted_id, "text": "edited"}))
        .await;
    t.post("/api/v1/chat.followMessage", Some(&dave), json!({"mid": tmid})).await;
    t.post("/api/v1/chat.react", Some(&carol), json!({"messageId": tmid, "emoji": ":smile:"})).await;
    t.post("/api/v1/chat.starMessage", Some(&bob), json!({"messageId": tmid})).await;
    t.get(&format!("/api/v1/chat.getStarredMessages?roomId={rid}"), Some(&bob)).await;
    t.get(&format!("/api/v1/chat.getMentionedMessages?roomId={rid}"), Some(&carol)).await;
    t.get(&format!("/api/v1/chat.ignoreUser?rid={rid}&userId={}", bob.user_id), Some(&carol)).await;
    t.get("/api/v1/channels.list?count=5", Some(&carol)).await;
    t.get("/api/v1/groups.listAll", Some(&admin)).await;
    t.get("/api/v1/rooms.adminRooms?types[]=c&filter=town", Some(&admin)).await;
    t.post("/api/v1/chat.unStarMessage", Some(&bob), json!({"messageId": tmid})).await;
    t.post("/api/v1/chat.pinMessage", Some(&bob), json!({"messageId": tmid})).await;
    t.get(&format!("/api/v1/chat.getPinnedMessages?roomId={rid}"), Some(&bob)).await;
    t.get(&format!("/api/v1/chat.search?roomId={rid}&searchText=parent"), Some(&bob)).await;
    t.post("/api/v1/chat.unPinMessage", Some(&bob), json!({"messageId": tmid})).await;
    t.post("/api/v1/subscriptions.read", Some(&bob), json!({"rid": rid, "readThreads": true})).await;
    t.post("/api/v1/subscriptions.unread", Some(&bob), json!({"firstUnreadMessage": {"_id": tmid}})).await;
    t.post("/api/v1/chat.unfollowMessage", Some(&dave), json!({"mid": tmid})).await;
    t.post("/api/v1/chat.delete", Some(&carol), json!({"roomId": rid, "msgId": reply_id})).await;

    // Sync, with changes and removals in every feed.
    let epoch = enc("1970-01-01T00:00:00.000Z");
    let sync =
        t.get(&format!("/api/v1/chat.syncThreadMessages?tmid={tmid}&updatedSince={epoch}"), Some(&bob)).await;
    assert_eq!(sync["messages"]["remove"].as_array().map(Vec::len), Some(1), "{sync}");
    t.get(&format!("/api/v1/chat.getThreadMessages?tmid={tmid}"), Some(&bob)).await;
    t.get(&format!("/api/v1/chat.getThreadsList?rid={rid}&type=all"), Some(&bob)).await;
    t.get(&format!("/api/v1/chat.syncThreadsList?rid={rid}&updatedSince={epoch}"), Some(&bob)).await;
    t.get(&format!("/api/v1/chat.syncMessages?roomId={rid}&lastUpdate={epoch}"), Some(&bob)).await;
    t.get(&format!("/api/v1/chat.syncMessages?roomId={rid}&type=UPDATED&next=0&count=2"), Some(&bob)).await;
    t.get(&format!("/api/v1/chat.syncMessages?roomId={rid}&type=DELETED&next=0"), Some(&bob)).await;
    t.get(&format!("/api/v1/chat.getDeletedMessages?roomId={rid}&since={epoch}"), Some(&bob)).await;
    t.get(&format!("/api/v1/channels.history?roomId={rid}&showThreadMessages=false"), Some(&bob)).await;
    let thread = enc(&json!({"tmid": tmid}).to_string());
    t.get(&format!("/api/v1/channels.messages?roomId={rid}&query={thread}"), Some(&bob)).await;
    t.get(&format!("/api/v1/groups.history?roomId={gid2}"), Some(&bob)).await;
    t.get(&format!("/api/v1/groups.messages?roomId={gid2}"), Some(&bob)).await;
    t.get(&format!("/api/v1/im.history?roomId={dm_id}"), Some(&bob)).await;
    t.get(&format!("/api/v1/im.messages?roomId={dm_id}"), Some(&bob)).await;
    t.get(&format!("/api/v1/dm.history?roomId={dm_id}"), Some(&bob)).await;
    t.get(&format!("/api/v1/dm.messages?roomId={dm_id}&fields={}", enc(r#"{"msg":1}"#)), Some(&bob)).await;

    // Files: uploads are multipart, downloads are the file's bytes.
    let upload_path = format!("/api/v1/rooms.upload/{gid2}");
    let parts = [Part::Text("msg", "the notes"), file("notes.txt", "text/plain", b"hello")];
    let shared = post_form(&app, &upload_path, &bob, &parts).await.ok();
    t.verify("post", &upload_path, &shared);
    let media_path = format!("/api/v1/rooms.media/{gid2}");
    let media = post_form(&app, &media_path, &bob, &[file("cat.png", "image/png", b"png")]).await.ok();
    t.verify("post", &media_path, &media);
    let file_id = media["file"]["_id"].as_str().expect("file id");
    t.post(
        &format!("/api/v1/rooms.mediaConfirm/{gid2}/{file_id}"),
        Some(&bob),
        json!({"description": "a cat"}),
    )
    .await;
    t.get(&format!("/api/v1/groups.files?roomId={gid2}"), Some(&bob)).await;
    t.get("/api/v1/channels.files?roomName=general&typeGroup=image", Some(&admin)).await;
    t.get(&format!("/api/v1/im.files?roomId={dm_id}"), Some(&bob)).await;
    t.get(&format!("/api/v1/dm.files?roomId={dm_id}&name=x"), Some(&bob)).await;
    let url = shared["message"]["attachments"][0]["title_link"].as_str().expect("url").to_owned();
    // Bulk membership, integrations, mentions, reports.
    t.post("/api/v1/groups.addAll", Some(&admin), json!({"roomId": gid2, "activeUsersOnly": true})).await;
    t.post("/api/v1/channels.addAll", Some(&admin), json!({"roomName": "general"})).await;
    t.get(&format!("/api/v1/groups.getIntegrations?roomId={gid2}"), Some(&admin)).await;
    t.get("/api/v1/channels.getIntegrations?roomName=general", Some(&admin)).await;
    t.get("/api/v1/channels.getAllUserMentionsByChannel?roomId=GENERAL", Some(&bob)).await;
    let rude = shared["message"]["_id"].as_str().expect("message id");
    t.post("/api/v1/chat.reportMessage", Some(&admin), json!({"messageId": rude, "description": "spam"}))
        .await;
    // Discussions.
    t.post(
        "/api/v1/rooms.createDiscussion",
        Some(&admin),
        json!({"prid": "GENERAL", "t_name": "Side talk", "users": ["bob"], "reply": "hi"}),
    )
    .await;
    t.get("/api/v1/chat.getDiscussions?roomId=GENERAL", Some(&bob)).await;

    // Avatars.
    let avatar = post_form(
        &app,
        "/api/v1/users.setAvatar",
        &bob,
        &[Part::File { field: "image", name: "me.png", content_type: Some("image/png"), bytes: b"png" }],
    )
    .await
    .ok();
    t.verify("post", "/api/v1/users.setAvatar", &avatar);
    let req = Request::get("/api/v1/users.getAvatar?username=bob")
        .header("X-User-Id", &bob.user_id)
        .header("X-Auth-Token", &bob.token);
    let redirect = app.send(req.body(Body::empty()).expect("request")).await;
    assert_eq!(redirect.status, StatusCode::TEMPORARY_REDIRECT);
    t.seen.insert(("get".into(), "/api/v1/users.getAvatar".into()));
    // Read receipts: always the enterprise refusal, in the envelope.
    let receipts = app.get("/api/v1/chat.getMessageReadReceipts?messageId=x", Some(&bob)).await;
    receipts.err(
        400,
        "This is an enterprise feature [error-action-not-allowed]",
        Some("error-action-not-allowed"),
    );
    t.seen.insert(("get".into(), "/api/v1/chat.getMessageReadReceipts".into()));
    t.post("/api/v1/users.resetAvatar", Some(&bob), json!({"username": "bob"})).await;
    for path in [url.clone(), format!("/file-upload/{file_id}/any-name")] {
        let req = Request::get(&path).header("X-User-Id", &bob.user_id).header("X-Auth-Token", &bob.token);
        let download = app.send(req.body(Body::empty()).expect("request")).await;
        assert_eq!(download.status, StatusCode::OK, "{path}");
        t.seen.insert(("get".into(), t.template(&path)));
    }

    // And the rest of the destructive ones.
    t.post("/api/v1/im.delete", Some(&admin), json!({"roomId": dm_id})).await;
    let other_dm = t.post("/api/v1/dm.create", Some(&admin), json!({"username": "carol"})).await;
    let other_dm = other_dm["room"]["_id"].as_str().expect("dm").to_owned();
    t.post("/api/v1/dm.delete", Some(&admin), json!({"roomId": other_dm})).await;
    t.post("/api/v1/channels.delete", Some(&bob), json!({"roomName": "town"})).await;
    t.post(
        "/api/v1/users.setActiveStatus",
        Some(&admin),
        json!({"userId": dave.user_id, "activeStatus": false}),
    )
    .await;
    t.post("/api/v1/users.delete", Some(&admin), json!({"username": "dave"})).await;
    t.post("/api/v1/logout", Some(&bob), json!({})).await;

    // Errors answer the envelope.
    let error_schema = json!({"$ref": "#/components/schemas/Error"});
    for reply in [
        app.get("/api/v1/me", None).await,
        app.get("/api/v1/chat.getMessage", Some(&carol)).await,
        app.get("/api/v1/settings/Message_MaxAllowedSize", Some(&carol)).await,
        app.post("/api/v1/login", None, json!({"user": "carol", "password": "wrong"})).await,
    ] {
        assert!(reply.status.is_client_error(), "{reply:?}");
        check(&doc, &error_schema, &reply.body, "error").unwrap_or_else(|e| panic!("{e}"));
    }

    let untested: Vec<_> = documented(&doc).difference(&t.seen).cloned().collect();
    assert!(untested.is_empty(), "documented but not checked here (add a call): {untested:?}");
}
