//! Avatars: `GET /avatar/{name}`.
//!
//! Rocket.Chat serves every user's and room's picture at `/avatar/<name>`,
//! and clients draw them by that URL alone (EmbeddedChat puts
//! `<host>/avatar/<username>` in an `<img>` for every message). Where no
//! picture was uploaded, Rocket.Chat draws the name's initial on a colour
//! picked from the name; threadsync has no uploads yet, so it always draws
//! that. Any name gets a picture, as with Rocket.Chat: a client asking for a
//! user who left must not show a broken image.

use crate::extract::{Params, PathParams};
use crate::openapi::schemas as doc;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(avatar))
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
/// a client may append. Cached by clients for a day.
#[utoipa::path(
    get,
    path = "/avatar/{name}",
    tag = "users",
    summary = "The picture of a user or room, drawn from its name.",
    params(
        ("name" = String, Path, description = "A username or room name."),
        ("size" = Option<String>, Query, description = "Width and height in pixels (1–1024; default 200). Values out of range are clamped, as Rocket.Chat does, never refused."),
    ),
    responses(
        (status = 200, description = "An SVG image.", content_type = "image/svg+xml", body = String),
        (status = 400, description = "The name is not valid UTF-8 once percent-decoded, or the query string cannot be parsed (`error-invalid-params`).", body = doc::ErrorBody),
        (status = 500, description = "Internal error.", body = doc::ErrorBody),
    ),
)]
async fn avatar(PathParams(name): PathParams<String>, params: Params) -> Response {
    let size = params
        .get("size")
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(DEFAULT_SIZE, |s| s.clamp(1, u64::from(MAX_SIZE)) as u32);
    let svg = draw(&name, size);
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            // An SVG is a document that could run script if it were opened
            // directly; ours never holds any, and this says so to browsers.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        svg,
    )
        .into_response()
}

/// The drawing. Only one letter or digit (or `?`) and a colour from a
/// fixed list reach the SVG, so no name can inject markup into it.
fn draw(name: &str, size: u32) -> String {
    let name = name.strip_prefix('@').unwrap_or(name);
    let name = name
        .rsplit_once('.')
        .filter(|(_, ext)| matches!(*ext, "svg" | "png" | "jpg"))
        .map_or(name, |(n, _)| n);
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
