//! Users, their email addresses and login tokens.
//!
//! `User` has no serde form of its own (it must never be serialised by
//! accident, it holds the password hash), so users are stored as columns.

use crate::db::{self, count, get, sql_int, to_json, Conn};
use crate::rooms;
use serde_json::{Map, Value};
use std::collections::HashSet;
use threadsync_domain::{Email, Subscription, Timestamp, User};
use threadsync_storage::rename::Rename;
use threadsync_storage::{
    rules, Page, RoleFilter, StorageError, StorageResult, UserListQuery, UserPatch, UserSortField,
};
use tokio_postgres::Row;

/// The columns [`from_row`] expects, in order; `u.` so joins can use it.
pub(crate) const COLUMNS: &str = "u.id, u.username, u.name, u.emails, u.password_hash, u.roles, \
     u.active, u.status, u.utc_offset, u.kind, u.created_at, u.updated_at, u.status_text, u.last_login, \
     u.status_default, u.status_connection";

pub(crate) fn from_row(row: &Row) -> StorageResult<User> {
    let emails: Vec<Email> = db::doc(row, 3)?;
    let roles: Vec<String> = db::doc(row, 5)?;
    Ok(User {
        id: get(row, 0)?,
        username: get(row, 1)?,
        name: get(row, 2)?,
        emails,
        password_hash: get(row, 4)?,
        roles,
        active: get(row, 6)?,
        status: get(row, 7)?,
        utc_offset: get(row, 8)?,
        kind: get(row, 9)?,
        created_at: Timestamp(get(row, 10)?),
        updated_at: Timestamp(get(row, 11)?),
        status_text: get(row, 12)?,
        last_login: get::<Option<i64>>(row, 13)?.map(Timestamp),
        status_default: get(row, 14)?,
        status_connection: get(row, 15)?,
    })
}

/// Case folding for the case-insensitive rules. Done in Rust, exactly as the
/// SQLite backend does, so every backend folds alike.
pub(crate) fn fold(s: &str) -> String {
    s.to_lowercase()
}

pub(crate) async fn count_users(c: &dyn Conn) -> StorageResult<u64> {
    let row = c.one("SELECT count(*) FROM users", &[]).await?;
    Ok(count(get(&row, 0)?))
}

/// Inserts the user and the subscriptions `joins` (rooms locked in id
/// order, so concurrent multi-room writers cannot deadlock each other).
pub(crate) async fn insert(c: &dyn Conn, user: &User, joins: &[Subscription]) -> StorageResult<()> {
    // Explicit checks give each rule its own error; a concurrent insert that
    // passes them too loses on the constraint instead (db.rs maps it).
    if c.exists("SELECT 1 FROM users WHERE id = $1", &[&user.id]).await? {
        return Err(StorageError::Conflict("id"));
    }
    let username_lower = fold(&user.username);
    if c.exists("SELECT 1 FROM users WHERE username_lower = $1", &[&username_lower]).await? {
        return Err(StorageError::Conflict("username"));
    }
    let mut addresses = Vec::new();
    let mut seen = HashSet::new();
    for email in &user.emails {
        let address = fold(&email.address);
        if c.exists("SELECT 1 FROM user_emails WHERE address_lower = $1", &[&address]).await?
            || !seen.insert(address.clone())
        {
            return Err(StorageError::Conflict("email"));
        }
        addresses.push(address);
    }
    let emails = to_json(&user.emails)?;
    let roles = to_json(&user.roles)?;
    c.exec(
        "INSERT INTO users (id, username, username_lower, name, emails, password_hash, roles, \
                            active, status, utc_offset, kind, created_at, updated_at, status_text, \
                            status_default, status_connection) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        &[
            &user.id,
            &user.username,
            &username_lower,
            &user.name,
            &emails,
            &user.password_hash,
            &roles,
            &user.active,
            &user.status,
            &user.utc_offset,
            &user.kind,
            &user.created_at.millis(),
            &user.updated_at.millis(),
            &user.status_text,
            &user.status_default,
            &user.status_connection,
        ],
    )
    .await?;
    for address in &addresses {
        c.exec("INSERT INTO user_emails (address_lower, user_id) VALUES ($1, $2)", &[address, &user.id])
            .await?;
    }
    let mut joins: Vec<&Subscription> = joins.iter().collect();
    joins.sort_by(|a, b| a.rid.cmp(&b.rid));
    for sub in joins {
        rooms::add_subscription(c, sub).await?;
    }
    Ok(())
}

