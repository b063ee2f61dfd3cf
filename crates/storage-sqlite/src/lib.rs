//! The embedded SQLite backend of threadsync.
//!
//! # Layout
//! One database file, `threadsync.db`, in the directory given to
//! [`SqliteStore::open`], in WAL mode:
//! - **one writer**: a connection owned by a dedicated OS thread that runs
//!   every write as one `BEGIN IMMEDIATE` transaction, in submission order
//!   (writer.rs explains why);
//! - **N readers**: a pool of read-only connections; single-row lookups
//!   run on the calling task, scans on the pool's own N threads; WAL lets
//!   them read concurrently with the writer (pool.rs);
//! - **a checkpointer**: a connection on its own thread that copies the WAL
//!   into the database file every 500 ms, so the writer rarely does it
//!   inside its own work (writer.rs).
//!
//! # Durability
//! `synchronous=NORMAL` in WAL mode: a commit is durable against a crash of
//! the process (the WAL is written before the commit returns, the OS has
//! it), so no committed transaction is lost when threadsync dies. A power
//! loss or OS crash may lose the last transactions committed before it, but
//! never corrupts the database. `FULL` would fsync the WAL on every commit
//! for the power-loss case, at a large cost per write.
//!
//! # Timestamps
//! All sync stamps come from the per-room clock in clock.rs; see the crate
//! docs of `threadsync-storage` for the invariant.

mod clock;
mod db;
mod import;
mod messages;
mod migrations;
mod pool;
mod presence;
mod query;
mod rename;
mod rooms;
mod search;
mod settings;
mod sync;
mod uploads;
mod users;
mod writer;

use async_trait::async_trait;
use pool::Readers;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
use writer::Writer;

/// Compiles a query to this backend's SQL: the expression and its number of
/// parameters. Exposed for the micro-benchmarks of the compiler.
#[doc(hidden)]
pub fn compile_query(filter: &Filter) -> (String, usize) {
    let mut args = Vec::new();
    let sql = query::compile(filter, &mut args);
    (sql, args.len())
}

/// Feed pages of at most this many changes are read on the calling task
/// (`changes_since`).
const INLINE_FEED_ROWS: u64 = 32;

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "threadsync.db";

/// How long a connection waits for a lock held by someone else (another
/// process opening the same file, or a checkpoint) before failing. Within
/// one process the single writer means writers never wait for each other.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Tuning of [`SqliteStore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Read-only connections in the pool (at least one is opened).
    pub readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions { readers: 4 }
    }
}

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Readers,
    /// Committed writes, for realtime listeners (`Store::subscribe`).
    events: tokio::sync::broadcast::Sender<Arc<StoreEvent>>,
    /// Tokens, messages' rooms and the tombstone horizon (see
    /// `threadsync_storage::cache`). Every write of this process goes
    /// through [`Self::announce`], which invalidates before the write call
    /// returns, so within the process the cache is exact. Another process
    /// writing the same file (`threadsync seed` into a served directory)
    /// is only seen after `cache::MAX_AGE`.
    cache: ReadCache,
}

impl SqliteStore {
    /// Opens (creating if needed) the directory `dir` and the database
    /// `threadsync.db` inside it, and applies pending schema migrations.
    pub async fn open(dir: &Path, options: SqliteOptions) -> Result<SqliteStore, StorageError> {
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || open_blocking(&dir, &options))
            .await
            .map_err(|e| StorageError::Backend(format!("opening sqlite failed: {e}")))?
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn write<T, F>(&self, job: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        self.writer.execute(job).await
    }

    /// Announces a committed write to the listeners. Called only with the
    /// result of a write that returned, i.e. whose transaction committed.
    fn announce<T>(
        &self,
        result: StorageResult<T>,
        event: impl FnOnce(&T) -> StoreEvent,
    ) -> StorageResult<T> {
        if let Ok(value) = &result {
            let event = event(value);
            self.cache.on_event(&event);
            // No listener is not an error: nobody needs the event.
            let _ = self.events.send(Arc::new(event));
        }
        result
    }

    async fn read<T, F>(&self, job: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        self.readers.execute(job).await
    }

