//! `chat.search` on PostgreSQL: the generated `tsvector` column `search` and
//! its GIN index `messages_search` (migrations 4 and 12).
//!
//! The client's words reach PostgreSQL only as bound parameters, each
//! folded by the same `search_fold` as the indexed text and turned into a
//! query by `phraseto_tsquery` (a word or a phrase) or `to_tsquery` with
//! `:*` (a prefix: the word is letters and digits only, see
//! `threadsync_storage::search::terms`, so it cannot be tsquery syntax).
//!
//! Two access paths, chosen here rather than by the planner:
//! - **index**: the vector also holds the message's room as one lexeme (a
//!   space and the MD5 of the room id, migration 12), and the words are
//!   ANDed with it, so the GIN index alone yields the words' matches in the
//!   room (it walks the rarer posting list and skips through the other),
//!   which are then read and ordered. Its cost grows with the matches: a
//!   few milliseconds for a thousand.
//! - **walk**: the room's `(rid, ts)` index in the page's order, each
//!   message tested, until the page is full. Its cost grows with the rows
//!   walked, the page size divided by the words' density in the room: a
//!   fraction of a millisecond for a word in a tenth of the messages.
//!
//! The planner cannot choose between them on its own: it takes the room's
//! lexeme and `rid = $1` for independent conditions, so it thinks a room
//! has 20 times fewer matches than it has, and picked the wrong path for
//! the commonest words (BENCHMARKS.md, issue 13). So the path is chosen
//! here, from what ANALYZE last sampled of the words (`pg_stats`' most
//! common lexemes of `search` and their frequencies, [`WordStats`], read
//! again every few minutes): words expected in at least one message of
//! [`WALK_FROM_ONE_IN`] are walked, within a budget of rows after which the
//! walk hands over to the index path (a word common elsewhere but rare in
//! this room); any other word, and any word the sample did not list, goes
//! to the index path. The statistics only choose the cost: the answer never
//! depends on the path. (Counting the room's matches first was measured:
//! the count reads the matches' table pages as the index path does, so it
//! doubled the cost of every rare word.)

use crate::db::{self, err, sql_int, Conn};
use crate::query::{self, Param};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use threadsync_domain::query::Filter;
use threadsync_domain::Message;
use threadsync_storage::{SearchOrder, SearchQuery, SearchTerm, StorageResult};
use tokio_postgres::types::ToSql;

/// Words at least this common (one message in this many) are walked.
/// Measured on the 1M dataset: reading a match through the index costs
/// about 12 µs, walking a row about 1 µs, so for a page of 20 in a room of
/// 50,000 messages the two meet near 300 matches, one message in 170.
const WALK_FROM_ONE_IN: f64 = 125.0;

/// Rows the walk may read per result it must find (offset and page) before
/// it hands over to the index path: twice what a word at the threshold
/// needs.
const WALK_ROWS_PER_RESULT: u64 = 250;

/// How long the words' statistics are used before they are read again
/// (autovacuum's ANALYZE refreshes them as the table grows).
const WORD_STATS_FOR: Duration = Duration::from_secs(300);

/// How a statement reaches the room's matches (see the module's docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// The GIN index alone, with the room's lexeme; every match read.
    Index,
    /// The room newest (or oldest) first through `(rid, ts)`, at most this
    /// many rows.
    Walk(u64),
}

fn push(params: &mut Vec<Param>, value: String) -> String {
    params.push(Box::new(value));
    format!("${}", params.len())
}

fn term_query(term: &SearchTerm, params: &mut Vec<Param>) -> String {
    if term.prefix {
        let p = push(params, term.words.join(" "));
        format!("to_tsquery('simple', search_fold({p}) || ':*')")
    } else {
        let p = push(params, term.words.join(" "));
        format!("phraseto_tsquery('simple', search_fold({p}))")
    }
}

/// The tsquery expression of the terms (at least one positive).
pub(crate) fn tsquery(terms: &[SearchTerm], params: &mut Vec<Param>) -> String {
    let mut parts = Vec::new();
    for term in terms.iter().filter(|t| !t.negated) {
        parts.push(term_query(term, params));
    }
    for term in terms.iter().filter(|t| t.negated) {
        parts.push(format!("!!{}", term_query(term, params)));
    }
    format!("({})", parts.join(" && "))
}

/// The tsquery of the room's lexeme (migration 12), from the parameter
/// holding the room id: hex digits need no quoting.
fn room_lexeme(rid: &str) -> String {
    format!("(''' ' || md5({rid}) || '''')::tsquery")
}

