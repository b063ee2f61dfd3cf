//! Login brute-force throttling.
//!
//! Failed password logins are counted per account and per client IP. After
//! `user_threshold` consecutive failures for one account (or `ip_threshold`
//! for one address) each further failure blocks that key for a delay that
//! doubles every time (1 s, 2 s, 4 s, … capped at `max_delay_ms`). While a key
//! is blocked every attempt for it is refused with 429
//! `error-too-many-requests`, even with the right password, and without
//! checking the password at all (no bcrypt work for an attacker's guesses).
//! The real user is never locked out for good: delays are capped, a
//! successful login resets the account's counter, and a counter is forgotten
//! `window_ms` after its last failure.
//!
//! The account key is the user's id when the name or email is known, so
//! `Alice`, `alice` and `alice@example.com` share one counter; for unknown
//! names it is a hash of the lowercased name (the same treatment, so blocking
//! reveals nothing about which accounts exist, and keys have a fixed size).
//!
//! Memory is bounded: at most `capacity` keys. When the map is full, expired
//! counters are dropped first and, if that is not enough, the eighth of the
//! counters with the oldest last failure (amortised: one O(n) sweep frees room
//! for n/8 new keys). Under a spray of distinct keys the oldest counters are
//! forgotten, never the server's memory.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use threadsync_domain::{Error, Result};

/// Tunables of the login throttle (part of [`crate::ServiceOptions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginThrottleConfig {
    /// Consecutive failures for one account before delays start.
    pub user_threshold: u32,
    /// Failures from one client IP (any accounts) before delays start.
    pub ip_threshold: u32,
    /// A counter is forgotten this long after its last failure.
    pub window_ms: u64,
    /// The first delay; each further failure doubles it.
    pub base_delay_ms: u64,
    /// The longest delay.
    pub max_delay_ms: u64,
    /// The most keys (accounts + addresses) remembered at once.
    pub capacity: usize,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        LoginThrottleConfig {
            user_threshold: 5,
            ip_threshold: 20,
            window_ms: 15 * 60 * 1000,
            base_delay_ms: 1000,
            max_delay_ms: 5 * 60 * 1000,
            capacity: 100_000,
        }
    }
}

impl LoginThrottleConfig {
    /// No brake at all (thresholds that are never reached): for tests that
    /// deliberately send many wrong passwords and must keep getting 401.
    pub fn disabled() -> Self {
        LoginThrottleConfig {
            user_threshold: u32::MAX,
            ip_threshold: u32::MAX,
            ..LoginThrottleConfig::default()
        }
    }
}

/// What a failure counter belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ThrottleKey {
    /// An existing account, by user id.
    User(String),
    /// A name or email that matches no account: SHA-256 of it, lowercased.
    Name([u8; 32]),
    /// A client address.
    Ip(IpAddr),
}

impl ThrottleKey {
    pub(crate) fn unknown_name(name: &str) -> ThrottleKey {
        ThrottleKey::Name(Sha256::digest(name.to_lowercase().as_bytes()).into())
    }

