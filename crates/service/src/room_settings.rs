//! Room settings of the `channels.*` and `groups.*` families: `setTopic`,
//! `setDescription`, `setPurpose`, `setAnnouncement`, `setReadOnly`,
//! `rename`, `setType`, `archive`, `unarchive`, `setCustomFields`
//! (docs/rest.md#room-settings).
//!
//! Each is one [`RoomChange`] written by the store (room and, for name,
//! type and archiving, every member's subscription, under one stamp, so
//! `rooms.get` / `subscriptions.get` deltas and the streams report it),
//! followed by Rocket.Chat's system message in the room. Like the pin
//! notice, the change and its notice are two writes: a crash between them
//! leaves the change without its notice.

use crate::membership::system_message;
use crate::rooms::{duplicate_name, validate_room_name, Need, RoomSelector};
use crate::Services;
use serde_json::{json, Map};
use threadsync_domain::Reject;
use threadsync_domain::{Error, Result, Room, RoomType, User};
use threadsync_storage::{NewMessage, RoomChange, StorageError};

/// A setting a request changes, parsed at the edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomSetting {
    Topic(String),
    Description(String),
    /// Rocket.Chat's purpose is the description under another name.
    Purpose(String),
    Announcement(String),
    ReadOnly(bool),
    Name(String),
    Type(RoomType),
    Archived(bool),
    /// Whether new users join the channel (`channels.setDefault`).
    Default(bool),
    /// The room's custom fields, replaced whole (`setCustomFields`).
    CustomFields(Map<String, serde_json::Value>),
    /// The code joining the channel needs (`channels.setJoinCode`); blank
    /// removes it, as Rocket.Chat's `setJoinCodeById` does.
    JoinCode(String),
}

/// `channel` / `private group`, as Rocket.Chat's messages name the family.
fn family_noun(t: RoomType) -> &'static str {
    if t == RoomType::Group {
        "private group"
    } else {
        "channel"
    }
}

