//! The PostgreSQL backend of threadsync, for several server instances
//! sharing one database.
//!
//! # Layout
//! - **A pool** of connections (deadpool-postgres) runs every operation
//!   but the hot feeds, which share a few connections and are pipelined
//!   on them (readers.rs).
//!   Each write is one READ COMMITTED transaction; reads that need several
//!   statements (a page and its total, a filtered feed walked in batches)
//!   run in one `REPEATABLE READ READ ONLY` transaction, single statements
//!   on their own (one statement reads one snapshot).
//! - **The room clock** (clock.rs) orders every write of a room across all
//!   instances: the first thing a write of a room does is tick the room's
//!   clock, which takes the room's row lock until commit. That is what
//!   makes sync lossless with several instances (docs/sync.md).
//! - **Sends of one room** that wait for it are written together, one
//!   transaction for all (send_queue.rs): the room's lock is its serial
//!   section, and one section then carries many sends.
//! - **Events** (events.rs) travel through `NOTIFY`, sent on commit to every
//!   instance; one dedicated connection per store `LISTEN`s.
//! - **Migrations** (migrations.rs) are applied at connect under an advisory
//!   lock.
//!
//! Documents (rooms, subscriptions, messages) are stored as JSONB with the
//! columns queries need copied out, exactly as the SQLite backend stores
//! them as JSON text; the two backends answer every trait method alike (the
//! conformance suite in `threadsync-storage` checks it).
//!
//! # Limits
//! - TLS (tls.rs) follows the URL's `sslmode`; without one, connections
//!   are plain text (run the database on a trusted network then).
//! - JSONB cannot hold the character U+0000: a document containing it is
//!   refused with a `Backend` error.
//! - JSONB does not keep the order of object keys; documents compare equal
//!   (serde_json maps ignore order) but a client may see keys of `extra`
//!   fields in another order than it sent them.

mod blobs;
mod clock;
mod db;
mod events;
mod import;
mod messages;
mod migrations;
#[cfg(test)]
mod plans;
mod presence;
mod query;
mod readers;
mod rename;
mod rooms;
mod search;
mod settings;
mod sync;
mod test_hooks;
mod tls;
mod uploads;
mod users;

// Unit tests share the integration tests' support module, which names the
// crate by its external name.
#[cfg(test)]
extern crate self as threadsync_storage_postgres;
#[cfg(test)]
#[path = "../tests/common/mod.rs"]
mod test_support;

use async_trait::async_trait;
pub use blobs::PgBlobs;
use db::Conn;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use threadsync_domain::listing::Sort;
use threadsync_domain::permissions::{PermissionChange, Role};
use threadsync_domain::query::Filter;
use threadsync_domain::{
    Message, Room, RoomType, StoredMessage, Subscription, Timestamp, Tombstone, Upload, User,
};
use threadsync_storage::cache::ReadCache;
use threadsync_storage::{
    rules, Avatar, AvatarStore, ChangeScope, Changes, Cursor, Deletion, EventKind, ImportBatch, ImportStore,
    MessageEdit, MessageMark, MessagePlace, MessageStore, NewMessage, Page, PresenceChange, PresenceStore,
    ReadChange, RoomChange, RoomListQuery, RoomStore, RosterChanges, SearchQuery, SearchStore, SettingsStore,
    StorageError, StorageResult, Store, StoreEvent, SyncStore, ThreadListQuery, UploadListQuery,
    UploadSelection, UploadStore, UserListQuery, UserPatch, UserStore,
};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;

/// How often a write transaction is run again after a deadlock or a
/// serialization failure (both roll the whole transaction back).
const WRITE_ATTEMPTS: u32 = 3;

/// How long an operation waits for a free pooled connection.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// How long a pooled session may sit idle inside a transaction before
/// PostgreSQL ends it (rolling the transaction back, releasing its locks).
/// A write holds its room's lock across one round trip to this process
/// (messages.rs): if the process is killed, PostgreSQL sees the socket
/// close and rolls back at once; if it is frozen or cut off from the
/// database instead, this bounds how long the room stays locked for every
/// other writer, of every instance. No transaction of ours is idle for
/// more than a few milliseconds otherwise.
const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(10);

/// How long opening one connection may take, unless the URL says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Tuning of [`PgStore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgOptions {
    /// Connections in the pool (at least one). The event listener holds one
    /// more, outside the pool.
    pub pool_size: usize,
    /// The schema holding threadsync's tables, created if missing; `None`:
    /// the connection's default (`public`). Lower-case letters, digits and
    /// `_`, not starting with a digit, at most 63 characters.
    pub schema: Option<String>,
    /// Attempts at the first connection before [`connect`] gives up (at
    /// least one).
    pub connect_attempts: u32,
    /// Wait after the first failed attempt; it doubles after each further
    /// failure, up to 5 s. Also the reconnection backoff of the event
    /// listener.
    pub connect_backoff: Duration,
    /// A PEM file of certificates trusted for TLS besides the system's (a
    /// private CA, or the server's self-signed certificate); tls.rs.
    pub ca_file: Option<std::path::PathBuf>,
    /// Connections shared by hot reads (at least one), opened on first use,
    /// besides the pool: see readers.rs.
    pub read_connections: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: 16,
            schema: None,
            connect_attempts: 10,
            connect_backoff: Duration::from_millis(250),
            ca_file: None,
            read_connections: 1,
        }
    }
}

