//! A room's messages by time (`loadHistory` and friends over DDP; the
//! `*.history` REST family reads the same way), and marking a thread read.

use crate::Services;
use serde_json::{json, Value};
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::query::Filter;
use threadsync_domain::{Error, Message, Result, Subscription, Timestamp, User};

/// Which part of a room's timeline to read.
#[derive(Clone, Debug, Default)]
pub struct HistoryQuery {
    /// Only messages strictly before this time (`loadHistory`'s `end`).
    pub before: Option<Timestamp>,
    /// Only messages strictly after this time.
    pub after: Option<Timestamp>,
    /// Newest first (history) or oldest first (`loadNextMessages`).
    pub newest_first: bool,
    pub limit: u64,
    /// With `false`, thread replies are left out unless sent to the room
    /// too (`tshow`), as Rocket.Chat's `showThreadMessages`.
    pub thread_messages: bool,
}

/// The most messages one history read returns.
pub const MAX_HISTORY: u64 = 500;

/// A page of history and whether more lies beyond it.
#[derive(Clone, Debug)]
pub struct History {
    pub messages: Vec<Message>,
    pub total: u64,
}

impl Services {
    /// The messages of room `rid` the query selects, for a caller who may
    /// read the room (`Not allowed` otherwise, also for an unknown room).
    pub async fn room_history(&self, caller: &User, rid: &str, query: &HistoryQuery) -> Result<History> {
        self.readable_room(caller, rid).await?.ok_or_else(Error::not_allowed)?;
        let mut parts: Vec<Value> = Vec::new();
        if let Some(before) = query.before {
            parts.push(json!({"ts": {"$lt": {"$date": before.millis()}}}));
        }
        if let Some(after) = query.after {
            parts.push(json!({"ts": {"$gt": {"$date": after.millis()}}}));
        }
        if !query.thread_messages {
            parts.push(json!({"$or": [{"tmid": {"$exists": false}}, {"tshow": true}]}));
        }
        let filter = if parts.is_empty() {
            Filter::True
        } else {
            // Built here from known parts: a parse failure is a bug.
            Filter::parse(Some(&json!({"$and": parts}).to_string())).map_err(Error::internal)?
        };
        let direction = if query.newest_first { Direction::Desc } else { Direction::Asc };
        let sort = Sort::by(SortField::Ts, direction);
        let limit = query.limit.clamp(1, MAX_HISTORY);
        let page = self.store.room_messages(rid, &filter, &sort, 0, limit).await?;
        Ok(History { messages: page.items, total: page.total })
    }

    /// Marks thread `tmid` read for the caller (clears it from their
    /// `tunread`). Returns the subscription when it changed.
    pub async fn mark_thread_read(&self, caller: &User, tmid: &str) -> Result<Option<Subscription>> {
        let rid = self
            .store
            .message_room(tmid)
            .await?
            .ok_or_else(|| Error::rejected("Invalid message", "error-invalid-message"))?;
        if !self.can_read_room_id(caller, &rid).await? {
            return Err(Error::not_allowed());
        }
        Ok(self.store.mark_thread_read(&rid, &caller.id, tmid).await?)
    }
}
