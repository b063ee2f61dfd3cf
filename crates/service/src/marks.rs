//! Stars and pins: `chat.starMessage`, `chat.unStarMessage`,
//! `chat.getStarredMessages`, `chat.pinMessage`, `chat.unPinMessage`,
//! `chat.getPinnedMessages`; and `chat.getMentionedMessages`, listed the
//! same way (docs/rest.md#stars-and-pins).

use crate::membership::{system_message, user_ref};
use crate::paging::Paging;
use crate::sync::Documents;
use crate::threads::MessageListing;
use crate::Services;
use serde_json::{json, Map, Value};
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::query::Filter;
use threadsync_domain::{param, Param, Reject};
use threadsync_domain::{Error, Message, Result, User};
use threadsync_storage::{MessageMark, NewMessage, StorageError};

fn message_not_found() -> Error {
    Error::from(Reject::MessageIdUnknown)
}

/// The `messageId` of star / pin requests: blank counts as missing.
pub fn message_id_param(raw: Option<&str>) -> Param<&str> {
    param::required_text(raw, Reject::MessageIdMissing)
}

/// A request for a room's marked messages: `roomId` (blank counts as
/// missing), which mark, and the page.
#[derive(Clone, Debug)]
pub struct MarkedRequest<'a> {
    pub room_id: Param<&'a str>,
    pub marked: Marked,
    pub count: Option<&'a str>,
    pub offset: Option<&'a str>,
}

impl<'a> MarkedRequest<'a> {
    /// `roomId`, `count` and `offset` as the client sent them.
    pub fn read(
        room_id: Option<&'a str>,
        marked: Marked,
        count: Option<&'a str>,
        offset: Option<&'a str>,
    ) -> Self {
        MarkedRequest { room_id: param::required_text(room_id, Reject::RoomIdMissing), marked, count, offset }
    }
}

/// Which messages of a room [`Services::marked_messages`] lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marked {
    /// Pinned by anyone (`chat.getPinnedMessages`).
    Pinned,
    /// Starred by the caller (`chat.getStarredMessages`).
    StarredByCaller,
    /// Mentioning the caller by name (`chat.getMentionedMessages`;
    /// `@all` / `@here` are not mentions of the caller, as in Rocket.Chat).
    MentioningCaller,
    /// Mentioning the caller by name, oldest first
    /// (`channels.getAllUserMentionsByChannel`).
    MentioningCallerOldestFirst,
}

fn not_found_as_missing(e: StorageError) -> Error {
    match e {
        StorageError::NotFound(_) => message_not_found(),
        other => other.into(),
    }
}

impl Services {
    /// The message `message_id` if it is in a room the caller may read;
    /// otherwise the same "not found" as for an id that names nothing.
    async fn markable_message(&self, caller: &User, message_id: Param<&str>) -> Result<Message> {
        let message_id = message_id?;
        let message = self.store.message_by_id(message_id).await?.ok_or_else(message_not_found)?;
        if self.readable_room(caller, &message.rid).await?.is_none() {
            return Err(message_not_found());
        }
        Ok(message)
    }

    /// `chat.starMessage` / `chat.unStarMessage`: the caller's star on a
    /// message of a room they are subscribed to (others: `Not allowed
    /// [error-action-not-allowed]`, as Rocket.Chat).
    /// `messageId` is read by the edge with [`message_id_param`].
    pub async fn star_message(&self, caller: &User, message_id: Param<&str>, on: bool) -> Result<()> {
        let message = self.markable_message(caller, message_id).await?;
        if self.store.subscription(&message.rid, &caller.id).await?.is_none() {
            return Err(Error::from(Reject::ActionNotAllowed)
                .with_details(json!({"method": "starMessage", "action": "Message_starring"})));
        }
        let mark = MessageMark::Star { user_id: caller.id.clone(), on };
        self.store.set_mark(&message.id, mark).await.map_err(not_found_as_missing)?;
        Ok(())
    }

