//! The thread family (docs/contract.md#threads): `chat.syncThreadMessages`,
//! `chat.getThreadMessages`, `chat.getThreadsList`,
//! `chat.syncThreadsList`, `chat.followMessage` / `chat.unfollowMessage`.
//!
//! Every method runs its checks in the documented order, so the first
//! problem of a request is the one reported, as Rocket.Chat does. Room
//! denials on these endpoints are `Not Allowed [error-not-allowed]` (capital
//! A). A message in a room the caller cannot read gets the answer of a
//! message that does not exist (`Invalid Message`, or `Invalid message`
//! with `details: {method}` for follow / unfollow), so that message ids
//! cannot be probed (**[differs]**: Rocket.Chat answers `Not Allowed`).

use crate::paging::Paging;
use crate::sync::{Documents, FeedBound, ListParams, Shaping};
use crate::Services;
use serde_json::{json, Value};
use threadsync_domain::param;
use threadsync_domain::{Error, Param, Reject, Result, Timestamp, Tombstone, User};
use threadsync_storage::{ChangeScope, StorageError, ThreadKind, ThreadListQuery};

/// A page of a change feed as the sync endpoints answer it: `update` (the
/// `fields` projection applied) and `remove`, both oldest change first
/// unless a `sort` reordered `update`.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncedChanges {
    pub update: Documents,
    pub remove: Vec<Tombstone>,
    /// Whether more changes exist after this page (the client asks again
    /// from the greatest stamp it received).
    pub more: bool,
}

/// A page of messages (`fields` applied) with the request's offset and the
/// number of matching messages.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageListing {
    pub items: Documents,
    pub offset: u64,
    pub total: u64,
}

/// The longest `text` filter of `chat.getThreadsList`.
const MAX_TEXT_FILTER: usize = 1024;

/// `chat.syncThreadMessages`' request (edges read it with
/// [`SyncThreadRequest::read`]).
#[derive(Clone, Debug)]
pub struct SyncThreadRequest<'a> {
    pub tmid: Param<&'a str>,
    pub updated_since: Param<Timestamp>,
    pub list: ListParams<'a>,
}

impl<'a> SyncThreadRequest<'a> {
    /// `tmid` and `updatedSince` as the client sent them.
    pub fn read(tmid: Option<&'a str>, updated_since: Option<&str>, list: ListParams<'a>) -> Self {
        SyncThreadRequest {
            tmid: param::required(tmid, Reject::TmidMissing),
            updated_since: thread_date(updated_since),
            list,
        }
    }
}

/// `chat.getThreadMessages`' request.
#[derive(Clone, Debug)]
pub struct ThreadRequest<'a> {
    pub tmid: Param<&'a str>,
    pub list: ListParams<'a>,
}

impl<'a> ThreadRequest<'a> {
    /// `tmid` as the client sent it.
    pub fn read(tmid: Option<&'a str>, list: ListParams<'a>) -> Self {
        ThreadRequest { tmid: param::required(tmid, Reject::TmidMissing), list }
    }
}

/// Which thread parents `chat.getThreadsList` lists (`type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadsOf {
    /// `all`, the default.
    All,
    /// `following`: the caller is in the parent's `replies`.
    Following,
    /// `unread`: in the caller's `tunread`.
    Unread,
}

/// `chat.getThreadsList`'s request.
#[derive(Clone, Debug)]
pub struct ThreadsListRequest<'a> {
    pub rid: Param<&'a str>,
    pub kind: Param<ThreadsOf>,
    /// A case-insensitive substring of `msg`.
    pub text: Option<&'a str>,
    pub list: ListParams<'a>,
}

impl<'a> ThreadsListRequest<'a> {
    /// `rid`, `type` (`all` when absent) and `text` as the client sent them.
    pub fn read(
        rid: Option<&'a str>,
        kind: Option<&str>,
        text: Option<&'a str>,
        list: ListParams<'a>,
    ) -> Self {
        let kind = match kind {
            None | Some("all") => Ok(ThreadsOf::All),
            Some("following") => Ok(ThreadsOf::Following),
            Some("unread") => Ok(ThreadsOf::Unread),
            Some(_) => Err(Reject::SchemaNotAllowedValue),
        };
        ThreadsListRequest { rid: param::required(rid, Reject::RidMissing), kind, text, list }
    }
}

/// `chat.syncThreadsList`'s request.
#[derive(Clone, Debug)]
pub struct SyncThreadsListRequest<'a> {
    pub rid: Param<&'a str>,
    pub updated_since: Param<Timestamp>,
    pub list: ListParams<'a>,
}

impl<'a> SyncThreadsListRequest<'a> {
    /// `rid` and `updatedSince` as the client sent them.
    pub fn read(rid: Option<&'a str>, updated_since: Option<&str>, list: ListParams<'a>) -> Self {
        SyncThreadsListRequest {
            rid: param::required(rid, Reject::RidMissing),
            updated_since: thread_date(updated_since),
            list,
        }
    }
}

