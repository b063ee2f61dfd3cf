//! `chat.search` on SQLite: the FTS5 index `messages_search` (migration 6).
//!
//! The client's words never become FTS5 syntax: [`match_expression`] quotes
//! each word (they are runs of letters and digits, see
//! `threadsync_storage::search::terms`) and builds the operators itself.
//! The room is part of the match (`rid : "…"`), so FTS5 intersects the
//! room's postings with the words' instead of the query visiting every
//! message of the store that has a word; `m.rid = ?` then checks the room
//! exactly (the index folds case, ids do not).
//!
//! Two access paths answer a search ordered by time, chosen per search:
//!
//! - **Index first** (rare words): the index lists the room's matches, each
//!   is looked up by rowid for its `ts`, the matches' rowids are sorted and
//!   only the page's documents are read. Its cost follows the number of
//!   matches in the room, M (about 4 µs each on the 1M dataset).
//! - **Room first** (common words): the room's messages are walked newest
//!   (or oldest) first on `messages_rid_ts` and tested against the index a
//!   chunk at a time (see [`walk`]) until the page is full. Its cost
//!   follows the page size over the words' density in the room (about 2–10
//!   µs per message on the 1M dataset), so a word in every other message
//!   costs about 2 × the page, where the index-first path would look up
//!   and sort tens of thousands of matches.
//!
//! The choice costs one count of the words' matches in the whole index,
//! capped at [`WALK_MIN_MATCHES`] (about 0.1 ms; most words stop here),
//! then for common words one count of the room's matches in the index
//! alone (no table lookups, about 0.3 µs a match), capped at
//! [`COUNT_CAP`]. Below
//! [`WALK_MIN_MATCHES`] the index answers. Above, the walk gets a budget of
//! M ÷ [`WALK_COST_RATIO`] messages: what the index-first path would cost.
//! A walk that fills its page within it was the cheaper path; one that does
//! not (the words are common in the store but not here, an operator such as
//! `from:` is selective, the page is deep) hands over to the index-first
//! path, having at most doubled the cost. The answer never depends on the
//! path, only its cost.

use crate::db::{from_json, sql_int, Cached, Db};
use crate::query;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection};
use threadsync_domain::Message;
use threadsync_storage::{SearchOrder, SearchQuery, SearchTerm, StorageResult};

/// A string as an FTS5 string literal (a phrase of its tokens).
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn term_expression(term: &SearchTerm) -> String {
    let phrase = quoted(&term.words.join(" "));
    if term.prefix {
        format!("{phrase} *")
    } else {
        phrase
    }
}

/// The most matches counted to choose the path (the count reads postings
/// only, about 0.3 µs each: at most about 9 ms).
pub(crate) const COUNT_CAP: u64 = 30_000;

/// Below this many matches in the room the index-first path answers (it
/// costs at most a few milliseconds).
pub(crate) const WALK_MIN_MATCHES: u64 = 1_000;

/// How many times dearer testing one message of a walk is than one match
/// of the index-first path, measured on the 1M dataset (about 2–10 µs a
/// message tested, in chunks, against about 4 µs a match); a walk's budget
/// is the index-first path's cost in walked messages.
pub(crate) const WALK_COST_RATIO: u64 = 2;

/// The smallest walk budget: below it a walk is not worth starting.
const WALK_MIN_VISITS: u64 = 64;

/// The words of a search within `msg`: AND every positive term, NOT each
/// negated one. At least one term is positive.
fn text_expression(terms: &[SearchTerm]) -> String {
    let positive: Vec<String> = terms.iter().filter(|t| !t.negated).map(term_expression).collect();
    let mut text = format!("({})", positive.join(" AND "));
    for negated in terms.iter().filter(|t| t.negated) {
        text = format!("({text} NOT {})", term_expression(negated));
    }
    text
}

/// The FTS5 query of a search with at least one positive term: the room,
/// AND every positive term, NOT each negated one (all within `msg`).
pub(crate) fn match_expression(rid: &str, terms: &[SearchTerm]) -> String {
    let text = text_expression(terms);
    // An id with no letter or digit has no token in the index; the exact
    // `m.rid = ?` check alone then keeps the room.
    if threadsync_storage::search::words(rid).is_empty() {
        return format!("msg : {text}");
    }
    format!("rid : {} AND msg : {text}", quoted(rid))
}

