//! Messages: sending (`chat.sendMessage`, `chat.postMessage`), reading
//! (`chat.getMessage`), editing (`chat.update`) and deleting (`chat.delete`),
//! with the thread bookkeeping a reply implies (docs/contract.md#messages,
//! docs/contract.md#threads).
//!
//! The rules live here; the store applies each write atomically and assigns
//! every timestamp (`ts`, `_updatedAt`, `editedAt`, `tlm`, `_deletedAt`).

mod mentions;

use crate::membership::{new_subscription, user_ref};
use crate::Services;
use serde_json::{Map, Value};
use threadsync_domain::message::{
    json_size, ChannelMention, Mention, CLIENT_CONTENT_FIELDS, MAX_CONTENT_BYTES,
};
use threadsync_domain::Reject;
use threadsync_domain::{id, Error, Message, Result, Room, RoomType, Subscription, Timestamp, User, UserRef};
use threadsync_storage::{Deletion, MemberCounters, MessageEdit, NewMessage, ReplyBookkeeping, StorageError};

/// The `md` markup tree stored with a message whose text is `text` (what
/// every write path stores, for the bulk paths that write documents
/// directly: `threadsync seed`, imports), with the default settings' parser
/// options. `None` for an empty text.
pub fn message_markup(text: &str) -> Option<threadsync_domain::Markup> {
    mentions::parse(text, &threadsync_markup::Options::default()).md
}

impl Services {
    /// Gives `md` to the messages stored before it existed
    /// (docs/markup.md#messages-stored-before-md), `batch` at a time in id
    /// order, with the parser options of the current settings. Not stamped
    /// (`MessageStore::set_missing_markup`): `md` is derived from `msg`,
    /// which did not change. Returns how many messages got one. Run in the
    /// background at start, until a walk finds nothing to do: that is
    /// recorded in the store, and from then on the call returns at once.
    pub async fn backfill_markup(&self, batch: u64) -> Result<u64> {
        // Once a walk found nothing to do, every later start skips it: this
        // version stores `md` with every message it writes, and a walk reads
        // the whole table (on a large database, seconds of I/O and a
        // reader's page cache filled with pages nobody asked for).
        if self.store.markup_backfilled().await? {
            return Ok(0);
        }
        let mut done = 0;
        // Walks again until one stores nothing: on PostgreSQL a write that
        // loaded a document before its `md` was stored writes it back
        // without (see `set_missing_markup`), and only a walk that finds
        // nothing to store may record that the work is done. A text the
        // parser gives no tree for is found by every walk and stored by
        // none, so it cannot keep the loop going.
        loop {
            let stored = self.backfill_markup_walk(batch).await?;
            done += stored;
            if stored == 0 {
                break;
            }
        }
        self.store.mark_markup_backfilled().await?;
        Ok(done)
    }

    /// One walk of the messages without `md` in id order: how many got it.
    async fn backfill_markup_walk(&self, batch: u64) -> Result<u64> {
        let mut after = String::new();
        let mut done = 0;
        loop {
            let page = self.store.messages_without_markup(&after, batch.max(1)).await?;
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            let options = mentions::options(&self.settings());
            for (id, msg) in &page {
                if let Some(md) = mentions::parse(msg, &options).md {
                    done += u64::from(self.store.set_missing_markup(id, msg, &md).await?);
                }
            }
            // A long backfill shares the runtime with the requests it
            // runs next to.
            tokio::task::yield_now().await;
        }
        Ok(done)
    }
}

/// `chat.postMessage`'s input, already typed by the HTTP layer.
#[derive(Clone, Debug, Default)]
pub struct PostMessage {
    /// `channel`: `#name`, `@username`, a room id or a room name.
    pub channel: Option<String>,
    /// `roomId`: the same forms as `channel`; `channel` wins when both are given.
    pub room_id: Option<String>,
    pub text: Option<String>,
    pub alias: Option<String>,
    pub emoji: Option<String>,
    pub avatar: Option<String>,
    pub attachments: Option<Vec<Value>>,
    pub tmid: Option<String>,
    pub custom_fields: Option<Map<String, Value>>,
}

