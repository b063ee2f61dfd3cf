//! Read caches a backend keeps in front of its hottest point lookups, kept
//! right through the event seam ([`StoreEvent`]).
//!
//! A hot `chat.syncThreadMessages` asks the store for the caller's token,
//! the thread's room, the tombstone horizon and then the feed. The first
//! three almost never change, so each costs a round trip (PostgreSQL) or a
//! store call (SQLite) for an answer known in advance. This module caches
//! exactly those:
//!
//! | what | changes when | forgotten on |
//! |---|---|---|
//! | token → user | a login, a logout, a user created, changed or deleted, a status change | a `User` or `Presence` event: the entries of the user it names (and lookups by hash that found nobody), or all when it names none |
//! | room → type | never while the room lives; its id may be used again after its deletion | any `Room` event without `user` |
//! | message → room and thread | never while the message lives; its id may be used again after a removal or with its room's deletion | a removal's event (`data` = the id), any `Room` event without `user` (a room created or deleted) |
//! | tombstone horizon | tombstones pruned | a `Tombstones` event |
//!
//! and everything on `Resync`.
//!
//! # Why an access decision is never staler than the event seam
//! Every write announces its event after its commit, and the backend feeds
//! every event to [`ReadCache::on_event`] *before* it reaches anyone else:
//! on this instance right after the commit (before the write call
//! returns), from other instances when their `NOTIFY` arrives. So:
//! - on one instance (SQLite, or PostgreSQL's own writes) a cached answer
//!   is exact: once `logout` returned, the token is unknown here;
//! - across instances, a cached answer is stale at most until the other
//!   instance's notification arrives — the same delay after which its
//!   realtime listeners learn of the change;
//! - when notifications may have been lost (the listener's connection
//!   broke), the backend calls [`ReadCache::suspend`] as soon as it sees
//!   the break: everything is dropped and nothing is cached again until
//!   [`ReadCache::resume`], which it calls once it listens again (and then
//!   announces `Resync`). A listener that cannot see a break (a silent
//!   network partition) is covered by a time limit: no entry is used after
//!   [`MAX_AGE`].
//!
//! A read that started before a write's commit can finish after that
//! write's invalidation and would store what the write just changed. Each
//! cache therefore has a generation, bumped by every invalidation; a value
//! is stored only if the generation it was read under is still current
//! ([`ReadCache::generation`] before the read, the `put_*` methods after).

use crate::{EventKind, MessagePlace, StorageResult, StoreEvent};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use threadsync_domain::{RoomType, Timestamp, User};

/// The longest an entry is used: the bound on staleness when an instance's
/// listener is cut off without noticing.
pub const MAX_AGE: Duration = Duration::from_secs(30);

/// Entries per map before it is emptied (the simplest bound: a full map is
/// dropped and refilled by the next reads).
const MAX_ENTRIES: usize = 100_000;

/// Where a cached read must start: compared again when storing its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generation(u64);

struct Entry<V> {
    value: V,
    at: Instant,
}

struct Map<K, V> {
    entries: HashMap<K, Entry<V>>,
}

impl<K: std::hash::Hash + Eq, V: Clone> Map<K, V> {
    fn new() -> Self {
        Map { entries: HashMap::new() }
    }

    fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.entries.get(key).filter(|e| e.at.elapsed() < MAX_AGE).map(|e| e.value.clone())
    }

    fn put(&mut self, key: K, value: V) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(key, Entry { value, at: Instant::now() });
    }
}

/// The caches of one store (see the module docs).
pub struct ReadCache {
    /// Bumped by every invalidation of any map.
    generation: AtomicU64,
    /// While set (events may have been lost), nothing is stored or served.
    suspended: AtomicBool,
    /// `(user id, token hash)` → user, and `("", token hash)` for lookups by
    /// hash alone.
    tokens: Mutex<Map<(String, String), Option<User>>>,
    message_places: Mutex<Map<String, MessagePlace>>,
    room_types: Mutex<Map<String, RoomType>>,
    horizon: Mutex<Option<Entry<Option<Timestamp>>>>,
}

