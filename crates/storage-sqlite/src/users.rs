//! Users, their email addresses and login tokens.
//!
//! `User` has no serde form of its own (it must never be serialised by
//! accident, it holds the password hash), so users are stored as columns.

use crate::db::{count, exists, sql_int, to_json, Cached, Db};
use crate::rooms;
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{Map, Value};
use std::collections::HashSet;
use threadsync_domain::{Timestamp, User};
use threadsync_storage::rename::Rename;
use threadsync_storage::{
    rules, Page, RoleFilter, StorageError, StorageResult, UserListQuery, UserPatch, UserSortField,
};

/// The columns [`from_row`] expects, in order; `u.` so joins can use it.
pub(crate) const COLUMNS: &str = "u.id, u.username, u.name, u.emails, u.password_hash, u.roles, \
     u.active, u.status, u.utc_offset, u.kind, u.created_at, u.updated_at, u.status_text, u.last_login, \
     u.status_default, u.status_connection";

pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let json_column = |idx: usize| -> rusqlite::Result<String> { row.get(idx) };
    let emails = json_column(3)?;
    let roles = json_column(5)?;
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        name: row.get(2)?,
        emails: serde_json::from_str(&emails)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, Type::Text, Box::new(e)))?,
        password_hash: row.get(4)?,
        roles: serde_json::from_str(&roles)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(5, Type::Text, Box::new(e)))?,
        active: row.get(6)?,
        status: row.get(7)?,
        utc_offset: row.get(8)?,
        kind: row.get(9)?,
        created_at: Timestamp(row.get(10)?),
        updated_at: Timestamp(row.get(11)?),
        status_text: row.get(12)?,
        last_login: row.get::<_, Option<i64>>(13)?.map(Timestamp),
        status_default: row.get(14)?,
        status_connection: row.get(15)?,
    })
}

/// Case folding for the case-insensitive rules. Done here, in Rust, so every
/// backend folds exactly alike.
pub(crate) fn fold(s: &str) -> String {
    s.to_lowercase()
}

pub(crate) fn count_users(conn: &Connection) -> StorageResult<u64> {
    conn.cached_row("SELECT count(*) FROM users", [], |row| row.get(0)).db().map(count)
}

pub(crate) fn insert(conn: &Connection, user: &User) -> StorageResult<()> {
    // Explicit checks give each rule its own error; they cannot race, the
    // writer runs one transaction at a time.
    if exists(conn, "SELECT 1 FROM users WHERE id = ?1", [&user.id])? {
        return Err(StorageError::Conflict("id"));
    }
    let username_lower = fold(&user.username);
    if exists(conn, "SELECT 1 FROM users WHERE username_lower = ?1", [&username_lower])? {
        return Err(StorageError::Conflict("username"));
    }
    let mut addresses = HashSet::new();
    for email in &user.emails {
        let address = fold(&email.address);
        if exists(conn, "SELECT 1 FROM user_emails WHERE address_lower = ?1", [&address])?
            || !addresses.insert(address)
        {
            return Err(StorageError::Conflict("email"));
        }
    }
    conn.cached_execute(
        "INSERT INTO users (id, username, username_lower, name, emails, password_hash, roles, \
                            active, status, utc_offset, kind, created_at, updated_at, status_text, \
                            status_default, status_connection) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            user.id,
            user.username,
            username_lower,
            user.name,
            to_json(&user.emails)?,
            user.password_hash,
            to_json(&user.roles)?,
            user.active,
            user.status,
            user.utc_offset,
            user.kind,
            user.created_at.millis(),
            user.updated_at.millis(),
            user.status_text,
            user.status_default,
            user.status_connection,
        ],
    )
    .db()?;
    for address in addresses {
        conn.cached_execute(
            "INSERT INTO user_emails (address_lower, user_id) VALUES (?1, ?2)",
            params![address, user.id],
        )
        .db()?;
    }
    Ok(())
}

fn one(conn: &Connection, filter: &str, value: &str) -> StorageResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE {filter}");
    conn.cached_row(&sql, [value], from_row).optional().db()
}