/// What `chat.postMessage` answers: the target as the client gave it and the message.
#[derive(Clone, Debug, PartialEq)]
pub struct PostedMessage {
    pub channel: String,
    pub message: Message,
}

/// What `chat.delete` answers: the message's identity and the deletion time.
#[derive(Clone, Debug, PartialEq)]
pub struct DeletedMessage {
    pub id: String,
    pub rid: String,
    pub u: UserRef,
    /// The tombstone's `_deletedAt`, or the placeholder's new `_updatedAt`.
    pub deleted_at: Timestamp,
}

/// A message as a client asked for it, validated, before room checks.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub(crate) id: Option<String>,
    pub(crate) rid: Option<String>,
    pub(crate) msg: String,
    pub(crate) tmid: Option<String>,
    pub(crate) tshow: Option<bool>,
    /// The content fields (`alias`, `attachments`...) the client sent.
    pub(crate) extra: Map<String, Value>,
}

impl Draft {
    /// Reads `chat.sendMessage`'s `message` object. Keeps the modelled
    /// fields (`_id`, `rid`, `msg`, `tmid`, `tshow`) and the content fields
    /// of [`CLIENT_CONTENT_FIELDS`], checking their types; drops everything
    /// else without an error, as Rocket.Chat accepts fields it does not use
    /// (its own test helper sends `text`): server-owned fields a client
    /// must not forge (`u`, `ts`, `tcount`, `t`...) and fields nobody reads,
    /// which would otherwise reach the store unbounded.
    fn from_client(mut fields: Map<String, Value>) -> Result<Draft> {
        let id = take_string(&mut fields, "_id")?.filter(|s| !s.is_empty());
        if let Some(id) = &id {
            if !id::is_valid_client_id(id) {
                return Err(Error::from(Reject::MessageIdMalformed));
            }
        }
        let rid = take_string(&mut fields, "rid")?.filter(|s| !s.is_empty());
        let msg = take_string(&mut fields, "msg")?.unwrap_or_default();
        let tmid = take_string(&mut fields, "tmid")?.filter(|s| !s.is_empty());
        let tshow = match fields.remove("tshow") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(b),
            Some(_) => return Err(wrong_type("tshow", "a boolean")),
        };
        let mut extra = Map::new();
        for (key, value) in fields {
            if !CLIENT_CONTENT_FIELDS.contains(&key.as_str()) || value.is_null() {
                continue;
            }
            let (well_typed, expected) = match key.as_str() {
                "attachments" | "blocks" => (
                    value.as_array().is_some_and(|items| items.iter().all(Value::is_object)),
                    "an array of objects",
                ),
                "customFields" => (value.is_object(), "an object"),
                _ => (value.is_string(), "a string"),
            };
            if !well_typed {
                return Err(wrong_type(&key, expected));
            }
            extra.insert(key, value);
        }
        Ok(Draft { id, rid, msg, tmid, tshow, extra })
    }

    /// `chat.postMessage`'s fields as a draft (it takes no `_id` and no
    /// unknown fields, as in Rocket.Chat).
    fn from_post(post: &PostMessage) -> Result<Draft> {
        let mut fields = Map::new();
        for (key, value) in [("alias", &post.alias), ("emoji", &post.emoji), ("avatar", &post.avatar)] {
            if let Some(v) = value {
                fields.insert(key.into(), Value::String(v.clone()));
            }
        }
        if let Some(attachments) = &post.attachments {
            fields.insert("attachments".into(), Value::Array(attachments.clone()));
        }
        if let Some(custom) = &post.custom_fields {
            fields.insert("customFields".into(), Value::Object(custom.clone()));
        }
        if let Some(text) = &post.text {
            fields.insert("msg".into(), Value::String(text.clone()));
        }
        if let Some(tmid) = &post.tmid {
            fields.insert("tmid".into(), Value::String(tmid.clone()));
        }
        Draft::from_client(fields)
    }
}

