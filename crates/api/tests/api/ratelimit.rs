//! Rate limiting (docs/contract.md#rate-limits) and the login brute-force brake.

use crate::support::{Session, TestApp};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use threadsync_service::{LoginThrottleConfig, ServiceOptions};
use tower::ServiceExt;

const TOO_MANY_PREFIX: &str = "Error, too many requests. Please slow down. You must wait ";
const TOO_MANY_SUFFIX: &str = " before trying this endpoint again. [error-too-many-requests]";

/// The wait as the 429 words it: `1 second`, `N seconds`.
fn wait_words(secs: u64) -> String {
    if secs == 1 {
        "1 second".to_owned()
    } else {
        format!("{secs} seconds")
    }
}

/// A response with its headers (the shared `Reply` has none).
struct Full {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Full {
    fn header(&self, name: &str) -> Option<u64> {
        self.headers.get(name).map(|v| v.to_str().expect("ascii").parse().expect("a number"))
    }

    /// The three `X-RateLimit-*` headers: (limit, remaining, reset).
    #[track_caller]
    fn limits(&self) -> (u64, u64, u64) {
        let get = |name| self.header(name).unwrap_or_else(|| panic!("{name} missing: {:?}", self.headers));
        (get("x-ratelimit-limit"), get("x-ratelimit-remaining"), get("x-ratelimit-reset"))
    }

    #[track_caller]
    fn assert_no_limit_headers(&self) {
        for name in ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"] {
            assert!(self.headers.get(name).is_none(), "unexpected {name}: {:?}", self.headers);
        }
    }

    /// Asserts the exact 429 body, and headers that say when to come back
    /// (nothing remaining, the reset time, `Retry-After` agreeing with the
    /// worded wait); returns the wait in seconds.
    #[track_caller]
    fn assert_too_many(&self) -> u64 {
        assert_eq!(self.status, StatusCode::TOO_MANY_REQUESTS, "{}", self.body);
        let object = self.body.as_object().expect("an object");
        assert_eq!(object.len(), 2, "only success and error: {}", self.body);
        assert_eq!(self.body["success"], json!(false));
        let error = self.body["error"].as_str().expect("error text");
        let words = error
            .strip_prefix(TOO_MANY_PREFIX)
            .and_then(|rest| rest.strip_suffix(TOO_MANY_SUFFIX))
            .unwrap_or_else(|| panic!("unexpected text: {error}"));
        let wait: u64 = words
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("not a number of seconds: {error}"));
        assert_eq!(words, wait_words(wait), "{error}");
        assert_eq!(self.header("x-ratelimit-remaining"), Some(0), "{:?}", self.headers);
        assert_eq!(self.header("retry-after"), Some(wait), "{:?}", self.headers);
        let reset = self.header("x-ratelimit-reset").expect("x-ratelimit-reset");
        let now = now_ms();
        assert!(
            reset >= now && reset <= now + wait * 1000,
            "reset {reset} is not within the {wait} s announced from {now}"
        );
        wait
    }
}

fn now_ms() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis())
        .expect("fits")
}