/// The `mid` of `chat.followMessage` / `chat.unfollowMessage` (and their
/// realtime methods): blank counts as missing.
pub fn followed_message(raw: Option<&str>) -> Param<&str> {
    param::required_text(raw, Reject::MidMissing)
}

/// The thread endpoints' `updatedSince`.
fn thread_date(raw: Option<&str>) -> Param<Timestamp> {
    param::required_date(raw, Reject::UpdatedSinceMissing, Reject::UpdatedSinceInvalid)
}

fn threads_disabled() -> Error {
    Error::from(Reject::ThreadsDisabled)
}

/// `tmid` names no message (thread endpoints spell it with a capital M).
fn invalid_thread() -> Error {
    Error::from(Reject::InvalidMessageCapitalised)
}

/// The room denial of the thread endpoints.
fn thread_not_allowed() -> Error {
    Error::from(Reject::NotAllowedCapitalised)
}

fn method_details(method: &str) -> Value {
    json!({ "method": method })
}

impl Services {
    fn check_threads_enabled(&self) -> Result<()> {
        if self.settings().threads_enabled() {
            Ok(())
        } else {
            Err(threads_disabled())
        }
    }

    /// Checks that the message `tmid` exists (a `t: "rm"` placeholder
    /// exists) in a room the caller may read: `Invalid Message` otherwise,
    /// the same answer for both, so existence is not revealed.
    async fn check_readable_thread(&self, caller: &User, tmid: &str) -> Result<()> {
        let rid = self.store.message_room(tmid).await?.ok_or_else(invalid_thread)?;
        if !self.can_read_room_id(caller, &rid).await? {
            return Err(invalid_thread());
        }
        Ok(())
    }

    /// `chat.syncThreadMessages`. Checks, in order: threads
    /// enabled; `tmid` present; `updatedSince` present, then a date;
    /// `sort`, `query`, `fields`; `count`/`offset`; `tmid` an existing
    /// message of a room the caller may read (`Invalid Message`); the
    /// tombstone horizon (`error-resync-required`).
    ///
    /// `update`: replies of the thread with `_updatedAt > updatedSince`
    /// (strict; the parent is never included); `remove`: tombstones of its
    /// replies deleted after it. The oldest changes are selected first (at
    /// most `count`, else `max_sync_items`), so a client resumes from the
    /// greatest stamp it got; a `sort` only reorders the selected `update`
    /// page, it never changes which changes are selected.
    pub async fn sync_thread_messages(
        &self,
        caller: &User,
        request: SyncThreadRequest<'_>,
    ) -> Result<SyncedChanges> {
        let SyncThreadRequest { tmid, updated_since, list } = request;
        self.check_threads_enabled()?;
        let tmid = tmid?;
        let since = updated_since?;
        let shaping = Shaping::parse(&list)?;
        let bound = FeedBound::parse(list.count, list.offset, &self.settings(), self.options.max_sync_items)?;
        self.check_readable_thread(caller, tmid).await?;
        let changes = self
            .feed(ChangeScope::Thread(tmid), since, &shaping.filter, bound, "updatedSince", "thread")
            .await?;
        Ok(SyncedChanges {
            update: shaping.shape_stored(changes.updated)?,
            remove: changes.removed,
            more: changes.more,
        })
    }

    /// `chat.getThreadMessages`: the replies of a thread (not the parent),
    /// by default `ts` ascending. Checks, in order: threads enabled; `tmid`;
    /// `sort`, `query`, `fields`; `count`/`offset`; `Invalid Message` (no
    /// such message, or not in a room the caller may read).
    pub async fn thread_messages(&self, caller: &User, request: ThreadRequest<'_>) -> Result<MessageListing> {
        let ThreadRequest { tmid, list } = request;
        self.check_threads_enabled()?;
        let tmid = tmid?;
        let shaping = Shaping::parse(&list)?;
        let paging = Paging::from_params(list.count, list.offset, &self.settings())?;
        self.check_readable_thread(caller, tmid).await?;
        let page = self
            .store
            .thread_replies(tmid, &shaping.filter, &shaping.sort, paging.offset, paging.count)
            .await?;
        Ok(MessageListing { items: shaping.project(page.items)?, offset: paging.offset, total: page.total })
    }