fn take_string(fields: &mut Map<String, Value>, key: &str) -> Result<Option<String>> {
    match fields.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type(key, "a string")),
    }
}

fn wrong_type(field: &str, expected: &str) -> Error {
    Error::from(Reject::MessageFieldInvalid { field: field.to_owned(), expected: expected.to_owned() })
}

fn invalid_message() -> Error {
    Error::from(Reject::InvalidMessage)
}

fn invalid_room() -> Error {
    Error::from(Reject::InvalidRoom)
}

fn invalid_channel() -> Error {
    Error::from(Reject::InvalidChannel)
}

fn size_exceeded() -> Error {
    Error::from(Reject::MessageSizeExceeded)
}

/// The content fields together are over [`MAX_CONTENT_BYTES`]; the same
/// `errorType` as the text limit, so a client handles both alike.
fn content_size_exceeded() -> Error {
    Error::from(Reject::MessageContentTooLarge { max: MAX_CONTENT_BYTES })
}

fn no_message_found(msg_id: &str) -> Error {
    Error::from(Reject::MessageNotFoundLegacy { id: msg_id.to_owned() })
}

fn room_mismatch() -> Error {
    Error::from(Reject::MessageInOtherRoom)
}

fn editing_not_allowed() -> Error {
    Error::from(Reject::MessageEditingNotAllowed)
}

fn deleting_not_allowed() -> Error {
    Error::from(Reject::ActionNotAllowed)
}

impl Services {
    /// `chat.sendMessage`: sends the client's `message` object (see
    /// [`Draft::from_client`] for what is kept) to the room `rid`.
    pub async fn send_message(&self, caller: &User, message: Map<String, Value>) -> Result<Message> {
        let draft = Draft::from_client(message)?;
        let Some(rid) = draft.rid.clone() else {
            return Err(Error::from(Reject::MessageRidMissing));
        };
        self.check_draft(&draft)?;
        let room = self.store.room_by_id(&rid).await?.ok_or_else(invalid_room)?;
        self.deliver(caller, &room, draft).await
    }

    /// `chat.postMessage`: resolves `channel` (or `roomId`), then sends
    /// `text` and the content fields there. `#name` is a room by name,
    /// `@username` the direct message with that user (opened if needed),
    /// anything else a room id, then a room name, then a user id (a DM).
    pub async fn post_message(&self, caller: &User, post: PostMessage) -> Result<PostedMessage> {
        let target = post
            .channel
            .clone()
            .or_else(|| post.room_id.clone())
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(invalid_channel)?;
        let draft = Draft::from_post(&post)?;
        // Refuse a bad message before resolving `@user`, which may open a DM.
        self.check_draft(&draft)?;
        let room = self.resolve_channel(caller, &target).await?;
        let message = self.deliver(caller, &room, draft).await?;
        Ok(PostedMessage { channel: target, message })
    }

    /// `chat.getMessage`: any message of a room the caller can read
    /// (a deleted thread parent is returned as its `t: "rm"` placeholder).
    /// A message of a room the caller cannot read is answered as a missing
    /// one (**[differs]**: Rocket.Chat says `Not allowed`, which tells that it exists).
    pub async fn get_message(&self, caller: &User, msg_id: &str) -> Result<Message> {
        // Rocket.Chat answers a bare `{"success": false}` here; the reason
        // and code are ours (`chat.update` / `chat.delete` keep their legacy
        // text, without a code).
        self.known_message(caller, msg_id, false).await.map_err(|e| match e {
            Error::Legacy(_) => Error::from(Reject::MessageNotFoundById { id: msg_id.to_owned() }),
            other => other,
        })
    }

