//! Presence from realtime connections (docs/realtime.md, "Presence").
//!
//! Each realtime connection a user logs in on is recorded in the store
//! with a lease, under a name unique across instances; the user's `status`
//! is derived from their live connections and the status they chose
//! ([`threadsync_domain::presence`]) in the transaction that changes
//! either, and a change is announced to every instance, whose relays send
//! it to the clients listening. A connection closes its record when it
//! ends; an instance renews its records' leases while it runs, so those of
//! an instance that died are found expired and removed by any other (or by
//! itself after a restart).

use crate::Services;
use std::sync::PoisonError;
use std::time::Duration;
use threadsync_domain::Reject;
use threadsync_domain::{presence, Error, Result, Timestamp, User};
use threadsync_storage::PresenceChange;

/// How long a connection's record lives without its instance renewing it,
/// unless configured ([`crate::ServiceOptions::presence_lease`]). An
/// instance renews every third of it ([`Services::presence_renewal`]), so
/// two missed renewals still keep a live record.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(90);
/// Expired users handled per sweep.
const SWEEP_BATCH: u64 = 500;
/// Batches per heartbeat.
const MAX_SWEEPS: usize = 20;

impl Services {
    /// How often this instance runs [`Services::presence_heartbeat`].
    pub fn presence_renewal(&self) -> Duration {
        self.options.presence_lease / 3
    }

    fn lease_end(&self) -> Timestamp {
        let lease = i64::try_from(self.options.presence_lease.as_millis()).unwrap_or(i64::MAX);
        Timestamp(Timestamp::now().millis().saturating_add(lease))
    }

    /// Realtime connection `connection` (of instance `instance`) of user
    /// `user_id` is open with `status`: its login (`online`), or its client
    /// reporting the user idle or active (`UserPresence:away` / `:online`).
    pub async fn connection_status(
        &self,
        user_id: &str,
        connection: &str,
        instance: &str,
        status: &str,
    ) -> Result<()> {
        if !presence::CONNECTION_STATUSES.contains(&status) {
            return Err(Error::internal(format!("connection status {status}")));
        }
        let change = PresenceChange::Connection {
            id: connection.to_owned(),
            instance: instance.to_owned(),
            status: status.to_owned(),
            expires_at: self.lease_end(),
        };
        self.store.update_presence(user_id, &change).await?;
        Ok(())
    }

    /// Realtime connection `connection` of user `user_id` closed or logged out.
    pub async fn connection_closed(&self, user_id: &str, connection: &str) -> Result<()> {
        let change = PresenceChange::Closed { id: connection.to_owned() };
        self.store.update_presence(user_id, &change).await?;
        Ok(())
    }

    /// `UserPresence:setDefaultStatus` and `setUserStatus`: the status the
    /// caller chose, shown as their connections allow (no connection:
    /// `offline`). The values and the invisible-status setting are those
    /// of `users.setStatus`.
    pub async fn choose_status(&self, caller: &User, status: &str) -> Result<User> {
        if !presence::STATUSES.contains(&status) {
            return Err(Error::from(Reject::InvalidStatus));
        }
        if status == presence::OFFLINE && !self.settings().invisible_status_allowed() {
            return Err(Error::from(Reject::InvisibleStatusDisabled));
        }
        let change = PresenceChange::Chosen { status: status.to_owned() };
        self.store.update_presence(&caller.id, &change).await?.ok_or_else(|| Error::from(Reject::InvalidUser))
    }

    /// The heartbeat of instance `instance`: renews its connections' leases,
    /// then removes every expired connection (of any instance) and derives
    /// its user's status again. Run every [`Services::presence_renewal`].
    pub async fn presence_heartbeat(&self, instance: &str) -> Result<()> {
        self.presence_instances.lock().unwrap_or_else(PoisonError::into_inner).insert(instance.to_owned());
        self.store.renew_presence(instance, self.lease_end()).await?;
        self.sweep_presence().await
    }

    /// At shutdown: ends the leases of this process's instances and sweeps,
    /// so their users show offline now rather than when the leases would
    /// have ended (each closing socket also closes its own record, but a
    /// stopping runtime may not get to run those). Failures are logged: a
    /// lease that was not released still ends on its own.
    pub(crate) async fn release_presence(&self) {
        let instances: Vec<String> =
            self.presence_instances.lock().unwrap_or_else(PoisonError::into_inner).drain().collect();
        if instances.is_empty() {
            return;
        }
        for instance in &instances {
            if let Err(e) = self.store.renew_presence(instance, Timestamp(0)).await {
                tracing::warn!(error = %e, "could not release this instance's presence records");
                return;
            }
        }
        if let Err(e) = self.sweep_presence().await {
            tracing::warn!(error = %e, "could not sweep released presence records");
        }
    }

    /// Removes expired connections (of any instance) and derives their
    /// users' status again.
    async fn sweep_presence(&self) -> Result<()> {
        // Bounded: a sweep that keeps finding full batches (a mass expiry)
        // finishes at the next beat.
        for _ in 0..MAX_SWEEPS {
            let expired = self.store.expired_presence(SWEEP_BATCH).await?;
            for user_id in &expired {
                self.store.update_presence(user_id, &PresenceChange::Expired).await?;
            }
            if u64::try_from(expired.len()).unwrap_or(u64::MAX) < SWEEP_BATCH {
                break;
            }
        }
        Ok(())
    }
}
