//! Listings of rooms the caller need not be a member of: `channels.list`,
//! `groups.listAll`, `rooms.adminRooms`, `im.list.everyone`; and the
//! direct-message lists `im.list` and `im.members`
//! (docs/rest.md#room-listings).

use crate::paging::Paging;
use crate::room_settings::RoomSetting;
use crate::rooms::{Listing, RoomSelector};
use crate::Services;
use threadsync_domain::Reject;
use threadsync_domain::{Error, Result, Room, RoomType, User};
use threadsync_storage::RoomListQuery;

/// The longest name filter `rooms.adminRooms` accepts: a name is at most 64
/// characters, so a longer filter can match nothing.
const MAX_NAME_FILTER: usize = 256;

impl Services {
    /// `channels.list`: every public channel for holders of `view-c-room`;
    /// for holders of `view-joined-room` only, the channels they are in;
    /// neither is refused (403). Ordered by name.
    pub async fn list_channels(&self, caller: &User, paging: Paging) -> Result<Listing<Room>> {
        let page = if self.has_global_permission(caller, "view-c-room") {
            let query = RoomListQuery {
                types: vec![RoomType::Channel],
                name_contains: None,
                offset: paging.offset,
                count: paging.count,
            };
            self.store.list_rooms(&query).await?
        } else {
            self.require_global_permission(caller, "view-joined-room")?;
            self.store.rooms_of_user(&caller.id, &[RoomType::Channel], paging.offset, paging.count).await?
        };
        Ok(Listing { items: page.items, total: page.total })
    }

    /// `groups.listAll`: every private group, for holders of
    /// `view-room-administration` (403 otherwise). Ordered by name.
    pub async fn list_all_groups(&self, caller: &User, paging: Paging) -> Result<Listing<Room>> {
        self.require_global_permission(caller, "view-room-administration")?;
        let query = RoomListQuery {
            types: vec![RoomType::Group],
            name_contains: None,
            offset: paging.offset,
            count: paging.count,
        };
        let page = self.store.list_rooms(&query).await?;
        Ok(Listing { items: page.items, total: page.total })
    }

    /// `rooms.adminRooms?filter=&types[]=`: rooms of the given types (all
    /// three when none is given; types we do not have, such as livechat,
    /// `discussions` or `teams`, select nothing) whose name contains
    /// `filter`, for holders of `view-room-administration` (403 otherwise).
    /// An unknown type letter is refused, so a typo does not silently list
    /// every room.
    pub async fn admin_rooms(
        &self,
        caller: &User,
        filter: Option<&str>,
        types: &[&str],
        paging: Paging,
    ) -> Result<Listing<Room>> {
        self.require_global_permission(caller, "view-room-administration")?;
        let filter = filter.map(str::trim).filter(|f| !f.is_empty());
        if filter.is_some_and(|f| f.chars().count() > MAX_NAME_FILTER) {
            return Err(Error::from(Reject::NameFilterTooLong { max: MAX_NAME_FILTER }));
        }
        let mut wanted = Vec::new();
        for t in types {
            match *t {
                "c" => wanted.push(RoomType::Channel),
                "p" => wanted.push(RoomType::Group),
                "d" => wanted.push(RoomType::Direct),
                "l" | "discussions" | "teams" => {}
                other => return Err(Error::from(Reject::RoomTypeUnknown { given: other.to_owned() })),
            }
        }
        if types.is_empty() {
            wanted = vec![RoomType::Channel, RoomType::Group, RoomType::Direct];
        }
        let query = RoomListQuery {
            types: wanted,
            name_contains: filter.map(str::to_owned),
            offset: paging.offset,
            count: paging.count,
        };
        let page = self.store.list_rooms(&query).await?;
        Ok(Listing { items: page.items, total: page.total })
    }

    /// `im.list`: the caller's direct messages (by id, as they have no name).
    pub async fn list_own_directs(&self, caller: &User, paging: Paging) -> Result<Listing<Room>> {
        let page =
            self.store.rooms_of_user(&caller.id, &[RoomType::Direct], paging.offset, paging.count).await?;
        Ok(Listing { items: page.items, total: page.total })
    }