    /// The message `msg_id`, if `caller` may know that it exists: a message
    /// of a room they cannot read gets the same answer as an id that names
    /// nothing, so ids cannot be probed (docs/contract.md#messages). With
    /// `admin_acts`, a user who may edit or force-delete messages in every
    /// room (by a global role: admins, by default) is told the truth: its
    /// existence is no secret to them.
    async fn known_message(&self, caller: &User, msg_id: &str, admin_acts: bool) -> Result<Message> {
        let message = self.store.message_by_id(msg_id).await?.ok_or_else(|| no_message_found(msg_id))?;
        let everywhere = admin_acts
            && (self.has_global_permission(caller, "edit-message")
                || self.has_global_permission(caller, "force-delete-message"));
        if everywhere || self.readable_room(caller, &message.rid).await?.is_some() {
            Ok(message)
        } else {
            Err(no_message_found(msg_id))
        }
    }

    /// `chat.update`: replaces a message's text (mentions and channels are
    /// parsed again). Holders of `edit-message` in the room (admins, owners,
    /// moderators by default) may edit any message; the author their own
    /// while `Message_AllowEditing` is on. The editor must still be
    /// able to post in the room. Thread counters are not touched. A message
    /// the caller may not know of is `No message found` (see
    /// [`Services::known_message`]), even when `roomId` names another room.
    pub async fn update_message(
        &self,
        caller: &User,
        room_id: &str,
        msg_id: &str,
        text: &str,
    ) -> Result<Message> {
        let original = self.known_message(caller, msg_id, true).await?;
        if original.rid != room_id {
            return Err(room_mismatch());
        }
        let may_edit = (self.settings().allow_editing() && original.u.id == caller.id)
            || self.has_permission(caller, "edit-message", &original.rid).await?;
        if !may_edit || original.is_removed_placeholder() {
            return Err(editing_not_allowed());
        }
        let room = self.store.room_by_id(room_id).await?.ok_or_else(invalid_room)?;
        self.check_can_post(caller, &room).await?;
        if text.chars().count() > self.settings().message_max_allowed_size() {
            return Err(size_exceeded());
        }
        if text == original.msg {
            // Nothing changes: no new `editedAt`, no `_updatedAt` for sync to report.
            return Ok(original);
        }
        // An edit parses the new text again: `md`, mentions and channels
        // are replaced together.
        let parsed = mentions::parse(text, &mentions::options(&self.settings()));
        let (mentions, channels) = self.resolve_mentions(caller, &parsed).await?;
        let edit = MessageEdit {
            msg: text.to_owned(),
            md: parsed.md,
            mentions,
            channels,
            edited_by: UserRef { id: caller.id.clone(), username: caller.username.clone(), name: None },
        };
        self.store.edit_message(msg_id, edit).await.map_err(|e| match e {
            StorageError::NotFound(_) => no_message_found(msg_id),
            other => other.into(),
        })
    }