/// The PostgreSQL implementation of [`Store`].
pub struct PgStore {
    /// What every operation uses, shared with the tasks that write a
    /// room's sends in groups (send_queue.rs), which outlive no store but
    /// must not borrow it.
    core: Arc<Core>,
    listener: Mutex<Option<JoinHandle<()>>>,
    schema: Option<String>,
}

/// The shared part of a [`PgStore`] (it derefs to this).
pub(crate) struct Core {
    pool: Pool,
    /// Connections shared by hot single-statement reads (readers.rs).
    readers: readers::Readers,
    /// Committed writes, for realtime listeners (`Store::subscribe`), fed by
    /// the listener task.
    events: tokio::sync::broadcast::Sender<Arc<StoreEvent>>,
    /// The NOTIFY channel of this database and schema.
    channel: String,
    /// This store's id in its notifications (events.rs).
    origin: String,
    /// `host:port/dbname`, for logs (never the password).
    target: String,
    /// Tokens, messages' rooms and the tombstone horizon (see
    /// `threadsync_storage::cache` for why an answer from it is never
    /// staler than the event seam): this store's writes invalidate it
    /// after their commit, before the write call returns (`write!`); other
    /// instances' writes when their NOTIFY arrives (events.rs), and the
    /// listener suspends it while its connection is down.
    cache: Arc<ReadCache>,
    /// Sends waiting for their room's writer (send_queue.rs).
    sends: send_queue::Queues,
    /// What ANALYZE knows of the searched words, to choose a search's
    /// access path (search.rs).
    word_stats: search::WordStatsCache,
}

/// Connects to the database at `url` (`postgres://user:password@host:port/db?...`,
/// or the key-value form), creates the schema if one is configured, applies
/// pending migrations and starts the event listener.
///
/// The first connection is retried `connect_attempts` times with backoff
/// (the database may still be starting), each failure logged; then the
/// error names the server: `cannot reach PostgreSQL at host:port/db after N
/// attempts: <last error>`. A server that answers with a refusal (wrong
/// password, unknown database) is not retried.
pub async fn connect(url: &str, options: PgOptions) -> Result<PgStore, StorageError> {
    PgStore::connect(url, options).await
}

/// Whether `schema` is a plain lower-case identifier (no quoting questions,
/// no case folding surprises in `search_path`).
fn valid_schema(schema: &str) -> bool {
    let mut chars = schema.chars();
    schema.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `host:port/dbname` of a configuration, for messages and logs.
fn target_of(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

impl PgStore {
    /// See [`connect`].
    pub async fn connect(url: &str, options: PgOptions) -> Result<PgStore, StorageError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StorageError::Backend(format!("invalid PostgreSQL connection string: {e}")))?;
        tls::default_to_disable(&mut config, url);
        let tls = tls::connector(config.get_ssl_mode(), options.ca_file.as_deref())?;
        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            return Err(StorageError::Backend("the PostgreSQL connection string names no host".to_owned()));
        }
        let schema = options.schema.clone();
        if let Some(schema) = &schema {
            if !valid_schema(schema) {
                return Err(StorageError::Backend(format!(
                    "invalid schema name {schema:?}: use lower-case letters, digits and _"
                )));
            }
            let options = match config.get_options() {
                Some(existing) if !existing.trim().is_empty() => {
                    format!("{existing} -c search_path={schema}")
                }
                _ => format!("-c search_path={schema}"),
            };
            config.options(options);
        }
        if config.get_application_name().is_none() {
            config.application_name("threadsync");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let target = target_of(&config);

        let mut client = first_connection(&config, &tls, &target, &options).await?;
        migrations::apply(&mut client, schema.as_deref()).await?;
        drop(client);

        let channel = events::channel_name(schema.as_deref());
        let origin = events::new_origin();
        let (events, _) = tokio::sync::broadcast::channel(threadsync_storage::EVENT_BUFFER);
        let session = events::listen(&config, &tls, &channel).await.map_err(|e| {
            StorageError::Backend(format!("cannot listen for events on PostgreSQL at {target}: {e}"))
        })?;
        let cache = Arc::new(ReadCache::new());
        let listener = tokio::spawn(events::run(
            (config.clone(), tls.clone()),
            channel.clone(),
            (events.clone(), cache.clone()),
            origin.clone(),
            target.clone(),
            session,
            options.connect_backoff,
        ));

        // The pool's sessions (not the listener's) give up a transaction
        // left idle too long: see IDLE_IN_TRANSACTION.
        let lease = format!("-c idle_in_transaction_session_timeout={}", IDLE_IN_TRANSACTION.as_millis());
        let session = match config.get_options() {
            Some(existing) if !existing.trim().is_empty() => format!("{existing} {lease}"),
            _ => lease,
        };
        config.options(session);
        let readers =
            readers::Readers::new(config.clone(), tls.clone(), target.clone(), options.read_connections);
        let manager =
            Manager::from_config(config, tls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .build()
            .map_err(|e| {
                listener.abort();
                StorageError::Backend(format!("cannot build the PostgreSQL pool: {e}"))
            })?;
        tracing::info!(target = %target, schema = schema.as_deref().unwrap_or("public"), pool = options.pool_size.max(1), "connected to postgres");
        Ok(PgStore {
            core: Arc::new(Core {
                pool,
                readers,
                events,
                channel,
                origin,
                target,
                cache,
                sends: send_queue::Queues::default(),
                word_stats: search::WordStatsCache::default(),
            }),
            listener: Mutex::new(Some(listener)),
            schema,
        })
    }

    /// File bytes in this database ([`PgBlobs`]), sharing this store's
    /// pool; staging chunks a crash left behind are removed first.
    pub async fn blob_store(&self) -> StorageResult<PgBlobs> {
        PgBlobs::open(self.core.pool.clone()).await
    }

    /// The schema holding the tables (`None`: the default one).
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    fn stop_listener(&self) {
        let handle = self.listener.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(handle) = handle {
            handle.abort();
        }
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.stop_listener();
    }
}

impl Core {
    async fn client(&self) -> StorageResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(db::pool_err)
    }
}

