//! Index evidence (docs/sync.md#indexes-cost-follows-the-delta): the exact statements the
//! sync paths run, explained by PostgreSQL on tables holding tens of
//! thousands of rows (after ANALYZE, with the planner's default settings),
//! use the indexes made for them and scan no table.
//!
//! Needs `TEST_DATABASE_URL`; ignored without it (see build.rs).

use crate::sync::{self, changes_sql};
use crate::test_support::{fresh, raw};
use serde_json::Value;
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::query::Filter;
use threadsync_domain::Timestamp;
use threadsync_storage::{ChangeScope, Cursor, Store, ThreadKind, ThreadListQuery};
use tokio_postgres::types::ToSql;

/// Every node of a plan, depth first.
fn nodes<'a>(plan: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(plan);
    if let Some(children) = plan.get("Plans").and_then(Value::as_array) {
        for child in children {
            nodes(child, out);
        }
    }
}

struct Plan {
    indexes: Vec<String>,
    seq_scans: Vec<String>,
    /// Sort nodes and their estimated input rows.
    sorts: Vec<(String, f64)>,
    text: String,
}

async fn explain(client: &tokio_postgres::Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Plan {
    let row = client
        .query_one(&format!("EXPLAIN (FORMAT JSON) {sql}"), params)
        .await
        .unwrap_or_else(|e| panic!("EXPLAIN {sql}: {e}"));
    read_plan(row.get(0))
}

/// The facts of an `EXPLAIN (FORMAT JSON)` answer the tests check.
fn read_plan(json: Value) -> Plan {
    let root = &json[0]["Plan"];
    let mut all = Vec::new();
    nodes(root, &mut all);
    let indexes =
        all.iter().filter_map(|n| n.get("Index Name").and_then(Value::as_str)).map(str::to_owned).collect();
    let seq_scans = all
        .iter()
        .filter(|n| n.get("Node Type").and_then(Value::as_str) == Some("Seq Scan"))
        .filter_map(|n| n.get("Relation Name").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    let sorts = all
        .iter()
        .filter(|n| n.get("Node Type").and_then(Value::as_str).is_some_and(|t| t.contains("Sort")))
        .map(|n| {
            let kind = n.get("Node Type").and_then(Value::as_str).unwrap_or_default().to_owned();
            (kind, n.get("Plan Rows").and_then(Value::as_f64).unwrap_or(f64::MAX))
        })
        .collect();
    Plan { indexes, seq_scans, sorts, text: json.to_string() }
}

/// Asserts the plan uses an index whose name starts with each of `indexes`
/// and scans no table.
#[track_caller]
fn assert_indexed(what: &str, plan: &Plan, indexes: &[&str]) {
    for index in indexes {
        assert!(
            plan.indexes.iter().any(|i| i.starts_with(index)),
            "{what}: should use {index}; uses {:?}; plan: {}",
            plan.indexes,
            plan.text
        );
    }
    assert!(plan.seq_scans.is_empty(), "{what}: scans {:?}; plan: {}", plan.seq_scans, plan.text);
}

/// Asserts the plan reads its rows in order from the indexes, or sorts no
/// more than about the rows it must read anyway (`wanted`: offset + limit;
/// the planner may sort a small side, e.g. ten tombstones, or a whole
/// range not much bigger than the page): the cost follows the rows
/// returned, not the rows matching.
#[track_caller]
fn assert_ordered(what: &str, plan: &Plan, wanted: u64) {
    let bound = (2 * wanted).max(100) as f64;
    for (node, rows) in &plan.sorts {
        assert!(*rows <= bound, "{what}: sorts {rows} rows ({node}); plan: {}", plan.text);
    }
}

/// 2000 rooms; in the first 20, 2000 messages each (message `i` is in room
/// `i % 20`; every 20th of a room is a thread parent, the others replies
/// spread over the room's 100 threads, ~19 each), one big thread (`M3`,
/// 8000 more replies), and 20 000 tombstones.
const DATA: &str = "
INSERT INTO rooms (id, t, name, name_lower, dm_key, ts, updated_at, clock, doc)
SELECT 'R' || r, CASE WHEN r % 3 = 0 THEN 'd' ELSE 'c' END,
       'room ' || r, 'room ' || r,
       CASE WHEN r % 3 = 0 THEN '[\"u' || r || '\",\"v' || r || '\"]' END,
       r, r, 0, '{}'::jsonb
FROM generate_series(0, 1999) AS r;

INSERT INTO messages (id, rid, tmid, ts, updated_at, tlm, tcount, u_id, t, doc)
SELECT 'M' || i, 'R' || (i % 20),
       CASE WHEN (i / 20) % 20 = 0 THEN NULL ELSE 'M' || (((i / 20) % 100) * 400 + i % 20) END,
       i, i,
       CASE WHEN (i / 20) % 20 = 0 THEN i END,
       CASE WHEN (i / 20) % 20 = 0 THEN 5 END,
       'U' || (i % 7), NULL,
       jsonb_build_object('_id', 'M' || i, 'msg', 'text ' || i, 'u', jsonb_build_object('_id', 'U' || (i % 7), 'username', 'user' || (i % 7)))
FROM generate_series(0, 39999) AS i;

-- One big thread: M3 (a parent in room R3) gets 8000 more replies.
INSERT INTO messages (id, rid, tmid, ts, updated_at, tlm, tcount, u_id, t, doc)
SELECT 'B' || i, 'R3', 'M3', 50000 + i, 50000 + i, NULL, NULL, 'U' || (i % 7), NULL,
       jsonb_build_object('_id', 'B' || i, 'msg', 'big ' || i)
FROM generate_series(0, 7999) AS i;

INSERT INTO tombstones (id, rid, tmid, deleted_at, was_thread)
SELECT 'D' || i, 'R' || (i % 20), CASE WHEN i % 4 = 0 THEN NULL ELSE 'M' || (i % 2000) END,
       100000 + i, i % 20 = 0
FROM generate_series(0, 19999) AS i;

ANALYZE;
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn every_sync_query_uses_an_index() {
    let (store, guard) = fresh().await;
    let client = raw(&guard.url, &guard.schema).await;
    client.batch_execute(DATA).await.expect("data");

    // With and without a client query: the query narrows inside the
    // indexed range, it never changes the access path.
    let regex =
        Filter::parse(Some(r#"{"msg": {"$regex": "^text 1"}, "u.username": "user3"}"#)).expect("query");
    for filter in [Filter::True, regex.clone()] {
        let scopes = [
            (ChangeScope::Thread("M3"), ["messages_tmid_updated", "tombstones_tmid_deleted"]),
            (ChangeScope::ThreadParents("R3"), ["messages_threads_updated", "tombstones_threads_deleted"]),
            (ChangeScope::Room("R3"), ["messages_rid_updated", "tombstones_rid_deleted"]),
            // A thread of 20 replies: either index of the thread will do.
            (ChangeScope::Thread("M403"), ["messages_tmid_", "tombstones_tmid_deleted"]),
        ];
        for (scope, indexes) in scopes {
            for offset in [Some(0), Some(500), None] {
                let (sql, params, _) = changes_sql(scope, Timestamp(1000), &filter, 51, offset);
                let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
                let plan = explain(&client, &sql, &refs).await;
                let what = format!("feed {scope:?} offset {offset:?}");
                assert_indexed(&what, &plan, &indexes);
                // A delta of thousands of rows is read in order, under the
                // LIMIT, never collected and sorted (a few dozen may be).
                if scope != ChangeScope::Thread("M403") {
                    assert_ordered(&what, &plan, 51 + offset.unwrap_or(0));
                }
            }
        }

        for (sort, offset) in [(Sort::default(), 0), (Sort::by(SortField::Ts, Direction::Desc), 10)] {
            let listing = sync::thread_replies_listing("M3", &filter, &sort);
            let refs: Vec<&(dyn ToSql + Sync)> = listing.params.iter().map(|p| p.as_ref() as _).collect();
            let plan = explain(&client, &listing.page_sql(offset, 50), &refs).await;
            assert_indexed(&format!("thread replies {sort:?}"), &plan, &["messages_tmid_ts"]);
            assert_ordered(&format!("thread replies {sort:?}"), &plan, 50 + offset);
            let plan = explain(&client, &listing.select, &refs).await;
            assert_indexed(&format!("thread replies (all) {sort:?}"), &plan, &["messages_tmid"]);
            let plan = explain(&client, &listing.count, &refs).await;
            assert_indexed("thread replies count", &plan, &["messages_tmid"]);
        }

        for kind in [ThreadKind::All, ThreadKind::Following("U3".into())] {
            let query = ThreadListQuery {
                rid: "R3".into(),
                kind: kind.clone(),
                text: Some("x".into()),
                filter: filter.clone(),
                sort: Sort::default(),
                offset: 0,
                count: 50,
            };
            let listing = sync::thread_parents_listing(&query).expect("listing");
            let refs: Vec<&(dyn ToSql + Sync)> = listing.params.iter().map(|p| p.as_ref() as _).collect();
            let plan = explain(&client, &listing.page_sql(0, 50), &refs).await;
            if kind == ThreadKind::All {
                assert_indexed("thread parents", &plan, &["messages_threads_tlm"]);
                assert_ordered("thread parents", &plan, 50);
            } else {
                // Few followed threads expected: either partial index of
                // the room's threads, then a sort of the few that match.
                assert_indexed(&format!("thread parents {kind:?}"), &plan, &["messages_threads_"]);
            }
            let plan = explain(&client, &listing.count, &refs).await;
            assert_indexed(&format!("thread parents count {kind:?}"), &plan, &["messages_threads_"]);
        }
        // A handful of ids: the primary key finds them directly.
        let among = ThreadListQuery {
            rid: "R3".into(),
            kind: ThreadKind::Among(vec!["M3".into(), "M403".into(), "x".into()]),
            text: None,
            filter: filter.clone(),
            sort: Sort::default(),
            offset: 0,
            count: 50,
        };
        let listing = sync::thread_parents_listing(&among).expect("listing");
        let refs: Vec<&(dyn ToSql + Sync)> = listing.params.iter().map(|p| p.as_ref() as _).collect();
        let plan = explain(&client, &listing.page_sql(0, 50), &refs).await;
        assert_indexed("thread parents among", &plan, &["messages_"]);
    }

    for cursor in [Cursor::After(Timestamp(1000)), Cursor::Before(Timestamp(30000))] {
        let (sql, stamp) = sync::room_updates_sql(cursor);
        let plan = explain(&client, &sql, &[&"R3", &stamp, &50i64]).await;
        assert_indexed(&format!("room updates {cursor:?}"), &plan, &["messages_rid_updated"]);
        let (sql, stamp) = sync::room_removals_sql(cursor);
        let plan = explain(&client, &sql, &[&"R3", &(stamp + 100_000), &50i64]).await;
        assert_indexed(&format!("room removals {cursor:?}"), &plan, &["tombstones_rid_deleted"]);
    }
    let plan = explain(&client, sync::ROOM_TOMBSTONES_SQL, &[&"R3", &100_000i64, &50i64, &0i64]).await;
    assert_indexed("room tombstones", &plan, &["tombstones_rid_deleted"]);
    let plan = explain(&client, sync::ROOM_TOMBSTONES_COUNT_SQL, &[&"R3", &100_000i64]).await;
    assert_indexed("room tombstones count", &plan, &["tombstones_rid_deleted"]);

    let plan =
        explain(&client, "SELECT doc FROM rooms WHERE name_lower = $1 AND t IN ('c', 'p')", &[&"room 7"])
            .await;
    assert_indexed("room by name", &plan, &["rooms_name_lower"]);
    let plan = explain(
        &client,
        "SELECT doc FROM rooms WHERE dm_key = $1 AND t = 'd' ORDER BY ts, id LIMIT 1",
        &[&"[\"u3\",\"v3\"]"],
    )
    .await;
    assert_indexed("direct room", &plan, &["rooms_dm_key"]);
    store.close().await;
}

/// The highest `$n` a statement uses.
fn parameter_count(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// A send's statements, planned on a new database (every table empty,
/// never sampled) the way write transactions plan them: one generic plan
/// kept for the connection's life (`force_generic_plan`, lib.rs). A plan
/// chosen for an empty table must still probe keys, because it is kept
/// while the table grows: the id check once hashed all of `messages` on
/// every send (a hashed `EXISTS` subplan), and a new database's sends into
/// one room ran at about half their rate, falling as the table grew
/// (BENCHMARKS.md, issue 14).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn a_new_databases_send_plans_probe_keys() {
    use crate::messages::{COUNT_FOR_MEMBERS, IDS_AND_PARENTS, INSERT_ALL, LOCK_ROOM};
    let (store, guard) = fresh().await;
    let client = raw(&guard.url, &guard.schema).await;
    client.batch_execute("SET plan_cache_mode = force_generic_plan").await.expect("generic plans");
    let statements = [
        ("room lock", LOCK_ROOM, &["rooms_pkey"][..]),
        ("id check and parents", IDS_AND_PARENTS, &["messages_pkey"][..]),
        (
            "the send's writes",
            INSERT_ALL,
            &["rooms_pkey", "messages_pkey", "subscriptions_rid_user_id_key"][..],
        ),
        ("members' counters", COUNT_FOR_MEMBERS, &["subscriptions_rid_user_id_key"][..]),
    ];
    for (n, (what, sql, indexes)) in statements.into_iter().enumerate() {
        client.batch_execute(&format!("PREPARE send_{n} AS {sql}")).await.expect("prepare");
        let nulls = vec!["NULL"; parameter_count(sql)].join(", ");
        let row = client
            .query_one(&format!("EXPLAIN (FORMAT JSON) EXECUTE send_{n}({nulls})"), &[])
            .await
            .unwrap_or_else(|e| panic!("EXPLAIN {what}: {e}"));
        let plan = read_plan(row.get(0));
        assert_indexed(what, &plan, indexes);
        assert!(!plan.text.contains("hashed SubPlan"), "{what}: hashes a table; plan: {}", plan.text);
    }
    store.close().await;
}