    /// `chat.delete`: the author may delete while `Message_AllowDeleting` is
    /// on, as may the room's owners and moderators; admins always. `as_user`
    /// deletes as the author (admins only, for others' messages). A reply
    /// leaves a tombstone and lowers its parent's `tcount`; a thread parent
    /// with replies stays as a `t: "rm"` placeholder, as does every message
    /// while `Message_ShowDeletedStatus` is on. A message the caller
    /// may not know of is `No message found` (see [`Services::known_message`]),
    /// even when `roomId` names another room (**[differs]**: Rocket.Chat's
    /// room-mismatch answer tells an outsider that the id exists).
    pub async fn delete_message(
        &self,
        caller: &User,
        room_id: &str,
        msg_id: &str,
        as_user: bool,
    ) -> Result<DeletedMessage> {
        let message = self.known_message(caller, msg_id, true).await?;
        if message.rid != room_id {
            return Err(room_mismatch());
        }
        let as_author = as_user && message.u.id != caller.id;
        if as_author && !self.has_permission(caller, "force-delete-message", &message.rid).await? {
            return Err(Error::from(Reject::ForceDeleteRequired));
        }
        let author;
        let actor = if as_author {
            author = self
                .store
                .user_by_id(&message.u.id)
                .await?
                .ok_or_else(|| Error::from(Reject::AuthorNotFound))?;
            &author
        } else {
            caller
        };
        self.check_can_delete(actor, &message).await?;
        let show_deleted_status = self.settings().show_deleted_status();
        let deleted_at = match self.store.delete_message(msg_id, show_deleted_status).await {
            Ok(Deletion::Removed(tombstone)) => tombstone.deleted_at,
            Ok(Deletion::Placeholder(placeholder)) => placeholder.updated_at,
            Err(StorageError::NotFound(_)) => return Err(no_message_found(msg_id)),
            Err(other) => return Err(other.into()),
        };
        self.remove_message_files(&message).await;
        self.refresh_discussion(&message.rid).await?;
        Ok(DeletedMessage { id: message.id, rid: message.rid, u: message.u, deleted_at })
    }

    /// Checks that need no room: `tshow` without `tmid`, threads switched
    /// off, the size limits (`msg` in characters, the content fields in
    /// bytes of JSON).
    pub(crate) fn check_draft(&self, draft: &Draft) -> Result<()> {
        let settings = self.settings();
        if draft.tshow == Some(true) && draft.tmid.is_none() {
            return Err(Error::from(Reject::TshowWithoutTmid));
        }
        if draft.tmid.is_some() && !settings.threads_enabled() {
            return Err(Error::from(Reject::NotAllowedDashed));
        }
        if draft.msg.chars().count() > settings.message_max_allowed_size() {
            return Err(size_exceeded());
        }
        if json_size(&draft.extra) > MAX_CONTENT_BYTES {
            return Err(content_size_exceeded());
        }
        Ok(())
    }

    /// Sends a checked draft to `room`: access, thread, mentions, insert.
    pub(crate) async fn deliver(&self, caller: &User, room: &Room, draft: Draft) -> Result<Message> {
        let join = self.check_can_post(caller, room).await?;
        let tmid = match &draft.tmid {
            Some(tmid) => Some(self.thread_of(&room.id, tmid).await?),
            None => None,
        };
        let parsed = mentions::parse(&draft.msg, &mentions::options(&self.settings()));
        let (mentions, channels) = self.resolve_mentions(caller, &parsed).await?;
        // The parent's author joins at the thread's first reply: the store
        // decides that, on the parent it holds (rules::apply_reply).
        let reply = tmid.as_ref().map(|_| {
            let mut followers = vec![caller.id.clone()];
            followers
                .extend(mentions.iter().filter(|m| m.kind.as_deref() == Some("user")).map(|m| m.id.clone()));
            let mut seen = std::collections::HashSet::new();
            followers.retain(|f| seen.insert(f.clone()));
            ReplyBookkeeping { add_followers: followers }
        });
        let now = Timestamp::now();
        let client_id = draft.id.is_some();
        let message = Message {
            id: draft.id.unwrap_or_else(id::new_id),
            rid: room.id.clone(),
            msg: draft.msg,
            md: parsed.md,
            // The store stamps `ts` and `_updatedAt` from the room clock.
            ts: now,
            u: user_ref(caller),
            updated_at: now,
            mentions,
            channels,
            tmid,
            tshow: draft.tshow,
            tcount: None,
            tlm: None,
            replies: None,
            t: None,
            edited_at: None,
            edited_by: None,
            extra: draft.extra,
        };
        let settings = self.settings();
        let counters = member_counters(&message, room.t, settings.unread_count(room.t == RoomType::Direct));
        let sent =
            self.store.insert_message(NewMessage { message, reply, join, counters }).await.map_err(|e| {
                match e {
                    StorageError::Conflict(_) if client_id => Error::from(Reject::MessageIdTaken),
                    StorageError::NotFound("thread") => invalid_message(),
                    StorageError::NotFound(_) => invalid_room(),
                    other => other.into(),
                }
            })?;
        if room.prid.is_some() {
            self.refresh_discussion(&room.id).await?;
        }
        Ok(sent)
    }

