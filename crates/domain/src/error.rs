//! The one error type of threadsync.
//!
//! Every failure a client can see is a variant here. The HTTP layer maps each
//! variant, in one place, to a status code and Rocket.Chat's envelope
//! (`{"success": false, "error": "<reason> [<code>]", "errorType": "<code>"}`);
//! nothing else builds error bodies. Internal detail (`Internal`) is logged by
//! the HTTP layer and never sent to the client.

use serde_json::Value;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The route needs a logged-in user and the auth headers are missing or wrong (401).
    #[error("You must be logged in to do this.")]
    NotLoggedIn,
    /// `login` with an unknown user or a wrong password (401, same body for both).
    #[error("Unauthorized")]
    LoginFailed,
    /// An admin-only route called by a user without the permission (403).
    #[error("User does not have the permissions required for this action")]
    Forbidden,
    /// No route matches the path (404).
    #[error("Resource not found")]
    RouteNotFound,
    /// The route's rate limit or the login brake refused the call (429);
    /// the next call is allowed `wait_ms` milliseconds from now.
    #[error("Error, too many requests. Please slow down. You must wait {} before trying this endpoint again.", wait_words(*wait_ms))]
    TooManyRequests { wait_ms: u64 },
    /// A request the server refuses (400): `"<reason> [<code>]"` with `errorType: <code>`,
    /// and optional `details`.
    #[error("{}", display_rejected(reason, code))]
    Rejected { reason: String, code: String, details: Option<Value> },
    /// A legacy Rocket.Chat error (400) whose body has no `errorType`.
    #[error("{0}")]
    Legacy(String),
    /// Rocket.Chat's `API.v1.failure(message, errorType)` (400): the message
    /// as it is (no ` [code]` suffix) and `errorType: <code>`.
    #[error("{message}")]
    Failure { message: String, code: String },
    /// The HTTP layer refused the request itself: a size or time limit, or
    /// a store that does not answer (each kind has its own status).
    #[error("{}", display_rejected(&.0.reason(), .0.code()))]
    Refused(Refusal),
    /// An unexpected failure (500). The text is for the server log only.
    #[error("Internal server error")]
    Internal(String),
}

/// Why the HTTP layer refused a request before (or instead of) handling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request line or headers could not be parsed (400).
    Malformed,
    /// The body did not arrive in time, or the server is stopping (408).
    Timeout,
    /// The body is larger than `limit` bytes (413).
    BodyTooLarge { limit: usize },
    /// The URL is longer than `limit` bytes (414).
    UriTooLong { limit: usize },
    /// The headers are larger than `limit` bytes, or too many (431).
    HeadersTooLarge { limit: usize },
    /// The store does not answer (503, from the readiness check).
    Unavailable,
    /// A download's `Range` starts past the end of its `size` bytes (416).
    RangeNotSatisfiable { size: u64 },
}

impl Refusal {
    /// The `errorType`.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Malformed => "error-bad-request",
            Refusal::Timeout => "error-request-timeout",
            Refusal::BodyTooLarge { .. } => "error-request-too-large",
            Refusal::UriTooLong { .. } => "error-uri-too-long",
            Refusal::HeadersTooLarge { .. } => "error-headers-too-large",
            Refusal::Unavailable => "error-not-ready",
            Refusal::RangeNotSatisfiable { .. } => "error-range-not-satisfiable",
        }
    }

    /// The words before the code.
    pub fn reason(self) -> String {
        match self {
            Refusal::Malformed => "The request could not be parsed as HTTP".into(),
            Refusal::Timeout => "The request was not received in time".into(),
            Refusal::BodyTooLarge { limit } => format!("The request body is larger than {limit} bytes"),
            Refusal::UriTooLong { limit } => format!("The request URL is longer than {limit} bytes"),
            Refusal::HeadersTooLarge { limit } => {
                format!("The request headers are larger than {limit} bytes, or too many")
            }
            Refusal::Unavailable => "The store is not answering".into(),
            Refusal::RangeNotSatisfiable { size } => {
                format!("The requested range is not within the file's {size} bytes")
            }
        }
    }
}

