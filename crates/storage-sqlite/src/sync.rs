//! Read paths of threads and sync (`SyncStore`).
//!
//! Every function runs inside one read transaction (pool.rs), so a page is
//! one snapshot. Each query names its index in a comment; the unit test
//! `tests::every_sync_query_uses_an_index` (below) checks with `EXPLAIN
//! QUERY PLAN` that none of them scans a table or sorts.

use crate::db::{count, from_json, sql_int, Cached, Db};
use crate::query;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::query::Filter;
use threadsync_domain::{Message, StoredMessage, Timestamp, Tombstone};
use threadsync_storage::{
    ChangeScope, Changes, Cursor, Page, StorageError, StorageResult, ThreadKind, ThreadListQuery,
};

const HORIZON_KEY: &str = "tombstone_horizon";

/// The two halves of a change feed for a scope: which messages and which
/// tombstones belong to it (`?1` is the thread or room id).
fn scope_filters(scope: ChangeScope<'_>) -> (&'static str, &'static str, &str) {
    match scope {
        // messages_tmid_updated, tombstones_tmid_deleted
        ChangeScope::Thread(tmid) => ("tmid = ?1", "tmid = ?1", tmid),
        // messages_threads_updated (partial), tombstones_threads_deleted (partial)
        ChangeScope::ThreadParents(rid) => {
            ("rid = ?1 AND tcount IS NOT NULL", "rid = ?1 AND was_thread = 1", rid)
        }
        // messages_rid_updated, tombstones_rid_deleted
        ChangeScope::Room(rid) => ("rid = ?1", "rid = ?1", rid),
    }
}

/// The feed statement; its parameters are `?1` the scope key, `?2` the
/// stamp, `?3` the row limit, `?4` the offset, then the filter's.
fn changes_sql(scope: ChangeScope<'_>, filter: &Filter, args: &mut Vec<SqlValue>) -> String {
    let (messages, tombstones, _) = scope_filters(scope);
    let query = query::compile(filter, args);
    format!(
        "SELECT updated_at AS stamp, doc, NULL, NULL, NULL FROM messages \
             WHERE {messages} AND updated_at > ?2 AND {query} \
         UNION ALL \
         SELECT deleted_at AS stamp, NULL, id, rid, tmid FROM tombstones \
             WHERE {tombstones} AND deleted_at > ?2 \
         ORDER BY stamp LIMIT ?3 OFFSET ?4"
    )
}

/// One merged, stamp-ordered feed of updates and removals. SQLite merges the
/// two index-ordered halves of the `UNION ALL` (no sort step, no temporary
/// table), so skipping `offset` and taking `limit + 1` rows costs what those
/// rows cost, whatever the size of the thread or room.
pub(crate) fn changes_since(
    conn: &Connection,
    scope: ChangeScope<'_>,
    since: Timestamp,
    filter: &Filter,
    offset: u64,
    limit: u64,
) -> StorageResult<Changes<StoredMessage>> {
    let (_, _, key) = scope_filters(scope);
    // One row more than asked tells whether the feed goes on.
    let mut args = vec![
        SqlValue::Text(key.to_owned()),
        SqlValue::Integer(since.millis()),
        SqlValue::Integer(sql_int(limit.saturating_add(1))),
        SqlValue::Integer(sql_int(offset)),
    ];
    let sql = changes_sql(scope, filter, &mut args);
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt.query(params_from_iter(args.iter())).db()?;
    let mut changes = Changes::default();
    let mut taken = 0u64;
    while let Some(row) = rows.next().db()? {
        if taken == limit {
            changes.more = true;
            break;
        }
        taken += 1;
        let stamp: i64 = row.get(0).db()?;
        match row.get::<_, Option<String>>(1).db()? {
            // Checked to be JSON, not decoded (see `StoredMessage`).
            Some(doc) => changes.updated.push(
                StoredMessage::from_text(Timestamp(stamp), doc).map_err(StorageError::corrupt_document)?,
            ),
            None => changes.removed.push(Tombstone {
                id: row.get(2).db()?,
                rid: row.get(3).db()?,
                tmid: row.get(4).db()?,
                deleted_at: Timestamp(stamp),
            }),
        }
    }
    Ok(changes)
}

