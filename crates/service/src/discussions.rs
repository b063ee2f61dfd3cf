//! Discussions (docs/rest.md#discussions): a discussion is a room of its
//! own whose `prid` names its parent room. The parent gets a
//! `discussion-created` system message whose `drid` is the discussion and
//! whose own `_id` is the discussion's id too: the invariant that lets a
//! message in the discussion find the message to keep up to date (`dcount`,
//! `dlm`) by its primary key, with no index on `drid`.

use crate::membership::{new_subscription, system_message, user_ref};
use crate::messages::Draft;
use crate::rooms::{other_usernames, OWNER_ROLE};
use crate::threads::MessageListing;
use crate::{Documents, Paging, Services};
use serde_json::{json, Map, Value};
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::query::Filter;
use threadsync_domain::{id, Error, Result, Room, RoomType, Timestamp, User};
use threadsync_domain::{Param, Reject};
use threadsync_storage::{MessageMark, NewMessage, StorageError};

/// Users a discussion may invite at once (besides its creator).
pub const MAX_DISCUSSION_USERS: usize = 500;

/// `rooms.createDiscussion`'s request, as the client sent it.
#[derive(Clone, Copy, Debug, Default)]
pub struct NewDiscussion<'a> {
    /// The parent room.
    pub prid: Option<&'a str>,
    /// The message of the parent room the discussion is about.
    pub pmid: Option<&'a str>,
    /// The discussion's display name (`t_name`).
    pub name: Option<&'a str>,
    /// Usernames to invite.
    pub users: &'a [String],
    /// A first message, sent by the creator into the discussion.
    pub reply: Option<&'a str>,
}

impl Services {
    /// `rooms.createDiscussion`. Checks, in Rocket.Chat's order: `prid` and
    /// `t_name` given; discussions enabled (`Discussion_enabled`); the
    /// caller holds `start-discussion` or `start-discussion-other-user` in
    /// the parent; the caller may post there (a member, not archived, not
    /// read-only for them); the parent is not itself a discussion
    /// (`error-nested-discussion`); `pmid` is a message of the parent
    /// (`error-invalid-message`). The discussion is a private group for a
    /// direct-message parent and of the parent's type otherwise, named by a
    /// random id (`fname` is `t_name`), owned by the caller, with the
    /// invited users who exist as members. Then the parent gets its
    /// `discussion-created` message (quoting `pmid` when given), and
    /// `reply` is sent into the discussion.
    pub async fn create_discussion(&self, caller: &User, new: NewDiscussion<'_>) -> Result<Room> {
        let not_allowed =
            |reject: Reject| Error::from(reject).with_details(json!({"method": "createDiscussion"}));
        let prid =
            new.prid.filter(|p| !p.trim().is_empty()).ok_or_else(|| Error::from(Reject::PridMissing))?;
        let name = new
            .name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::from(Reject::DiscussionNameMissing))?;
        if !self.settings().discussions_enabled() {
            return Err(not_allowed(Reject::DiscussionNotAllowed));
        }
        if new.users.len() > MAX_DISCUSSION_USERS {
            return Err(Error::from(Reject::DiscussionTooManyUsers { max: MAX_DISCUSSION_USERS }));
        }
        let parent = self.readable_room(caller, prid).await?.ok_or_else(Error::not_allowed)?;
        let own = self.store.subscription(&parent.id, &caller.id).await?;
        let may_start = self.holds_here(caller, own.as_ref(), "start-discussion")
            || self.holds_here(caller, own.as_ref(), "start-discussion-other-user");
        if !may_start {
            return Err(not_allowed(Reject::DiscussionStartNotAllowed));
        }
        // Rocket.Chat's `canSendMessage`: members only, then archive and
        // read-only rules.
        if own.is_none() || self.check_can_post(caller, &parent).await?.is_some() {
            return Err(Error::not_allowed());
        }
        if parent.prid.is_some() {
            return Err(
                Error::from(Reject::NestedDiscussion).with_details(json!({"method": "createDiscussion"}))
            );
        }
        let quoted = match new.pmid.filter(|m| !m.trim().is_empty()) {
            Some(pmid) => {
                let invalid = || Error::from(Reject::InvalidMessage);
                let message = self.store.message_by_id(pmid).await?.ok_or_else(invalid)?;
                if message.rid != parent.id {
                    return Err(invalid());
                }
                Some(message)
            }
            None => None,
        };

