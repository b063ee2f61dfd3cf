//! `subscriptions.get` and `rooms.get`: a user's rooms and subscriptions,
//! whole or as a delta after `updatedSince` (docs/rest.md#rooms-and-subscriptions).
//!
//! Stamps come from room clocks, which order the writes of one room but
//! not the writes of two rooms: a room whose clock ran ahead of the wall
//! clock (many writes in one millisecond) can hold a stamp greater than a
//! later write to another room. A client that resumes from the greatest
//! stamp it holds, as Rocket.Chat's clients do, could then miss that later
//! write. Answers therefore never show a stamp above the *settled* point,
//! `now - SETTLE_MS`: a document or removal stamped after it is reported
//! with the settled point instead (and comes again in the next delta, which
//! clients apply idempotently). Every write still in flight, or yet to
//! come, takes a stamp of at least the wall-clock time of its tick, so
//! nothing committed later can fall at or below a point the client has.

use crate::Services;
use threadsync_domain::{param, Param, Reject};
use threadsync_domain::{Result, Room, Subscription, Timestamp, User};
use threadsync_storage::{RosterChanges, SubscriptionTombstone};

/// How far behind the wall clock the settled point lies by default
/// ([`crate::ServiceOptions::roster_settle_ms`]): longer than any
/// write transaction takes from its first tick to its commit, plus the
/// wall-clock disagreement between instances.
pub const SETTLE_MS: i64 = 10_000;

/// A removal as `remove` lists it: `{_id, _deletedAt}` (the subscription's
/// id for `subscriptions.get`, the room's for `rooms.get`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed {
    pub id: String,
    pub deleted_at: Timestamp,
}

/// A user's rooms or subscriptions: `update` and `remove`.
#[derive(Clone, Debug, PartialEq)]
pub struct Roster<T> {
    pub update: Vec<T>,
    pub remove: Vec<Removed>,
}

/// The `updatedSince` of `rooms.get` and `subscriptions.get`: optional, a
/// date when given.
pub fn roster_since(raw: Option<&str>) -> Param<Option<Timestamp>> {
    param::optional_date(raw, Reject::UpdatedSinceInvalid)
}

fn settled(t: Timestamp, point: Timestamp) -> Timestamp {
    t.min(point)
}

impl Services {
    async fn checked_since(&self, since: Param<Option<Timestamp>>) -> Result<Option<Timestamp>> {
        let since = since?;
        if let Some(since) = since {
            self.check_horizon(since, "updatedSince", "rooms").await?;
        }
        Ok(since)
    }

    /// `subscriptions.get`: the caller's subscriptions changed after
    /// `updatedSince` and those removed after it (all, and none removed,
    /// without it).
    pub async fn subscriptions_get(
        &self,
        caller: &User,
        updated_since: Param<Option<Timestamp>>,
    ) -> Result<Roster<Subscription>> {
        let since = self.checked_since(updated_since).await?;
        let point = Timestamp(Timestamp::now().millis() - self.options.roster_settle_ms);
        let RosterChanges { updated, removed } = self.store.subscriptions_since(&caller.id, since).await?;
        let update = updated
            .into_iter()
            .map(|mut s| {
                s.updated_at = settled(s.updated_at, point);
                s
            })
            .collect();
        Ok(Roster { update, remove: removals(removed, point, |t| t.id) })
    }

    /// `rooms.get`: the rooms the caller is subscribed to that changed
    /// after `updatedSince`, and the rooms deleted after it.
    pub async fn rooms_get(
        &self,
        caller: &User,
        updated_since: Param<Option<Timestamp>>,
    ) -> Result<Roster<Room>> {
        let since = self.checked_since(updated_since).await?;
        let point = Timestamp(Timestamp::now().millis() - self.options.roster_settle_ms);
        let RosterChanges { updated, removed } = self.store.rooms_since(&caller.id, since).await?;
        let update = updated
            .into_iter()
            .map(|mut r| {
                r.updated_at = settled(r.updated_at, point);
                r
            })
            .collect();
        Ok(Roster { update, remove: removals(removed, point, |t| t.rid) })
    }
}

fn removals(
    removed: Vec<SubscriptionTombstone>,
    point: Timestamp,
    id: impl Fn(SubscriptionTombstone) -> String,
) -> Vec<Removed> {
    removed
        .into_iter()
        .map(|t| {
            let deleted_at = settled(t.deleted_at, point);
            Removed { id: id(t), deleted_at }
        })
        .collect()
}
