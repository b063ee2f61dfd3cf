//! Room roles: `channels.addOwner` / `removeOwner` / `addModerator` /
//! `removeModerator` / `addLeader` / `removeLeader` and their `groups.*`
//! twins (docs/rest.md#room-roles).
//!
//! A room role lives on the member's subscription (`roles`), so it counts
//! only inside that room; the permission table says what it allows
//! (permissions.rs). Giving or taking one is a subscription change stamped
//! by the room clock, so `subscriptions.get?updatedSince=` and the
//! `subscriptions-changed` stream report it; the room gets Rocket.Chat's
//! system message (`subscription-role-added` / `-removed`).

use crate::membership::system_message;
use crate::rooms::{Need, RoomSelector, UserSelector};
use crate::Services;
use serde_json::{json, Map};
use threadsync_domain::reject::RoomRoleName;
use threadsync_domain::Reject;
use threadsync_domain::{Error, Result, RoomType, User};
use threadsync_storage::{NewMessage, ReadChange, StorageError};

/// A role a member can hold in one room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoomRole {
    Owner,
    Moderator,
    Leader,
}

impl RoomRole {
    fn id(self) -> &'static str {
        match self {
            RoomRole::Owner => "owner",
            RoomRole::Moderator => "moderator",
            RoomRole::Leader => "leader",
        }
    }

    /// The role as the error catalogue names it.
    fn name(self) -> RoomRoleName {
        match self {
            RoomRole::Owner => RoomRoleName::Owner,
            RoomRole::Moderator => RoomRoleName::Moderator,
            RoomRole::Leader => RoomRoleName::Leader,
        }
    }

    /// The permission that lets a member give or take the role.
    fn permission(self) -> &'static str {
        match self {
            RoomRole::Owner => "set-owner",
            RoomRole::Moderator => "set-moderator",
            RoomRole::Leader => "set-leader",
        }
    }
}

impl Services {
    /// Gives (`on`) or takes a room role, in Rocket.Chat's order of checks:
    /// the room (as the family's other writes find it), the caller's
    /// `set-owner` / `set-moderator` / `set-leader` in the room (`Not
    /// allowed [error-not-allowed]`), the user named, their membership
    /// (`User is not in this room [error-user-not-in-room]`), whether they
    /// already hold it (`User is already an owner
    /// [error-user-already-owner]`) or do not (`User is not an owner
    /// [error-user-not-owner]`), and the room's last owner (`This is the
    /// last owner. Please set a new owner before removing this one.
    /// [error-remove-last-owner]`, decided in the store's transaction).
    pub async fn set_room_role(
        &self,
        caller: &User,
        t: RoomType,
        room: RoomSelector<'_>,
        target: UserSelector<'_>,
        role: RoomRole,
        on: bool,
    ) -> Result<()> {
        let (room, own) = self.family_room(caller, t, room, Need::Manage).await?;
        if !self.holds_here(caller, own.as_ref(), role.permission()) {
            return Err(Error::not_allowed());
        }
        let target = self.target_user(target).await?;
        let not_in_room = || Error::from(Reject::UserNotInRoom);
        let subscription = self.store.subscription(&room.id, &target.id).await?.ok_or_else(not_in_room)?;
        let holds = subscription.roles.iter().any(|r| r == role.id());
        if on && holds {
            return Err(Error::from(Reject::RoleAlreadyHeld { role: role.name() }));
        }
        if !on && !holds {
            return Err(Error::from(Reject::RoleNotHeld { role: role.name() }));
        }
        match self
            .store
            .set_read_state(&room.id, &target.id, ReadChange::Role { role: role.id().to_owned(), on })
            .await
        {
            Ok(Some(_)) => {}
            // Left between the read above and the change.
            Ok(None) => return Err(not_in_room()),
            Err(StorageError::Invalid("last owner")) => return Err(Error::from(Reject::RemoveLastOwner)),
            Err(e) => return Err(e.into()),
        }
        if room.sys_mes {
            let kind = if on { "subscription-role-added" } else { "subscription-role-removed" };
            let mut extra = Map::new();
            extra.insert("role".to_owned(), json!(role.id()));
            // Rocket.Chat's system message names the user in `msg`.
            let notice = system_message(&room.id, caller, kind, target.username.clone(), extra);
            self.store
                .insert_message(NewMessage { message: notice, reply: None, join: None, counters: None })
                .await?;
        }
        Ok(())
    }
}