pub(crate) fn by_id(conn: &Connection, id: &str) -> StorageResult<Option<User>> {
    one(conn, "u.id = ?1", id)
}

pub(crate) fn by_username(conn: &Connection, username: &str) -> StorageResult<Option<User>> {
    one(conn, "u.username_lower = ?1", &fold(username))
}

pub(crate) fn by_email(conn: &Connection, email: &str) -> StorageResult<Option<User>> {
    one(conn, "u.id = (SELECT user_id FROM user_emails WHERE address_lower = ?1)", &fold(email))
}

pub(crate) fn by_usernames(conn: &Connection, usernames: &[String]) -> StorageResult<Vec<User>> {
    let folded: Vec<String> = usernames.iter().map(|u| fold(u)).collect();
    // One JSON array parameter instead of a variable number of `?`s.
    let sql = format!(
        "SELECT {COLUMNS} FROM users u \
         WHERE u.username_lower IN (SELECT value FROM json_each(?1)) ORDER BY u.username_lower"
    );
    let mut stmt = conn.prepare(&sql).db()?;
    let rows = stmt.query_map([to_json(&folded)?], from_row).db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

pub(crate) fn with_extra_roles(conn: &Connection, limit: u64) -> StorageResult<Vec<User>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users u \
         WHERE EXISTS (SELECT 1 FROM json_each(u.roles) WHERE value <> 'user') \
         ORDER BY u.username_lower LIMIT ?1"
    );
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], from_row).db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

pub(crate) fn delete(conn: &Connection, id: &str) -> StorageResult<bool> {
    if !exists(conn, "SELECT 1 FROM users WHERE id = ?1", [id])? {
        return Ok(false);
    }
    // Subscriptions carry no foreign key to users; remove them one by one so
    // each room's `usersCount` follows.
    let rids: Vec<String> = {
        let mut stmt = conn.prepare("SELECT rid FROM subscriptions WHERE user_id = ?1").db()?;
        let rows = stmt.query_map([id], |row| row.get(0)).db()?;
        rows.collect::<rusqlite::Result<_>>().db()?
    };
    for rid in rids {
        rooms::remove_subscription(conn, &rid, id, false)?;
    }
    // Tokens and addresses go by ON DELETE CASCADE; explicit all the same, so
    // the rule is visible here and not only in the schema.
    conn.cached_execute("DELETE FROM login_tokens WHERE user_id = ?1", [id]).db()?;
    conn.cached_execute("DELETE FROM user_emails WHERE user_id = ?1", [id]).db()?;
    conn.cached_execute("DELETE FROM users WHERE id = ?1", [id]).db()?;
    Ok(true)
}