async fn one(c: &dyn Conn, filter: &str, value: &str) -> StorageResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE {filter}");
    c.opt(&sql, &[&value]).await?.as_ref().map(from_row).transpose()
}

pub(crate) async fn by_id(c: &dyn Conn, id: &str) -> StorageResult<Option<User>> {
    one(c, "u.id = $1", id).await
}

pub(crate) async fn by_username(c: &dyn Conn, username: &str) -> StorageResult<Option<User>> {
    one(c, "u.username_lower = $1", &fold(username)).await
}

pub(crate) async fn by_email(c: &dyn Conn, email: &str) -> StorageResult<Option<User>> {
    one(c, "u.id = (SELECT user_id FROM user_emails WHERE address_lower = $1)", &fold(email)).await
}

pub(crate) async fn by_usernames(c: &dyn Conn, usernames: &[String]) -> StorageResult<Vec<User>> {
    let folded: Vec<String> = usernames.iter().map(|u| fold(u)).collect();
    let sql =
        format!("SELECT {COLUMNS} FROM users u WHERE u.username_lower = ANY($1) ORDER BY u.username_lower");
    c.rows(&sql, &[&folded]).await?.iter().map(from_row).collect()
}

pub(crate) async fn with_extra_roles(c: &dyn Conn, limit: u64) -> StorageResult<Vec<User>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users u \
         WHERE EXISTS (SELECT 1 FROM jsonb_array_elements_text(u.roles) r WHERE r <> 'user') \
         ORDER BY u.username_lower LIMIT $1"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    c.rows(&sql, &[&limit]).await?.iter().map(from_row).collect()
}

pub(crate) async fn delete(c: &dyn Conn, id: &str) -> StorageResult<bool> {
    // Lock the user's row first: a concurrent delete of the same user waits
    // here and then finds nobody.
    if !c.exists("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&id]).await? {
        return Ok(false);
    }
    // Subscriptions carry no foreign key to users; remove them one by one so
    // each room's `usersCount` follows (rooms locked in id order).
    let rids: Vec<String> = c
        .rows("SELECT rid FROM subscriptions WHERE user_id = $1 ORDER BY rid", &[&id])
        .await?
        .iter()
        .map(|row| get(row, 0))
        .collect::<StorageResult<_>>()?;
    for rid in rids {
        rooms::remove_subscription(c, &rid, id, false).await?;
    }
    c.exec("DELETE FROM login_tokens WHERE user_id = $1", &[&id]).await?;
    c.exec("DELETE FROM user_emails WHERE user_id = $1", &[&id]).await?;
    c.exec("DELETE FROM users WHERE id = $1", &[&id]).await?;
    Ok(true)
}