/// The SQL expression of a sort field. Only these fixed strings ever reach
/// the ORDER BY clause.
fn sort_column(field: SortField) -> &'static str {
    match field {
        SortField::Id => "id",
        SortField::Ts => "ts",
        SortField::UpdatedAt => "updated_at",
        SortField::Tlm => "tlm",
        SortField::Tcount => "tcount",
        // ISO-8601 strings with a fixed format order as the times they name.
        SortField::EditedAt => "json_extract(doc, '$.editedAt')",
        SortField::Msg => "json_extract(doc, '$.msg')",
        SortField::Username => "json_extract(doc, '$.u.username')",
    }
}

/// `ORDER BY` for a sort, with `_id` appended as the final tie-breaker (in
/// the direction of the first key, so an index on `(x, ...)` can still
/// serve a single-key sort backwards or forwards).
fn order_by(sort: &Sort, default: (SortField, Direction)) -> String {
    let keys: Vec<(SortField, Direction)> = if sort.is_empty() { vec![default] } else { sort.0.clone() };
    let mut parts: Vec<String> = keys
        .iter()
        .map(|(f, d)| format!("{} {}", sort_column(*f), if *d == Direction::Asc { "ASC" } else { "DESC" }))
        .collect();
    if !keys.iter().any(|(f, _)| *f == SortField::Id) {
        let dir = if keys[0].1 == Direction::Asc { "ASC" } else { "DESC" };
        parts.push(format!("id {dir}"));
    }
    parts.join(", ")
}

fn docs(conn: &Connection, sql: &str, args: &[SqlValue]) -> StorageResult<Vec<Message>> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |row| row.get::<_, String>(0)).db()?;
    rows.map(|doc| from_json(&doc.db()?)).collect()
}

fn total(conn: &Connection, sql: &str, args: &[SqlValue]) -> StorageResult<u64> {
    let n: i64 =
        conn.prepare_cached(sql).db()?.query_row(params_from_iter(args.iter()), |row| row.get(0)).db()?;
    Ok(count(n))
}

/// The page and count statements of a thread's replies; `args` holds the
/// thread id and receives the filter's parameters.
fn thread_replies_sql(
    filter: &Filter,
    sort: &Sort,
    offset: u64,
    count: u64,
    args: &mut Vec<SqlValue>,
) -> (String, String) {
    let query = query::compile(filter, args);
    let order = order_by(sort, (SortField::Ts, Direction::Asc));
    let page = format!(
        "SELECT doc FROM messages WHERE tmid = ?1 AND {query} ORDER BY {order} LIMIT {} OFFSET {}",
        sql_int(count),
        sql_int(offset)
    );
    (page, format!("SELECT count(*) FROM messages WHERE tmid = ?1 AND {query}"))
}

/// Replies of a thread; `messages_tmid_ts` serves the default order.
pub(crate) fn thread_replies(
    conn: &Connection,
    tmid: &str,
    filter: &Filter,
    sort: &Sort,
    offset: u64,
    count: u64,
) -> StorageResult<Page<Message>> {
    let mut args = vec![SqlValue::Text(tmid.to_owned())];
    let (page_sql, count_sql) = thread_replies_sql(filter, sort, offset, count, &mut args);
    let items = docs(conn, &page_sql, &args)?;
    let total = total(conn, &count_sql, &args)?;
    Ok(Page { items, total })
}

