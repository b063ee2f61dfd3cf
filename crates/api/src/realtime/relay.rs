//! From committed writes to stream events, without loss.
//!
//! Events are not built by the code that writes. The relay follows the
//! store's change feed instead, the same feed `chat.syncMessages` reads:
//! for every room someone on this instance listens to, it remembers the
//! greatest stamp it has delivered, and when the store announces a write
//! in that room it reads every change after that stamp, in stamp order,
//! and turns each into the events Rocket.Chat sends (see docs/realtime.md):
//!
//! - an updated message (new, edited, a parent whose `tcount`, `tlm` or
//!   `replies` moved, a `t: "rm"` placeholder) → `stream-room-messages`;
//! - a removal (tombstone) → `stream-notify-room` `<rid>/deleteMessage`;
//! - a new thread reply → `subscriptions-changed` and `notification` for
//!   the thread's followers, and `notification` for mentioned users.
//!
//! Because stamps strictly increase per room in commit order on every
//! backend (docs/sync.md), "everything after the last stamp delivered" never
//! skips a change and never repeats one, however the announcements arrive:
//! a burst of writes announced once, a write made by another instance
//! (PostgreSQL `NOTIFY`), or announcements lost while an instance's
//! `LISTEN` connection was down (the store then announces a resync and the
//! relay re-reads every room it follows from its cursor). The announcement
//! is only a hint to look; the feed is the truth.

use super::ddp;
use super::hub::Hub;
use super::streams::{
    MY_MESSAGES, NOTIFY_LOGGED, NOTIFY_ROOM, NOTIFY_USER, ROOM_MESSAGES, USER_PRESENCE, USER_STATUS,
};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use threadsync_domain::query::Filter;
use threadsync_domain::Reject;
use threadsync_domain::{Message, Result, RoomType, Timestamp, Tombstone, User};
use threadsync_service::Services;
use threadsync_storage::{ChangeScope, Cursor, EventKind, StoreEvent};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::Mutex;

/// Changes read per feed page while catching up a room.
const PAGE: u64 = 500;
/// Announcements handled together (a burst of writes in one room needs one
/// catch-up).
const MAX_BATCH: usize = 256;

/// A short-lived signal between instances (see [`Store::publish`]).
///
/// [`Store::publish`]: threadsync_storage::Store::publish
#[derive(serde::Serialize, serde::Deserialize)]
struct Signal {
    instance: String,
    conn: super::hub::ConnId,
    #[serde(flatten)]
    kind: SignalKind,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "signal", rename_all = "camelCase")]
enum SignalKind {
    Typing { rid: String, username: String, activities: Value, typing: bool, extra: Value },
}

fn ejson_of<T: serde::Serialize>(doc: &T) -> Result<Value> {
    let mut value = serde_json::to_value(doc).map_err(threadsync_domain::Error::internal)?;
    ddp::to_ejson(&mut value);
    Ok(value)
}

pub struct Relay {
    services: Arc<Services>,
    /// Names this instance in the signals it publishes.
    instance: String,
    hub: Arc<Hub>,
    /// Per followed room: the greatest stamp delivered. The lock is held
    /// through a room's catch-up, so a room is never pumped twice at once
    /// (which would deliver its changes twice).
    rooms: Mutex<HashMap<String, Timestamp>>,
    /// Per room, the users on this instance listening to `__my_messages__`
    /// who are members of it.
    my_members: std::sync::Mutex<HashMap<String, HashSet<String>>>,
}

impl Relay {
    pub fn new(services: Arc<Services>, hub: Arc<Hub>) -> Arc<Relay> {
        let instance = threadsync_domain::id::new_id();
        Arc::new(Relay {
            services,
            hub,
            instance,
            rooms: Mutex::new(HashMap::new()),
            my_members: Default::default(),
        })
    }

