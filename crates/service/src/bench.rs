//! The load harness's ceiling (`/bench/raw-sync`): the thread feed straight
//! from the store, skipping every rule. Compiled only with the
//! `bench-endpoints` feature, and reachable only when the server runs with
//! `--bench-endpoints`.

use crate::Services;
use threadsync_domain::query::Filter;
use threadsync_domain::{Result, StoredMessage, Timestamp};
use threadsync_storage::{ChangeScope, Changes};

impl Services {
    /// The same indexed query as `chat.syncThreadMessages`, without auth,
    /// settings, access checks or shaping; the documents as stored.
    pub async fn raw_thread_feed(
        &self,
        tmid: &str,
        since: Timestamp,
        count: u64,
    ) -> Result<Changes<StoredMessage>> {
        Ok(self.store.stored_changes_since(ChangeScope::Thread(tmid), since, &Filter::True, 0, count).await?)
    }
}