/// Messages of a room; `messages_rid_ts` serves the default order.
pub(crate) fn room_messages(
    conn: &Connection,
    rid: &str,
    filter: &Filter,
    sort: &Sort,
    offset: u64,
    count: u64,
) -> StorageResult<Page<Message>> {
    let mut args = vec![SqlValue::Text(rid.to_owned())];
    let query = query::compile(filter, &mut args);
    let order = order_by(sort, (SortField::Ts, Direction::Asc));
    let page_sql = format!(
        "SELECT doc FROM messages WHERE rid = ?1 AND {query} ORDER BY {order} LIMIT {} OFFSET {}",
        sql_int(count),
        sql_int(offset)
    );
    let count_sql = format!("SELECT count(*) FROM messages WHERE rid = ?1 AND {query}");
    let items = docs(conn, &page_sql, &args)?;
    let total = total(conn, &count_sql, &args)?;
    Ok(Page { items, total })
}

/// Thread parents of a room; `messages_threads_tlm` (partial index on
/// parents) serves the default order.
pub(crate) fn thread_parents(conn: &Connection, query: &ThreadListQuery) -> StorageResult<Page<Message>> {
    let (sql, count_sql, args) = thread_parents_sql(query);
    let items = docs(conn, &sql, &args)?;
    let total = total(conn, &count_sql, &args)?;
    Ok(Page { items, total })
}

/// The page query, the count query and their arguments.
fn thread_parents_sql(query: &ThreadListQuery) -> (String, String, Vec<SqlValue>) {
    let mut filter = String::from("rid = ?1 AND tcount IS NOT NULL");
    let mut args = vec![SqlValue::Text(query.rid.clone())];
    match &query.kind {
        ThreadKind::All => {}
        ThreadKind::Following(user_id) => {
            args.push(SqlValue::Text(user_id.clone()));
            filter.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM json_each(messages.doc, '$.replies') WHERE value = ?{})",
                args.len()
            ));
        }
        ThreadKind::Among(ids) => {
            args.push(SqlValue::Text(serde_json::Value::from(ids.clone()).to_string()));
            filter.push_str(&format!(" AND id IN (SELECT value FROM json_each(?{}))", args.len()));
        }
    }
    if let Some(text) = query.text.as_deref().filter(|t| !t.is_empty()) {
        // A case-insensitive substring, Unicode-aware: the text, escaped, as
        // a regex for ts_regexp (SQLite's own lower() folds ASCII only).
        args.push(SqlValue::Text(format!("(?i){}", regex::escape(text))));
        filter.push_str(&format!(" AND ts_regexp(?{}, json_extract(doc, '$.msg'))", args.len()));
    }
    let compiled = query::compile(&query.filter, &mut args);
    filter.push_str(&format!(" AND {compiled}"));
    let order = order_by(&query.sort, (SortField::Tlm, Direction::Desc));
    let sql = format!(
        "SELECT doc FROM messages WHERE {filter} ORDER BY {order} LIMIT {} OFFSET {}",
        sql_int(query.count),
        sql_int(query.offset)
    );
    (sql, format!("SELECT count(*) FROM messages WHERE {filter}"), args)
}

fn cursor_sql(cursor: Cursor, column: &str) -> (String, i64) {
    match cursor {
        Cursor::After(t) => (format!("{column} > ?2 ORDER BY {column} ASC"), t.millis()),
        Cursor::Before(t) => (format!("{column} < ?2 ORDER BY {column} DESC"), t.millis()),
    }
}

/// Messages of a room around a cursor (`messages_rid_updated`).
pub(crate) fn room_updates(
    conn: &Connection,
    rid: &str,
    cursor: Cursor,
    n: u64,
) -> StorageResult<Vec<Message>> {
    let (clause, stamp) = cursor_sql(cursor, "updated_at");
    let sql = format!("SELECT doc FROM messages WHERE rid = ?1 AND {clause} LIMIT ?3");
    docs(
        conn,
        &sql,
        &[SqlValue::Text(rid.to_owned()), SqlValue::Integer(stamp), SqlValue::Integer(sql_int(n))],
    )
}

