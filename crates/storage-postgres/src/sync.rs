//! Read paths of threads and sync (`SyncStore`).
//!
//! # Snapshots
//! A change feed page is a single `UNION ALL ... ORDER BY stamp LIMIT/OFFSET`
//! statement (see [`changes_sql`]): one statement reads one snapshot. Listings that return a page
//! and a total (`thread_replies`, `thread_parents`, `room_tombstones`) run
//! both statements in one `REPEATABLE READ READ ONLY` transaction, so both
//! come from one snapshot.
//!
//! # Client queries that SQL cannot decide exactly
//! The client's `query` is compiled by query.rs into SQL over `doc`. When
//! the compilation is not exact (`$regex`: PostgreSQL's regular expressions
//! are not Rust's), the SQL selects a superset and every candidate row is
//! re-checked in Rust with `Filter::matches`, the oracle itself:
//! - feeds walk the superset in stamp order in batches (keyset: each batch
//!   continues after the last stamp seen, in one REPEATABLE READ snapshot)
//!   until `offset + limit + 1` matching changes are found or the scope is
//!   exhausted; removals carry no content and are never filtered. Stamps
//!   are unique within a room (clock.rs), so "after the last stamp" loses
//!   nothing at a batch boundary.
//! - listings read the superset in their sort order through a portal (a
//!   server-side cursor), a batch at a time, counting the matches for the
//!   total and keeping those of the requested page.
//!
//! Memory stays bounded by the batch size (plus the page being built).
//!
//! The `text` of `chat.getThreadsList` (a case-insensitive, Unicode-aware
//! substring of `msg`) is such a post-filter too: it is checked in Rust with
//! the same regular expression the SQLite backend uses, `(?i)` + the escaped
//! text, because neither `ILIKE` nor `lower()` folds case exactly as Rust's
//! `regex` does (both depend on the database's locale and, under the "C"
//! collation, fold ASCII only).
//!
//! # Sort order
//! Sorts mirror the SQLite backend: a fixed column or JSON expression per
//! field, strings compared by byte (`COLLATE "C"`), `_id` as the final
//! tie-breaker in the direction of the first key, and missing values
//! (NULL) first in ascending and last in descending order, as SQLite and
//! MongoDB order them (PostgreSQL's own default is the opposite).

use crate::db::{self, count, err, get, sql_int, Conn, RawJson};
use crate::query::{self, Compiled, Param};
use deadpool_postgres::{ClientWrapper, Transaction};
use serde_json::Value;
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::query::Filter;
use threadsync_domain::{Message, StoredMessage, Timestamp, Tombstone};
use threadsync_storage::{
    ChangeScope, Changes, Cursor, Page, StorageError, StorageResult, ThreadKind, ThreadListQuery,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::IsolationLevel;

const HORIZON_KEY: &str = "tombstone_horizon";

/// Rows fetched at a time when candidates are re-checked in Rust.
const MIN_BATCH: u64 = 64;
const MAX_BATCH: u64 = 1000;

fn batch_size(limit: u64) -> u64 {
    limit.saturating_add(1).clamp(MIN_BATCH, MAX_BATCH)
}

/// The parameters as tokio-postgres takes them.
fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// The placeholder of the next parameter.
fn next(params: &[Param]) -> String {
    format!("${}", params.len() + 1)
}

/// The client's query as SQL. No query needs no compiler and is exact.
fn narrowing(filter: &Filter, params: &mut Vec<Param>) -> Compiled {
    if matches!(filter, Filter::True) {
        return Compiled { sql: "TRUE".into(), exact: true };
    }
    query::compile(filter, params)
}

/// A snapshot for reads made of several statements.
pub(crate) async fn read_tx(client: &mut ClientWrapper) -> StorageResult<Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(err)
}