/// The first connection, retried with backoff while the server cannot be
/// reached.
async fn first_connection(
    config: &tokio_postgres::Config,
    tls: &tokio_postgres_rustls::MakeRustlsConnect,
    target: &str,
    options: &PgOptions,
) -> StorageResult<tokio_postgres::Client> {
    let attempts = options.connect_attempts.max(1);
    let mut backoff = options.connect_backoff;
    let mut last = String::new();
    for attempt in 1..=attempts {
        match config.connect(tls.clone()).await {
            Ok((client, connection)) => {
                let target = target.to_owned();
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::warn!(target = %target, error = %e, "postgres setup connection failed");
                    }
                });
                return Ok(client);
            }
            Err(e) => {
                // A server that answered with a refusal (wrong password,
                // unknown database) will answer the same again; only
                // "starting up" is worth waiting for.
                if let Some(db) = e.as_db_error() {
                    if *db.code() != SqlState::CANNOT_CONNECT_NOW {
                        return Err(StorageError::Backend(format!(
                            "PostgreSQL at {target} refused the connection: {} ({})",
                            db.message(),
                            db.code().code()
                        )));
                    }
                }
                last = db::describe(&e);
                tracing::warn!(target = %target, attempt, attempts, error = %last, "cannot reach PostgreSQL");
                if attempt < attempts {
                    tokio::time::sleep(backoff).await;
                    backoff = events::next_backoff(backoff, options.connect_backoff);
                }
            }
        }
    }
    Err(StorageError::Backend(format!(
        "cannot reach PostgreSQL at {target} after {attempts} attempts: {last}"
    )))
}

/// Gives the event closure of [`write!`] its argument type.
fn event_of<T>(value: &T, event: impl FnOnce(&T) -> Option<StoreEvent>) -> Option<StoreEvent> {
    event(value)
}

/// A write's last statement, left for [`WriteTx::finish`] to send in the same
/// round trip as `COMMIT` (messages::insert: the statements that write
/// everything under the room's lock, one or two per message of a batch).
pub(crate) struct Last {
    pub(crate) sql: &'static str,
    pub(crate) params: Vec<query::Param>,
}

/// A write transaction on a pooled connection, begun and ended by hand so
/// that its `COMMIT` can travel in the same round trip as its last
/// statements ([`WriteTx::finish`]). Dropped while still open (an error
/// that left the state unknown, or the write's future dropped mid-way),
/// it takes its connection out of the pool and closes it: PostgreSQL then
/// rolls the transaction back, and no later user of the pool can find
/// itself inside it.
struct WriteTx {
    client: Option<deadpool_postgres::Object>,
    open: bool,
}

impl WriteTx {
    async fn begin(store: &Core) -> StorageResult<WriteTx> {
        let client = store.client().await?;
        let tx = WriteTx { client: Some(client), open: true };
        // Every statement of a write is a fixed text prepared once per
        // connection, whose plan does not depend on its parameters (primary
        // keys, one room's rows). PostgreSQL would still plan most of them
        // again on every execution (a custom plan: it keeps choosing them
        // for statements with CTEs, whose generic plan it estimates dearer),
        // which took about a sixth of its time per send (BENCHMARKS.md,
        // issue 14). Reads keep the default: their one-off statements with
        // a client's query do need plans made for their values.
        tx.conn().batch("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan").await?;
        Ok(tx)
    }

    fn conn(&self) -> &deadpool_postgres::ClientWrapper {
        self.client.as_deref().expect("the connection of an open write transaction")
    }

    /// Rolls back after the body failed.
    async fn rollback(mut self) {
        if self.conn().batch("ROLLBACK").await.is_ok() {
            self.open = false;
        }
    }