/// A wait in whole seconds, rounded up (at least one): `1 second`, `5 seconds`.
fn wait_words(wait_ms: u64) -> String {
    match wait_secs(wait_ms) {
        1 => "1 second".to_owned(),
        n => format!("{n} seconds"),
    }
}

/// A wait in whole seconds, rounded up, at least 1 (what `Retry-After` says).
pub fn wait_secs(wait_ms: u64) -> u64 {
    wait_ms.div_ceil(1000).max(1)
}

/// How many characters of a client's raw parameter an error repeats.
const ECHO_CHARS: usize = 200;

/// A client's raw parameter for an error message: cut to 200 characters
/// (with `…`), so a megabyte of input never comes back as a megabyte error.
pub fn echo(raw: &str) -> String {
    truncate(raw, ECHO_CHARS)
}

/// `s` cut to `max` characters, with `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

fn display_rejected(reason: &str, code: &str) -> String {
    if reason.is_empty() {
        format!("[{code}]")
    } else {
        format!("{reason} [{code}]")
    }
}

impl Error {
    /// A 400 rejection with Rocket.Chat's `"<reason> [<code>]"` form.
    pub fn rejected(reason: impl Into<String>, code: impl Into<String>) -> Self {
        Error::Rejected { reason: reason.into(), code: code.into(), details: None }
    }

    /// Adds Rocket.Chat's `details` object (e.g. `{"method": "followMessage"}`).
    pub fn with_details(self, extra: Value) -> Self {
        match self {
            Error::Rejected { reason, code, .. } => Error::Rejected { reason, code, details: Some(extra) },
            other => other,
        }
    }

    /// `error-invalid-params` with the given reason.
    pub fn invalid_params(reason: impl Into<String>) -> Self {
        Error::rejected(reason, "error-invalid-params")
    }

    /// A required body or query parameter is missing.
    pub fn missing_param(name: &str) -> Self {
        Error::invalid_params(format!("The required \"{name}\" param is missing."))
    }

    /// Meteor's `check()` failure, as Rocket.Chat answers it: a 400 without
    /// `errorType`, `Match error: <detail>`.
    pub fn match_failed(detail: impl std::fmt::Display) -> Self {
        Error::Legacy(format!("Match error: {detail}"))
    }

    /// The generic room-access denial outside the thread endpoints.
    pub fn not_allowed() -> Self {
        Error::rejected("Not allowed", "error-not-allowed")
    }

    /// An unexpected failure; `detail` goes to the log, never to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Error::Internal(detail.to_string())
    }

    /// The `errorType` code, when the variant has one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Rejected { code, .. } => Some(code),
            Error::Forbidden => Some("error-unauthorized"),
            Error::TooManyRequests { .. } => Some("error-too-many-requests"),
            Error::Refused(refusal) => Some(refusal.code()),
            _ => None,
        }
    }
}

/// A JSON value's type as Meteor's `check()` names it in its errors
/// (`Expected string, got number`).
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_displays_reason_and_code() {
        let e = Error::rejected("Not Allowed", "error-not-allowed");
        assert_eq!(e.to_string(), "Not Allowed [error-not-allowed]");
        assert_eq!(e.code(), Some("error-not-allowed"));
    }

    #[test]
    fn waits_are_rounded_up_and_worded() {
        let e = |wait_ms| Error::TooManyRequests { wait_ms }.to_string();
        assert!(e(1).contains("You must wait 1 second before"), "{}", e(1));
        assert!(e(1000).contains("You must wait 1 second before"));
        assert!(e(1001).contains("You must wait 2 seconds before"));
        assert!(e(0).contains("You must wait 1 second before"));
        assert_eq!(wait_secs(59_500), 60);
    }

    #[test]
    fn refusals_display_reason_and_code() {
        let e = Error::Refused(Refusal::BodyTooLarge { limit: 10 });
        assert_eq!(e.to_string(), "The request body is larger than 10 bytes [error-request-too-large]");
        assert_eq!(e.code(), Some("error-request-too-large"));
    }

    #[test]
    fn internal_never_displays_detail() {
        let e = Error::internal("disk I/O error at /secret/path");
        assert_eq!(e.to_string(), "Internal server error");
    }
}