/// The two halves of a change feed for a scope: which messages and which
/// tombstones belong to it (`$1` is the thread or room id), and the indexes
/// that serve them.
fn scope_filters(scope: ChangeScope<'_>) -> (&'static str, &'static str, &str) {
    match scope {
        // messages_tmid_updated, tombstones_tmid_deleted
        ChangeScope::Thread(tmid) => ("tmid = $1", "tmid = $1", tmid),
        // messages_threads_updated (partial), tombstones_threads_deleted (partial)
        ChangeScope::ThreadParents(rid) => {
            ("rid = $1 AND tcount IS NOT NULL", "rid = $1 AND was_thread", rid)
        }
        // messages_rid_updated, tombstones_rid_deleted
        ChangeScope::Room(rid) => ("rid = $1", "rid = $1", rid),
    }
}

/// The feed statement and its parameters: `$1` the scope key, `$2` the
/// stamp to go past, then the filter's, then the row limits and, when
/// given, the offset.
///
/// Each half reads its index range in stamp order and stops after
/// `offset + rows` rows (the first `offset + rows` changes of the merged
/// feed are among them); PostgreSQL merges the two ordered halves (Merge
/// Append) and skips `offset`, so the cost follows `offset + rows`, not the
/// size of the thread or room. The LIMIT inside each half is what makes
/// this plan possible: without it PostgreSQL plans each half of a UNION
/// ALL on its own, unaware of the outer ORDER BY, and sorts the whole delta.
/// The halves' columns agree in type and collation (the NULL placeholders
/// are `COLLATE "C"` like the tombstone columns).
pub(crate) fn changes_sql(
    scope: ChangeScope<'_>,
    since: Timestamp,
    filter: &Filter,
    rows: u64,
    offset: Option<u64>,
) -> (String, Vec<Param>, bool) {
    let (messages, tombstones, key) = scope_filters(scope);
    let mut params: Vec<Param> = vec![Box::new(key.to_owned()), Box::new(since.millis())];
    let query = narrowing(filter, &mut params);
    let half = next(&params);
    params.push(Box::new(sql_int(rows.saturating_add(offset.unwrap_or(0)))));
    let limit = next(&params);
    params.push(Box::new(sql_int(rows)));
    let offset = match offset {
        Some(offset) => {
            let placeholder = next(&params);
            params.push(Box::new(sql_int(offset)));
            format!(" OFFSET {placeholder}")
        }
        None => String::new(),
    };
    let sql = format!(
        "(SELECT updated_at AS stamp, doc, NULL::text COLLATE \"C\" AS id, NULL::text COLLATE \"C\" AS rid, \
                 NULL::text COLLATE \"C\" AS tmid \
             FROM messages WHERE {messages} AND updated_at > $2 AND ({q}) \
             ORDER BY updated_at LIMIT {half}) \
         UNION ALL \
         (SELECT deleted_at, NULL::jsonb, id, rid, tmid \
             FROM tombstones WHERE {tombstones} AND deleted_at > $2 \
             ORDER BY deleted_at LIMIT {half}) \
         ORDER BY stamp LIMIT {limit}{offset}",
        q = query.sql
    );
    (sql, params, query.exact)
}

/// One row of a feed: an updated document (its JSON text, as stored) or a
/// removal.
enum Change<'a> {
    Updated(RawJson<'a>),
    Removed(Tombstone),
}

fn change_of(row: &tokio_postgres::Row) -> StorageResult<(i64, Change<'_>)> {
    let stamp: i64 = get(row, 0)?;
    let change = match get::<Option<RawJson>>(row, 1)? {
        Some(doc) => Change::Updated(doc),
        None => Change::Removed(Tombstone {
            id: get(row, 2)?,
            rid: get(row, 3)?,
            tmid: get(row, 4)?,
            deleted_at: Timestamp(stamp),
        }),
    };
    Ok((stamp, change))
}

/// Collects a feed page: skips `offset` changes, takes `limit`, and notes
/// whether one more exists.
struct FeedPage {
    offset: u64,
    limit: u64,
    skipped: u64,
    taken: u64,
    changes: Changes<StoredMessage>,
}