    /// Ends the transaction whose body succeeded, in one round trip: the
    /// body's [`Last`] statements in order, the event's in-transaction `NOTIFY`,
    /// `COMMIT`, then (after the commit, for a hint: events::is_hint) the
    /// event's own short notification, all sent at once and run by
    /// PostgreSQL in this order. A row lock the transaction holds (the
    /// room's) is therefore held from the moment the body took it until
    /// the commit's WAL flush, with no round trip to this process in
    /// between. `Ok(())` iff `COMMIT` succeeded after the last statement
    /// did: a failed last statement aborts the transaction, and the `COMMIT`
    /// sent behind it then rolls it back (a hint sent behind that costs
    /// other instances one needless re-read).
    async fn finish(
        mut self,
        store: &Core,
        lasts: Vec<Last>,
        event: Option<&StoreEvent>,
    ) -> StorageResult<()> {
        let c: &dyn Conn = self.conn();
        let hint = event.filter(|e| events::is_hint(e));
        let in_tx = event.filter(|e| !events::is_hint(e));
        // Prepared before anything is sent: see db::pipelined.
        let mut last_stmts = Vec::with_capacity(lasts.len());
        for last in &lasts {
            last_stmts.push(c.statement(last.sql).await?);
        }
        let notify_stmt = match in_tx {
            Some(_) => Some(c.statement(events::NOTIFY_SQL).await?),
            None => None,
        };
        let payload = in_tx.map(|e| events::payload(e, &store.origin));
        let hint_sql = hint.map(|e| events::hint_sql(&store.channel, e, &store.origin));
        let last_params: Vec<Vec<&(dyn tokio_postgres::types::ToSql + Sync)>> = lasts
            .iter()
            .map(|l| {
                l.params.iter().map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync)).collect()
            })
            .collect();
        // In the order given: a statement may depend on what an earlier one
        // wrote (a batch of sends, messages::insert).
        let run_last = async {
            let runs =
                last_stmts.iter().zip(&last_params).map(|(stmt, params)| c.query_prepared(stmt, params));
            db::pipelined_all(runs.collect()).await.into_iter().try_for_each(|done| done.map(drop))
        };
        let run_notify = async {
            match (&notify_stmt, &payload) {
                (Some(stmt), Some(payload)) => {
                    c.query_prepared(stmt, &[&store.channel, payload]).await.map(drop)
                }
                _ => Ok(()),
            }
        };
        let run_commit = c.batch("COMMIT");
        let run_hint = async {
            if let Some(sql) = &hint_sql {
                // The write is committed whatever happens here: a lost hint
                // only delays other instances' realtime delivery.
                if let Err(e) = c.batch(sql).await {
                    tracing::warn!(target = %store.target, error = %e, "could not announce a write to other instances");
                }
            }
        };
        let (last_done, notified, committed, ()) =
            futures_util::future::join4(run_last, run_notify, run_commit, run_hint).await;
        // COMMIT answered: the transaction is over (committed, or rolled
        // back because a statement before it failed).
        if committed.is_ok() {
            self.open = false;
        }
        last_done?;
        notified?;
        committed
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.open {
            if let Some(client) = self.client.take() {
                drop(deadpool_postgres::Object::take(client));
            }
        }
    }
}

/// Runs `$body` (an expression using the transaction `$c: &dyn Conn`) in
/// one write transaction: on success, ends it with [`WriteTx::finish`] (the
/// event `$event(&value)` for the other instances, the commit), and
/// announces the event to this store's subscribers; on failure rolls back
/// and announces nothing. A deadlock or serialization failure runs the
/// whole transaction again, up to [`WRITE_ATTEMPTS`] times. The `last`
/// form's body returns `(value, Vec<Last>)`: its last statements go out
/// with the `COMMIT`.
macro_rules! write {
    ($store:expr, $event:expr, |$c:ident| $body:expr) => {
        write!($store, $event, last |$c| $body.map(|value| (value, Vec::new())))
    };
    ($store:expr, $event:expr, last |$c:ident| $body:expr) => {{
        let store: &$crate::Core = $store;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let tx = $crate::WriteTx::begin(store).await?;
            let $c: &dyn $crate::db::Conn = tx.conn();
            let result = match $body {
                Ok((value, last)) => {
                    let event = $crate::event_of(&value, $event);
                    tx.finish(store, last, event.as_ref()).await.map(|()| (value, event))
                }
                Err(e) => {
                    tx.rollback().await;
                    Err(e)
                }
            };
            match result {
                Ok((value, event)) => {
                    if let Some(event) = event {
                        store.cache.on_event(&event);
                        // No receiver is not an error: nobody needs the event.
                        let _ = store.events.send(Arc::new(event));
                    }
                    break Ok(value);
                }
                Err(e) if $crate::db::retryable(&e) && attempt < $crate::WRITE_ATTEMPTS => {
                    tracing::debug!(target = %store.target, error = %e, attempt, "retrying a write transaction");
                }
                Err(e) => break Err(e),
            }
        }
    }};
}

// Declared after `write!`, which it uses (a macro is visible only below its
// definition).
mod send_queue;

fn user_event<T>(_: &T) -> Option<StoreEvent> {
    Some(StoreEvent { rid: None, kind: EventKind::User, user: None, data: None })
}

fn room_event(rid: &str) -> Option<StoreEvent> {
    Some(StoreEvent { rid: Some(rid.to_owned()), kind: EventKind::Room, user: None, data: None })
}

#[async_trait]
impl PresenceStore for PgStore {
    async fn update_presence(&self, user_id: &str, change: &PresenceChange) -> StorageResult<Option<User>> {
        let result = write!(
            &self.core,
            |result: &Option<(User, bool)>| match result {
                Some((_, true)) => Some(StoreEvent::presence(user_id)),
                _ => None,
            },
            |c| presence::update(c, user_id, change, Timestamp::now()).await
        )?;
        Ok(result.map(|(user, _)| user))
    }

