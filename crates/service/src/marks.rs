//! Stars and pins: `chat.starMessage`, `chat.unStarMessage`,
//! `chat.getStarredMessages`, `chat.pinMessage`, `chat.unPinMessage`,
//! `chat.getPinnedMessages` (docs/rest.md#stars-and-pins).

use crate::membership::user_ref;
use crate::paging::Paging;
use crate::sync::Documents;
use crate::threads::MessageListing;
use crate::Services;
use serde_json::{json, Map, Value};
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::permissions::default_roles;
use threadsync_domain::query::Filter;
use threadsync_domain::{id, Error, Message, Result, Timestamp, User};
use threadsync_storage::{MessageMark, NewMessage, StorageError};

fn message_not_found() -> Error {
    Error::rejected(
        "The provided \"messageId\" does not match any existing message.",
        "error-message-not-found",
    )
}

fn missing_message_id() -> Error {
    Error::rejected("The required \"messageId\" param is missing.", "error-messageid-param-not-provided")
}

fn missing_room_id() -> Error {
    Error::rejected("The required \"roomId\" query param is missing.", "error-roomId-param-not-provided")
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
    async fn markable_message(&self, caller: &User, message_id: Option<&str>) -> Result<Message> {
        let message_id = message_id.filter(|s| !s.trim().is_empty()).ok_or_else(missing_message_id)?;
        let message = self.store.message_by_id(message_id).await?.ok_or_else(message_not_found)?;
        if self.readable_room(caller, &message.rid).await?.is_none() {
            return Err(message_not_found());
        }
        Ok(message)
    }

    /// `chat.starMessage` / `chat.unStarMessage`: the caller's star on a
    /// message of a room they are subscribed to (others: `Not allowed
    /// [error-action-not-allowed]`, as Rocket.Chat).
    pub async fn star_message(&self, caller: &User, message_id: Option<&str>, on: bool) -> Result<()> {
        let message = self.markable_message(caller, message_id).await?;
        if self.store.subscription(&message.rid, &caller.id).await?.is_none() {
            return Err(Error::rejected("Not allowed", "error-action-not-allowed")
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
    pub async fn pin_message(&self, caller: &User, message_id: Option<&str>, on: bool) -> Result<Message> {
        let message = self.markable_message(caller, message_id).await?;
        let subscription = self.store.subscription(&message.rid, &caller.id).await?;
        let roles = caller.roles.iter().chain(subscription.iter().flat_map(|s| s.roles.iter()));
        let holders = default_roles("pin-message").unwrap_or_default();
        if !roles.into_iter().any(|r| holders.contains(&r.as_str())) {
            let method = if on { "pinMessage" } else { "unpinMessage" };
            return Err(
                Error::rejected("Not Authorized", "not-authorized").with_details(json!({"method": method}))
            );
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
        let system = Message {
            id: id::new_id(),
            rid: changed.rid.clone(),
            msg: String::new(),
            ts: Timestamp::now(),
            u: user_ref(caller),
            updated_at: Timestamp::now(),
            mentions: Vec::new(),
            channels: Vec::new(),
            tmid: None,
            tshow: None,
            tcount: None,
            tlm: None,
            replies: None,
            t: Some("message_pinned".to_owned()),
            edited_at: None,
            edited_by: None,
            // A system message has no text of its own: nothing to draw.
            md: None,
            extra,
        };
        Ok(self.store.insert_message(NewMessage { message: system, reply: None, join: None }).await?)
    }

    /// `chat.getPinnedMessages` / `chat.getStarredMessages` (the caller's
    /// stars): a readable room's marked messages, newest first, paged.
    pub async fn marked_messages(
        &self,
        caller: &User,
        room_id: Option<&str>,
        starred: bool,
        count: Option<&str>,
        offset: Option<&str>,
    ) -> Result<MessageListing> {
        let rid = room_id.filter(|s| !s.trim().is_empty()).ok_or_else(missing_room_id)?;
        let paging = Paging::from_params(count, offset, &self.settings())?;
        self.readable_room(caller, rid).await?.ok_or_else(Error::not_allowed)?;
        let query = if starred { json!({"starred._id": caller.id}) } else { json!({"pinned": true}) };
        // Built here from known parts: a parse failure is a bug.
        let filter = Filter::parse(Some(&query.to_string())).map_err(Error::internal)?;
        let sort = Sort::by(SortField::Ts, Direction::Desc);
        let page = self.store.room_messages(rid, &filter, &sort, paging.offset, paging.count).await?;
        Ok(MessageListing { items: Documents::Whole(page.items), offset: paging.offset, total: page.total })
    }
}