impl FeedPage {
    fn new(offset: u64, limit: u64) -> Self {
        FeedPage { offset, limit, skipped: 0, taken: 0, changes: Changes::default() }
    }

    /// Adds a change (`take` gives the updated document, or a removal),
    /// copying it out of its row only if the page takes it: a skipped change
    /// and the one extra row read to learn `more` are never copied. `false`
    /// once the page is complete (and `more` known).
    fn push(
        &mut self,
        take: impl FnOnce() -> StorageResult<Result<StoredMessage, Tombstone>>,
    ) -> StorageResult<bool> {
        if self.skipped < self.offset {
            self.skipped += 1;
            return Ok(true);
        }
        if self.taken == self.limit {
            self.changes.more = true;
            return Ok(false);
        }
        self.taken += 1;
        match take()? {
            Ok(message) => self.changes.updated.push(message),
            Err(tombstone) => self.changes.removed.push(tombstone),
        }
        Ok(true)
    }
}

/// A change as the page keeps it: the document's text is copied out of the
/// row only when the page takes it, and is not decoded (`StoredMessage`).
fn kept(stamp: i64, change: Change<'_>) -> StorageResult<Result<StoredMessage, Tombstone>> {
    match change {
        Change::Updated(doc) => doc.stored(Timestamp(stamp)).map(Ok),
        Change::Removed(tombstone) => Ok(Err(tombstone)),
    }
}

/// The most changes a feed page on a shared connection reads per half (its
/// offset plus its rows, the extra row aside): what a statement queued
/// behind it on that connection waits for stays bounded (readers.rs). A
/// thousand is the largest page the sync endpoints ask for, and what a hot
/// sync without `count` asks for (it gets the few changes there are).
const SHARED_ROWS: u64 = 1_000;

/// Whether a feed page may run on a shared connection: no client query (one
/// exact statement, each half an index range that stops at the page) and no
/// deep offset.
pub(crate) fn on_shared_connection(filter: &Filter, offset: u64, limit: u64) -> bool {
    matches!(filter, Filter::True) && offset.saturating_add(limit) <= SHARED_ROWS
}

/// A feed page without a client query, on any connection (one statement:
/// one snapshot; it applies `offset` itself). Its text depends only on the
/// scope and whether there is an offset (six texts in all): prepared once
/// per connection, so a hot sync is one round trip instead of a parse round
/// trip and an execute round trip.
pub(crate) async fn unfiltered_changes(
    conn: &dyn Conn,
    scope: ChangeScope<'_>,
    since: Timestamp,
    offset: u64,
    limit: u64,
) -> StorageResult<Changes<StoredMessage>> {
    // One row more than asked tells whether the feed goes on.
    let (sql, params, _) = changes_sql(scope, since, &Filter::True, limit.saturating_add(1), Some(offset));
    let rows = conn.rows(&sql, &refs(&params)).await?;
    page_of(&rows, limit)
}

/// The page of an exact feed statement's rows (`limit` of them, one more
/// telling that the feed goes on).
fn page_of(rows: &[tokio_postgres::Row], limit: u64) -> StorageResult<Changes<StoredMessage>> {
    let mut page = FeedPage::new(0, limit);
    for row in rows {
        let (stamp, change) = change_of(row)?;
        if !page.push(|| kept(stamp, change))? {
            break;
        }
    }
    Ok(page.changes)
}

