//! Rate limiting of the API (docs/contract.md#rate-limits, docs/http.md).
//!
//! Rocket.Chat limits each route per client IP; we keep its settings
//! (`API_Enable_Rate_Limiter`, `API_Enable_Rate_Limiter_Limit_Calls_Default`,
//! `API_Enable_Rate_Limiter_Limit_Time_Default`, read on every request), its
//! headers and its 429 body, but key the budget per **user and route**:
//!
//! - a request with valid `X-User-Id` + `X-Auth-Token` counts against that
//!   user's budget for the route. The token is checked here (one store read,
//!   which the handler then reuses through the request's extensions), so a
//!   client cannot spray made-up user ids to get fresh budgets;
//! - admins and bots, once actually authenticated, are not limited at all
//!   (and get no `X-RateLimit-*` headers), as in Rocket.Chat;
//! - everything else (login, `users.register`, `/api/info`, requests with
//!   missing or wrong credentials) counts against the client IP for the
//!   route. The IP is the TCP peer (`ConnectInfo`); `X-Forwarded-For` is not
//!   trusted. Without `ConnectInfo` (in-process tests) the key is `local`.
//!
//! The route is the matched route template (`/api/v1/settings/{id}`, not the
//! concrete path), so the number of routes per subject is fixed.
//!
//! **Fixed window**, anchored at a key's first call: the first call opens a
//! window of `Limit_Time_Default` ms in which `Limit_Calls_Default` calls are
//! allowed; further calls get 429 until the window ends, and the next call
//! opens a new one. Limited routes carry `X-RateLimit-Limit`,
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch ms of the window's
//! end) on every response, successful or not. A 429 also carries
//! `Retry-After` (seconds).
//!
//! The login brake (the service's throttle of failed logins) refuses with its
//! own 429 on a route the limiter let through: that answer keeps the
//! brake's `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset` (when the next
//! attempt is allowed) rather than the route's budget, which was not the
//! reason for the refusal.
//!
//! Memory is bounded: at most [`RateLimiter::DEFAULT_CAPACITY`] keys, in
//! [`SHARDS`] independently locked shards (one short lock per request). A
//! full shard first drops its expired windows and then, if still full, the
//! eighth with the oldest windows, so spraying keys costs old budgets, never
//! unbounded memory (amortised O(1) per new key).

use crate::error::{self, ApiError};
use crate::extract::{auth_headers, CurrentUser};
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};
use threadsync_domain::Error;
use threadsync_service::Services;

/// How many independently locked parts the key map has.
pub const SHARDS: usize = 16;

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = error::REMAINING;
const RESET: HeaderName = error::RESET;

/// One key's current window.
#[derive(Clone, Copy, Debug)]
struct Window {
    start_ms: u64,
    count: u64,
}

/// The outcome of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the call may proceed.
    pub allowed: bool,
    /// Calls per window.
    pub limit: u64,
    /// Calls left in this window after this one.
    pub remaining: u64,
    /// Epoch ms at which the window ends.
    pub reset_ms: u64,
}

impl Verdict {
    /// Milliseconds until the window ends.
    pub fn wait_ms(&self, now_ms: u64) -> u64 {
        self.reset_ms.saturating_sub(now_ms)
    }

    /// Whole seconds until the window ends, rounded up (at least 1).
    pub fn wait_secs(&self, now_ms: u64) -> u64 {
        threadsync_domain::error::wait_secs(self.wait_ms(now_ms))
    }

    /// The route's headers on an answer. A handler's 429 (the login
    /// brake's), which already says when to come back, keeps its own
    /// remaining and reset.
    fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert(LIMIT, HeaderValue::from(self.limit));
        if self.allowed && headers.contains_key(RESET) {
            return;
        }
        headers.insert(REMAINING, HeaderValue::from(self.remaining));
        headers.insert(RESET, HeaderValue::from(self.reset_ms));
    }
}

