//! Records of uploaded files (their bytes are in the blob store).

use crate::db::{count, sql_int, Cached, Db};
use rusqlite::{params, Connection, OptionalExtension, Row};
use threadsync_domain::upload::type_group;
use threadsync_domain::{Timestamp, Upload};
use threadsync_storage::{Avatar, Page, StorageResult, UploadListQuery, UploadSelection};

const COLUMNS: &str = "id, rid, user_id, name, size, content_type, description, uploaded_at, updated_at, \
                       message_id, expires_at";

fn upload_of(row: &Row) -> rusqlite::Result<Upload> {
    Ok(Upload {
        id: row.get(0)?,
        rid: row.get(1)?,
        user_id: row.get(2)?,
        name: row.get(3)?,
        size: row.get(4)?,
        content_type: row.get(5)?,
        description: row.get(6)?,
        uploaded_at: Timestamp(row.get(7)?),
        updated_at: Timestamp(row.get(8)?),
        message_id: row.get(9)?,
        expires_at: row.get::<_, Option<i64>>(10)?.map(Timestamp),
    })
}

pub(crate) fn insert(conn: &Connection, u: &Upload) -> StorageResult<()> {
    conn.cached_execute(
        "INSERT INTO uploads (id, rid, user_id, name, size, content_type, type_group, description, \
         uploaded_at, updated_at, message_id, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            u.id,
            u.rid,
            u.user_id,
            u.name,
            u.size,
            u.content_type,
            type_group(&u.content_type),
            u.description,
            u.uploaded_at.millis(),
            u.updated_at.millis(),
            u.message_id,
            u.expires_at.map(Timestamp::millis),
        ],
    )
    .db()?;
    Ok(())
}

pub(crate) fn by_id(conn: &Connection, id: &str) -> StorageResult<Option<Upload>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM uploads WHERE id = ?1"))
        .db()?
        .query_row([id], upload_of)
        .optional()
        .db()
}

pub(crate) fn attach(
    conn: &Connection,
    id: &str,
    message_id: &str,
    description: Option<&str>,
    now: Timestamp,
) -> StorageResult<bool> {
    let changed = conn
        .cached_execute(
            "UPDATE uploads SET message_id = ?2, description = ?3, expires_at = NULL, updated_at = ?4 \
             WHERE id = ?1 AND message_id IS NULL",
            params![id, message_id, description, now.millis()],
        )
        .db()?;
    Ok(changed == 1)
}

pub(crate) fn of_room(conn: &Connection, q: &UploadListQuery) -> StorageResult<Page<Upload>> {
    // `instr` rather than LIKE: the name is text to find, not a pattern.
    let filter = "rid = ?1 AND message_id IS NOT NULL \
                  AND (?2 IS NULL OR instr(lower(name), lower(?2)) > 0) \
                  AND (?3 IS NULL OR type_group = ?3)";
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM uploads WHERE {filter}"))
        .db()?
        .query_row(params![q.rid, q.name, q.type_group], |row| row.get(0))
        .db()?;
    let items = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM uploads WHERE {filter} ORDER BY uploaded_at DESC, id DESC LIMIT ?4 OFFSET ?5"
        ))
        .db()?
        .query_map(params![q.rid, q.name, q.type_group, sql_int(q.count), sql_int(q.offset)], upload_of)
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    Ok(Page { items, total: count(total) })
}

pub(crate) fn delete(conn: &Connection, which: UploadSelection<'_>) -> StorageResult<Vec<Upload>> {
    let chosen: Vec<Upload> = match which {
        UploadSelection::Ids(ids) => {
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                found.extend(by_id(conn, id)?);
            }
            found
        }
        UploadSelection::Room(rid) => conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM uploads WHERE rid = ?1"))
            .db()?
            .query_map([rid], upload_of)
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?,
        UploadSelection::Expired { now, limit } => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM uploads WHERE expires_at IS NOT NULL AND expires_at < ?1 \
                 ORDER BY expires_at LIMIT ?2"
            ))
            .db()?
            .query_map(params![now.millis(), sql_int(limit)], upload_of)
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?,
    };
    for upload in &chosen {
        conn.cached_execute("DELETE FROM uploads WHERE id = ?1", [&upload.id]).db()?;
    }
    Ok(chosen)
}

fn avatar_of_row(row: &Row) -> rusqlite::Result<Avatar> {
    Ok(Avatar {
        user_id: row.get(0)?,
        key: row.get(1)?,
        content_type: row.get(2)?,
        updated_at: Timestamp(row.get(3)?),
    })
}

pub(crate) fn avatar(conn: &Connection, user_id: &str) -> StorageResult<Option<Avatar>> {
    conn.prepare_cached("SELECT user_id, key, content_type, updated_at FROM avatars WHERE user_id = ?1")
        .db()?
        .query_row([user_id], avatar_of_row)
        .optional()
        .db()
}

pub(crate) fn set_avatar(conn: &Connection, a: &Avatar) -> StorageResult<Option<Avatar>> {
    let old = avatar(conn, &a.user_id)?;
    conn.cached_execute(
        "INSERT INTO avatars (user_id, key, content_type, updated_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (user_id) DO UPDATE SET key = excluded.key, content_type = excluded.content_type, \
         updated_at = excluded.updated_at",
        params![a.user_id, a.key, a.content_type, a.updated_at.millis()],
    )
    .db()?;
    Ok(old)
}

pub(crate) fn remove_avatar(conn: &Connection, user_id: &str) -> StorageResult<Option<Avatar>> {
    let old = avatar(conn, user_id)?;
    conn.cached_execute("DELETE FROM avatars WHERE user_id = ?1", [user_id]).db()?;
    Ok(old)
}