fn tombstone_rows(conn: &Connection, sql: &str, args: &[SqlValue]) -> StorageResult<Vec<Tombstone>> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), |row| {
            Ok(Tombstone {
                id: row.get(0)?,
                rid: row.get(1)?,
                tmid: row.get(2)?,
                deleted_at: Timestamp(row.get(3)?),
            })
        })
        .db()?;
    rows.map(|r| r.db()).collect()
}

/// Tombstones of a room around a cursor (`tombstones_rid_deleted`).
pub(crate) fn room_removals(
    conn: &Connection,
    rid: &str,
    cursor: Cursor,
    n: u64,
) -> StorageResult<Vec<Tombstone>> {
    let (clause, stamp) = cursor_sql(cursor, "deleted_at");
    let sql =
        format!("SELECT id, rid, tmid, deleted_at FROM tombstones WHERE rid = ?1 AND {clause} LIMIT ?3");
    tombstone_rows(
        conn,
        &sql,
        &[SqlValue::Text(rid.to_owned()), SqlValue::Integer(stamp), SqlValue::Integer(sql_int(n))],
    )
}

/// Tombstones of a room after a stamp, paged, with the total (`tombstones_rid_deleted`).
pub(crate) fn room_tombstones(
    conn: &Connection,
    rid: &str,
    since: Timestamp,
    offset: u64,
    n: u64,
) -> StorageResult<Page<Tombstone>> {
    let args = [SqlValue::Text(rid.to_owned()), SqlValue::Integer(since.millis())];
    let sql = format!(
        "SELECT id, rid, tmid, deleted_at FROM tombstones WHERE rid = ?1 AND deleted_at > ?2 \
         ORDER BY deleted_at LIMIT {} OFFSET {}",
        sql_int(n),
        sql_int(offset)
    );
    let items = tombstone_rows(conn, &sql, &args)?;
    let total = total(conn, "SELECT count(*) FROM tombstones WHERE rid = ?1 AND deleted_at > ?2", &args)?;
    Ok(Page { items, total })
}

/// Drops old tombstones and moves the horizon forward (never backward), in
/// one write transaction: a reader sees either the old tombstones or the
/// new horizon that makes the sync refuse, never neither.
pub(crate) fn prune_tombstones(conn: &Connection, before: Timestamp) -> StorageResult<u64> {
    let removed =
        conn.cached_execute("DELETE FROM tombstones WHERE deleted_at < ?1", [before.millis()]).db()?;
    conn.cached_execute("DELETE FROM subscription_tombstones WHERE deleted_at < ?1", [before.millis()])
        .db()?;
    let horizon = tombstone_horizon(conn)?.map_or(before, |h| h.max(before));
    conn.cached_execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![HORIZON_KEY, horizon.millis().to_string()],
    )
    .db()?;
    Ok(u64::try_from(removed).unwrap_or(0))
}