pub(crate) async fn changes_since(
    client: &mut ClientWrapper,
    scope: ChangeScope<'_>,
    since: Timestamp,
    filter: &Filter,
    offset: u64,
    limit: u64,
) -> StorageResult<Changes<StoredMessage>> {
    if matches!(filter, Filter::True) {
        return unfiltered_changes(&*client, scope, since, offset, limit).await;
    }
    // One row more than asked tells whether the feed goes on.
    let (sql, params, exact) = changes_sql(scope, since, filter, limit.saturating_add(1), Some(offset));
    if exact {
        // One statement, one snapshot. Texts with a client query are not
        // prepared (unbounded variety).
        let rows = client.rows_dyn(&sql, &refs(&params)).await?;
        return page_of(&rows, limit);
    }
    drop((sql, params));
    let mut page = FeedPage::new(offset, limit);

    // A superset: walk it in stamp order, a batch at a time, re-checking
    // each document, all in one snapshot.
    let tx = read_tx(client).await?;
    let batch = batch_size(limit);
    let mut cursor = since;
    'scan: loop {
        let (sql, params, _) = changes_sql(scope, cursor, filter, batch, None);
        let rows = tx.rows_dyn(&sql, &refs(&params)).await?;
        for row in &rows {
            let (stamp, change) = change_of(row)?;
            cursor = Timestamp(stamp);
            // The filter reads the document as a tree; a match is kept as
            // its stored text.
            let pushed = match change {
                Change::Updated(doc) => {
                    let tree: Value = doc.decode()?;
                    if !filter.matches(&tree) {
                        continue;
                    }
                    page.push(|| doc.stored(Timestamp(stamp)).map(Ok))?
                }
                Change::Removed(tombstone) => page.push(|| Ok(Err(tombstone)))?,
            };
            if !pushed {
                break 'scan;
            }
        }
        if (rows.len() as u64) < batch {
            break;
        }
    }
    tx.commit().await.map_err(err)?;
    Ok(page.changes)
}

/// The SQL expression of a sort field, and whether it can be NULL. Only
/// these fixed strings ever reach the ORDER BY clause.
fn sort_column(field: SortField) -> (&'static str, bool) {
    match field {
        SortField::Id => ("id", false),
        SortField::Ts => ("ts", false),
        SortField::UpdatedAt => ("updated_at", false),
        SortField::Tlm => ("tlm", true),
        SortField::Tcount => ("tcount", true),
        // ISO-8601 strings with a fixed format order as the times they name.
        SortField::EditedAt => ("(doc->>'editedAt') COLLATE \"C\"", true),
        SortField::Msg => ("(doc->>'msg') COLLATE \"C\"", true),
        SortField::Username => ("(doc->'u'->>'username') COLLATE \"C\"", true),
    }
}

fn direction(dir: Direction, nullable: bool) -> &'static str {
    match (dir, nullable) {
        (Direction::Asc, false) => "ASC",
        (Direction::Desc, false) => "DESC",
        // Missing values sort as the smallest, as in SQLite and MongoDB.
        (Direction::Asc, true) => "ASC NULLS FIRST",
        (Direction::Desc, true) => "DESC NULLS LAST",
    }
}

/// `ORDER BY` for a sort, with `_id` appended as the final tie-breaker (in
/// the direction of the first key, so an index on `(x, ..., id)` serves a
/// single-key sort forwards or backwards).
pub(crate) fn order_by(sort: &Sort, default: (SortField, Direction)) -> String {
    let keys: Vec<(SortField, Direction)> = if sort.is_empty() { vec![default] } else { sort.0.clone() };
    let mut parts: Vec<String> = keys
        .iter()
        .map(|(f, d)| {
            let (column, nullable) = sort_column(*f);
            format!("{column} {}", direction(*d, nullable))
        })
        .collect();
    if !keys.iter().any(|(f, _)| *f == SortField::Id) {
        parts.push(format!("id {}", direction(keys[0].1, false)));
    }
    parts.join(", ")
}

/// The Rust re-check of a listing's candidates (the stored JSON document).
pub(crate) type Recheck<'a> = Box<dyn Fn(&Value) -> bool + Send + Sync + 'a>;

/// A listing: the statement selecting the candidates in order (without
/// LIMIT), its count, its parameters, and the Rust re-check when the SQL
/// is only a superset.
pub(crate) struct Listing<'a> {
    pub(crate) select: String,
    pub(crate) count: String,
    pub(crate) params: Vec<Param>,
    pub(crate) recheck: Option<Recheck<'a>>,
}