    async fn renew_presence(&self, instance: &str, expires_at: Timestamp) -> StorageResult<()> {
        write!(&self.core, |_| None, |c| presence::renew(c, instance, expires_at).await)
    }

    async fn expired_presence(&self, limit: u64) -> StorageResult<Vec<String>> {
        presence::expired(&*self.core.client().await?, Timestamp::now(), limit).await
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn count_users(&self) -> StorageResult<u64> {
        users::count_users(&*self.core.client().await?).await
    }

    async fn insert_user(&self, user: &User, joins: &[Subscription]) -> StorageResult<()> {
        write!(&self.core, user_event, |c| users::insert(c, user, joins).await)
    }

    async fn user_by_id(&self, id: &str) -> StorageResult<Option<User>> {
        users::by_id(&*self.core.client().await?, id).await
    }

    async fn user_by_username(&self, username: &str) -> StorageResult<Option<User>> {
        users::by_username(&*self.core.client().await?, username).await
    }

    async fn user_by_email(&self, email: &str) -> StorageResult<Option<User>> {
        users::by_email(&*self.core.client().await?, email).await
    }

    async fn users_by_usernames(&self, usernames: &[String]) -> StorageResult<Vec<User>> {
        users::by_usernames(&*self.core.client().await?, usernames).await
    }

    async fn users_with_extra_roles(&self, limit: u64) -> StorageResult<Vec<User>> {
        users::with_extra_roles(&*self.core.client().await?, limit).await
    }

    async fn delete_user(&self, id: &str) -> StorageResult<bool> {
        write!(&self.core, |_| Some(StoreEvent::account(id)), |c| users::delete(c, id).await)
    }

    async fn list_users(&self, query: &UserListQuery) -> StorageResult<Page<User>> {
        users::list(&*self.core.client().await?, query).await
    }

    async fn set_user_active(&self, id: &str, active: bool) -> StorageResult<Option<User>> {
        write!(&self.core, |_| Some(StoreEvent::account(id)), |c| users::set_active(c, id, active).await)
    }

    async fn update_user(&self, id: &str, patch: &UserPatch) -> StorageResult<Option<User>> {
        write!(&self.core, |_| Some(StoreEvent::profile(id, patch)), |c| users::update(c, id, patch).await)
    }

    async fn user_preferences(&self, id: &str) -> StorageResult<Option<Map<String, Value>>> {
        users::preferences(&*self.core.client().await?, id).await
    }

    async fn merge_user_preferences(
        &self,
        id: &str,
        changes: &Map<String, Value>,
    ) -> StorageResult<Option<Map<String, Value>>> {
        write!(&self.core, |_| None, |c| users::merge_preferences(c, id, changes).await)
    }

    async fn insert_login_token(
        &self,
        user_id: &str,
        token_hash: &str,
        created_at: Timestamp,
    ) -> StorageResult<()> {
        write!(&self.core, |_| Some(StoreEvent::account(user_id)), |c| {
            users::insert_login_token(c, user_id, token_hash, created_at).await
        })
    }

    async fn user_by_login_token(&self, user_id: &str, token_hash: &str) -> StorageResult<Option<User>> {
        let read = async { users::by_login_token(&*self.core.client().await?, user_id, token_hash).await };
        self.core.cache.token_or(user_id, token_hash, read).await
    }

    async fn user_by_token_hash(&self, token_hash: &str) -> StorageResult<Option<User>> {
        let read = async { users::by_token_hash(&*self.core.client().await?, token_hash).await };
        self.core.cache.token_or("", token_hash, read).await
    }

    async fn delete_login_token(&self, user_id: &str, token_hash: &str) -> StorageResult<bool> {
        write!(&self.core, |_| Some(StoreEvent::account(user_id)), |c| users::delete_login_token(
            c, user_id, token_hash
        )
        .await)
    }
}

#[async_trait]
impl RoomStore for PgStore {
    async fn create_room(&self, room: &Room, subscriptions: &[Subscription]) -> StorageResult<Room> {
        write!(&self.core, |r: &Room| room_event(&r.id), |c| rooms::create(c, room, subscriptions).await)
    }

    async fn room_by_id(&self, id: &str) -> StorageResult<Option<Room>> {
        rooms::load(&*self.core.client().await?, id).await
    }

    async fn room_type(&self, id: &str) -> StorageResult<Option<RoomType>> {
        self.core
            .cache
            .room_type_or(id, async { rooms::type_of(&*self.core.client().await?, id).await })
            .await
    }

    async fn room_by_name(&self, name: &str) -> StorageResult<Option<Room>> {
        rooms::by_name(&*self.core.client().await?, name).await
    }

    async fn direct_room(&self, uids: &[String]) -> StorageResult<Option<Room>> {
        rooms::direct(&*self.core.client().await?, uids).await
    }

    async fn default_rooms(&self) -> StorageResult<Vec<Room>> {
        rooms::defaults(&*self.core.client().await?).await
    }

    async fn delete_room(&self, id: &str) -> StorageResult<bool> {
        write!(&self.core, |_| room_event(id), |c| rooms::delete(c, id).await)
    }

