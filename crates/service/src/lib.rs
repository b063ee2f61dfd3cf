//! The rules of threadsync: who may do what, and what each operation does.
//!
//! Services sit between the HTTP API and the storage traits. They see only
//! the traits (never SQL), and they speak domain errors, which the HTTP layer
//! turns into Rocket.Chat's wire format.

mod access;
mod auth;
#[cfg(feature = "bench-endpoints")]
mod bench;
mod bootstrap;
mod directory;
mod history;
mod marks;
mod membership;
mod messages;
mod paging;
mod reactions;
mod read_state;
mod retention;
mod rooms;
mod roster;
mod settings;
mod sync;
mod threads;
mod throttle;
mod users;

pub use auth::{hash_password, hash_token, verify_password, LoginCredentials, LoginPassword, LoginSession};
pub use bootstrap::{bootstrap, AdminSeed, BootstrapReport, GENERAL_ROOM_ID};
pub use directory::{SettingsFilter, MAX_DIRECTORY_USERS};
pub use history::{History, HistoryParams, HistoryQuery, MAX_HISTORY};
pub use messages::{message_markup, DeletedMessage, PostMessage, PostedMessage};
pub use paging::{Paging, HARD_MAX_COUNT};
pub use rooms::{Listing, RoomSelector, UserSelector};
pub use roster::{Removed, Roster, SETTLE_MS};
pub use sync::{CursorBounds, DeletedListing, Documents, ListParams, RoomSync, SyncMessagesParams};
pub use threads::{MessageListing, SyncedChanges, ThreadsListParams};
pub use throttle::LoginThrottleConfig;
pub use users::NewUser;

use std::sync::{Arc, RwLock};
use threadsync_domain::settings::Settings;
use threadsync_domain::Result;
use threadsync_storage::Store;

/// The application: the store plus the rules. Cheap to share (`Arc`).
pub struct Services {
    store: Arc<dyn Store>,
    /// Settings are read on almost every request and written rarely, so the
    /// current values live here and writes replace the whole snapshot; a
    /// request keeps the `Arc` it took and sees one consistent set.
    settings: RwLock<Arc<Settings>>,
    /// Serialises setting changes so the stored value and the in-memory
    /// snapshot always end up equal, even for concurrent writes of one id.
    settings_write: tokio::sync::Mutex<()>,
    /// Failed-login counters per account and client IP (brute-force brake).
    login_throttle: throttle::LoginThrottle,
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
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            bcrypt_cost: auth::DEFAULT_BCRYPT_COST,
            max_sync_items: paging::HARD_MAX_COUNT,
            tombstone_retention_ms: None,
            login_throttle: LoginThrottleConfig::default(),
            roster_settle_ms: roster::SETTLE_MS,
        }
    }
}

impl Services {
    /// Loads the persisted settings and returns the services over `store`.
    pub async fn start(store: Arc<dyn Store>) -> Result<Arc<Services>> {
        Self::start_with(store, ServiceOptions::default()).await
    }

    /// As [`Services::start`], with chosen options (tests use bcrypt cost 4,
    /// the minimum, to stay fast; production uses Meteor's 10).
    pub async fn start_with(store: Arc<dyn Store>, options: ServiceOptions) -> Result<Arc<Services>> {
        let stored = store.load_settings().await?;
        Ok(Arc::new(Services {
            store,
            settings: RwLock::new(Arc::new(Settings::from_stored(stored))),
            settings_write: tokio::sync::Mutex::new(()),
            login_throttle: throttle::LoginThrottle::new(options.login_throttle.clone()),
            options,
        }))
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
        self.store.close().await;
    }
}
