//! Who holds which room role and what is unread: `channels.roles`,
//! `channels.moderators`, `channels.counters` and their `groups.*` twins,
//! `im.counters` (docs/rest.md#room-roles-and-counters).

use crate::rooms::{Need, RoomSelector};
use crate::Services;
use serde_json::json;
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::query::Filter;
use threadsync_domain::Reject;
use threadsync_domain::{Error, Result, Room, RoomType, Subscription, Timestamp, User, UserRef};

/// `*.counters`: Rocket.Chat's answer, `None` where it answers `null`.
#[derive(Clone, Debug, PartialEq)]
pub struct RoomCounters {
    /// The user's subscription exists and is open.
    pub joined: bool,
    pub members: Option<i64>,
    pub unreads: Option<u64>,
    pub unreads_from: Option<Timestamp>,
    pub msgs: Option<i64>,
    pub latest: Option<Timestamp>,
    pub user_mentions: Option<i64>,
}

impl Services {
    /// `channels.roles` / `groups.roles`: the members holding a room role,
    /// by username, for a caller who may read the room.
    pub async fn room_role_holders(
        &self,
        caller: &User,
        t: RoomType,
        selector: RoomSelector<'_>,
    ) -> Result<Vec<Subscription>> {
        let (room, _) = self.family_room(caller, t, selector, Need::Read).await?;
        Ok(self.store.room_role_holders(&room.id).await?)
    }

    /// `channels.moderators` / `groups.moderators`: the members holding the
    /// moderator role, by username.
    pub async fn room_moderators(
        &self,
        caller: &User,
        t: RoomType,
        selector: RoomSelector<'_>,
    ) -> Result<Vec<UserRef>> {
        let holders = self.room_role_holders(caller, t, selector).await?;
        Ok(holders.into_iter().filter(|s| s.roles.iter().any(|r| r == "moderator")).map(|s| s.u).collect())
    }

    /// `channels.counters` / `groups.counters` / `im.counters`, as
    /// Rocket.Chat's: another user's counters (`userId`) need
    /// `view-room-administration` (403); `unreads` counts the messages after
    /// the user's last read up to the room's last message, and with
    /// `userMentions` and `unreadsFrom` is answered only for an open
    /// subscription; `msgs`, `latest` and `members` only to members and
    /// room administrators.
    pub async fn room_counters(
        &self,
        caller: &User,
        t: RoomType,
        selector: RoomSelector<'_>,
        user_id: Option<&str>,
    ) -> Result<RoomCounters> {
        let administrator = self.has_global_permission(caller, "view-room-administration");
        let user_id = match user_id.map(str::trim).filter(|u| !u.is_empty()) {
            Some(_) if !administrator => return Err(Error::Forbidden),
            Some(other) => other.to_owned(),
            None => caller.id.clone(),
        };
        let room = self.counted_room(caller, t, selector, administrator).await?;
        let subscription = self.store.subscription(&room.id, &user_id).await?.filter(|s| s.open);
        let latest = room.last_message_at.unwrap_or(room.updated_at);
        let mut counters = RoomCounters {
            joined: subscription.is_some(),
            members: None,
            unreads: None,
            unreads_from: None,
            msgs: None,
            latest: None,
            user_mentions: None,
        };
        if let Some(s) = &subscription {
            let from = s.ls.unwrap_or(s.ts);
            let query = json!({"ts": {"$gt": {"$date": from.millis()}, "$lte": {"$date": latest.millis()}}});
            // Built here from known parts: a parse failure is a bug.
            let filter = Filter::parse(Some(&query.to_string())).map_err(Error::internal)?;
            let sort = Sort::by(SortField::Ts, Direction::Desc);
            let page = self.store.room_messages(&room.id, &filter, &sort, 0, 1).await?;
            counters.unreads = Some(page.total);
            counters.unreads_from = Some(from);
            counters.user_mentions = Some(s.user_mentions);
        }
        if administrator || counters.joined {
            counters.msgs = Some(room.msgs);
            counters.latest = Some(latest);
            counters.members = Some(room.users_count);
        }
        Ok(counters)
    }

    /// The room a counters call names: a channel or group through its
    /// family; a direct message by `roomId`, for its members and room
    /// administrators.
    async fn counted_room(
        &self,
        caller: &User,
        t: RoomType,
        selector: RoomSelector<'_>,
        administrator: bool,
    ) -> Result<Room> {
        if t != RoomType::Direct {
            return Ok(self.family_room(caller, t, selector, Need::Read).await?.0);
        }
        let rid = selector
            .room_id
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::from(Reject::DirectSelectorMissingInBody))?;
        let room = self.store.room_by_id(rid).await?.filter(|r| r.t == RoomType::Direct);
        let room = room.ok_or_else(|| Error::from(Reject::DirectRoomNotFound))?;
        if !administrator && self.store.subscription(&room.id, &caller.id).await?.is_none() {
            return Err(Error::Forbidden);
        }
        Ok(room)
    }
}
