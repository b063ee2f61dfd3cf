//! The rules of threadsync: who may do what, and what each operation does.
//!
//! Services sit between the HTTP API and the storage traits. They see only
//! the traits (never SQL), and they speak domain errors, which the HTTP layer
//! turns into Rocket.Chat's wire format.

mod access;
mod auth;
mod avatars;
#[cfg(feature = "bench-endpoints")]
mod bench;
mod bootstrap;
mod directory;
mod discussions;
mod files;
mod history;
mod marks;
mod membership;
mod messages;
mod paging;
mod permissions;
mod presence;
mod profile;
mod reactions;
pub use reactions::ReactRequest;
pub use read_state::UnreadFrom;
mod read_state;
mod retention;
mod room_actions;
mod room_lists;
mod room_overview;
mod room_roles;
mod room_settings;
mod rooms;
mod roster;
mod search;
pub use search::SearchRequest;
mod settings;
mod spotlight;
mod sync;
mod threads;
mod throttle;
mod users;

pub use auth::{hash_password, hash_token, verify_password, LoginCredentials, LoginPassword, LoginSession};
pub use avatars::MAX_AVATAR_BYTES;
pub use bootstrap::{bootstrap, AdminSeed, BootstrapReport, GENERAL_ROOM_ID, ROCKET_CAT_ID};
pub use directory::{PresenceList, SettingsFilter, MAX_DIRECTORY_USERS, MAX_PRESENCE_USERS};
pub use discussions::{NewDiscussion, MAX_DISCUSSION_USERS};
pub use files::{FileListParams, FileMessage, IncomingFile, StoredFile};
pub use history::{History, HistoryParams, HistoryQuery, HistoryRequest, MAX_HISTORY};
pub use marks::{message_id_param, Marked, MarkedRequest};
pub use messages::{message_markup, DeletedMessage, PostMessage, PostedMessage};
pub use paging::{Paging, HARD_MAX_COUNT};
pub use permissions::{role_to_delete, role_to_update, PermissionUpdate, RoleAssignment, RoleFields};
pub use presence::DEFAULT_LEASE as DEFAULT_PRESENCE_LEASE;
pub use profile::{StatusChange, UserUpdate};
pub use room_actions::CleanHistory;
pub use room_overview::RoomCounters;
pub use room_roles::RoomRole;
pub use room_settings::RoomSetting;
pub use rooms::{Listing, RoomSelector, UserSelector};
pub use roster::{roster_since, Removed, Roster, SETTLE_MS};
pub use spotlight::{DirectoryKind, DirectoryPage, DirectoryQuery, SPOTLIGHT_LIMIT};
pub use sync::{
    CursorBounds, DeletedListing, DeletedMessagesRequest, Documents, ListParams, RoomFeedKind, RoomSync,
    RoomSyncForm, SyncMessagesParams, SyncMessagesRequest,
};
pub use threads::{
    followed_message, MessageListing, SyncThreadRequest, SyncThreadsListRequest, SyncedChanges,
    ThreadRequest, ThreadsListRequest, ThreadsOf,
};
pub use throttle::LoginThrottleConfig;
pub use users::{NewUser, UserListRequest};

use std::sync::{Arc, RwLock, Weak};
use threadsync_domain::permissions::PermissionTable;
use threadsync_domain::settings::Settings;
use threadsync_domain::Result;
use threadsync_storage::{BlobStore, EventKind, Store, StoreEvent};
use tokio::sync::broadcast::{error::RecvError, Receiver};

/// The application: the store plus the rules. Cheap to share (`Arc`).
pub struct Services {
    store: Arc<dyn Store>,
    /// The bytes of uploaded files (their records are in `store`).
    blobs: Arc<dyn BlobStore>,
    /// Settings are read on almost every request and written rarely, so the
    /// current values live here and writes replace the whole snapshot; a
    /// request keeps the `Arc` it took and sees one consistent set.
    settings: RwLock<Arc<Settings>>,
    /// The permission table in force (permissions.rs), kept like the settings.
    permissions: RwLock<Arc<PermissionTable>>,
    /// Serialises configuration changes (settings, permissions) and their
    /// reloads, so the stored values and the in-memory snapshots always end
    /// up equal, even for concurrent writes of one id.
    settings_write: tokio::sync::Mutex<()>,
    /// Failed-login counters per account and client IP (brute-force brake).
    login_throttle: throttle::LoginThrottle,
    /// The realtime instances of this process that hold presence records
    /// (released at shutdown: presence.rs).
    presence_instances: std::sync::Mutex<std::collections::HashSet<String>>,
    options: ServiceOptions,
}