    /// A single-row lookup by a unique index (runs on the calling task; see
    /// pool.rs). Anything that may scan goes through [`Self::read`].
    async fn point<T, F>(&self, job: F) -> StorageResult<T>
    where
        F: FnOnce(&Connection) -> StorageResult<T>,
    {
        self.readers.execute_point(job).await
    }
}

fn open_blocking(dir: &Path, options: &SqliteOptions) -> StorageResult<SqliteStore> {
    std::fs::create_dir_all(dir)
        .map_err(|e| StorageError::Backend(format!("cannot create data directory {}: {e}", dir.display())))?;
    let path = dir.join(DATABASE_FILE);
    let backend = |what: &str, e: rusqlite::Error| StorageError::Backend(format!("sqlite {what}: {e}"));

    // The writer opens first: it creates the file, switches it to WAL and
    // migrates, so the readers find the final schema.
    let mut conn = Connection::open(&path).map_err(|e| backend("open", e))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| backend("journal_mode", e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StorageError::Backend(format!("sqlite refused WAL mode (got {mode})")));
    }
    // See "Durability" in the crate docs.
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| backend("synchronous", e))?;
    // The writer's savepoint journals stay in memory, and it caches 8 MiB
    // of pages (default 2 MiB): both showed in the profile of `s4`
    // (BENCHMARKS.md).
    conn.pragma_update(None, "temp_store", "MEMORY").map_err(|e| backend("temp_store", e))?;
    conn.pragma_update(None, "cache_size", -8192).map_err(|e| backend("cache_size", e))?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| backend("foreign_keys", e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| backend("busy_timeout", e))?;
    conn.set_prepared_statement_cache_capacity(db::STATEMENT_CACHE);
    query::register_functions(&conn).map_err(|e| backend("register functions", e))?;
    migrations::apply(&mut conn)?;

    let reader_path = path.clone();
    let open_reader: pool::Opener = std::sync::Arc::new(move || {
        let reader = Connection::open_with_flags(
            &reader_path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| backend("open reader", e))?;
        reader.busy_timeout(BUSY_TIMEOUT).map_err(|e| backend("busy_timeout", e))?;
        reader.set_prepared_statement_cache_capacity(db::STATEMENT_CACHE);
        // 4 MiB of pages per reader (SQLite's default is 2 MiB): at 5M
        // messages the hot sync path's index and table pages did not fit,
        // and S1 paid for it in page reads. 8 MiB helped S1 no more and
        // cost `s2` (a resync of 100,000 replies fills every reader's cache)
        // 16 MiB of RSS (BENCHMARKS.md). The cache fills on demand; an idle
        // server does not hold it.
        reader.pragma_update(None, "cache_size", -4096).map_err(|e| backend("cache_size", e))?;
        query::register_functions(&reader).map_err(|e| backend("register functions", e))?;
        Ok(reader)
    });
    // Opens the first reader now; the others when reads need them (pool.rs).
    let readers = Readers::new(options.readers, open_reader)?;
    // Checkpoints run on their own connection and thread (writer.rs); the
    // writer checkpoints itself only when the WAL passes 4,000 pages, which
    // bounds the WAL under sustained writes (writer.rs explains why).
    conn.pragma_update(None, "wal_autocheckpoint", 4000).map_err(|e| backend("wal_autocheckpoint", e))?;
    let checkpointer = Connection::open(&path).map_err(|e| backend("open checkpointer", e))?;
    checkpointer.busy_timeout(BUSY_TIMEOUT).map_err(|e| backend("busy_timeout", e))?;
    let writer = Writer::start(conn, checkpointer)?;
    tracing::info!(path = %path.display(), readers = options.readers.max(1), "opened sqlite store");
    let (events, _) = tokio::sync::broadcast::channel(threadsync_storage::EVENT_BUFFER);
    Ok(SqliteStore { path, writer, readers, events, cache: ReadCache::new() })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn count_users(&self) -> StorageResult<u64> {
        self.read(users::count_users).await
    }

    async fn insert_user(&self, user: &User, joins: &[Subscription]) -> StorageResult<()> {
        let (user, joins) = (user.clone(), joins.to_vec());
        let result = self
            .write(move |c| {
                users::insert(c, &user)?;
                for sub in &joins {
                    rooms::add_subscription(c, sub)?;
                }
                Ok(())
            })
            .await;
        self.announce(result, |_| StoreEvent { rid: None, kind: EventKind::User, user: None, data: None })
    }

    async fn user_by_id(&self, id: &str) -> StorageResult<Option<User>> {
        self.point(|c| users::by_id(c, id)).await
    }

    async fn user_by_username(&self, username: &str) -> StorageResult<Option<User>> {
        self.point(|c| users::by_username(c, username)).await
    }

    async fn user_by_email(&self, email: &str) -> StorageResult<Option<User>> {
        self.point(|c| users::by_email(c, email)).await
    }

    async fn users_by_usernames(&self, usernames: &[String]) -> StorageResult<Vec<User>> {
        let usernames = usernames.to_vec();
        self.read(move |c| users::by_usernames(c, &usernames)).await
    }

    async fn users_with_extra_roles(&self, limit: u64) -> StorageResult<Vec<User>> {
        self.read(move |c| users::with_extra_roles(c, limit)).await
    }

    async fn delete_user(&self, id: &str) -> StorageResult<bool> {
        let event = StoreEvent::account(id);
        let id = id.to_owned();
        self.announce(self.write(move |c| users::delete(c, &id)).await, |_| event)
    }

    async fn list_users(&self, query: &UserListQuery) -> StorageResult<Page<User>> {
        let query = query.clone();
        self.read(move |c| users::list(c, &query)).await
    }

    async fn set_user_active(&self, id: &str, active: bool) -> StorageResult<Option<User>> {
        let event = StoreEvent::account(id);
        let id = id.to_owned();
        self.announce(self.write(move |c| users::set_active(c, &id, active)).await, |_| event)
    }

    async fn update_user(&self, id: &str, patch: &UserPatch) -> StorageResult<Option<User>> {
        let event = StoreEvent::profile(id, patch);
        let (id, patch) = (id.to_owned(), patch.clone());
        self.announce(self.write(move |c| users::update(c, &id, &patch)).await, |_| event)
    }

    async fn user_preferences(&self, id: &str) -> StorageResult<Option<Map<String, Value>>> {
        self.point(|c| users::preferences(c, id)).await
    }

    async fn merge_user_preferences(
        &self,
        id: &str,
        changes: &Map<String, Value>,
    ) -> StorageResult<Option<Map<String, Value>>> {
        let (id, changes) = (id.to_owned(), changes.clone());
        self.write(move |c| users::merge_preferences(c, &id, &changes)).await
    }

    async fn insert_login_token(
        &self,
        user_id: &str,
        token_hash: &str,
        created_at: Timestamp,
    ) -> StorageResult<()> {
        let event = StoreEvent::account(user_id);
        let (user_id, token_hash) = (user_id.to_owned(), token_hash.to_owned());
        self.announce(
            self.write(move |c| users::insert_login_token(c, &user_id, &token_hash, created_at)).await,
            |_| event,
        )
    }

    async fn user_by_login_token(&self, user_id: &str, token_hash: &str) -> StorageResult<Option<User>> {
        let read = self.point(|c| users::by_login_token(c, user_id, token_hash));
        self.cache.token_or(user_id, token_hash, read).await
    }

    async fn user_by_token_hash(&self, token_hash: &str) -> StorageResult<Option<User>> {
        self.cache.token_or("", token_hash, self.point(|c| users::by_token_hash(c, token_hash))).await
    }

    async fn delete_login_token(&self, user_id: &str, token_hash: &str) -> StorageResult<bool> {
        let event = StoreEvent::account(user_id);
        let (user_id, token_hash) = (user_id.to_owned(), token_hash.to_owned());
        self.announce(self.write(move |c| users::delete_login_token(c, &user_id, &token_hash)).await, |_| {
            event
        })
    }
}