/// See `UserStore::list_users`. The order is built from the enum, never
/// from request text.
pub(crate) fn list(conn: &Connection, query: &UserListQuery) -> StorageResult<Page<User>> {
    let column = match query.sort {
        UserSortField::Username => "u.username",
        UserSortField::Name => "u.name",
        UserSortField::CreatedAt => "u.created_at",
        UserSortField::Active => "u.active",
    };
    let dir = if query.descending { "DESC" } else { "ASC" };
    let email = query.email.as_deref().map(fold).unwrap_or_default();
    // Empty strings stand for "no such filter", so one statement serves all.
    let (global_role, room_role, rid) = match &query.role {
        None => ("", "", ""),
        Some(RoleFilter::Global(role)) => (role.as_str(), "", ""),
        Some(RoleFilter::InRoom { role, rid }) => ("", role.as_str(), rid.as_deref().unwrap_or("")),
    };
    let filter = "(?1 = '' OR u.id IN (SELECT user_id FROM user_emails WHERE address_lower = ?1)) \
        AND (?4 = '' OR EXISTS (SELECT 1 FROM json_each(u.roles) WHERE value = ?4)) \
        AND (?5 = '' OR EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = u.id \
             AND (?6 = '' OR s.rid = ?6) \
             AND EXISTS (SELECT 1 FROM json_each(coalesce(json_extract(s.doc, '$.roles'), '[]')) WHERE value = ?5))) \
        AND (?7 = '' OR instr(u.username_lower, ?7) > 0 OR instr(ts_lower(u.name), ?7) > 0) \
        AND (?8 = 0 OR u.status <> 'offline') \
        AND (?9 IS NULL OR u.updated_at >= ?9) \
        AND (?10 = '' OR u.id <> ?10)";
    let text = query.text.as_deref().map(fold).unwrap_or_default();
    let since = query.updated_since.map(|t| t.millis());
    let except = query.except_id.as_deref().unwrap_or_default();
    let params = params![
        email,
        sql_int(query.count),
        sql_int(query.offset),
        global_role,
        room_role,
        rid,
        text,
        query.present_only,
        since,
        except
    ];
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users u WHERE {filter} ORDER BY {column} {dir}, u.id {dir} LIMIT ?2 OFFSET ?3"
        ))
        .db()?;
    let items = stmt.query_map(params, from_row).db()?.collect::<rusqlite::Result<Vec<_>>>().db()?;
    // The same numbered parameters (?2 and ?3 unused here, but bound).
    let total: i64 = conn
        .cached_row(&format!("SELECT count(*) FROM users u WHERE {filter}"), params, |row| row.get(0))
        .db()?;
    Ok(Page { items, total: count(total) })
}

/// See `UserStore::set_user_active`; the writer runs one transaction at a
/// time, so the admin count cannot change between the check and the write.
pub(crate) fn set_active(conn: &Connection, id: &str, active: bool) -> StorageResult<Option<User>> {
    let Some(user) = by_id(conn, id)? else { return Ok(None) };
    if user.active == active {
        return Ok(Some(user));
    }
    if !active && user.is_admin() && !another_active_admin(conn, id)? {
        return Err(StorageError::Invalid("last_active_admin"));
    }
    let stamp = rules::user_stamp(&user, Timestamp::now());
    conn.cached_execute(
        "UPDATE users SET active = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, active, stamp.millis()],
    )
    .db()?;
    if !active {
        conn.cached_execute("DELETE FROM login_tokens WHERE user_id = ?1", [id]).db()?;
    }
    by_id(conn, id)
}

/// Whether an active admin other than user `id` exists.
fn another_active_admin(conn: &Connection, id: &str) -> StorageResult<bool> {
    let others: i64 = conn
        .cached_row(
            "SELECT count(*) FROM users u WHERE u.active AND u.id <> ?1 \
               AND EXISTS (SELECT 1 FROM json_each(u.roles) WHERE value = 'admin')",
            [id],
            |row| row.get(0),
        )
        .db()?;
    Ok(others > 0)
}