/// The statement of `path` (without LIMIT) and its parameters, and whether
/// the SQL filter is exact (else each row is re-checked with
/// [`Filter::matches`]).
///
/// The index path keeps `rid = $1` out of the planner's sight (`OFFSET 0`
/// fences the subquery): given it, the planner ANDs the GIN bitmap with a
/// bitmap of the room's whole `(rid, ts)` range, which costs more than the
/// matches it could remove (none: the lexeme already names the room). The
/// condition stays, so the room is checked on the id itself.
pub(crate) fn search_sql(query: &SearchQuery, path: Path) -> (String, Vec<Param>, bool) {
    let mut params: Vec<Param> = vec![Box::new(query.rid.clone())];
    let words = query.has_text().then(|| tsquery(&query.terms, &mut params));
    let compiled = if matches!(query.filter, Filter::True) {
        query::Compiled { sql: "TRUE".to_owned(), exact: true }
    } else {
        query::compile(&query.filter, &mut params)
    };
    let rest = format!("t IS DISTINCT FROM 'rm' AND ({})", compiled.sql);
    let order = match (query.order, &words) {
        (SearchOrder::Oldest, _) => "ts ASC, id ASC".to_owned(),
        (SearchOrder::Relevance, Some(words)) => format!("ts_rank(search, {words}) DESC, ts DESC, id DESC"),
        (SearchOrder::Newest | SearchOrder::Relevance, _) => "ts DESC, id DESC".to_owned(),
    };
    let sql = match (path, &words) {
        // Without words there is no lexeme to look up: the room's rows, as
        // the planner likes (it walks the room).
        (_, None) => format!("SELECT doc FROM messages WHERE rid = $1 AND {rest} ORDER BY {order}"),
        (Path::Index, Some(words)) => format!(
            "SELECT doc FROM (SELECT * FROM messages WHERE search @@ ({words} && {}) OFFSET 0) AS m \
             WHERE rid = $1 AND {rest} ORDER BY {order}",
            room_lexeme("$1")
        ),
        (Path::Walk(rows), Some(words)) => {
            let walk = if query.order == SearchOrder::Oldest { "ts ASC, id ASC" } else { "ts DESC, id DESC" };
            format!(
                "SELECT doc FROM (SELECT * FROM messages WHERE rid = $1 ORDER BY {walk} LIMIT {}) AS m \
                 WHERE search @@ {words} AND {rest} ORDER BY {order}",
                sql_int(rows)
            )
        }
    };
    (sql, params, compiled.exact)
}
/// What ANALYZE last sampled of the indexed lexemes: the most common ones
/// (up to ten times the statistics target, 1,000 by default) and the share
/// of messages holding each. A word not listed is rarer than every listed
/// one.
#[derive(Debug, Default)]
pub(crate) struct WordStats {
    share: HashMap<String, f64>,
}

const WORD_STATS: &str = "SELECT e, f::float8 \
       FROM pg_stats AS s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS u(e, f) \
      WHERE s.schemaname = current_schema() AND s.tablename = 'messages' AND s.attname = 'search' \
        AND e IS NOT NULL";

impl WordStats {
    async fn load(client: &impl Conn) -> StorageResult<WordStats> {
        let rows = client.rows_dyn(WORD_STATS, &[]).await?;
        let mut share = HashMap::with_capacity(rows.len());
        for row in &rows {
            share.insert(row.try_get::<_, String>(0).map_err(err)?, row.try_get::<_, f64>(1).map_err(err)?);
        }
        Ok(WordStats { share })
    }

    /// The expected share of a room's messages that hold the query's words:
    /// the positive terms taken as independent; a phrase at most as common
    /// as its rarest word; a prefix as common as the listed words it
    /// begins. Lexemes are folded text; a word with letters outside ASCII
    /// is not looked up (it counts as rare: the index path).
    fn share(&self, terms: &[SearchTerm]) -> f64 {
        let word = |w: &str| -> f64 {
            if !w.is_ascii() {
                return 0.0;
            }
            self.share.get(&w.to_ascii_lowercase()).copied().unwrap_or(0.0)
        };
        let mut all = 1.0;
        for term in terms.iter().filter(|t| !t.negated) {
            let one = if term.prefix {
                let prefix = term.words.concat().to_ascii_lowercase();
                if prefix.is_ascii() {
                    self.share
                        .iter()
                        .filter(|(e, _)| e.starts_with(&prefix))
                        .map(|(_, f)| f)
                        .sum::<f64>()
                        .min(1.0)
                } else {
                    0.0
                }
            } else {
                term.words.iter().map(|w| word(w)).fold(1.0, f64::min)
            };
            all *= one;
        }
        all
    }
}

