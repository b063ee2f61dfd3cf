//! Small helpers shared by the query modules: error mapping, a connection
//! abstraction over pooled clients and transactions, JSON columns and
//! paging arguments.

use async_trait::async_trait;
use bytes::BufMut;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use threadsync_domain::{StoredMessage, Timestamp};
use threadsync_storage::{StorageError, StorageResult};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::{Row, Statement};

/// A statement's parameters as tokio-postgres takes them.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Which uniqueness rule a unique violation broke, by the constraint's name
/// (the names are fixed in migrations/0001_init.sql). The query modules
/// check the rules explicitly before writing; unlike SQLite's single
/// writer, several PostgreSQL transactions (of one or several server
/// instances) can pass those checks at once, so this mapping is what
/// answers the loser of such a race.
const UNIQUE_RULES: &[(&str, &str)] = &[
    ("users_pkey", "id"),
    ("users_username_lower_key", "username"),
    ("user_emails_pkey", "email"),
    ("login_tokens_pkey", "token"),
    ("rooms_pkey", "id"),
    ("rooms_name_lower", "room_name"),
    ("subscriptions_pkey", "id"),
    ("subscriptions_rid_user_id_key", "subscription"),
    ("messages_pkey", "id"),
    ("tombstones_pkey", "id"),
    ("settings_pkey", "setting"),
    ("roles_pkey", "id"),
    ("roles_name_key", "role_name"),
];

/// The start of the message of errors after which the whole transaction
/// may simply be run again (deadlock, serialization failure).
const RETRYABLE: &str = "postgres: transaction aborted, retryable";

/// Maps a tokio-postgres error to the storage error the traits document.
pub(crate) fn err(e: tokio_postgres::Error) -> StorageError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION {
            let rule = db
                .constraint()
                .and_then(|name| UNIQUE_RULES.iter().find(|(c, _)| *c == name))
                .map_or("unique", |(_, rule)| *rule);
            return StorageError::Conflict(rule);
        }
        if *code == SqlState::FOREIGN_KEY_VIOLATION {
            return StorageError::NotFound("reference");
        }
        if *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE {
            return StorageError::Backend(format!("{RETRYABLE} ({}): {}", code.code(), db.message()));
        }
        return StorageError::Backend(format!("postgres error {}: {}", code.code(), db.message()));
    }
    StorageError::Backend(format!("postgres: {}", describe(&e)))
}

/// A driver error with its causes. tokio_postgres's own text is often just
/// "error connecting to server"; the reason (the OS's "Connection refused",
/// a timeout, a DNS failure) is its source. No part of the chain holds the
/// connection string, so no password.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Whether a failed transaction may be run again as a whole.
pub(crate) fn retryable(e: &StorageError) -> bool {
    matches!(e, StorageError::Backend(m) if m.starts_with(RETRYABLE))
}

pub(crate) fn pool_err(e: deadpool_postgres::PoolError) -> StorageError {
    StorageError::Backend(format!("postgres pool: {e}"))
}

/// Whether an error says the database could not be used at all (no pooled
/// connection, a lost or refused connection, a transaction that kept
/// failing to serialise) rather than that it refused one statement: trying
/// the same work again at once, in smaller parts, would only fail again
/// (send_queue.rs).
pub(crate) fn unavailable(e: &StorageError) -> bool {
    // Every Backend text here starts with one of the three forms of `err`,
    // `pool_err` and `to_json`; a refused statement is "postgres error
    // <SQLSTATE>", which starts with neither prefix below.
    matches!(e, StorageError::Backend(m) if m.starts_with("postgres pool:") || m.starts_with("postgres: "))
}

/// A document serialised once, straight to the JSON text PostgreSQL stores:
/// going through a `serde_json::Value` first built a tree of maps and
/// strings only to walk it again (about a tenth of a send's time in this
/// process, BENCHMARKS.md, issue 14).
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StorageResult<JsonText> {
    serde_json::to_vec(value)
        .map(JsonText)
        .map_err(|e| StorageError::Backend(format!("serialising a document: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(value: Value) -> StorageResult<T> {
    serde_json::from_value(value).map_err(StorageError::corrupt_document)
}

/// A `json` / `jsonb` parameter: JSON text, already serialised.
#[derive(Debug)]
pub(crate) struct JsonText(Vec<u8>);

/// The version byte of `jsonb`'s binary form, which is that byte followed
/// by the document's JSON text (PostgreSQL's `jsonb_send`).
const JSONB_VERSION: u8 = 1;

impl ToSql for JsonText {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        if *ty == Type::JSONB {
            out.put_u8(JSONB_VERSION);
        }
        out.put_slice(&self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON || *ty == Type::JSONB
    }

    to_sql_checked!();
}

/// A `json` / `jsonb` column as its JSON text, borrowed from the row, so a
/// document deserialises straight into its type (no `Value` in between).
pub(crate) struct RawJson<'a>(pub(crate) &'a [u8]);

impl<'a> FromSql<'a> for RawJson<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        if *ty == Type::JSONB {
            match raw.split_first() {
                Some((&JSONB_VERSION, text)) => Ok(RawJson(text)),
                _ => Err("unsupported jsonb encoding version".into()),
            }
        } else {
            Ok(RawJson(raw))
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON || *ty == Type::JSONB
    }
}

impl RawJson<'_> {
    /// The document, deserialised.
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> StorageResult<T> {
        serde_json::from_slice(self.0).map_err(StorageError::corrupt_document)
    }

    /// The message document as stored, filed under `stamp`: its text copied
    /// out of the row and checked to be JSON, not decoded.
    pub(crate) fn stored(&self, stamp: Timestamp) -> StorageResult<StoredMessage> {
        let text = std::str::from_utf8(self.0).map_err(StorageError::corrupt_document)?;
        StoredMessage::from_text(stamp, text.to_owned()).map_err(StorageError::corrupt_document)
    }
}

