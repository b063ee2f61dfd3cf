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
    /// The route's rate limit was exceeded (429); `wait_secs` until it resets.
    #[error("Error, too many requests. Please slow down. You must wait {wait_secs} seconds before trying this endpoint again.")]
    TooManyRequests { wait_secs: u64 },
    /// A request the server refuses (400): `"<reason> [<code>]"` with `errorType: <code>`,
    /// and optional `details`.
    #[error("{}", display_rejected(reason, code))]
    Rejected { reason: String, code: String, details: Option<Value> },
    /// A legacy Rocket.Chat error (400) whose body has no `errorType`.
    #[error("{0}")]
    Legacy(String),
    /// An unexpected failure (500). The text is for the server log only.
    #[error("Internal server error")]
    Internal(String),
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
    /// Rocket.Chat's errors thrown as `new Meteor.Error("<text>")`, whose
    /// body is `{"error": "[<text>]", "errorType": "<text>"}`.
    pub fn bare(text: impl Into<String>) -> Self {
        Error::rejected(String::new(), text)
    }

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
            _ => None,
        }
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
    fn bare_errors_repeat_the_text_as_type() {
        let e = Error::bare("The required \"mid\" body param is missing.");
        assert_eq!(e.to_string(), "[The required \"mid\" body param is missing.]");
        assert_eq!(e.code(), Some("The required \"mid\" body param is missing."));
    }

    #[test]
    fn internal_never_displays_detail() {
        let e = Error::internal("disk I/O error at /secret/path");
        assert_eq!(e.to_string(), "Internal server error");
    }
}