/// Fixed-window call counters per key, bounded in size (see the module docs).
pub struct RateLimiter {
    shards: Box<[Mutex<HashMap<String, Window>>]>,
    shard_capacity: usize,
    hasher: RandomState,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(RateLimiter::DEFAULT_CAPACITY)
    }
}

impl RateLimiter {
    /// The most keys remembered at once by the server's limiter.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A limiter remembering at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> RateLimiter {
        let capacity = capacity.max(1);
        let shards = SHARDS.min(capacity);
        RateLimiter {
            shards: (0..shards).map(|_| Mutex::new(HashMap::new())).collect(),
            shard_capacity: capacity / shards,
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, HashMap<String, Window>> {
        let index = usize::try_from(self.hasher.hash_one(key) % self.shards.len() as u64).unwrap_or(0);
        // Plain counters: a panic elsewhere leaves them usable.
        self.shards[index].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one call of `key` at `now_ms`, allowing `limit` calls per
    /// `window_ms`. A refused call does not count.
    pub fn hit(&self, key: &str, now_ms: u64, limit: u64, window_ms: u64) -> Verdict {
        let (limit, window_ms) = (limit.max(1), window_ms.max(1));
        let mut shard = self.shard(key);
        let live = |w: &Window| now_ms < w.start_ms.saturating_add(window_ms);
        let window = match shard.get_mut(key) {
            Some(w) if live(w) => {
                if w.count >= limit {
                    let reset_ms = w.start_ms.saturating_add(window_ms);
                    return Verdict { allowed: false, limit, remaining: 0, reset_ms };
                }
                w.count += 1;
                *w
            }
            Some(w) => {
                *w = Window { start_ms: now_ms, count: 1 };
                *w
            }
            None => {
                make_room(&mut shard, self.shard_capacity, |w| live(w));
                let w = Window { start_ms: now_ms, count: 1 };
                shard.insert(key.to_owned(), w);
                w
            }
        };
        Verdict {
            allowed: true,
            limit,
            remaining: limit - window.count,
            reset_ms: window.start_ms.saturating_add(window_ms),
        }
    }

    /// The number of keys remembered.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len()).sum()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Frees room for one more key in a shard holding `capacity` keys or more.
fn make_room(shard: &mut HashMap<String, Window>, capacity: usize, live: impl Fn(&Window) -> bool) {
    if shard.len() < capacity {
        return;
    }
    shard.retain(|_, w| live(w));
    if shard.len() < capacity {
        return;
    }
    // Still full of live windows: forget the oldest eighth (at least one).
    let evict = (capacity / 8).clamp(1, shard.len());
    let mut starts: Vec<u64> = shard.values().map(|w| w.start_ms).collect();
    let (_, cutoff, _) = starts.select_nth_unstable(evict - 1);
    let cutoff = *cutoff;
    let mut budget = evict;
    shard.retain(|_, w| {
        if budget > 0 && w.start_ms <= cutoff {
            budget -= 1;
            false
        } else {
            true
        }
    });
}

/// The state of the middleware: the services (settings, authentication)
/// and the counters of this router.
#[derive(Clone)]
pub struct RateLimit {
    pub services: Arc<Services>,
    pub limiter: Arc<RateLimiter>,
}

impl RateLimit {
    pub fn new(services: Arc<Services>) -> RateLimit {
        RateLimit { services, limiter: Arc::new(RateLimiter::default()) }
    }
}

/// The client's IP address: the TCP peer, when the server was started with
/// `into_make_service_with_connect_info` (in-process tests have none).
/// Proxy headers (`X-Forwarded-For`) are not trusted: any client can set them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    pub(crate) fn of(extensions: &Extensions) -> ClientIp {
        ClientIp(extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::of(&parts.extensions))
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn limit(State(state): State<RateLimit>, mut req: Request, next: Next) -> Response {
    let settings = state.services.settings();
    if !settings.rate_limiter_enabled() {
        return next.run(req).await;
    }
    // Unknown routes (404) have no budget to spend.
    let Some(route) = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()) else {
        return next.run(req).await;
    };
    if !route.starts_with("/api/") {
        return next.run(req).await;
    }

    let mut subject = None;
    if let Some((user_id, token)) = auth_headers(req.headers()) {
        // Failures (wrong token, or the store unavailable) fall back to the
        // IP key; the handler reports them as it would without the limiter.
        if let Ok(user) = state.services.authenticate(&user_id, &token).await {
            crate::access::note_user(req.extensions(), &user.id);
            let exempt = state.services.has_global_permission(&user, "api-bypass-rate-limit");
            let key = format!("u:{}", user.id);
            req.extensions_mut().insert(CurrentUser { user, token });
            if exempt {
                return next.run(req).await;
            }
            subject = Some(key);
        }
    }
    let subject = subject.unwrap_or_else(|| match ClientIp::of(req.extensions()) {
        ClientIp(Some(ip)) => format!("ip:{ip}"),
        ClientIp(None) => "ip:local".to_owned(),
    });

    let key = format!("{subject} {route}");
    let now = now_ms();
    let calls = u64::try_from(settings.rate_limit_calls()).unwrap_or(1);
    let window_ms = u64::try_from(settings.rate_limit_window_ms()).unwrap_or(1);
    let verdict = state.limiter.hit(&key, now, calls, window_ms);
    let mut response = if verdict.allowed {
        next.run(req).await
    } else {
        ApiError(Error::TooManyRequests { wait_ms: verdict.wait_ms(now) }).into_response()
    };
    verdict.write_headers(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_window_counts_down_then_refuses_then_reopens() {
        let limiter = RateLimiter::new(100);
        let t0 = 1_000_000;
        let v = limiter.hit("k", t0, 3, 60_000);
        assert_eq!(v, Verdict { allowed: true, limit: 3, remaining: 2, reset_ms: t0 + 60_000 });
        assert_eq!(limiter.hit("k", t0 + 1, 3, 60_000).remaining, 1);
        assert_eq!(limiter.hit("k", t0 + 2, 3, 60_000).remaining, 0);
        let refused = limiter.hit("k", t0 + 10_500, 3, 60_000);
        assert!(!refused.allowed);
        assert_eq!(refused.reset_ms, t0 + 60_000);
        assert_eq!(refused.wait_secs(t0 + 10_500), 50, "49.5 s rounds up");
        assert!(limiter.hit("other", t0 + 3, 3, 60_000).allowed, "other keys have their own budget");
        let reopened = limiter.hit("k", t0 + 60_000, 3, 60_000);
        assert_eq!(reopened, Verdict { allowed: true, limit: 3, remaining: 2, reset_ms: t0 + 120_000 });
    }

    #[test]
    fn the_key_map_stays_bounded_under_a_spray_of_keys() {
        let limiter = RateLimiter::new(1000);
        let t0 = 5_000_000;
        for i in 0..200_000u64 {
            // All windows live (a long window): eviction must drop live keys.
            limiter.hit(&format!("u:fake{i} /api/v1/me"), t0 + i / 100, 600, 86_400_000);
            if i % 1000 == 0 {
                assert!(limiter.len() <= 1000, "{} keys after {i}", limiter.len());
            }
        }
        assert!(limiter.len() <= 1000);
        assert!(limiter.len() >= 500, "eviction frees only part of a shard");
    }

    #[test]
    fn expired_windows_are_dropped_before_live_ones() {
        let mut shard: HashMap<String, Window> = (0..8u64)
            .map(|i| (format!("k{i}"), Window { start_ms: if i < 4 { 0 } else { 5000 }, count: 1 }))
            .collect();
        make_room(&mut shard, 8, |w| 5500 < w.start_ms + 1000);
        let mut left: Vec<&str> = shard.keys().map(String::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["k4", "k5", "k6", "k7"]);
        // All live: the oldest one goes.
        shard.insert("k8".into(), Window { start_ms: 5100, count: 1 });
        shard.insert("k9".into(), Window { start_ms: 4900, count: 1 });
        make_room(&mut shard, 6, |_| true);
        assert_eq!(shard.len(), 5);
        assert!(!shard.contains_key("k9"));
    }
}
