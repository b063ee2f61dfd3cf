//! `threadsync-sync-ceiling`: the ceiling of `threadsync-load`'s `s1` (hot
//! `chat.syncThreadMessages`), as a separate minimal process, over either
//! of the server's stores.
//!
//! It answers `GET /bench/raw-sync?tmid=&updatedSince=&count=` with the one
//! indexed range query a thread delta needs — the same `UNION ALL` of the
//! messages' and tombstones' `tmid` indexes, merged in stamp order — and
//! splices the stored documents into the body as they are. No auth, no
//! settings, no access check, no decoding of the documents, no shaping.
//! Whatever the server spends above this is its own work, so
//! `s1 / ceiling` is the figure the benchmarks report (docs/load.md).
//! Loopback only; it never writes.
//!
//! - SQLite (`--db`): each tokio worker thread has its own read-only
//!   connection and runs the statement inline (no pool hop).
//! - PostgreSQL (`--database-url`, `--pg-schema`): `--pg-connections`
//!   connections (by default as many as the server's shared read
//!   connections) opened at start, each with the statement prepared once,
//!   taken in turn by the requests (a connection pipelines the statements
//!   sent to it while others are under way, so no request waits for a
//!   free one). The statement is the server's own feed statement for a
//!   thread (crates/storage-postgres/src/sync.rs), so the difference with
//!   `pgbench -S` on the same server is what PostgreSQL does per delta and
//!   the difference with `s1` is the server's own work.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clap::Parser;
use rusqlite::{Connection, OpenFlags};
use serde::Deserialize;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use threadsync_domain::Timestamp;

#[derive(Parser, Debug)]
#[command(
    name = "threadsync-sync-ceiling",
    about = "Minimal read-only thread-delta server over a threadsync store: the ceiling of threadsync-load's s1 (loopback only)."
)]
struct Args {
    /// The server's SQLite database file (`<data>/threadsync.db`).
    #[arg(long, conflicts_with = "database_url", required_unless_present = "database_url")]
    db: Option<PathBuf>,
    /// The server's PostgreSQL database (`postgres://...`), instead of `--db`.
    #[arg(long)]
    database_url: Option<String>,
    /// The schema the server was served with (`serve --pg-schema`).
    #[arg(long, requires = "database_url")]
    pg_schema: Option<String>,
    /// PostgreSQL connections [default: half the CPU cores, at least one,
    /// as the server's `--pg-read-connections`, which its hot feeds share]
    #[arg(long)]
    pg_connections: Option<usize>,
    /// Address to listen on; only loopback addresses are accepted.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Worker threads (each with its own read-only connection).
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

/// The statement: the thread's messages and tombstones after a stamp, in
/// stamp order, one row more than asked. Both halves walk an index
/// (`messages_tmid_updated`, `tombstones_tmid_deleted`), as the server's do.
const SQLITE_FEED: &str =
    "SELECT updated_at AS stamp, doc, NULL FROM messages WHERE tmid = ?1 AND updated_at > ?2 \
     UNION ALL \
     SELECT deleted_at AS stamp, NULL, id FROM tombstones WHERE tmid = ?1 AND deleted_at > ?2 \
     ORDER BY stamp LIMIT ?3";

/// The server's feed statement for a thread with no filter and no offset
/// (`changes_sql` for `ChangeScope::Thread` in crates/storage-postgres):
/// `$1` the thread, `$2` the stamp to go past, `$3` the rows to return.
const POSTGRES_FEED: &str = "(SELECT updated_at AS stamp, doc, NULL::text COLLATE \"C\" AS id \
         FROM messages WHERE tmid = $1 AND updated_at > $2 AND (true) ORDER BY updated_at LIMIT $3) \
     UNION ALL \
     (SELECT deleted_at, NULL::jsonb, id FROM tombstones WHERE tmid = $1 AND deleted_at > $2 \
         ORDER BY deleted_at LIMIT $3) \
     ORDER BY stamp LIMIT $3";

thread_local! {
    static CONN: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

#[derive(Deserialize)]
struct Params {
    tmid: String,
    #[serde(rename = "updatedSince")]
    updated_since: String,
    count: Option<i64>,
}

/// Where the feed is read from.
enum Store {
    Sqlite(PathBuf),
    Postgres(PgConnections),
}

/// PostgreSQL connections, each with the feed prepared, taken in turn.
struct PgConnections {
    connections: Vec<(tokio_postgres::Client, tokio_postgres::Statement)>,
    next: AtomicUsize,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        eprintln!("threadsync-sync-ceiling: --listen must be a loopback address");
        return std::process::ExitCode::from(2);
    }
    if let Some(db) = &args.db {
        // Fail now, not at the first request, if the file is not a threadsync store.
        if let Err(e) = open(db).and_then(|c| c.prepare(SQLITE_FEED).map(|_| ())) {
            eprintln!("threadsync-sync-ceiling: {}: {e}", db.display());
            return std::process::ExitCode::from(2);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("threadsync-sync-ceiling: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let result: anyhow::Result<()> = runtime.block_on(async move {
        let store = match (&args.db, &args.database_url) {
            (Some(db), _) => Store::Sqlite(db.clone()),
            (None, Some(url)) => Store::Postgres(
                connect(url, args.pg_schema.as_deref(), pg_connections(args.pg_connections)).await?,
            ),
            (None, None) => anyhow::bail!("give --db or --database-url"),
        };
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        // The load tool and scripts read the address from this line.
        println!("listening on http://{}", listener.local_addr()?);
        let app = Router::new().route("/bench/raw-sync", get(raw_sync)).with_state(Arc::new(store));
        axum::serve(listener, app).await?;
        Ok(())
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("threadsync-sync-ceiling: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

fn open(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.set_prepared_statement_cache_capacity(4);
    Ok(conn)
}

/// The connections to open: as many as the server shares among its hot
/// feeds by default, unless told.
fn pg_connections(asked: Option<usize>) -> usize {
    asked.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().div_ceil(2))).max(1)
}

/// Opens `n` connections to the server's database (its schema first in the
/// search path, as the server sets it) and prepares the feed on each. No
/// TLS: loopback only, like the server's default without `sslmode`.
async fn connect(url: &str, schema: Option<&str>, n: usize) -> anyhow::Result<PgConnections> {
    let mut config: tokio_postgres::Config = url.parse()?;
    if let Some(schema) = schema {
        config.options(format!("-c search_path={schema}"));
    }
    let mut connections = Vec::with_capacity(n);
    for _ in 0..n {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("threadsync-sync-ceiling: connection: {e}");
            }
        });
        let statement = client.prepare(POSTGRES_FEED).await?;
        connections.push((client, statement));
    }
    Ok(PgConnections { connections, next: AtomicUsize::new(0) })
}

/// A feed's body, built as its rows arrive: stored documents spliced in as
/// they are, removals written from their id and stamp.
struct Body {
    update: String,
    remove: String,
    first_update: bool,
    first_remove: bool,
}

impl Body {
    fn new() -> Self {
        Body {
            update: String::from("{\"messages\":{\"update\":["),
            remove: String::from("],\"remove\":["),
            first_update: true,
            first_remove: true,
        }
    }