fn order_by(order: SearchOrder, ranked: bool) -> &'static str {
    match order {
        SearchOrder::Oldest => "m.ts ASC, m.id ASC",
        // bm25 is lower for better matches; the room column carries no weight.
        SearchOrder::Relevance if ranked => "bm25(messages_search, 0.0, 1.0), m.ts DESC, m.id DESC",
        SearchOrder::Newest | SearchOrder::Relevance => "m.ts DESC, m.id DESC",
    }
}

/// [`order_by`] over the page of the index-first path (`p`: its sort keys,
/// `r` the rank).
fn page_order(order: SearchOrder) -> &'static str {
    match order {
        SearchOrder::Oldest => "p.ts ASC, p.mid ASC",
        SearchOrder::Relevance => "p.r, p.ts DESC, p.mid DESC",
        SearchOrder::Newest => "p.ts DESC, p.mid DESC",
    }
}

/// The statement and its arguments. Without a positive term the room's
/// `(rid, ts)` index serves the operators alone.
pub(crate) fn search_sql(query: &SearchQuery) -> (String, Vec<SqlValue>) {
    let mut args = vec![SqlValue::Text(query.rid.clone())];
    let page = format!("LIMIT {} OFFSET {}", sql_int(query.count), sql_int(query.offset));
    if query.has_text() {
        args.push(SqlValue::Text(match_expression(&query.rid, &query.terms)));
        let filter = query::compile(&query.filter, &mut args);
        // The sort carries the keys and rowids only; the page's documents
        // are read after it (a sorter carrying each match's document read
        // and copied every matching document: 2-4 times slower for common
        // words on the 1M dataset).
        let rank = match query.order {
            SearchOrder::Relevance => "bm25(messages_search, 0.0, 1.0)",
            SearchOrder::Newest | SearchOrder::Oldest => "0",
        };
        let sql = format!(
            "SELECT d.doc FROM (SELECT m.rowid AS rowid, m.ts AS ts, m.id AS mid, {rank} AS r \
             FROM messages_search JOIN messages AS m ON m.rowid = messages_search.rowid \
             WHERE messages_search MATCH ?2 AND m.rid = ?1 AND m.t IS NOT 'rm' AND {filter} \
             ORDER BY {} {page}) AS p JOIN messages AS d ON d.rowid = p.rowid ORDER BY {}",
            order_by(query.order, true),
            page_order(query.order)
        );
        (sql, args)
    } else {
        let filter = query::compile(&query.filter, &mut args);
        let sql = format!(
            "SELECT m.doc FROM messages AS m WHERE m.rid = ?1 AND m.t IS NOT 'rm' AND {filter} \
             ORDER BY {} {page}",
            order_by(query.order, false)
        );
        (sql, args)
    }
}

/// The room-first walk (see the module's documentation): the room's
/// messages in the search's order, as rowids, each with whether it may be
/// found at all (not a deleted parent's placeholder, through the
/// operators); the words are tested apart, a chunk of rows at a time.
pub(crate) fn walk_sql(query: &SearchQuery) -> (String, Vec<SqlValue>) {
    let mut args = vec![SqlValue::Text(query.rid.clone())];
    let filter = query::compile(&query.filter, &mut args);
    let sql = format!(
        "SELECT m.rowid, m.t IS NOT 'rm' AND {filter} FROM messages AS m WHERE m.rid = ?1 ORDER BY {}",
        order_by(query.order, false)
    );
    (sql, args)
}

/// The rows of a walk tested against the index at once: the first chunk,
/// doubled for each next one up to [`WALK_MAX_CHUNK`] (common words fill
/// their page in the first; sparser ones read fewer, larger chunks).
const WALK_FIRST_CHUNK: usize = 128;
const WALK_MAX_CHUNK: usize = 4_096;

/// How many messages of the room the words match, read from the index
/// alone (no table lookups), counting at most `cap`.
fn count_matches(conn: &Connection, query: &SearchQuery, cap: u64) -> StorageResult<u64> {
    count_index(conn, &match_expression(&query.rid, &query.terms), cap)
}

/// How many messages of any room the words match, counting at most `cap`:
/// an upper bound of [`count_matches`] that reads only the words' postings
/// (about 0.1 ms, against 0.5 ms for the room's count, which intersects
/// them with the room's), so rare words skip the room's count.
fn count_matches_anywhere(conn: &Connection, query: &SearchQuery, cap: u64) -> StorageResult<u64> {
    count_index(conn, &format!("msg : {}", text_expression(&query.terms)), cap)
}

