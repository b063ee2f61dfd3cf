//! Avatars: `GET /avatar/{name}`, `users.setAvatar`, `users.resetAvatar`,
//! `users.getAvatar`.
//!
//! Rocket.Chat serves every user's and room's picture at `/avatar/<name>`,
//! and clients draw them by that URL alone (EmbeddedChat puts
//! `<host>/avatar/<username>` in an `<img>` for every message). A user's
//! uploaded picture is served as it was uploaded; otherwise, as Rocket.Chat
//! does, the name's initial is drawn on a colour picked from the name. Any
//! name gets a picture: a client asking for a user who left must not show a
//! broken image.

use super::files::{is_multipart, read_upload_form, FormFile};
use crate::error::ApiError;
use crate::extract::{Body, CurrentUser, PathParams, Query};
use crate::openapi::schemas as doc;
use crate::requests::UserQuery;
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use threadsync_domain::Error;
use threadsync_domain::Reject;
use threadsync_service::UserSelector;

use crate::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(avatar))
        .merge(routes!(set_avatar))
        .merge(routes!(reset_avatar))
        .merge(routes!(get_avatar))
}

/// The username an `/avatar/` path names: without Rocket.Chat's leading `@`
/// and without an image extension a client may append.
fn username_of(name: &str) -> &str {
    let name = name.strip_prefix('@').unwrap_or(name);
    name.rsplit_once('.').filter(|(_, ext)| matches!(*ext, "svg" | "png" | "jpg")).map_or(name, |(n, _)| n)
}

/// A text field of a JSON or form body.
fn text<'a>(fields: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    fields.get(key).and_then(Value::as_str)
}

/// Sets the caller's picture, or another user's.
///
/// `POST users.setAvatar` (auth): `multipart/form-data` with the picture in
/// `image` and optionally `userId` / `username` (another user: needs
/// `edit-other-user-avatar`) → `{}`. Checks: `Accounts_AllowUserAvatarChange`
/// (or the permission); an image (`image/*`) of at most 5 MiB; the user named.
/// A JSON body with `avatarUrl` is refused: the server fetches no URLs.
#[utoipa::path(
    post,
    path = "/api/v1/users.setAvatar",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body(content = doc::AvatarForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The picture is set.", body = doc::Done),
        (status = 400, description = "Changing avatars not allowed (`error-not-allowed`); not an image (`error-invalid-image`); over 5 MiB (`error-file-too-large`); no image, or an image in another field; a user named that does not exist (`error-invalid-user`); `avatarUrl` (`error-avatar-url-handling`).", body = doc::ErrorBody),
    ),
)]
async fn set_avatar(State(services): State<AppState>, caller: CurrentUser, request: Request) -> ApiResult {
    services.check_avatar_change_allowed(&caller.user)?;
    if !is_multipart(request.headers()) {
        let Body(body) = Body::<Map<String, Value>>::from_request(request, &services).await?;
        return Err(ApiError(if text(&body, "avatarUrl").is_some_and(|u| !u.trim().is_empty()) {
            Error::from(Reject::AvatarUrlUnsupported)
        } else {
            Error::from(Reject::AvatarFormExpected)
        }));
    }
    let (image, fields) = read_upload_form(&services, request, FormFile::Avatar).await?;
    let target = UserSelector { user_id: text(&fields, "userId"), username: text(&fields, "username") };
    services.set_avatar(&caller.user, target, image).await?;
    ok(json!({}))
}

/// Goes back to the drawn initials.
///
/// `POST users.resetAvatar` (auth) `{userId | username}` → `{}`; another
/// user's needs `edit-other-user-avatar`.
#[utoipa::path(
    post,
    path = "/api/v1/users.resetAvatar",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = doc::UserTarget,
    responses(
        (status = 200, description = "The picture is removed.", body = doc::Done),
        (status = 400, description = "Changing avatars not allowed, or another user's without the permission (`error-not-allowed`); no user named (`error-user-param-not-provided`) or none such (`error-invalid-user`).", body = doc::ErrorBody),
    ),
)]
async fn reset_avatar(
    State(services): State<AppState>,
    caller: CurrentUser,
    Body(body): Body<Map<String, Value>>,
) -> ApiResult {
    let target = UserSelector { user_id: text(&body, "userId"), username: text(&body, "username") };
    services.reset_avatar(&caller.user, target).await?;
    ok(json!({}))
}

/// Where a user's picture is.
///
/// `GET users.getAvatar?userId=|username=` (auth) → 307 to
/// `/avatar/<username>`.
#[utoipa::path(
    get,
    path = "/api/v1/users.getAvatar",
    tag = "users",
    security(("userId" = [], "authToken" = [])),
    params(UserQuery),
    responses(
        (status = 307, description = "Redirects to `/avatar/<username>`; the body is that path."),
        (status = 400, description = "No user named (`error-user-param-not-provided`) or none such (`error-invalid-user`).", body = doc::ErrorBody),
    ),
)]
async fn get_avatar(
    State(services): State<AppState>,
    _caller: CurrentUser,
    Query(who): Query<UserQuery>,
) -> Result<Response, ApiError> {
    let user = services.avatar_owner(who.selector()).await?;
    let path = format!("/avatar/{}", threadsync_domain::upload::encode_segment(&user.username));
    let location = HeaderValue::from_str(&path).map_err(|_| ApiError(Error::internal("avatar path")))?;
    Ok((StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)], path).into_response())
}

