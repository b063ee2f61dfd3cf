//! Endpoint families. Each module exposes `routes()`, merged here.

mod auth;
#[cfg(feature = "bench-endpoints")]
pub(crate) mod bench;
mod channels;
mod chat;
mod groups;
mod im;
mod info;
mod rooms;
mod settings;
mod subscriptions;
mod threads;
mod users;

use crate::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(info::routes())
        .merge(auth::routes())
        .merge(users::routes())
        .merge(settings::routes())
        .merge(channels::routes())
        .merge(groups::routes())
        .merge(im::routes())
        .merge(rooms::routes())
        .merge(subscriptions::routes())
        .merge(chat::routes())
        .merge(threads::routes())
}