    /// `im.list.everyone`: every direct message, for holders of
    /// `view-room-administration` (403 otherwise).
    pub async fn list_all_directs(&self, caller: &User, paging: Paging) -> Result<Listing<Room>> {
        self.require_global_permission(caller, "view-room-administration")?;
        let query = RoomListQuery {
            types: vec![RoomType::Direct],
            name_contains: None,
            offset: paging.offset,
            count: paging.count,
        };
        let page = self.store.list_rooms(&query).await?;
        Ok(Listing { items: page.items, total: page.total })
    }

    /// The caller's direct message with the user named `username`
    /// (case-insensitive), if both exist: the two of them only, never a
    /// multi-user DM they are both in.
    pub async fn direct_room_with(&self, caller: &User, username: &str) -> Result<Option<Room>> {
        match self.store.user_by_username(username.trim()).await? {
            Some(other) => {
                let mut uids = vec![caller.id.clone(), other.id];
                uids.sort();
                uids.dedup();
                Ok(self.store.direct_room(&uids).await?)
            }
            None => Ok(None),
        }
    }

    /// The DM `roomId` names, or else the caller's DM with `username`;
    /// Rocket.Chat's errors when neither is given or nothing matches.
    async fn named_direct_room(
        &self,
        caller: &User,
        room: RoomSelector<'_>,
        username: Option<&str>,
    ) -> Result<Room> {
        let room_id = room.room_id.map(str::trim).filter(|s| !s.is_empty());
        let username = username.map(str::trim).filter(|s| !s.is_empty());
        let found = match (room_id, username) {
            (Some(id), _) => self.store.room_by_id(id).await?,
            (None, Some(name)) => self.direct_room_with(caller, name).await?,
            (None, None) => return Err(Error::from(Reject::DirectSelectorMissingInQuery)),
        };
        found.filter(|r| r.t == RoomType::Direct).ok_or_else(|| Error::from(Reject::DirectRoomNotFound))
    }

    /// `im.setTopic` / `dm.setTopic`: the DM's topic, by a member holding
    /// `edit-room` (admins by default; DM members have no room roles), with
    /// the `room_changed_topic` notice, as for channels.
    pub async fn set_direct_topic(
        &self,
        caller: &User,
        room: RoomSelector<'_>,
        username: Option<&str>,
        topic: String,
    ) -> Result<String> {
        let room = self.named_direct_room(caller, room, username).await?;
        if self.store.subscription(&room.id, &caller.id).await?.is_none() {
            return Err(Error::from(Reject::NotSubscribed));
        }
        let selector = RoomSelector { room_id: Some(&room.id), room_name: None };
        self.change_room_setting(caller, RoomType::Direct, selector, RoomSetting::Topic(topic.clone()))
            .await?;
        Ok(topic)
    }

    /// `im.delete` / `dm.delete`: removes a direct message with its
    /// messages and every membership. The caller must be in it (or hold
    /// `view-room-administration`) and hold `delete-d` (admins by default);
    /// `Not allowed [error-not-allowed]` otherwise, as Rocket.Chat.
    pub async fn delete_direct(
        &self,
        caller: &User,
        room: RoomSelector<'_>,
        username: Option<&str>,
    ) -> Result<()> {
        let room = self.named_direct_room(caller, room, username).await?;
        let own = self.store.subscription(&room.id, &caller.id).await?;
        if own.is_none() && !self.has_global_permission(caller, "view-room-administration") {
            return Err(Error::not_allowed());
        }
        if !self.holds_here(caller, own.as_ref(), "delete-d") {
            return Err(Error::not_allowed());
        }
        self.store.delete_room(&room.id).await?;
        self.remove_room_files(&room.id).await;
        Ok(())
    }

    /// `im.members?roomId=|username=`: the members of a direct message
    /// (of any number of members), by username, a page at a time. `roomId`
    /// names the DM; `username` the caller's DM with that user. Checks
    /// (Rocket.Chat's `findDirectMessageRoom`): one of the two given; a DM
    /// found; the caller a member (403 otherwise, as Rocket.Chat's
    /// `forbidden()`).
    pub async fn direct_members(
        &self,
        caller: &User,
        room: RoomSelector<'_>,
        username: Option<&str>,
        paging: Paging,
    ) -> Result<Listing<User>> {
        let room = self.named_direct_room(caller, room, username).await?;
        if self.store.subscription(&room.id, &caller.id).await?.is_none() {
            return Err(Error::Forbidden);
        }
        let page = self.store.room_members(&room.id, paging.offset, paging.count).await?;
        Ok(Listing { items: page.items, total: page.total })
    }
}