#[async_trait]
impl RoomStore for SqliteStore {
    async fn create_room(&self, room: &Room, subscriptions: &[Subscription]) -> StorageResult<Room> {
        let (room, subscriptions) = (room.clone(), subscriptions.to_vec());
        self.announce(self.write(move |c| rooms::create(c, &room, &subscriptions)).await, |r| StoreEvent {
            rid: Some(r.id.clone()),
            kind: EventKind::Room,
            user: None,
            data: None,
        })
    }

    async fn room_by_id(&self, id: &str) -> StorageResult<Option<Room>> {
        self.point(|c| rooms::load(c, id)).await
    }

    async fn room_type(&self, id: &str) -> StorageResult<Option<RoomType>> {
        self.cache.room_type_or(id, self.point(|c| rooms::type_of(c, id))).await
    }

    async fn room_by_name(&self, name: &str) -> StorageResult<Option<Room>> {
        self.point(|c| rooms::by_name(c, name)).await
    }

    async fn direct_room(&self, uids: &[String]) -> StorageResult<Option<Room>> {
        let uids = uids.to_vec();
        self.read(move |c| rooms::direct(c, &uids)).await
    }

    async fn default_rooms(&self) -> StorageResult<Vec<Room>> {
        self.read(rooms::defaults).await
    }