/// The words' statistics of one store, read again after [`WORD_STATS_FOR`].
#[derive(Default)]
pub(crate) struct WordStatsCache {
    current: Mutex<Option<(Instant, Arc<WordStats>)>>,
}

impl WordStatsCache {
    /// The statistics, read now if they are missing or old. Two searches
    /// may both read them at the end of a period; the later copy wins.
    async fn get(&self, client: &impl Conn) -> StorageResult<Arc<WordStats>> {
        {
            let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, stats)) = current.as_ref() {
                if at.elapsed() < WORD_STATS_FOR {
                    return Ok(Arc::clone(stats));
                }
            }
        }
        let stats = Arc::new(WordStats::load(client).await?);
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), Arc::clone(&stats)));
        Ok(stats)
    }
}

/// The path for an exact query: ranked pages need every match (the index
/// path); otherwise the walk for words at least one in
/// [`WALK_FROM_ONE_IN`], with its budget of rows.
pub(crate) fn choose(query: &SearchQuery, stats: &WordStats) -> Path {
    if !query.has_text() || query.order == SearchOrder::Relevance {
        return Path::Index;
    }
    if stats.share(&query.terms) * WALK_FROM_ONE_IN < 1.0 {
        return Path::Index;
    }
    Path::Walk(query.offset.saturating_add(query.count).saturating_mul(WALK_ROWS_PER_RESULT))
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as _).collect()
}

/// One page of `query` by a statement of [`search_sql`].
async fn page(
    client: &impl Conn,
    query: &SearchQuery,
    sql: &str,
    params: &[Param],
) -> StorageResult<Vec<Message>> {
    let sql = format!("{sql} LIMIT {} OFFSET {}", sql_int(query.count), sql_int(query.offset));
    let rows = client.rows_dyn(&sql, &refs(params)).await?;
    rows.iter().map(|row| db::doc(row, 0)).collect()
}

