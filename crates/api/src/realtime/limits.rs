//! Per-connection method rate limits.
//!
//! Rocket.Chat limits DDP methods per connection and method, and
//! `sendMessage` to 5 per second unless the user may send many (admins,
//! bots). We keep those two rules, with a per-method budget as generous as
//! the REST limiter's default (a normal client never meets it), and switch
//! both off with the same setting, `API_Enable_Rate_Limiter`.

use std::collections::HashMap;
use std::time::{Duration, Instant};
use threadsync_domain::User;

/// Calls of one method per window, per connection.
const PER_METHOD: (u32, Duration) = (600, Duration::from_secs(60));
/// `sendMessage` per window, per connection (Rocket.Chat's 5 per second).
const SEND_MESSAGE: (u32, Duration) = (5, Duration::from_secs(1));
/// Distinct method names tracked per connection: past this a connection
/// calling made-up names cannot grow the map.
const MAX_TRACKED: usize = 64;

/// Fixed windows anchored at each method's first call in the window.
#[derive(Debug, Default)]
pub struct MethodLimiter {
    windows: HashMap<String, (Instant, u32)>,
}

impl MethodLimiter {
    /// `Ok` to run the call now, or `Err(wait)` until the window resets.
    pub fn check(&mut self, method: &str, user: Option<&User>, now: Instant) -> Result<(), Duration> {
        let exempt = user.is_some_and(|u| u.is_admin() || u.has_role("bot"));
        let (limit, window) = match method {
            "sendMessage" if exempt => return Ok(()),
            "sendMessage" => SEND_MESSAGE,
            _ => PER_METHOD,
        };
        if !self.windows.contains_key(method) && self.windows.len() >= MAX_TRACKED {
            // Forget windows that have ended; if none has, count the call
            // against a shared bucket instead of a new entry.
            self.windows.retain(|_, (start, _)| now.duration_since(*start) < PER_METHOD.1);
        }
        let key = if self.windows.len() >= MAX_TRACKED { "*" } else { method };
        let entry = self.windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            return Err(window.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(roles: &[&str]) -> User {
        User {
            id: "u1".into(),
            username: "u".into(),
            name: "u".into(),
            emails: Vec::new(),
            password_hash: None,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            active: true,
            status: "offline".into(),
            status_text: String::new(),
            status_default: "online".into(),
            status_connection: "offline".into(),
            last_login: None,
            utc_offset: 0.0,
            kind: "user".into(),
            created_at: threadsync_domain::Timestamp(0),
            updated_at: threadsync_domain::Timestamp(0),
        }
    }

    #[test]
    fn send_message_is_five_per_second_except_for_admins_and_bots() {
        let mut limiter = MethodLimiter::default();
        let now = Instant::now();
        let plain = user(&["user"]);
        for _ in 0..5 {
            assert!(limiter.check("sendMessage", Some(&plain), now).is_ok());
        }
        let wait = limiter.check("sendMessage", Some(&plain), now).expect_err("sixth call refused");
        assert!(wait <= Duration::from_secs(1));
        assert!(
            limiter.check("sendMessage", Some(&plain), now + Duration::from_secs(1)).is_ok(),
            "next window"
        );
        for roles in [&["admin"][..], &["bot"][..]] {
            let exempt = user(roles);
            for _ in 0..50 {
                assert!(limiter.check("sendMessage", Some(&exempt), now).is_ok());
            }
        }
    }

    #[test]
    fn other_methods_share_a_generous_window_and_made_up_names_stay_bounded() {
        let mut limiter = MethodLimiter::default();
        let now = Instant::now();
        for _ in 0..PER_METHOD.0 {
            assert!(limiter.check("getThreadMessages", None, now).is_ok());
        }
        assert!(limiter.check("getThreadMessages", None, now).is_err());
        for i in 0..10_000 {
            let _ = limiter.check(&format!("made-up-{i}"), None, now);
        }
        assert!(limiter.windows.len() <= MAX_TRACKED + 1);
    }
}