    /// This instance's name (in its signals and presence records).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Starts following the store's announcements. The task ends when the
    /// store's event channel closes (shutdown).
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let mut events = self.services.store().subscribe();
        let relay = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let first = match events.recv().await {
                    Ok(event) => event,
                    // Announcements were dropped: re-read every followed room.
                    Err(RecvError::Lagged(_)) => {
                        relay.resync().await;
                        continue;
                    }
                    Err(RecvError::Closed) => break,
                };
                // Coalesce a burst: one catch-up per room serves every write
                // announced so far (the feed holds them all).
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match events.try_recv() {
                        Ok(event) => batch.push(event),
                        Err(_) => break,
                    }
                }
                let mut seen = HashSet::new();
                for event in batch {
                    // `data` is left out: a removal's id (for the stores'
                    // caches) changes nothing the feed does not re-read.
                    let key = (event.kind, event.rid.clone(), event.user.clone());
                    if event.kind == EventKind::Ephemeral || seen.insert(key) {
                        relay.on_event(&event).await;
                    }
                }
            }
        })
    }

    async fn on_event(&self, event: &StoreEvent) {
        let result = match (event.kind, event.rid.as_deref()) {
            (EventKind::Message, Some(rid)) => match self.pump(rid).await {
                Ok(()) => match &event.user {
                    Some(user) => self.subscription_changed(rid, user, false).await,
                    None => Ok(()),
                },
                Err(e) => Err(e),
            },
            (EventKind::Room, Some(rid)) => self.room_event(rid, event.user.as_deref()).await,
            (EventKind::Subscription, Some(rid)) => match &event.user {
                Some(user) => self.subscription_changed(rid, user, false).await,
                None => Ok(()),
            },
            // An account changed: its sessions here check their login.
            (EventKind::User, _) => {
                if let Some(user) = &event.user {
                    self.hub.recheck_logins(Some(user));
                }
                Ok(())
            }
            // A status changed: an account change too (the sessions' copy
            // of the user), and the news for those listening.
            (EventKind::Presence, _) => match &event.user {
                Some(user) => {
                    self.hub.recheck_logins(Some(user));
                    self.presence_changed(user).await
                }
                None => Ok(()),
            },
            (EventKind::Resync, _) => {
                // Announcements may have been missed: every session checks.
                self.hub.recheck_logins(None);
                self.resync().await;
                Ok(())
            }
            (EventKind::Ephemeral, _) => {
                if let Some(data) = &event.data {
                    self.ephemeral(data);
                }
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "realtime relay could not read a change");
        }
    }

    /// User `user_id`'s status or status message changed: Rocket.Chat's
    /// three presence events, each only read and built when someone here
    /// listens: `stream-user-presence` `<uid>` `[username, code, text]`,
    /// `stream-notify-logged` `user-status` `[uid, username, code, text,
    /// name, roles]`, and the user's own `<uid>/userData` diff.
    async fn presence_changed(&self, user_id: &str) -> Result<()> {
        let user_data = format!("{user_id}/userData");
        let listeners = (
            self.hub.has(USER_PRESENCE, user_id),
            self.hub.has(NOTIFY_LOGGED, USER_STATUS),
            self.hub.has(NOTIFY_USER, &user_data),
        );
        if listeners == (false, false, false) || self.services.settings().presence_broadcast_disabled() {
            return Ok(());
        }
        let Some(user) = self.services.store().user_by_id(user_id).await? else { return Ok(()) };
        let code = threadsync_domain::presence::status_code(&user.status);
        if listeners.0 {
            self.hub.emit(USER_PRESENCE, user_id, json!([[user.username, code, user.status_text]]), None);
        }
        if listeners.1 {
            let args = json!([[user.id, user.username, code, user.status_text, user.name, user.roles]]);
            self.hub.emit(NOTIFY_LOGGED, USER_STATUS, args, None);
        }
        if listeners.2 {
            let diff = json!({"status": user.status, "statusText": user.status_text});
            let args = json!([{"type": "updated", "id": user.id, "diff": diff, "unset": {}}]);
            self.hub.emit(NOTIFY_USER, &user_data, args, None);
        }
        Ok(())
    }

    async fn room_event(&self, rid: &str, user: Option<&str>) -> Result<()> {
        self.room_changed(rid, user).await?;
        self.pump(rid).await?;
        match user {
            Some(user) => self.subscription_changed(rid, user, true).await?,
            None => self.room_settings_changed(rid).await?,
        }
        Ok(())
    }

    /// The room itself changed (an event without a user: a setting, a
    /// rename, a type, archiving): its members connected here get
    /// `rooms-changed` with the room and `subscriptions-changed` with their
    /// subscription (which a name, type or archiving changed too), as
    /// `updated`, so a client's room list follows without a reload. A room
    /// that no longer exists sends nothing here (its removal reaches
    /// members through their subscriptions' removal).
    async fn room_settings_changed(&self, rid: &str) -> Result<()> {
        let mut listeners: Vec<String> = self
            .hub
            .keys_where(NOTIFY_USER, |e| {
                e.ends_with("/rooms-changed") || e.ends_with("/subscriptions-changed")
            })
            .into_iter()
            .filter_map(|(event, _)| event.split('/').next().map(str::to_owned))
            .collect();
        if listeners.is_empty() {
            return Ok(());
        }
        listeners.sort();
        listeners.dedup();
        let store = self.services.store();
        let Some(room) = store.room_by_id(rid).await? else { return Ok(()) };
        let room_json = ejson_of(&room)?;
        for uid in listeners {
            // Members only: a public channel's settings are not news to
            // every connected user.
            let Some(sub) = store.subscription(rid, &uid).await? else { continue };
            let rooms_event = format!("{uid}/rooms-changed");
            self.hub.emit(NOTIFY_USER, &rooms_event, json!(["updated", room_json.clone()]), None);
            let subs_event = format!("{uid}/subscriptions-changed");
            self.hub.emit(NOTIFY_USER, &subs_event, json!(["updated", ejson_of(&sub)?]), None);
        }
        Ok(())
    }

    /// One user's subscription to `rid` changed (joined, left, read a
    /// thread, unfollowed): `subscriptions-changed` and, for a join or a
    /// leave, `rooms-changed`, to that user's connections on this instance.
    async fn subscription_changed(&self, rid: &str, user: &str, membership: bool) -> Result<()> {
        let subs_event = format!("{user}/subscriptions-changed");
        let rooms_event = format!("{user}/rooms-changed");
        let wants_subs = self.hub.has(NOTIFY_USER, &subs_event);
        let wants_rooms = membership && self.hub.has(NOTIFY_USER, &rooms_event);
        if !wants_subs && !wants_rooms {
            return Ok(());
        }
        let store = self.services.store();
        match store.subscription(rid, user).await? {
            Some(sub) => {
                // A membership event with a subscription is a join (clients
                // upsert, so a repeated join is harmless).
                let action = if membership { "inserted" } else { "updated" };
                if wants_subs {
                    self.hub.emit(NOTIFY_USER, &subs_event, json!([action, ejson_of(&sub)?]), None);
                }
                if wants_rooms {
                    if let Some(room) = store.room_by_id(rid).await? {
                        self.hub.emit(NOTIFY_USER, &rooms_event, json!([action, ejson_of(&room)?]), None);
                    }
                }
            }
            None => {
                if wants_subs {
                    self.hub.emit(
                        NOTIFY_USER,
                        &subs_event,
                        json!(["removed", {"rid": rid, "u": {"_id": user}}]),
                        None,
                    );
                }
                if wants_rooms {
                    self.hub.emit(NOTIFY_USER, &rooms_event, json!(["removed", {"_id": rid}]), None);
                }
            }
        }
        Ok(())
    }

    /// A signal from an instance (this one included): typing.
    fn ephemeral(&self, data: &str) {
        let Ok(signal) = serde_json::from_str::<Signal>(data) else {
            tracing::warn!("ignoring a malformed realtime signal");
            return;
        };
        // The writer's own connection is not echoed; its id only means
        // something on the instance it came from.
        let except = (signal.instance == self.instance).then_some(signal.conn);
        match signal.kind {
            SignalKind::Typing { rid, username, activities, typing, extra } => {
                self.hub.emit(
                    NOTIFY_ROOM,
                    &format!("{rid}/user-activity"),
                    json!([username, activities, extra]),
                    except,
                );
                self.hub.emit(NOTIFY_ROOM, &format!("{rid}/typing"), json!([username, typing]), except);
            }
        }
    }

    /// Sends a typing write to every instance.
    pub async fn typing(
        &self,
        conn: super::hub::ConnId,
        rid: &str,
        username: &str,
        activities: Value,
        typing: bool,
        extra: Value,
    ) -> Result<()> {
        let signal = Signal {
            instance: self.instance.clone(),
            conn,
            kind: SignalKind::Typing {
                rid: rid.to_owned(),
                username: username.to_owned(),
                activities,
                typing,
                extra,
            },
        };
        let data = serde_json::to_string(&signal).map_err(threadsync_domain::Error::internal)?;
        self.services
            .store()
            .publish(data)
            .await
            .map_err(|e| threadsync_domain::Error::from(Reject::SignalRefused { detail: e.to_string() }))
    }

    async fn resync(&self) {
        let rooms: Vec<String> = self.rooms.lock().await.keys().cloned().collect();
        for rid in rooms {
            let result = match self.room_changed(&rid, None).await {
                Ok(()) => self.pump(&rid).await,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, rid, "realtime relay could not resync a room");
            }
        }
    }

    /// Starts following `rid` from its latest change, if not followed yet.
    pub async fn track(&self, rid: &str) -> Result<()> {
        let mut rooms = self.rooms.lock().await;
        if !rooms.contains_key(rid) {
            let latest = self.latest_stamp(rid).await?;
            rooms.insert(rid.to_owned(), latest);
        }
        Ok(())
    }

    /// Starts following `rid` after `start`, if not followed yet.
    async fn track_from(&self, rid: &str, start: Timestamp) -> Result<()> {
        self.rooms.lock().await.entry(rid.to_owned()).or_insert(start);
        Ok(())
    }

    /// Follows every room of `user` for their `__my_messages__` sub.
    pub async fn track_user_rooms(&self, user: &User) -> Result<()> {
        let types = [RoomType::Channel, RoomType::Group, RoomType::Direct];
        let page = self.services.store().rooms_of_user(&user.id, &types, 0, u64::MAX >> 1).await?;
        for room in page.items {
            self.track(&room.id).await?;
            let mut members = self.my_members.lock().unwrap_or_else(|p| p.into_inner());
            members.entry(room.id).or_default().insert(user.id.clone());
        }
        Ok(())
    }

    /// The greatest stamp in the room's feed (updates and removals).
    async fn latest_stamp(&self, rid: &str) -> Result<Timestamp> {
        let store = self.services.store();
        let end = Cursor::Before(Timestamp(i64::MAX));
        let updated = store.room_updates(rid, end, 1).await?.first().map(|m| m.updated_at);
        let removed = store.room_removals(rid, end, 1).await?.first().map(|t| t.deleted_at);
        Ok(updated.max(removed).unwrap_or_default())
    }

    /// Whether anyone on this instance still listens to the room.
    fn interested(&self, rid: &str) -> bool {
        self.hub.has(ROOM_MESSAGES, rid)
            || self.hub.has(NOTIFY_ROOM, &format!("{rid}/deleteMessage"))
            || self.hub.has(NOTIFY_ROOM, &format!("{rid}/deleteMessageBulk"))
            || self.my_listeners(rid).next().is_some()
    }

    fn my_listeners(&self, rid: &str) -> impl Iterator<Item = super::hub::Target> {
        let members =
            self.my_members.lock().unwrap_or_else(|p| p.into_inner()).get(rid).cloned().unwrap_or_default();
        self.hub
            .targets(ROOM_MESSAGES, MY_MESSAGES)
            .into_iter()
            .filter(move |t| t.user_id.as_ref().is_some_and(|u| members.contains(u)))
    }

    /// Delivers every change of `rid` after its cursor, oldest first.
    async fn pump(&self, rid: &str) -> Result<()> {
        let mut rooms = self.rooms.lock().await;
        let Some(mut cursor) = rooms.get(rid).copied() else { return Ok(()) };
        if !self.interested(rid) {
            rooms.remove(rid);
            self.my_members.lock().unwrap_or_else(|p| p.into_inner()).remove(rid);
            return Ok(());
        }
        let store = self.services.store();
        let mut room_info: Option<(RoomType, String)> = None;
        loop {
            let changes = store.changes_since(ChangeScope::Room(rid), cursor, &Filter::True, 0, PAGE).await?;
            if changes.updated.is_empty() && changes.removed.is_empty() {
                break;
            }
            let next = changes.last_stamp().unwrap_or(cursor);
            self.deliver(rid, changes.updated, changes.removed, &mut room_info).await?;
            cursor = next;
            rooms.insert(rid.to_owned(), cursor);
            if !changes.more {
                break;
            }
        }
        Ok(())
    }

    /// Sends one page of changes in stamp order.
    async fn deliver(
        &self,
        rid: &str,
        updated: Vec<Message>,
        removed: Vec<Tombstone>,
        room_info: &mut Option<(RoomType, String)>,
    ) -> Result<()> {
        // One per change of a page, consumed at once: boxing would only
        // add an allocation per message.
        #[allow(clippy::large_enum_variant)]
        enum Change {
            Updated(Message),
            Removed(Tombstone),
        }
        let mut changes: Vec<(Timestamp, Change)> = updated
            .into_iter()
            .map(|m| (m.updated_at, Change::Updated(m)))
            .chain(removed.into_iter().map(|t| (t.deleted_at, Change::Removed(t))))
            .collect();
        changes.sort_by_key(|(stamp, _)| *stamp);
        let parents: HashMap<String, Message> = changes
            .iter()
            .filter_map(|(_, c)| match c {
                Change::Updated(m) if m.tcount.is_some() => Some((m.id.clone(), m.clone())),
                _ => None,
            })
            .collect();
        let my_listeners: Vec<_> = self.my_listeners(rid).collect();
        if !my_listeners.is_empty() && room_info.is_none() {
            if let Some(room) = self.services.store().room_by_id(rid).await? {
                *room_info = Some((room.t, room.name.clone().unwrap_or_default()));
            }
        }
        // User-level events go after the page's room events, so a
        // follower's client already holds the parent's new counters.
        let mut new_messages = Vec::new();
        for (_, change) in changes {
            match change {
                Change::Updated(message) => {
                    let mut doc =
                        serde_json::to_value(&message).map_err(threadsync_domain::Error::internal)?;
                    ddp::to_ejson(&mut doc);
                    if !my_listeners.is_empty() {
                        let (t, name) = room_info.clone().unwrap_or((RoomType::Channel, String::new()));
                        let extra = json!({"roomParticipant": true, "roomType": t, "roomName": name});
                        let frame = super::hub::Frame::from(
                            ddp::stream_frame(ROOM_MESSAGES, MY_MESSAGES, json!([doc.clone(), extra]))
                                .to_string(),
                        );
                        self.hub.deliver(&frame, my_listeners.iter());
                    }
                    let is_new = message.edited_at.is_none() && message.ts == message.updated_at;
                    self.hub.emit(ROOM_MESSAGES, rid, json!([doc]), None);
                    if is_new && message.t.is_none() {
                        new_messages.push(message);
                    }
                }
                Change::Removed(tombstone) => {
                    self.hub.emit(
                        NOTIFY_ROOM,
                        &format!("{rid}/deleteMessage"),
                        json!([{"_id": tombstone.id}]),
                        None,
                    );
                }
            }
        }
        // Messages shown in the room moved the members' counters (`alert`,
        // `unread`, mentions; the sender's `ls`), stamped with the message.
        let counted_from =
            new_messages.iter().filter(|m| m.tmid.is_none() || m.tshow == Some(true)).map(|m| m.ts).min();
        for message in new_messages {
            self.notify_users(&message, &parents).await?;
        }
        if let Some(from) = counted_from {
            self.counters_changed(rid, from).await?;
        }
        Ok(())
    }

    /// The members of `rid` connected here whose subscription a new
    /// message changed (stamped at `from` or later) get it on
    /// `subscriptions-changed`, once per page of changes, so their room
    /// list shows the new counters. The candidates are the members this
    /// instance follows through `__my_messages__` (every official client
    /// subscribes to it with `subscriptions-changed`): a message alerts
    /// only members, and most of them, already alerted, are skipped by the
    /// stamp.
    async fn counters_changed(&self, rid: &str, from: Timestamp) -> Result<()> {
        let members: Vec<String> = self
            .my_members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(rid)
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default();
        for uid in members {
            let event = format!("{uid}/subscriptions-changed");
            if !self.hub.has(NOTIFY_USER, &event) {
                continue;
            }
            let Some(sub) = self.services.store().subscription(rid, &uid).await? else { continue };
            if sub.updated_at >= from {
                self.hub.emit(NOTIFY_USER, &event, json!(["updated", ejson_of(&sub)?]), None);
            }
        }
        Ok(())
    }

    /// A new message's user-level events: for a thread reply, the thread's
    /// followers get `subscriptions-changed` (their `tunread` moved) and a
    /// `notification`; mentioned users get a `notification`. Only users
    /// with a connection on this instance are looked at.
    async fn notify_users(&self, message: &Message, parents: &HashMap<String, Message>) -> Result<()> {
        let mut notified: Vec<String> = Vec::new();
        if let Some(tmid) = &message.tmid {
            let parent = match parents.get(tmid) {
                Some(p) => Some(p.clone()),
                None => self.services.store().message_by_id(tmid).await?,
            };
            for follower in parent.and_then(|p| p.replies).unwrap_or_default() {
                if follower == message.u.id {
                    continue;
                }
                let event = format!("{follower}/subscriptions-changed");
                if self.hub.has(NOTIFY_USER, &event) {
                    if let Some(sub) = self.services.store().subscription(&message.rid, &follower).await? {
                        let mut doc =
                            serde_json::to_value(&sub).map_err(threadsync_domain::Error::internal)?;
                        ddp::to_ejson(&mut doc);
                        self.hub.emit(NOTIFY_USER, &event, json!(["updated", doc]), None);
                    }
                }
                notified.push(follower);
            }
        }
        for mention in &message.mentions {
            if mention.id != message.u.id && !notified.contains(&mention.id) {
                notified.push(mention.id.clone());
            }
        }
        for uid in notified {
            let event = format!("{uid}/notification");
            if self.hub.has(NOTIFY_USER, &event) {
                let payload = json!([{
                    "title": message.u.username,
                    "text": message.msg,
                    "duration": 4000,
                    "payload": {
                        "_id": message.id,
                        "rid": message.rid,
                        "tmid": message.tmid,
                        "sender": {"_id": message.u.id, "username": message.u.username, "name": message.u.name},
                        "type": "c",
                        "message": {"msg": message.msg},
                    },
                }]);
                self.hub.emit(NOTIFY_USER, &event, payload, None);
            }
        }
        Ok(())
    }

    /// A room or its membership changed: drop the subs of users who can no
    /// longer read it, and refresh who listens to it through
    /// `__my_messages__`.
    async fn room_changed(&self, rid: &str, only: Option<&str>) -> Result<()> {
        let store = self.services.store();
        let room = store.room_by_id(rid).await?;
        let mut keys: Vec<(String, String, Vec<super::hub::Target>)> = Vec::new();
        keys.push((ROOM_MESSAGES.to_owned(), rid.to_owned(), self.hub.targets(ROOM_MESSAGES, rid)));
        let prefix = format!("{rid}/");
        for (event, targets) in self.hub.keys_where(NOTIFY_ROOM, |e| e.starts_with(&prefix)) {
            keys.push((NOTIFY_ROOM.to_owned(), event, targets));
        }
        let mut access: HashMap<String, bool> = HashMap::new();
        for (stream, event, targets) in keys {
            for target in targets {
                let Some(uid) = target.user_id.clone() else { continue };
                // A change of one member's subscription concerns only them.
                if only.is_some_and(|u| u != uid) {
                    continue;
                }
                let allowed = match access.get(&uid) {
                    Some(a) => *a,
                    None => {
                        let a = match &room {
                            None => false,
                            Some(r) if r.t == RoomType::Channel => true,
                            Some(_) => store.subscription(rid, &uid).await?.is_some(),
                        };
                        access.insert(uid.clone(), a);
                        a
                    }
                };
                if !allowed {
                    // Silently, as Rocket.Chat: delivery for the room stops.
                    self.hub.remove(&(stream.clone(), event.clone()), target.outbox.id, &target.sub_id);
                }
            }
        }
        // `__my_messages__`: members only, whatever the room type.
        let my_users: HashSet<String> =
            self.hub.targets(ROOM_MESSAGES, MY_MESSAGES).into_iter().filter_map(|t| t.user_id).collect();
        if !my_users.is_empty() {
            let mut now_members = HashSet::new();
            // The earliest join among them: a room first followed now is
            // read from there, not from its latest change, so a message
            // written between the join and this catch-up is not skipped.
            let mut joined = Timestamp(i64::MAX);
            if room.is_some() {
                for uid in my_users {
                    if let Some(subscription) = store.subscription(rid, &uid).await? {
                        joined = joined.min(subscription.ts);
                        now_members.insert(uid);
                    }
                }
            }
            let start_following = !now_members.is_empty();
            {
                let mut members = self.my_members.lock().unwrap_or_else(|p| p.into_inner());
                if now_members.is_empty() {
                    members.remove(rid);
                } else {
                    members.insert(rid.to_owned(), now_members);
                }
            }
            if start_following {
                self.track_from(rid, Timestamp(joined.millis().saturating_sub(1))).await?;
            }
        }
        Ok(())
    }
}