    async fn add_subscription(&self, subscription: &Subscription) -> StorageResult<bool> {
        let event = StoreEvent::membership(&subscription.rid, &subscription.u.id);
        write!(&self.core, |_| Some(event.clone()), |c| rooms::add_subscription(c, subscription).await)
    }

    async fn remove_subscription(
        &self,
        rid: &str,
        user_id: &str,
        keep_an_owner: bool,
    ) -> StorageResult<bool> {
        let event = StoreEvent::membership(rid, user_id);
        write!(&self.core, |_| Some(event.clone()), |c| rooms::remove_subscription(
            c,
            rid,
            user_id,
            keep_an_owner
        )
        .await)
    }

    async fn set_read_state(
        &self,
        rid: &str,
        user_id: &str,
        change: ReadChange,
    ) -> StorageResult<Option<Subscription>> {
        let event = StoreEvent::read_state(rid, user_id);
        write!(&self.core, |changed: &Option<Subscription>| changed.as_ref().map(|_| event.clone()), |c| {
            rooms::set_read_state(c, rid, user_id, change.clone()).await
        })
    }

    async fn mark_thread_read(
        &self,
        rid: &str,
        user_id: &str,
        tmid: &str,
    ) -> StorageResult<Option<Subscription>> {
        let event = StoreEvent::read_state(rid, user_id);
        // Nothing changed, nothing to announce.
        write!(&self.core, |changed: &Option<Subscription>| changed.as_ref().map(|_| event.clone()), |c| {
            rooms::mark_thread_read(c, rid, user_id, tmid).await
        })
    }

    async fn subscription(&self, rid: &str, user_id: &str) -> StorageResult<Option<Subscription>> {
        rooms::subscription(&*self.core.client().await?, rid, user_id).await
    }

    async fn subscriptions_since(
        &self,
        user_id: &str,
        since: Option<Timestamp>,
    ) -> StorageResult<RosterChanges<Subscription>> {
        let mut client = self.core.client().await?;
        let tx = sync::read_tx(&mut client).await?;
        let changes = rooms::subscriptions_since(&tx, user_id, since).await?;
        tx.commit().await.map_err(db::err)?;
        Ok(changes)
    }

    async fn rooms_since(
        &self,
        user_id: &str,
        since: Option<Timestamp>,
    ) -> StorageResult<RosterChanges<Room>> {
        let mut client = self.core.client().await?;
        let tx = sync::read_tx(&mut client).await?;
        let changes = rooms::rooms_since(&tx, user_id, since).await?;
        tx.commit().await.map_err(db::err)?;
        Ok(changes)
    }

    async fn room_members(&self, rid: &str, offset: u64, count: u64) -> StorageResult<Page<User>> {
        let mut client = self.core.client().await?;
        let tx = sync::read_tx(&mut client).await?;
        let page = rooms::members(&tx, rid, offset, count).await?;
        tx.commit().await.map_err(db::err)?;
        Ok(page)
    }

    async fn rooms_of_user(
        &self,
        user_id: &str,
        types: &[RoomType],
        offset: u64,
        count: u64,
    ) -> StorageResult<Page<Room>> {
        let mut client = self.core.client().await?;
        let tx = sync::read_tx(&mut client).await?;
        let page = rooms::of_user(&tx, user_id, types, offset, count).await?;
        tx.commit().await.map_err(db::err)?;
        Ok(page)
    }

    async fn list_rooms(&self, query: &RoomListQuery) -> StorageResult<Page<Room>> {
        // One snapshot, so the page and its total agree.
        let mut client = self.core.client().await?;
        let tx = sync::read_tx(&mut client).await?;
        let page = rooms::list(&tx, query).await?;
        tx.commit().await.map_err(db::err)?;
        Ok(page)
    }

    async fn room_role_holders(&self, rid: &str) -> StorageResult<Vec<Subscription>> {
        rooms::role_holders(&*self.core.client().await?, rid).await
    }

    async fn room_join_code(&self, rid: &str) -> StorageResult<Option<String>> {
        rooms::join_code(&*self.core.client().await?, rid).await
    }

    async fn update_room(&self, rid: &str, change: &RoomChange) -> StorageResult<Option<Room>> {
        let event = StoreEvent::room(EventKind::Room, rid);
        write!(&self.core, |changed: &Option<Room>| changed.as_ref().map(|_| event.clone()), |c| {
            rooms::update(c, rid, change).await
        })
    }
}

#[async_trait]
impl MessageStore for PgStore {
    async fn insert_message(&self, new: NewMessage) -> StorageResult<Message> {
        send_queue::send(&self.core, new).await
    }

    async fn message_by_id(&self, id: &str) -> StorageResult<Option<Message>> {
        messages::load(&*self.core.client().await?, id).await
    }

    async fn messages_without_markup(&self, after: &str, limit: u64) -> StorageResult<Vec<(String, String)>> {
        messages::without_markup(&*self.core.client().await?, after, limit).await
    }

    async fn set_missing_markup(
        &self,
        id: &str,
        msg: &str,
        md: &threadsync_domain::Markup,
    ) -> StorageResult<bool> {
        // Not through `write!`: no tick, no event (nothing a client must
        // download changed); one statement is its own transaction.
        messages::set_missing_markup(&*self.core.client().await?, id, msg, md).await
    }