/// Rocket.Chat's palette for drawn avatars.
const COLOURS: &[&str] = &[
    "#F44336", "#E91E63", "#9C27B0", "#673AB7", "#3F51B5", "#2196F3", "#03A9F4", "#00BCD4", "#009688",
    "#4CAF50", "#8BC34A", "#CDDC39", "#FFC107", "#FF9800", "#FF5722", "#795548", "#9E9E9E", "#607D8B",
];

/// The most pixels a client may ask for: the drawing is a vector, but the
/// size is echoed into it, and nobody needs a wider avatar.
const MAX_SIZE: u32 = 1024;
const DEFAULT_SIZE: u32 = 200;

/// `GET /avatar/{name}` (no auth, as Rocket.Chat's default): an SVG of the
/// name's first letter or digit on a colour fixed by the name. A leading `@`
/// (Rocket.Chat's form for user avatars) is ignored; so is a file extension
/// a client may append. Cached by clients for five minutes (pictures change).
#[utoipa::path(
    get,
    path = "/avatar/{name}",
    tag = "users",
    summary = "The picture of a user or room, drawn from its name.",
    params(
        ("name" = String, Path, description = "A username or room name."),
        AvatarQuery,
    ),
    responses(
        (status = 200, description = "An SVG image.", content_type = "image/svg+xml", body = String),
        (status = 400, description = "The name is not valid UTF-8 once percent-decoded, or the query string cannot be parsed (`error-invalid-params`).", body = doc::ErrorBody),
        (status = 500, description = "Internal error.", body = doc::ErrorBody),
    ),
)]
async fn avatar(
    State(services): State<AppState>,
    PathParams(name): PathParams<String>,
    headers: HeaderMap,
    Query(request): Query<AvatarQuery>,
) -> Result<Response, ApiError> {
    if let Some((avatar, blob)) = services.uploaded_avatar(username_of(&name)).await? {
        // The key changes with every new picture: a fine validator.
        let etag = format!("\"{}\"", avatar.key);
        let fresh = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str());
        let mut response = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut response = axum::body::Body::from_stream(blob.body).into_response();
            response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
            response
        };
        let out = response.headers_mut();
        if let Ok(content_type) = HeaderValue::from_str(&avatar.content_type) {
            out.insert(header::CONTENT_TYPE, content_type);
        }
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            out.insert(header::ETAG, etag);
        }
        // Pictures change: a short life, then a cheap revalidation.
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
        out.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        out.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
        return Ok(response);
    }
    let size = request
        .size
        .as_deref()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(DEFAULT_SIZE, |s| s.clamp(1, u64::from(MAX_SIZE)) as u32);
    let svg = draw(&name, size);
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            // An SVG is a document that could run script if it were opened
            // directly; ours never holds any, and this says so to browsers.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        svg,
    )
        .into_response())
}

/// The drawing. Only one letter or digit (or `?`) and a colour from a
/// fixed list reach the SVG, so no name can inject markup into it.
fn draw(name: &str, size: u32) -> String {
    let name = username_of(name);
    // Letters and digits of any script are safe in XML text (never `<`,
    // `&` or a quote); anything else would need escaping, so it is not used.
    let initial =
        name.chars().find(|c| c.is_alphanumeric()).map_or('?', |c| c.to_uppercase().next().unwrap_or(c));
    // A stable, cheap hash of the name: the same user has the same colour on
    // every instance and after every restart.
    let hash = name.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let colour = COLOURS[hash as usize % COLOURS.len()];
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" pointer-events="none" width="{size}" height="{size}" viewBox="0 0 200 200">"#,
            r#"<rect width="200" height="200" fill="{colour}"/>"#,
            r##"<text x="50%" y="50%" dy="0.36em" text-anchor="middle" fill="#ffffff" "##,
            r#"font-family="Helvetica, Arial, 'Lucida Grande', sans-serif" font-size="125">{initial}</text></svg>"#
        ),
        size = size,
        colour = colour,
        initial = initial,
    )
}

#[cfg(test)]
mod tests {
    use super::draw;

    #[test]
    fn the_initial_and_colour_come_from_the_name() {
        let svg = draw("alice", 64);
        assert!(svg.contains(">A</text>"), "{svg}");
        assert!(svg.contains(r#"width="64""#), "{svg}");
        assert_eq!(draw("alice", 64), draw("@alice", 64), "a leading @ names the same user");
        assert_eq!(draw("alice.svg", 64), draw("alice", 64));
        assert_ne!(draw("alice", 64), draw("bob", 64));
    }

    #[test]
    fn nothing_from_the_name_but_one_character_reaches_the_svg() {
        for name in ["<script>alert(1)</script>", "\"><x", "élodie", "日本", "", "----"] {
            let svg = draw(name, 200);
            let text = svg.split("font-size=\"125\">").nth(1).and_then(|t| t.strip_suffix("</text></svg>"));
            let text = text.expect("one text element");
            assert_eq!(text.chars().count(), 1, "{name}: {svg}");
            assert!(text.chars().all(|c| c.is_alphanumeric() || c == '?'), "{name}: {svg}");
            assert!(!svg.contains("script"), "{name}: {svg}");
        }
        assert!(draw("élodie", 200).contains(">É</text>"));
        assert!(draw("日本", 200).contains(">日</text>"));
        assert!(draw("----", 200).contains(">?</text>"), "no letter or digit: ?");
    }
}

/// `/avatar/{name}`'s query parameter.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AvatarQuery {
    /// Width and height in pixels (1–1024; default 200). Values out of range
    /// are clamped, as Rocket.Chat does, never refused.
    size: Option<String>,
}