    /// Whether `caller` may post in `room` (Rocket.Chat's `canSendMessage`):
    /// members only in `p`/`d`; in a read-only room only holders of
    /// `post-readonly` (admins, owners, moderators by default). Returns the subscription to create when posting joins a
    /// public channel.
    pub(crate) async fn check_can_post(&self, caller: &User, room: &Room) -> Result<Option<Subscription>> {
        let subscription = self.store.subscription(&room.id, &caller.id).await?;
        if subscription.is_none() && matches!(room.t, RoomType::Group | RoomType::Direct) {
            return Err(Error::not_allowed());
        }
        // Rocket.Chat's `canSendMessage`: a plain error text, no code.
        if room.archived {
            return Err(Error::from(Reject::RoomIsArchived));
        }
        if room.read_only && !self.holds_here(caller, subscription.as_ref(), "post-readonly") {
            return Err(Error::from(Reject::ReadOnlySend));
        }
        Ok(match subscription {
            Some(_) => None,
            None => Some(new_subscription(room, caller, Vec::new())),
        })
    }

    /// Rocket.Chat's `canDeleteMessage` for `actor`, by the permission
    /// table: `force-delete-message` in the room deletes anything (admins
    /// and owners by default); otherwise deleting must be allowed
    /// (`Message_AllowDeleting`) and the actor must hold `delete-message` in
    /// the room (moderators) or be the author holding `delete-own-message`;
    /// in a read-only room they must also hold `post-readonly`.
    async fn check_can_delete(&self, actor: &User, message: &Message) -> Result<()> {
        let subscription = self.store.subscription(&message.rid, &actor.id).await?;
        let holds = |permission| self.holds_here(actor, subscription.as_ref(), permission);
        if holds("force-delete-message") {
            return Ok(());
        }
        if !self.settings().allow_deleting() {
            return Err(deleting_not_allowed());
        }
        let own = message.u.id == actor.id && self.has_global_permission(actor, "delete-own-message");
        if !own && !holds("delete-message") {
            return Err(deleting_not_allowed());
        }
        let read_only = self.store.room_by_id(&message.rid).await?.is_some_and(|r| r.read_only);
        if read_only && !holds("post-readonly") {
            return Err(Error::from(Reject::ReadOnlyDelete));
        }
        Ok(())
    }

    /// The id of the top-level message a reply to `tmid` belongs to, in
    /// room `rid`. A reply to a reply is re-pointed to its thread (no
    /// nested threads). Reads only where the messages live (cached: it
    /// never changes), not the parent's document; the store checks the
    /// parent again under the room's lock.
    async fn thread_of(&self, rid: &str, tmid: &str) -> Result<String> {
        let place = self.store.message_place(tmid).await?.ok_or_else(invalid_message)?;
        let (top_id, top) = match place.tmid {
            Some(top_id) => {
                let top = self.store.message_place(&top_id).await?.ok_or_else(invalid_message)?;
                (top_id, top)
            }
            None => (tmid.to_owned(), place),
        };
        if top.rid != rid || top.tmid.is_some() {
            return Err(invalid_message());
        }
        Ok(top_id)
    }

    /// The room a `chat.postMessage` target names (see [`Services::post_message`]).
    async fn resolve_channel(&self, caller: &User, target: &str) -> Result<Room> {
        if let Some(name) = target.strip_prefix('#') {
            return self.store.room_by_name(name).await?.ok_or_else(invalid_channel);
        }
        if let Some(username) = target.strip_prefix('@') {
            return self.open_direct_message(caller, username).await;
        }
        if let Some(room) = self.store.room_by_id(target).await? {
            return Ok(room);
        }
        if let Some(room) = self.store.room_by_name(target).await? {
            return Ok(room);
        }
        if let Some(user) = self.store.user_by_id(target).await? {
            return self.open_direct_message(caller, &user.username).await;
        }
        Err(invalid_channel())
    }