impl Listing<'_> {
    /// The page statement of an exact listing.
    pub(crate) fn page_sql(&self, offset: u64, count: u64) -> String {
        format!("{} LIMIT {} OFFSET {}", self.select, sql_int(count), sql_int(offset))
    }
}

/// Runs a listing in one snapshot.
async fn run_listing(
    client: &mut ClientWrapper,
    listing: Listing<'_>,
    offset: u64,
    count: u64,
) -> StorageResult<Page<Message>> {
    let tx = read_tx(client).await?;
    let params = refs(&listing.params);
    let page = match &listing.recheck {
        None => {
            let items = tx
                .rows_dyn(&listing.page_sql(offset, count), &params)
                .await?
                .iter()
                .map(|row| db::doc(row, 0))
                .collect::<StorageResult<Vec<Message>>>()?;
            let row = tx.rows_dyn(&listing.count, &params).await?;
            let total = match row.first() {
                Some(row) => count_of(row)?,
                None => 0,
            };
            Page { items, total }
        }
        Some(recheck) => {
            // Every candidate in order through a portal, a batch at a time:
            // the matches are counted, those of the page kept.
            let stmt = tx.prepare(&listing.select).await.map_err(err)?;
            let portal = tx.bind(&stmt, &params).await.map_err(err)?;
            let batch = batch_size(count);
            let fetch = i32::try_from(batch).unwrap_or(i32::MAX);
            let (mut items, mut total) = (Vec::new(), 0u64);
            loop {
                let rows = tx.query_portal(&portal, fetch).await.map_err(err)?;
                for row in &rows {
                    let doc: Value = get(row, 0)?;
                    if !recheck(&doc) {
                        continue;
                    }
                    if total >= offset && total - offset < count {
                        items.push(db::from_json::<Message>(doc)?);
                    }
                    total += 1;
                }
                if (rows.len() as u64) < batch {
                    break;
                }
            }
            Page { items, total }
        }
    };
    tx.commit().await.map_err(err)?;
    Ok(page)
}

fn count_of(row: &tokio_postgres::Row) -> StorageResult<u64> {
    Ok(count(get::<i64>(row, 0)?))
}

/// The replies of a thread; `messages_tmid_ts` serves the default order.
pub(crate) fn thread_replies_listing<'a>(tmid: &str, filter: &'a Filter, sort: &Sort) -> Listing<'a> {
    let mut params: Vec<Param> = vec![Box::new(tmid.to_owned())];
    let query = narrowing(filter, &mut params);
    let order = order_by(sort, (SortField::Ts, Direction::Asc));
    let filter_sql = format!("tmid = $1 AND ({})", query.sql);
    Listing {
        select: format!("SELECT doc FROM messages WHERE {filter_sql} ORDER BY {order}"),
        count: format!("SELECT count(*) FROM messages WHERE {filter_sql}"),
        params,
        recheck: (!query.exact).then(|| Box::new(move |doc: &Value| filter.matches(doc)) as Recheck<'_>),
    }
}

pub(crate) async fn thread_replies(
    client: &mut ClientWrapper,
    tmid: &str,
    filter: &Filter,
    sort: &Sort,
    offset: u64,
    count: u64,
) -> StorageResult<Page<Message>> {
    run_listing(client, thread_replies_listing(tmid, filter, sort), offset, count).await
}