pub(crate) async fn search(
    client: &impl Conn,
    stats: &WordStatsCache,
    query: &SearchQuery,
) -> StorageResult<Vec<Message>> {
    if query.count == 0 || (!query.has_text() && !query.terms.is_empty()) {
        // Only excluded words: nothing to find (docs/rest.md#chatsearch).
        return Ok(Vec::new());
    }
    let (sql, params, exact) = search_sql(query, Path::Index);
    if exact {
        let path = if query.has_text() { choose(query, &*stats.get(client).await?) } else { Path::Index };
        if let Path::Walk(_) = path {
            let (walk, walk_params, _) = search_sql(query, path);
            let walked = page(client, query, &walk, &walk_params).await?;
            // A page the walk did not fill may be the room's last, or the
            // budget's end: the index path knows.
            if walked.len() as u64 >= query.count {
                return Ok(walked);
            }
        }
        return page(client, query, &sql, &params).await;
    }
    // A filter SQL cannot decide (`$regex`; the service sends none today):
    // the superset in order, re-checked here, then paged.
    let rows = client.rows_dyn(&sql, &refs(&params)).await?;
    let mut out = Vec::new();
    let mut skipped = 0;
    for row in &rows {
        let doc: Value = row.try_get(0).map_err(err)?;
        if !query.filter.matches(&doc) {
            continue;
        }
        if skipped < query.offset {
            skipped += 1;
            continue;
        }
        out.push(db::from_json(doc)?);
        if out.len() as u64 >= query.count {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadsync_storage::search::terms;

    fn stats() -> WordStats {
        let share = [
            ("deploy", 0.45),
            ("rollback", 0.26),
            ("review", 0.18),
            ("release", 0.05),
            ("latency", 0.011),
            ("loureba", 0.003),
        ];
        WordStats { share: share.iter().map(|(w, f)| ((*w).to_owned(), *f)).collect() }
    }

    fn query(text: &str, order: SearchOrder, offset: u64) -> SearchQuery {
        SearchQuery { rid: "R".into(), terms: terms(text), filter: Filter::True, order, offset, count: 20 }
    }

    #[test]
    fn shares_multiply_phrases_take_their_rarest_word_and_prefixes_add_up() {
        let stats = stats();
        let share = |text: &str| stats.share(&terms(text));
        assert!((share("Deploy") - 0.45).abs() < 1e-9, "case folded");
        assert!((share("deploy review") - 0.45 * 0.18).abs() < 1e-9);
        assert!((share("\"deploy loureba\"") - 0.003).abs() < 1e-9);
        assert!((share("re*") - (0.18 + 0.05)).abs() < 1e-9);
        assert!((share("deploy -review") - 0.45).abs() < 1e-9, "exclusions do not count");
        assert_eq!(share("unlisted"), 0.0);
        assert_eq!(share("déploy"), 0.0, "not folded here: rare, so the index path");
        assert_eq!(WordStats::default().share(&terms("deploy")), 0.0, "no statistics yet");
    }

    #[test]
    fn common_words_are_walked_within_a_budget_others_go_through_the_index() {
        let stats = stats();
        assert_eq!(choose(&query("deploy", SearchOrder::Newest, 0), &stats), Path::Walk(20 * 250));
        assert_eq!(choose(&query("deploy", SearchOrder::Oldest, 40), &stats), Path::Walk(60 * 250));
        assert_eq!(choose(&query("latency", SearchOrder::Newest, 0), &stats), Path::Walk(20 * 250));
        assert_eq!(choose(&query("loureba", SearchOrder::Newest, 0), &stats), Path::Index);
        assert_eq!(choose(&query("deploy latency", SearchOrder::Newest, 0), &stats), Path::Index);
        assert_eq!(
            choose(&query("deploy", SearchOrder::Relevance, 0), &stats),
            Path::Index,
            "ranks need all"
        );
        assert_eq!(choose(&query("deploy", SearchOrder::Newest, u64::MAX), &stats), Path::Walk(u64::MAX));
    }
}

/// Index evidence: the statements `chat.search` runs, explained by
/// PostgreSQL on a room of 40,000 messages (after ANALYZE, default planner
/// settings): the index path finds a word through the GIN index, the walk
/// through the room's `(rid, ts)` index, and neither scans the table; and
/// both paths give the same pages. Needs `TEST_DATABASE_URL`; ignored
/// without it (see build.rs).
#[cfg(test)]
mod plans {
    use super::*;
    use crate::test_support::{database_url, options, raw, unique_schema, SchemaGuard};
    use crate::PgStore;
    use threadsync_storage::search::terms;
    use threadsync_storage::{SearchStore, Store};

    /// 40,000 messages in room R0 and 10,000 in R1: common words in all of
    /// them, `rare<i % 2000>` in each, `needle` in 5 of R0's.
    const DATA: &str = "
INSERT INTO rooms (id, t, name, name_lower, dm_key, ts, updated_at, clock, doc)
SELECT 'R' || r, 'c', 'room ' || r, 'room ' || r, NULL, r, r, 0, '{}'::jsonb FROM generate_series(0, 1) AS r;
INSERT INTO messages (id, rid, tmid, ts, updated_at, tlm, tcount, u_id, t, doc)
SELECT 'M' || i, rid, NULL, i, i, NULL, NULL, 'U' || (i % 7), NULL,
       jsonb_build_object('_id', 'M' || i, 'rid', rid, 'ts', i, '_updatedAt', i,
           'u', jsonb_build_object('_id', 'U' || (i % 7), 'username', 'u' || (i % 7)),
           'msg', 'deploy the release ' || 'rare' || (i % 2000) || CASE WHEN i % 10007 = 1 THEN ' needle' ELSE '' END)
FROM generate_series(0, 49999) AS i, LATERAL (SELECT CASE WHEN i % 5 = 0 THEN 'R1' ELSE 'R0' END AS rid) AS r;
ANALYZE;
";

    fn node_names(plan: &Value, out: &mut Vec<String>) {
        let kind = plan["Node Type"].as_str().unwrap_or_default();
        let on = plan["Index Name"].as_str().or(plan["Relation Name"].as_str()).unwrap_or_default();
        out.push(format!("{kind} {on}"));
        for child in plan["Plans"].as_array().into_iter().flatten() {
            node_names(child, out);
        }
    }

    fn query(text: &str, filter: &Filter, order: SearchOrder, offset: u64) -> SearchQuery {
        SearchQuery { rid: "R0".into(), terms: terms(text), filter: filter.clone(), order, offset, count: 20 }
    }

    async fn ids(client: &tokio_postgres::Client, query: &SearchQuery, path: Path) -> Vec<String> {
        let (sql, params, _) = search_sql(query, path);
        let sql = format!("SELECT doc->>'_id' FROM ({sql} LIMIT 20 OFFSET {}) AS found", query.offset);
        let rows = client.query(&sql, &refs(&params)).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.iter().map(|r| r.get(0)).collect()
    }

    /// A store in a schema of its own holding [`DATA`], a plain connection
    /// to it, and the guard that drops the schema.
    async fn loaded() -> (PgStore, tokio_postgres::Client, SchemaGuard) {
        let url = database_url();
        let schema = unique_schema();
        let guard = SchemaGuard::new(&url, &schema);
        let store = PgStore::connect(&url, options(&schema)).await.expect("connect");
        let client = raw(&url, &schema).await;
        client.batch_execute(DATA).await.expect("data");
        (store, client, guard)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
    async fn searches_use_the_text_index() {
        let (store, client, _guard) = loaded().await;
        let from = Filter::parse(Some(r#"{"u._id": {"$in": ["U1", "U2"]}}"#)).expect("filter");
        // `deploy` is in every message: only the walk is asked of it (the
        // statistics send it there; through the index, the planner rightly
        // reads the whole table).
        let cases = ["needle", "rare17 deploy", "\"rare17 needle\" -x", "needl*", "rare177*", "deploy"];
        for text in cases {
            for filter in [Filter::True, from.clone()] {
                for order in [SearchOrder::Newest, SearchOrder::Oldest, SearchOrder::Relevance] {
                    let query = query(text, &filter, order, 0);
                    for (path, uses) in
                        [(Path::Index, " messages_search"), (Path::Walk(5_000), " messages_rid_ts")]
                    {
                        if text == "deploy" && path == Path::Index {
                            continue;
                        }
                        let (sql, params, exact) = search_sql(&query, path);
                        assert!(exact);
                        let sql = format!("EXPLAIN (FORMAT JSON) {sql} LIMIT 20");
                        let row = client
                            .query_one(&sql, &refs(&params))
                            .await
                            .unwrap_or_else(|e| panic!("{sql}: {e}"));
                        let plan: Value = row.get(0);
                        let mut nodes = Vec::new();
                        node_names(&plan[0]["Plan"], &mut nodes);
                        assert!(nodes.iter().any(|n| n.ends_with(uses)), "{text:?} {path:?}: {nodes:?}");
                        assert!(!nodes.iter().any(|n| n.starts_with("Seq Scan")), "{text:?}: {nodes:?}");
                        // The index path never reads the room's B-tree range.
                        if path == Path::Index {
                            assert!(
                                !nodes.iter().any(|n| n.ends_with(" messages_rid_ts")),
                                "{text:?}: {nodes:?}"
                            );
                        }
                    }
                }
            }
        }
        // And it finds what the plans promise.
        let needle = query("NEEDLE", &Filter::True, SearchOrder::Newest, 0);
        assert_eq!(ids(&client, &needle, Path::Index).await, vec!["M40029", "M30022", "M10008", "M1"]);
        store.close().await;
    }

    /// The walk and the index path give the same pages, for both orders,
    /// offsets, operators and a walk whose budget runs out (it hands over);
    /// the store's search (which chooses) gives them too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
    async fn both_access_paths_give_the_same_pages() {
        let (store, client, _guard) = loaded().await;
        // A removed message is never found, whichever path.
        client.batch_execute("UPDATE messages SET t = 'rm' WHERE id = 'M49999'").await.expect("remove");
        let from = Filter::parse(Some(r#"{"u._id": {"$in": ["U1", "U2"]}}"#)).expect("filter");
        let mut walked_full = 0;
        for text in
            ["deploy", "deploy release", "\"the release\"", "rare1*", "deploy -rare3", "rare17", "needle"]
        {
            for filter in [Filter::True, from.clone()] {
                for order in [SearchOrder::Newest, SearchOrder::Oldest] {
                    for offset in [0, 20, 39_990] {
                        let query = query(text, &filter, order, offset);
                        let by_index = ids(&client, &query, Path::Index).await;
                        let walked = ids(&client, &query, Path::Walk(1_000_000)).await;
                        assert_eq!(walked, by_index, "{text:?} {order:?} {offset}");
                        let short = ids(&client, &query, Path::Walk(100)).await;
                        assert!(
                            by_index.starts_with(&short) || short.len() < 20,
                            "{text:?}: a walk's page is a prefix"
                        );
                        walked_full += usize::from(short.len() == 20);
                        let chosen = store.search_messages(&query).await.expect("search");
                        let chosen: Vec<String> = chosen.into_iter().map(|m| m.id).collect();
                        assert_eq!(chosen, by_index, "{text:?} {order:?} {offset}");
                    }
                }
            }
        }
        assert!(walked_full > 0, "some pages fill within a short walk");
        assert!(!ids(&client, &query("deploy", &Filter::True, SearchOrder::Newest, 0), Path::Index)
            .await
            .contains(&"M49999".to_owned()));
        store.close().await;
    }
}
