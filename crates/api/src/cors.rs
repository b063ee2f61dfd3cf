//! Cross-origin requests, as Rocket.Chat configures them: the settings
//! `API_Enable_CORS` (default off) and `API_CORS_Origin` (default `*`, or a
//! comma-separated list of origins), read on every request.
//!
//! Enabled, a preflight (`OPTIONS`, any path) is answered 200
//! `{"success": true}` (JSON like every answer; Rocket.Chat's is empty) with
//! the allowed origin, methods and headers (the auth headers among them), and
//! every other answer carries the allowed origin and exposes the rate-limit
//! headers. With a list, only a listed `Origin` is echoed back (with
//! `Vary: Origin`); other origins get no CORS headers, which a browser
//! reads as a refusal. Disabled, nothing is added and `OPTIONS` is an
//! unknown route like any other method the API does not serve.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

const ALLOW_METHODS: &str = "GET, POST, OPTIONS";
const ALLOW_HEADERS: &str =
    "Origin, X-Requested-With, Content-Type, Accept, X-User-Id, X-Auth-Token, Authorization";
const EXPOSE_HEADERS: &str = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After";

/// The `Access-Control-Allow-Origin` value for a request's `Origin`, and
/// whether it depends on it (then `Vary: Origin`).
fn allowed_origin(setting: &str, origin: Option<&HeaderValue>) -> Option<(HeaderValue, bool)> {
    let setting = setting.trim();
    if setting == "*" {
        return Some((HeaderValue::from_static("*"), false));
    }
    let origin = origin?;
    let wanted = origin.to_str().ok()?.trim();
    setting
        .split(',')
        .map(str::trim)
        .any(|allowed| !allowed.is_empty() && allowed.eq_ignore_ascii_case(wanted))
        .then(|| (origin.clone(), true))
}

fn add_origin(headers: &mut HeaderMap, (origin, varies): (HeaderValue, bool)) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if varies {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// Middleware (outside the router's own checks, so refusals carry the
/// headers too and a browser can read them).
pub async fn cors(State(services): State<AppState>, request: Request, next: Next) -> Response {
    let settings = services.settings();
    if !settings.cors_enabled() {
        return next.run(request).await;
    }
    let allowed = allowed_origin(settings.cors_origin(), request.headers().get(header::ORIGIN));
    if request.method() == Method::OPTIONS {
        let mut response = (StatusCode::OK, Json(json!({"success": true}))).into_response();
        if let Some(allowed) = allowed {
            let headers = response.headers_mut();
            add_origin(headers, allowed);
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
        }
        return response;
    }
    let mut response = next.run(request).await;
    if let Some(allowed) = allowed {
        let headers = response.headers_mut();
        add_origin(headers, allowed);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_the_setting() {
        let origin = HeaderValue::from_static("https://Chat.Example");
        assert_eq!(allowed_origin("*", None), Some((HeaderValue::from_static("*"), false)));
        assert_eq!(allowed_origin(" * ", Some(&origin)), Some((HeaderValue::from_static("*"), false)));
        assert_eq!(
            allowed_origin("https://a.example, https://chat.example", Some(&origin)),
            Some((origin.clone(), true)),
            "listed origins match without regard to case and are echoed"
        );
        assert_eq!(allowed_origin("https://a.example", Some(&origin)), None);
        assert_eq!(allowed_origin("https://a.example", None), None);
        assert_eq!(allowed_origin("", Some(&origin)), None);
    }
}