/// Sends a request, optionally as coming from `peer` (what
/// `into_make_service_with_connect_info` provides in the real server).
async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    session: Option<&Session>,
    body: Option<Value>,
    peer: Option<&str>,
) -> Full {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(s) = session {
        req = req.header("X-User-Id", &s.user_id).header("X-Auth-Token", &s.token);
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let mut req = req.body(Body::from(body.map(|b| b.to_string()).unwrap_or_default())).expect("request");
    if let Some(peer) = peer {
        let addr: SocketAddr = peer.parse().expect("socket address");
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    let response = app.router.clone().oneshot(req).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("invalid JSON: {bytes:?}"));
    Full { status, headers, body }
}

async fn get(app: &TestApp, path: &str, session: Option<&Session>) -> Full {
    send(app, "GET", path, session, None, None).await
}

/// 3 calls per minute: small enough to reach in a test.
async fn limit_to_three(app: &TestApp) {
    app.set_setting("API_Enable_Rate_Limiter_Limit_Calls_Default", json!(3)).await;
    app.set_setting("API_Enable_Rate_Limiter_Limit_Time_Default", json!(60_000)).await;
}

#[tokio::test]
async fn defaults_are_on_and_generous() {
    let app = TestApp::new().await;
    let settings = app.services.settings();
    assert!(settings.rate_limiter_enabled());
    assert_eq!(
        settings.rate_limit_calls(),
        600,
        "deliberately above Rocket.Chat's 10 (docs/contract.md#rate-limits)"
    );
    assert_eq!(settings.rate_limit_window_ms(), 60_000);
    let alice = app.user("alice").await;
    let first = get(&app, "/api/v1/me", Some(&alice)).await;
    assert_eq!(first.status, StatusCode::OK);
    let (limit, remaining, _) = first.limits();
    assert_eq!((limit, remaining), (600, 599));
}

#[tokio::test]
async fn headers_count_down_then_the_fourth_call_is_429() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    limit_to_three(&app).await;

    let before = now_ms();
    let mut reset = 0;
    for expected_remaining in [2, 1, 0] {
        let reply = get(&app, "/api/v1/me", Some(&alice)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["username"], "alice");
        let (limit, remaining, r) = reply.limits();
        assert_eq!((limit, remaining), (3, expected_remaining));
        assert!(r > before && r <= now_ms() + 60_000, "reset {r} is the window's end in epoch ms");
        if reset != 0 {
            assert_eq!(r, reset, "one fixed window");
        }
        reset = r;
    }

    let refused = get(&app, "/api/v1/me", Some(&alice)).await;
    let wait = refused.assert_too_many();
    assert!((1..=60).contains(&wait), "wait {wait}");
    let (limit, remaining, r) = refused.limits();
    assert_eq!((limit, remaining, r), (3, 0, reset));
    assert!(r > now_ms(), "the reset lies in the future");
    // Exactly Rocket.Chat's wire text (docs/contract.md#wire-rules).
    assert_eq!(
        refused.body,
        json!({"success": false, "error": format!("{TOO_MANY_PREFIX}{}{TOO_MANY_SUFFIX}", wait_words(wait))})
    );
    // Still refused: refused calls do not reopen anything.
    get(&app, "/api/v1/me", Some(&alice)).await.assert_too_many();
}