        let wanted = other_usernames(caller, new.users);
        let invited =
            if wanted.is_empty() { Vec::new() } else { self.store.users_by_usernames(&wanted).await? };
        let t = if parent.t == RoomType::Direct { RoomType::Group } else { parent.t };
        let now = Timestamp::now();
        let discussion = Room {
            name: Some(id::new_id()),
            fname: Some(name.to_owned()),
            creator: Some(user_ref(caller)),
            topic: parent.fname.clone().or_else(|| parent.name.clone()),
            prid: Some(parent.id.clone()),
            ..Room::new(id::new_id(), t, now)
        };
        let mut members = vec![new_subscription(&discussion, caller, vec![OWNER_ROLE.to_owned()])];
        members.extend(invited.iter().map(|u| new_subscription(&discussion, u, Vec::new())));
        let discussion = self.store.create_room(&discussion, &members).await?;

        let mut extra = Map::new();
        extra.insert("drid".to_owned(), json!(discussion.id));
        extra.insert("groupable".to_owned(), Value::Bool(false));
        if let Some(message) = &quoted {
            extra.insert(
                "attachments".to_owned(),
                json!([{
                    "text": message.msg,
                    "author_name": message.u.username,
                    "author_icon": format!("/avatar/{}", message.u.username),
                    "ts": message.ts,
                    "message_link": format!("/{}?msg={}", parent.id, message.id),
                }]),
            );
        }
        let mut notice = system_message(&parent.id, caller, "discussion-created", name.to_owned(), extra);
        notice.id = discussion.id.clone();
        self.store
            .insert_message(NewMessage { message: notice, reply: None, join: None, counters: None })
            .await?;

        if let Some(reply) = new.reply.filter(|r| !r.trim().is_empty()) {
            let draft = Draft { rid: Some(discussion.id.clone()), msg: reply.to_owned(), ..Draft::default() };
            self.check_draft(&draft)?;
            self.deliver(caller, &discussion, draft).await?;
        }
        Ok(self.store.room_by_id(&discussion.id).await?.unwrap_or(discussion))
    }

    /// `chat.getDiscussions`: the `discussion-created` messages of a room
    /// the caller may read, newest first; `text` keeps those whose name
    /// contains it (case-insensitively, as plain text).
    ///
    /// Edges read `roomId` with [`required_text`](threadsync_domain::param::required_text) and
    /// [`Reject::RoomIdQueryMissing`].
    pub async fn discussions(
        &self,
        caller: &User,
        room_id: Param<&str>,
        text: Option<&str>,
        count: Option<&str>,
        offset: Option<&str>,
    ) -> Result<MessageListing> {
        let rid = room_id?;
        let paging = Paging::from_params(count, offset, &self.settings())?;
        self.readable_room(caller, rid).await?.ok_or_else(Error::not_allowed)?;
        let mut query = json!({"t": "discussion-created"});
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            query = json!({"$and": [query, {"msg": {"$regex": regex_literal(text), "$options": "i"}}]});
        }
        let filter = Filter::parse(Some(&query.to_string()))
            .map_err(|e| Error::from(Reject::QuerySelectorInvalid { detail: e.to_string() }))?;
        let sort = Sort::by(SortField::Ts, Direction::Desc);
        let page = self.store.room_messages(rid, &filter, &sort, paging.offset, paging.count).await?;
        Ok(MessageListing { items: Documents::Whole(page.items), offset: paging.offset, total: page.total })
    }

    /// After a message entered or left discussion `room`: its
    /// `discussion-created` message takes the discussion's message count
    /// and last message time. Read after the write, so the last refresh
    /// of concurrent writers may be one message behind until the next
    /// message; a parent message that was deleted is left alone.
    pub(crate) async fn refresh_discussion(&self, rid: &str) -> Result<()> {
        let Some(room) = self.store.room_by_id(rid).await? else { return Ok(()) };
        if room.prid.is_none() {
            return Ok(());
        }
        let mark = MessageMark::Discussion { dcount: room.msgs, dlm: room.last_message_at };
        match self.store.set_mark(&room.id, mark).await {
            Ok(_) | Err(StorageError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// `text` as a regular expression matching itself.
fn regex_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