    /// Mentions and channels named in the parsed text (its MENTION_USER and
    /// MENTION_CHANNEL nodes): existing users (plus `all` and `here`), and
    /// existing public channels or private groups the sender is a member of
    /// (**[differs]**: Rocket.Chat lists any private group, which leaks its
    /// id to outsiders). Order follows the text.
    async fn resolve_mentions(
        &self,
        sender: &User,
        parsed: &mentions::Parsed,
    ) -> Result<(Vec<Mention>, Vec<ChannelMention>)> {
        let mut mentions = Vec::new();
        let names = &parsed.users;
        let mut lookup: Vec<String> = Vec::new();
        for name in names.iter().filter(|n| !matches!(n.as_str(), "all" | "here")) {
            lookup.push(name.clone());
            if let Some(trimmed) = mentions::without_trailing_dots(name) {
                lookup.push(trimmed.to_owned());
            }
        }
        let users =
            if lookup.is_empty() { Vec::new() } else { self.store.users_by_usernames(&lookup).await? };
        for name in names {
            let mention = if matches!(name.as_str(), "all" | "here") {
                Some(Mention { id: name.clone(), username: name.clone(), name: None, kind: None })
            } else {
                let find = |n: &str| users.iter().find(|u| u.username.eq_ignore_ascii_case(n));
                find(name).or_else(|| mentions::without_trailing_dots(name).and_then(find)).map(|u| Mention {
                    id: u.id.clone(),
                    username: u.username.clone(),
                    name: Some(u.name.clone()),
                    kind: Some("user".into()),
                })
            };
            if let Some(m) = mention {
                if !mentions.iter().any(|x: &Mention| x.id == m.id) {
                    mentions.push(m);
                }
            }
        }

        let mut channels: Vec<ChannelMention> = Vec::new();
        for name in &parsed.channels {
            let mut room = self.store.room_by_name(name).await?;
            if room.is_none() {
                if let Some(trimmed) = mentions::without_trailing_dots(name) {
                    room = self.store.room_by_name(trimmed).await?;
                }
            }
            let Some(room) = room else { continue };
            let visible = match room.t {
                RoomType::Channel => true,
                RoomType::Group => self.is_member(sender, &room.id).await?,
                RoomType::Direct => false,
            };
            if visible && !channels.iter().any(|c| c.id == room.id) {
                if let Some(room_name) = room.name {
                    channels.push(ChannelMention { id: room.id, name: room_name });
                }
            }
        }
        Ok((mentions, channels))
    }
}