    fn updated(&mut self, doc: &str) {
        if !std::mem::take(&mut self.first_update) {
            self.update.push(',');
        }
        self.update.push_str(doc);
    }

    fn removed(&mut self, id: &str, stamp: i64) {
        if !std::mem::take(&mut self.first_remove) {
            self.remove.push(',');
        }
        // Ids are generated by the server: no escaping needed.
        let _ = write!(
            self.remove,
            "{{\"_id\":\"{id}\",\"_deletedAt\":\"{}\"}}",
            Timestamp::from_millis(stamp).to_iso()
        );
    }

    fn finish(mut self) -> String {
        self.update.push_str(&self.remove);
        self.update.push_str("]},\"success\":true}");
        self.update
    }
}

/// A `jsonb` column's bytes as PostgreSQL sends them (a version byte, then
/// the document's JSON text), borrowed from the row: no parse.
struct RawJsonb<'a>(&'a str);

impl<'a> tokio_postgres::types::FromSql<'a> for RawJsonb<'a> {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        match raw.split_first() {
            Some((1, text)) => Ok(RawJsonb(std::str::from_utf8(text)?)),
            _ => Err("unexpected jsonb format".into()),
        }
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        *ty == tokio_postgres::types::Type::JSONB
    }
}

/// `GET /bench/raw-sync`: the thread feed, documents spliced in unparsed.
async fn raw_sync(State(store): State<Arc<Store>>, Query(p): Query<Params>) -> Response {
    let Some(since) = Timestamp::parse(&p.updated_since) else {
        return (StatusCode::BAD_REQUEST, "bad updatedSince").into_response();
    };
    let limit = p.count.unwrap_or(1000).clamp(1, 1000);
    let body = match &*store {
        Store::Sqlite(db) => sqlite_feed(db, &p.tmid, since, limit).map_err(|e| e.to_string()),
        Store::Postgres(pg) => postgres_feed(pg, &p.tmid, since, limit).await.map_err(|e| e.to_string()),
    };
    match body {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

fn sqlite_feed(db: &std::path::Path, tmid: &str, since: Timestamp, limit: i64) -> rusqlite::Result<String> {
    CONN.with(|cell| -> rusqlite::Result<String> {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(open(db)?);
        }
        let conn = slot.as_ref().expect("opened above");
        let mut stmt = conn.prepare_cached(SQLITE_FEED)?;
        let mut rows = stmt.query(rusqlite::params![tmid, since.millis(), limit])?;
        let mut body = Body::new();
        while let Some(row) = rows.next()? {
            match row.get_ref(1)?.as_str_or_null()? {
                Some(doc) => body.updated(doc),
                None => body.removed(&row.get::<_, String>(2)?, row.get(0)?),
            }
        }
        Ok(body.finish())
    })
}

async fn postgres_feed(
    pg: &PgConnections,
    tmid: &str,
    since: Timestamp,
    limit: i64,
) -> Result<String, tokio_postgres::Error> {
    let turn = pg.next.fetch_add(1, Ordering::Relaxed) % pg.connections.len();
    let (client, statement) = &pg.connections[turn];
    let rows = client.query(statement, &[&tmid, &since.millis(), &limit]).await?;
    let mut body = Body::new();
    for row in &rows {
        match row.try_get::<_, Option<RawJsonb>>(1)? {
            Some(doc) => body.updated(doc.0),
            None => body.removed(row.try_get::<_, &str>(2)?, row.try_get(0)?),
        }
    }
    Ok(body.finish())
}