/// See `UserStore::list_users`. The order is built from the enum, never
/// from request text; text sorts by bytes (`COLLATE "C"`), as on SQLite.
pub(crate) async fn list(c: &dyn Conn, query: &UserListQuery) -> StorageResult<Page<User>> {
    let column = match query.sort {
        UserSortField::Username => "u.username COLLATE \"C\"",
        UserSortField::Name => "u.name COLLATE \"C\"",
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
    let filter = "($1 = '' OR u.id IN (SELECT user_id FROM user_emails WHERE address_lower = $1)) \
        AND ($2 = '' OR u.roles @> jsonb_build_array($2::text)) \
        AND ($3 = '' OR EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = u.id \
             AND ($4 = '' OR s.rid = $4) \
             AND coalesce(s.doc->'roles', '[]'::jsonb) @> jsonb_build_array($3::text))) \
        AND ($5 = '' OR strpos(u.username_lower, $5) > 0 OR strpos(lower(u.name), $5) > 0) \
        AND (NOT $6 OR u.status <> 'offline') \
        AND ($7::bigint IS NULL OR u.updated_at >= $7) \
        AND ($8 = '' OR u.id <> $8)";
    let text = query.text.as_deref().map(fold).unwrap_or_default();
    let since = query.updated_since.map(|t| t.millis());
    let except = query.except_id.as_deref().unwrap_or_default();
    let items = c
        .rows(
            &format!(
                "SELECT {COLUMNS} FROM users u WHERE {filter} \
                 ORDER BY {column} {dir}, u.id {dir} LIMIT $9 OFFSET $10"
            ),
            &[
                &email,
                &global_role,
                &room_role,
                &rid,
                &text,
                &query.present_only,
                &since,
                &except,
                &sql_int(query.count),
                &sql_int(query.offset),
            ],
        )
        .await?
        .iter()
        .map(from_row)
        .collect::<StorageResult<Vec<_>>>()?;
    let row = c
        .one(
            &format!("SELECT count(*) FROM users u WHERE {filter}"),
            &[&email, &global_role, &room_role, &rid, &text, &query.present_only, &since, &except],
        )
        .await?;
    Ok(Page { items, total: count(get(&row, 0)?) })
}

/// See `UserStore::set_user_active`. A deactivation first locks every
/// active admin's row, in id order, and only then the user's: two
/// transactions deactivating two admins run one after the other (the second
/// counts what the first left) and always take their locks in the same
/// order, so they cannot deadlock.
pub(crate) async fn set_active(c: &dyn Conn, id: &str, active: bool) -> StorageResult<Option<User>> {
    let admins = if active { Vec::new() } else { lock_active_admins(c).await? };
    if !c.exists("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&id]).await? {
        return Ok(None);
    }
    let Some(user) = by_id(c, id).await? else { return Ok(None) };
    if user.active == active {
        return Ok(Some(user));
    }
    if !active && user.is_admin() && admins.iter().all(|a| a == id) {
        return Err(StorageError::Invalid("last_active_admin"));
    }
    let stamp = rules::user_stamp(&user, Timestamp::now());
    c.exec("UPDATE users SET active = $2, updated_at = $3 WHERE id = $1", &[&id, &active, &stamp.millis()])
        .await?;
    if !active {
        c.exec("DELETE FROM login_tokens WHERE user_id = $1", &[&id]).await?;
    }
    by_id(c, id).await
}

/// The active admins, locked in id order (every writer that can take an
/// admin away locks them in this order before the user it changes, so two
/// admins demoting each other at once cannot both pass the check, nor
/// deadlock).
async fn lock_active_admins(c: &dyn Conn) -> StorageResult<Vec<String>> {
    c.rows("SELECT id FROM users WHERE active AND roles @> '[\"admin\"]'::jsonb ORDER BY id FOR UPDATE", &[])
        .await?
        .iter()
        .map(|row| get(row, 0))
        .collect()
}

/// See `UserStore::update_user`.
pub(crate) async fn update(c: &dyn Conn, id: &str, patch: &UserPatch) -> StorageResult<Option<User>> {
    let takes_admin = patch.active == Some(false) || patch.roles.is_some() || patch.role.is_some();
    let admins = if takes_admin { lock_active_admins(c).await? } else { Vec::new() };
    if !c.exists("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&id]).await? {
        return Ok(None);
    }
    let Some(mut user) = by_id(c, id).await? else { return Ok(None) };
    if patch.is_empty() {
        return Ok(Some(user));
    }
    let old_username = user.username.clone();
    if rules::apply_user_patch(&mut user, patch, Timestamp::now()) && admins.iter().all(|a| a == id) {
        return Err(StorageError::Invalid("last_active_admin"));
    }
    if user.username != old_username {
        // The name is claimed first: the unique index refuses one another
        // user holds (`Conflict("username")`) before any document is read.
        c.exec(
            "UPDATE users SET username = $2, username_lower = $3 WHERE id = $1",
            &[&id, &user.username, &fold(&user.username)],
        )
        .await?;
        let rename = Rename { user_id: id.to_owned(), old: old_username, new: user.username.clone() };
        crate::rename::rewrite_documents(c, &rename).await?;
    }
    if let Some(email) = &patch.email {
        let address = fold(&email.address);
        c.exec("DELETE FROM user_emails WHERE user_id = $1", &[&id]).await?;
        // The address's primary key refuses one another user holds
        // (`Conflict("email")`), also against a concurrent writer.
        c.exec("INSERT INTO user_emails (address_lower, user_id) VALUES ($1, $2)", &[&address, &id]).await?;
    }
    c.exec(
        "UPDATE users SET name = $2, emails = $3, password_hash = $4, roles = $5, active = $6, \
                          status = $7, status_text = $8, updated_at = $9, status_default = $10 WHERE id = $1",
        &[
            &id,
            &user.name,
            &to_json(&user.emails)?,
            &user.password_hash,
            &to_json(&user.roles)?,
            &user.active,
            &user.status,
            &user.status_text,
            &user.updated_at.millis(),
            &user.status_default,
        ],
    )
    .await?;
    if patch.active == Some(false) {
        c.exec("DELETE FROM login_tokens WHERE user_id = $1", &[&id]).await?;
    }
    Ok(Some(user))
}

pub(crate) async fn preferences(c: &dyn Conn, id: &str) -> StorageResult<Option<Map<String, Value>>> {
    c.opt("SELECT preferences FROM users WHERE id = $1", &[&id])
        .await?
        .as_ref()
        .map(|row| db::doc(row, 0))
        .transpose()
}

/// See `UserStore::merge_user_preferences`: the row is locked, so two
/// concurrent merges apply one after the other.
pub(crate) async fn merge_preferences(
    c: &dyn Conn,
    id: &str,
    changes: &Map<String, Value>,
) -> StorageResult<Option<Map<String, Value>>> {
    let Some(row) = c.opt("SELECT preferences FROM users WHERE id = $1 FOR UPDATE", &[&id]).await? else {
        return Ok(None);
    };
    let mut stored: Map<String, Value> = db::doc(&row, 0)?;
    rules::merge_preferences(&mut stored, changes);
    c.exec("UPDATE users SET preferences = $2 WHERE id = $1", &[&id, &to_json(&stored)?]).await?;
    Ok(Some(stored))
}

pub(crate) async fn insert_login_token(
    c: &dyn Conn,
    user_id: &str,
    token_hash: &str,
    created_at: Timestamp,
) -> StorageResult<()> {
    if !c.exists("SELECT 1 FROM users WHERE id = $1", &[&user_id]).await? {
        return Err(StorageError::NotFound("user"));
    }
    c.exec(
        "INSERT INTO login_tokens (user_id, token_hash, created_at) VALUES ($1, $2, $3)",
        &[&user_id, &token_hash, &created_at.millis()],
    )
    .await?;
    c.exec("UPDATE users SET last_login = $2 WHERE id = $1", &[&user_id, &created_at.millis()]).await?;
    Ok(())
}

pub(crate) async fn by_login_token(
    c: &dyn Conn,
    user_id: &str,
    token_hash: &str,
) -> StorageResult<Option<User>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM login_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.user_id = $1 AND t.token_hash = $2"
    );
    c.opt(&sql, &[&user_id, &token_hash]).await?.as_ref().map(from_row).transpose()
}

pub(crate) async fn by_token_hash(c: &dyn Conn, token_hash: &str) -> StorageResult<Option<User>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM login_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 LIMIT 1"
    );
    c.opt(&sql, &[&token_hash]).await?.as_ref().map(from_row).transpose()
}

pub(crate) async fn delete_login_token(c: &dyn Conn, user_id: &str, token_hash: &str) -> StorageResult<bool> {
    let removed = c
        .exec("DELETE FROM login_tokens WHERE user_id = $1 AND token_hash = $2", &[&user_id, &token_hash])
        .await?;
    Ok(removed > 0)
}
