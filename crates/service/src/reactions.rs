//! `chat.react` and the DDP method `setReaction` (docs/rest.md#reactions).

use crate::marks::message_id_param;
use crate::Services;
use threadsync_domain::reaction::normalize_emoji;
use threadsync_domain::{param, Param, Reject};

/// `chat.react`'s request (the realtime `setReaction` makes the same).
#[derive(Clone, Debug)]
pub struct ReactRequest<'a> {
    pub message_id: Param<&'a str>,
    pub emoji: Param<&'a str>,
    /// `true` adds, `false` removes, absent toggles.
    pub should_react: Option<bool>,
}

impl<'a> ReactRequest<'a> {
    /// `messageId` and `emoji` as the client sent them (blank counts as
    /// missing).
    pub fn read(message_id: Option<&'a str>, emoji: Option<&'a str>, should_react: Option<bool>) -> Self {
        ReactRequest {
            message_id: message_id_param(message_id),
            emoji: param::required_text(emoji, Reject::EmojiMissing),
            should_react,
        }
    }
}
use threadsync_domain::{Error, Message, Result, User};
use threadsync_storage::StorageError;

fn message_not_found() -> Error {
    Error::from(Reject::MessageIdUnknown)
}

impl Services {
    /// Toggles the caller's `emoji` reaction on message `message_id` (sets
    /// it with `should_react`). Checks in order: `messageId`; `emoji`
    /// present; the message exists in a room the caller may read (else the
    /// same "not found", so ids cannot be probed); the emoji is a valid
    /// name (`Invalid emoji provided. [error-not-allowed]`). Returns the
    /// message when it changed.
    pub async fn react(&self, caller: &User, request: ReactRequest<'_>) -> Result<Option<Message>> {
        let ReactRequest { message_id, emoji, should_react } = request;
        let message_id = message_id?;
        let emoji = emoji?;
        let rid = self.store.message_room(message_id).await?.ok_or_else(message_not_found)?;
        if self.readable_room(caller, &rid).await?.is_none() {
            return Err(message_not_found());
        }
        let emoji = normalize_emoji(emoji).ok_or_else(|| {
            Error::from(Reject::InvalidEmoji).with_details(serde_json::json!({"method": "setReaction"}))
        })?;
        match self.store.set_reaction(message_id, &emoji, &caller.username, should_react).await {
            Err(StorageError::NotFound(_)) => Err(message_not_found()),
            other => Ok(other?),
        }
    }
}