    async fn subscriptions_since(
        &self,
        user_id: &str,
        since: Option<Timestamp>,
    ) -> StorageResult<RosterChanges<Subscription>> {
        let user_id = user_id.to_owned();
        self.read(move |c| rooms::subscriptions_since(c, &user_id, since)).await
    }

    async fn rooms_since(
        &self,
        user_id: &str,
        since: Option<Timestamp>,
    ) -> StorageResult<RosterChanges<Room>> {
        let user_id = user_id.to_owned();
        self.read(move |c| rooms::rooms_since(c, &user_id, since)).await
    }

    async fn delete_room(&self, id: &str) -> StorageResult<bool> {
        let (id, rid) = (id.to_owned(), id.to_owned());
        self.announce(self.write(move |c| rooms::delete(c, &id)).await, |_| StoreEvent {
            rid: Some(rid),
            kind: EventKind::Room,
            user: None,
            data: None,
        })
    }

    async fn add_subscription(&self, subscription: &Subscription) -> StorageResult<bool> {
        let (rid, user) = (subscription.rid.clone(), subscription.u.id.clone());
        let subscription = subscription.clone();
        self.announce(self.write(move |c| rooms::add_subscription(c, &subscription)).await, |_| {
            StoreEvent::membership(&rid, &user)
        })
    }

    async fn remove_subscription(
        &self,
        rid: &str,
        user_id: &str,
        keep_an_owner: bool,
    ) -> StorageResult<bool> {
        let event = StoreEvent::membership(rid, user_id);
        let (rid, user_id) = (rid.to_owned(), user_id.to_owned());
        self.announce(
            self.write(move |c| rooms::remove_subscription(c, &rid, &user_id, keep_an_owner)).await,
            |_| event,
        )
    }

    async fn subscription(&self, rid: &str, user_id: &str) -> StorageResult<Option<Subscription>> {
        self.point(|c| rooms::subscription(c, rid, user_id)).await
    }

    async fn set_read_state(
        &self,
        rid: &str,
        user_id: &str,
        change: ReadChange,
    ) -> StorageResult<Option<Subscription>> {
        let event = StoreEvent::read_state(rid, user_id);
        let (rid, user_id) = (rid.to_owned(), user_id.to_owned());
        let result = self.write(move |c| rooms::set_read_state(c, &rid, &user_id, change)).await;
        if let Ok(Some(_)) = &result {
            let _ = self.events.send(Arc::new(event));
        }
        result
    }

    async fn mark_thread_read(
        &self,
        rid: &str,
        user_id: &str,
        tmid: &str,
    ) -> StorageResult<Option<Subscription>> {
        let event = StoreEvent::read_state(rid, user_id);
        let (rid, user_id, tmid) = (rid.to_owned(), user_id.to_owned(), tmid.to_owned());
        let result = self.write(move |c| rooms::mark_thread_read(c, &rid, &user_id, &tmid)).await;
        // Nothing changed, nothing to announce.
        if let Ok(Some(_)) = &result {
            let _ = self.events.send(Arc::new(event));
        }
        result
    }

    async fn room_members(&self, rid: &str, offset: u64, count: u64) -> StorageResult<Page<User>> {
        let rid = rid.to_owned();
        self.read(move |c| rooms::members(c, &rid, offset, count)).await
    }

