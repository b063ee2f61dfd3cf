//! Small helpers shared by the query modules: error mapping, JSON columns,
//! paging arguments and lock handling.

use rusqlite::{ffi, Connection, ErrorCode, OptionalExtension, Params};
use serde::{de::DeserializeOwned, Serialize};
use std::sync::{Mutex, MutexGuard, PoisonError};
use threadsync_storage::{StorageError, StorageResult};

/// Converts rusqlite results into [`StorageResult`] (`.db()?`), mapping
/// constraint violations to the storage error the traits document.
pub(crate) trait Db<T> {
    fn db(self) -> StorageResult<T>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> StorageResult<T> {
        self.map_err(map_error)
    }
}

/// Which uniqueness rule a UNIQUE / PRIMARY KEY violation broke, recognised
/// by the table and column SQLite names in its message. The query modules
/// check the rules explicitly before writing (inside the same transaction,
/// so the check cannot race); this mapping is the safety net.
const UNIQUE_RULES: &[(&str, &str)] = &[
    ("users.username_lower", "username"),
    ("user_emails.address_lower", "email"),
    ("rooms.name_lower", "room_name"),
    ("rooms_name_lower", "room_name"),
    ("subscriptions.rid", "subscription"),
    ("login_tokens.", "token"),
    ("settings.id", "setting"),
    ("roles.name", "role_name"),
    (".id", "id"),
];

fn map_error(e: rusqlite::Error) -> StorageError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &e {
        if failure.code == ErrorCode::ConstraintViolation {
            let text = message.as_deref().unwrap_or("");
            match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    let rule = UNIQUE_RULES
                        .iter()
                        .find(|(needle, _)| text.contains(needle))
                        .map_or("unique", |(_, rule)| *rule);
                    return StorageError::Conflict(rule);
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return StorageError::NotFound("reference"),
                _ => {}
            }
        }
    }
    StorageError::Backend(format!("sqlite: {e}"))
}

/// `query_row` and `execute` through the connection's statement cache.
///
/// rusqlite's `Connection::query_row` and `Connection::execute` parse the
/// SQL on every call; on the hot paths (the token check, the thread and room
/// lookups of every request, the inserts of every write) parsing was a
/// visible share of the server's profile. Every statement text here is a
/// constant or built from constants, so the cache keyed by text is bounded
/// by the code, not by the input (see [`STATEMENT_CACHE`]).
pub(crate) trait Cached {
    fn cached_row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
    fn cached_execute<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl Cached for Connection {
    fn cached_row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    fn cached_execute<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

/// Prepared statements kept per connection: more than the distinct
/// statements of the hot paths, including the compiled `query` filters a
/// client repeats.
pub(crate) const STATEMENT_CACHE: usize = 256;

/// Whether `sql` (a `SELECT 1 ...`) returns a row.
pub(crate) fn exists(conn: &Connection, sql: &str, params: impl Params) -> StorageResult<bool> {
    Ok(conn.cached_row(sql, params, |_| Ok(())).optional().db()?.is_some())
}

pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StorageResult<String> {
    serde_json::to_string(value).map_err(|e| StorageError::Backend(format!("serialising a document: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str) -> StorageResult<T> {
    serde_json::from_str(text).map_err(StorageError::corrupt_document)
}

/// `u64` paging arguments as SQLite integers (saturating: a count beyond
/// `i64::MAX` means "all" anyway).
pub(crate) fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A row count from SQLite as `u64`.
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Locks a mutex, recovering from poisoning: the data behind our mutexes (a
/// channel sender, a join handle, idle connections) stays valid even if a
/// holder panicked.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn closed() -> StorageError {
    StorageError::Backend("the sqlite store is closed".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations;

    /// The messages SQLite gives for our constraints map to the documented
    /// rule names (the explicit checks normally answer first).
    #[test]
    fn constraint_violations_map_to_rules() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrations::apply(&mut conn).expect("migrate");
        let user = "INSERT INTO users (id, username, username_lower, name, emails, roles, active, status, \
                    utc_offset, kind, created_at, updated_at) VALUES (?1, ?2, ?2, '', '[]', '[]', 1, '', 0, '', 0, 0)";
        conn.execute(user, ["u1", "alice"]).db().expect("first");
        assert_eq!(conn.execute(user, ["u1", "bob"]).db(), Err(StorageError::Conflict("id")));
        assert_eq!(conn.execute(user, ["u2", "alice"]).db(), Err(StorageError::Conflict("username")));
        let email = "INSERT INTO user_emails (address_lower, user_id) VALUES (?1, ?2)";
        conn.execute(email, ["a@x", "u1"]).db().expect("email");
        assert_eq!(conn.execute(email, ["a@x", "u1"]).db(), Err(StorageError::Conflict("email")));
        assert_eq!(conn.execute(email, ["b@x", "nobody"]).db(), Err(StorageError::NotFound("reference")));
        let room = "INSERT INTO rooms (id, t, name, name_lower, ts, updated_at, doc) \
                    VALUES (?1, ?2, ?3, ?3, 0, 0, '{}')";
        conn.execute(room, ["r1", "c", "general"]).db().expect("room");
        assert_eq!(conn.execute(room, ["r2", "p", "general"]).db(), Err(StorageError::Conflict("room_name")));
        conn.execute(room, ["r3", "d", "general"]).db().expect("DMs are outside the name rule");
    }
}
