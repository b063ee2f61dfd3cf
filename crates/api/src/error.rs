//! The wire format of every failure (docs/contract.md#wire-rules), in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use threadsync_domain::Error;

/// A domain error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
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
                "errorType": "error-unauthorized",
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
        Error::Legacy(message) => (StatusCode::BAD_REQUEST, json!({"success": false, "error": message})),
        Error::Internal(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, json!({"success": false, "error": "Internal server error"}))
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Error::Internal(detail) = &self.0 {
            // The client gets a generic body; the detail is for operators only.
            tracing::error!(%detail, "internal error");
        }
        let (status, body) = status_and_body(&self.0);
        (status, Json(body)).into_response()
    }
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