    async fn rooms_of_user(
        &self,
        user_id: &str,
        types: &[RoomType],
        offset: u64,
        count: u64,
    ) -> StorageResult<Page<Room>> {
        let (user_id, types) = (user_id.to_owned(), types.to_vec());
        self.read(move |c| rooms::of_user(c, &user_id, &types, offset, count)).await
    }

    async fn list_rooms(&self, query: &RoomListQuery) -> StorageResult<Page<Room>> {
        let query = query.clone();
        self.read(move |c| rooms::list(c, &query)).await
    }

    async fn room_role_holders(&self, rid: &str) -> StorageResult<Vec<Subscription>> {
        let rid = rid.to_owned();
        self.read(move |c| rooms::role_holders(c, &rid)).await
    }

    async fn room_join_code(&self, rid: &str) -> StorageResult<Option<String>> {
        let rid = rid.to_owned();
        self.read(move |c| rooms::join_code(c, &rid)).await
    }

    async fn update_room(&self, rid: &str, change: &RoomChange) -> StorageResult<Option<Room>> {
        let (id, rid, change) = (rid.to_owned(), rid.to_owned(), change.clone());
        self.announce(self.write(move |c| rooms::update(c, &id, &change)).await, |_| {
            StoreEvent::room(EventKind::Room, &rid)
        })
    }
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn insert_message(&self, new: NewMessage) -> StorageResult<Message> {
        self.announce(self.write(move |c| messages::insert(c, new)).await, |m| rules::message_event(&m.rid))
    }

    async fn message_by_id(&self, id: &str) -> StorageResult<Option<Message>> {
        self.point(|c| messages::load(c, id)).await
    }

    async fn messages_without_markup(&self, after: &str, limit: u64) -> StorageResult<Vec<(String, String)>> {
        let after = after.to_owned();
        self.read(move |c| messages::without_markup(c, &after, limit)).await
    }

    async fn set_missing_markup(
        &self,
        id: &str,
        msg: &str,
        md: &threadsync_domain::Markup,
    ) -> StorageResult<bool> {
        let (id, msg, md) = (id.to_owned(), msg.to_owned(), md.clone());
        // No `announce`: nothing a client must download changed.
        self.write(move |c| messages::set_missing_markup(c, &id, &msg, &md)).await
    }

    async fn markup_backfilled(&self) -> StorageResult<bool> {
        self.point(messages::markup_backfilled).await
    }

    async fn mark_markup_backfilled(&self) -> StorageResult<()> {
        self.write(messages::mark_markup_backfilled).await
    }

    async fn message_place(&self, id: &str) -> StorageResult<Option<MessagePlace>> {
        self.cache.message_place_or(id, self.point(|c| messages::place_of(c, id))).await
    }

    async fn set_reaction(
        &self,
        id: &str,
        emoji: &str,
        username: &str,
        should_react: Option<bool>,
    ) -> StorageResult<Option<Message>> {
        let (id, emoji, username) = (id.to_owned(), emoji.to_owned(), username.to_owned());
        let changed =
            self.write(move |c| messages::set_reaction(c, &id, &emoji, &username, should_react)).await;
        if let Ok(Some(m)) = &changed {
            let _ = self.events.send(Arc::new(StoreEvent::room(EventKind::Message, &m.rid)));
        }
        changed
    }

    async fn set_mark(&self, id: &str, mark: MessageMark) -> StorageResult<Option<Message>> {
        let id = id.to_owned();
        let changed = self.write(move |c| messages::set_mark(c, &id, &mark)).await;
        if let Ok(Some(m)) = &changed {
            let _ = self.events.send(Arc::new(StoreEvent::room(EventKind::Message, &m.rid)));
        }
        changed
    }

    async fn edit_message(&self, id: &str, edit: MessageEdit) -> StorageResult<Message> {
        let id = id.to_owned();
        self.announce(self.write(move |c| messages::edit(c, &id, edit)).await, |m| {
            rules::message_event(&m.rid)
        })
    }

    async fn delete_message(&self, id: &str, show_deleted_status: bool) -> StorageResult<Deletion> {
        let id = id.to_owned();
        self.announce(
            self.write(move |c| messages::delete(c, &id, show_deleted_status)).await,
            rules::deletion_event,
        )
    }

