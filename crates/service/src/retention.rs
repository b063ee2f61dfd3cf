//! Tombstone retention: optional pruning of old deletion records.

use crate::Services;
use threadsync_domain::{Result, Timestamp};

impl Services {
    /// Prunes tombstones older than the configured retention and moves the
    /// store's horizon (syncs from before it are then refused with a resync
    /// error, never answered incompletely). `Ok(0)` when no retention is set.
    pub async fn prune_tombstones(&self) -> Result<u64> {
        let Some(retention_ms) = self.options.tombstone_retention_ms else {
            return Ok(0);
        };
        let before = Timestamp(Timestamp::now().millis().saturating_sub(retention_ms));
        Ok(self.store.prune_tombstones(before).await?)
    }
}
