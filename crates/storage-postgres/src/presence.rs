//! Users' realtime connections and the status derived from them (see
//! `PresenceStore`).
//!
//! Two instances may change one user's connections at once (the user has
//! a tab on each). Each transaction locks the user's row before reading the
//! connections, so the second derives from the set the first committed:
//! under READ COMMITTED, without the lock, each could miss the other's
//! uncommitted row and the later commit would store a status derived from
//! a stale set (offline while a connection is open).

use crate::db::{get, Conn};
use crate::users;
use threadsync_domain::{Timestamp, User};
use threadsync_storage::{rules, PresenceChange, StorageResult};

/// Applies `change` and derives the user's status; the user, and whether
/// the status others see changed. `None` when there is no such user.
pub(crate) async fn update(
    c: &dyn Conn,
    user_id: &str,
    change: &PresenceChange,
    now: Timestamp,
) -> StorageResult<Option<(User, bool)>> {
    // The lock: see the module's doc. NO KEY UPDATE does not block
    // inserts of rows that reference the user (tokens, subscriptions).
    if !c.exists("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", &[&user_id]).await? {
        return Ok(None);
    }
    let Some(mut user) = users::by_id(c, user_id).await? else { return Ok(None) };
    match change {
        PresenceChange::Connection { id, instance, status, expires_at } => {
            c.exec(
                "INSERT INTO user_connections (user_id, id, instance, status, expires_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (user_id, id) DO UPDATE SET status = excluded.status, \
                                                         expires_at = excluded.expires_at",
                &[&user_id, id, instance, status, &expires_at.millis()],
            )
            .await?;
        }
        PresenceChange::Closed { id } => {
            c.exec("DELETE FROM user_connections WHERE user_id = $1 AND id = $2", &[&user_id, id]).await?;
        }
        PresenceChange::Chosen { status } => user.status_default.clone_from(status),
        PresenceChange::Expired => {
            c.exec(
                "DELETE FROM user_connections WHERE user_id = $1 AND expires_at <= $2",
                &[&user_id, &now.millis()],
            )
            .await?;
        }
    }
    let live = c
        .rows(
            "SELECT status FROM user_connections WHERE user_id = $1 AND expires_at > $2",
            &[&user_id, &now.millis()],
        )
        .await?
        .iter()
        .map(|row| get::<String>(row, 0))
        .collect::<StorageResult<Vec<String>>>()?;
    let changed = rules::resolve_presence(&mut user, live.iter().map(String::as_str), now);
    c.exec(
        "UPDATE users SET status = $2, status_connection = $3, status_default = $4, updated_at = $5 WHERE id = $1",
        &[&user_id, &user.status, &user.status_connection, &user.status_default, &user.updated_at.millis()],
    )
    .await?;
    Ok(Some((user, changed)))
}

pub(crate) async fn renew(c: &dyn Conn, instance: &str, expires_at: Timestamp) -> StorageResult<()> {
    c.exec(
        "UPDATE user_connections SET expires_at = $2 WHERE instance = $1",
        &[&instance, &expires_at.millis()],
    )
    .await?;
    Ok(())
}

pub(crate) async fn expired(c: &dyn Conn, now: Timestamp, limit: u64) -> StorageResult<Vec<String>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    c.rows(
        "SELECT DISTINCT user_id FROM user_connections WHERE expires_at <= $1 LIMIT $2",
        &[&now.millis(), &limit],
    )
    .await?
    .iter()
    .map(|row| get::<String>(row, 0))
    .collect()
}