    async fn set_following(&self, tmid: &str, user_id: &str, follow: bool) -> StorageResult<Message> {
        let (tmid, user_id) = (tmid.to_owned(), user_id.to_owned());
        let user = user_id.clone();
        self.announce(self.write(move |c| messages::set_following(c, &tmid, &user_id, follow)).await, |m| {
            rules::following_event(m, &user)
        })
    }
}

/// What `chat.search` reads on SQLite for one search: the page's documents
/// as stored, by the same access paths, for the benchmark ceiling
/// (`threadsync-search-ceiling`), which runs them on its own connections.
/// Filters with `$regex` need the store's `ts_regexp` function;
/// `chat.search` builds none.
pub fn search_documents(conn: &rusqlite::Connection, query: &SearchQuery) -> StorageResult<Vec<String>> {
    search::search_documents(conn, query)
}

#[async_trait]
impl SearchStore for SqliteStore {
    async fn search_messages(&self, query: &SearchQuery) -> StorageResult<Vec<Message>> {
        let query = query.clone();
        self.read(move |c| search::search(c, &query)).await
    }
}

#[async_trait]
impl SyncStore for SqliteStore {
    async fn stored_changes_since(
        &self,
        scope: ChangeScope<'_>,
        since: Timestamp,
        filter: &Filter,
        offset: u64,
        limit: u64,
    ) -> StorageResult<Changes<StoredMessage>> {
        // Hot delta syncs (clients polling a thread or room they have open)
        // find a handful of changes. The page is first read on the calling
        // task with a small bound (see pool.rs for why that is cheaper); it
        // is the answer when it does not fill up. Only a bigger page goes to
        // a reader thread, read again from the start with its full bound
        // (the probe is dropped, so the answer is one snapshot either way;
        // the probe's cost is small next to that page's). A client `query`
        // or an `offset` can make the scan long whatever the page size, so
        // those always go to a reader thread.
        if matches!(filter, Filter::True) && offset == 0 {
            let probe_limit = limit.min(INLINE_FEED_ROWS);
            let probe = self.point(|c| sync::changes_since(c, scope, since, filter, 0, probe_limit)).await?;
            if !probe.more || probe_limit == limit {
                return Ok(probe);
            }
        }
        let filter = filter.clone();
        // The scope borrows; the read runs on another thread.
        let owned = match scope {
            ChangeScope::Thread(id) => (0, id.to_owned()),
            ChangeScope::ThreadParents(id) => (1, id.to_owned()),
            ChangeScope::Room(id) => (2, id.to_owned()),
        };
        self.read(move |c| {
            let scope = match owned.0 {
                0 => ChangeScope::Thread(&owned.1),
                1 => ChangeScope::ThreadParents(&owned.1),
                _ => ChangeScope::Room(&owned.1),
            };
            sync::changes_since(c, scope, since, &filter, offset, limit)
        })
        .await
    }

    async fn thread_replies(
        &self,
        tmid: &str,
        filter: &Filter,
        sort: &Sort,
        offset: u64,
        count: u64,
    ) -> StorageResult<Page<Message>> {
        let (tmid, filter, sort) = (tmid.to_owned(), filter.clone(), sort.clone());
        self.read(move |c| sync::thread_replies(c, &tmid, &filter, &sort, offset, count)).await
    }

    async fn room_messages(
        &self,
        rid: &str,
        filter: &Filter,
        sort: &Sort,
        offset: u64,
        count: u64,
    ) -> StorageResult<Page<Message>> {
        let (rid, filter, sort) = (rid.to_owned(), filter.clone(), sort.clone());
        self.read(move |c| sync::room_messages(c, &rid, &filter, &sort, offset, count)).await
    }

    async fn thread_parents(&self, query: &ThreadListQuery) -> StorageResult<Page<Message>> {
        let query = query.clone();
        self.read(move |c| sync::thread_parents(c, &query)).await
    }

    async fn room_updates(&self, rid: &str, cursor: Cursor, count: u64) -> StorageResult<Vec<Message>> {
        let rid = rid.to_owned();
        self.read(move |c| sync::room_updates(c, &rid, cursor, count)).await
    }