/// Messages of a room; `messages_rid_ts` serves the default order.
pub(crate) async fn room_messages(
    client: &mut ClientWrapper,
    rid: &str,
    filter: &Filter,
    sort: &Sort,
    offset: u64,
    count: u64,
) -> StorageResult<Page<Message>> {
    let mut params: Vec<Param> = vec![Box::new(rid.to_owned())];
    let query = narrowing(filter, &mut params);
    let order = order_by(sort, (SortField::Ts, Direction::Asc));
    let filter_sql = format!("rid = $1 AND ({})", query.sql);
    let listing = Listing {
        select: format!("SELECT doc FROM messages WHERE {filter_sql} ORDER BY {order}"),
        count: format!("SELECT count(*) FROM messages WHERE {filter_sql}"),
        params,
        recheck: (!query.exact).then(|| Box::new(move |doc: &Value| filter.matches(doc)) as Recheck<'_>),
    };
    run_listing(client, listing, offset, count).await
}

/// The `text` of `chat.getThreadsList` as the SQLite backend matches it.
fn text_regex(text: &str) -> StorageResult<regex::Regex> {
    regex::Regex::new(&format!("(?i){}", regex::escape(text))).map_err(|_| StorageError::Invalid("text"))
}

/// Thread parents of a room; `messages_threads_tlm` (partial index on
/// parents) serves the default order.
pub(crate) fn thread_parents_listing(query: &ThreadListQuery) -> StorageResult<Listing<'_>> {
    let mut filter = String::from("rid = $1 AND tcount IS NOT NULL");
    let mut params: Vec<Param> = vec![Box::new(query.rid.clone())];
    match &query.kind {
        ThreadKind::All => {}
        ThreadKind::Following(user_id) => {
            filter.push_str(&format!(" AND doc->'replies' ? {}", next(&params)));
            params.push(Box::new(user_id.clone()));
        }
        ThreadKind::Among(ids) => {
            filter.push_str(&format!(" AND id = ANY({})", next(&params)));
            params.push(Box::new(ids.clone()));
        }
    }
    let text = match query.text.as_deref().filter(|t| !t.is_empty()) {
        Some(text) => Some(text_regex(text)?),
        None => None,
    };
    let compiled = narrowing(&query.filter, &mut params);
    filter.push_str(&format!(" AND ({})", compiled.sql));
    let order = order_by(&query.sort, (SortField::Tlm, Direction::Desc));
    let recheck = if compiled.exact && text.is_none() {
        None
    } else {
        let exact = compiled.exact;
        let client_filter = &query.filter;
        Some(Box::new(move |doc: &Value| {
            let text_ok = text
                .as_ref()
                .is_none_or(|re| doc.get("msg").and_then(Value::as_str).is_some_and(|s| re.is_match(s)));
            text_ok && (exact || client_filter.matches(doc))
        }) as Recheck<'_>)
    };
    Ok(Listing {
        select: format!("SELECT doc FROM messages WHERE {filter} ORDER BY {order}"),
        count: format!("SELECT count(*) FROM messages WHERE {filter}"),
        params,
        recheck,
    })
}

pub(crate) async fn thread_parents(
    client: &mut ClientWrapper,
    query: &ThreadListQuery,
) -> StorageResult<Page<Message>> {
    let listing = thread_parents_listing(query)?;
    run_listing(client, listing, query.offset, query.count).await
}

fn cursor_sql(cursor: Cursor, column: &str) -> (String, i64) {
    match cursor {
        Cursor::After(t) => (format!("{column} > $2 ORDER BY {column} ASC"), t.millis()),
        Cursor::Before(t) => (format!("{column} < $2 ORDER BY {column} DESC"), t.millis()),
    }
}

/// The statement of [`room_updates`] (`$1` room, `$2` stamp, `$3` count).
pub(crate) fn room_updates_sql(cursor: Cursor) -> (String, i64) {
    let (clause, stamp) = cursor_sql(cursor, "updated_at");
    (format!("SELECT doc FROM messages WHERE rid = $1 AND {clause} LIMIT $3"), stamp)
}

/// The statement of [`room_removals`] (`$1` room, `$2` stamp, `$3` count).
pub(crate) fn room_removals_sql(cursor: Cursor) -> (String, i64) {
    let (clause, stamp) = cursor_sql(cursor, "deleted_at");
    (format!("SELECT id, rid, tmid, deleted_at FROM tombstones WHERE rid = $1 AND {clause} LIMIT $3"), stamp)
}

/// Messages of a room around a cursor (`messages_rid_updated`).
pub(crate) async fn room_updates(
    c: &dyn Conn,
    rid: &str,
    cursor: Cursor,
    n: u64,
) -> StorageResult<Vec<Message>> {
    let (sql, stamp) = room_updates_sql(cursor);
    c.rows(&sql, &[&rid, &stamp, &sql_int(n)]).await?.iter().map(|row| db::doc(row, 0)).collect()
}

fn tombstone_of(row: &tokio_postgres::Row) -> StorageResult<Tombstone> {
    Ok(Tombstone {
        id: get(row, 0)?,
        rid: get(row, 1)?,
        tmid: get(row, 2)?,
        deleted_at: Timestamp(get(row, 3)?),
    })
}

/// Tombstones of a room around a cursor (`tombstones_rid_deleted`).
pub(crate) async fn room_removals(
    c: &dyn Conn,
    rid: &str,
    cursor: Cursor,
    n: u64,
) -> StorageResult<Vec<Tombstone>> {
    let (sql, stamp) = room_removals_sql(cursor);
    c.rows(&sql, &[&rid, &stamp, &sql_int(n)]).await?.iter().map(tombstone_of).collect()
}

/// The page and count statements of [`room_tombstones`] (`$1` room, `$2`
/// stamp; the page also `$3` count, `$4` offset).
pub(crate) const ROOM_TOMBSTONES_SQL: &str = "SELECT id, rid, tmid, deleted_at FROM tombstones \
     WHERE rid = $1 AND deleted_at > $2 ORDER BY deleted_at LIMIT $3 OFFSET $4";
pub(crate) const ROOM_TOMBSTONES_COUNT_SQL: &str =
    "SELECT count(*) FROM tombstones WHERE rid = $1 AND deleted_at > $2";

/// Tombstones of a room after a stamp, paged, with the total, in one
/// snapshot (`tombstones_rid_deleted`).
pub(crate) async fn room_tombstones(
    client: &mut ClientWrapper,
    rid: &str,
    since: Timestamp,
    offset: u64,
    n: u64,
) -> StorageResult<Page<Tombstone>> {
    let tx = read_tx(client).await?;
    let items = tx
        .rows(ROOM_TOMBSTONES_SQL, &[&rid, &since.millis(), &sql_int(n), &sql_int(offset)])
        .await?
        .iter()
        .map(tombstone_of)
        .collect::<StorageResult<Vec<_>>>()?;
    let row = tx.one(ROOM_TOMBSTONES_COUNT_SQL, &[&rid, &since.millis()]).await?;
    let total = count_of(&row)?;
    tx.commit().await.map_err(err)?;
    Ok(Page { items, total })
}

/// Drops old tombstones and moves the horizon forward (never backward), in
/// one write transaction: a reader sees either the old tombstones or the
/// new horizon that makes the sync refuse, never neither. The horizon is
/// raised with `GREATEST` inside the upsert, which locks the row: two
/// prunes at once (two instances) cannot move it back.
pub(crate) async fn prune_tombstones(c: &dyn Conn, before: Timestamp) -> StorageResult<u64> {
    let removed = c.exec("DELETE FROM tombstones WHERE deleted_at < $1", &[&before.millis()]).await?;
    c.exec("DELETE FROM subscription_tombstones WHERE deleted_at < $1", &[&before.millis()]).await?;
    c.exec(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE \
         SET value = GREATEST(meta.value::bigint, EXCLUDED.value::bigint)::text",
        &[&HORIZON_KEY, &before.millis().to_string()],
    )
    .await?;
    Ok(removed)
}

pub(crate) async fn tombstone_horizon(c: &dyn Conn) -> StorageResult<Option<Timestamp>> {
    let value: Option<String> = match c.opt("SELECT value FROM meta WHERE key = $1", &[&HORIZON_KEY]).await? {
        Some(row) => Some(get(&row, 0)?),
        None => None,
    };
    Ok(value.and_then(|v| v.parse::<i64>().ok()).map(Timestamp))
}