fn count_index(conn: &Connection, expression: &str, cap: u64) -> StorageResult<u64> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM messages_search WHERE messages_search MATCH ?1 LIMIT ?2)",
        )
        .db()?;
    let found: i64 = stmt.query_row(rusqlite::params![expression, sql_int(cap)], |r| r.get(0)).db()?;
    Ok(u64::try_from(found).unwrap_or(0))
}

/// The page by walking the room (documents as stored), or `None` when
/// `budget` messages were tested before the page was full (and the room
/// has more).
///
/// Testing one message at a time against the index (`MATCH … AND rowid =
/// ?`) seeks the words in every segment of the index for each message:
/// about 110 µs on the 1M dataset. A chunk of the room's rows is tested
/// with one query instead: the words' matches among the rowids between the
/// chunk's smallest and largest, one seek per segment, then a read of the
/// postings in that range (other rooms' messages interleave with the
/// room's, so the range holds more than the chunk; an old message imported
/// late widens it, which costs time, never correctness). About 2–10 µs a
/// message.
fn walk(conn: &Connection, query: &SearchQuery, budget: u64) -> StorageResult<Option<Vec<String>>> {
    let (sql, args) = walk_sql(query);
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt.query(params_from_iter(args.iter())).db()?;
    let mut hits = conn
        .prepare_cached(
            "SELECT rowid FROM messages_search WHERE messages_search MATCH ?1 AND rowid BETWEEN ?2 AND ?3",
        )
        .db()?;
    let expression = format!("msg : {}", text_expression(&query.terms));
    let wanted = query.offset.saturating_add(query.count);
    let mut matched: Vec<i64> = Vec::new();
    let mut visited = 0u64;
    let mut chunk_size = WALK_FIRST_CHUNK;
    let mut chunk: Vec<(i64, bool)> = Vec::with_capacity(WALK_MAX_CHUNK);
    loop {
        if visited >= budget {
            // Out of budget: the page is exact only if the room ends here.
            if rows.next().db()?.is_some() {
                return Ok(None);
            }
            break;
        }
        chunk.clear();
        let take = u64::try_from(chunk_size).unwrap_or(u64::MAX).min(budget - visited);
        let mut ended = false;
        while (chunk.len() as u64) < take {
            let Some(row) = rows.next().db()? else {
                ended = true;
                break;
            };
            let visible = row.get::<_, Option<i64>>(1).db()?.is_some_and(|v| v != 0);
            chunk.push((row.get::<_, i64>(0).db()?, visible));
        }
        visited += chunk.len() as u64;
        let range = chunk.iter().map(|(rowid, _)| *rowid);
        if let (Some(low), Some(high)) = (range.clone().min(), range.max()) {
            let found: std::collections::HashSet<i64> = hits
                .query_map(rusqlite::params![expression, low, high], |r| r.get(0))
                .db()?
                .collect::<Result<_, _>>()
                .db()?;
            for (rowid, visible) in &chunk {
                if *visible && found.contains(rowid) {
                    matched.push(*rowid);
                    if matched.len() as u64 == wanted {
                        return documents(conn, &matched, query.offset).map(Some);
                    }
                }
            }
        }
        if ended {
            break;
        }
        chunk_size = (chunk_size * 2).min(WALK_MAX_CHUNK);
    }
    // The walk saw the whole room: the page is exact, if short.
    documents(conn, &matched, query.offset).map(Some)
}

/// The documents of `rowids` after the first `offset`, in order.
fn documents(conn: &Connection, rowids: &[i64], offset: u64) -> StorageResult<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT doc FROM messages WHERE rowid = ?1").db()?;
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    rowids.iter().skip(skip).map(|rowid| stmt.query_row([rowid], |r| r.get(0)).db()).collect()
}

/// How many messages a walk may test for a search with `matches` matches
/// in the room (the index-first path's cost in walked messages), or `None`
/// when the index-first path is the one to take.
fn walk_budget(matches: u64) -> Option<u64> {
    (matches >= WALK_MIN_MATCHES).then(|| (matches / WALK_COST_RATIO).max(WALK_MIN_VISITS))
}