    async fn room_removals(&self, rid: &str, cursor: Cursor, count: u64) -> StorageResult<Vec<Tombstone>> {
        let rid = rid.to_owned();
        self.read(move |c| sync::room_removals(c, &rid, cursor, count)).await
    }

    async fn room_tombstones(
        &self,
        rid: &str,
        since: Timestamp,
        offset: u64,
        count: u64,
    ) -> StorageResult<Page<Tombstone>> {
        let rid = rid.to_owned();
        self.read(move |c| sync::room_tombstones(c, &rid, since, offset, count)).await
    }

    async fn prune_tombstones(&self, before: Timestamp) -> StorageResult<u64> {
        self.announce(self.write(move |c| sync::prune_tombstones(c, before)).await, |_| StoreEvent {
            rid: None,
            kind: EventKind::Tombstones,
            user: None,
            data: None,
        })
    }

    async fn tombstone_horizon(&self) -> StorageResult<Option<Timestamp>> {
        self.cache.horizon_or(self.point(sync::tombstone_horizon)).await
    }
}

#[async_trait]
impl ImportStore for SqliteStore {
    async fn import(&self, batch: ImportBatch) -> StorageResult<()> {
        // Alone in its transaction: an import is thousands of statements
        // (writer.rs, `Mode::Alone`).
        let result = self.writer.execute_alone(move |c| import::import(c, &batch)).await;
        // Imported documents may replace anything cached; imports announce
        // nothing (they run before serving), so forget everything here.
        self.cache.suspend();
        self.cache.resume();
        result
    }
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn load_settings(&self) -> StorageResult<Vec<(String, Value)>> {
        self.read(settings::load).await
    }

    async fn save_setting(&self, id: &str, value: &Value) -> StorageResult<()> {
        let (id, value) = (id.to_owned(), value.clone());
        self.announce(self.write(move |c| settings::save(c, &id, &value)).await, |_| StoreEvent::settings())
    }

    async fn load_permissions(&self) -> StorageResult<Vec<PermissionChange>> {
        self.read(settings::load_permissions).await
    }

    async fn save_permissions(&self, changes: &[PermissionChange]) -> StorageResult<()> {
        let changes = changes.to_vec();
        self.announce(self.write(move |c| settings::save_permissions(c, &changes)).await, |_| {
            StoreEvent::settings()
        })
    }

    async fn load_roles(&self) -> StorageResult<Vec<Role>> {
        self.read(settings::load_roles).await
    }

    async fn save_role(&self, role: &Role) -> StorageResult<()> {
        let role = role.clone();
        self.announce(self.write(move |c| settings::save_role(c, &role)).await, |_| StoreEvent::settings())
    }

    async fn delete_role(&self, id: &str, at: Timestamp) -> StorageResult<bool> {
        let id = id.to_owned();
        self.announce(self.write(move |c| settings::delete_role(c, &id, at)).await, |_| {
            StoreEvent::settings()
        })
    }

    async fn removed_roles(&self, since: Timestamp) -> StorageResult<Vec<(String, Timestamp)>> {
        self.read(move |c| settings::removed_roles(c, since)).await
    }
}

#[async_trait]
impl UploadStore for SqliteStore {
    async fn insert_upload(&self, upload: &Upload) -> StorageResult<()> {
        let upload = upload.clone();
        self.write(move |c| uploads::insert(c, &upload)).await
    }

    async fn upload_by_id(&self, id: &str) -> StorageResult<Option<Upload>> {
        let id = id.to_owned();
        self.read(move |c| uploads::by_id(c, &id)).await
    }

    async fn attach_upload(
        &self,
        id: &str,
        message_id: &str,
        description: Option<&str>,
        now: Timestamp,
    ) -> StorageResult<bool> {
        let (id, message_id) = (id.to_owned(), message_id.to_owned());
        let description = description.map(str::to_owned);
        self.write(move |c| uploads::attach(c, &id, &message_id, description.as_deref(), now)).await
    }

    async fn room_uploads(&self, query: &UploadListQuery) -> StorageResult<Page<Upload>> {
        let query = query.clone();
        self.read(move |c| uploads::of_room(c, &query)).await
    }

