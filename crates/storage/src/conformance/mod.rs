//! The conformance suite: one set of test bodies, written against the traits
//! only, that every backend must pass.
//!
//! Each body is a public `async fn(&dyn Store)` that starts from an empty
//! store. A backend runs them all with [`conformance_suite!`](crate::conformance_suite),
//! giving an async expression that opens a fresh store for each test and
//! yields it paired with whatever must outlive it (a temporary directory, a
//! database guard), as a [`StoreFixture`]:
//!
//! ```ignore
//! threadsync_storage::conformance_suite!(async {
//!     let dir = tempfile::tempdir().expect("temp dir");
//!     let store = SqliteStore::open(dir.path(), SqliteOptions::default()).await.expect("open");
//!     (store, dir)
//! });
//! ```
//!
//! The expansion needs `tokio` (with `macros` and the multi-threaded runtime)
//! in the calling crate. Each test closes its store at the end.
//!
//! Backend-specific behaviour (reopening a store, query plans) is tested by
//! the backend itself.
//!
//! This module is test support: it panics on every failed expectation.

pub mod blobs;
pub mod oracle;
mod presence;
mod rename;
mod search;
mod uploads;

pub use presence::{presence_follows_connections_and_choice, presence_leases_expire};
pub use rename::users_rename_rewrites_every_document;

pub use search::{
    search_finds_imported_messages, search_follows_edits_and_deletions, search_is_scoped_to_the_room,
    search_pages_are_stable_and_ranked, search_words_prefixes_phrases_and_folding,
};
pub use uploads::{
    avatars_set_replace_and_remove, uploads_attach_list_and_filter, uploads_deleted_by_id_room_and_expiry,
};

use crate::{
    ChangeScope, Changes, Cursor, Deletion, MemberCounters, MessageEdit, MessageMark, NewMessage, Page,
    ReadChange, ReplyBookkeeping, RoleFilter, RoomChange, RoomListQuery, StorageError, Store, ThreadKind,
    ThreadListQuery, UserListQuery, UserPatch, UserSortField,
};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use threadsync_domain::listing::{Direction, Sort, SortField};
use threadsync_domain::message::{ChannelMention, Mention};
use threadsync_domain::query::Filter;
use threadsync_domain::{
    Email, Markup, Message, Room, RoomType, Subscription, Timestamp, Tombstone, User, UserRef,
};

/// What a test's `make` expression yields: the store, and whatever must stay
/// alive as long as it does.
pub trait StoreFixture {
    fn store(&self) -> &dyn Store;
}

/// A store and its guard (a temporary directory, a database handle...). The
/// store is dropped before the guard.
impl<S: Store, G> StoreFixture for (S, G) {
    fn store(&self) -> &dyn Store {
        &self.0
    }
}

/// The PostgreSQL server of the tests: `TEST_DATABASE_URL`, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
///
/// Without that variable at build time the crates' build scripts leave the
/// `postgres_tests` cfg unset and the PostgreSQL tests are compiled as
/// ignored, so `cargo test` lists and counts them as such. Under CI (`CI`
/// set) the cfg is set regardless: a missing server must fail the run, not
/// pass it, and this is where it fails, as it does for a test run with
/// `--ignored` and no server.
pub fn test_database_url() -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ if std::env::var("CI").is_ok_and(|ci| is_ci(&ci)) => panic!(
            "CI requires TEST_DATABASE_URL: the PostgreSQL tests need a server \
             (e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)"
        ),
        _ => panic!(
            "TEST_DATABASE_URL is not set: the PostgreSQL tests need a server \
             (e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)"
        ),
    }
}

/// Whether a value of `CI` means "running under CI" (`true`, `1`, ...;
/// not empty, `0` or `false`). The build scripts read it the same way.
pub fn is_ci(value: &str) -> bool {
    !matches!(value.trim().to_ascii_lowercase().as_str(), "" | "0" | "false" | "no")
}

