//! `subscriptions.read` and `subscriptions.unread` (docs/rest.md#read-state).

use crate::Services;
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::query::Filter;
use threadsync_domain::{Error, Result, User};
use threadsync_domain::{Param, Reject};
use threadsync_storage::ReadChange;

/// Where `subscriptions.unread` makes the room unread from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnreadFrom<'a> {
    /// `firstUnreadMessage._id`: this message and what follows it.
    Message(&'a str),
    /// `roomId`: the room's last message.
    LastOf(&'a str),
}

impl<'a> UnreadFrom<'a> {
    /// `roomId` and `firstUnreadMessage._id` as the client sent them: the
    /// message wins when both are given, an empty value counts as absent,
    /// and neither is `must have required property 'roomId'`.
    pub fn read(room_id: Option<&'a str>, first_unread: Option<&'a str>) -> Param<Self> {
        let given = |raw: Option<&'a str>| raw.filter(|s| !s.is_empty());
        match (given(first_unread), given(room_id)) {
            (Some(mid), _) => Ok(UnreadFrom::Message(mid)),
            (None, Some(rid)) => Ok(UnreadFrom::LastOf(rid)),
            (None, None) => Err(Reject::SchemaRoomIdMissing),
        }
    }
}

fn invalid_subscription() -> Error {
    Error::from(Reject::InvalidSubscription).with_details(serde_json::json!({"method": "readMessages"}))
}

impl Services {
    /// `subscriptions.read {rid | roomId, readThreads?}`: the caller has read
    /// the room (and with `readThreads`, its threads). Checks: a room named
    /// (`must have required property 'rid'`); the caller's subscription
    /// (`Invalid subscription`).
    /// Edges read `rid` with [`required_text`](threadsync_domain::param::required_text) and
    /// [`Reject::SchemaRidMissing`].
    pub async fn read_room(&self, caller: &User, rid: Param<&str>, read_threads: bool) -> Result<()> {
        let rid = rid?;
        self.store
            .set_read_state(rid, &caller.id, ReadChange::Read { threads: read_threads })
            .await?
            .map(drop)
            .ok_or_else(invalid_subscription)
    }

    /// `subscriptions.unread {roomId}` or `{firstUnreadMessage: {_id}}`:
    /// the room is unread again from that message (from the room's last
    /// message with `roomId`; a room without messages: `Not allowed`). As in
    /// Rocket.Chat, a caller without a subscription changes nothing.
    pub async fn unread_room(&self, caller: &User, from: Param<UnreadFrom<'_>>) -> Result<()> {
        let not_allowed = || {
            Error::from(Reject::ActionNotAllowed)
                .with_details(serde_json::json!({"method": "unreadMessages", "action": "Unread_messages"}))
        };
        let (rid, from) = match from? {
            UnreadFrom::Message(mid) => {
                let message = self.get_message(caller, mid).await?;
                (message.rid, message.ts)
            }
            UnreadFrom::LastOf(rid) => {
                self.readable_room(caller, rid).await?.ok_or_else(Error::not_allowed)?;
                let sort = Sort::by(SortField::Ts, Direction::Desc);
                let last = self.store.room_messages(rid, &Filter::True, &sort, 0, 1).await?;
                let last = last.items.into_iter().next().ok_or_else(not_allowed)?;
                (rid.to_owned(), last.ts)
            }
        };
        self.store.set_read_state(&rid, &caller.id, ReadChange::Unread { from }).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unread_from_prefers_the_message_and_ignores_empty_values() {
        assert_eq!(UnreadFrom::read(Some("r1"), Some("m1")), Ok(UnreadFrom::Message("m1")));
        assert_eq!(UnreadFrom::read(None, Some("m1")), Ok(UnreadFrom::Message("m1")));
        assert_eq!(UnreadFrom::read(Some("r1"), Some("")), Ok(UnreadFrom::LastOf("r1")));
        assert_eq!(UnreadFrom::read(Some("r1"), None), Ok(UnreadFrom::LastOf("r1")));
        assert_eq!(UnreadFrom::read(Some(""), Some("")), Err(Reject::SchemaRoomIdMissing));
        assert_eq!(UnreadFrom::read(None, None), Err(Reject::SchemaRoomIdMissing));
    }
}
