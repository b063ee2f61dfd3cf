//! Endpoint families. Each module exposes `routes()`, merged here.
//!
//! Every route is mounted with `routes!(handler)` (crate::routing), which takes
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

use crate::openapi::Document;
use crate::routing::Routes;
use crate::AppState;
use axum::{Extension, Router};

/// Every documented route, with `GET /api/openapi.json` serving their document.
pub fn routes() -> Router<AppState> {
    let (router, described) = documented().split();
    router.layer(Extension(Document::new(described)))
}

/// The routes, each with how to document it.
fn documented() -> Routes {
    crate::openapi::routes()
        .merge(crate::metrics::routes())
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
