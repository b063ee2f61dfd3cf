//! In-process tests of the HTTP API: the real router over a real SQLite store
//! in a temporary directory, driven with `tower::ServiceExt::oneshot`.
//! One test binary (modules per endpoint family) to keep link times low.

mod support;

mod auth;
mod chat;
mod errors;
mod query;
mod rooms;
mod settings;
mod sync;
mod threads;
mod users;