/// See `UserStore::update_user`; the writer runs one transaction at a
/// time, so neither the address check nor the admin count can race.
pub(crate) fn update(conn: &Connection, id: &str, patch: &UserPatch) -> StorageResult<Option<User>> {
    let Some(mut user) = by_id(conn, id)? else { return Ok(None) };
    if patch.is_empty() {
        return Ok(Some(user));
    }
    let old_username = user.username.clone();
    if rules::apply_user_patch(&mut user, patch, Timestamp::now()) && !another_active_admin(conn, id)? {
        return Err(StorageError::Invalid("last_active_admin"));
    }
    if user.username != old_username {
        let holder: Option<String> = conn
            .cached_row("SELECT id FROM users WHERE username_lower = ?1", [&fold(&user.username)], |row| {
                row.get(0)
            })
            .optional()
            .db()?;
        if holder.is_some_and(|holder| holder != id) {
            return Err(StorageError::Conflict("username"));
        }
        let rename = Rename { user_id: id.to_owned(), old: old_username, new: user.username.clone() };
        crate::rename::rewrite_documents(conn, &rename)?;
    }
    if let Some(email) = &patch.email {
        let address = fold(&email.address);
        let owner: Option<String> = conn
            .cached_row("SELECT user_id FROM user_emails WHERE address_lower = ?1", [&address], |row| {
                row.get(0)
            })
            .optional()
            .db()?;
        if owner.as_deref().is_some_and(|owner| owner != id) {
            return Err(StorageError::Conflict("email"));
        }
        conn.cached_execute("DELETE FROM user_emails WHERE user_id = ?1", [id]).db()?;
        conn.cached_execute(
            "INSERT INTO user_emails (address_lower, user_id) VALUES (?1, ?2)",
            params![address, id],
        )
        .db()?;
    }
    conn.cached_execute(
        "UPDATE users SET name = ?2, emails = ?3, password_hash = ?4, roles = ?5, active = ?6, \
                          status = ?7, status_text = ?8, updated_at = ?9, username = ?10, \
                          username_lower = ?11, status_default = ?12 WHERE id = ?1",
        params![
            id,
            user.name,
            to_json(&user.emails)?,
            user.password_hash,
            to_json(&user.roles)?,
            user.active,
            user.status,
            user.status_text,
            user.updated_at.millis(),
            user.username,
            fold(&user.username),
            user.status_default,
        ],
    )
    .db()?;
    if patch.active == Some(false) {
        conn.cached_execute("DELETE FROM login_tokens WHERE user_id = ?1", [id]).db()?;
    }
    Ok(Some(user))
}

pub(crate) fn preferences(conn: &Connection, id: &str) -> StorageResult<Option<Map<String, Value>>> {
    let stored: Option<String> = conn
        .cached_row("SELECT preferences FROM users WHERE id = ?1", [id], |row| row.get(0))
        .optional()
        .db()?;
    stored
        .map(|text| {
            serde_json::from_str(&text)
                .map_err(|e| StorageError::Backend(format!("preferences of {id}: {e}")))
        })
        .transpose()
}

pub(crate) fn merge_preferences(
    conn: &Connection,
    id: &str,
    changes: &Map<String, Value>,
) -> StorageResult<Option<Map<String, Value>>> {
    let Some(mut stored) = preferences(conn, id)? else { return Ok(None) };
    rules::merge_preferences(&mut stored, changes);
    conn.cached_execute("UPDATE users SET preferences = ?2 WHERE id = ?1", params![id, to_json(&stored)?])
        .db()?;
    Ok(Some(stored))
}

pub(crate) fn insert_login_token(
    conn: &Connection,
    user_id: &str,
    token_hash: &str,
    created_at: Timestamp,
) -> StorageResult<()> {
    if !exists(conn, "SELECT 1 FROM users WHERE id = ?1", [user_id])? {
        return Err(StorageError::NotFound("user"));
    }
    conn.cached_execute(
        "INSERT INTO login_tokens (user_id, token_hash, created_at) VALUES (?1, ?2, ?3)",
        params![user_id, token_hash, created_at.millis()],
    )
    .db()?;
    conn.cached_execute(
        "UPDATE users SET last_login = ?2 WHERE id = ?1",
        params![user_id, created_at.millis()],
    )
    .db()?;
    Ok(())
}

pub(crate) fn by_login_token(
    conn: &Connection,
    user_id: &str,
    token_hash: &str,
) -> StorageResult<Option<User>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM login_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.user_id = ?1 AND t.token_hash = ?2"
    );
    conn.cached_row(&sql, params![user_id, token_hash], from_row).optional().db()
}

pub(crate) fn by_token_hash(conn: &Connection, token_hash: &str) -> StorageResult<Option<User>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM login_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1"
    );
    conn.cached_row(&sql, params![token_hash], from_row).optional().db()
}

pub(crate) fn delete_login_token(conn: &Connection, user_id: &str, token_hash: &str) -> StorageResult<bool> {
    let removed = conn
        .cached_execute(
            "DELETE FROM login_tokens WHERE user_id = ?1 AND token_hash = ?2",
            params![user_id, token_hash],
        )
        .db()?;
    Ok(removed > 0)
}