    async fn markup_backfilled(&self) -> StorageResult<bool> {
        messages::markup_backfilled(&*self.core.client().await?).await
    }

    async fn mark_markup_backfilled(&self) -> StorageResult<()> {
        messages::mark_markup_backfilled(&*self.core.client().await?).await
    }

    async fn message_place(&self, id: &str) -> StorageResult<Option<MessagePlace>> {
        self.core
            .cache
            .message_place_or(id, async { messages::place_of(&*self.core.client().await?, id).await })
            .await
    }

    async fn set_reaction(
        &self,
        id: &str,
        emoji: &str,
        username: &str,
        should_react: Option<bool>,
    ) -> StorageResult<Option<Message>> {
        write!(&self.core, |m: &Option<Message>| m.as_ref().map(|m| rules::message_event(&m.rid)), |c| {
            messages::set_reaction(c, id, emoji, username, should_react).await
        })
    }

    async fn set_mark(&self, id: &str, mark: MessageMark) -> StorageResult<Option<Message>> {
        write!(&self.core, |m: &Option<Message>| m.as_ref().map(|m| rules::message_event(&m.rid)), |c| {
            messages::set_mark(c, id, &mark).await
        })
    }

    async fn edit_message(&self, id: &str, edit: MessageEdit) -> StorageResult<Message> {
        write!(&self.core, |m: &Message| Some(rules::message_event(&m.rid)), |c| messages::edit(
            c,
            id,
            edit.clone()
        )
        .await)
    }

    async fn delete_message(&self, id: &str, show_deleted_status: bool) -> StorageResult<Deletion> {
        write!(&self.core, |d: &Deletion| Some(rules::deletion_event(d)), |c| messages::delete(
            c,
            id,
            show_deleted_status
        )
        .await)
    }

    async fn set_following(&self, tmid: &str, user_id: &str, follow: bool) -> StorageResult<Message> {
        write!(&self.core, |m: &Message| Some(rules::following_event(m, user_id)), |c| {
            messages::set_following(c, tmid, user_id, follow).await
        })
    }
}

#[async_trait]
impl SearchStore for PgStore {
    async fn search_messages(&self, query: &SearchQuery) -> StorageResult<Vec<Message>> {
        let client = self.core.client().await?;
        search::search(&*client, &self.core.word_stats, query).await
    }
}

#[async_trait]
impl SyncStore for PgStore {
    async fn stored_changes_since(
        &self,
        scope: ChangeScope<'_>,
        since: Timestamp,
        filter: &Filter,
        offset: u64,
        limit: u64,
    ) -> StorageResult<Changes<StoredMessage>> {
        if sync::on_shared_connection(filter, offset, limit) {
            let reader = self.core.readers.get().await?;
            return sync::unfiltered_changes(&*reader, scope, since, offset, limit).await;
        }
        let mut client = self.core.client().await?;
        sync::changes_since(&mut client, scope, since, filter, offset, limit).await
    }

    async fn thread_replies(
        &self,
        tmid: &str,
        filter: &Filter,
        sort: &Sort,
        offset: u64,
        count: u64,
    ) -> StorageResult<Page<Message>> {
        let mut client = self.core.client().await?;
        sync::thread_replies(&mut client, tmid, filter, sort, offset, count).await
    }

    async fn room_messages(
        &self,
        rid: &str,
        filter: &Filter,
        sort: &Sort,
        offset: u64,
        count: u64,
    ) -> StorageResult<Page<Message>> {
        let mut client = self.core.client().await?;
        sync::room_messages(&mut client, rid, filter, sort, offset, count).await
    }

    async fn thread_parents(&self, query: &ThreadListQuery) -> StorageResult<Page<Message>> {
        let mut client = self.core.client().await?;
        sync::thread_parents(&mut client, query).await
    }

    async fn room_updates(&self, rid: &str, cursor: Cursor, count: u64) -> StorageResult<Vec<Message>> {
        sync::room_updates(&*self.core.client().await?, rid, cursor, count).await
    }

    async fn room_removals(&self, rid: &str, cursor: Cursor, count: u64) -> StorageResult<Vec<Tombstone>> {
        sync::room_removals(&*self.core.client().await?, rid, cursor, count).await
    }

    async fn room_tombstones(
        &self,
        rid: &str,
        since: Timestamp,
        offset: u64,
        count: u64,
    ) -> StorageResult<Page<Tombstone>> {
        let mut client = self.core.client().await?;
        sync::room_tombstones(&mut client, rid, since, offset, count).await
    }

    async fn prune_tombstones(&self, before: Timestamp) -> StorageResult<u64> {
        let pruned =
            |_: &u64| Some(StoreEvent { rid: None, kind: EventKind::Tombstones, user: None, data: None });
        write!(&self.core, pruned, |c| sync::prune_tombstones(c, before).await)
    }

