//! In-process tests of the HTTP API: the real router over a real SQLite store
//! in a temporary directory, driven with `tower::ServiceExt::oneshot`.
//! One test binary (modules per endpoint family) to keep link times low.

mod support;

/// This binary runs the API tests on SQLite; `api_postgres` runs the same
/// modules on PostgreSQL.
pub const BACKEND: support::Backend = support::Backend::Sqlite;

mod access;
mod auth;
mod avatars;
mod chat;
mod discussions;
mod dm_group;
mod edge;
mod errors;
mod files;
mod finding;
mod fuzz;
mod history;
mod marks;
mod metrics;
mod openapi;
mod permissions;
mod profile;
mod query;
mod ratelimit;
mod reactions;
mod readstate;
mod room_actions;
mod room_extras;
mod room_lists;
mod room_open;
mod room_overview;
mod room_roles;
mod room_settings;
mod rooms;
mod roster;
mod search;
mod settings;
mod startup;
mod sync;
mod threads;
mod users;