fn optional(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

impl Services {
    /// Changes one setting of a channel or group, in Rocket.Chat's order of
    /// checks: the room (the family's errors); a change that changes
    /// nothing (`... is the same as what it would be changed to.`, `...
    /// is already archived`; an unchanged topic or description is simply
    /// answered); the permission in the room (`edit-room`, and
    /// `set-readonly` for read-only, `create-c` / `create-p` for a type,
    /// `archive-room` / `unarchive-room`); a valid, free name. Returns the
    /// room as stored.
    pub async fn change_room_setting(
        &self,
        caller: &User,
        t: RoomType,
        selector: RoomSelector<'_>,
        setting: RoomSetting,
    ) -> Result<Room> {
        let (room, own) = self.family_room(caller, t, selector, Need::Manage).await?;
        let noun = family_noun(t);
        let name = room.name.clone().unwrap_or_default();
        let unchanged = match &setting {
            RoomSetting::Topic(v) => room.topic.as_deref().unwrap_or("") == v,
            RoomSetting::Description(v) | RoomSetting::Purpose(v) => {
                room.description.as_deref().unwrap_or("") == v
            }
            RoomSetting::Announcement(_) => false,
            RoomSetting::ReadOnly(v) if room.read_only == *v => {
                return Err(Error::from(Reject::SameReadOnly { noun: noun.to_owned() }))
            }
            RoomSetting::Name(v) if room.name.as_deref() == Some(v.as_str()) => {
                return Err(Error::from(Reject::SameName { noun: noun.to_owned() }))
            }
            RoomSetting::Type(v) if room.t == *v => {
                return Err(Error::from(Reject::SameType { noun: noun.to_owned() }))
            }
            RoomSetting::Archived(true) if room.archived => {
                return Err(Error::from(Reject::AlreadyArchived {
                    noun: noun.to_owned(),
                    name: name.to_owned(),
                }))
            }
            RoomSetting::Archived(false) if !room.archived => {
                return Err(Error::from(Reject::NotArchived { noun: noun.to_owned(), name: name.to_owned() }))
            }
            RoomSetting::Default(v) if room.is_default == *v => return Err(Error::from(Reject::SameDefault)),
            _ => false,
        };
        let holds = |permission| self.holds_here(caller, own.as_ref(), permission);
        let not_editable = |reject: Reject, action: &str| {
            Error::from(reject).with_details(json!({"method": "saveRoomSettings", "action": action}))
        };
        match &setting {
            RoomSetting::Archived(on) => {
                let (permission, method) =
                    if *on { ("archive-room", "archiveRoom") } else { ("unarchive-room", "unarchiveRoom") };
                if !holds(permission) {
                    return Err(Error::from(Reject::NotAuthorized).with_details(json!({"method": method})));
                }
            }
            _ if !holds("edit-room") => return Err(not_editable(Reject::EditRoomNotAllowed, "Editing_room")),
            RoomSetting::Default(_) if !self.has_global_permission(caller, "view-room-administration") => {
                return Err(not_editable(
                    Reject::ViewRoomAdministrationNotAllowed,
                    "Viewing_room_administration",
                ))
            }
            RoomSetting::ReadOnly(_) if !holds("set-readonly") => {
                return Err(not_editable(Reject::EditReadOnlyNotAllowed, "Editing_readOnly"))
            }
            RoomSetting::Type(RoomType::Channel) if !holds("create-c") => {
                return Err(not_editable(Reject::GroupToChannelNotAllowed, "Change_Room_Type"))
            }
            RoomSetting::Type(RoomType::Group) if !holds("create-p") => {
                return Err(not_editable(Reject::ChannelToGroupNotAllowed, "Change_Room_Type"))
            }
            RoomSetting::Type(RoomType::Direct) => return Err(Error::from(Reject::RoomTypeChangeInvalid)),
            RoomSetting::Name(v) => validate_room_name(v)?,
            _ => {}
        }
        if unchanged {
            return Ok(room);
        }
        // The change and the system message Rocket.Chat posts for it (none
        // for the default flag).
        let (change, notice) = match &setting {
            RoomSetting::Topic(v) => {
                (RoomChange::Topic(optional(v)), Some(("room_changed_topic", v.clone())))
            }
            RoomSetting::Description(v) | RoomSetting::Purpose(v) => {
                (RoomChange::Description(optional(v)), Some(("room_changed_description", v.clone())))
            }
            RoomSetting::Announcement(v) => {
                (RoomChange::Announcement(optional(v)), Some(("room_changed_announcement", v.clone())))
            }
            RoomSetting::ReadOnly(v) => {
                let kind = if *v { "room-set-read-only" } else { "room-removed-read-only" };
                (RoomChange::ReadOnly(*v), Some((kind, String::new())))
            }
            RoomSetting::Name(v) => (RoomChange::Name(v.clone()), Some(("r", v.clone()))),
            RoomSetting::Type(v) => {
                let label = if *v == RoomType::Channel { "Public" } else { "Private" };
                (RoomChange::Type(*v), Some(("room_changed_privacy", label.to_owned())))
            }
            RoomSetting::Archived(v) => {
                let kind = if *v { "room-archived" } else { "room-unarchived" };
                (RoomChange::Archived(*v), Some((kind, String::new())))
            }
            RoomSetting::Default(v) => (RoomChange::Default(*v), None),
            // Rocket.Chat posts no message for custom fields.
            RoomSetting::CustomFields(fields) => (RoomChange::CustomFields(fields.clone()), None),
            // Nor for a join code, which no member may read back.
            RoomSetting::JoinCode(code) => {
                (RoomChange::JoinCode((!code.trim().is_empty()).then(|| code.clone())), None)
            }
        };
        let changed = match self.store.update_room(&room.id, &change).await {
            Ok(Some(changed)) => changed,
            Ok(None) => return Err(Error::from(Reject::InvalidRoom)),
            Err(StorageError::Conflict(_)) => {
                let RoomSetting::Name(v) = &setting else {
                    return Err(Error::internal("conflict without a name"));
                };
                return Err(duplicate_name(v));
            }
            Err(other) => return Err(other.into()),
        };
        let Some((kind, msg)) = notice else { return Ok(changed) };
        let message = system_message(&changed.id, caller, kind, msg, Map::new());
        self.store.insert_message(NewMessage { message, reply: None, join: None, counters: None }).await?;
        // The notice moved `lm` and `msgs`: answer the room as it is now.
        Ok(self.store.room_by_id(&changed.id).await?.unwrap_or(changed))
    }
}