    /// `chat.pinMessage` / `chat.unPinMessage`: needs `pin-message` (by the
    /// default table: admins, and the room's owners and moderators; others
    /// `Not Authorized [not-authorized]`). Pinning adds Rocket.Chat's system
    /// message (`t: "message_pinned"`, the pinned message quoted as an
    /// attachment) and returns it; pinning a pinned message returns it as is.
    /// `messageId` is read by the edge with [`message_id_param`].
    pub async fn pin_message(&self, caller: &User, message_id: Param<&str>, on: bool) -> Result<Message> {
        let message = self.markable_message(caller, message_id).await?;
        if !self.has_permission(caller, "pin-message", &message.rid).await? {
            let method = if on { "pinMessage" } else { "unpinMessage" };
            return Err(Error::from(Reject::MethodNotAuthorized).with_details(json!({"method": method})));
        }
        let mark = MessageMark::Pin { by: user_ref(caller), on };
        let Some(changed) = self.store.set_mark(&message.id, mark).await.map_err(not_found_as_missing)?
        else {
            return Ok(message);
        };
        if !on {
            return Ok(changed);
        }
        let mut extra = Map::new();
        extra.insert(
            "attachments".to_owned(),
            json!([{
                "text": changed.msg,
                "author_name": changed.u.username,
                "ts": changed.ts,
                "message_link": Value::Null,
            }]),
        );
        let system = system_message(&changed.rid, caller, "message_pinned", String::new(), extra);
        Ok(self
            .store
            .insert_message(NewMessage { message: system, reply: None, join: None, counters: None })
            .await?)
    }

    /// `chat.getPinnedMessages`, `chat.getStarredMessages` (the caller's
    /// stars), `chat.getMentionedMessages` (the caller's mentions): a
    /// readable room's marked messages, newest first, paged.
    pub async fn marked_messages(&self, caller: &User, request: MarkedRequest<'_>) -> Result<MessageListing> {
        let MarkedRequest { room_id, marked, count, offset } = request;
        let rid = room_id?;
        let paging = Paging::from_params(count, offset, &self.settings())?;
        self.readable_room(caller, rid).await?.ok_or_else(Error::not_allowed)?;
        let query = match marked {
            Marked::Pinned => json!({"pinned": true}),
            Marked::StarredByCaller => json!({"starred._id": caller.id}),
            Marked::MentioningCaller | Marked::MentioningCallerOldestFirst => {
                json!({"mentions._id": caller.id})
            }
        };
        // Built here from known parts: a parse failure is a bug.
        let filter = Filter::parse(Some(&query.to_string())).map_err(Error::internal)?;
        let direction =
            if marked == Marked::MentioningCallerOldestFirst { Direction::Asc } else { Direction::Desc };
        let sort = Sort::by(SortField::Ts, direction);
        let page = self.store.room_messages(rid, &filter, &sort, paging.offset, paging.count).await?;
        Ok(MessageListing { items: Documents::Whole(page.items), offset: paging.offset, total: page.total })
    }

    /// `chat.reportMessage`: checks the report (a non-blank description, a
    /// message the caller can read) and records it in the server log, where
    /// operators see it; there is no moderation console to keep it for.
    pub async fn report_message(&self, caller: &User, message_id: &str, description: &str) -> Result<()> {
        if description.trim().is_empty() {
            return Err(Error::from(Reject::InvalidDescription));
        }
        let invalid_id = || Error::from(Reject::InvalidMessageId);
        let message = self.store.message_by_id(message_id).await?.ok_or_else(invalid_id)?;
        if self.readable_room(caller, &message.rid).await?.is_none() {
            return Err(invalid_id());
        }
        tracing::warn!(
            reporter = %caller.id,
            message = %message.id,
            room = %message.rid,
            author = %message.u.id,
            description = %threadsync_domain::error::truncate(description, 1000),
            "message reported"
        );
        Ok(())
    }
}