    async fn delete_uploads(&self, which: UploadSelection<'_>) -> StorageResult<Vec<Upload>> {
        match which {
            UploadSelection::Ids(ids) => {
                let ids = ids.to_vec();
                self.write(move |c| uploads::delete(c, UploadSelection::Ids(&ids))).await
            }
            UploadSelection::Room(rid) => {
                let rid = rid.to_owned();
                self.write(move |c| uploads::delete(c, UploadSelection::Room(&rid))).await
            }
            UploadSelection::Expired { now, limit } => {
                self.write(move |c| uploads::delete(c, UploadSelection::Expired { now, limit })).await
            }
        }
    }
}

#[async_trait]
impl PresenceStore for SqliteStore {
    async fn update_presence(&self, user_id: &str, change: &PresenceChange) -> StorageResult<Option<User>> {
        let (user_id, change) = (user_id.to_owned(), change.clone());
        let result = self.write(move |c| presence::update(c, &user_id, &change, Timestamp::now())).await?;
        Ok(result.map(|(user, changed)| {
            if changed {
                let event = StoreEvent::presence(&user.id);
                self.cache.on_event(&event);
                let _ = self.events.send(Arc::new(event));
            }
            user
        }))
    }

    async fn renew_presence(&self, instance: &str, expires_at: Timestamp) -> StorageResult<()> {
        let instance = instance.to_owned();
        self.write(move |c| presence::renew(c, &instance, expires_at)).await
    }

    async fn expired_presence(&self, limit: u64) -> StorageResult<Vec<String>> {
        self.read(move |c| presence::expired(c, Timestamp::now(), limit)).await
    }
}

#[async_trait]
impl AvatarStore for SqliteStore {
    async fn set_avatar(&self, avatar: &Avatar) -> StorageResult<Option<Avatar>> {
        let avatar = avatar.clone();
        self.write(move |c| uploads::set_avatar(c, &avatar)).await
    }

    async fn avatar_of(&self, user_id: &str) -> StorageResult<Option<Avatar>> {
        let user_id = user_id.to_owned();
        self.read(move |c| uploads::avatar(c, &user_id)).await
    }

    async fn remove_avatar(&self, user_id: &str) -> StorageResult<Option<Avatar>> {
        let user_id = user_id.to_owned();
        self.write(move |c| uploads::remove_avatar(c, &user_id)).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<StoreEvent>> {
        self.events.subscribe()
    }

    /// One process shares the file: the local channel reaches everyone.
    async fn publish(&self, data: String) -> StorageResult<()> {
        if data.len() > threadsync_storage::MAX_EPHEMERAL_BYTES {
            return Err(StorageError::Invalid("ephemeral payload too large"));
        }
        let _ = self.events.send(Arc::new(StoreEvent {
            rid: None,
            kind: EventKind::Ephemeral,
            user: None,
            data: Some(data),
        }));
        Ok(())
    }

    fn stats(&self) -> Vec<(&'static str, f64)> {
        let (queued, written) = self.writer.stats();
        let (busy, readers) = self.readers.stats();
        vec![
            ("write_queue", queued as f64),
            ("writes_total", written as f64),
            ("readers_busy", f64::from(busy)),
            ("readers", f64::from(readers)),
        ]
    }

    /// A read of the settings table on a reader, and the writer still
    /// accepting jobs (without queueing one: a long write queue is load,
    /// not unreadiness).
    async fn ping(&self) -> StorageResult<()> {
        if !self.writer.is_open() {
            return Err(StorageError::Backend("the sqlite store is closed".to_owned()));
        }
        self.read(settings::ping).await
    }

    /// Waits for the reads in flight and closes the readers, then lets the
    /// writer finish every queued write, checkpoint the WAL into the main
    /// file (`wal_checkpoint(TRUNCATE)`) and close. Later calls fail with
    /// `Backend("... closed")`. Idempotent.
    async fn close(&self) {
        // Readers first: an open read snapshot would keep the checkpoint
        // from truncating the WAL.
        self.readers.shutdown().await;
        self.writer.shutdown().await;
        tracing::info!(path = %self.path.display(), "closed sqlite store");
    }
}