#[tokio::test]
async fn routes_and_users_have_separate_budgets() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    limit_to_three(&app).await;

    for _ in 0..3 {
        assert_eq!(get(&app, "/api/v1/me", Some(&alice)).await.status, StatusCode::OK);
    }
    get(&app, "/api/v1/me", Some(&alice)).await.assert_too_many();

    // Another route, same user: a fresh budget.
    let other_route = get(&app, "/api/v1/channels.list.joined", Some(&alice)).await;
    assert_eq!(other_route.status, StatusCode::OK, "{}", other_route.body);
    assert_eq!(other_route.limits().1, 2);

    // Same route, another user: a fresh budget.
    let other_user = get(&app, "/api/v1/me", Some(&bob)).await;
    assert_eq!(other_user.status, StatusCode::OK);
    assert_eq!(other_user.limits().1, 2);

    // The budget follows the route template, not the concrete path.
    for _ in 0..3 {
        let r = get(&app, "/api/v1/settings/Threads_enabled", Some(&bob)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    get(&app, "/api/v1/settings/Message_AllowEditing", Some(&bob)).await.assert_too_many();
}

#[tokio::test]
async fn admins_and_bots_are_exempt() {
    let app = TestApp::new().await;
    app.post(
        "/api/v1/users.create",
        Some(&app.admin),
        json!({"username": "robot", "email": "robot@example.com", "password": "pw-123456", "name": "Robot", "roles": ["bot"]}),
    )
    .await
    .ok();
    let bot = app.login("robot", "pw-123456").await;
    limit_to_three(&app).await;

    for _ in 0..10 {
        let reply = get(&app, "/api/v1/me", Some(&app.admin)).await;
        assert_eq!(reply.status, StatusCode::OK);
        reply.assert_no_limit_headers();
        let reply = get(&app, "/api/v1/me", Some(&bot)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.assert_no_limit_headers();
    }
}

#[tokio::test]
async fn the_setting_switches_the_limiter_off() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    limit_to_three(&app).await;
    for _ in 0..3 {
        get(&app, "/api/v1/me", Some(&alice)).await;
    }
    get(&app, "/api/v1/me", Some(&alice)).await.assert_too_many();

    app.set_setting("API_Enable_Rate_Limiter", json!(false)).await;
    for _ in 0..20 {
        let reply = get(&app, "/api/v1/me", Some(&alice)).await;
        assert_eq!(reply.status, StatusCode::OK);
        reply.assert_no_limit_headers();
    }
}

#[tokio::test]
async fn unauthenticated_routes_are_limited_per_client_ip() {
    let app = TestApp::new().await;
    limit_to_three(&app).await;

    // In process there is no peer address: one fixed key for all.
    for expected_remaining in [2, 1, 0] {
        let reply = get(&app, "/api/info", None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.limits().1, expected_remaining);
    }
    get(&app, "/api/info", None).await.assert_too_many();

    // Real peers: a budget per address.
    for peer in ["10.0.0.1:5000", "10.0.0.1:5001", "10.0.0.1:5002"] {
        let reply = send(&app, "GET", "/api/info", None, None, Some(peer)).await;
        assert_eq!(reply.status, StatusCode::OK, "the port does not matter, the address does");
    }
    send(&app, "GET", "/api/info", None, None, Some("10.0.0.1:5003")).await.assert_too_many();
    let other = send(&app, "GET", "/api/info", None, None, Some("[2001:db8::1]:80")).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.limits().1, 2);

    // users.register is one of them.
    for i in 0..3 {
        let reply = send(
            &app,
            "POST",
            "/api/v1/users.register",
            None,
            Some(json!({"username": format!("u{i}"), "email": format!("u{i}@example.com"), "pass": "pw-123456", "name": "U"})),
            Some("10.0.0.9:1"),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    send(&app, "POST", "/api/v1/users.register", None, Some(json!({})), Some("10.0.0.9:1"))
        .await
        .assert_too_many();
}

#[tokio::test]
async fn made_up_user_ids_share_the_client_ip_budget() {
    let app = TestApp::new().await;
    limit_to_three(&app).await;
    let fake = |i: usize| Session {
        user_id: format!("fake-user-{i}"),
        token: "not-a-token".into(),
        username: String::new(),
    };
    for i in 0..3 {
        let reply = get(&app, "/api/v1/me", Some(&fake(i))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.limits().1, 2 - i as u64);
    }
    get(&app, "/api/v1/me", Some(&fake(99))).await.assert_too_many();
    // Nor does an admin's id with a wrong token buy an exemption.
    let impostor = Session { token: "wrong".into(), ..app.admin.clone() };
    get(&app, "/api/v1/me", Some(&impostor)).await.assert_too_many();
}

// ------------------------------------------------------------ login brake

async fn login(app: &TestApp, user: &str, password: &str, peer: Option<&str>) -> Full {
    send(app, "POST", "/api/v1/login", None, Some(json!({"user": user, "password": password})), peer).await
}

#[track_caller]
fn assert_unauthorized(reply: &Full) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(reply.body["error"], "Unauthorized");
}

#[tokio::test]
async fn repeated_wrong_passwords_slow_the_account_down_then_let_it_in() {
    // The limiter is off: only the login brake is under test.
    let app = TestApp::unlimited().await;
    app.user("alice").await;
    for _ in 0..5 {
        assert_unauthorized(&login(&app, "alice", "wrong", None).await);
    }
    // Blocked, even with the right password (and by email, in any case).
    let blocked = login(&app, "alice", "pw-123456", None).await;
    assert_eq!(blocked.assert_too_many(), 1, "the first delay is one second");
    login(&app, "ALICE@example.com", "pw-123456", None).await.assert_too_many();

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let ok = login(&app, "alice", "pw-123456", None).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    // Success reset the count: four more failures do not block.
    for _ in 0..4 {
        assert_unauthorized(&login(&app, "alice", "wrong", None).await);
    }
    assert_eq!(login(&app, "alice", "pw-123456", None).await.status, StatusCode::OK);
}

/// Regression (issue 11, defect 9): with the route limiter on, the brake's
/// 429 carried the route's headers (`X-RateLimit-Remaining: 563`, a reset a
/// minute away) and said `You must wait 1 seconds`. Its headers now describe
/// the brake: nothing remaining, reset when the next attempt is allowed.
#[tokio::test]
async fn a_braked_login_says_when_to_come_back() {
    let app = TestApp::new().await;
    app.user("alice").await;
    for _ in 0..5 {
        let reply = login(&app, "alice", "wrong", Some("192.0.2.1:1")).await;
        assert_unauthorized(&reply);
        assert!(reply.limits().1 > 500, "the route's budget is far from spent");
    }
    let blocked = login(&app, "alice", "pw-123456", Some("192.0.2.1:1")).await;
    assert_eq!(blocked.assert_too_many(), 1, "the first delay is one second");
    assert_eq!(blocked.limits().0, 600, "the route's limit is still named");
    assert_eq!(
        blocked.body["error"],
        format!("{TOO_MANY_PREFIX}1 second{TOO_MANY_SUFFIX}"),
        "one second, not `1 seconds`"
    );
    let reset = blocked.limits().2;
    assert!(reset <= now_ms() + 1000, "the brake's reset, not the route window's end: {reset}");
    // The reset is honest: at that time the right password gets in.
    tokio::time::sleep(Duration::from_millis(reset.saturating_sub(now_ms()) + 20)).await;
    let ok = login(&app, "alice", "pw-123456", Some("192.0.2.1:1")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn the_delay_doubles_with_each_further_failure() {
    let options = ServiceOptions {
        login_throttle: LoginThrottleConfig { base_delay_ms: 200, ..LoginThrottleConfig::default() },
        ..ServiceOptions::default()
    };
    let app = TestApp::with_options(options).await;
    app.user("alice").await;
    for _ in 0..5 {
        assert_unauthorized(&login(&app, "alice", "wrong", None).await);
    }
    login(&app, "alice", "pw-123456", None).await.assert_too_many();
    tokio::time::sleep(Duration::from_millis(250)).await;
    // The first delay (200 ms) is over; a sixth failure: now 400 ms.
    assert_unauthorized(&login(&app, "alice", "wrong", None).await);
    tokio::time::sleep(Duration::from_millis(250)).await;
    login(&app, "alice", "pw-123456", None).await.assert_too_many();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(login(&app, "alice", "pw-123456", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_users_are_braked_the_same_way() {
    let app = TestApp::unlimited().await;
    for _ in 0..5 {
        assert_unauthorized(&login(&app, "ghost", "wrong", None).await);
    }
    login(&app, "ghost", "wrong", None).await.assert_too_many();
}

#[tokio::test]
async fn other_accounts_from_the_same_ip_until_the_ip_threshold() {
    let app = TestApp::unlimited().await;
    app.user("alice").await;
    app.user("bob").await;
    let here = Some("192.0.2.7:40000");
    for _ in 0..5 {
        assert_unauthorized(&login(&app, "alice", "wrong", here).await);
    }
    login(&app, "alice", "pw-123456", here).await.assert_too_many();
    // Bob, same address: not blocked by Alice's failures.
    assert_eq!(login(&app, "bob", "pw-123456", here).await.status, StatusCode::OK);

    // 15 more failures from that address (20 in all) block the address.
    for i in 0..15 {
        assert_unauthorized(&login(&app, &format!("guess{i}"), "wrong", here).await);
    }
    login(&app, "bob", "pw-123456", here).await.assert_too_many();
    // Resume logins from the address are braked too.
    let resume = send(&app, "POST", "/api/v1/login", None, Some(json!({"resume": "x"})), here).await;
    resume.assert_too_many();
    // Bob from elsewhere is fine.
    assert_eq!(login(&app, "bob", "pw-123456", Some("192.0.2.8:40000")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn without_a_peer_address_only_accounts_are_braked() {
    // In-process requests carry no address: there is no IP key to count on.
    let app = TestApp::unlimited().await;
    app.user("bob").await;
    for i in 0..30 {
        assert_unauthorized(&login(&app, &format!("guess{i}"), "wrong", None).await);
    }
    assert_eq!(login(&app, "bob", "pw-123456", None).await.status, StatusCode::OK);
}