    /// `chat.getThreadsList`: the thread parents of a room, by default
    /// `tlm` descending. `type`: `all` (default), `following` (the caller is
    /// in `replies`), `unread` (ids in the caller's `tunread`; none without
    /// a subscription). Checks, in order: threads enabled; `rid`; `type`
    /// (`invalid-params`); `sort`, `query`, `fields`; `count`/`offset`; the
    /// room exists and may be read (`Not Allowed` for both).
    pub async fn threads_list(
        &self,
        caller: &User,
        request: ThreadsListRequest<'_>,
    ) -> Result<MessageListing> {
        let ThreadsListRequest { rid, kind, text, list } = request;
        self.check_threads_enabled()?;
        let rid = rid?;
        let kind = kind?;
        // The text becomes a (literal, escaped) pattern in the store; bound it
        // like any other string a query may carry.
        if text.is_some_and(|t| t.len() > MAX_TEXT_FILTER) {
            return Err(Error::from(Reject::TextFilterTooLong { max: MAX_TEXT_FILTER }));
        }
        let shaping = Shaping::parse(&list)?;
        let paging = Paging::from_params(list.count, list.offset, &self.settings())?;
        self.readable_room(caller, rid).await?.ok_or_else(thread_not_allowed)?;
        let kind = match kind {
            ThreadsOf::All => ThreadKind::All,
            ThreadsOf::Following => ThreadKind::Following(caller.id.clone()),
            ThreadsOf::Unread => {
                let unread =
                    self.store.subscription(rid, &caller.id).await?.map(|s| s.tunread).unwrap_or_default();
                if unread.is_empty() {
                    return Ok(MessageListing {
                        items: Documents::Whole(Vec::new()),
                        offset: paging.offset,
                        total: 0,
                    });
                }
                ThreadKind::Among(unread)
            }
        };
        let query = ThreadListQuery {
            rid: rid.to_owned(),
            kind,
            text: text.map(str::to_owned),
            filter: shaping.filter.clone(),
            sort: shaping.sort.clone(),
            offset: paging.offset,
            count: paging.count,
        };
        let page = self.store.thread_parents(&query).await?;
        Ok(MessageListing { items: shaping.project(page.items)?, offset: paging.offset, total: page.total })
    }

    /// `chat.syncThreadsList`: thread parents of the room updated after
    /// `updatedSince` (`update`, placeholders of deleted parents included)
    /// and parents removed after it (`remove`). Idempotent; bounded and
    /// resumable like every feed. Checks, in order: threads enabled; `rid`;
    /// `updatedSince` present, then a date; `sort`, `query`, `fields`;
    /// `count`/`offset`; the room exists and may be read (`Not Allowed`);
    /// the tombstone horizon.
    pub async fn sync_threads_list(
        &self,
        caller: &User,
        request: SyncThreadsListRequest<'_>,
    ) -> Result<SyncedChanges> {
        let SyncThreadsListRequest { rid, updated_since, list } = request;
        self.check_threads_enabled()?;
        let rid = rid?;
        let since = updated_since?;
        let shaping = Shaping::parse(&list)?;
        let bound = FeedBound::parse(list.count, list.offset, &self.settings(), self.options.max_sync_items)?;
        self.readable_room(caller, rid).await?.ok_or_else(thread_not_allowed)?;
        let changes = self
            .feed(
                ChangeScope::ThreadParents(rid),
                since,
                &shaping.filter,
                bound,
                "updatedSince",
                "thread list",
            )
            .await?;
        Ok(SyncedChanges {
            update: shaping.shape_stored(changes.updated)?,
            remove: changes.removed,
            more: changes.more,
        })
    }

    /// `chat.followMessage` (`follow`) / `chat.unfollowMessage`: adds or
    /// removes the caller in the thread's `replies` (a reply's `mid` means
    /// its parent) and moves the parent's `_updatedAt`; unfollowing also
    /// clears the thread from the caller's `tunread`. Checks, in order:
    /// `mid` (Rocket.Chat's text, with a code); threads enabled
    /// (`not-allowed`); the message exists in a room the caller may read
    /// (`Invalid message` for both). The last two carry `details: {method}`.
    ///
    /// `mid` is read by the edges with [`followed_message`].
    pub async fn follow_thread(&self, caller: &User, mid: Param<&str>, follow: bool) -> Result<()> {
        let mid = mid?;
        let method = if follow { "followMessage" } else { "unfollowMessage" };
        let not_allowed = || Error::from(Reject::NotAllowedDashed).with_details(method_details(method));
        let invalid = || Error::from(Reject::InvalidMessage).with_details(method_details(method));
        if !self.settings().threads_enabled() {
            return Err(not_allowed());
        }
        let message = self.store.message_by_id(mid).await?.ok_or_else(invalid)?;
        if self.readable_room(caller, &message.rid).await?.is_none() {
            return Err(invalid());
        }
        let thread = message.tmid.as_deref().unwrap_or(&message.id);
        match self.store.set_following(thread, &caller.id, follow).await {
            Ok(_) => Ok(()),
            Err(StorageError::NotFound(_)) => Err(invalid()),
            Err(other) => Err(other.into()),
        }
    }
}