/// Expands into one `#[tokio::test]` per conformance body. `$make` is an
/// async expression yielding a fresh [`StoreFixture`]; it is evaluated once
/// per test. Attributes given before it, followed by `;`, go on every test
/// (e.g. an `ignore` for a backend that needs a server):
///
/// ```ignore
/// threadsync_storage::conformance_suite!(
///     #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set")];
///     fresh()
/// );
/// ```
#[macro_export]
macro_rules! conformance_suite {
    ($(#[$attr:meta])+ ; $make:expr) => {
        $crate::conformance_suite!(@suite [$(#[$attr])+] $make);
    };
    (@suite [$(#[$attr:meta])*] $make:expr) => {
        $crate::conformance_suite!(@tests [$(#[$attr])*] $make;
            users_insert_and_lookup,
            users_conflicts,
            users_with_extra_roles,
            users_insert_with_joins_is_atomic,
            users_delete_cascades,
            users_active_status_ends_sessions_and_keeps_an_admin,
            users_listed_sorted_paged_and_by_email,
            users_profile_updates,
            users_profile_keeps_an_admin,
            users_rename_rewrites_every_document,
            presence_follows_connections_and_choice,
            presence_leases_expire,
            users_preferences_merge,
            login_tokens,
            rooms_create_and_lookup,
            rooms_direct_and_default,
            rooms_members_paging,
            rooms_of_user_filters_and_pages,
            rooms_listed_by_type_and_name,
            rooms_settings_change_room_and_subscriptions,
            rooms_join_code_kept_apart,
            subscriptions_add_and_remove,
            roster_changes_and_tombstones,
            rooms_delete_cascades,
            rooms_type_and_message_room_follow_deletions,
            messages_insert_stamps_and_round_trips,
            messages_insert_rejections,
            messages_insert_joins,
            messages_edit,
            messages_reactions_stamp_like_edits,
            messages_stars_and_pins,
            messages_missing_ids,
            messages_markup_backfill_does_not_stamp,
            messages_markup_backfill_is_remembered,
            thread_reply_bookkeeping,
            thread_reply_rejections,
            thread_delete_reply_leaves_tombstone,
            thread_delete_parent_leaves_placeholder,
            messages_delete_with_show_deleted_status_leaves_placeholders,
            messages_delete_plain_leaves_tombstone,
            thread_follow_and_unfollow,
            thread_mark_read,
            thread_unread_follows_a_random_history,
            read_state_read_and_unread,
            messages_count_for_members,
            room_roles_given_and_taken_keep_an_owner,
            settings_save_and_load,
            roles_saved_replaced_and_deleted,
            permissions_save_and_load_and_announce,
            ping_answers_until_closed,
            sync_thread_changes_merge_and_resume,
            sync_thread_parent_and_room_scopes,
            sync_thread_replies_sort_and_paging,
            sync_room_messages_sort_filter_and_paging,
            sync_thread_parents_filters,
            sync_room_cursors_and_tombstones,
            sync_prune_tombstones_sets_horizon,
            sync_concurrent_feeds_each_get_their_own_answer,
            clock_tight_loop_strictly_increases,
            clock_concurrent_writers_distinct_stamps,
            clock_followers_of_concurrent_writers_miss_nothing,
            sends_to_one_room_at_once_are_each_answered_as_alone,
            events_follow_committed_writes,
            events_name_the_member_and_carry_ephemeral_data,
            import_is_atomic_and_moves_the_clock,
            search_words_prefixes_phrases_and_folding,
            search_follows_edits_and_deletions,
            search_is_scoped_to_the_room,
            search_pages_are_stable_and_ranked,
            search_finds_imported_messages,
            uploads_attach_list_and_filter,
            uploads_deleted_by_id_room_and_expiry,
            avatars_set_replace_and_remove,
        );
    };
    // The attributes travel as one token tree, unpacked per test by `@test`.
    (@tests $attrs:tt $make:expr; $($name:ident),* $(,)?) => {
        $( $crate::conformance_suite!(@test $attrs $make; $name); )*
    };
    (@test [$(#[$attr:meta])*] $make:expr; $name:ident) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn $name() {
            let fixture = $make.await;
            let store = $crate::conformance::StoreFixture::store(&fixture);
            $crate::conformance::$name(store).await;
            store.close().await;
        }
    };
    ($make:expr) => {
        $crate::conformance_suite!(@suite [] $make);
    };
}

// ---------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------

pub fn user(id: &str, username: &str, email: &str) -> User {
    User {
        id: id.to_owned(),
        username: username.to_owned(),
        name: format!("{username} name"),
        emails: vec![Email { address: email.to_owned(), verified: false }],
        password_hash: Some(format!("hash-of-{username}")),
        roles: vec!["user".to_owned()],
        active: true,
        status: "offline".to_owned(),
        status_text: String::new(),
        status_default: "online".into(),
        status_connection: "offline".into(),
        last_login: None,
        utc_offset: 1.5,
        kind: "user".to_owned(),
        created_at: Timestamp(1_555_439_446_615),
        updated_at: Timestamp(1_555_439_446_616),
    }
}

pub fn user_ref(user: &User) -> UserRef {
    UserRef { id: user.id.clone(), username: user.username.clone(), name: Some(user.name.clone()) }
}

/// A `c`/`p` room named `name`, or a `d` room when `t` is `Direct` (give
/// members with [`direct`] instead).
pub fn room(id: &str, t: RoomType, name: &str) -> Room {
    Room {
        name: Some(name.to_owned()),
        fname: Some(name.to_owned()),
        ..Room::new(id.to_owned(), t, Timestamp(1_555_439_446_615))
    }
}

pub fn channel(id: &str, name: &str) -> Room {
    room(id, RoomType::Channel, name)
}

pub fn direct(id: &str, members: &[&User]) -> Room {
    let mut members: Vec<&User> = members.to_vec();
    members.sort_by(|a, b| a.id.cmp(&b.id));
    Room {
        name: None,
        fname: None,
        usernames: members.iter().map(|u| u.username.clone()).collect(),
        uids: members.iter().map(|u| u.id.clone()).collect(),
        ..room(id, RoomType::Direct, "")
    }
}

pub fn subscription(room: &Room, user: &User) -> Subscription {
    let name = room.name.clone().unwrap_or_default();
    Subscription {
        id: format!("{}-{}", room.id, user.id),
        rid: room.id.clone(),
        u: user_ref(user),
        t: room.t,
        name: name.clone(),
        fname: name,
        ts: Timestamp(1_555_439_446_615),
        ls: None,
        updated_at: Timestamp(1_555_439_446_615),
        open: true,
        alert: false,
        unread: 0,
        user_mentions: 0,
        group_mentions: 0,
        tunread: Vec::new(),
        roles: Vec::new(),
        f: false,
        archived: false,
        ignored: Vec::new(),
    }
}

/// A message as a service would hand it to the store; `ts`/`_updatedAt`
/// are deliberately bogus, the store must overwrite them.
pub fn message(id: &str, rid: &str, author: &User, text: &str) -> Message {
    Message {
        id: id.to_owned(),
        rid: rid.to_owned(),
        msg: text.to_owned(),
        ts: Timestamp(1),
        u: user_ref(author),
        updated_at: Timestamp(2),
        mentions: Vec::new(),
        channels: Vec::new(),
        tmid: None,
        tshow: None,
        tcount: None,
        tlm: None,
        replies: None,
        t: None,
        edited_at: None,
        edited_by: None,
        md: None,
        extra: Map::new(),
    }
}

pub fn plain(message: Message) -> NewMessage {
    NewMessage { message, reply: None, join: None, counters: None }
}

/// A reply in thread `tmid`, adding `followers` to the parent's `replies`.
pub fn reply(mut message: Message, tmid: &str, followers: &[&User]) -> NewMessage {
    message.tmid = Some(tmid.to_owned());
    NewMessage {
        message,
        reply: Some(ReplyBookkeeping { add_followers: followers.iter().map(|u| u.id.clone()).collect() }),
        join: None,
        counters: None,
    }
}

/// Four users; `alice`, `bob` and `carol` are members of the channel
/// `ROOM` ("room"), `dave` is not.
pub struct World {
    pub alice: User,
    pub bob: User,
    pub carol: User,
    pub dave: User,
    pub room: Room,
}

pub const ROOM: &str = "ROOM";

impl World {
    pub async fn new(store: &dyn Store) -> World {
        let alice = user("u-alice", "alice", "alice@example.com");
        let bob = user("u-bob", "bob", "bob@example.com");
        let carol = user("u-carol", "carol", "carol@example.com");
        let dave = user("u-dave", "dave", "dave@example.com");
        for u in [&alice, &bob, &carol, &dave] {
            store.insert_user(u, &[]).await.expect("insert user");
        }
        let room = channel(ROOM, "room");
        let subs: Vec<Subscription> = [&alice, &bob, &carol].iter().map(|u| subscription(&room, u)).collect();
        let room = store.create_room(&room, &subs).await.expect("create room");
        World { alice, bob, carol, dave, room }
    }

    pub async fn post(&self, store: &dyn Store, id: &str, author: &User) -> Message {
        store
            .insert_message(plain(message(id, ROOM, author, &format!("text of {id}"))))
            .await
            .expect("insert message")
    }

    pub async fn reply(
        &self,
        store: &dyn Store,
        id: &str,
        tmid: &str,
        author: &User,
        followers: &[&User],
    ) -> Message {
        store
            .insert_message(reply(message(id, ROOM, author, &format!("reply {id}")), tmid, followers))
            .await
            .expect("insert reply")
    }
}

async fn must_get(store: &dyn Store, id: &str) -> Message {
    store
        .message_by_id(id)
        .await
        .expect("message_by_id")
        .unwrap_or_else(|| panic!("message {id} should exist"))
}

async fn tunread(store: &dyn Store, rid: &str, user: &User) -> Vec<String> {
    store
        .subscription(rid, &user.id)
        .await
        .expect("subscription")
        .unwrap_or_else(|| panic!("{} should be subscribed to {rid}", user.username))
        .tunread
}

async fn room_of(store: &dyn Store, rid: &str) -> Room {
    store.room_by_id(rid).await.expect("room_by_id").unwrap_or_else(|| panic!("room {rid} should exist"))
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| id(i).to_owned()).collect()
}

fn assert_distinct(stamps: &[Timestamp], what: &str) {
    let set: HashSet<i64> = stamps.iter().map(|t| t.0).collect();
    assert_eq!(set.len(), stamps.len(), "{what}: stamps must be pairwise distinct: {stamps:?}");
}

// ---------------------------------------------------------------------------
// Users and tokens
// ---------------------------------------------------------------------------

pub async fn users_insert_and_lookup(store: &dyn Store) {
    assert_eq!(store.count_users().await, Ok(0));
    let alice = user("u1", "Alice", "Alice@Example.com");
    let bob = user("u2", "bob", "bob@example.com");
    store.insert_user(&alice, &[]).await.expect("insert alice");
    store.insert_user(&bob, &[]).await.expect("insert bob");
    assert_eq!(store.count_users().await, Ok(2));

    assert_eq!(store.user_by_id("u1").await, Ok(Some(alice.clone())), "all fields round-trip");
    assert_eq!(store.user_by_id("nobody").await, Ok(None));
    assert_eq!(store.user_by_username("alice").await, Ok(Some(alice.clone())));
    assert_eq!(store.user_by_username("ALICE").await, Ok(Some(alice.clone())));
    assert_eq!(store.user_by_username("ali").await, Ok(None));
    assert_eq!(store.user_by_email("alice@example.COM").await, Ok(Some(alice.clone())));
    assert_eq!(store.user_by_email("nobody@example.com").await, Ok(None));

    let mut found = store
        .users_by_usernames(&["BOB".to_owned(), "alice".to_owned(), "zed".to_owned()])
        .await
        .expect("users_by_usernames");
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found, vec![alice, bob]);
    assert_eq!(store.users_by_usernames(&[]).await, Ok(vec![]));
}

pub async fn users_with_extra_roles(store: &dyn Store) {
    let mut zed = user("u1", "Zed", "zed@example.com");
    zed.roles = vec!["user".into(), "admin".into()];
    let plain = user("u2", "plain", "plain@example.com");
    let mut bot = user("u3", "bot", "bot@example.com");
    bot.roles = vec!["bot".into()];
    let mut amy = user("u4", "amy", "amy@example.com");
    amy.roles = vec!["guest".into()];
    for u in [&zed, &plain, &bot, &amy] {
        store.insert_user(u, &[]).await.expect("insert");
    }
    let ids = |users: Vec<User>| users.into_iter().map(|u| u.id).collect::<Vec<_>>();
    // Ordered by username case-insensitively; `user` alone does not count.
    assert_eq!(
        store.users_with_extra_roles(10).await.map(ids),
        Ok(vec!["u4".into(), "u3".into(), "u1".into()])
    );
    assert_eq!(store.users_with_extra_roles(1).await.map(ids), Ok(vec!["u4".into()]));
}

pub async fn users_insert_with_joins_is_atomic(store: &dyn Store) {
    let general = room("GENERAL", RoomType::Channel, "general");
    store.create_room(&general, &[]).await.expect("room");
    let alice = user("u1", "alice", "alice@example.com");
    store.insert_user(&alice, &[subscription(&general, &alice)]).await.expect("insert with join");
    assert!(store.subscription("GENERAL", "u1").await.expect("lookup").is_some());
    assert_eq!(store.room_by_id("GENERAL").await.expect("room").map(|r| r.users_count), Some(1));

    // A join to a missing room fails the whole insert: no user is left behind.
    let bob = user("u2", "bob", "bob@example.com");
    let missing = room("MISSING", RoomType::Channel, "missing");
    let result = store.insert_user(&bob, &[subscription(&general, &bob), subscription(&missing, &bob)]).await;
    assert_eq!(result, Err(StorageError::NotFound("room")));
    assert_eq!(store.user_by_id("u2").await, Ok(None));
    assert_eq!(store.subscription("GENERAL", "u2").await, Ok(None));
    assert_eq!(store.room_by_id("GENERAL").await.expect("room").map(|r| r.users_count), Some(1));
}

pub async fn users_conflicts(store: &dyn Store) {
    store.insert_user(&user("u1", "alice", "alice@example.com"), &[]).await.expect("insert");
    assert_eq!(
        store.insert_user(&user("u1", "other", "other@example.com"), &[]).await,
        Err(StorageError::Conflict("id"))
    );
    assert_eq!(
        store.insert_user(&user("u2", "ALICE", "other@example.com"), &[]).await,
        Err(StorageError::Conflict("username"))
    );
    assert_eq!(
        store.insert_user(&user("u2", "other", "ALICE@example.com"), &[]).await,
        Err(StorageError::Conflict("email"))
    );
    // A second address of a new user colliding with an existing one.
    let mut two = user("u3", "two", "two@example.com");
    two.emails.push(Email { address: "Alice@Example.Com".to_owned(), verified: true });
    assert_eq!(store.insert_user(&two, &[]).await, Err(StorageError::Conflict("email")));
    // A failed insert leaves nothing behind.
    assert_eq!(store.count_users().await, Ok(1));
    assert_eq!(store.user_by_email("two@example.com").await, Ok(None));
    assert_eq!(store.user_by_username("two").await, Ok(None));
    // Several addresses of one user are all findable.
    let mut multi = user("u4", "multi", "first@example.com");
    multi.emails.push(Email { address: "second@example.com".to_owned(), verified: true });
    store.insert_user(&multi, &[]).await.expect("insert multi");
    assert_eq!(store.user_by_email("SECOND@example.com").await, Ok(Some(multi)));
}

pub async fn users_delete_cascades(store: &dyn Store) {
    let w = World::new(store).await;
    store.insert_login_token(&w.bob.id, "hash-1", Timestamp(5)).await.expect("token");
    let posted = w.post(store, "m1", &w.bob).await;
    assert_eq!(room_of(store, ROOM).await.users_count, 3);

    assert_eq!(store.delete_user(&w.bob.id).await, Ok(true));
    assert_eq!(store.delete_user(&w.bob.id).await, Ok(false), "second delete finds nobody");
    assert_eq!(store.user_by_id(&w.bob.id).await, Ok(None));
    assert_eq!(store.user_by_username("bob").await, Ok(None));
    assert_eq!(store.user_by_email("bob@example.com").await, Ok(None));
    assert_eq!(store.user_by_login_token(&w.bob.id, "hash-1").await, Ok(None));
    assert_eq!(store.subscription(ROOM, &w.bob.id).await, Ok(None));
    assert_eq!(room_of(store, ROOM).await.users_count, 2);
    let members = store.room_members(ROOM, 0, 10).await.expect("members");
    assert_eq!(ids(&members.items, |u| &u.id), vec![w.alice.id.clone(), w.carol.id.clone()]);
    // Their messages stay.
    assert_eq!(store.message_room("m1").await, Ok(Some(posted.rid.clone())));
    assert_eq!(store.message_by_id("m1").await, Ok(Some(posted)));
    // The username and address are free again.
    store.insert_user(&user("u-bob-2", "Bob", "BOB@example.com"), &[]).await.expect("reuse name and email");
}

pub async fn users_active_status_ends_sessions_and_keeps_an_admin(store: &dyn Store) {
    let w = World::new(store).await;
    let mut root = user("u-root", "root", "root@example.com");
    root.roles = vec!["admin".to_owned(), "user".to_owned()];
    store.insert_user(&root, &[]).await.expect("root");
    store.insert_login_token(&w.bob.id, "hash-1", Timestamp(5)).await.expect("token");
    store.insert_login_token(&w.bob.id, "hash-2", Timestamp(6)).await.expect("token");
    store.insert_login_token(&w.alice.id, "hash-a", Timestamp(7)).await.expect("token");

    let off = store.set_user_active(&w.bob.id, false).await.expect("deactivate").expect("bob");
    assert!(!off.active);
    assert!(off.updated_at > w.bob.updated_at, "stamped");
    assert_eq!(store.user_by_id(&w.bob.id).await, Ok(Some(off.clone())));
    // Every session of the user ends; nobody else's.
    assert_eq!(store.user_by_login_token(&w.bob.id, "hash-1").await, Ok(None));
    assert_eq!(store.user_by_token_hash("hash-2").await, Ok(None));
    assert!(store.user_by_login_token(&w.alice.id, "hash-a").await.expect("alice").is_some());
    // Setting what is already so changes nothing.
    assert_eq!(store.set_user_active(&w.bob.id, false).await, Ok(Some(off.clone())));
    // Membership stays.
    assert!(store.subscription(ROOM, &w.bob.id).await.expect("sub").is_some());
    let on = store.set_user_active(&w.bob.id, true).await.expect("activate").expect("bob");
    assert!(on.active && on.updated_at > off.updated_at);
    assert_eq!(store.user_by_login_token(&w.bob.id, "hash-1").await, Ok(None), "tokens do not come back");

    // The only active admin stays active; with a second one, either may go,
    // but not both.
    assert_eq!(store.set_user_active("u-root", false).await, Err(StorageError::Invalid("last_active_admin")));
    assert!(store.user_by_id("u-root").await.expect("root").expect("root").active);
    let mut second = user("u-root2", "root2", "root2@example.com");
    second.roles = vec!["admin".to_owned()];
    store.insert_user(&second, &[]).await.expect("second admin");
    let (a, b) =
        tokio::join!(store.set_user_active("u-root", false), store.set_user_active("u-root2", false));
    let refused = [&a, &b].iter().filter(|r| ***r == Err(StorageError::Invalid("last_active_admin"))).count();
    assert_eq!(refused, 1, "{a:?} {b:?}");
    assert_eq!(store.set_user_active("nobody", false).await, Ok(None));
}

pub async fn users_profile_updates(store: &dyn Store) {
    let w = World::new(store).await;
    store.insert_login_token(&w.bob.id, "hash-1", Timestamp(5)).await.expect("token");
    let logged_in = User { last_login: Some(Timestamp(5)), ..w.bob.clone() };
    // An empty patch changes nothing, not even the stamp.
    assert_eq!(store.update_user(&w.bob.id, &UserPatch::default()).await, Ok(Some(logged_in)));

    let patch = UserPatch {
        name: Some("Robert".into()),
        email: Some(Email { address: "Robert@Example.com".into(), verified: true }),
        password_hash: Some("new-hash".into()),
        roles: Some(vec!["user".into(), "bot".into()]),
        status: Some("busy".into()),
        status_text: Some("in a meeting".into()),
        active: None,
        role: None,
        username: None,
    };
    let bob = store.update_user(&w.bob.id, &patch).await.expect("update").expect("bob");
    assert_eq!(
        (bob.name.as_str(), bob.emails.clone(), bob.password_hash.as_deref(), bob.roles.clone()),
        (
            "Robert",
            vec![Email { address: "Robert@Example.com".into(), verified: true }],
            Some("new-hash"),
            vec!["user".to_owned(), "bot".to_owned()]
        )
    );
    assert_eq!((bob.status.as_str(), bob.status_text.as_str()), ("busy", "in a meeting"));
    assert!(bob.updated_at > w.bob.updated_at, "stamped");
    assert_eq!(store.user_by_id(&w.bob.id).await, Ok(Some(bob.clone())), "as stored");
    // The new address finds the user (any case); the old one is free.
    assert_eq!(
        store.user_by_email("robert@example.COM").await.expect("by email").map(|u| u.id),
        Some(w.bob.id.clone())
    );
    assert_eq!(store.user_by_email("bob@example.com").await, Ok(None));
    store.insert_user(&user("u-new", "newbie", "bob@example.com"), &[]).await.expect("old address reused");
    // Sessions stay across a profile change.
    assert!(store.user_by_login_token(&w.bob.id, "hash-1").await.expect("token").is_some());

    // Another user's address is refused, whatever its case, and nothing of
    // the patch is written.
    let taken = UserPatch {
        name: Some("Not written".into()),
        email: Some(Email { address: "ALICE@example.com".into(), verified: false }),
        ..UserPatch::default()
    };
    assert_eq!(store.update_user(&w.bob.id, &taken).await, Err(StorageError::Conflict("email")));
    assert_eq!(store.user_by_id(&w.bob.id).await, Ok(Some(bob.clone())));
    // The user's own address, in another case, is not a conflict.
    let recase = UserPatch {
        email: Some(Email { address: "robert@example.com".into(), verified: false }),
        ..UserPatch::default()
    };
    let again = store.update_user(&w.bob.id, &recase).await.expect("recase").expect("bob");
    assert_eq!(again.emails[0].address, "robert@example.com");

    // Deactivating through a patch ends the user's sessions.
    let off = UserPatch { active: Some(false), ..UserPatch::default() };
    assert!(!store.update_user(&w.bob.id, &off).await.expect("off").expect("bob").active);
    assert_eq!(store.user_by_login_token(&w.bob.id, "hash-1").await, Ok(None));
    assert_eq!(store.update_user("nobody", &off).await, Ok(None));

    // One role granted or taken, on the roles read in the transaction:
    // concurrent grants of different roles both stay.
    let grant =
        |role: &str, on: bool| UserPatch { role: Some((role.to_owned(), on)), ..UserPatch::default() };
    let (bot, guest) = (grant("bot", true), grant("guest", true));
    let (a, b) = tokio::join!(store.update_user(&w.carol.id, &bot), store.update_user(&w.carol.id, &guest));
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    let carol = store.user_by_id(&w.carol.id).await.expect("read").expect("carol");
    assert!(
        carol.roles.contains(&"bot".to_owned()) && carol.roles.contains(&"guest".to_owned()),
        "{carol:?}"
    );
    let again = store.update_user(&w.carol.id, &grant("bot", true)).await.expect("again").expect("carol");
    assert_eq!(again.roles.iter().filter(|r| *r == "bot").count(), 1, "granted once");
    let taken = store.update_user(&w.carol.id, &grant("bot", false)).await.expect("take").expect("carol");
    assert!(!taken.roles.contains(&"bot".to_owned()) && taken.roles.contains(&"guest".to_owned()));
}

pub async fn users_profile_keeps_an_admin(store: &dyn Store) {
    let mut root = user("u-root", "root", "root@example.com");
    root.roles = vec!["admin".to_owned(), "user".to_owned()];
    store.insert_user(&root, &[]).await.expect("root");
    let demote = UserPatch { roles: Some(vec!["user".into()]), ..UserPatch::default() };
    let deactivate = UserPatch { active: Some(false), ..UserPatch::default() };
    assert_eq!(store.update_user("u-root", &demote).await, Err(StorageError::Invalid("last_active_admin")));
    let take_admin = UserPatch { role: Some(("admin".into(), false)), ..UserPatch::default() };
    assert_eq!(
        store.update_user("u-root", &take_admin).await,
        Err(StorageError::Invalid("last_active_admin"))
    );
    assert_eq!(
        store.update_user("u-root", &deactivate).await,
        Err(StorageError::Invalid("last_active_admin"))
    );
    // Other changes to the only admin are fine.
    let renamed = UserPatch { name: Some("Root".into()), ..UserPatch::default() };
    assert!(store.update_user("u-root", &renamed).await.expect("rename").is_some());
    // With two admins demoting each other at once, one stays.
    let mut second = user("u-root2", "root2", "root2@example.com");
    second.roles = vec!["admin".to_owned()];
    store.insert_user(&second, &[]).await.expect("second admin");
    let (a, b) =
        tokio::join!(store.update_user("u-root", &demote), store.update_user("u-root2", &deactivate));
    let refused =
        [&a, &b].iter().filter(|r| matches!(r, Err(StorageError::Invalid("last_active_admin")))).count();
    assert_eq!(refused, 1, "{a:?} {b:?}");
}

pub async fn users_preferences_merge(store: &dyn Store) {
    let w = World::new(store).await;
    assert_eq!(store.user_preferences(&w.bob.id).await, Ok(Some(Map::new())), "none set");
    let set = |v: serde_json::Value| v.as_object().cloned().expect("object");
    let first =
        store.merge_user_preferences(&w.bob.id, &set(json!({"useEmojis": false, "language": "de"}))).await;
    assert_eq!(first, Ok(Some(set(json!({"useEmojis": false, "language": "de"})))));
    // Keys given replace, the others stay; concurrent merges of different
    // keys both stay.
    let (french, highlights) = (set(json!({"language": "fr"})), set(json!({"highlights": ["deploy"]})));
    let (a, b) = tokio::join!(
        store.merge_user_preferences(&w.bob.id, &french),
        store.merge_user_preferences(&w.bob.id, &highlights),
    );
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    assert_eq!(
        store.user_preferences(&w.bob.id).await,
        Ok(Some(set(json!({"useEmojis": false, "language": "fr", "highlights": ["deploy"]}))))
    );
    // Another user's are their own.
    assert_eq!(store.user_preferences(&w.alice.id).await, Ok(Some(Map::new())));
    assert_eq!(store.user_preferences("nobody").await, Ok(None));
    assert_eq!(store.merge_user_preferences("nobody", &set(json!({"language": "fr"}))).await, Ok(None));
}

pub async fn users_listed_sorted_paged_and_by_email(store: &dyn Store) {
    // Names, creation times and states that order differently by each key.
    let specs = [
        ("u-1", "delta", "Zed", 40, true),
        ("u-2", "Alpha", "yan", 10, false),
        ("u-3", "charlie", "Xu", 30, true),
        ("u-4", "bravo", "Xu", 20, true),
    ];
    for (id, username, name, created, active) in specs {
        let mut u = user(id, username, &format!("{username}@Example.com"));
        u.name = name.to_owned();
        u.created_at = Timestamp(created);
        u.active = active;
        store.insert_user(&u, &[]).await.expect("insert");
    }
    let list = |sort, descending, offset, count| UserListQuery {
        email: None,
        role: None,
        text: None,
        present_only: false,
        updated_since: None,
        except_id: None,
        sort,
        descending,
        offset,
        count,
    };
    let names = |page: &Page<User>| page.items.iter().map(|u| u.id.as_str()).collect::<Vec<_>>().join(",");
    let page = store.list_users(&list(UserSortField::Username, false, 0, 10)).await.expect("by username");
    // Byte order: capitals first.
    assert_eq!((names(&page), page.total), ("u-2,u-4,u-3,u-1".to_owned(), 4));
    let page = store.list_users(&list(UserSortField::Username, true, 1, 2)).await.expect("paged");
    assert_eq!((names(&page), page.total), ("u-3,u-4".to_owned(), 4));
    // Ties (two "Xu") go by id, in the same direction.
    let page = store.list_users(&list(UserSortField::Name, false, 0, 10)).await.expect("by name");
    assert_eq!(names(&page), "u-3,u-4,u-1,u-2");
    let page = store.list_users(&list(UserSortField::Name, true, 0, 10)).await.expect("by name desc");
    assert_eq!(names(&page), "u-2,u-1,u-4,u-3");
    let page = store.list_users(&list(UserSortField::CreatedAt, true, 0, 10)).await.expect("by creation");
    assert_eq!(names(&page), "u-1,u-3,u-4,u-2");
    let page = store.list_users(&list(UserSortField::Active, false, 0, 2)).await.expect("by state");
    assert_eq!((names(&page), page.total), ("u-2,u-1".to_owned(), 4));
    // By address, whatever its case; an unknown one finds nobody.
    let by_email = UserListQuery {
        email: Some("CHARLIE@example.COM".to_owned()),
        ..list(UserSortField::Username, false, 0, 10)
    };
    let page = store.list_users(&by_email).await.expect("by email");
    assert_eq!((names(&page), page.total), ("u-3".to_owned(), 1));
    let nobody = UserListQuery { email: Some("x@y.z".to_owned()), ..by_email };
    assert_eq!(store.list_users(&nobody).await, Ok(Page { items: vec![], total: 0 }));
    assert_eq!(store.list_users(&list(UserSortField::Username, false, 10, 10)).await.map(|p| p.total), Ok(4));

    // By role: a global one (in the user's roles), a room one (in a
    // subscription's roles) in one room or in any.
    let mut boss = user("u-5", "echo", "echo@example.com");
    boss.roles = vec!["admin".to_owned(), "user".to_owned()];
    store.insert_user(&boss, &[]).await.expect("admin");
    let users: Vec<User> = users_by_ids(store, &["u-3", "u-4"]).await;
    let first = channel("R-1", "first");
    let subs: Vec<Subscription> = users.iter().map(|u| subscription(&first, u)).collect();
    store.create_room(&first, &subs).await.expect("first room");
    let second = channel("R-2", "second");
    store.create_room(&second, &[subscription(&second, &users[0])]).await.expect("second room");
    let moderator = ReadChange::Role { role: "moderator".into(), on: true };
    store.set_read_state("R-1", "u-4", moderator.clone()).await.expect("role").expect("sub");
    store.set_read_state("R-2", "u-3", moderator).await.expect("role").expect("sub");
    let by_role = |role| UserListQuery { role: Some(role), ..list(UserSortField::Username, false, 0, 10) };
    let page = store.list_users(&by_role(RoleFilter::Global("admin".to_owned()))).await.expect("admins");
    assert_eq!((names(&page), page.total), ("u-5".to_owned(), 1));
    let page = store.list_users(&by_role(RoleFilter::Global("user".to_owned()))).await.expect("users");
    assert_eq!(page.total, 5, "every user has the user role");
    let in_room = |rid: Option<&str>| {
        by_role(RoleFilter::InRoom { role: "moderator".to_owned(), rid: rid.map(str::to_owned) })
    };
    let page = store.list_users(&in_room(Some("R-1"))).await.expect("moderators of R-1");
    assert_eq!((names(&page), page.total), ("u-4".to_owned(), 1));
    let page = store.list_users(&in_room(None)).await.expect("moderators anywhere");
    assert_eq!((names(&page), page.total), ("u-4,u-3".to_owned(), 2));
    let page = store.list_users(&in_room(Some("nowhere"))).await.expect("no room");
    assert_eq!(page.total, 0);

    // By text in the username or the name, any case, as plain text.
    let by_text = |text: &str| UserListQuery {
        text: Some(text.to_owned()),
        ..list(UserSortField::Username, false, 0, 10)
    };
    let page = store.list_users(&by_text("ALPH")).await.expect("in a username");
    assert_eq!((names(&page), page.total), ("u-2".to_owned(), 1));
    let page = store.list_users(&by_text("xU")).await.expect("in a name");
    assert_eq!((names(&page), page.total), ("u-4,u-3".to_owned(), 2));
    let page = store.list_users(&by_text("e")).await.expect("in either");
    assert_eq!(names(&page), "u-3,u-1,u-5", "charlie, delta, echo");
    assert_eq!(store.list_users(&by_text("%")).await.map(|p| p.total), Ok(0), "not a pattern");

    // Presence (`users.presence`): who is not offline, who changed since a
    // time (a change of the status others see stamps `updated_at`; the
    // users above keep their old stamps), everyone but the caller.
    let in_an_hour = Timestamp(Timestamp::now().millis() + 3_600_000);
    let connect = |id: &str| crate::PresenceChange::Connection {
        id: id.to_owned(),
        instance: "i1".to_owned(),
        status: "online".to_owned(),
        expires_at: in_an_hour,
    };
    let before = store.user_by_id("u-3").await.expect("read").expect("u-3").updated_at;
    let online = store.update_presence("u-3", &connect("c1")).await.expect("presence").expect("u-3");
    assert!(online.updated_at > before, "a status change is a change of the user");
    let present = UserListQuery { present_only: true, ..list(UserSortField::Username, false, 0, 10) };
    let page = store.list_users(&present).await.expect("present");
    assert_eq!((names(&page), page.total), ("u-3".to_owned(), 1));
    let since = |at: Timestamp, except: Option<&str>| UserListQuery {
        updated_since: Some(at),
        except_id: except.map(str::to_owned),
        ..list(UserSortField::Username, false, 0, 10)
    };
    let page = store.list_users(&since(online.updated_at, None)).await.expect("changed since");
    assert_eq!((names(&page), page.total), ("u-3".to_owned(), 1));
    assert_eq!(store.list_users(&since(online.updated_at, Some("u-3"))).await.map(|p| p.total), Ok(0));
    assert_eq!(store.list_users(&since(Timestamp(0), Some("u-3"))).await.map(|p| p.total), Ok(4));
    // A second connection leaves the status as it was: no new stamp.
    let again = store.update_presence("u-3", &connect("c2")).await.expect("presence").expect("u-3");
    assert_eq!(again.updated_at, online.updated_at);
    // Going offline is a change too: listed as changed, no longer present.
    for id in ["c1", "c2"] {
        store
            .update_presence("u-3", &crate::PresenceChange::Closed { id: id.to_owned() })
            .await
            .expect("close");
    }
    let gone = store.user_by_id("u-3").await.expect("read").expect("u-3");
    assert!(gone.updated_at > online.updated_at);
    assert_eq!(store.list_users(&present).await.map(|p| p.total), Ok(0));
    let page = store.list_users(&since(gone.updated_at, None)).await.expect("changed since");
    assert_eq!(names(&page), "u-3");
}

async fn users_by_ids(store: &dyn Store, ids: &[&str]) -> Vec<User> {
    let mut users = Vec::new();
    for id in ids {
        users.push(store.user_by_id(id).await.expect("read").expect("user"));
    }
    users
}

pub async fn login_tokens(store: &dyn Store) {
    let alice = user("u1", "alice", "alice@example.com");
    store.insert_user(&alice, &[]).await.expect("insert");
    store.insert_login_token("u1", "hash-a", Timestamp(10)).await.expect("token a");
    store.insert_login_token("u1", "hash-b", Timestamp(11)).await.expect("token b");
    // The latest token's time is the user's last login.
    let alice = User { last_login: Some(Timestamp(11)), ..alice };
    assert_eq!(store.user_by_login_token("u1", "hash-a").await, Ok(Some(alice.clone())));
    assert_eq!(store.user_by_login_token("u1", "hash-b").await, Ok(Some(alice.clone())));
    assert_eq!(store.user_by_login_token("u1", "wrong").await, Ok(None));
    assert_eq!(store.user_by_login_token("u2", "hash-a").await, Ok(None), "hash of another user");
    assert_eq!(store.user_by_token_hash("hash-b").await, Ok(Some(alice.clone())), "resume by hash alone");
    assert_eq!(store.user_by_token_hash("wrong").await, Ok(None));
    assert_eq!(store.delete_login_token("u1", "hash-a").await, Ok(true));
    assert_eq!(store.delete_login_token("u1", "hash-a").await, Ok(false));
    assert_eq!(store.user_by_login_token("u1", "hash-a").await, Ok(None));
    assert_eq!(store.user_by_login_token("u1", "hash-b").await, Ok(Some(alice)), "other tokens stay");
}

// ---------------------------------------------------------------------------
// Rooms and subscriptions
// ---------------------------------------------------------------------------

pub async fn rooms_create_and_lookup(store: &dyn Store) {
    let alice = user("u1", "alice", "alice@example.com");
    let bob = user("u2", "bob", "bob@example.com");
    store.insert_user(&alice, &[]).await.expect("alice");
    store.insert_user(&bob, &[]).await.expect("bob");
    let general = channel("GENERAL", "General");
    let subs = [subscription(&general, &alice), subscription(&general, &bob)];
    let created = store.create_room(&general, &subs).await.expect("create");
    assert_eq!(created.users_count, 2, "usersCount comes from the subscriptions");
    assert_eq!(created.name.as_deref(), Some("General"));
    assert_eq!(room_of(store, "GENERAL").await, created, "returned room is the stored one");
    assert!(store.subscription("GENERAL", "u1").await.expect("sub").is_some());
    assert!(store.subscription("GENERAL", "u2").await.expect("sub").is_some());

    assert_eq!(store.room_by_name("general").await, Ok(Some(created.clone())));
    assert_eq!(store.room_by_name("GENERAL").await, Ok(Some(created.clone())));
    assert_eq!(store.room_by_name("gen").await, Ok(None));
    assert_eq!(store.room_by_id("nope").await, Ok(None));

    assert_eq!(
        store.create_room(&channel("OTHER", "GENERAL"), &[]).await,
        Err(StorageError::Conflict("room_name")),
        "names are unique case-insensitively"
    );
    assert_eq!(
        store.create_room(&room("OTHER", RoomType::Group, "general"), &[]).await,
        Err(StorageError::Conflict("room_name")),
        "across channels and groups"
    );
    assert_eq!(
        store.create_room(&channel("GENERAL", "another"), &[]).await,
        Err(StorageError::Conflict("id"))
    );
    assert_eq!(store.room_by_id("OTHER").await, Ok(None), "failed creates leave nothing");

    let group = store
        .create_room(
            &room("G1", RoomType::Group, "secret"),
            &[subscription(&room("G1", RoomType::Group, "secret"), &alice)],
        )
        .await
        .expect("group");
    assert_eq!(group.t, RoomType::Group);
    assert_eq!(store.room_by_name("Secret").await, Ok(Some(group)));
}

pub async fn rooms_direct_and_default(store: &dyn Store) {
    let a = user("ua", "a", "a@example.com");
    let b = user("ub", "b", "b@example.com");
    let c = user("uc", "c", "c@example.com");
    for u in [&a, &b, &c] {
        store.insert_user(u, &[]).await.expect("user");
    }
    let ab = direct("DM-ab", &[&b, &a]);
    let dm = store.create_room(&ab, &[subscription(&ab, &a), subscription(&ab, &b)]).await.expect("dm");
    let ac = direct("DM-ac", &[&a, &c]);
    store.create_room(&ac, &[]).await.expect("second dm, no name conflict");

    let uids = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(store.direct_room(&uids(&["ua", "ub"])).await, Ok(Some(dm.clone())));
    assert_eq!(store.direct_room(&uids(&["ub", "ua"])).await, Ok(Some(dm)), "any order");
    assert_eq!(store.direct_room(&uids(&["ua"])).await, Ok(None));
    assert_eq!(store.direct_room(&uids(&["ua", "ub", "uc"])).await, Ok(None), "exactly these");
    assert_eq!(
        store.direct_room(&uids(&["uc", "ua"])).await.expect("dm").map(|r| r.id),
        Some("DM-ac".to_owned())
    );

    assert_eq!(store.default_rooms().await, Ok(vec![]));
    let mut general = channel("GENERAL", "general");
    general.is_default = true;
    let general = store.create_room(&general, &[]).await.expect("general");
    store.create_room(&channel("C2", "other"), &[]).await.expect("c2");
    assert_eq!(store.default_rooms().await, Ok(vec![general]));
}

pub async fn rooms_members_paging(store: &dyn Store) {
    let users = [
        user("u3", "carol", "c@example.com"),
        user("u1", "alice", "a@example.com"),
        user("u2", "bob", "b@example.com"),
        user("u4", "dave", "d@example.com"),
    ];
    for u in &users {
        store.insert_user(u, &[]).await.expect("user");
    }
    let r = channel("R", "r");
    let subs: Vec<Subscription> = users[..3].iter().map(|u| subscription(&r, u)).collect();
    store.create_room(&r, &subs).await.expect("room");

    let all = store.room_members("R", 0, 10).await.expect("members");
    assert_eq!(all.total, 3);
    assert_eq!(ids(&all.items, |u| &u.username), vec!["alice", "bob", "carol"], "ordered by username");
    let page = store.room_members("R", 1, 1).await.expect("page");
    assert_eq!(page.total, 3);
    assert_eq!(ids(&page.items, |u| &u.username), vec!["bob"]);
    let past = store.room_members("R", 5, 10).await.expect("past the end");
    assert_eq!((past.items.len(), past.total), (0, 3));
    let none = store.room_members("nope", 0, 10).await.expect("no room");
    assert_eq!((none.items.len(), none.total), (0, 0));
}

pub async fn rooms_of_user_filters_and_pages(store: &dyn Store) {
    let alice = user("u1", "alice", "a@example.com");
    let bob = user("u2", "bob", "b@example.com");
    store.insert_user(&alice, &[]).await.expect("alice");
    store.insert_user(&bob, &[]).await.expect("bob");
    let rooms = [
        channel("C-beta", "beta"),
        channel("C-alpha", "Alpha"),
        room("P-gamma", RoomType::Group, "gamma"),
        direct("D-ab", &[&alice, &bob]),
    ];
    for r in &rooms {
        store.create_room(r, &[subscription(r, &alice)]).await.expect("room");
    }
    store
        .create_room(&channel("C-other", "other"), &[subscription(&channel("C-other", "other"), &bob)])
        .await
        .expect("room without alice");

    let channels = store.rooms_of_user("u1", &[RoomType::Channel], 0, 10).await.expect("channels");
    assert_eq!(channels.total, 2);
    assert_eq!(ids(&channels.items, |r| &r.id), vec!["C-alpha", "C-beta"], "ordered by name");

    let named = store.rooms_of_user("u1", &[RoomType::Channel, RoomType::Group], 0, 10).await.expect("named");
    assert_eq!(ids(&named.items, |r| &r.id), vec!["C-alpha", "C-beta", "P-gamma"]);
    let page = store.rooms_of_user("u1", &[RoomType::Group, RoomType::Channel], 1, 1).await.expect("page");
    assert_eq!(page.total, 3);
    assert_eq!(ids(&page.items, |r| &r.id), vec!["C-beta"]);

    let dms = store.rooms_of_user("u1", &[RoomType::Direct], 0, 10).await.expect("dms");
    assert_eq!(ids(&dms.items, |r| &r.id), vec!["D-ab"]);
    let bobs = store
        .rooms_of_user("u2", &[RoomType::Channel, RoomType::Group, RoomType::Direct], 0, 10)
        .await
        .expect("bob");
    assert_eq!(ids(&bobs.items, |r| &r.id), vec!["C-other"], "bob has no subscription to the DM");
}

/// Every room of some types, members or not, filtered by a plain text in
/// the name (case-insensitive, `%` and `_` not patterns), paged with the total.
pub async fn rooms_listed_by_type_and_name(store: &dyn Store) {
    let alice = user("u1", "alice", "a@example.com");
    let bob = user("u2", "bob", "b@example.com");
    store.insert_user(&alice, &[]).await.expect("alice");
    store.insert_user(&bob, &[]).await.expect("bob");
    let rooms = [
        channel("C-beta", "beta"),
        channel("C-alpha", "Alpha"),
        channel("C-pct", "100_percent"),
        room("P-gamma", RoomType::Group, "gamma"),
        room("P-alps", RoomType::Group, "ALPS"),
        direct("D-ab", &[&alice, &bob]),
    ];
    for r in &rooms {
        store.create_room(r, &[subscription(r, &alice)]).await.expect("room");
    }
    let list = |types: &[RoomType], name: Option<&str>, offset, count| RoomListQuery {
        types: types.to_vec(),
        name_contains: name.map(str::to_owned),
        offset,
        count,
    };
    let channels = store.list_rooms(&list(&[RoomType::Channel], None, 0, 10)).await.expect("channels");
    assert_eq!(ids(&channels.items, |r| &r.id), vec!["C-pct", "C-alpha", "C-beta"], "by name");
    assert_eq!(channels.total, 3);
    let named = list(&[RoomType::Channel, RoomType::Group], Some("AL"), 0, 10);
    let named = store.list_rooms(&named).await.expect("named");
    assert_eq!(ids(&named.items, |r| &r.id), vec!["C-alpha", "P-alps"]);
    let page =
        store.list_rooms(&list(&[RoomType::Channel, RoomType::Group], None, 1, 2)).await.expect("page");
    assert_eq!(ids(&page.items, |r| &r.id), vec!["C-alpha", "P-alps"]);
    assert_eq!(page.total, 5);
    // Pattern characters are text.
    let pct = store.list_rooms(&list(&[RoomType::Channel], Some("0_p"), 0, 10)).await.expect("pct");
    assert_eq!(ids(&pct.items, |r| &r.id), vec!["C-pct"]);
    let none = store.list_rooms(&list(&[RoomType::Channel], Some("%"), 0, 10)).await.expect("none");
    assert_eq!((none.items.len(), none.total), (0, 0));
    let all = list(&[RoomType::Channel, RoomType::Group, RoomType::Direct], None, 0, 10);
    let all = store.list_rooms(&all).await.expect("all");
    assert_eq!(all.items[0].id, "D-ab", "a DM has no name: first");
    assert_eq!(all.total, 6);
    assert_eq!(store.list_rooms(&list(&[], None, 0, 10)).await.expect("no types").total, 0);
}

/// A join code: stored apart from the room's document (which says only
/// `joinCodeRequired`), replaced, cleared; an unknown room has none; other
/// changes leave it alone.
pub async fn rooms_join_code_kept_apart(store: &dyn Store) {
    let alice = user("u1", "alice", "a@example.com");
    store.insert_user(&alice, &[]).await.expect("alice");
    let vault = channel("C-vault", "vault");
    store.create_room(&vault, &[subscription(&vault, &alice)]).await.expect("vault");
    assert_eq!(store.room_join_code("C-vault").await.expect("read"), None);
    assert_eq!(store.room_join_code("C-none").await.expect("read"), None);

    let set = RoomChange::JoinCode(Some("s3cret".into()));
    let room = store.update_room("C-vault", &set).await.expect("set").expect("room");
    assert!(room.join_code_required);
    let stored = store.room_by_id("C-vault").await.expect("read").expect("room");
    assert!(stored.join_code_required);
    assert!(!serde_json::to_string(&stored).expect("json").contains("s3cret"), "the code is not in the room");
    assert_eq!(store.room_join_code("C-vault").await.expect("read").as_deref(), Some("s3cret"));
    // Another setting keeps the code.
    store.update_room("C-vault", &RoomChange::Topic(Some("t".into()))).await.expect("topic");
    assert_eq!(store.room_join_code("C-vault").await.expect("read").as_deref(), Some("s3cret"));
    let other = RoomChange::JoinCode(Some("other".into()));
    store.update_room("C-vault", &other).await.expect("replace");
    assert_eq!(store.room_join_code("C-vault").await.expect("read").as_deref(), Some("other"));

    let room = store.update_room("C-vault", &RoomChange::JoinCode(None)).await.expect("clear").expect("room");
    assert!(!room.join_code_required);
    assert_eq!(store.room_join_code("C-vault").await.expect("read"), None);
    assert!(store.update_room("C-none", &set).await.expect("no room").is_none());
}

/// `update_room`: settings on the room; name, type and archiving on every
/// member's subscription too; all under one stamp that the roster deltas
/// report; a taken name refused; no room, `None`.
pub async fn rooms_settings_change_room_and_subscriptions(store: &dyn Store) {
    let alice = user("u1", "alice", "a@example.com");
    let bob = user("u2", "bob", "b@example.com");
    store.insert_user(&alice, &[]).await.expect("alice");
    store.insert_user(&bob, &[]).await.expect("bob");
    let town = channel("C-town", "town");
    store.create_room(&town, &[subscription(&town, &alice), subscription(&town, &bob)]).await.expect("town");
    let other = channel("C-other", "other");
    store.create_room(&other, &[subscription(&other, &alice)]).await.expect("other");
    let before = store.room_by_id("C-town").await.expect("read").expect("room");

    let topic = RoomChange::Topic(Some("the topic".into()));
    let room = store.update_room("C-town", &topic).await.expect("topic").expect("room");
    assert_eq!(room.topic.as_deref(), Some("the topic"));
    assert!(room.updated_at > before.updated_at);
    assert_eq!(store.room_by_id("C-town").await.expect("read"), Some(room.clone()));
    // Settings that live on the room only leave subscriptions alone.
    let bobs = store.subscription("C-town", "u2").await.expect("read").expect("bob's");
    assert!(bobs.updated_at < room.updated_at);
    for change in [
        RoomChange::Description(Some("d".into())),
        RoomChange::Announcement(Some("a".into())),
        RoomChange::ReadOnly(true),
        RoomChange::Default(true),
        RoomChange::Topic(None),
        RoomChange::CustomFields(serde_json::json!({"old": 1}).as_object().cloned().unwrap_or_default()),
        RoomChange::CustomFields(
            serde_json::json!({"team": "blue", "n": [1, {"k": null}]})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
    ] {
        store.update_room("C-town", &change).await.expect("change").expect("room");
    }
    let room = store.room_by_id("C-town").await.expect("read").expect("room");
    // Custom fields are stored as given and replaced whole.
    assert_eq!(
        room.custom_fields.clone().map(serde_json::Value::Object),
        Some(serde_json::json!({"team": "blue", "n": [1, {"k": null}]}))
    );
    assert_eq!(
        (
            room.topic.as_deref(),
            room.description.as_deref(),
            room.announcement.as_deref(),
            room.read_only,
            room.is_default
        ),
        (None, Some("d"), Some("a"), true, true)
    );
    assert_eq!(ids(&store.default_rooms().await.expect("defaults"), |r| &r.id), vec!["C-town"]);

    // A name: the room, the lookup by name, every member's subscription.
    let since = room.updated_at;
    let renamed =
        store.update_room("C-town", &RoomChange::Name("Square".into())).await.expect("rename").expect("room");
    assert_eq!((renamed.name.as_deref(), renamed.fname.as_deref()), (Some("Square"), Some("Square")));
    assert_eq!(store.room_by_name("square").await.expect("read").map(|r| r.id), Some("C-town".to_owned()));
    assert_eq!(store.room_by_name("town").await.expect("read"), None);
    for uid in ["u1", "u2"] {
        let s = store.subscription("C-town", uid).await.expect("read").expect("sub");
        assert_eq!(
            (s.name.as_str(), s.fname.as_str(), s.updated_at),
            ("Square", "Square", renamed.updated_at)
        );
    }
    let delta = store.subscriptions_since("u2", Some(since)).await.expect("delta");
    assert_eq!(ids(&delta.updated, |s| &s.rid), vec!["C-town"]);
    let rooms = store.rooms_since("u2", Some(since)).await.expect("rooms delta");
    assert_eq!(ids(&rooms.updated, |r| &r.id), vec!["C-town"]);
    // Taken by another room (whatever the case); one's own name is fine.
    assert_eq!(
        store.update_room("C-town", &RoomChange::Name("OTHER".into())).await,
        Err(StorageError::Conflict("room_name"))
    );
    store.update_room("C-town", &RoomChange::Name("square".into())).await.expect("same name").expect("room");

    // Type and archiving show in subscriptions too; archiving closes them,
    // unarchiving opens them.
    let group =
        store.update_room("C-town", &RoomChange::Type(RoomType::Group)).await.expect("type").expect("room");
    assert_eq!(group.t, RoomType::Group);
    assert_eq!(store.room_type("C-town").await.expect("read"), Some(RoomType::Group));
    assert_eq!(store.subscription("C-town", "u1").await.expect("read").expect("sub").t, RoomType::Group);
    store.update_room("C-town", &RoomChange::Archived(true)).await.expect("archive").expect("room");
    let s = store.subscription("C-town", "u2").await.expect("read").expect("sub");
    assert!(s.archived && !s.open);
    assert!(store.room_by_id("C-town").await.expect("read").expect("room").archived);
    store.update_room("C-town", &RoomChange::Archived(false)).await.expect("unarchive").expect("room");
    let s = store.subscription("C-town", "u2").await.expect("read").expect("sub");
    assert!(!s.archived && s.open, "unarchiving opens the room again, as Rocket.Chat's unarchiveByRoomId");
    assert!(!s.alert);
    // The other room is untouched; no room is `None`.
    assert_eq!(
        store.room_by_id("C-other").await.expect("read").expect("room").name.as_deref(),
        Some("other")
    );
    assert_eq!(store.update_room("nope", &RoomChange::ReadOnly(true)).await, Ok(None));

    // Role holders: members with a room role, by username.
    assert!(store.room_role_holders("C-town").await.expect("none yet").is_empty());
    store
        .set_read_state("C-town", "u2", ReadChange::Role { role: "moderator".into(), on: true })
        .await
        .expect("mod");
    store
        .set_read_state("C-town", "u1", ReadChange::Role { role: "owner".into(), on: true })
        .await
        .expect("owner");
    let holders = store.room_role_holders("C-town").await.expect("holders");
    assert_eq!(ids(&holders, |s| &s.u.username), vec!["alice", "bob"]);
    assert_eq!(holders[1].roles, vec!["moderator".to_owned()]);
    store
        .set_read_state("C-town", "u2", ReadChange::Role { role: "moderator".into(), on: false })
        .await
        .expect("unmod");
    assert_eq!(
        ids(&store.room_role_holders("C-town").await.expect("holders"), |s| &s.u.username),
        vec!["alice"]
    );
    assert!(store.room_role_holders("nope").await.expect("no room").is_empty());
}

pub async fn roster_changes_and_tombstones(store: &dyn Store) {
    let w = World::new(store).await;
    let other = channel("OTHER", "other");
    let other = store
        .create_room(&other, &[subscription(&other, &w.alice), subscription(&other, &w.bob)])
        .await
        .expect("other room");
    let ids = |subs: &[Subscription]| subs.iter().map(|s| s.id.clone()).collect::<Vec<_>>();

    // Without a stamp: everything, no removals.
    let all = store.subscriptions_since(&w.alice.id, None).await.expect("subscriptions");
    assert_eq!(ids(&all.updated).len(), 2);
    assert!(all.removed.is_empty());
    let rooms = store.rooms_since(&w.alice.id, None).await.expect("rooms");
    let mut room_ids: Vec<_> = rooms.updated.iter().map(|r| r.id.clone()).collect();
    room_ids.sort();
    assert_eq!(room_ids, vec!["OTHER".to_owned(), ROOM.to_owned()]);

    // After the greatest stamp seen, nothing; then a leave is a removal
    // stamped after it, and the room's new usersCount an update.
    let seen = all.updated.iter().map(|s| s.updated_at).max().expect("stamp");
    let seen = seen.max(rooms.updated.iter().map(|r| r.updated_at).max().expect("stamp"));
    // Room clocks order one room's writes, not two rooms': OTHER's clock
    // may have run a few ticks ahead of the wall clock (several stamps in
    // one millisecond), so ROOM's next tick could fall at or below `seen`.
    // The service answers with a settled point for that reason
    // (service/src/roster.rs); here, wait until the wall clock has passed
    // `seen`, after which every tick of every room is above it.
    while Timestamp::now() <= seen {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert_eq!(store.subscriptions_since(&w.alice.id, Some(seen)).await.map(|c| c.updated.len()), Ok(0));
    assert_eq!(store.remove_subscription(ROOM, &w.alice.id, false).await, Ok(true));
    let delta = store.subscriptions_since(&w.alice.id, Some(seen)).await.expect("delta");
    assert!(delta.updated.is_empty(), "{delta:?}");
    assert_eq!(delta.removed.len(), 1);
    let left = &delta.removed[0];
    assert_eq!((left.id.as_str(), left.rid.as_str(), left.room_deleted), ("ROOM-u-alice", ROOM, false));
    assert!(left.deleted_at > seen);
    // Leaving is not a room removal, and the room is no longer the user's.
    let rooms = store.rooms_since(&w.alice.id, Some(seen)).await.expect("rooms delta");
    assert!(rooms.removed.is_empty() && rooms.updated.is_empty(), "{rooms:?}");
    // Bob still has the room, changed (usersCount) after `seen`.
    let bobs = store.rooms_since(&w.bob.id, Some(seen)).await.expect("bob's rooms");
    assert_eq!(
        bobs.updated.iter().map(|r| (r.id.as_str(), r.users_count)).collect::<Vec<_>>(),
        vec![(ROOM, 2)]
    );

    // Deleting a room removes every member's subscription and the room.
    // (Stamps are ordered within a room, not across rooms: the delta starts
    // from one of OTHER's own stamps.)
    let before = other.updated_at;
    assert_eq!(store.delete_room(&other.id).await, Ok(true));
    let delta = store.subscriptions_since(&w.bob.id, Some(before)).await.expect("bob's delta");
    assert_eq!(
        delta.removed.iter().map(|t| (t.rid.as_str(), t.room_deleted)).collect::<Vec<_>>(),
        vec![("OTHER", true)]
    );
    let rooms = store.rooms_since(&w.alice.id, Some(before)).await.expect("alice's rooms");
    assert_eq!(rooms.removed.iter().map(|t| t.rid.as_str()).collect::<Vec<_>>(), vec!["OTHER"]);
    // Removals are idempotent: the same delta twice.
    assert_eq!(store.rooms_since(&w.alice.id, Some(before)).await, Ok(rooms.clone()));
    // Pruning drops them with the message tombstones.
    store.prune_tombstones(Timestamp(i64::MAX)).await.expect("prune");
    assert_eq!(store.subscriptions_since(&w.bob.id, Some(Timestamp(0))).await.map(|c| c.removed), Ok(vec![]));
}

pub async fn messages_reactions_stamp_like_edits(store: &dyn Store) {
    let w = World::new(store).await;
    let m = w.post(store, "m1", &w.alice).await;
    let reacted = store.set_reaction("m1", ":smile:", "bob", None).await.expect("react").expect("changed");
    assert_eq!(reacted.extra.get("reactions"), Some(&json!({":smile:": {"usernames": ["bob"]}})));
    assert!(reacted.updated_at > m.updated_at);
    assert_eq!(reacted.msg, m.msg);
    assert_eq!(store.message_by_id("m1").await.expect("read"), Some(reacted.clone()));
    // Forcing what is already so stamps nothing.
    assert_eq!(store.set_reaction("m1", ":smile:", "bob", Some(true)).await, Ok(None));
    assert_eq!(
        store.message_by_id("m1").await.expect("read").map(|m| m.updated_at),
        Some(reacted.updated_at)
    );
    // A reaction is a change the room's feed reports.
    let changes = store
        .changes_since(ChangeScope::Room(ROOM), m.updated_at, &Filter::True, 0, 10)
        .await
        .expect("changes");
    assert_eq!(changes.updated.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), vec!["m1"]);
    let removed = store.set_reaction("m1", ":smile:", "bob", None).await.expect("unreact").expect("changed");
    assert!(!removed.extra.contains_key("reactions"));
    assert!(removed.updated_at > reacted.updated_at);
    assert_eq!(
        store.set_reaction("nope", ":smile:", "bob", None).await,
        Err(StorageError::NotFound("message"))
    );
}

pub async fn read_state_read_and_unread(store: &dyn Store) {
    let w = World::new(store).await;
    let mut sub = store.subscription(ROOM, &w.bob.id).await.expect("read").expect("bob's");
    sub.unread = 3;
    sub.alert = true;
    sub.user_mentions = 1;
    sub.tunread = vec!["t1".to_owned()];
    // Give bob unread state through the one writer that sets it in tests: a
    // removal and a re-add of the subscription document.
    store.remove_subscription(ROOM, &w.bob.id, false).await.expect("remove");
    store.add_subscription(&sub).await.expect("re-add");
    let before = store.subscription(ROOM, &w.bob.id).await.expect("read").expect("bob's");

    let read = store
        .set_read_state(ROOM, &w.bob.id, ReadChange::Read { threads: false })
        .await
        .expect("read")
        .expect("subscribed");
    assert_eq!((read.unread, read.alert, read.user_mentions), (0, false, 0));
    assert_eq!(read.tunread, vec!["t1".to_owned()], "threads stay without readThreads");
    assert!(read.updated_at > before.updated_at);
    assert_eq!(read.ls, Some(read.updated_at));
    let read = store
        .set_read_state(ROOM, &w.bob.id, ReadChange::Read { threads: true })
        .await
        .expect("read")
        .expect("subscribed");
    assert!(read.tunread.is_empty());
    assert_eq!(store.subscription(ROOM, &w.bob.id).await.expect("read"), Some(read.clone()));

    let m = w.post(store, "m1", &w.alice).await;
    let unread = store
        .set_read_state(ROOM, &w.bob.id, ReadChange::Unread { from: m.ts })
        .await
        .expect("unread")
        .expect("subscribed");
    assert_eq!((unread.alert, unread.open, unread.ls), (true, true, Some(Timestamp(m.ts.millis() - 1))));
    assert!(unread.updated_at > read.updated_at);
    // A favourite is the member's own mark, stamped like any change (the
    // roster delta reports it) and kept through the other changes.
    let favorite = store
        .set_read_state(ROOM, &w.bob.id, ReadChange::Favorite { on: true })
        .await
        .expect("favorite")
        .expect("subscribed");
    assert!(favorite.f && favorite.updated_at > unread.updated_at);
    let read = store
        .set_read_state(ROOM, &w.bob.id, ReadChange::Read { threads: true })
        .await
        .expect("read")
        .expect("subscribed");
    assert!(read.f, "reading keeps the favourite");
    let plain = store
        .set_read_state(ROOM, &w.bob.id, ReadChange::Favorite { on: false })
        .await
        .expect("unfavorite")
        .expect("subscribed");
    assert!(!plain.f);
    assert_eq!(store.subscription(ROOM, &w.bob.id).await.expect("read"), Some(plain.clone()));
    // Closing hides the room from the member's list (stamped, so the
    // roster delta reports it); opening shows it again.
    let closed = store
        .set_read_state(ROOM, &w.bob.id, ReadChange::Open { on: false })
        .await
        .expect("close")
        .expect("subscribed");
    assert!(!closed.open && closed.updated_at > plain.updated_at);
    assert_eq!(store.subscription(ROOM, &w.bob.id).await.expect("read"), Some(closed.clone()));
    let reopened = store
        .set_read_state(ROOM, &w.bob.id, ReadChange::Open { on: true })
        .await
        .expect("open")
        .expect("subscribed");
    assert!(reopened.open && reopened.updated_at > closed.updated_at);
    let plain = reopened;
    // Ignoring a member: a set of ids on one's own subscription.
    let ignore = |on| ReadChange::Ignore { user_id: w.alice.id.clone(), on };
    store.set_read_state(ROOM, &w.bob.id, ignore(true)).await.expect("ignore").expect("subscribed");
    let twice =
        store.set_read_state(ROOM, &w.bob.id, ignore(true)).await.expect("again").expect("subscribed");
    assert_eq!(twice.ignored, vec![w.alice.id.clone()]);
    assert!(twice.updated_at > plain.updated_at);
    let none = store.set_read_state(ROOM, &w.bob.id, ignore(false)).await.expect("stop").expect("subscribed");
    assert!(none.ignored.is_empty());
    assert!(!store.subscription(ROOM, &w.alice.id).await.expect("read").expect("alice's").f, "only bob's");
    assert_eq!(store.set_read_state(ROOM, &w.dave.id, ReadChange::Read { threads: true }).await, Ok(None));
    // A room that does not exist has no subscription either: `None`, not
    // an error (found by the HTTP fuzzer: PostgreSQL answered 500).
    let read = ReadChange::Read { threads: true };
    assert_eq!(store.set_read_state("no-such-room", &w.bob.id, read).await, Ok(None));
    assert_eq!(store.mark_thread_read("no-such-room", &w.bob.id, "t1").await, Ok(None));
}

/// Room roles through `set_read_state`: given once (giving twice changes
/// nothing but the stamp), taken away, stamped by the room clock; the
/// room's only owner cannot lose the role.
/// A new message's counters ([`MemberCounters`]) reach exactly the
/// subscriptions the rule changes, stamped with the message's tick, in the
/// message's transaction; a reply shown in the room counts both in the
/// followers' `tunread` and in the counters.
pub async fn messages_count_for_members(store: &dyn Store) {
    let w = World::new(store).await;
    let sub = |u: &User| {
        let id = u.id.clone();
        async move { store.subscription(ROOM, &id).await.expect("read").expect("member") }
    };
    let counted = |id: &str, author: &User, counters: MemberCounters| NewMessage {
        message: message(id, ROOM, author, "text"),
        reply: None,
        join: None,
        counters: Some(counters),
    };
    let (alice0, bob0, carol0) = (sub(&w.alice).await, sub(&w.bob).await, sub(&w.carol).await);

    // Alice mentions bob: bob counts a mention and an unread, carol is alerted.
    let mention =
        MemberCounters { mentioned: vec![w.bob.id.clone()], mentioned_unread: 1, ..Default::default() };
    let m1 = store.insert_message(counted("m1", &w.alice, mention.clone())).await.expect("m1");
    let (mut alice1, mut bob1, mut carol1) = (alice0.clone(), bob0.clone(), carol0.clone());
    MemberCounters::sender(&mut alice1, m1.ts);
    assert!(mention.apply(&mut bob1, m1.ts) && mention.apply(&mut carol1, m1.ts));
    assert_eq!((sub(&w.alice).await, sub(&w.bob).await, sub(&w.carol).await), (alice1, bob1, carol1));
    let bob = sub(&w.bob).await;
    assert_eq!((bob.unread, bob.user_mentions, bob.group_mentions, bob.alert), (1, 1, 0, true));
    assert_eq!(sub(&w.carol).await.unread, 0);

    // Bob writes to @all: everyone else counts a group mention and an unread.
    let group = MemberCounters { others_unread: 1, others_group: 1, ..Default::default() };
    let (alice1, carol1) = (sub(&w.alice).await, sub(&w.carol).await);
    let m2 = store.insert_message(counted("m2", &w.bob, group.clone())).await.expect("m2");
    let (mut alice2, mut carol2) = (alice1.clone(), carol1.clone());
    assert!(group.apply(&mut alice2, m2.ts) && group.apply(&mut carol2, m2.ts));
    assert_eq!((sub(&w.alice).await, sub(&w.carol).await), (alice2.clone(), carol2.clone()));
    let bob2 = sub(&w.bob).await;
    assert_eq!(
        (bob2.unread, bob2.user_mentions, bob2.alert, bob2.ls),
        (0, 0, false, Some(m2.ts)),
        "the sender read it"
    );
    assert_eq!((carol2.unread, carol2.group_mentions), (1, 1));

    // A plain message to members already alerted changes nobody's subscription.
    let plain = MemberCounters::default();
    let m3 = store.insert_message(counted("m3", &w.bob, plain)).await.expect("m3");
    assert_eq!((sub(&w.alice).await, sub(&w.carol).await), (alice2, carol2.clone()));
    assert_eq!(sub(&w.bob).await.ls, Some(m3.ts));

    // A reply shown in the room: alice (following) gets the thread unread
    // and the counters; carol the counters only.
    let parent = store.insert_message(plain_of("p", &w.alice)).await.expect("parent");
    let (alice3, carol3) = (sub(&w.alice).await, sub(&w.carol).await);
    let all = MemberCounters { others_unread: 1, ..Default::default() };
    let mut shown = reply(message("r", ROOM, &w.bob, "shown"), &parent.id, &[&w.alice, &w.bob]);
    shown.message.tshow = Some(true);
    shown.counters = Some(all.clone());
    let r = store.insert_message(shown).await.expect("reply");
    let parent = store.message_by_id(&parent.id).await.expect("read").expect("parent");
    let (mut alice4, mut carol4) = (alice3.clone(), carol3.clone());
    assert!(all.apply(&mut alice4, r.ts) && all.apply(&mut carol4, r.ts));
    alice4.tunread.push(parent.id.clone());
    alice4.updated_at = parent.updated_at;
    assert_eq!((sub(&w.alice).await, sub(&w.carol).await), (alice4, carol4));
    // Dave is no member: no subscription appeared.
    assert_eq!(store.subscription(ROOM, &w.dave.id).await.expect("read"), None);
}

fn plain_of(id: &str, author: &User) -> NewMessage {
    plain(message(id, ROOM, author, "text"))
}

pub async fn room_roles_given_and_taken_keep_an_owner(store: &dyn Store) {
    let w = World::new(store).await;
    let role = |role: &str, on| ReadChange::Role { role: role.to_owned(), on };
    let before = store.subscription(ROOM, &w.alice.id).await.expect("read").expect("alice's");
    let alice =
        store.set_read_state(ROOM, &w.alice.id, role("owner", true)).await.expect("give").expect("sub");
    assert_eq!(alice.roles, vec!["owner".to_owned()]);
    assert!(alice.updated_at > before.updated_at);
    let again =
        store.set_read_state(ROOM, &w.alice.id, role("owner", true)).await.expect("again").expect("sub");
    assert_eq!(again.roles, vec!["owner".to_owned()]);
    // The only owner keeps the role.
    assert_eq!(
        store.set_read_state(ROOM, &w.alice.id, role("owner", false)).await,
        Err(StorageError::Invalid("last owner"))
    );
    assert_eq!(store.subscription(ROOM, &w.alice.id).await.expect("read").expect("sub").roles, vec!["owner"]);
    // With a second owner, the first may step down.
    store.set_read_state(ROOM, &w.bob.id, role("owner", true)).await.expect("bob").expect("sub");
    store.set_read_state(ROOM, &w.bob.id, role("moderator", true)).await.expect("mod").expect("sub");
    let alice =
        store.set_read_state(ROOM, &w.alice.id, role("owner", false)).await.expect("demote").expect("sub");
    assert!(alice.roles.is_empty());
    let bob = store.subscription(ROOM, &w.bob.id).await.expect("read").expect("bob's");
    assert_eq!(bob.roles, vec!["owner".to_owned(), "moderator".to_owned()]);
    let bob =
        store.set_read_state(ROOM, &w.bob.id, role("moderator", false)).await.expect("unmod").expect("sub");
    assert_eq!(bob.roles, vec!["owner".to_owned()]);
    // Taking a role nobody has from a non-owner is no "last owner" case.
    store.set_read_state(ROOM, &w.carol.id, role("owner", false)).await.expect("carol").expect("sub");
    assert_eq!(store.set_read_state(ROOM, &w.dave.id, role("owner", true)).await, Ok(None));
}

pub async fn messages_stars_and_pins(store: &dyn Store) {
    let w = World::new(store).await;
    let m = w.post(store, "m1", &w.alice).await;
    w.post(store, "m2", &w.alice).await;
    let star = |user: &User, on| MessageMark::Star { user_id: user.id.clone(), on };
    let starred = store.set_mark("m1", star(&w.bob, true)).await.expect("star").expect("changed");
    assert_eq!(starred.extra.get("starred"), Some(&json!([{"_id": w.bob.id}])));
    assert!(starred.updated_at > m.updated_at);
    assert_eq!(store.set_mark("m1", star(&w.bob, true)).await, Ok(None));
    store.set_mark("m1", star(&w.carol, true)).await.expect("star").expect("changed");
    // Queryable: the messages a user starred, and the pinned ones.
    let bobs = Filter::parse(Some(&json!({"starred._id": w.bob.id}).to_string())).expect("filter");
    let page = store.room_messages(ROOM, &bobs, &Sort::default(), 0, 10).await.expect("starred");
    assert_eq!(page.items.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), vec!["m1"]);
    store.set_mark("m1", star(&w.bob, false)).await.expect("unstar").expect("changed");
    assert_eq!(store.room_messages(ROOM, &bobs, &Sort::default(), 0, 10).await.map(|p| p.total), Ok(0));

    let pin = |on| MessageMark::Pin { by: user_ref(&w.carol), on };
    let pinned = store.set_mark("m2", pin(true)).await.expect("pin").expect("changed");
    assert_eq!(pinned.extra.get("pinned"), Some(&json!(true)));
    assert_eq!(pinned.extra.get("pinnedBy"), Some(&json!({"_id": w.carol.id, "username": "carol"})));
    assert_eq!(pinned.extra.get("pinnedAt"), Some(&json!(pinned.updated_at)));
    let pins = Filter::parse(Some(r#"{"pinned": true}"#)).expect("filter");
    assert_eq!(store.room_messages(ROOM, &pins, &Sort::default(), 0, 10).await.map(|p| p.total), Ok(1));
    let unpinned = store.set_mark("m2", pin(false)).await.expect("unpin").expect("changed");
    assert_eq!(unpinned.extra.get("pinned"), Some(&json!(false)));
    assert!(!unpinned.extra.contains_key("pinnedBy"));
    assert_eq!(store.set_mark("m2", pin(false)).await, Ok(None));
    assert_eq!(store.set_mark("nope", pin(true)).await, Err(StorageError::NotFound("message")));
}

pub async fn subscriptions_add_and_remove(store: &dyn Store) {
    let w = World::new(store).await;
    assert_eq!(w.room.users_count, 3);
    let dave_sub = subscription(&w.room, &w.dave);
    assert_eq!(store.add_subscription(&dave_sub).await, Ok(true));
    assert_eq!(store.add_subscription(&dave_sub).await, Ok(false), "already subscribed");
    assert_eq!(room_of(store, ROOM).await.users_count, 4);
    let stored = store.subscription(ROOM, &w.dave.id).await.expect("subscription").expect("exists");
    assert_eq!((stored.id.as_str(), stored.u.id.as_str()), (dave_sub.id.as_str(), w.dave.id.as_str()));

    let mut elsewhere = dave_sub.clone();
    elsewhere.rid = "nope".to_owned();
    elsewhere.id = "other-id".to_owned();
    assert_eq!(store.add_subscription(&elsewhere).await, Err(StorageError::NotFound("room")));

    assert_eq!(store.remove_subscription(ROOM, &w.dave.id, false).await, Ok(true));
    assert_eq!(store.remove_subscription(ROOM, &w.dave.id, false).await, Ok(false), "not subscribed");
    assert_eq!(store.subscription(ROOM, &w.dave.id).await, Ok(None));
    assert_eq!(room_of(store, ROOM).await.users_count, 3);
    assert_eq!(store.remove_subscription("nope", &w.dave.id, true).await, Ok(false));

    // The last owner stays unless the caller allows removing them.
    let mut owned = subscription(&w.room, &w.dave);
    owned.roles = vec!["owner".to_owned()];
    assert_eq!(store.add_subscription(&owned).await, Ok(true));
    assert_eq!(
        store.remove_subscription(ROOM, &w.dave.id, true).await,
        Err(StorageError::Invalid("last owner"))
    );
    assert!(store.subscription(ROOM, &w.dave.id).await.expect("lookup").is_some());
    let mut second = subscription(&w.room, &w.alice);
    second.roles = vec!["owner".to_owned()];
    store.remove_subscription(ROOM, &w.alice.id, false).await.expect("remove alice");
    store.add_subscription(&second).await.expect("alice as owner");
    assert_eq!(store.remove_subscription(ROOM, &w.dave.id, true).await, Ok(true), "another owner remains");
    assert_eq!(
        store.remove_subscription(ROOM, &w.alice.id, true).await,
        Err(StorageError::Invalid("last owner"))
    );
    assert_eq!(store.remove_subscription(ROOM, &w.alice.id, false).await, Ok(true));
}

/// `room_type` and `message_room` (cached by the backends) answer for what
/// exists now: a deleted room, or a removed message whose id is used again
/// in another room, is not answered from before.
pub async fn rooms_type_and_message_room_follow_deletions(store: &dyn Store) {
    let w = World::new(store).await;
    assert_eq!(store.room_type(ROOM).await, Ok(Some(RoomType::Channel)));
    assert_eq!(store.room_type("nope").await, Ok(None));
    w.post(store, "m", &w.alice).await;
    assert_eq!(store.message_room("m").await, Ok(Some(ROOM.to_owned())));
    let group = room("G", RoomType::Group, "g");
    store.create_room(&group, &[subscription(&group, &w.alice)]).await.expect("group");
    assert_eq!(store.room_type("G").await, Ok(Some(RoomType::Group)));
    store.delete_message("m", false).await.expect("delete");
    assert_eq!(store.message_room("m").await, Ok(None));
    store.insert_message(plain(message("m", "G", &w.alice, "again"))).await.expect("id used again");
    assert_eq!(store.message_room("m").await, Ok(Some("G".to_owned())));
    assert!(store.delete_room("G").await.expect("delete room"));
    assert_eq!(store.room_type("G").await, Ok(None));
    assert_eq!(store.message_room("m").await, Ok(None));
    let channel_again = room("G", RoomType::Channel, "g2");
    store.create_room(&channel_again, &[]).await.expect("id used again");
    assert_eq!(store.room_type("G").await, Ok(Some(RoomType::Channel)));
}

pub async fn rooms_delete_cascades(store: &dyn Store) {
    let w = World::new(store).await;
    w.post(store, "parent", &w.alice).await;
    w.reply(store, "r1", "parent", &w.bob, &[&w.alice, &w.bob]).await;
    w.post(store, "gone", &w.alice).await;
    store.delete_message("gone", false).await.expect("delete");
    let other = store
        .create_room(&channel("OTHER", "other"), &[subscription(&channel("OTHER", "other"), &w.alice)])
        .await
        .expect("other");
    store
        .insert_message(plain(message("keep", &other.id, &w.alice, "kept")))
        .await
        .expect("message elsewhere");

    assert_eq!(store.delete_room(ROOM).await, Ok(true));
    assert_eq!(store.delete_room(ROOM).await, Ok(false));
    assert_eq!(store.room_by_id(ROOM).await, Ok(None));
    assert_eq!(store.room_by_name("room").await, Ok(None));
    for id in ["parent", "r1"] {
        assert_eq!(store.message_by_id(id).await, Ok(None));
        assert_eq!(store.message_room(id).await, Ok(None));
    }
    assert_eq!(store.subscription(ROOM, &w.alice.id).await, Ok(None));
    let alice_rooms = store.rooms_of_user(&w.alice.id, &[RoomType::Channel], 0, 10).await.expect("rooms");
    assert_eq!(ids(&alice_rooms.items, |r| &r.id), vec!["OTHER"]);
    assert!(store.message_by_id("keep").await.expect("read").is_some(), "other rooms untouched");
    // The name is free again.
    store.create_room(&channel("NEW", "Room"), &[]).await.expect("reuse name");
}

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

pub async fn messages_insert_stamps_and_round_trips(store: &dyn Store) {
    let w = World::new(store).await;
    let before = Timestamp::now();
    let mut m = message("m1", ROOM, &w.alice, "hello @bob #room");
    m.mentions = vec![Mention {
        id: w.bob.id.clone(),
        username: "bob".to_owned(),
        name: None,
        kind: Some("user".to_owned()),
    }];
    m.channels = vec![ChannelMention { id: ROOM.to_owned(), name: "room".to_owned() }];
    m.extra.insert("alias".to_owned(), json!("bot"));
    m.extra.insert("customFields".to_owned(), json!({"a": [1, 2, {"b": null}]}));
    m.extra.insert("somethingNew".to_owned(), json!(true));
    let saved = store.insert_message(plain(m.clone())).await.expect("insert");

    assert_eq!(saved.ts, saved.updated_at, "ts == _updatedAt on creation");
    assert!(saved.ts >= before, "stamped by the store, not the caller");
    let expected = Message { ts: saved.ts, updated_at: saved.updated_at, ..m };
    assert_eq!(saved, expected, "everything else is kept");
    let read = must_get(store, "m1").await;
    assert_eq!(read, saved);
    let doc = serde_json::to_value(&read).expect("serialise");
    assert_eq!(doc["somethingNew"], json!(true), "unknown fields round-trip");
    assert_eq!(doc["customFields"], json!({"a": [1, 2, {"b": null}]}));

    let room = room_of(store, ROOM).await;
    assert_eq!(room.msgs, 1);
    assert_eq!(room.last_message_at, Some(saved.ts));
    let second = w.post(store, "m2", &w.bob).await;
    assert!(second.ts > saved.ts);
    let room = room_of(store, ROOM).await;
    assert_eq!((room.msgs, room.last_message_at), (2, Some(second.ts)));
}

pub async fn messages_insert_rejections(store: &dyn Store) {
    let w = World::new(store).await;
    let first = w.post(store, "m1", &w.alice).await;
    assert_eq!(
        store.insert_message(plain(message("m1", ROOM, &w.bob, "again"))).await,
        Err(StorageError::Conflict("id"))
    );
    assert_eq!(must_get(store, "m1").await, first, "the original is untouched");
    assert_eq!(
        store.insert_message(plain(message("m2", "nope", &w.bob, "where"))).await,
        Err(StorageError::NotFound("room"))
    );
    assert_eq!(store.message_by_id("m2").await, Ok(None));
    assert_eq!(room_of(store, ROOM).await.msgs, 1, "failed inserts change no counter");
}

pub async fn messages_insert_joins(store: &dyn Store) {
    let w = World::new(store).await;
    let mut new = plain(message("m1", ROOM, &w.dave, "hi, I am new"));
    new.join = Some(subscription(&w.room, &w.dave));
    store.insert_message(new).await.expect("insert with join");
    assert!(store.subscription(ROOM, &w.dave.id).await.expect("sub").is_some());
    assert_eq!(room_of(store, ROOM).await.users_count, 4);

    // Already a member: the join is a no-op.
    let mut again = plain(message("m2", ROOM, &w.dave, "again"));
    again.join = Some(subscription(&w.room, &w.dave));
    store.insert_message(again).await.expect("insert with redundant join");
    let room = room_of(store, ROOM).await;
    assert_eq!((room.users_count, room.msgs), (4, 2));
}

/// Messages stored before `md` existed are found in id order, and `md` set
/// on them changes nothing a client must download: no stamp, no event, no
/// change feed entry, the room clock unmoved.
pub async fn messages_markup_backfill_does_not_stamp(store: &dyn Store) {
    let w = World::new(store).await;
    let md = Markup::from_value(
        &json!([{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": "old"}]}]),
    );
    // Written without md, as an earlier version did; `m0` already has one,
    // `m3` has no text, `m4` is an `rm` placeholder, `m5` end-to-end encrypted.
    let mut with = message("m0", ROOM, &w.alice, "parsed");
    with.md = Some(md.clone());
    store.insert_message(plain(with)).await.expect("m0");
    for id in ["m2", "m1", "m6"] {
        store.insert_message(plain(message(id, ROOM, &w.alice, &format!("old {id}")))).await.expect(id);
    }
    store.insert_message(plain(message("m3", ROOM, &w.alice, ""))).await.expect("m3");
    for (id, t) in [("m4", "rm"), ("m5", "e2e")] {
        let mut m = message(id, ROOM, &w.alice, "xx");
        m.t = Some(t.to_owned());
        store.insert_message(plain(m)).await.expect(id);
    }
    let pairs =
        |v: &[(&str, &str)]| v.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect::<Vec<_>>();
    assert_eq!(
        store.messages_without_markup("", 2).await.expect("first batch"),
        pairs(&[("m1", "old m1"), ("m2", "old m2")])
    );
    assert_eq!(
        store.messages_without_markup("m2", 10).await.expect("next batch"),
        pairs(&[("m6", "old m6")])
    );
    assert!(store.messages_without_markup("m6", 10).await.expect("done").is_empty());

    let before = must_get(store, "m1").await;
    let edited = store
        .edit_message(
            "m2",
            MessageEdit {
                md: None,
                msg: "new m2".to_owned(),
                mentions: vec![],
                channels: vec![],
                edited_by: user_ref(&w.alice),
            },
        )
        .await
        .expect("edit m2");
    let mut rx = store.subscribe();
    assert!(store.set_missing_markup("m1", "old m1", &md).await.expect("set m1"));
    let after = must_get(store, "m1").await;
    assert_eq!(after.md, Some(md.clone()));
    assert_eq!(after.updated_at, before.updated_at, "md is derived: the message is not stamped");
    assert_eq!(Message { md: None, ..after }, before, "nothing else changed");
    // Set once only, and not over a text that changed since it was listed.
    assert!(!store.set_missing_markup("m1", "old m1", &Markup::from_value(&json!([]))).await.expect("again"));
    assert_eq!(must_get(store, "m1").await.md, Some(md.clone()));
    assert!(!store.set_missing_markup("m2", "old m2", &md).await.expect("stale text"));
    assert_eq!(must_get(store, "m2").await.md, None);
    // Nothing announced, nothing in the room's change feed after the edit.
    assert!(rx.try_recv().is_err(), "no event for a backfill");
    let feed = store
        .changes_since(ChangeScope::Room(ROOM), edited.updated_at, &Filter::True, 0, 10)
        .await
        .expect("feed");
    assert!(feed.updated.is_empty(), "{:?}", message_ids(&feed.updated));
}

/// The record that the markup backfill is done: absent in a new store,
/// kept once made (a second record changes nothing).
pub async fn messages_markup_backfill_is_remembered(store: &dyn Store) {
    assert!(!store.markup_backfilled().await.expect("read"), "a new store has not been walked");
    store.mark_markup_backfilled().await.expect("record");
    assert!(store.markup_backfilled().await.expect("read again"));
    store.mark_markup_backfilled().await.expect("record again");
    assert!(store.markup_backfilled().await.expect("still recorded"));
}

pub async fn messages_edit(store: &dyn Store) {
    let w = World::new(store).await;
    let mut m = message("m1", ROOM, &w.alice, "frist");
    m.extra.insert("alias".to_owned(), json!("bot"));
    let original = store.insert_message(plain(m)).await.expect("insert");
    let mention = Mention { id: w.bob.id.clone(), username: "bob".to_owned(), name: None, kind: None };
    let editor = UserRef { id: w.carol.id.clone(), username: "carol".to_owned(), name: None };
    let edited = store
        .edit_message(
            "m1",
            MessageEdit {
                md: Some(Markup::from_value(
                    &json!([{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": "first @bob"}]}]),
                )),
                msg: "first @bob".to_owned(),
                mentions: vec![mention.clone()],
                channels: vec![],
                edited_by: editor.clone(),
            },
        )
        .await
        .expect("edit");
    assert_eq!(edited.msg, "first @bob");
    assert_eq!(
        edited.md.as_ref().and_then(|md| md.to_value()[0]["type"].as_str().map(str::to_owned)),
        Some("PARAGRAPH".to_owned()),
        "md is replaced"
    );
    assert_eq!(edited.mentions, vec![mention]);
    assert_eq!(edited.edited_by, Some(editor));
    assert!(edited.updated_at > original.updated_at, "_updatedAt moves");
    assert_eq!(edited.edited_at, Some(edited.updated_at), "editedAt == _updatedAt");
    assert_eq!(edited.ts, original.ts, "ts is kept");
    assert_eq!((&edited.u, &edited.extra), (&original.u, &original.extra), "other fields are kept");
    assert_eq!(must_get(store, "m1").await, edited);
    assert_eq!(room_of(store, ROOM).await.msgs, 1, "an edit is not a new message");
}

pub async fn messages_missing_ids(store: &dyn Store) {
    let w = World::new(store).await;
    let edit = MessageEdit {
        md: None,
        msg: "x".to_owned(),
        mentions: vec![],
        channels: vec![],
        edited_by: user_ref(&w.alice),
    };
    assert_eq!(store.message_by_id("nope").await, Ok(None));
    assert_eq!(store.edit_message("nope", edit).await.map(|_| ()), Err(StorageError::NotFound("message")));
    assert_eq!(store.delete_message("nope", false).await, Err(StorageError::NotFound("message")));
    assert_eq!(
        store.set_following("nope", &w.alice.id, true).await.map(|_| ()),
        Err(StorageError::NotFound("message"))
    );
}

// ---------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------

pub async fn thread_reply_bookkeeping(store: &dyn Store) {
    let w = World::new(store).await;
    let parent = w.post(store, "parent", &w.alice).await;
    assert!(!parent.is_thread_parent());

    // bob replies; followers: the parent's author, the sender, a mentioned
    // user (dave) who is not a member of the room.
    let r1 = w.reply(store, "r1", "parent", &w.bob, &[&w.alice, &w.bob, &w.dave, &w.bob]).await;
    assert_eq!(r1.tmid.as_deref(), Some("parent"));
    assert_eq!(r1.ts, r1.updated_at);
    let p = must_get(store, "parent").await;
    assert_eq!(p.tcount, Some(1));
    assert_eq!(p.tlm, Some(r1.ts), "tlm is the reply's ts");
    assert_eq!(
        p.replies,
        Some(vec![w.alice.id.clone(), w.bob.id.clone(), w.dave.id.clone()]),
        "followers in order, without duplicates"
    );
    assert!(p.updated_at > r1.updated_at, "the parent takes its own, later tick");
    assert_eq!((p.msg.as_str(), p.ts), (parent.msg.as_str(), parent.ts), "the parent's content is kept");
    assert_eq!(tunread(store, ROOM, &w.alice).await, vec!["parent".to_owned()]);
    assert_eq!(tunread(store, ROOM, &w.bob).await, Vec::<String>::new(), "not the sender");
    assert_eq!(tunread(store, ROOM, &w.carol).await, Vec::<String>::new(), "not a follower");
    assert_eq!(store.subscription(ROOM, &w.dave.id).await, Ok(None), "no subscription appears");

    // alice replies: bob now has it unread; alice's list has no duplicate.
    let r2 = w.reply(store, "r2", "parent", &w.alice, &[&w.alice]).await;
    let p2 = must_get(store, "parent").await;
    assert_eq!(p2.tcount, Some(2));
    assert_eq!(p2.tlm, Some(r2.ts));
    assert_eq!(p2.replies, p.replies, "no new follower");
    assert!(r2.updated_at > p.updated_at && p2.updated_at > r2.updated_at);
    assert_eq!(tunread(store, ROOM, &w.bob).await, vec!["parent".to_owned()]);
    assert_eq!(tunread(store, ROOM, &w.alice).await, vec!["parent".to_owned()]);
    let room = room_of(store, ROOM).await;
    assert_eq!((room.msgs, room.last_message_at), (3, Some(r2.ts)));

    // dave, not a member, joins with his first message: both counters move.
    let joining = NewMessage {
        message: message("d1", ROOM, &w.dave, "hello"),
        reply: None,
        join: Some(subscription(&room, &w.dave)),
        counters: None,
    };
    let d1 = store.insert_message(joining).await.expect("post and join");
    let joined = room_of(store, ROOM).await;
    assert_eq!((joined.msgs, joined.last_message_at), (4, Some(d1.ts)));
    assert_eq!(joined.users_count, room.users_count + 1);
    assert!(joined.updated_at >= d1.ts);
    assert!(store.subscription(ROOM, &w.dave.id).await.expect("lookup").is_some(), "dave is a member now");

    // A second thread goes into the same lists.
    w.post(store, "parent2", &w.carol).await;
    w.reply(store, "r3", "parent2", &w.carol, &[&w.carol, &w.bob]).await;
    assert_eq!(tunread(store, ROOM, &w.bob).await, vec!["parent".to_owned(), "parent2".to_owned()]);

    // Unfollowing drops the thread from bob's list; following again, the
    // next reply brings it back (at the end), once.
    store.set_following("parent", &w.bob.id, false).await.expect("unfollow");
    assert_eq!(tunread(store, ROOM, &w.bob).await, vec!["parent2".to_owned()]);
    store.set_following("parent", &w.bob.id, true).await.expect("follow again");
    w.reply(store, "r4", "parent", &w.alice, &[&w.alice]).await;
    w.reply(store, "r5", "parent", &w.carol, &[]).await;
    assert_eq!(tunread(store, ROOM, &w.bob).await, vec!["parent2".to_owned(), "parent".to_owned()]);
    assert_eq!(tunread(store, ROOM, &w.carol).await, Vec::<String>::new(), "carol does not follow parent");

    // Editing a reply does not touch the parent's counters.
    let before = must_get(store, "parent").await;
    store
        .edit_message(
            "r1",
            MessageEdit {
                md: None,
                msg: "edited".to_owned(),
                mentions: vec![],
                channels: vec![],
                edited_by: user_ref(&w.bob),
            },
        )
        .await
        .expect("edit reply");
    let after = must_get(store, "parent").await;
    assert_eq!((after.tcount, after.tlm), (before.tcount, before.tlm));
}

pub async fn thread_reply_rejections(store: &dyn Store) {
    let w = World::new(store).await;
    w.post(store, "parent", &w.alice).await;
    w.reply(store, "r1", "parent", &w.bob, &[&w.alice, &w.bob]).await;
    let other = channel("OTHER", "other");
    store.create_room(&other, &[subscription(&other, &w.alice)]).await.expect("other room");
    store
        .insert_message(plain(message("elsewhere", "OTHER", &w.alice, "x")))
        .await
        .expect("message in other room");

    let thread = Err(StorageError::NotFound("thread"));
    let attempt = |id: &str, tmid: &str| reply(message(id, ROOM, &w.bob, "x"), tmid, &[&w.bob]);
    assert_eq!(store.insert_message(attempt("x1", "missing")).await, thread, "missing parent");
    assert_eq!(store.insert_message(attempt("x2", "elsewhere")).await, thread, "parent in another room");
    assert_eq!(store.insert_message(attempt("x3", "r1")).await, thread, "parent is a reply");
    for id in ["x1", "x2", "x3"] {
        assert_eq!(store.message_by_id(id).await, Ok(None), "{id} not stored");
    }
    let p = must_get(store, "parent").await;
    assert_eq!(p.tcount, Some(1), "counters untouched by rejected replies");
    assert_eq!(room_of(store, ROOM).await.msgs, 2);
}

pub async fn thread_delete_reply_leaves_tombstone(store: &dyn Store) {
    let w = World::new(store).await;
    w.post(store, "parent", &w.alice).await;
    let r1 = w.reply(store, "r1", "parent", &w.bob, &[&w.alice, &w.bob]).await;
    let r2 = w.reply(store, "r2", "parent", &w.carol, &[&w.carol]).await;
    let before = must_get(store, "parent").await;
    assert_eq!(before.tcount, Some(2));

    let deletion = store.delete_message("r1", false).await.expect("delete reply");
    let Deletion::Removed(tombstone) = deletion else {
        panic!("a reply is removed, got {deletion:?}");
    };
    assert_eq!(
        tombstone,
        Tombstone {
            id: "r1".to_owned(),
            rid: ROOM.to_owned(),
            tmid: Some("parent".to_owned()),
            deleted_at: tombstone.deleted_at,
        }
    );
    assert!(tombstone.deleted_at > before.updated_at, "_deletedAt is a new tick");
    assert!(tombstone.deleted_at > r1.updated_at);
    assert_eq!(store.message_by_id("r1").await, Ok(None));
    let after = must_get(store, "parent").await;
    assert_eq!(after.tcount, Some(1), "tcount goes down");
    assert!(after.updated_at > tombstone.deleted_at, "the parent's _updatedAt moves past the tombstone");
    assert_eq!(after.replies, before.replies, "followers are kept");
    assert_eq!(after.tlm, before.tlm);
    assert_eq!(must_get(store, "r2").await, r2, "the other reply is untouched");
    assert_eq!(room_of(store, ROOM).await.msgs, 2);

    let before_sub = store.subscription(ROOM, &w.alice.id).await.expect("lookup").expect("member");
    assert!(before_sub.tunread.contains(&"parent".to_owned()), "alice follows and has it unread");
    // Deleting the last reply: tcount reaches 0, never below.
    store.delete_message("r2", false).await.expect("delete r2");
    assert_eq!(must_get(store, "parent").await.tcount, Some(0));
    // The parent now has no replies: deleting it removes it for good.
    let gone = store.delete_message("parent", false).await.expect("delete parent");
    assert!(matches!(gone, Deletion::Removed(ref t) if t.id == "parent" && t.tmid.is_none()), "{gone:?}");
    assert_eq!(store.message_by_id("parent").await, Ok(None));
    // A thread that no longer exists is nobody's unread thread any more.
    let alice_sub = store.subscription(ROOM, &w.alice.id).await.expect("lookup").expect("member");
    assert!(!alice_sub.tunread.contains(&"parent".to_owned()), "{:?}", alice_sub.tunread);
}

/// `Message_ShowDeletedStatus` on: every deletion leaves a `t: "rm"`
/// placeholder, reported by the feeds as an update (never a tombstone); a
/// reply placeholder stops counting in its parent's `tcount` once.
pub async fn messages_delete_with_show_deleted_status_leaves_placeholders(store: &dyn Store) {
    let w = World::new(store).await;
    w.post(store, "parent", &w.alice).await;
    let plain_message = w.post(store, "plain", &w.bob).await;
    w.reply(store, "r1", "parent", &w.bob, &[&w.alice, &w.bob]).await;
    w.reply(store, "r2", "parent", &w.carol, &[&w.carol]).await;
    let msgs_before = room_of(store, ROOM).await.msgs;
    let before = must_get(store, "parent").await;
    assert_eq!(before.tcount, Some(2));

    let deletion = store.delete_message("r1", true).await.expect("delete reply");
    let Deletion::Placeholder(r1) = deletion else { panic!("a placeholder, got {deletion:?}") };
    assert_eq!((r1.t.as_deref(), r1.msg.as_str(), r1.tmid.as_deref()), (Some("rm"), "", Some("parent")));
    assert_eq!(must_get(store, "r1").await, r1, "the placeholder is stored");
    let parent = must_get(store, "parent").await;
    assert_eq!(parent.tcount, Some(1), "the reply no longer counts");
    assert!(parent.updated_at > r1.updated_at, "the parent takes its own, later tick");
    // Deleting the placeholder again leaves it and counts nothing twice.
    let again = store.delete_message("r1", true).await.expect("delete again");
    assert!(matches!(again, Deletion::Placeholder(ref m) if m.t.as_deref() == Some("rm")), "{again:?}");
    assert_eq!(must_get(store, "parent").await.tcount, Some(1), "counted once");

    let deletion = store.delete_message("plain", true).await.expect("delete plain");
    let Deletion::Placeholder(plain_gone) = deletion else { panic!("a placeholder, got {deletion:?}") };
    assert_eq!((plain_gone.t.as_deref(), plain_gone.msg.as_str()), (Some("rm"), ""));
    assert!(plain_gone.updated_at > plain_message.updated_at);
    assert_eq!(room_of(store, ROOM).await.msgs, msgs_before, "placeholders stay messages of the room");

    // The feeds report the placeholders as updates, not removals.
    let thread = store
        .changes_since(ChangeScope::Thread("parent"), before.updated_at, &Filter::True, 0, 100)
        .await
        .expect("thread feed");
    assert!(thread.removed.is_empty(), "{:?}", thread.removed);
    assert!(thread.updated.iter().any(|m| m.id == "r1" && m.t.as_deref() == Some("rm")), "{thread:?}");
    let room = store
        .changes_since(ChangeScope::Room(ROOM), before.updated_at, &Filter::True, 0, 100)
        .await
        .expect("room feed");
    assert!(room.removed.is_empty(), "{:?}", room.removed);
    assert!(room.updated.iter().any(|m| m.id == "plain" && m.t.as_deref() == Some("rm")), "{room:?}");

    // The same deletion with the setting off removes the message.
    let gone = store.delete_message("r2", false).await.expect("delete r2");
    assert!(matches!(gone, Deletion::Removed(ref t) if t.id == "r2"), "{gone:?}");
    assert_eq!(must_get(store, "parent").await.tcount, Some(0));
}

pub async fn thread_delete_parent_leaves_placeholder(store: &dyn Store) {
    let w = World::new(store).await;
    let mut m = message("parent", ROOM, &w.alice, "hello @bob");
    m.mentions = vec![Mention { id: w.bob.id.clone(), username: "bob".to_owned(), name: None, kind: None }];
    m.channels = vec![ChannelMention { id: ROOM.to_owned(), name: "room".to_owned() }];
    m.extra.insert("attachments".to_owned(), json!([{"title": "x"}]));
    m.md = Some(Markup::from_value(
        &json!([{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": "hello @bob"}]}]),
    ));
    store.insert_message(plain(m)).await.expect("parent");
    assert!(must_get(store, "parent").await.md.is_some(), "md is stored with the message");
    store
        .edit_message(
            "parent",
            MessageEdit {
                md: None,
                msg: "hello again @bob".to_owned(),
                mentions: vec![],
                channels: vec![],
                edited_by: user_ref(&w.alice),
            },
        )
        .await
        .expect("edit");
    let r1 = w.reply(store, "r1", "parent", &w.bob, &[&w.alice, &w.bob]).await;
    let before = must_get(store, "parent").await;

    let deletion = store.delete_message("parent", false).await.expect("delete parent");
    let Deletion::Placeholder(placeholder) = deletion else {
        panic!("a parent with replies stays, got {deletion:?}");
    };
    assert_eq!(placeholder.t.as_deref(), Some("rm"));
    assert_eq!(placeholder.msg, "");
    assert!(placeholder.mentions.is_empty() && placeholder.channels.is_empty());
    assert!(placeholder.extra.is_empty(), "content fields cleared: {:?}", placeholder.extra);
    assert_eq!(placeholder.md, None, "a placeholder has no markup");
    assert_eq!((placeholder.edited_at, placeholder.edited_by.as_ref()), (None, None));
    assert_eq!(
        (placeholder.tcount, placeholder.tlm, &placeholder.replies),
        (before.tcount, before.tlm, &before.replies),
        "thread fields are kept"
    );
    assert_eq!((&placeholder.u, placeholder.ts), (&before.u, before.ts));
    assert!(placeholder.updated_at > before.updated_at);
    assert!(placeholder.is_removed_placeholder());
    assert_eq!(must_get(store, "parent").await, placeholder);
    assert_eq!(must_get(store, "r1").await, r1, "replies stay");
}

pub async fn messages_delete_plain_leaves_tombstone(store: &dyn Store) {
    let w = World::new(store).await;
    let m = w.post(store, "m1", &w.alice).await;
    w.post(store, "m2", &w.alice).await;
    let deletion = store.delete_message("m1", false).await.expect("delete");
    let Deletion::Removed(tombstone) = deletion else {
        panic!("a plain message is removed, got {deletion:?}");
    };
    assert_eq!(
        (tombstone.id.as_str(), tombstone.rid.as_str(), tombstone.tmid.as_deref()),
        ("m1", ROOM, None)
    );
    assert!(tombstone.deleted_at > m.updated_at);
    assert_eq!(store.message_by_id("m1").await, Ok(None));
    assert_eq!(store.delete_message("m1", false).await, Err(StorageError::NotFound("message")));
    assert_eq!(room_of(store, ROOM).await.msgs, 1);
}

pub async fn thread_follow_and_unfollow(store: &dyn Store) {
    let w = World::new(store).await;
    w.post(store, "parent", &w.alice).await;
    w.reply(store, "r1", "parent", &w.bob, &[&w.alice, &w.bob]).await;
    let p0 = must_get(store, "parent").await;

    let p1 = store.set_following("parent", &w.carol.id, true).await.expect("follow");
    assert_eq!(p1.replies, Some(vec![w.alice.id.clone(), w.bob.id.clone(), w.carol.id.clone()]));
    assert!(p1.updated_at > p0.updated_at, "_updatedAt moves");
    assert_eq!(p1.tcount, p0.tcount);
    assert_eq!(must_get(store, "parent").await, p1);
    let p1b = store.set_following("parent", &w.carol.id, true).await.expect("follow twice");
    assert_eq!(p1b.replies, p1.replies, "no duplicate follower");

    // carol now gets the thread unread on the next reply.
    w.reply(store, "r2", "parent", &w.bob, &[&w.bob]).await;
    assert_eq!(tunread(store, ROOM, &w.carol).await, vec!["parent".to_owned()]);
    assert_eq!(tunread(store, ROOM, &w.alice).await, vec!["parent".to_owned()]);

    let before = must_get(store, "parent").await;
    let p2 = store.set_following("parent", &w.carol.id, false).await.expect("unfollow");
    assert_eq!(p2.replies, Some(vec![w.alice.id.clone(), w.bob.id.clone()]));
    assert!(p2.updated_at > before.updated_at);
    assert_eq!(tunread(store, ROOM, &w.carol).await, Vec::<String>::new(), "unfollow clears tunread");
    assert_eq!(tunread(store, ROOM, &w.alice).await, vec!["parent".to_owned()], "others keep theirs");

    // No longer a follower: the next reply leaves carol alone.
    w.reply(store, "r3", "parent", &w.bob, &[&w.bob]).await;
    assert_eq!(tunread(store, ROOM, &w.carol).await, Vec::<String>::new());
    // Unfollowing when not following still answers the parent.
    let p3 = store.set_following("parent", &w.dave.id, false).await.expect("unfollow stranger");
    assert_eq!(p3.replies, p2.replies);
}

pub async fn thread_mark_read(store: &dyn Store) {
    let w = World::new(store).await;
    w.post(store, "parent", &w.alice).await;
    w.post(store, "other", &w.alice).await;
    w.reply(store, "r1", "parent", &w.bob, &[&w.alice, &w.bob]).await;
    w.reply(store, "r2", "other", &w.bob, &[&w.alice, &w.bob]).await;
    assert_eq!(tunread(store, ROOM, &w.alice).await, vec!["parent".to_owned(), "other".to_owned()]);
    let before = store.subscription(ROOM, &w.alice.id).await.expect("read").expect("subscribed");
    let after = store.mark_thread_read(ROOM, &w.alice.id, "parent").await.expect("mark").expect("changed");
    assert_eq!(after.tunread, vec!["other".to_owned()]);
    assert!(after.updated_at > before.updated_at, "the subscription is stamped");
    assert_eq!(store.subscription(ROOM, &w.alice.id).await.expect("read"), Some(after));
    // Nothing left to clear, no subscription, unknown thread: no change.
    assert_eq!(store.mark_thread_read(ROOM, &w.alice.id, "parent").await.expect("again"), None);
    assert_eq!(store.mark_thread_read(ROOM, &w.dave.id, "other").await.expect("not a member"), None);
    assert_eq!(store.mark_thread_read(ROOM, &w.alice.id, "nope").await.expect("unknown"), None);
    // A later reply marks it unread again.
    w.reply(store, "r3", "parent", &w.bob, &[&w.bob]).await;
    assert_eq!(tunread(store, ROOM, &w.alice).await, vec!["other".to_owned(), "parent".to_owned()]);
}

/// `tunread` against a model, through a long pseudo-random history of
/// replies (with new followers), thread reads, follows, unfollows, leaves
/// and re-joins on three threads: after every step each member's `tunread`
/// holds exactly the threads the rules say. A backend may remember what it
/// already marked (SQLite does, to skip the followers who already have a
/// thread); every way a subscription can lose a thread or a thread gain a
/// follower must then reach that memory, and this history takes each of
/// them in many orders.
pub async fn thread_unread_follows_a_random_history(store: &dyn Store) {
    use std::collections::{BTreeMap, BTreeSet};
    let w = World::new(store).await;
    let users = [&w.alice, &w.bob, &w.carol, &w.dave];
    let threads = ["th-a", "th-b", "th-c"];
    for thread in threads {
        w.post(store, thread, &w.alice).await;
    }
    let mut members: BTreeSet<usize> = [0, 1, 2].into();
    let mut followers: BTreeMap<&str, BTreeSet<usize>> =
        threads.iter().map(|t| (*t, BTreeSet::new())).collect();
    let mut replied: BTreeSet<&str> = BTreeSet::new();
    let mut unread: BTreeMap<usize, BTreeSet<&str>> = (0..4).map(|u| (u, BTreeSet::new())).collect();
    // A fixed linear congruential sequence: the same history on every run
    // and every backend.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |below: usize| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(state >> 33).expect("31 bits") % below
    };
    for step in 0..1000 {
        let thread = threads[next(threads.len())];
        let user = next(users.len());
        let action = next(10);
        match action {
            // Replies are the most common step, as in a real room.
            0..=4 if members.contains(&user) => {
                let mut added = vec![users[user]];
                if next(4) == 0 {
                    added.push(users[next(users.len())]);
                }
                w.reply(store, &format!("r{step}"), thread, users[user], &added).await;
                let follows = followers.get_mut(thread).expect("thread");
                // The first reply makes the parent's author (alice) a follower.
                if replied.insert(thread) {
                    follows.insert(0);
                }
                follows.extend(added.iter().map(|a| users.iter().position(|u| u.id == a.id).expect("user")));
                for &f in follows.iter() {
                    if f != user && members.contains(&f) {
                        unread.get_mut(&f).expect("user").insert(thread);
                    }
                }
            }
            5 | 6 => {
                store.mark_thread_read(ROOM, &users[user].id, thread).await.expect("mark read");
                unread.get_mut(&user).expect("user").remove(thread);
            }
            7 => {
                let follow = next(2) == 0;
                store.set_following(thread, &users[user].id, follow).await.expect("follow");
                let follows = followers.get_mut(thread).expect("thread");
                if follow {
                    follows.insert(user);
                } else {
                    follows.remove(&user);
                    unread.get_mut(&user).expect("user").remove(thread);
                }
            }
            8 | 9 if members.contains(&user) && members.len() > 1 => {
                store.remove_subscription(ROOM, &users[user].id, false).await.expect("leave");
                members.remove(&user);
                unread.get_mut(&user).expect("user").clear();
            }
            8 | 9 if !members.contains(&user) => {
                assert!(store.add_subscription(&subscription(&w.room, users[user])).await.expect("join"));
                members.insert(user);
            }
            _ => continue,
        }
        for &m in &members {
            let stored: BTreeSet<String> = tunread(store, ROOM, users[m]).await.into_iter().collect();
            let expected: BTreeSet<String> = unread[&m].iter().map(|t| (*t).to_owned()).collect();
            assert_eq!(stored, expected, "step {step} (action {action}): {}'s tunread", users[m].username);
        }
    }
}

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

pub async fn settings_save_and_load(store: &dyn Store) {
    assert_eq!(store.load_settings().await, Ok(vec![]));
    store.save_setting("Threads_enabled", &json!(false)).await.expect("save");
    store.save_setting("API_Default_Count", &json!(25)).await.expect("save");
    store.save_setting("Complex", &json!({"a": [1, "two", null]})).await.expect("save");
    store.save_setting("Threads_enabled", &json!(true)).await.expect("overwrite");
    let mut loaded = store.load_settings().await.expect("load");
    loaded.sort_by(|a, b| a.0.cmp(&b.0));
    let expected: Vec<(String, Value)> = vec![
        ("API_Default_Count".to_owned(), json!(25)),
        ("Complex".to_owned(), json!({"a": [1, "two", null]})),
        ("Threads_enabled".to_owned(), json!(true)),
    ];
    assert_eq!(loaded, expected);
}

/// Permission changes: none stored at first; a batch is stored whole, a
/// later change of the same permission replaces its roles (even with an
/// empty list: "nobody holds it" is a change, not a deletion), and each
/// save announces a settings event so every instance reloads the table.
pub async fn permissions_save_and_load_and_announce(store: &dyn Store) {
    use threadsync_domain::permissions::PermissionChange;
    let change = |id: &str, roles: &[&str], at: i64| PermissionChange {
        id: id.to_owned(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        updated_at: Timestamp(at),
    };
    assert_eq!(store.load_permissions().await, Ok(vec![]));
    let mut events = store.subscribe();
    store
        .save_permissions(&[
            change("post-readonly", &["admin", "user"], 10),
            change("delete-message", &["admin"], 10),
        ])
        .await
        .expect("save");
    let event = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv())
        .await
        .expect("announced in time")
        .expect("an event");
    assert_eq!(event.kind, crate::EventKind::Settings);
    store.save_permissions(&[change("post-readonly", &[], 20)]).await.expect("replace");
    let loaded = store.load_permissions().await.expect("load");
    assert_eq!(loaded, vec![change("delete-message", &["admin"], 10), change("post-readonly", &[], 20)]);
}

/// Admins' roles: none at first; saved, listed by name, replaced by id; a
/// name another role has is a conflict (on create and on rename); deleted
/// once, the removal remembered (for `roles.sync`) and the name freed;
/// every write announces a settings event (every instance reloads).
pub async fn roles_saved_replaced_and_deleted(store: &dyn Store) {
    use threadsync_domain::permissions::{Role, RoleScope};
    let role = |id: &str, name: &str, scope, at: i64| Role {
        id: id.to_owned(),
        name: name.to_owned(),
        scope,
        description: format!("about {name}"),
        protected: false,
        mandatory2fa: false,
        updated_at: Timestamp(at),
    };
    assert_eq!(store.load_roles().await, Ok(vec![]));
    let mut events = store.subscribe();
    let auditor = role("R1", "auditor", RoleScope::Users, 10);
    store.save_role(&auditor).await.expect("save");
    let event = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv())
        .await
        .expect("announced in time")
        .expect("an event");
    assert_eq!(event.kind, crate::EventKind::Settings);
    let helper = role("R2", "Helper", RoleScope::Subscriptions, 20);
    store.save_role(&helper).await.expect("save");
    assert_eq!(store.load_roles().await.expect("load"), vec![helper.clone(), auditor.clone()], "by name");
    assert_eq!(
        store.save_role(&role("R3", "auditor", RoleScope::Users, 30)).await,
        Err(StorageError::Conflict("role_name"))
    );
    assert_eq!(
        store.save_role(&role("R2", "auditor", RoleScope::Users, 30)).await,
        Err(StorageError::Conflict("role_name")),
        "a rename to a taken name"
    );
    let mut renamed = role("R1", "reviewer", RoleScope::Subscriptions, 40);
    renamed.mandatory2fa = true;
    store.save_role(&renamed).await.expect("replace");
    assert_eq!(store.load_roles().await.expect("load"), vec![helper.clone(), renamed]);
    assert_eq!(store.removed_roles(Timestamp(0)).await, Ok(vec![]));
    assert_eq!(store.delete_role("R1", Timestamp(50)).await, Ok(true));
    assert_eq!(store.delete_role("R1", Timestamp(60)).await, Ok(false), "deleted once");
    assert_eq!(store.load_roles().await.expect("load"), vec![helper.clone()]);
    // The removal is remembered, for roles.sync.
    assert_eq!(store.removed_roles(Timestamp(49)).await, Ok(vec![("R1".to_owned(), Timestamp(50))]));
    assert_eq!(store.removed_roles(Timestamp(50)).await, Ok(vec![]));
    // A deleted role is not brought back by a save, and its name is free.
    store.save_role(&role("R1", "zombie", RoleScope::Users, 70)).await.expect("a no-op");
    assert_eq!(store.load_roles().await.expect("load"), vec![helper.clone()]);
    let again = role("R4", "reviewer", RoleScope::Users, 80);
    store.save_role(&again).await.expect("the name of a deleted role");
    assert_eq!(store.load_roles().await.expect("load"), vec![helper, again]);
}

/// The readiness check: a fresh (empty) store and a used one answer; a
/// closed one fails instead of hanging. Closing again (the harness does) is
/// harmless.
pub async fn ping_answers_until_closed(store: &dyn Store) {
    store.ping().await.expect("a fresh store answers");
    store.save_setting("Threads_enabled", &json!(false)).await.expect("save");
    store.ping().await.expect("a store with data answers");
    store.close().await;
    assert!(store.ping().await.is_err(), "a closed store must not pass the readiness check");
}

// ---------------------------------------------------------------------------
// The room clock
// ---------------------------------------------------------------------------

/// Many writes in a tight loop: far more than one per millisecond, yet each
/// takes a distinct, strictly greater stamp, and reading back agrees.
pub async fn clock_tight_loop_strictly_increases(store: &dyn Store) {
    let w = World::new(store).await;
    w.post(store, "parent", &w.alice).await;
    let mut written = Vec::new();
    for i in 0..200 {
        let m = if i % 4 == 3 {
            w.reply(store, &format!("m{i}"), "parent", &w.bob, &[&w.bob]).await
        } else {
            w.post(store, &format!("m{i}"), &w.alice).await
        };
        assert_eq!(m.ts, m.updated_at);
        written.push(m);
    }
    for pair in written.windows(2) {
        assert!(
            pair[1].updated_at > pair[0].updated_at,
            "stamps must strictly increase: {} then {}",
            pair[0].updated_at.0,
            pair[1].updated_at.0
        );
    }
    // Backend-independent check: read every document back.
    let mut stamps = Vec::new();
    for m in &written {
        let read = must_get(store, &m.id).await;
        assert_eq!(read.updated_at, m.updated_at);
        stamps.push(read.updated_at);
    }
    stamps.push(must_get(store, "parent").await.updated_at);
    assert_distinct(&stamps, "tight loop");
}

/// The result of one write in [`clock_concurrent_writers_distinct_stamps`].
enum Wrote {
    Message(Box<Message>),
    Removed(Tombstone),
}

/// 8 writers × 50 writes into one room (inserts, replies to one shared
/// thread, edits, deletes), all concurrently: every stamp handed out is
/// distinct, each writer sees its own stamps increase, and the final
/// documents (read back with `message_by_id`) and tombstones carry pairwise
/// distinct stamps.
pub async fn clock_concurrent_writers_distinct_stamps(store: &dyn Store) {
    const WRITERS: usize = 8;
    const WRITES: usize = 50;
    let w = World::new(store).await;
    w.post(store, "parent", &w.alice).await;
    let w = &w;

    let writer = |i: usize| async move {
        let author = [&w.alice, &w.bob, &w.carol][i % 3];
        let mut log: Vec<(String, Wrote)> = Vec::new();
        for j in 0..WRITES {
            let reply_id = |j: usize| format!("w{i}-r{j}");
            let plain_id = |j: usize| format!("w{i}-m{j}");
            let wrote = match j % 5 {
                0 => (
                    reply_id(j),
                    Wrote::Message(Box::new(w.reply(store, &reply_id(j), "parent", author, &[author]).await)),
                ),
                1 | 2 => (plain_id(j), Wrote::Message(Box::new(w.post(store, &plain_id(j), author).await))),
                3 => {
                    let id = plain_id(j - 2);
                    let edit = MessageEdit {
                        md: None,
                        msg: format!("edit {j}"),
                        mentions: vec![],
                        channels: vec![],
                        edited_by: user_ref(author),
                    };
                    let m = store.edit_message(&id, edit).await.expect("edit");
                    (id, Wrote::Message(Box::new(m)))
                }
                _ => {
                    // Alternately a reply (its parent moves too) and a plain message.
                    let id = if (j / 5) % 2 == 0 { reply_id(j - 4) } else { plain_id(j - 3) };
                    match store.delete_message(&id, false).await.expect("delete") {
                        Deletion::Removed(t) => (id, Wrote::Removed(t)),
                        Deletion::Placeholder(m) => panic!("{id} has no replies, got a placeholder {m:?}"),
                    }
                }
            };
            log.push(wrote);
        }
        log
    };
    let (l0, l1, l2, l3, l4, l5, l6, l7) =
        tokio::join!(writer(0), writer(1), writer(2), writer(3), writer(4), writer(5), writer(6), writer(7));
    let logs = [l0, l1, l2, l3, l4, l5, l6, l7];
    assert_eq!(logs.len(), WRITERS);

    let stamp = |wrote: &Wrote| match wrote {
        Wrote::Message(m) => m.updated_at,
        Wrote::Removed(t) => t.deleted_at,
    };
    let mut all = Vec::new();
    for log in &logs {
        let own: Vec<Timestamp> = log.iter().map(|(_, wrote)| stamp(wrote)).collect();
        for pair in own.windows(2) {
            assert!(pair[1] > pair[0], "a later write of one writer commits later: {own:?}");
        }
        all.extend(own);
    }
    assert_eq!(all.len(), WRITERS * WRITES);
    assert_distinct(&all, "every write");

    // Final state, read back.
    let mut finals = Vec::new();
    let mut seen = HashSet::new();
    let mut max_reply_ts = Timestamp(0);
    let mut deleted_replies = 0;
    for log in &logs {
        for (id, wrote) in log.iter().rev() {
            if let Wrote::Message(m) = wrote {
                if m.tmid.is_some() {
                    max_reply_ts = max_reply_ts.max(m.ts);
                }
            }
            if !seen.insert(id.clone()) {
                continue; // the latest write of this id decides
            }
            match (wrote, store.message_by_id(id).await.expect("read")) {
                (Wrote::Removed(t), None) => {
                    finals.push(t.deleted_at);
                    if t.tmid.is_some() {
                        deleted_replies += 1;
                    }
                }
                (Wrote::Message(m), Some(read)) => {
                    assert_eq!(&read, m.as_ref(), "the read-back equals the last write");
                    finals.push(read.updated_at);
                }
                (_, read) => panic!("{id}: unexpected final state {read:?}"),
            }
        }
    }
    let parent = must_get(store, "parent").await;
    finals.push(parent.updated_at);
    assert_distinct(&finals, "final documents and tombstones");

    let replies = WRITERS * WRITES / 5;
    assert_eq!(deleted_replies, WRITERS * 5);
    assert_eq!(parent.tcount, Some(i64::try_from(replies - deleted_replies).unwrap_or(i64::MAX)));
    assert_eq!(parent.tlm, Some(max_reply_ts), "tlm is the ts of the last reply committed");
    let inserted = 1 + WRITERS * (WRITES / 5) * 3;
    let removed = WRITERS * (WRITES / 5);
    assert_eq!(room_of(store, ROOM).await.msgs, i64::try_from(inserted - removed).unwrap_or(i64::MAX));
}

/// Stamps are commit-ordered per room (docs/sync.md): while 6 writers
/// post, reply into one thread, edit and delete in one room concurrently,
/// clients follow the room's feed and the thread's feed in small pages,
/// each resuming from the greatest stamp it received. No write may become
/// visible with a stamp at or below one a client has already passed, so
/// after the writers are done and the clients have drained their feeds,
/// each client's replica is exactly the server's truth. On PostgreSQL this
/// holds only because a write stamps under its room's lock, held until it
/// commits; stamps drawn from anything that does not follow commit order
/// (a sequence, the wall clock, a lock released before the commit) fail
/// it whenever two writes of the room commit out of stamp order.
pub async fn clock_followers_of_concurrent_writers_miss_nothing(store: &dyn Store) {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    const WRITERS: usize = 6;
    const WRITES: usize = 40;
    let w = World::new(store).await;
    w.post(store, "parent", &w.alice).await;
    let (w, done) = (&w, &AtomicBool::new(false));

    let writer = |i: usize| async move {
        let author = [&w.alice, &w.bob, &w.carol][i % 3];
        for j in 0..WRITES {
            let id = |j: usize| format!("f{i}-{j}");
            match j % 4 {
                0 => drop(w.reply(store, &id(j), "parent", author, &[author]).await),
                1 => drop(w.post(store, &id(j), author).await),
                2 => {
                    let edit = MessageEdit {
                        md: None,
                        msg: format!("edit {j}"),
                        mentions: vec![],
                        channels: vec![],
                        edited_by: user_ref(author),
                    };
                    store.edit_message(&id(j - 1), edit).await.expect("edit");
                }
                // Alternately the reply (its parent moves too) and the post.
                _ => {
                    let gone = if (j / 4) % 2 == 0 { id(j - 3) } else { id(j - 2) };
                    drop(store.delete_message(&gone, false).await.expect("delete"));
                }
            }
        }
    };
    let writers = async {
        tokio::join!(writer(0), writer(1), writer(2), writer(3), writer(4), writer(5));
        done.store(true, Ordering::Release);
    };
    // A client: its replica of a scope, pulled 5 changes at a time from
    // the greatest stamp it holds, until the writers are done and a page
    // read after that has nothing more.
    let follow = |scope: ChangeScope<'static>| async move {
        let (mut replica, mut cursor, mut pages) = (BTreeMap::new(), Timestamp(0), 0u32);
        loop {
            let finished = done.load(Ordering::Acquire);
            let page = store.changes_since(scope, cursor, &Filter::True, 0, 5).await.expect("changes");
            pages += 1;
            for m in &page.updated {
                assert!(m.updated_at > cursor, "a page starts after its cursor");
                replica.insert(m.id.clone(), m.clone());
            }
            for t in &page.removed {
                assert!(t.deleted_at > cursor, "a page starts after its cursor");
                replica.remove(&t.id);
            }
            cursor = page.last_stamp().unwrap_or(cursor);
            if finished && !page.more {
                return (replica, pages);
            }
            if page.updated.is_empty() && page.removed.is_empty() {
                tokio::task::yield_now().await;
            }
        }
    };
    let ((), (room, room_pages), (thread, thread_pages)) =
        tokio::join!(writers, follow(ChangeScope::Room(ROOM)), follow(ChangeScope::Thread("parent")));
    assert!(room_pages > 1 && thread_pages > 1, "the clients followed the writes as they came");

    let truth: BTreeMap<String, Message> = store
        .room_messages(ROOM, &Filter::True, &Sort::default(), 0, 10_000)
        .await
        .expect("room messages")
        .items
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    assert_eq!(truth.len(), 1 + WRITERS * WRITES / 4, "the parent and every post or reply not deleted");
    let missed = |replica: &BTreeMap<String, Message>, truth: &BTreeMap<String, Message>| {
        let mut diffs: Vec<String> = truth
            .iter()
            .filter(|(id, m)| replica.get(*id) != Some(*m))
            .map(|(id, m)| {
                format!("{id}@{}: have {:?}", m.updated_at.millis(), replica.get(id).map(|r| r.updated_at))
            })
            .collect();
        diffs.extend(replica.keys().filter(|id| !truth.contains_key(*id)).map(|id| format!("{id} is gone")));
        diffs
    };
    let diffs = missed(&room, &truth);
    assert!(diffs.is_empty(), "the room's follower differs from the room: {diffs:?}");
    let replies: BTreeMap<String, Message> =
        truth.into_iter().filter(|(_, m)| m.tmid.as_deref() == Some("parent")).collect();
    let diffs = missed(&thread, &replies);
    assert!(diffs.is_empty(), "the thread's follower differs from the thread: {diffs:?}");
    assert_eq!(replies.len(), WRITERS * WRITES / 8);
    assert_eq!(must_get(store, "parent").await.tcount, Some(i64::try_from(replies.len()).expect("small")));
}

/// Many sends into one room at once (the PostgreSQL backend writes the
/// sends of a room that wait for it together, in one transaction): each is
/// answered as if it had been written alone. Replies into two threads and
/// plain posts from three members, two sends of one id, a reply to no
/// thread, a send re-using a stored message's id and one that joins the
/// room all go at once. Every success has a stamp of its own, and the feeds
/// carry each once; each thread's parent counts exactly its replies, its
/// `tlm` is its last reply's `ts`, its stamp is later than theirs, every
/// replier follows it and has the other thread unread; the refused sends
/// got their own errors and wrote nothing; the room counts every message
/// written.
pub async fn sends_to_one_room_at_once_are_each_answered_as_alone(store: &dyn Store) {
    use std::collections::{BTreeSet, HashSet};
    const SENDS: usize = 36;
    let w = World::new(store).await;
    w.post(store, "t1", &w.alice).await;
    let t2 = w.post(store, "t2", &w.bob).await;
    let members = [&w.alice, &w.bob, &w.carol];
    for member in members {
        for thread in ["t1", "t2"] {
            store.set_following(thread, &member.id, true).await.expect("follow");
        }
    }
    let before = room_of(store, ROOM).await;
    let mut sends: Vec<(String, NewMessage)> = (0..SENDS)
        .map(|i| {
            let author = members[(i / 3) % 3];
            let id = format!("c{i}");
            let m = message(&id, ROOM, author, &format!("send {i}"));
            let new = match i % 3 {
                0 => reply(m, "t1", &[author]),
                1 => reply(m, "t2", &[author]),
                _ => plain(m),
            };
            (id, new)
        })
        .collect();
    sends.push(("twice".into(), plain(message("twice", ROOM, &w.alice, "one"))));
    sends.push(("twice".into(), plain(message("twice", ROOM, &w.bob, "two"))));
    sends.push((
        "orphan".into(),
        reply(message("orphan", ROOM, &w.carol, "?"), "no-such-thread", &[&w.carol]),
    ));
    sends.push(("t2".into(), plain(message("t2", ROOM, &w.carol, "id taken"))));
    let joining = NewMessage {
        message: message("dave1", ROOM, &w.dave, "hello"),
        reply: None,
        join: Some(subscription(&before, &w.dave)),
        counters: None,
    };
    sends.push(("dave1".into(), joining));
    let results = futures_util::future::join_all(
        sends.into_iter().map(|(id, new)| async move { (id, store.insert_message(new).await) }),
    )
    .await;

    let mut written: Vec<Message> = Vec::new();
    let mut twice = (0, 0);
    for (id, result) in results {
        match (id.as_str(), result) {
            ("twice", Ok(m)) => {
                twice.0 += 1;
                written.push(m);
            }
            ("twice", Err(e)) => {
                assert_eq!(e, StorageError::Conflict("id"));
                twice.1 += 1;
            }
            ("orphan", result) => assert_eq!(result.err(), Some(StorageError::NotFound("thread"))),
            ("t2", result) => assert_eq!(result.err(), Some(StorageError::Conflict("id"))),
            (id, result) => written.push(result.unwrap_or_else(|e| panic!("{id}: {e}"))),
        }
    }
    assert_eq!(twice, (1, 1), "one of two sends of an id is written, the other refused");
    assert_eq!(written.len(), SENDS + 2);
    let stamps: HashSet<i64> = written.iter().map(|m| m.updated_at.millis()).collect();
    assert_eq!(stamps.len(), written.len(), "every send has a stamp of its own");
    for m in &written {
        assert_eq!(m.ts, m.updated_at, "a new message's ts is its stamp");
        assert_eq!(&must_get(store, &m.id).await, m, "stored as answered");
    }
    assert_eq!(store.message_by_id("orphan").await, Ok(None), "a refused send writes nothing");
    let kept = must_get(store, "t2").await;
    assert_eq!((kept.msg, kept.u), (t2.msg, t2.u), "a taken id keeps its message");

    for thread in ["t1", "t2"] {
        let replies: Vec<&Message> = written.iter().filter(|m| m.tmid.as_deref() == Some(thread)).collect();
        assert_eq!(replies.len(), SENDS / 3);
        let parent = must_get(store, thread).await;
        assert_eq!(
            parent.tcount,
            Some(i64::try_from(replies.len()).expect("small")),
            "{thread} counts its replies"
        );
        let last = replies.iter().map(|m| m.ts).max();
        assert_eq!(parent.tlm, last, "{thread}'s tlm is its last reply's ts");
        assert!(
            replies.iter().all(|m| parent.updated_at > m.updated_at),
            "{thread}'s stamp follows its replies'"
        );
        let followers: BTreeSet<&str> = parent.replies.iter().flatten().map(String::as_str).collect();
        let repliers: BTreeSet<&str> = replies.iter().map(|m| m.u.id.as_str()).collect();
        assert_eq!(repliers.len(), 3, "{thread} has replies from every member");
        assert_eq!(followers, repliers, "{thread}: its followers are its repliers");
        assert_eq!(parent.replies.as_ref().map(Vec::len), Some(3), "{thread}: no follower twice");
        let feed =
            store.changes_since(ChangeScope::Thread(thread), Timestamp(0), &Filter::True, 0, 1_000).await;
        let feed = feed.expect("thread feed");
        let mut fed: Vec<&str> = feed.updated.iter().map(|m| m.id.as_str()).collect();
        let mut expected: Vec<&str> = replies.iter().map(|m| m.id.as_str()).collect();
        fed.sort_unstable();
        expected.sort_unstable();
        assert_eq!(fed, expected, "{thread}'s feed carries each reply once");
    }
    // Each member follows both threads and each has replies from the two
    // others: both are unread for everyone.
    for member in members {
        let mut unread = tunread(store, ROOM, member).await;
        unread.sort();
        assert_eq!(
            unread,
            vec!["t1".to_owned(), "t2".to_owned()],
            "{} has both threads unread",
            member.username
        );
    }
    let room = room_of(store, ROOM).await;
    assert_eq!(
        room.msgs,
        before.msgs + i64::try_from(written.len()).expect("small"),
        "the room counts each send"
    );
    assert_eq!(room.last_message_at, written.iter().map(|m| m.ts).max());
    assert_eq!(room.users_count, before.users_count + 1, "the joining send joined");
    assert!(store.subscription(ROOM, &w.dave.id).await.expect("lookup").is_some());
}

// ---------------------------------------------------------------------------
// Sync read paths
// ---------------------------------------------------------------------------

fn message_ids(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.id.as_str()).collect()
}

fn tomb_ids(tombstones: &[Tombstone]) -> Vec<&str> {
    tombstones.iter().map(|t| t.id.as_str()).collect()
}

/// Follows a feed page by page from `since`, as a client does, and returns
/// every change seen, in order, as (id, stamp, removed).
async fn follow_feed(
    store: &dyn Store,
    scope: ChangeScope<'_>,
    limit: u64,
) -> Vec<(String, Timestamp, bool)> {
    let mut since = Timestamp(0);
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let page: Changes =
            store.changes_since(scope, since, &Filter::True, 0, limit).await.expect("changes");
        assert!(page.updated.len() + page.removed.len() <= usize::try_from(limit).expect("small"));
        seen.extend(page.updated.iter().map(|m| (m.id.clone(), m.updated_at, false)));
        seen.extend(page.removed.iter().map(|t| (t.id.clone(), t.deleted_at, true)));
        match page.last_stamp() {
            Some(last) => since = last,
            None => {
                assert!(!page.more, "an empty page has nothing more");
                return seen;
            }
        }
        if !page.more {
            return seen;
        }
    }
    panic!("the feed never ended");
}

pub async fn sync_thread_changes_merge_and_resume(store: &dyn Store) {
    let w = World::new(store).await;
    w.post(store, "parent", &w.alice).await;
    w.post(store, "other", &w.alice).await;
    let start = must_get(store, "parent").await.updated_at;
    for i in 1..=5 {
        w.reply(store, &format!("r{i}"), "parent", &w.bob, &[&w.bob]).await;
    }
    w.reply(store, "elsewhere", "other", &w.bob, &[]).await;
    let edit = MessageEdit {
        md: None,
        msg: "edited".into(),
        mentions: vec![],
        channels: vec![],
        edited_by: user_ref(&w.bob),
    };
    store.edit_message("r2", edit).await.expect("edit");
    store.delete_message("r4", false).await.expect("delete");

    let all = store
        .changes_since(ChangeScope::Thread("parent"), start, &Filter::True, 0, 100)
        .await
        .expect("changes");
    assert_eq!(
        message_ids(&all.updated),
        vec!["r1", "r3", "r5", "r2"],
        "by _updatedAt; the parent is not a reply"
    );
    assert_eq!(tomb_ids(&all.removed), vec!["r4"]);
    assert_eq!(all.removed[0].tmid.as_deref(), Some("parent"));
    assert!(!all.more);
    let stamps: Vec<Timestamp> = all.updated.iter().map(|m| m.updated_at).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "ascending");

    // Strictly after: the change carrying `since` itself is not repeated.
    let r3 = must_get(store, "r3").await;
    let after_r3 = store
        .changes_since(ChangeScope::Thread("parent"), r3.updated_at, &Filter::True, 0, 100)
        .await
        .expect("changes");
    assert_eq!(message_ids(&after_r3.updated), vec!["r5", "r2"]);
    assert_eq!(tomb_ids(&after_r3.removed), vec!["r4"]);

    // Offset skips changes of the merged feed.
    let skipped = store
        .changes_since(ChangeScope::Thread("parent"), start, &Filter::True, 3, 100)
        .await
        .expect("changes");
    assert_eq!(message_ids(&skipped.updated), vec!["r2"]);
    assert_eq!(tomb_ids(&skipped.removed), vec!["r4"]);

    // Paging by the last stamp collects every change once, whatever the page size.
    for limit in [1, 2, 3, 5] {
        let seen = follow_feed(store, ChangeScope::Thread("parent"), limit).await;
        let names: Vec<&str> = seen.iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(names, vec!["r1", "r3", "r5", "r2", "r4"], "limit {limit}");
    }
    let limited = store
        .changes_since(ChangeScope::Thread("parent"), start, &Filter::True, 0, 2)
        .await
        .expect("changes");
    assert_eq!(message_ids(&limited.updated), vec!["r1", "r3"]);
    assert!(limited.more);
    let empty = store
        .changes_since(ChangeScope::Thread("nothing"), Timestamp(0), &Filter::True, 0, 10)
        .await
        .expect("changes");
    assert_eq!(empty, Changes::default());
}

/// Many feeds read at once (on PostgreSQL they share connections and their
/// statements are pipelined) each get the answer they get alone: their own
/// scope's changes, their own page, whatever else is in flight.
pub async fn sync_concurrent_feeds_each_get_their_own_answer(store: &dyn Store) {
    let w = World::new(store).await;
    let start = w.post(store, "p0", &w.alice).await.updated_at;
    for p in 1..=3 {
        w.post(store, &format!("p{p}"), &w.alice).await;
    }
    for p in 0..=3 {
        for r in 0..=p {
            w.reply(store, &format!("p{p}-r{r}"), &format!("p{p}"), &w.bob, &[]).await;
        }
    }
    store.delete_message("p2-r1", false).await.expect("delete");
    let scopes: Vec<(ChangeScope<'_>, u64)> = ["p0", "p1", "p2", "p3"]
        .into_iter()
        .map(ChangeScope::Thread)
        .chain([ChangeScope::ThreadParents(ROOM), ChangeScope::Room(ROOM)])
        .flat_map(|scope| [(scope, 2), (scope, 100)])
        .collect();
    let mut alone = Vec::new();
    for (scope, limit) in &scopes {
        alone.push(store.changes_since(*scope, start, &Filter::True, 0, *limit).await.expect("feed alone"));
    }
    assert_eq!(message_ids(&alone[7].updated), vec!["p3-r0", "p3-r1", "p3-r2", "p3-r3"], "p3, limit 100");
    assert_eq!(tomb_ids(&alone[5].removed), vec!["p2-r1"], "p2, limit 100");
    let together = futures_util::future::join_all(
        (0..8)
            .flat_map(|_| scopes.iter())
            .map(|(scope, limit)| store.changes_since(*scope, start, &Filter::True, 0, *limit)),
    )
    .await;
    for (i, answer) in together.into_iter().enumerate() {
        let (scope, limit) = scopes[i % scopes.len()];
        assert_eq!(answer.expect("feed in a crowd"), alone[i % scopes.len()], "{scope:?}, limit {limit}");
    }
}

pub async fn sync_thread_parent_and_room_scopes(store: &dyn Store) {
    let w = World::new(store).await;
    w.post(store, "plain", &w.alice).await;
    w.post(store, "p1", &w.alice).await;
    w.post(store, "p2", &w.alice).await;
    w.reply(store, "a", "p1", &w.bob, &[]).await;
    w.reply(store, "b", "p2", &w.bob, &[]).await;
    // p2 loses its only reply, then is deleted: it had been a thread parent.
    store.delete_message("b", false).await.expect("delete b");
    store.delete_message("p2", false).await.expect("delete p2");
    store.delete_message("plain", false).await.expect("delete plain");

    let parents = store
        .changes_since(ChangeScope::ThreadParents(ROOM), Timestamp(0), &Filter::True, 0, 100)
        .await
        .expect("parents");
    assert_eq!(message_ids(&parents.updated), vec!["p1"], "only messages with tcount");
    assert_eq!(tomb_ids(&parents.removed), vec!["p2"], "removed thread parents only");

    let room = store
        .changes_since(ChangeScope::Room(ROOM), Timestamp(0), &Filter::True, 0, 100)
        .await
        .expect("room");
    assert_eq!(message_ids(&room.updated), vec!["a", "p1"], "replies too, by _updatedAt");
    assert_eq!(tomb_ids(&room.removed), vec!["b", "p2", "plain"]);
    let idempotent =
        store.changes_since(ChangeScope::ThreadParents(ROOM), Timestamp(0), &Filter::True, 0, 100).await;
    assert_eq!(idempotent, Ok(parents));
}

pub async fn sync_thread_replies_sort_and_paging(store: &dyn Store) {
    let w = World::new(store).await;
    w.post(store, "parent", &w.alice).await;
    for i in 1..=4 {
        w.reply(store, &format!("r{i}"), "parent", if i % 2 == 0 { &w.bob } else { &w.carol }, &[]).await;
    }
    let page = store.thread_replies("parent", &Filter::True, &Sort::default(), 0, 10).await.expect("replies");
    assert_eq!(message_ids(&page.items), vec!["r1", "r2", "r3", "r4"], "ts ascending by default");
    assert_eq!(page.total, 4);
    let desc = Sort::by(SortField::Ts, Direction::Desc);
    let page = store.thread_replies("parent", &Filter::True, &desc, 1, 2).await.expect("replies");
    assert_eq!(message_ids(&page.items), vec!["r3", "r2"]);
    assert_eq!(page.total, 4, "total ignores paging");
    let by_user = Sort(vec![(SortField::Username, Direction::Asc), (SortField::Ts, Direction::Desc)]);
    let page = store.thread_replies("parent", &Filter::True, &by_user, 0, 10).await.expect("replies");
    assert_eq!(message_ids(&page.items), vec!["r4", "r2", "r3", "r1"], "bob before carol, then newest first");
    let none = store.thread_replies("r1", &Filter::True, &Sort::default(), 0, 10).await.expect("replies");
    assert_eq!((none.items.len(), none.total), (0, 0));
}

pub async fn sync_room_messages_sort_filter_and_paging(store: &dyn Store) {
    let w = World::new(store).await;
    w.post(store, "m1", &w.alice).await;
    w.post(store, "m2", &w.bob).await;
    w.reply(store, "r1", "m1", &w.carol, &[]).await;
    w.post(store, "m3", &w.alice).await;
    let page = store.room_messages(ROOM, &Filter::True, &Sort::default(), 0, 10).await.expect("history");
    assert_eq!(message_ids(&page.items), vec!["m1", "m2", "r1", "m3"], "ts ascending, replies included");
    assert_eq!(page.total, 4);
    let desc = Sort::by(SortField::Ts, Direction::Desc);
    let page = store.room_messages(ROOM, &Filter::True, &desc, 1, 2).await.expect("history");
    assert_eq!(message_ids(&page.items), vec!["r1", "m2"]);
    assert_eq!(page.total, 4, "total ignores paging");
    let top_level = Filter::parse(Some(r#"{"tmid": {"$exists": false}}"#)).expect("filter");
    let page = store.room_messages(ROOM, &top_level, &desc, 0, 10).await.expect("history");
    assert_eq!(message_ids(&page.items), vec!["m3", "m2", "m1"]);
    assert_eq!(page.total, 3);
    let r1_ts = must_get(store, "r1").await.ts;
    let before =
        Filter::parse(Some(&json!({"ts": {"$lt": {"$date": r1_ts.millis()}}}).to_string())).expect("filter");
    let page = store.room_messages(ROOM, &before, &desc, 0, 10).await.expect("history");
    assert_eq!(message_ids(&page.items), vec!["m2", "m1"], "strictly before");
    let none =
        store.room_messages("no-such-room", &Filter::True, &Sort::default(), 0, 10).await.expect("empty");
    assert_eq!((none.items.len(), none.total), (0, 0));
}

pub async fn sync_thread_parents_filters(store: &dyn Store) {
    let w = World::new(store).await;
    for id in ["t1", "t2", "t3"] {
        let mut m = message(id, ROOM, &w.alice, &format!("Topic {id} About Rust"));
        if id == "t3" {
            m.msg = "something else".into();
        }
        store.insert_message(plain(m)).await.expect("parent");
    }
    w.post(store, "no-thread", &w.alice).await;
    w.reply(store, "a", "t1", &w.bob, &[&w.bob]).await;
    w.reply(store, "b", "t2", &w.carol, &[&w.carol]).await;
    w.reply(store, "c", "t3", &w.carol, &[&w.carol]).await;
    w.reply(store, "d", "t1", &w.carol, &[&w.carol]).await;

    let query = |kind: ThreadKind, text: Option<&str>| ThreadListQuery {
        rid: ROOM.into(),
        kind,
        text: text.map(str::to_owned),
        filter: Filter::True,
        sort: Sort::default(),
        offset: 0,
        count: 10,
    };
    let all = store.thread_parents(&query(ThreadKind::All, None)).await.expect("all");
    assert_eq!(message_ids(&all.items), vec!["t1", "t3", "t2"], "tlm descending");
    assert_eq!(all.total, 3);
    let following =
        store.thread_parents(&query(ThreadKind::Following(w.bob.id.clone()), None)).await.expect("f");
    assert_eq!(message_ids(&following.items), vec!["t1"]);
    let among_query = query(ThreadKind::Among(vec!["t2".into(), "t3".into(), "x".into()]), None);
    let among = store.thread_parents(&among_query).await.expect("among");
    assert_eq!(message_ids(&among.items), vec!["t3", "t2"]);
    let text = store.thread_parents(&query(ThreadKind::All, Some("about RUST"))).await.expect("text");
    assert_eq!(message_ids(&text.items), vec!["t1", "t2"]);
    assert_eq!(text.total, 2);
    let mut paged = query(ThreadKind::All, None);
    paged.offset = 1;
    paged.count = 1;
    paged.sort = Sort::by(SortField::Ts, Direction::Asc);
    let page = store.thread_parents(&paged).await.expect("paged");
    assert_eq!((message_ids(&page.items), page.total), (vec!["t2"], 3));
    let mut elsewhere = query(ThreadKind::All, None);
    elsewhere.rid = "nowhere".into();
    assert_eq!(store.thread_parents(&elsewhere).await.expect("none").total, 0);
}

pub async fn sync_room_cursors_and_tombstones(store: &dyn Store) {
    let w = World::new(store).await;
    let m1 = w.post(store, "m1", &w.alice).await;
    let m2 = w.post(store, "m2", &w.alice).await;
    let m3 = w.post(store, "m3", &w.alice).await;
    let after = store.room_updates(ROOM, Cursor::After(m1.updated_at), 10).await.expect("after");
    assert_eq!(message_ids(&after), vec!["m2", "m3"]);
    let before = store.room_updates(ROOM, Cursor::Before(m3.updated_at), 10).await.expect("before");
    assert_eq!(message_ids(&before), vec!["m2", "m1"], "newest first");
    let one = store.room_updates(ROOM, Cursor::After(Timestamp(0)), 1).await.expect("one");
    assert_eq!(message_ids(&one), vec!["m1"]);

    let d1 = store.delete_message("m1", false).await.expect("d1");
    store.delete_message("m2", false).await.expect("d2");
    let Deletion::Removed(first) = d1 else { panic!("removed") };
    let removals = store.room_removals(ROOM, Cursor::After(first.deleted_at), 10).await.expect("removals");
    assert_eq!(tomb_ids(&removals), vec!["m2"]);
    let removals =
        store.room_removals(ROOM, Cursor::Before(Timestamp(i64::MAX)), 10).await.expect("removals");
    assert_eq!(tomb_ids(&removals), vec!["m2", "m1"]);

    let page = store.room_tombstones(ROOM, m2.updated_at, 0, 10).await.expect("tombstones");
    assert_eq!((tomb_ids(&page.items), page.total), (vec!["m1", "m2"], 2), "deleted after m2 was written");
    let page = store.room_tombstones(ROOM, Timestamp(0), 1, 1).await.expect("tombstones");
    assert_eq!((tomb_ids(&page.items), page.total), (vec!["m2"], 2));
    let later = store.room_tombstones(ROOM, Timestamp(i64::MAX - 1), 0, 10).await.expect("tombstones");
    assert_eq!(later.total, 0);
}

pub async fn sync_prune_tombstones_sets_horizon(store: &dyn Store) {
    let w = World::new(store).await;
    w.post(store, "m1", &w.alice).await;
    w.post(store, "m2", &w.alice).await;
    assert_eq!(store.tombstone_horizon().await, Ok(None));
    let Deletion::Removed(t1) = store.delete_message("m1", false).await.expect("d1") else {
        panic!("removed")
    };
    let Deletion::Removed(t2) = store.delete_message("m2", false).await.expect("d2") else {
        panic!("removed")
    };
    assert_eq!(store.prune_tombstones(t2.deleted_at).await, Ok(1), "strictly older than the cutoff");
    assert_eq!(store.tombstone_horizon().await, Ok(Some(t2.deleted_at)));
    let left = store.room_tombstones(ROOM, Timestamp(0), 0, 10).await.expect("tombstones");
    assert_eq!(tomb_ids(&left.items), vec!["m2"]);
    // The horizon never moves back.
    assert_eq!(store.prune_tombstones(t1.deleted_at).await, Ok(0));
    assert_eq!(store.tombstone_horizon().await, Ok(Some(t2.deleted_at)));
}

// ---------------------------------------------------------------------------
// Events (the realtime seam)
// ---------------------------------------------------------------------------

/// The next event, waiting a little: a backend may deliver events through
/// the database (PostgreSQL NOTIFY), so they arrive asynchronously.
async fn next_event(
    rx: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<crate::StoreEvent>>,
) -> crate::StoreEvent {
    let event = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("event");
    crate::StoreEvent::clone(&event)
}

pub async fn events_follow_committed_writes(store: &dyn Store) {
    use crate::{EventKind, StoreEvent};
    let w = World::new(store).await;
    let mut rx = store.subscribe();
    w.post(store, "m1", &w.alice).await;
    assert_eq!(
        next_event(&mut rx).await,
        StoreEvent { rid: Some(ROOM.into()), kind: EventKind::Message, user: None, data: None }
    );
    // A failed write commits nothing and announces nothing: the next event
    // is the one of the following successful write.
    let dup = store.insert_message(plain(message("m1", ROOM, &w.alice, "again"))).await;
    assert_eq!(dup.map(|_| ()), Err(StorageError::Conflict("id")));
    store.save_setting("Threads_enabled", &json!(false)).await.expect("setting");
    assert_eq!(
        next_event(&mut rx).await,
        StoreEvent { rid: None, kind: EventKind::Settings, user: None, data: None }
    );
    store.delete_message("m1", false).await.expect("delete");
    // A removal names the removed id (caches keyed by message id forget it).
    assert_eq!(
        next_event(&mut rx).await,
        StoreEvent { rid: Some(ROOM.into()), kind: EventKind::Message, user: None, data: Some("m1".into()) }
    );
}

pub async fn events_name_the_member_and_carry_ephemeral_data(store: &dyn Store) {
    use crate::{EventKind, StoreEvent};
    let w = World::new(store).await;
    w.post(store, "parent", &w.alice).await;
    w.reply(store, "r1", "parent", &w.bob, &[&w.alice, &w.bob]).await;
    let mut rx = store.subscribe();
    store.remove_subscription(ROOM, &w.carol.id, false).await.expect("leave");
    assert_eq!(next_event(&mut rx).await, StoreEvent::membership(ROOM, &w.carol.id));
    store.add_subscription(&subscription(&w.room, &w.carol)).await.expect("join");
    assert_eq!(next_event(&mut rx).await, StoreEvent::membership(ROOM, &w.carol.id));
    store.mark_thread_read(ROOM, &w.alice.id, "parent").await.expect("read");
    assert_eq!(next_event(&mut rx).await, StoreEvent::read_state(ROOM, &w.alice.id));
    store.set_following("parent", &w.bob.id, false).await.expect("unfollow");
    let unfollow = next_event(&mut rx).await;
    assert_eq!((unfollow.kind, unfollow.user.as_deref()), (EventKind::Message, Some(w.bob.id.as_str())));
    store.publish("{\"typing\":true}".to_owned()).await.expect("publish");
    let ephemeral = next_event(&mut rx).await;
    assert_eq!(
        (ephemeral.kind, ephemeral.data.as_deref()),
        (EventKind::Ephemeral, Some("{\"typing\":true}"))
    );
    let too_big = "x".repeat(crate::MAX_EPHEMERAL_BYTES + 1);
    assert!(store.publish(too_big).await.is_err(), "payloads are bounded");
}

// ---------------------------------------------------------------------------
// The bulk path
// ---------------------------------------------------------------------------

pub async fn import_is_atomic_and_moves_the_clock(store: &dyn Store) {
    use crate::ImportBatch;
    let alice = user("u1", "alice", "alice@example.com");
    let room = channel("R1", "imported");
    let far = Timestamp::now().millis() + 3_600_000;
    let mut parent = message("p", "R1", &alice, "parent");
    parent.ts = Timestamp(far - 10);
    parent.updated_at = Timestamp(far);
    parent.tcount = Some(1);
    parent.tlm = Some(Timestamp(far - 5));
    parent.replies = Some(vec!["u1".into()]);
    let mut reply = message("r", "R1", &alice, "reply");
    reply.tmid = Some("p".into());
    reply.ts = Timestamp(far - 5);
    reply.updated_at = Timestamp(far - 5);
    let gone = Tombstone {
        id: "g".into(),
        rid: "R1".into(),
        tmid: Some("p".into()),
        deleted_at: Timestamp(far + 7),
    };
    let batch = ImportBatch {
        users: vec![alice.clone()],
        rooms: vec![(room.clone(), vec![subscription(&room, &alice)])],
        messages: vec![parent.clone(), reply.clone()],
        tombstones: vec![gone.clone()],
    };
    store.import(batch).await.expect("import");
    assert_eq!(store.message_by_id("p").await, Ok(Some(parent.clone())), "documents are written as given");
    assert_eq!(store.message_by_id("r").await, Ok(Some(reply)));
    let feed = store
        .changes_since(ChangeScope::Thread("p"), Timestamp(0), &Filter::True, 0, 10)
        .await
        .expect("feed");
    assert_eq!((feed.updated.len(), feed.removed), (1, vec![gone]));
    // A later write stamps after everything imported, tombstones included.
    let next = store.insert_message(plain(message("n", "R1", &alice, "after"))).await.expect("insert");
    assert!(next.updated_at.millis() > far + 7, "the room clock moved past the import");

    // A failing batch leaves nothing behind.
    let bob = user("u2", "bob", "bob@example.com");
    let mut dup = message("p", "R1", &alice, "duplicate id");
    dup.updated_at = Timestamp(far + 100);
    let bad = ImportBatch { users: vec![bob], rooms: vec![], messages: vec![dup], tombstones: vec![] };
    assert!(store.import(bad).await.is_err());
    assert_eq!(store.user_by_id("u2").await, Ok(None), "all or nothing");
    assert_eq!(store.message_by_id("p").await, Ok(Some(parent)));
}