/// The documents of a search's page, as stored (JSON text), by whichever
/// access path the search calls for (see the module's documentation).
pub(crate) fn search_documents(conn: &Connection, query: &SearchQuery) -> StorageResult<Vec<String>> {
    if query.count == 0 || (!query.has_text() && !query.terms.is_empty()) {
        // Only excluded words: nothing to find (docs/rest.md#chatsearch).
        return Ok(Vec::new());
    }
    // Relevance needs every match ranked: only the index-first path.
    let by_time = query.has_text() && query.order != SearchOrder::Relevance;
    if by_time && count_matches_anywhere(conn, query, WALK_MIN_MATCHES)? >= WALK_MIN_MATCHES {
        if let Some(budget) = walk_budget(count_matches(conn, query, COUNT_CAP)?) {
            if let Some(page) = walk(conn, query, budget)? {
                return Ok(page);
            }
        }
    }
    let (sql, args) = search_sql(query);
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |row| row.get::<_, String>(0)).db()?;
    rows.collect::<Result<_, _>>().db()
}

pub(crate) fn search(conn: &Connection, query: &SearchQuery) -> StorageResult<Vec<Message>> {
    search_documents(conn, query)?.iter().map(|doc| from_json(doc)).collect()
}

/// Applies the index changes the message triggers queued in this
/// transaction (migration 12), in the order they were queued, and empties
/// the queue. Every transaction that may write messages calls it right
/// before its COMMIT (the writer's batches, the migrations), so the queue
/// is empty in every committed state and a search always sees the index of
/// the messages it reads.
///
/// Why a queue: FTS5 writes what it holds in memory to a new segment at
/// every savepoint opened after a write to the index, and the writer opens
/// one per job; written by the triggers directly, each message became a
/// segment of its own (migration 12 tells the measurement). Applied here,
/// with no savepoint after it, a batch's messages become one segment.
pub(crate) fn apply_queued(conn: &Connection) -> StorageResult<()> {
    // The first column is FTS5's command column: 'delete' removes the
    // entry of `rowid` (given the exact values it was indexed with), NULL
    // adds one.
    conn.cached_execute(
        "INSERT INTO messages_search (messages_search, rowid, rid, msg) \
         SELECT op, row_id, rid, msg FROM messages_search_queue ORDER BY seq",
        [],
    )
    .db()?;
    conn.cached_execute("DELETE FROM messages_search_queue", []).db()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadsync_domain::query::Filter;
    use threadsync_storage::conformance;
    use threadsync_storage::search::terms;

    fn plan(conn: &Connection, sql: &str, args: &[SqlValue]) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("explain");
        let rows: Vec<String> = stmt
            .query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        rows.join(" | ")
    }

    /// The search statements are served by the full-text index (with
    /// words) or the room's `(rid, ts)` index (operators alone), and look
    /// messages up by rowid: never a scan of `messages`.
    #[test]
    fn searches_use_the_text_index() {
        let mut conn = Connection::open_in_memory().expect("open");
        crate::migrations::apply(&mut conn).expect("migrate");
        query::register_functions(&conn).expect("functions");
        let from = Filter::parse(Some(r#"{"u._id": {"$in": ["a", "b"]}, "pinned": true}"#)).expect("filter");
        for filter in [Filter::True, from] {
            for order in [SearchOrder::Newest, SearchOrder::Oldest, SearchOrder::Relevance] {
                let mut q = SearchQuery {
                    rid: "R".into(),
                    terms: terms("deploy \"roll back\" depl* -hotfix"),
                    filter: filter.clone(),
                    order,
                    offset: 20,
                    count: 50,
                };
                let (sql, args) = search_sql(&q);
                let p = plan(&conn, &sql, &args);
                assert!(p.contains("SCAN messages_search VIRTUAL TABLE INDEX"), "{sql}: {p}");
                assert!(p.contains("SEARCH m USING INTEGER PRIMARY KEY (rowid=?)"), "{sql}: {p}");
                let scans_messages =
                    p.split(" | ").any(|step| step == "SCAN m" || step.starts_with("SCAN m "));
                assert!(!scans_messages, "{sql}: {p}");

                q.terms.clear();
                let (sql, args) = search_sql(&q);
                let p = plan(&conn, &sql, &args);
                assert!(p.contains("SEARCH m USING INDEX messages_rid_ts (rid=?)"), "{sql}: {p}");
            }
        }
    }

    /// A room of 6,000 messages: `common` in every other one, `rare` in
    /// one in a hundred, `carol` wrote only the 10 oldest, every 13th is a
    /// deleted thread parent's placeholder; a second room shares the words.
    fn busy_room() -> Connection {
        let mut conn = Connection::open_in_memory().expect("open");
        crate::migrations::apply(&mut conn).expect("migrate");
        query::register_functions(&conn).expect("functions");
        // No rooms table rows: the messages' foreign key is not the subject.
        conn.execute_batch("PRAGMA foreign_keys = OFF").expect("pragma");
        let tx = conn.transaction().expect("begin");
        for i in 0..6_000i64 {
            for rid in ["R", "S"] {
                let mut words = vec![format!("word{i}")];
                if i % 2 == 0 {
                    words.push("common".into());
                }
                if i % 100 == 0 {
                    words.push("Rare".into());
                }
                let author = if i < 10 { "carol" } else { "bob" };
                let t = (i % 13 == 0).then(|| "rm".to_owned());
                let mut message = conformance::message(
                    &format!("{rid}{i:05}"),
                    rid,
                    &conformance::user(author, author, &format!("{author}@example.com")),
                    &words.join(" "),
                );
                message.ts = threadsync_domain::Timestamp(1_000 + i);
                message.updated_at = message.ts;
                message.t.clone_from(&t);
                tx.execute(
                    "INSERT INTO messages (id, rid, ts, updated_at, u_id, t, doc) VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)",
                    rusqlite::params![
                        message.id,
                        rid,
                        1_000 + i,
                        author,
                        t,
                        crate::db::to_json(&message).expect("json")
                    ],
                )
                .expect("insert");
            }
        }
        apply_queued(&tx).expect("index");
        tx.commit().expect("commit");
        conn
    }

    fn ids(messages: &[Message]) -> Vec<String> {
        messages.iter().map(|m| m.id.clone()).collect()
    }

    fn doc_ids(docs: &[String]) -> Vec<String> {
        docs.iter().map(|d| from_json::<Message>(d).expect("doc").id).collect()
    }

    /// What the index-first path answers (the reference for the walk).
    fn index_first(conn: &Connection, q: &SearchQuery) -> Vec<String> {
        let (sql, args) = search_sql(q);
        let mut stmt = conn.prepare(&sql).expect("prepare");
        let docs: Vec<String> = stmt
            .query_map(params_from_iter(args.iter()), |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        docs.iter().map(|d| from_json::<Message>(d).expect("doc").id).collect()
    }

    /// The room-first walk answers exactly what the index-first path does,
    /// for every order, page and operator; it gives up (and the index
    /// answers) when its page is not full within its budget.
    #[test]
    fn both_access_paths_give_the_same_pages() {
        let conn = busy_room();
        let carol = Filter::parse(Some(r#"{"u.username": "carol"}"#)).expect("filter");
        let q = |text: &str, order, offset, count| SearchQuery {
            rid: "R".into(),
            terms: terms(text),
            filter: Filter::True,
            order,
            offset,
            count,
        };
        // The capped count tells a common word from a rare one.
        let count = |text: &str| count_matches(&conn, &q(text, SearchOrder::Newest, 0, 20), COUNT_CAP);
        assert_eq!(count("common").expect("count"), 3_000, "placeholders are in the index too");
        assert_eq!(count("rare").expect("count"), 60);
        let anywhere = count_matches_anywhere(&conn, &q("rare", SearchOrder::Newest, 0, 20), COUNT_CAP);
        assert_eq!(anywhere.expect("count"), 120, "both rooms");
        assert_eq!(count_matches(&conn, &q("common", SearchOrder::Newest, 0, 20), 100).expect("count"), 100);
        assert_eq!(walk_budget(COUNT_CAP), Some(COUNT_CAP / WALK_COST_RATIO));
        assert_eq!(
            walk_budget(WALK_MIN_MATCHES),
            Some((WALK_MIN_MATCHES / WALK_COST_RATIO).max(WALK_MIN_VISITS))
        );
        assert_eq!(walk_budget(WALK_MIN_MATCHES - 1), None);
        // The budget of these tests: the whole room.
        const ALL: u64 = 6_000;

        for order in [SearchOrder::Newest, SearchOrder::Oldest] {
            for (text, offset, count) in [
                ("common", 0, 20),
                ("common", 37, 50),
                ("COMMON -rare", 0, 100),
                ("common rare", 0, 20),
                ("comm*", 15, 20),
                // Near the end of the room's 2,769 matches (within the walk's reach).
                ("common", 1_700, 20),
            ] {
                let query = q(text, order, offset, count);
                let expected = index_first(&conn, &query);
                assert!(!expected.is_empty(), "{query:?}");
                assert!(expected.iter().all(|id| id.starts_with('R')), "{query:?}");
                let walked = walk(&conn, &query, ALL)
                    .expect("walk")
                    .unwrap_or_else(|| panic!("the walk fills {query:?}"));
                assert_eq!(doc_ids(&walked), expected, "{query:?}");
                assert_eq!(ids(&search(&conn, &query).expect("search")), expected, "{query:?}");
            }
            // Placeholders of deleted parents are never found.
            let found = index_first(&conn, &q("common", order, 0, 10_000));
            assert_eq!(found.len(), (0..6_000).filter(|i| i % 2 == 0 && i % 13 != 0).count());

            // The last page is beyond the walk's reach: the index answers.
            let last = q("common", order, 2_760, 20);
            let expected = index_first(&conn, &last);
            assert_eq!(expected.len(), 9);
            assert!(walk(&conn, &last, 4_000).expect("walk").is_none(), "the walk gives up");
            assert_eq!(ids(&search(&conn, &last).expect("search")), expected);

            // An operator most messages pass: the walk applies it too.
            let mut query = q("common", order, 3, 20);
            query.filter = Filter::parse(Some(r#"{"u.username": "bob"}"#)).expect("filter");
            let expected = index_first(&conn, &query);
            assert_eq!(walk(&conn, &query, ALL).expect("walk").map(|w| doc_ids(&w)), Some(expected.clone()));

            // Only carol's 10 oldest messages pass the operator: the page
            // is never full, so the walk gives up at its budget
            // and the index answers.
            let mut query = q("common", order, 0, 20);
            query.filter = carol.clone();
            let expected = index_first(&conn, &query);
            assert_eq!(expected.len(), 4, "carol's non-deleted messages with the word");
            assert!(walk(&conn, &query, 4_000).expect("walk").is_none(), "the walk gives up");
            assert_eq!(ids(&search(&conn, &query).expect("search")), expected);
        }
    }

    /// An old message imported after the others (the room's largest rowid,
    /// its oldest `ts`) is where the room's order puts it: the walk's chunk
    /// that holds it tests a wide rowid range, and finds it.
    #[test]
    fn the_walk_finds_messages_imported_out_of_order() {
        let conn = busy_room();
        let mut old = conformance::message(
            "R-imported",
            "R",
            &conformance::user("bob", "bob", "bob@example.com"),
            "common imported",
        );
        old.ts = threadsync_domain::Timestamp(500);
        old.updated_at = old.ts;
        conn.execute(
            "INSERT INTO messages (id, rid, ts, updated_at, u_id, doc) VALUES (?1, 'R', 500, 500, 'bob', ?2)",
            rusqlite::params![old.id, crate::db::to_json(&old).expect("json")],
        )
        .expect("insert");
        apply_queued(&conn).expect("index");
        for order in [SearchOrder::Oldest, SearchOrder::Newest] {
            let query = SearchQuery {
                rid: "R".into(),
                terms: terms("common"),
                filter: Filter::True,
                order,
                offset: 0,
                count: 20,
            };
            let expected = index_first(&conn, &query);
            let walked = walk(&conn, &query, 10_000).expect("walk").expect("filled");
            assert_eq!(doc_ids(&walked), expected, "{order:?}");
            assert_eq!(expected[0] == "R-imported", order == SearchOrder::Oldest, "{order:?}");
        }
    }

    /// The walk reads the room in `(rid, ts)` order (no sort of the room).
    #[test]
    fn the_walk_follows_the_room_index() {
        let conn = busy_room();
        for order in [SearchOrder::Newest, SearchOrder::Oldest] {
            let query = SearchQuery {
                rid: "R".into(),
                terms: terms("common -rare"),
                filter: Filter::True,
                order,
                offset: 0,
                count: 20,
            };
            let (sql, args) = walk_sql(&query);
            let p = plan(&conn, &sql, &args);
            assert!(p.contains("SEARCH m USING INDEX messages_rid_ts (rid=?)"), "{p}");
            assert!(!p.contains("USE TEMP B-TREE FOR ORDER BY"), "{p}");
        }
    }

    #[test]
    fn match_expressions_quote_every_word() {
        assert_eq!(
            match_expression("R\"1", &terms(r#"deploy "roll back" depl* -hot"#)),
            r#"rid : "R""1" AND msg : (("deploy" AND "roll back" AND "depl" *) NOT "hot")"#
        );
        assert_eq!(match_expression("--", &terms("a")), r#"msg : ("a")"#);
    }
}