pub(crate) fn tombstone_horizon(conn: &Connection) -> StorageResult<Option<Timestamp>> {
    let value: Option<String> = conn
        .cached_row("SELECT value FROM meta WHERE key = ?1", [HORIZON_KEY], |row| row.get(0))
        .optional()
        .db()?;
    Ok(value.and_then(|v| v.parse::<i64>().ok()).map(Timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadsync_domain::query::{Cond, Literal, Pattern};
    use threadsync_storage::ThreadKind;

    fn schema() -> Connection {
        let mut conn = Connection::open_in_memory().expect("open");
        crate::migrations::apply(&mut conn).expect("migrate");
        query::register_functions(&conn).expect("functions");
        conn
    }

    fn plan(conn: &Connection, sql: &str) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("explain");
        let params = vec![SqlValue::Null; stmt.parameter_count()];
        let rows: Vec<String> = stmt
            .query_map(params_from_iter(params), |r| r.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        rows.join(" | ")
    }

    /// Asserts the plan uses each index and never scans a table or sorts.
    #[track_caller]
    fn assert_indexed(conn: &Connection, sql: &str, indexes: &[&str]) {
        let p = plan(conn, sql);
        for index in indexes {
            assert!(p.contains(index), "{sql}\n  should use {index}; plan: {p}");
        }
        assert!(!p.contains("TEMP B-TREE"), "{sql}\n  should not sort; plan: {p}");
        // `SCAN json_each VIRTUAL TABLE` walks one row's JSON array, not a table.
        for part in p.split(" | ") {
            let table_scan =
                part.starts_with("SCAN") && !part.contains("USING") && !part.contains("VIRTUAL TABLE");
            assert!(!table_scan, "{sql}\n  full scan; plan: {p}");
        }
    }

    /// The exact statements the sync paths run are served by indexes: their
    /// cost follows the delta or the page, not the thread, room or table.
    #[test]
    fn every_sync_query_uses_an_index() {
        let conn = schema();
        // With and without a client query: the query narrows inside the
        // indexed range, it never changes the access path.
        let field = |path| threadsync_domain::query::field(path).expect("allow-listed");
        let pattern = Pattern { pattern: "(?i)x".into(), regex: regex::Regex::new("(?i)x").expect("regex") };
        let narrowing = Filter::And(vec![
            Filter::Field { field: field("msg"), cond: Cond::Regex(pattern) },
            Filter::Field {
                field: field("mentions.username"),
                cond: Cond::Eq(Literal::String("bob".into())),
            },
        ]);
        for filter in [Filter::True, narrowing.clone()] {
            let feed = |scope| changes_sql(scope, &filter, &mut vec![SqlValue::Null; 4]);
            let thread = feed(ChangeScope::Thread("t"));
            assert_indexed(&conn, &thread, &["messages_tmid_updated", "tombstones_tmid_deleted"]);
            let parents = feed(ChangeScope::ThreadParents("r"));
            assert_indexed(&conn, &parents, &["messages_threads_updated", "tombstones_threads_deleted"]);
            let room = feed(ChangeScope::Room("r"));
            assert_indexed(&conn, &room, &["messages_rid_updated", "tombstones_rid_deleted"]);

            let replies = |sort: &Sort, offset| {
                thread_replies_sql(&filter, sort, offset, 50, &mut vec![SqlValue::Null])
            };
            let (page, count) = replies(&Sort::default(), 0);
            assert_indexed(&conn, &page, &["messages_tmid_ts"]);
            assert_indexed(&conn, &count, &["messages_tmid"]);
            let (page, _) = replies(&Sort::by(SortField::Ts, Direction::Desc), 100);
            assert_indexed(&conn, &page, &["messages_tmid_ts"]);
        }

        for kind in [ThreadKind::All, ThreadKind::Following("u".into()), ThreadKind::Among(vec!["a".into()])]
        {
            let q = ThreadListQuery {
                rid: "r".into(),
                kind,
                text: Some("x".into()),
                filter: narrowing.clone(),
                sort: Sort::default(),
                offset: 0,
                count: 50,
            };
            let (sql, count_sql, _) = thread_parents_sql(&q);
            assert_indexed(&conn, &sql, &["messages_threads_tlm"]);
            assert_indexed(&conn, &count_sql, &["messages_threads_"]);
        }

        for cursor in [Cursor::After(Timestamp(1)), Cursor::Before(Timestamp(1))] {
            let (clause, _) = cursor_sql(cursor, "updated_at");
            assert_indexed(
                &conn,
                &format!("SELECT doc FROM messages WHERE rid = ?1 AND {clause} LIMIT ?3"),
                &["messages_rid_updated"],
            );
        }
        assert_indexed(
            &conn,
            "SELECT id, rid, tmid, deleted_at FROM tombstones WHERE rid = ?1 AND deleted_at > ?2 ORDER BY deleted_at",
            &["tombstones_rid_deleted"],
        );
    }
}