/// Tunables of the services, chosen by the binary (or a test).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceOptions {
    /// bcrypt cost for new password hashes (Meteor uses 10; tests lower it).
    pub bcrypt_cost: u32,
    /// The most changes one sync response carries when the client sends no
    /// `count` (and the ceiling of `count=0`). Clients resume from the last
    /// stamp they got, so a cap loses nothing; it bounds memory per request.
    pub max_sync_items: u64,
    /// Tombstones older than this are pruned; a sync from before the pruning
    /// horizon is refused with a "resync" error instead of answered
    /// incompletely. `None` (the default): tombstones are kept forever.
    pub tombstone_retention_ms: Option<i64>,
    /// Brakes on repeated failed logins (thresholds, delays, capacity);
    /// tests shorten the delays.
    pub login_throttle: LoginThrottleConfig,
    /// How far behind the wall clock `rooms.get` / `subscriptions.get`
    /// place the settled point (see roster.rs); tests set 0 to see exact
    /// stamps.
    pub roster_settle_ms: i64,
    /// `users.createToken` may issue tokens (`CREATE_TOKENS_FOR_USERS`).
    pub create_tokens_for_users: bool,
    /// The secret `users.createToken` must be given, when set.
    pub create_tokens_secret: Option<String>,
    /// How long a realtime connection's presence record lives without its
    /// instance renewing it; instances renew every third of it (presence.rs).
    pub presence_lease: std::time::Duration,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            bcrypt_cost: auth::DEFAULT_BCRYPT_COST,
            max_sync_items: paging::HARD_MAX_COUNT,
            tombstone_retention_ms: None,
            login_throttle: LoginThrottleConfig::default(),
            roster_settle_ms: roster::SETTLE_MS,
            create_tokens_for_users: false,
            create_tokens_secret: None,
            presence_lease: presence::DEFAULT_LEASE,
        }
    }
}

impl Services {
    /// Loads the persisted settings and returns the services over `store`
    /// (documents) and `blobs` (uploaded files' bytes).
    pub async fn start(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>) -> Result<Arc<Services>> {
        Self::start_with(store, blobs, ServiceOptions::default()).await
    }

    /// As [`Services::start`], with chosen options (tests use bcrypt cost 4,
    /// the minimum, to stay fast; production uses Meteor's 10).
    pub async fn start_with(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        options: ServiceOptions,
    ) -> Result<Arc<Services>> {
        // Subscribed before loading: a change committed in between is
        // announced to this receiver, so it is reloaded, never missed.
        let events = store.subscribe();
        let stored = store.load_settings().await?;
        let permissions = permissions::load_table(store.as_ref()).await?;
        let services = Arc::new(Services {
            store,
            blobs,
            settings: RwLock::new(Arc::new(Settings::from_stored(stored))),
            permissions: RwLock::new(Arc::new(permissions)),
            settings_write: tokio::sync::Mutex::new(()),
            login_throttle: throttle::LoginThrottle::new(options.login_throttle.clone()),
            presence_instances: Default::default(),
            options,
        });
        tokio::spawn(watch_configuration(Arc::downgrade(&services), events));
        Ok(services)
    }

    /// Re-reads the settings and the permission table from the store (after
    /// another instance, or this one, changed them).
    async fn reload_configuration(&self) -> Result<()> {
        let _one_writer = self.settings_write.lock().await;
        let stored = self.store.load_settings().await?;
        let permissions = permissions::load_table(self.store.as_ref()).await?;
        let settings = Arc::new(Settings::from_stored(stored));
        match self.settings.write() {
            Ok(mut guard) => *guard = settings,
            Err(poisoned) => *poisoned.into_inner() = settings,
        }
        self.replace_permissions(Arc::new(permissions));
        Ok(())
    }

    pub fn options(&self) -> &ServiceOptions {
        &self.options
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The current settings snapshot.
    pub fn settings(&self) -> Arc<Settings> {
        match self.settings.read() {
            Ok(guard) => Arc::clone(&guard),
            // A writer panicked mid-replace; the snapshot itself is still whole.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Finishes in-flight writes and closes the store.
    pub async fn shutdown(&self) {
        self.release_presence().await;
        self.store.close().await;
    }
}

/// Keeps an instance's settings and permission table equal to the stored
/// ones: an admin's change on any instance sharing the database announces a
/// settings event (PostgreSQL: `NOTIFY`), and every instance reloads. A
/// lagged receiver or a resync (announcements possibly lost while a
/// listener reconnected) reloads too. Ends with the services.
async fn watch_configuration(services: Weak<Services>, mut events: Receiver<Arc<StoreEvent>>) {
    loop {
        match events.recv().await {
            Ok(event) if matches!(event.kind, EventKind::Settings | EventKind::Resync) => {}
            Ok(_) => continue,
            Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
        let Some(services) = services.upgrade() else { return };
        if let Err(e) = services.reload_configuration().await {
            tracing::warn!(error = %e, "reloading settings and permissions failed; keeping the current ones");
        }
    }
}
