//! The wire format of every failure (docs/contract.md#wire-rules), in one
//! place: the router's answers and the refusals the server writes itself
//! (see [`refusal_bytes`]).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};
use threadsync_domain::error::{wait_secs, Refusal};
use threadsync_domain::Code;
use threadsync_domain::Error;

/// A domain error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl From<threadsync_domain::Reject> for ApiError {
    fn from(refusal: threadsync_domain::Reject) -> Self {
        ApiError(Error::from(refusal))
    }
}

/// The status and body for each error kind.
pub fn status_and_body(error: &Error) -> (StatusCode, Value) {
    match error {
        Error::NotLoggedIn => (
            StatusCode::UNAUTHORIZED,
            json!({
                "success": false,
                "error": "You must be logged in to do this.",
                "status": "error",
                "message": "You must be logged in to do this.",
            }),
        ),
        Error::LoginFailed => (
            StatusCode::UNAUTHORIZED,
            json!({"success": false, "error": "Unauthorized", "status": "error", "message": "Unauthorized"}),
        ),
        Error::Forbidden => (
            StatusCode::FORBIDDEN,
            json!({
                "success": false,
                "error": "User does not have the permissions required for this action [error-unauthorized]",
                "errorType": Code::Unauthorized,
            }),
        ),
        Error::RouteNotFound => {
            (StatusCode::NOT_FOUND, json!({"success": false, "error": "Resource not found"}))
        }
        Error::TooManyRequests { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            json!({"success": false, "error": format!("{error} [error-too-many-requests]")}),
        ),
        Error::Rejected { code, details, .. } => {
            let mut body = json!({"success": false, "error": error.to_string(), "errorType": code});
            if let (Some(details), Some(map)) = (details, body.as_object_mut()) {
                map.insert("details".into(), details.clone());
            }
            (StatusCode::BAD_REQUEST, body)
        }
        Error::Refused(refusal) => (
            refusal_status(*refusal),
            json!({"success": false, "error": error.to_string(), "errorType": refusal.code()}),
        ),
        Error::Legacy(message) => (StatusCode::BAD_REQUEST, json!({"success": false, "error": message})),
        Error::Failure { message, code } => {
            (StatusCode::BAD_REQUEST, json!({"success": false, "error": message, "errorType": code}))
        }
        Error::Internal(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, json!({"success": false, "error": "Internal server error"}))
        }
    }
}

/// The status of each refusal of the HTTP layer.
fn refusal_status(refusal: Refusal) -> StatusCode {
    match refusal {
        Refusal::Malformed => StatusCode::BAD_REQUEST,
        Refusal::Timeout => StatusCode::REQUEST_TIMEOUT,
        Refusal::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Refusal::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
        Refusal::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Refusal::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
    }
}

/// The rate-limit headers of a 429: nothing left, and when the next call is
/// allowed (epoch ms, and `Retry-After` in seconds). The route limiter adds
/// `X-RateLimit-Limit`; for a refusal of the login brake these describe the
/// brake, not the route's budget.
pub(crate) const REMAINING: header::HeaderName = header::HeaderName::from_static("x-ratelimit-remaining");
pub(crate) const RESET: header::HeaderName = header::HeaderName::from_static("x-ratelimit-reset");

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Error::Internal(detail) = &self.0 {
            // The client gets a generic body; the detail is for operators only.
            tracing::error!(%detail, "internal error");
        }
        let (status, body) = status_and_body(&self.0);
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self.0 {
            Error::TooManyRequests { wait_ms } => {
                headers.insert(REMAINING, HeaderValue::from(0u64));
                headers.insert(RESET, HeaderValue::from(now_ms().saturating_add(*wait_ms)));
                headers.insert(header::RETRY_AFTER, HeaderValue::from(wait_secs(*wait_ms)));
            }
            // The rest of a request that came too slowly (or is still
            // coming) is not worth reading: the connection ends here.
            Error::Refused(Refusal::Timeout | Refusal::BodyTooLarge { .. }) => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            // RFC 9110 §15.5.17: the size of what could have been asked for.
            Error::Refused(Refusal::RangeNotSatisfiable { size }) => {
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
            }
            _ => {}
        }
        response
    }
}

/// A whole HTTP/1.1 response for a refusal, as bytes: for the server's own
/// answers to heads the router never sees (unparsable, or over hyper's
/// limits), which then close the connection.
pub fn refusal_bytes(refusal: Refusal) -> Vec<u8> {
    let error = Error::Refused(refusal);
    let (status, body) = status_and_body(&error);
    let body = body.to_string();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// The fallback for unknown routes and wrong methods (404, as Rocket.Chat).
pub async fn route_not_found() -> ApiError {
    ApiError(Error::RouteNotFound)
}

/// Turns a handler panic into the generic 500 body; the panic is logged.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError(Error::internal(format!("handler panicked: {detail}"))).into_response()
}
