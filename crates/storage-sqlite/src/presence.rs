//! Users' realtime connections and the status derived from them (see
//! `PresenceStore`). The writer runs one transaction at a time, so reading
//! a user's connections and storing the derived status cannot race.

use crate::db::{Cached, Db};
use crate::users;
use rusqlite::{params, Connection};
use threadsync_domain::{Timestamp, User};
use threadsync_storage::{rules, PresenceChange, StorageResult};

/// Applies `change` and derives the user's status; the user, and whether
/// the status others see changed. `None` when there is no such user.
pub(crate) fn update(
    conn: &Connection,
    user_id: &str,
    change: &PresenceChange,
    now: Timestamp,
) -> StorageResult<Option<(User, bool)>> {
    let Some(mut user) = users::by_id(conn, user_id)? else { return Ok(None) };
    match change {
        PresenceChange::Connection { id, instance, status, expires_at } => {
            conn.cached_execute(
                "INSERT INTO user_connections (user_id, id, instance, status, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (user_id, id) DO UPDATE SET status = excluded.status, \
                                                         expires_at = excluded.expires_at",
                params![user_id, id, instance, status, expires_at.millis()],
            )
            .db()?;
        }
        PresenceChange::Closed { id } => {
            conn.cached_execute(
                "DELETE FROM user_connections WHERE user_id = ?1 AND id = ?2",
                params![user_id, id],
            )
            .db()?;
        }
        PresenceChange::Chosen { status } => user.status_default.clone_from(status),
        PresenceChange::Expired => {
            conn.cached_execute(
                "DELETE FROM user_connections WHERE user_id = ?1 AND expires_at <= ?2",
                params![user_id, now.millis()],
            )
            .db()?;
        }
    }
    let changed = derive(conn, &mut user, now)?;
    Ok(Some((user, changed)))
}

/// Derives `user`'s status from their live connections and stores it with
/// their chosen status; whether the status others see changed.
fn derive(conn: &Connection, user: &mut User, now: Timestamp) -> StorageResult<bool> {
    let mut stmt = conn
        .prepare_cached("SELECT status FROM user_connections WHERE user_id = ?1 AND expires_at > ?2")
        .db()?;
    let live: Vec<String> = stmt
        .query_map(params![user.id, now.millis()], |row| row.get(0))
        .db()?
        .collect::<Result<_, _>>()
        .db()?;
    let changed = rules::resolve_presence(user, live.iter().map(String::as_str), now);
    conn.cached_execute(
        "UPDATE users SET status = ?2, status_connection = ?3, status_default = ?4, updated_at = ?5 WHERE id = ?1",
        params![user.id, user.status, user.status_connection, user.status_default, user.updated_at.millis()],
    )
    .db()?;
    Ok(changed)
}

pub(crate) fn renew(conn: &Connection, instance: &str, expires_at: Timestamp) -> StorageResult<()> {
    conn.cached_execute(
        "UPDATE user_connections SET expires_at = ?2 WHERE instance = ?1",
        params![instance, expires_at.millis()],
    )
    .db()?;
    Ok(())
}

pub(crate) fn expired(conn: &Connection, now: Timestamp, limit: u64) -> StorageResult<Vec<String>> {
    let mut stmt = conn
        .prepare_cached("SELECT DISTINCT user_id FROM user_connections WHERE expires_at <= ?1 LIMIT ?2")
        .db()?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let users =
        stmt.query_map(params![now.millis(), limit], |row| row.get(0)).db()?.collect::<Result<_, _>>();
    users.db()
}
