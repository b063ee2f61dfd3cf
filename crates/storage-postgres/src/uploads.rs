//! Records of uploaded files (their bytes are in the blob store).

use crate::db::{get, Conn};
use threadsync_domain::upload::type_group;
use threadsync_domain::{Timestamp, Upload};
use threadsync_storage::{Avatar, Page, StorageResult, UploadListQuery, UploadSelection};
use tokio_postgres::Row;

const COLUMNS: &str = "id, rid, user_id, name, size, content_type, description, uploaded_at, updated_at, \
                       message_id, expires_at";

fn upload_of(row: &Row) -> StorageResult<Upload> {
    Ok(Upload {
        id: get(row, 0)?,
        rid: get(row, 1)?,
        user_id: get(row, 2)?,
        name: get(row, 3)?,
        size: get(row, 4)?,
        content_type: get(row, 5)?,
        description: get(row, 6)?,
        uploaded_at: Timestamp(get(row, 7)?),
        updated_at: Timestamp(get(row, 8)?),
        message_id: get(row, 9)?,
        expires_at: get::<Option<i64>>(row, 10)?.map(Timestamp),
    })
}

fn uploads_of(rows: &[Row]) -> StorageResult<Vec<Upload>> {
    rows.iter().map(upload_of).collect()
}

pub(crate) async fn insert(c: &dyn Conn, u: &Upload) -> StorageResult<()> {
    c.exec(
        "INSERT INTO uploads (id, rid, user_id, name, size, content_type, type_group, description, \
         uploaded_at, updated_at, message_id, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &u.id,
            &u.rid,
            &u.user_id,
            &u.name,
            &u.size,
            &u.content_type,
            &type_group(&u.content_type),
            &u.description,
            &u.uploaded_at.millis(),
            &u.updated_at.millis(),
            &u.message_id,
            &u.expires_at.map(Timestamp::millis),
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn by_id(c: &dyn Conn, id: &str) -> StorageResult<Option<Upload>> {
    c.opt(&format!("SELECT {COLUMNS} FROM uploads WHERE id = $1"), &[&id])
        .await?
        .map(|row| upload_of(&row))
        .transpose()
}

pub(crate) async fn attach(
    c: &dyn Conn,
    id: &str,
    message_id: &str,
    description: Option<&str>,
    now: Timestamp,
) -> StorageResult<bool> {
    let changed = c
        .exec(
            "UPDATE uploads SET message_id = $2, description = $3, expires_at = NULL, updated_at = $4 \
             WHERE id = $1 AND message_id IS NULL",
            &[&id, &message_id, &description, &now.millis()],
        )
        .await?;
    Ok(changed == 1)
}

pub(crate) async fn of_room(c: &dyn Conn, q: &UploadListQuery) -> StorageResult<Page<Upload>> {
    // `strpos` rather than LIKE: the name is text to find, not a pattern.
    let filter = "rid = $1 AND message_id IS NOT NULL \
                  AND ($2::text IS NULL OR strpos(lower(name), lower($2::text)) > 0) \
                  AND ($3::text IS NULL OR type_group = $3::text)";
    let total: i64 = get(
        &c.one(&format!("SELECT count(*) FROM uploads WHERE {filter}"), &[&q.rid, &q.name, &q.type_group])
            .await?,
        0,
    )?;
    let limit = i64::try_from(q.count).unwrap_or(i64::MAX);
    let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
    let rows = c
        .rows(
            &format!(
                "SELECT {COLUMNS} FROM uploads WHERE {filter} ORDER BY uploaded_at DESC, id DESC LIMIT $4 OFFSET $5"
            ),
            &[&q.rid, &q.name, &q.type_group, &limit, &offset],
        )
        .await?;
    Ok(Page { items: uploads_of(&rows)?, total: u64::try_from(total).unwrap_or(0) })
}

pub(crate) async fn delete(c: &dyn Conn, which: UploadSelection<'_>) -> StorageResult<Vec<Upload>> {
    let rows = match which {
        UploadSelection::Ids(ids) => {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            c.rows(&format!("DELETE FROM uploads WHERE id = ANY($1) RETURNING {COLUMNS}"), &[&ids]).await?
        }
        UploadSelection::Room(rid) => {
            c.rows(&format!("DELETE FROM uploads WHERE rid = $1 RETURNING {COLUMNS}"), &[&rid]).await?
        }
        UploadSelection::Expired { now, limit } => {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            c.rows(
                &format!(
                    "DELETE FROM uploads WHERE id IN (SELECT id FROM uploads WHERE expires_at < $1 \
                     ORDER BY expires_at LIMIT $2) RETURNING {COLUMNS}"
                ),
                &[&now.millis(), &limit],
            )
            .await?
        }
    };
    uploads_of(&rows)
}

fn avatar_of_row(row: &Row) -> StorageResult<Avatar> {
    Ok(Avatar {
        user_id: get(row, 0)?,
        key: get(row, 1)?,
        content_type: get(row, 2)?,
        updated_at: Timestamp(get(row, 3)?),
    })
}

pub(crate) async fn avatar(c: &dyn Conn, user_id: &str) -> StorageResult<Option<Avatar>> {
    c.opt("SELECT user_id, key, content_type, updated_at FROM avatars WHERE user_id = $1", &[&user_id])
        .await?
        .map(|row| avatar_of_row(&row))
        .transpose()
}

pub(crate) async fn set_avatar(c: &dyn Conn, a: &Avatar) -> StorageResult<Option<Avatar>> {
    // The row lock of `FOR UPDATE` orders concurrent replacements, so each
    // returns the picture it really replaced (whose bytes it then removes).
    let old = c
        .opt(
            "SELECT user_id, key, content_type, updated_at FROM avatars WHERE user_id = $1 FOR UPDATE",
            &[&a.user_id],
        )
        .await?
        .map(|row| avatar_of_row(&row))
        .transpose()?;
    c.exec(
        "INSERT INTO avatars (user_id, key, content_type, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET key = EXCLUDED.key, content_type = EXCLUDED.content_type, \
         updated_at = EXCLUDED.updated_at",
        &[&a.user_id, &a.key, &a.content_type, &a.updated_at.millis()],
    )
    .await?;
    Ok(old)
}

pub(crate) async fn remove_avatar(c: &dyn Conn, user_id: &str) -> StorageResult<Option<Avatar>> {
    c.opt(
        "DELETE FROM avatars WHERE user_id = $1 RETURNING user_id, key, content_type, updated_at",
        &[&user_id],
    )
    .await?
    .map(|row| avatar_of_row(&row))
    .transpose()
}