/// What a new message does to the members' counters: Rocket.Chat's
/// `updateUsersSubscriptions`, with `unread_count` the room type's
/// `Unread_Count` / `Unread_Count_DM` value. A reply not shown in the room
/// counts only in its followers' `tunread`, and a system message in nobody's.
/// Users mentioned by name (not the sender) count it in `userMentions`;
/// without them, `@all` / `@here` count in everyone's `groupMentions`
/// (user mentions come first, as in Rocket.Chat); `unread` follows the
/// setting, and in a direct message a group mention is always unread.
pub(crate) fn member_counters(message: &Message, t: RoomType, unread_count: &str) -> Option<MemberCounters> {
    if message.t.is_some() || (message.tmid.is_some() && message.tshow != Some(true)) {
        return None;
    }
    let to_group = message.mentions.iter().any(|m| matches!(m.id.as_str(), "all" | "here"));
    let mentioned: Vec<String> = message
        .mentions
        .iter()
        .filter(|m| !matches!(m.id.as_str(), "all" | "here") && m.id != message.u.id)
        .filter(|m| m.kind.as_deref().is_none_or(|k| k == "user"))
        .map(|m| m.id.clone())
        .collect();
    let all_messages = unread_count == "all_messages";
    let mut counters = MemberCounters { mentioned, ..MemberCounters::default() };
    if !counters.mentioned.is_empty() {
        let by_user =
            matches!(unread_count, "all_messages" | "user_mentions_only" | "user_and_group_mentions_only");
        counters.mentioned_unread = i64::from(by_user);
        counters.others_unread = i64::from(!to_group && all_messages);
    } else if to_group {
        let by_group =
            matches!(unread_count, "all_messages" | "group_mentions_only" | "user_and_group_mentions_only");
        counters.others_group = 1;
        counters.others_unread = i64::from(t == RoomType::Direct || by_group);
    } else {
        counters.others_unread = i64::from(all_messages);
    }
    Some(counters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(mentions: &[&str], tmid: Option<&str>, tshow: Option<bool>) -> Message {
        let now = Timestamp(1);
        Message {
            id: "m".into(),
            rid: "r".into(),
            msg: String::new(),
            md: None,
            ts: now,
            u: UserRef { id: "sender".into(), username: "sender".into(), name: None },
            updated_at: now,
            mentions: mentions
                .iter()
                .map(|m| Mention {
                    id: (*m).into(),
                    username: (*m).into(),
                    name: None,
                    kind: (!matches!(*m, "all" | "here")).then(|| "user".into()),
                })
                .collect(),
            channels: Vec::new(),
            tmid: tmid.map(Into::into),
            tshow,
            tcount: None,
            tlm: None,
            replies: None,
            t: None,
            edited_at: None,
            edited_by: None,
            extra: Map::new(),
        }
    }

    fn counted(m: &[&str], t: RoomType, setting: &str) -> (Vec<String>, i64, i64, i64) {
        let c = member_counters(&message(m, None, None), t, setting).expect("counted");
        (c.mentioned, c.mentioned_unread, c.others_unread, c.others_group)
    }

    #[test]
    fn counters_follow_rocket_chat_s_rules() {
        let channel = RoomType::Channel;
        let default = "user_and_group_mentions_only";
        // A plain message only alerts, by default; every message counts with `all_messages`.
        assert_eq!(counted(&[], channel, default), (vec![], 0, 0, 0));
        assert_eq!(counted(&[], channel, "all_messages"), (vec![], 0, 1, 0));
        // User mentions come first: the mentioned count it, the sender never.
        assert_eq!(counted(&["bob", "sender"], channel, default), (vec!["bob".into()], 1, 0, 0));
        assert_eq!(counted(&["bob"], channel, "all_messages"), (vec!["bob".into()], 1, 1, 0));
        assert_eq!(counted(&["bob"], channel, "group_mentions_only"), (vec!["bob".into()], 0, 0, 0));
        assert_eq!(counted(&["bob", "all"], channel, "all_messages"), (vec!["bob".into()], 1, 0, 0));
        // Group mentions without user mentions.
        assert_eq!(counted(&["here"], channel, default), (vec![], 0, 1, 1));
        assert_eq!(counted(&["all"], channel, "user_mentions_only"), (vec![], 0, 0, 1));
        assert_eq!(counted(&["all"], RoomType::Direct, "mentions_only"), (vec![], 0, 1, 1));
        assert_eq!(counted(&[], RoomType::Direct, "all_messages"), (vec![], 0, 1, 0));
    }

    #[test]
    fn hidden_replies_and_system_messages_count_for_nobody() {
        let t = RoomType::Channel;
        assert_eq!(member_counters(&message(&["bob"], Some("p"), None), t, "all_messages"), None);
        assert!(member_counters(&message(&["bob"], Some("p"), Some(true)), t, "all_messages").is_some());
        let mut system = message(&[], None, None);
        system.t = Some("uj".into());
        assert_eq!(member_counters(&system, t, "all_messages"), None);
    }
}