    async fn tombstone_horizon(&self) -> StorageResult<Option<Timestamp>> {
        self.core.cache.horizon_or(async { sync::tombstone_horizon(&*self.core.client().await?).await }).await
    }
}

#[async_trait]
impl ImportStore for PgStore {
    async fn import(&self, batch: ImportBatch) -> StorageResult<()> {
        let result = write!(&self.core, |_| None, |c| import::import(c, &batch).await);
        // Imported documents may replace anything cached; imports announce
        // nothing (they run before serving), so forget everything here.
        self.core.cache.suspend();
        self.core.cache.resume();
        result
    }
}

#[async_trait]
impl UploadStore for PgStore {
    async fn insert_upload(&self, upload: &Upload) -> StorageResult<()> {
        write!(&self.core, |_| None, |c| uploads::insert(c, upload).await)
    }

    async fn upload_by_id(&self, id: &str) -> StorageResult<Option<Upload>> {
        uploads::by_id(&*self.core.client().await?, id).await
    }

    async fn attach_upload(
        &self,
        id: &str,
        message_id: &str,
        description: Option<&str>,
        now: Timestamp,
    ) -> StorageResult<bool> {
        write!(&self.core, |_| None, |c| uploads::attach(c, id, message_id, description, now).await)
    }

    async fn room_uploads(&self, query: &UploadListQuery) -> StorageResult<Page<Upload>> {
        uploads::of_room(&*self.core.client().await?, query).await
    }

    async fn delete_uploads(&self, which: UploadSelection<'_>) -> StorageResult<Vec<Upload>> {
        write!(&self.core, |_| None, |c| uploads::delete(c, which).await)
    }
}

#[async_trait]
impl AvatarStore for PgStore {
    async fn set_avatar(&self, avatar: &Avatar) -> StorageResult<Option<Avatar>> {
        write!(&self.core, |_| None, |c| uploads::set_avatar(c, avatar).await)
    }

    async fn avatar_of(&self, user_id: &str) -> StorageResult<Option<Avatar>> {
        uploads::avatar(&*self.core.client().await?, user_id).await
    }

    async fn remove_avatar(&self, user_id: &str) -> StorageResult<Option<Avatar>> {
        write!(&self.core, |_| None, |c| uploads::remove_avatar(c, user_id).await)
    }
}

#[async_trait]
impl SettingsStore for PgStore {
    async fn load_settings(&self) -> StorageResult<Vec<(String, Value)>> {
        settings::load(&*self.core.client().await?).await
    }

    async fn save_setting(&self, id: &str, value: &Value) -> StorageResult<()> {
        write!(&self.core, |_| Some(StoreEvent::settings()), |c| settings::save(c, id, value).await)
    }

    async fn load_permissions(&self) -> StorageResult<Vec<PermissionChange>> {
        settings::load_permissions(&*self.core.client().await?).await
    }

    async fn save_permissions(&self, changes: &[PermissionChange]) -> StorageResult<()> {
        write!(&self.core, |_| Some(StoreEvent::settings()), |c| settings::save_permissions(c, changes).await)
    }

    async fn load_roles(&self) -> StorageResult<Vec<Role>> {
        settings::load_roles(&*self.core.client().await?).await
    }

    async fn save_role(&self, role: &Role) -> StorageResult<()> {
        write!(&self.core, |_| Some(StoreEvent::settings()), |c| settings::save_role(c, role).await)
    }

    async fn delete_role(&self, id: &str, at: Timestamp) -> StorageResult<bool> {
        write!(&self.core, |_| Some(StoreEvent::settings()), |c| settings::delete_role(c, id, at).await)
    }

    async fn removed_roles(&self, since: Timestamp) -> StorageResult<Vec<(String, Timestamp)>> {
        settings::removed_roles(&*self.core.client().await?, since).await
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<StoreEvent>> {
        self.core.events.subscribe()
    }

    /// `NOTIFY` outside any transaction reaches the other instances; this
    /// instance's subscribers get it directly (the listener skips our own).
    async fn publish(&self, data: String) -> StorageResult<()> {
        if data.len() > threadsync_storage::MAX_EPHEMERAL_BYTES {
            return Err(StorageError::Invalid("ephemeral payload too large"));
        }
        let event = StoreEvent { rid: None, kind: EventKind::Ephemeral, user: None, data: Some(data) };
        let client = self.core.client().await?;
        let conn: &dyn Conn = &*client;
        events::notify(conn, &self.core.channel, &event, &self.core.origin).await?;
        let _ = self.core.events.send(Arc::new(event));
        Ok(())
    }

    fn stats(&self) -> Vec<(&'static str, f64)> {
        let status = self.core.pool.status();
        vec![
            ("pool_size", status.size as f64),
            ("pool_max", status.max_size as f64),
            ("pool_available", status.available as f64),
            ("pool_waiting", status.waiting as f64),
            ("shared_read_connections", self.core.readers.open() as f64),
            ("shared_read_connections_max", self.core.readers.size() as f64),
        ]
    }

    /// A read of the settings table on a pooled connection: fails when the
    /// server, the database or the schema is gone, or the store is closed.
    async fn ping(&self) -> StorageResult<()> {
        self.core.client().await?.rows("SELECT 1 FROM settings LIMIT 1", &[]).await.map(|_| ())
    }

    /// Stops the event listener and closes the pool: operations in flight
    /// finish (their connections close when returned), later ones fail with
    /// `Backend(...)`. Idempotent.
    async fn close(&self) {
        self.stop_listener();
        self.core.pool.close();
        tracing::info!(target = %self.core.target, "closed postgres store");
    }
}
