//! `threadsync-sync-ceiling`: the ceiling of `threadsync-load`'s `s1` (hot
//! `chat.syncThreadMessages`) on SQLite, as a separate minimal process.
//!
//! It opens the server's SQLite file read-only and answers
//! `GET /bench/raw-sync?tmid=&updatedSince=&count=` with the one indexed
//! range query a thread delta needs — the same `UNION ALL` of the
//! messages' and tombstones' `tmid` indexes, merged in stamp order — and
//! splices the stored documents into the body as they are. No auth, no
//! settings, no access check, no decoding of the documents, no shaping, no
//! connection pool hop: each tokio worker thread has its own read-only
//! connection and runs the statement inline. Whatever the server spends
//! above this is its own work, so `s1 / ceiling` is the figure the issue
//! asks for (docs/load.md). Loopback only; it never writes.

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
use std::sync::Arc;
use threadsync_domain::Timestamp;

#[derive(Parser, Debug)]
#[command(
    name = "threadsync-sync-ceiling",
    about = "Minimal read-only thread-delta server over a threadsync SQLite file: the ceiling of threadsync-load's s1 (loopback only)."
)]
struct Args {
    /// The server's SQLite database file (`<data>/threadsync.db`).
    #[arg(long)]
    db: PathBuf,
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
const FEED: &str = "SELECT updated_at AS stamp, doc, NULL FROM messages WHERE tmid = ?1 AND updated_at > ?2 \
     UNION ALL \
     SELECT deleted_at AS stamp, NULL, id FROM tombstones WHERE tmid = ?1 AND deleted_at > ?2 \
     ORDER BY stamp LIMIT ?3";

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

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        eprintln!("threadsync-sync-ceiling: --listen must be a loopback address");
        return std::process::ExitCode::from(2);
    }
    // Fail now, not at the first request, if the file is not a threadsync store.
    if let Err(e) = open(&args.db).and_then(|c| c.prepare(FEED).map(|_| ())) {
        eprintln!("threadsync-sync-ceiling: {}: {e}", args.db.display());
        return std::process::ExitCode::from(2);
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
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        // The load tool and scripts read the address from this line.
        println!("listening on http://{}", listener.local_addr()?);
        let app = Router::new().route("/bench/raw-sync", get(raw_sync)).with_state(Arc::new(args.db));
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

/// `GET /bench/raw-sync`: the thread feed, documents spliced in unparsed.
async fn raw_sync(State(db): State<Arc<PathBuf>>, Query(p): Query<Params>) -> Response {
    let Some(since) = Timestamp::parse(&p.updated_since) else {
        return (StatusCode::BAD_REQUEST, "bad updatedSince").into_response();
    };
    let limit = p.count.unwrap_or(1000).clamp(1, 1000);
    let body = CONN.with(|cell| -> rusqlite::Result<String> {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(open(&db)?);
        }
        let conn = slot.as_ref().expect("opened above");
        let mut stmt = conn.prepare_cached(FEED)?;
        let mut rows = stmt.query(rusqlite::params![p.tmid, since.millis(), limit])?;
        let mut update = String::from("{\"messages\":{\"update\":[");
        let mut remove = String::from("],\"remove\":[");
        let (mut first_update, mut first_remove) = (true, true);
        while let Some(row) = rows.next()? {
            match row.get_ref(1)?.as_str_or_null()? {
                Some(doc) => {
                    if !std::mem::take(&mut first_update) {
                        update.push(',');
                    }
                    update.push_str(doc);
                }
                None => {
                    if !std::mem::take(&mut first_remove) {
                        remove.push(',');
                    }
                    let stamp = Timestamp::from_millis(row.get(0)?);
                    let id: String = row.get(2)?;
                    // Ids are generated by the server: no escaping needed.
                    let _ = write!(remove, "{{\"_id\":\"{id}\",\"_deletedAt\":\"{}\"}}", stamp.to_iso());
                }
            }
        }
        update.push_str(&remove);
        update.push_str("]},\"success\":true}");
        Ok(update)
    });
    match body {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
