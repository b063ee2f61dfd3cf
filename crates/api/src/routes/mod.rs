//! Endpoint families. Each module exposes `routes()`, merged here.

mod auth;
mod info;
mod settings;
mod users;

use crate::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(info::routes())
        .merge(auth::routes())
        .merge(users::routes())
        .merge(settings::routes())
}