/// Column `idx` of a row, mapping conversion failures to `Backend`.
pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, idx: usize) -> StorageResult<T> {
    row.try_get(idx).map_err(|e| StorageError::Backend(format!("postgres: reading column {idx}: {e}")))
}

/// A JSON document column, deserialised.
pub(crate) fn doc<T: DeserializeOwned>(row: &Row, idx: usize) -> StorageResult<T> {
    get::<RawJson>(row, idx)?.decode()
}

/// `u64` paging arguments as BIGINT (saturating: a count beyond `i64::MAX`
/// means "all" anyway).
pub(crate) fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A row count as `u64`.
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Where statements run: a pooled client (autocommit, one statement is one
/// snapshot) or a transaction. Static SQL goes through the connection's
/// statement cache; SQL built per request (filters, sorts) does not, so
/// the cache cannot grow without bound.
#[async_trait]
pub(crate) trait Conn: Send + Sync {
    /// Rows of a static statement (prepared once per connection).
    async fn rows(&self, sql: &str, params: Params<'_>) -> StorageResult<Vec<Row>>;
    /// Rows of a statement built per request (not cached).
    async fn rows_dyn(&self, sql: &str, params: Params<'_>) -> StorageResult<Vec<Row>>;
    /// At most one row of a static statement.
    async fn opt(&self, sql: &str, params: Params<'_>) -> StorageResult<Option<Row>>;
    /// Rows affected by a static statement.
    async fn exec(&self, sql: &str, params: Params<'_>) -> StorageResult<u64>;

    /// A static statement, prepared once per connection. Statements that
    /// are pipelined (see [`pipelined`]) are prepared first: a statement
    /// that still had to be prepared would be sent after the ones polled
    /// after it, and the order of a pipeline is what makes it correct.
    async fn statement(&self, sql: &str) -> StorageResult<Statement>;
    /// Rows of a prepared statement. The request is sent when the future
    /// is first polled.
    async fn query_prepared(&self, stmt: &Statement, params: Params<'_>) -> StorageResult<Vec<Row>>;
    /// A simple-protocol batch (no parameters). Sent when first polled.
    async fn batch(&self, sql: &str) -> StorageResult<()>;

    /// Exactly one row of a static statement.
    async fn one(&self, sql: &str, params: Params<'_>) -> StorageResult<Row> {
        self.opt(sql, params)
            .await?
            .ok_or_else(|| StorageError::Backend(format!("postgres: no row returned by {sql}")))
    }

    /// Whether a static `SELECT 1 ...` returns a row (give it `LIMIT 1`
    /// unless it can match one row at most).
    async fn exists(&self, sql: &str, params: Params<'_>) -> StorageResult<bool> {
        Ok(!self.rows(sql, params).await?.is_empty())
    }
}

macro_rules! impl_conn {
    ($ty:ty) => {
        #[async_trait]
        impl Conn for $ty {
            async fn rows(&self, sql: &str, params: Params<'_>) -> StorageResult<Vec<Row>> {
                let stmt = self.prepare_cached(sql).await.map_err(err)?;
                self.query(&stmt, params).await.map_err(err)
            }

            async fn rows_dyn(&self, sql: &str, params: Params<'_>) -> StorageResult<Vec<Row>> {
                self.query(sql, params).await.map_err(err)
            }

            async fn opt(&self, sql: &str, params: Params<'_>) -> StorageResult<Option<Row>> {
                let stmt = self.prepare_cached(sql).await.map_err(err)?;
                self.query_opt(&stmt, params).await.map_err(err)
            }

            async fn exec(&self, sql: &str, params: Params<'_>) -> StorageResult<u64> {
                let stmt = self.prepare_cached(sql).await.map_err(err)?;
                self.execute(&stmt, params).await.map_err(err)
            }

            async fn statement(&self, sql: &str) -> StorageResult<Statement> {
                self.prepare_cached(sql).await.map_err(err)
            }

            async fn query_prepared(&self, stmt: &Statement, params: Params<'_>) -> StorageResult<Vec<Row>> {
                self.query(stmt, params).await.map_err(err)
            }

            async fn batch(&self, sql: &str) -> StorageResult<()> {
                self.batch_execute(sql).await.map_err(err)
            }
        }
    };
}

impl_conn!(deadpool_postgres::ClientWrapper);
impl_conn!(deadpool_postgres::Transaction<'_>);

/// Runs two requests as one round trip: both are sent before either
/// answer is awaited, in this order, and PostgreSQL runs them in this
/// order on the connection (each statement of a READ COMMITTED
/// transaction takes its snapshot when it starts, so the second sees
/// everything committed before the first finished, e.g. before a lock it
/// waited for was granted). `futures_util`'s join polls its futures in
/// argument order, and a tokio-postgres request is sent at its first poll
/// (its statement prepared beforehand: [`Conn::statement`]).
pub(crate) async fn pipelined<A, B>(
    first: impl std::future::Future<Output = StorageResult<A>>,
    second: impl std::future::Future<Output = StorageResult<B>>,
) -> StorageResult<(A, B)> {
    let (a, b) = futures_util::future::join(first, second).await;
    Ok((a?, b?))
}

/// [`pipelined`] for any number of requests: every future is first polled
/// in the order given (so their requests go out in that order, each one's
/// statement prepared beforehand), then all are awaited; their outputs in
/// the same order.
pub(crate) async fn pipelined_all<F: std::future::Future>(requests: Vec<F>) -> Vec<F::Output> {
    use futures_util::future::{maybe_done, MaybeDone};
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Poll;
    let mut requests: Vec<Pin<Box<MaybeDone<F>>>> =
        requests.into_iter().map(|f| Box::pin(maybe_done(f))).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for request in requests.iter_mut() {
            pending |= request.as_mut().poll(cx).is_pending();
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    requests.iter_mut().filter_map(|r| r.as_mut().take_output()).collect()
}

/// A string as an SQL literal, for the one simple-protocol statement that
/// takes text (the post-commit `pg_notify`, events.rs). The connections
/// run with `standard_conforming_strings` on (PostgreSQL's default, which
/// [`PgStore`](crate::PgStore) never changes), so doubling `'` is the whole
/// escaping (the payloads are JSON text, which has no NUL character).
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_tells_an_unusable_database_from_a_refused_statement() {
        let backend = |m: &str| StorageError::Backend(m.to_owned());
        assert!(unavailable(&backend("postgres pool: Timeout occurred while waiting for a slot")));
        assert!(unavailable(&backend("postgres: connection closed")));
        assert!(unavailable(&backend(&format!("{RETRYABLE} (40P01): deadlock detected"))));
        assert!(!unavailable(&backend("postgres error 22P05: unsupported Unicode escape sequence")));
        assert!(!unavailable(&backend("serialising a document: key must be a string")));
        assert!(!unavailable(&StorageError::Conflict("id")));
        assert!(!unavailable(&StorageError::NotFound("reference")));
    }

    #[test]
    fn json_text_is_jsonb_binary_form_and_reads_back() {
        let doc = serde_json::json!({"_id": "m1", "msg": "café \"q\"", "n": [1, 2.5, null]});
        let text = to_json(&doc).expect("serialises");
        let mut out = bytes::BytesMut::new();
        assert!(matches!(text.to_sql(&Type::JSONB, &mut out).expect("writes jsonb"), IsNull::No));
        assert_eq!(out[0], JSONB_VERSION, "jsonb's binary form starts with its version byte");
        let raw = RawJson::from_sql(&Type::JSONB, &out).expect("reads jsonb");
        assert_eq!(raw.decode::<Value>().expect("decodes"), doc);

        // `json` has no version byte.
        let mut out = bytes::BytesMut::new();
        text.to_sql(&Type::JSON, &mut out).expect("writes json");
        assert_eq!(out[0], b'{');
        assert_eq!(
            RawJson::from_sql(&Type::JSON, &out).expect("reads json").decode::<Value>().expect("decodes"),
            doc
        );
        assert!(!<JsonText as ToSql>::accepts(&Type::TEXT));
    }

    #[test]
    fn unknown_jsonb_versions_and_corrupt_documents_are_errors() {
        assert!(RawJson::from_sql(&Type::JSONB, b"\x02{}").is_err());
        assert!(RawJson::from_sql(&Type::JSONB, b"").is_err());
        let raw = RawJson::from_sql(&Type::JSONB, b"\x01{\"_id\":").expect("version 1");
        let e = raw.decode::<Value>().expect_err("truncated");
        assert!(matches!(e, StorageError::Backend(m) if m.starts_with("corrupt document in the database")));
    }
}
