//! Room access rules (docs/contract.md#rooms-and-access, Rocket.Chat's `canAccessRoom`).

use crate::Services;
use threadsync_domain::{Result, Room, RoomType, User};

impl Services {
    /// Whether `user` may read `room`: any logged-in user reads a public
    /// channel; a private group or DM only its members. Admins get no
    /// exemption for `p`/`d` reads, as in Rocket.Chat.
    pub async fn can_read_room(&self, user: &User, room: &Room) -> Result<bool> {
        match room.t {
            RoomType::Channel => Ok(true),
            RoomType::Group | RoomType::Direct => self.is_member(user, &room.id).await,
        }
    }

    /// Whether room `rid` exists and `user` may read it, from the room's
    /// type alone (cached by the stores: [`threadsync_storage::cache`])
    /// and, for `p`/`d`, the membership: the hot read paths' check, one
    /// store round trip fewer than loading the room.
    pub async fn can_read_room_id(&self, user: &User, rid: &str) -> Result<bool> {
        match self.store.room_type(rid).await? {
            None => Ok(false),
            Some(RoomType::Channel) => Ok(true),
            Some(RoomType::Group | RoomType::Direct) => self.is_member(user, rid).await,
        }
    }

    /// Whether `user` has a subscription to the room.
    pub async fn is_member(&self, user: &User, rid: &str) -> Result<bool> {
        Ok(self.store.subscription(rid, &user.id).await?.is_some())
    }
}