    fn threshold(&self, config: &LoginThrottleConfig) -> u32 {
        match self {
            ThrottleKey::Ip(_) => config.ip_threshold,
            ThrottleKey::User(_) | ThrottleKey::Name(_) => config.user_threshold,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    blocked_until: Option<Instant>,
}

impl Entry {
    fn expired(&self, now: Instant, window: Duration) -> bool {
        now.saturating_duration_since(self.last_failure) >= window
            && self.blocked_until.is_none_or(|until| until <= now)
    }
}

/// The failure counters (see the module documentation).
pub(crate) struct LoginThrottle {
    config: LoginThrottleConfig,
    entries: Mutex<HashMap<ThrottleKey, Entry>>,
}

impl LoginThrottle {
    pub(crate) fn new(config: LoginThrottleConfig) -> LoginThrottle {
        LoginThrottle { config, entries: Mutex::new(HashMap::new()) }
    }

    fn window(&self) -> Duration {
        Duration::from_millis(self.config.window_ms)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ThrottleKey, Entry>> {
        // The map holds plain counters: a panic elsewhere leaves it usable.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Refuses the attempt when any of `keys` is blocked at `now`, with the
    /// longest remaining wait (exact, in milliseconds: the HTTP layer derives
    /// the `X-RateLimit-Reset` time and the worded wait from it).
    pub(crate) fn check(&self, keys: &[ThrottleKey], now: Instant) -> Result<()> {
        let entries = self.lock();
        let wait = keys
            .iter()
            .filter_map(|k| entries.get(k))
            .filter_map(|e| e.blocked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match wait {
            Some(wait) => Err(Error::TooManyRequests { wait_ms: ceil_ms(wait) }),
            None => Ok(()),
        }
    }

    /// Counts a failed attempt against each of `keys`.
    pub(crate) fn failed(&self, keys: &[ThrottleKey], now: Instant) {
        let window = self.window();
        let mut entries = self.lock();
        for key in keys {
            if !entries.contains_key(key) {
                make_room(&mut entries, self.config.capacity, now, window);
            }
            let entry = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                last_failure: now,
                blocked_until: None,
            });
            if entry.expired(now, window) {
                *entry = Entry { failures: 0, last_failure: now, blocked_until: None };
            }
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = now;
            let threshold = key.threshold(&self.config);
            if entry.failures >= threshold {
                entry.blocked_until = Some(now + self.delay(entry.failures - threshold));
            }
        }
    }

    /// A successful login: forgets the account's failures.
    pub(crate) fn succeeded(&self, key: &ThrottleKey) {
        self.lock().remove(key);
    }

    /// The delay after the `n`-th failure past the threshold (0-based).
    fn delay(&self, n: u32) -> Duration {
        let factor = 1u64 << n.min(32);
        Duration::from_millis(self.config.base_delay_ms.saturating_mul(factor).min(self.config.max_delay_ms))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Whole milliseconds, rounded up (a wait of 0.2 ms is still a wait).
fn ceil_ms(d: Duration) -> u64 {
    u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

/// Frees room for one more key when the map is at `capacity`.
fn make_room(entries: &mut HashMap<ThrottleKey, Entry>, capacity: usize, now: Instant, window: Duration) {
    let capacity = capacity.max(1);
    if entries.len() < capacity {
        return;
    }
    entries.retain(|_, e| !e.expired(now, window));
    if entries.len() < capacity {
        return;
    }
    // Still full of live counters: drop the oldest eighth (at least one).
    let evict = (capacity / 8).max(1).min(entries.len());
    let mut ages: Vec<Instant> = entries.values().map(|e| e.last_failure).collect();
    let (_, cutoff, _) = ages.select_nth_unstable(evict - 1);
    let cutoff = *cutoff;
    let mut budget = evict;
    entries.retain(|_, e| {
        if budget > 0 && e.last_failure <= cutoff {
            budget -= 1;
            false
        } else {
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(LoginThrottleConfig::default())
    }

    fn user(id: &str) -> ThrottleKey {
        ThrottleKey::User(id.into())
    }

    fn ip(last: u8) -> ThrottleKey {
        ThrottleKey::Ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)))
    }

    /// The wait in whole seconds, rounded up, as the 429 words it.
    fn wait(t: &LoginThrottle, keys: &[ThrottleKey], now: Instant) -> Option<u64> {
        match t.check(keys, now) {
            Ok(()) => None,
            Err(Error::TooManyRequests { wait_ms }) => Some(threadsync_domain::error::wait_secs(wait_ms)),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn delays_start_at_the_threshold_and_double() {
        let t = throttle();
        let t0 = Instant::now();
        let keys = [user("u1"), ip(1)];
        for _ in 0..4 {
            t.failed(&keys, t0);
            assert_eq!(wait(&t, &keys, t0), None, "below the threshold nothing is blocked");
        }
        t.failed(&keys, t0);
        assert_eq!(wait(&t, &keys, t0), Some(1));
        let t1 = t0 + Duration::from_millis(1000);
        assert_eq!(wait(&t, &keys, t1), None, "the delay passes");
        t.failed(&keys, t1);
        assert_eq!(wait(&t, &keys, t1), Some(2));
        let t2 = t1 + Duration::from_secs(2);
        t.failed(&keys, t2);
        assert_eq!(wait(&t, &keys, t2), Some(4));
        // Many more failures: capped at five minutes.
        let mut now = t2;
        for _ in 0..40 {
            now += Duration::from_secs(301);
            t.failed(&keys, now);
        }
        assert_eq!(wait(&t, &keys, now), Some(300));
    }

    /// The refusal carries the exact time left, not a rounded one: the
    /// `X-RateLimit-Reset` header is computed from it.
    #[test]
    fn the_wait_is_exact() {
        let t = throttle();
        let t0 = Instant::now();
        for _ in 0..5 {
            t.failed(&[user("u1")], t0);
        }
        let later = t0 + Duration::from_millis(300);
        assert_eq!(t.check(&[user("u1")], later), Err(Error::TooManyRequests { wait_ms: 700 }));
        let between = later + Duration::from_micros(200);
        assert_eq!(
            t.check(&[user("u1")], between),
            Err(Error::TooManyRequests { wait_ms: 700 }),
            "rounded up"
        );
    }

    #[test]
    fn success_resets_the_account_but_not_the_address() {
        let t = throttle();
        let t0 = Instant::now();
        for _ in 0..5 {
            t.failed(&[user("u1"), ip(1)], t0);
        }
        assert!(wait(&t, &[user("u1")], t0).is_some());
        t.succeeded(&user("u1"));
        assert_eq!(wait(&t, &[user("u1")], t0), None);
        for _ in 0..4 {
            t.failed(&[user("u1")], t0);
        }
        assert_eq!(wait(&t, &[user("u1")], t0), None, "the count starts again from zero");
    }

    #[test]
    fn other_accounts_from_the_same_address_until_its_threshold() {
        let t = throttle();
        let t0 = Instant::now();
        for _ in 0..5 {
            t.failed(&[user("victim"), ip(1)], t0);
        }
        assert!(wait(&t, &[user("victim"), ip(1)], t0).is_some());
        assert_eq!(wait(&t, &[user("other"), ip(1)], t0), None, "the address is under its threshold");
        // 15 more failures on other names from the same address: 20 in all.
        for i in 0..15 {
            t.failed(&[ThrottleKey::unknown_name(&format!("n{i}")), ip(1)], t0);
        }
        assert_eq!(wait(&t, &[user("other"), ip(1)], t0), Some(1), "the address is now blocked");
        assert_eq!(wait(&t, &[user("other"), ip(2)], t0), None, "other addresses are not");
    }

    #[test]
    fn counters_expire_after_the_window() {
        let t = throttle();
        let t0 = Instant::now();
        for _ in 0..4 {
            t.failed(&[user("u1")], t0);
        }
        let later = t0 + Duration::from_millis(LoginThrottleConfig::default().window_ms);
        t.failed(&[user("u1")], later);
        assert_eq!(wait(&t, &[user("u1")], later), None, "old failures no longer count");
    }

    #[test]
    fn a_disabled_brake_never_blocks() {
        let t = LoginThrottle::new(LoginThrottleConfig::disabled());
        let t0 = Instant::now();
        for _ in 0..1000 {
            t.failed(&[user("u1"), ip(1)], t0);
        }
        assert_eq!(wait(&t, &[user("u1"), ip(1)], t0), None);
    }

    #[test]
    fn names_are_case_insensitive_and_fixed_size() {
        assert_eq!(ThrottleKey::unknown_name("Ghost"), ThrottleKey::unknown_name("gHOST"));
        assert_ne!(ThrottleKey::unknown_name("ghost"), ThrottleKey::unknown_name("ghost2"));
    }

    #[test]
    fn memory_is_bounded_under_a_spray_of_keys() {
        let t = LoginThrottle::new(LoginThrottleConfig { capacity: 1000, ..LoginThrottleConfig::default() });
        let t0 = Instant::now();
        for i in 0..200_000u32 {
            t.failed(&[ThrottleKey::unknown_name(&i.to_string())], t0 + Duration::from_millis(u64::from(i)));
            assert!(t.len() <= 1000);
        }
        // The most recent keys are still remembered.
        let now = t0 + Duration::from_millis(200_000);
        for _ in 0..4 {
            t.failed(&[ThrottleKey::unknown_name("199999")], now);
        }
        assert!(wait(&t, &[ThrottleKey::unknown_name("199999")], now).is_some());
    }
}
