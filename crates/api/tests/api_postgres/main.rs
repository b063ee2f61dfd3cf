//! The API tests of `tests/api`, run on PostgreSQL: every test in a schema
//! of its own in the database named by `TEST_DATABASE_URL`. Without that
//! variable (at build time, see build.rs) they are not compiled, and one
//! ignored test says why.

#[cfg(postgres_tests)]
#[path = "../api/support.rs"]
mod support;

#[cfg(postgres_tests)]
pub const BACKEND: support::Backend = support::Backend::Postgres;

#[cfg(postgres_tests)]
#[path = "../api/access.rs"]
mod access;

#[cfg(postgres_tests)]
#[path = "../api/auth.rs"]
mod auth;

#[cfg(postgres_tests)]
#[path = "../api/chat.rs"]
mod chat;

#[cfg(postgres_tests)]
#[path = "../api/dm_group.rs"]
mod dm_group;

#[cfg(postgres_tests)]
#[path = "../api/finding.rs"]
mod finding;

#[cfg(postgres_tests)]
#[path = "../api/edge.rs"]
mod edge;

#[cfg(postgres_tests)]
#[path = "../api/errors.rs"]
mod errors;

#[cfg(postgres_tests)]
#[path = "../api/history.rs"]
mod history;

#[cfg(postgres_tests)]
#[path = "../api/marks.rs"]
mod marks;

#[cfg(postgres_tests)]
#[path = "../api/search.rs"]
mod search;

#[cfg(postgres_tests)]
#[path = "../api/metrics.rs"]
mod metrics;

#[cfg(postgres_tests)]
#[path = "../api/openapi.rs"]
mod openapi;

#[cfg(postgres_tests)]
#[path = "../api/fuzz.rs"]
mod fuzz;

#[cfg(postgres_tests)]
#[path = "../api/permissions.rs"]
mod permissions;

#[cfg(postgres_tests)]
#[path = "../api/room_roles.rs"]
mod room_roles;

#[cfg(postgres_tests)]
#[path = "../api/query.rs"]
mod query;

#[cfg(postgres_tests)]
#[path = "../api/ratelimit.rs"]
mod ratelimit;

#[cfg(postgres_tests)]
#[path = "../api/reactions.rs"]
mod reactions;

#[cfg(postgres_tests)]
#[path = "../api/room_actions.rs"]
mod room_actions;

#[cfg(postgres_tests)]
#[path = "../api/room_lists.rs"]
mod room_lists;

#[cfg(postgres_tests)]
#[path = "../api/room_overview.rs"]
mod room_overview;

#[cfg(postgres_tests)]
#[path = "../api/room_settings.rs"]
mod room_settings;

#[cfg(postgres_tests)]
#[path = "../api/readstate.rs"]
mod readstate;

#[cfg(postgres_tests)]
#[path = "../api/rooms.rs"]
mod rooms;

#[cfg(postgres_tests)]
#[path = "../api/roster.rs"]
mod roster;

#[cfg(postgres_tests)]
#[path = "../api/settings.rs"]
mod settings;

#[cfg(postgres_tests)]
#[path = "../api/startup.rs"]
mod startup;

#[cfg(postgres_tests)]
#[path = "../api/sync.rs"]
mod sync;

#[cfg(postgres_tests)]
#[path = "../api/threads.rs"]
mod threads;

#[cfg(postgres_tests)]
#[path = "../api/users.rs"]
mod users;

#[cfg(postgres_tests)]
#[path = "../api/profile.rs"]
mod profile;

#[cfg(postgres_tests)]
#[path = "../api/room_open.rs"]
mod room_open;

#[cfg(postgres_tests)]
#[path = "../api/files.rs"]
mod files;

#[cfg(postgres_tests)]
#[path = "../api/avatars.rs"]
mod avatars;

#[cfg(postgres_tests)]
#[path = "../api/room_extras.rs"]
mod room_extras;

#[cfg(postgres_tests)]
#[path = "../api/discussions.rs"]
mod discussions;

/// PostgreSQL only: SQLite has no server to lose.
#[cfg(postgres_tests)]
mod failures;

/// Stands for the whole suite when it is not compiled, so that `cargo test`
/// shows the skip and counts it.
#[cfg(not(postgres_tests))]
#[test]
#[ignore = "TEST_DATABASE_URL is not set: the PostgreSQL copy of the API tests needs a server"]
fn postgres_api_tests() {}
