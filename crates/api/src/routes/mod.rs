//! Endpoint families. Each module exposes `routes()`, merged here.
//!
//! Every route is mounted with `utoipa_axum`'s `routes!(handler)`, which takes
//! the method and path from the handler's `#[utoipa::path]` attribute: what
//! is served and what `/api/openapi.json` documents come from the same place.

mod auth;
mod avatar;
#[cfg(feature = "bench-endpoints")]
pub(crate) mod bench;
mod channels;
mod chat;
mod client;
mod directory;
mod discussions;
mod files;
mod groups;
mod im;
mod info;
mod permissions;
mod room_family;
mod room_lists;
mod room_open;
mod room_overview;
mod room_reads;
mod room_roles;
mod room_settings;
mod rooms;
mod settings;
mod subscriptions;
mod threads;
mod users;

use crate::openapi::{self, Document};
use crate::AppState;
use axum::{Extension, Router};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every documented route, with `GET /api/openapi.json` serving their document.
pub fn routes() -> Router<AppState> {
    let (router, doc) = documented().split_for_parts();
    router.layer(Extension(Document::new(doc)))
}

/// The routes and their OpenAPI document, built together.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(crate::metrics::metrics))
        .merge(crate::health::routes())
        .merge(crate::realtime::routes())
        .merge(info::routes())
        .merge(avatar::routes())
        .merge(auth::routes())
        .merge(users::routes())
        .merge(settings::routes())
        .merge(permissions::routes())
        .merge(client::routes())
        .merge(channels::routes())
        .merge(groups::routes())
        .merge(room_family::routes())
        .merge(im::routes())
        .merge(rooms::routes())
        .merge(discussions::routes())
        .merge(directory::routes())
        .merge(files::routes())
        .merge(room_reads::routes())
        .merge(room_lists::routes())
        .merge(room_open::routes())
        .merge(room_overview::routes())
        .merge(room_roles::routes())
        .merge(room_settings::routes())
        .merge(subscriptions::routes())
        .merge(chat::routes())
        .merge(threads::routes())
}
