//! The size and time limits of the HTTP edge, in one place (docs/http.md
//! lists them for operators).
//!
//! Two tiers. The limits checked here, in the router, answer a JSON
//! refusal and keep the connection usable. Far beyond them, hyper's own
//! parser refuses the request head before the router sees it; those answers
//! are rewritten to the same JSON by [`crate::server`] and the connection is
//! closed.

use crate::error::ApiError;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use threadsync_domain::error::Refusal;
use threadsync_domain::Error;

/// The largest request body accepted (413 beyond). Messages are capped far
/// lower by `Message_MaxAllowedSize`; this bounds what a client can make us
/// buffer.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The longest request target (path and query string) the router accepts
/// (414 beyond). Room for the largest `query` the query language accepts
/// (8 KiB) percent-encoded, with `fields` and `sort`.
pub const MAX_URI_BYTES: usize = 32 * 1024;

/// The most header bytes (names and values) the router accepts (431 beyond).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The absolute limit on a request head (request line and headers): hyper
/// stops reading at this many bytes and answers 431, then closes the
/// connection. Kept well above the router's limits so that they, not this,
/// normally answer.
pub const MAX_HEAD_BYTES: usize = 256 * 1024;

/// The absolute limit on a request target, fixed inside hyper: beyond it
/// hyper answers 414 and closes the connection.
pub const HYPER_MAX_URI_BYTES: usize = 65_534;

/// The absolute limit on the number of headers (hyper's): beyond it hyper
/// answers 431 and closes the connection.
pub const MAX_HEADERS: usize = 100;

/// How long a client has to send a request head, counted from the moment the
/// connection is ready for one (accepted, or the previous answer sent): an
/// idle keep-alive connection is closed after this long, and so is one that
/// sends a head slowly (slow-loris). Closed without an answer: there is no
/// request to answer.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a client has to send a whole request body, counted from the
/// moment the handler starts reading it (408 beyond).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a client has to send a whole `multipart/form-data` body (a
/// file upload, up to `FileUpload_MaxFileSize`): long enough for 100 MiB
/// over a slow link. The idle limit below still ends a stalled upload.
pub const UPLOAD_READ_TIMEOUT: Duration = Duration::from_secs(3600);

/// The longest pause while a request body is read: no byte for this long
/// answers 408 (a stalled upload does not wait for [`BODY_READ_TIMEOUT`]).
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The time and size limits a server runs with. The server uses
/// [`EdgeLimits::default`] (the constants above); tests shorten the times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdgeLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    /// [`EdgeLimits::body_read_timeout`] of file uploads (multipart bodies).
    pub upload_read_timeout: Duration,
    pub body_idle_timeout: Duration,
}

impl Default for EdgeLimits {
    fn default() -> Self {
        EdgeLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            upload_read_timeout: UPLOAD_READ_TIMEOUT,
            body_idle_timeout: BODY_IDLE_TIMEOUT,
        }
    }
}

/// Middleware: refuses request targets longer than [`MAX_URI_BYTES`] (414)
/// and headers larger than [`MAX_HEADER_BYTES`] (431), before anything else
/// looks at them.
pub async fn check_head(request: Request, next: Next) -> Response {
    if let Some(refusal) = head_refusal(&request) {
        return ApiError(Error::Refused(refusal)).into_response();
    }
    next.run(request).await
}

fn head_refusal(request: &Request) -> Option<Refusal> {
    let uri = request.uri();
    let target = uri.path_and_query().map_or(0, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(Refusal::UriTooLong { limit: MAX_URI_BYTES });
    }
    let headers: usize =
        request.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if headers > MAX_HEADER_BYTES {
        return Some(Refusal::HeadersTooLarge { limit: MAX_HEADER_BYTES });
    }
    None
}
