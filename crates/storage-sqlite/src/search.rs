//! `chat.search` on SQLite: the FTS5 index `messages_search` (migration 6).
//!
//! The client's words never become FTS5 syntax: [`match_expression`] quotes
//! each word (they are runs of letters and digits, see
//! `threadsync_storage::search::terms`) and builds the operators itself.
//! The room is part of the match (`rid : "…"`), so FTS5 intersects the
//! room's postings with the words' instead of the query visiting every
//! message of the store that has a word; `m.rid = ?` then checks the room
//! exactly (the index folds case, ids do not).

use crate::db::{from_json, sql_int, Db};
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

/// The FTS5 query of a search with at least one positive term: the room,
/// AND every positive term, NOT each negated one (all within `msg`).
pub(crate) fn match_expression(rid: &str, terms: &[SearchTerm]) -> String {
    let positive: Vec<String> = terms.iter().filter(|t| !t.negated).map(term_expression).collect();
    let mut text = format!("({})", positive.join(" AND "));
    for negated in terms.iter().filter(|t| t.negated) {
        text = format!("({text} NOT {})", term_expression(negated));
    }
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

/// The statement and its arguments. Without a positive term the room's
/// `(rid, ts)` index serves the operators alone.
pub(crate) fn search_sql(query: &SearchQuery) -> (String, Vec<SqlValue>) {
    let mut args = vec![SqlValue::Text(query.rid.clone())];
    let page = format!("LIMIT {} OFFSET {}", sql_int(query.count), sql_int(query.offset));
    if query.has_text() {
        args.push(SqlValue::Text(match_expression(&query.rid, &query.terms)));
        let filter = query::compile(&query.filter, &mut args);
        let sql = format!(
            "SELECT m.doc FROM messages_search JOIN messages AS m ON m.rowid = messages_search.rowid \
             WHERE messages_search MATCH ?2 AND m.rid = ?1 AND m.t IS NOT 'rm' AND {filter} \
             ORDER BY {} {page}",
            order_by(query.order, true)
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

pub(crate) fn search(conn: &Connection, query: &SearchQuery) -> StorageResult<Vec<Message>> {
    if query.count == 0 || (!query.has_text() && !query.terms.is_empty()) {
        // Only excluded words: nothing to find (docs/rest.md#chatsearch).
        return Ok(Vec::new());
    }
    let (sql, args) = search_sql(query);
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |row| row.get::<_, String>(0)).db()?;
    rows.map(|doc| from_json(&doc.db()?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadsync_domain::query::Filter;
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

    #[test]
    fn match_expressions_quote_every_word() {
        assert_eq!(
            match_expression("R\"1", &terms(r#"deploy "roll back" depl* -hot"#)),
            r#"rid : "R""1" AND msg : (("deploy" AND "roll back" AND "depl" *) NOT "hot")"#
        );
        assert_eq!(match_expression("--", &terms("a")), r#"msg : ("a")"#);
    }
}