impl Default for ReadCache {
    fn default() -> Self {
        ReadCache::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ReadCache {
    pub fn new() -> Self {
        ReadCache {
            generation: AtomicU64::new(0),
            suspended: AtomicBool::new(false),
            tokens: Mutex::new(Map::new()),
            message_places: Mutex::new(Map::new()),
            room_types: Mutex::new(Map::new()),
            horizon: Mutex::new(None),
        }
    }

    /// Take before a read whose answer may be stored.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// Whether a value read under `generation` may still be stored. Called
    /// with the map's lock held, so an invalidation (which bumps the
    /// generation before taking the lock) cannot slip in between.
    fn current(&self, generation: Generation) -> bool {
        !self.suspended.load(Ordering::Acquire) && self.generation.load(Ordering::Acquire) == generation.0
    }

    fn serving(&self) -> bool {
        !self.suspended.load(Ordering::Acquire)
    }

    /// The owner of a token: `Some(None)` is a cached "no such token".
    pub fn token(&self, user_id: &str, token_hash: &str) -> Option<Option<User>> {
        if !self.serving() {
            return None;
        }
        lock(&self.tokens).get(&(user_id.to_owned(), token_hash.to_owned()))
    }

    /// Stores the answer of a token lookup read under `generation`
    /// (`user_id` empty for a lookup by hash alone).
    pub fn put_token(&self, generation: Generation, user_id: &str, token_hash: &str, user: Option<User>) {
        let mut map = lock(&self.tokens);
        if self.current(generation) {
            map.put((user_id.to_owned(), token_hash.to_owned()), user);
        }
    }

    pub fn message_place(&self, id: &str) -> Option<MessagePlace> {
        if !self.serving() {
            return None;
        }
        lock(&self.message_places).get(id)
    }

    /// Stores a live message's place (a missing message is not cached: it
    /// may be created at any moment).
    pub fn put_message_place(&self, generation: Generation, id: &str, place: &MessagePlace) {
        let mut map = lock(&self.message_places);
        if self.current(generation) {
            map.put(id.to_owned(), place.clone());
        }
    }

    pub fn room_type(&self, rid: &str) -> Option<RoomType> {
        if !self.serving() {
            return None;
        }
        lock(&self.room_types).get(rid)
    }

    /// Stores an existing room's type (a missing room is not cached).
    pub fn put_room_type(&self, generation: Generation, rid: &str, t: RoomType) {
        let mut map = lock(&self.room_types);
        if self.current(generation) {
            map.put(rid.to_owned(), t);
        }
    }

    /// `Some(horizon)` when known.
    pub fn horizon(&self) -> Option<Option<Timestamp>> {
        if !self.serving() {
            return None;
        }
        lock(&self.horizon).as_ref().filter(|e| e.at.elapsed() < MAX_AGE).map(|e| e.value)
    }

    pub fn put_horizon(&self, generation: Generation, horizon: Option<Timestamp>) {
        let mut slot = lock(&self.horizon);
        if self.current(generation) {
            *slot = Some(Entry { value: horizon, at: Instant::now() });
        }
    }

    /// The owner of a token (`user_id` empty: by hash alone) from the
    /// cache, else from `read` (run only on a miss), stored if no
    /// invalidation raced it. The one way backends use the token cache.
    pub async fn token_or(
        &self,
        user_id: &str,
        token_hash: &str,
        read: impl Future<Output = StorageResult<Option<User>>>,
    ) -> StorageResult<Option<User>> {
        if let Some(user) = self.token(user_id, token_hash) {
            return Ok(user);
        }
        let generation = self.generation();
        let user = read.await?;
        self.put_token(generation, user_id, token_hash, user.clone());
        Ok(user)
    }

    /// A message's place from the cache, else from `read` (see [`Self::token_or`]).
    pub async fn message_place_or(
        &self,
        id: &str,
        read: impl Future<Output = StorageResult<Option<MessagePlace>>>,
    ) -> StorageResult<Option<MessagePlace>> {
        if let Some(place) = self.message_place(id) {
            return Ok(Some(place));
        }
        let generation = self.generation();
        let place = read.await?;
        if let Some(place) = &place {
            self.put_message_place(generation, id, place);
        }
        Ok(place)
    }

    /// A room's type from the cache, else from `read` (see [`Self::token_or`]).
    pub async fn room_type_or(
        &self,
        rid: &str,
        read: impl Future<Output = StorageResult<Option<RoomType>>>,
    ) -> StorageResult<Option<RoomType>> {
        if let Some(t) = self.room_type(rid) {
            return Ok(Some(t));
        }
        let generation = self.generation();
        let t = read.await?;
        if let Some(t) = t {
            self.put_room_type(generation, rid, t);
        }
        Ok(t)
    }

    /// The tombstone horizon from the cache, else from `read` (see [`Self::token_or`]).
    pub async fn horizon_or(
        &self,
        read: impl Future<Output = StorageResult<Option<Timestamp>>>,
    ) -> StorageResult<Option<Timestamp>> {
        if let Some(horizon) = self.horizon() {
            return Ok(horizon);
        }
        let generation = self.generation();
        let horizon = read.await?;
        self.put_horizon(generation, horizon);
        Ok(horizon)
    }

    /// Forgets what `event` may have changed. Call for every event, before
    /// announcing it, on the instance that wrote and on every other one.
    pub fn on_event(&self, event: &StoreEvent) {
        match event.kind {
            // An account's change touches that account's logins only: a
            // status change per connection must not empty every user's
            // cached login. Entries by hash alone that found nobody may be
            // the account's new token, so they go too.
            EventKind::User | EventKind::Presence => {
                self.bump();
                let mut tokens = lock(&self.tokens);
                match &event.user {
                    Some(user) => tokens.entries.retain(|(owner, _), entry| {
                        let by_hash_alone = owner.is_empty();
                        let names_user = match &entry.value {
                            Some(found) => found.id == *user,
                            None => by_hash_alone,
                        };
                        owner != user && !names_user
                    }),
                    None => tokens.entries.clear(),
                }
            }
            EventKind::Message => {
                // Only a removal frees an id for use elsewhere.
                if let Some(id) = &event.data {
                    self.bump();
                    lock(&self.message_places).entries.remove(id);
                }
            }
            // A room created or deleted: a deleted room's message ids are
            // free again. Membership events (with `user`) change neither.
            EventKind::Room if event.user.is_none() => {
                self.bump();
                match &event.rid {
                    Some(rid) => {
                        lock(&self.message_places).entries.retain(|_, e| e.value.rid != *rid);
                        lock(&self.room_types).entries.remove(rid);
                    }
                    None => {
                        lock(&self.message_places).entries.clear();
                        lock(&self.room_types).entries.clear();
                    }
                }
            }
            EventKind::Tombstones => {
                self.bump();
                *lock(&self.horizon) = None;
            }
            EventKind::Resync => self.clear(),
            EventKind::Room | EventKind::Subscription | EventKind::Settings | EventKind::Ephemeral => {}
        }
    }

    /// Events may be being lost: drop everything and cache nothing until
    /// [`ReadCache::resume`].
    pub fn suspend(&self) {
        self.suspended.store(true, Ordering::Release);
        self.clear();
    }

    /// Events flow again (the listener listens): caching may resume.
    pub fn resume(&self) {
        self.clear();
        self.suspended.store(false, Ordering::Release);
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn clear(&self) {
        self.bump();
        lock(&self.tokens).entries.clear();
        lock(&self.message_places).entries.clear();
        lock(&self.room_types).entries.clear();
        *lock(&self.horizon) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(rid: &str) -> MessagePlace {
        MessagePlace { rid: rid.to_owned(), tmid: None }
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_stored() {
        let cache = ReadCache::new();
        let before = cache.generation();
        cache.on_event(&StoreEvent { rid: None, kind: EventKind::User, user: None, data: None });
        cache.put_token(before, "u", "h", None);
        assert_eq!(cache.token("u", "h"), None, "stale answer dropped");
        let now = cache.generation();
        cache.put_token(now, "u", "h", None);
        assert_eq!(cache.token("u", "h"), Some(None));
    }

    #[test]
    fn an_account_event_forgets_that_account_only() {
        let user = |id: &str| User {
            id: id.into(),
            username: id.into(),
            name: id.into(),
            emails: Vec::new(),
            password_hash: None,
            roles: Vec::new(),
            active: true,
            status: "online".into(),
            status_text: String::new(),
            status_default: "online".into(),
            status_connection: "online".into(),
            last_login: None,
            utc_offset: 0.0,
            kind: "user".into(),
            created_at: Timestamp(1),
            updated_at: Timestamp(1),
        };
        let cache = ReadCache::new();
        let g = cache.generation();
        cache.put_token(g, "a", "ha", Some(user("a")));
        cache.put_token(g, "", "ha", Some(user("a")));
        cache.put_token(g, "b", "hb", Some(user("b")));
        cache.put_token(g, "", "hb", Some(user("b")));
        cache.put_token(g, "b", "gone", None);
        cache.put_token(g, "", "unknown", None);
        cache.on_event(&StoreEvent::presence("a"));
        assert_eq!(cache.token("a", "ha"), None, "a's login is read again");
        assert_eq!(cache.token("", "ha"), None);
        assert_eq!(cache.token("", "unknown"), None, "maybe a's new token");
        assert_eq!(cache.token("b", "hb"), Some(Some(user("b"))), "b's login stays");
        assert_eq!(cache.token("", "hb"), Some(Some(user("b"))));
        assert_eq!(cache.token("b", "gone"), Some(None));
        cache.on_event(&StoreEvent { rid: None, kind: EventKind::User, user: None, data: None });
        assert_eq!(cache.token("b", "hb"), None, "an event naming nobody forgets every login");
    }

    #[test]
    fn events_forget_what_they_change() {
        let cache = ReadCache::new();
        let g = cache.generation();
        cache.put_message_place(g, "m1", &place("R1"));
        cache.put_message_place(g, "m2", &place("R2"));
        cache.put_horizon(g, Some(Timestamp(5)));
        // An insert or an edit changes no message's room.
        cache.on_event(&StoreEvent::room(EventKind::Message, "R1"));
        cache.on_event(&StoreEvent::membership("R1", "u"));
        assert_eq!(cache.message_place("m1"), Some(place("R1")));
        // A removal names its id; a deleted room takes its messages along.
        cache.on_event(&StoreEvent { data: Some("m1".into()), ..StoreEvent::room(EventKind::Message, "R1") });
        assert_eq!(cache.message_place("m1"), None);
        cache.put_room_type(cache.generation(), "R2", RoomType::Group);
        cache.on_event(&StoreEvent::membership("R2", "u"));
        assert_eq!(cache.room_type("R2"), Some(RoomType::Group), "a membership changes no type");
        cache.on_event(&StoreEvent::room(EventKind::Room, "R2"));
        assert_eq!(cache.message_place("m2"), None);
        assert_eq!(cache.room_type("R2"), None);
        assert_eq!(cache.horizon(), Some(Some(Timestamp(5))));
        cache.on_event(&StoreEvent { rid: None, kind: EventKind::Tombstones, user: None, data: None });
        assert_eq!(cache.horizon(), None);
    }

    #[test]
    fn a_suspended_cache_serves_and_stores_nothing_until_resumed() {
        let cache = ReadCache::new();
        let g = cache.generation();
        cache.put_message_place(g, "m", &place("R"));
        cache.suspend();
        assert_eq!(cache.message_place("m"), None);
        let g = cache.generation();
        cache.put_message_place(g, "m", &place("R"));
        assert_eq!(cache.message_place("m"), None, "nothing stored while suspended");
        cache.resume();
        let g = cache.generation();
        cache.put_message_place(g, "m", &place("R"));
        assert_eq!(cache.message_place("m"), Some(place("R")));
    }
}
